"""Name what is failing: classify a window's failures into the failure-mode taxonomy.

Two kinds of evidence are combined:

**Annotations** — reviewers' or evaluators' ``failure_mode`` texts. A text names a mode
when it equals a mode id (ignoring case and surrounding whitespace) or when the
register's ``failure_modes.annotations`` maps it (same normalisation); any other text is
reported in ``unmapped_annotations`` with its count, never dropped.

**Signals** — measured, and named only when they stand out from ordinary background
noise: significantly and materially worse than the reference window, or past a limit
the register sets (a check at ``warning`` or ``breach``).

=============================  ==============================================  ===================
mode                           fires when                                      count
=============================  ==============================================  ===================
``format_violation``           invalid-format share significantly above the    format-invalid rows
                               reference (one-sided Fisher at the night's
                               level⁴, rate ratio ≥ 1.5) or its Wilson 95 %
                               lower bound above 1 %
``confidence_miscalibration``  ``calibration.ece`` or ``calibration.drift``    wrong answers with
                               at warning/breach                               confidence ≥ 0.85¹
``domain_misapplication``      a segment's failure rate above all other        that segment's
                               segments' (one-sided Fisher at the night's      excess failures²
                               level⁴, rate ratio ≥ 1.5), and either new
                               against the reference window (p < 0.01, ratio
                               ≥ 1.5) or a quality / error-rate check fired
``latency_regression``         a ``latency_ms.*`` check at warning/breach      rows above the
                                                                               lowest fired limit³
``availability``               an ``error_rate*`` check at warning/breach, or  hard errors²
                               the error share above the reference (Fisher at
                               the night's level⁴, rate ratio ≥ 1.5)
=============================  ==============================================  ===================

¹ Read exactly off the reliability table's 1/100-wide bins (no approximation), then
reduced by the share of wrong answers a more specific cause already explains (a
flagged segment's excess or answer-content annotations, the larger of the two since they
may overlap): miscalibration is a symptom, and the cause is the more useful name.

² Failures are *wrong answers* (``correct`` false, over labeled rows) and *hard errors*
(over all rows), tested separately so that uneven labelling across segments cannot
fake a concentration. A segment's excess is ``observed − rows × rate elsewhere``. Hard
errors a flagged segment explains are taken out of ``availability`` before it is
judged, so one broken segment is named as such, not as an outage.

³ Counted from the latency sketch's buckets (exact up to its relative accuracy, 0.5 %).

⁴ The discovery tests of a night (every per-segment test, format against the reference,
hard errors against the reference) form one Bonferroni family at α = 0.01, so a healthy
model-night names a mode by chance with probability at most 1 %.

**Confidence** of a mode, in [0, 1], by a simple fixed rule:

- signal at breach level (check ``breach``, or significant against the reference):
  0.85; at warning level (check ``warning``, or only the absolute 1 % format rule):
  0.65; a segment concentration 0.75 when new against the reference, else 0.6 (a
  harder segment is a weaker sign of misapplication than a change is);
- annotations, with ``s`` the mode's share of the mapped annotations: with at least
  ``min_annotations`` of them ``0.5 + 0.5·s`` (+0.1 with five times as many), capped at
  0.99; with fewer, ``0.4·s·n/min_annotations`` — below 0.4, so never dominant;
- both for one mode: ``1 − (1 − c_signal)(1 − c_annotation)`` (independent evidence).

A mode's count is the larger of its signal and annotation counts; its share is its
count over the sum of all modes' counts. The **dominant** mode is the top mode by count
when its share is at least 0.3, its confidence at least 0.5 and its count at least 5 %
of the night's failing rows (so a chance finding of the 1 % above, a few dozen extra
errors, does not become dominant); otherwise there is none and a note says why.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from monitor.report import Check, FailureModeShare, Metrics
from monitor.stats.aggregates import OTHER, WindowAggregate
from monitor.stats.intervals import wilson_interval
from monitor.stats.sketch import QuantileSketch
from thresholds.schema import Register
from thresholds.vocabulary import OPERATIONAL_MODES

__all__ = [
    "ALPHA",
    "DOMINANT_MIN_CONFIDENCE",
    "DOMINANT_MIN_OF_FAILING",
    "DOMINANT_MIN_SHARE",
    "FORMAT_MATERIAL_SHARE",
    "MATERIAL_RATIO",
    "OVERCONFIDENT_AT",
    "FailureModeResult",
    "classify",
]

#: Family-wise significance level of a night's discovery tests (Bonferroni-corrected).
ALPHA = 0.01
#: A rate must be at least this many times the comparison rate to matter.
MATERIAL_RATIO = 1.5
#: Invalid-format share that matters whatever the reference says.
FORMAT_MATERIAL_SHARE = 0.01
#: "Confidently wrong": the auto-serve band's lower edge (DESIGN.md routing bands).
OVERCONFIDENT_AT = 0.85
DOMINANT_MIN_SHARE = 0.3
DOMINANT_MIN_CONFIDENCE = 0.5
#: A dominant mode must also account for this share of the night's failing rows: a
#: significant but tiny excess (28 extra errors among 7 600 failures) explains nothing.
DOMINANT_MIN_OF_FAILING = 0.05

_FIRED = ("warning", "breach")
_OVERCONFIDENCE_VS_REFERENCE = "calibration.overconfidence.vs_reference"
# Checks whose warning or breach is evidence of miscalibration.
_CALIBRATION_CHECKS = ("calibration.ece", "calibration.drift", _OVERCONFIDENCE_VS_REFERENCE)
# CategoryCounts row layout (monitor.aggregates): n, errors, labeled, wrong, format
# checked, format invalid.
_N, _ERRORS, _LABELED, _WRONG, _FORMAT_CHECKED, _FORMAT_INVALID = range(6)
# Modes that are not about an answer's content: annotations of these do not explain
# wrong answers away from confidence_miscalibration.
_NOT_CONTENT = OPERATIONAL_MODES | {"format_violation", "confidence_miscalibration"}


@dataclass(frozen=True)
class FailureModeResult:
    """What is failing in one window, ranked, with the evidence for each mode.

    Attributes
    ----------
    modes : list of FailureModeShare
        Most important (largest count) first; shares sum to at most 1.
    dominant : str or None
        The mode the ladder should respond to; None when nothing is failing beyond
        background noise or the evidence is too thin (``notes`` says which).
    annotation_coverage : float or None
        Annotated rows / failing rows (hard errors + wrong answers + format-invalid
        rows, which can overlap, so this is a lower bound), capped at 1; None when no row
        failed.
    unmapped_annotations : dict of str to int
        Annotation texts that name no mode, with their counts.
    notes : list of str
        Caveats a reader needs, in plain sentences.
    """

    modes: list[FailureModeShare]
    dominant: str | None
    annotation_coverage: float | None
    unmapped_annotations: dict[str, int]
    notes: list[str]


@dataclass
class _Finding:
    """Evidence for one mode from one source, before merging and ranking."""

    mode: str
    count: int
    confidence: float
    evidence: list[str] = field(default_factory=list)
    segment: str | None = None


@dataclass(frozen=True)
class _SegmentExcess:
    """Failures of one component (errors or wrong answers) concentrated in one segment."""

    segment: str
    component: str  # "errors" or "wrong"
    observed: int
    exposure: int
    rate_elsewhere: float
    p_value: float
    new_vs_reference: bool
    sentence: str

    @property
    def excess(self) -> float:
        return max(0.0, self.observed - self.exposure * self.rate_elsewhere)


def classify(
    current: WindowAggregate,
    reference: WindowAggregate,
    metrics: Metrics,
    checks: list[Check],
    *,
    register: Register,
    min_annotations: int = 20,
) -> FailureModeResult:
    """Classify the current window's failures into failure modes.

    Parameters
    ----------
    current, reference : WindowAggregate
        The night being checked and the window it is compared with.
    metrics : Metrics
        The current window's metrics (:func:`~monitor.stats.metrics.finalize_metrics`).
    checks : list of Check
        The model's judged checks (:func:`monitor.judge.judge_night`).
    register : Register
        Supplies the mode ids (built-in and extra) and the annotation-text map.
    min_annotations : int, default 20
        Mapped annotations needed before annotations alone can name a dominant mode.

    Returns
    -------
    FailureModeResult
        See the module docstring for the rules.
    """
    notes: list[str] = []
    wrong = current.n_labeled - current.n_correct
    failing = current.n_error + wrong + current.n_format_invalid
    coverage = min(1.0, current.n_annotated / failing) if failing else None

    annotated, unmapped = _map_annotations(current.annotations, register)
    n_mapped = sum(annotated.values())
    enough = n_mapped >= min_annotations
    fired = {c.threshold: c for c in checks if c.status in _FIRED}

    tests = _segment_tests(current)
    # The family: every per-segment test, plus format and hard errors vs the reference.
    family = _Family(2 + sum(int(t.testable.sum()) for t in tests))
    segments, standing = _segment_concentrations(tests, reference, fired, family)
    notes.extend(standing)
    findings: list[_Finding] = []
    domain = _domain_finding(segments)
    if domain is not None:
        findings.append(domain)
    findings.extend(_format_finding(current, reference, family))
    content_annotations = sum(n for mode, n in annotated.items() if mode not in _NOT_CONTENT)
    named_format = sum(f.count for f in findings if f.mode == "format_violation")
    findings.extend(
        _calibration_finding(
            current,
            metrics,
            fired,
            wrong=wrong,
            counted_elsewhere={
                "excess wrong answers in a flagged segment": sum(
                    s.excess for s in segments if s.component == "wrong"
                ),
                "format-invalid outputs": min(named_format, wrong),
            },
            annotated_wrong=content_annotations if enough else 0,
        )
    )
    findings.extend(_latency_finding(current, fired))
    findings.extend(
        _availability_finding(
            current,
            reference,
            fired,
            family,
            explained_errors=sum(s.excess for s in segments if s.component == "errors"),
        )
    )
    findings.extend(_annotation_findings(annotated, n_mapped, min_annotations))

    modes = _rank(_merge(findings), notes)
    dominant = _dominant(modes, notes, failing=failing)
    if failing and current.n_annotated < min_annotations and (modes or fired):
        if current.n_annotated == 0:
            notes.append(f"none of {_n(failing)} failures annotated: modes inferred from signals")
        else:
            notes.append(
                f"only {_n(current.n_annotated)} of {_n(failing)} failures annotated "
                f"(fewer than {min_annotations}): modes inferred from signals"
            )
    if unmapped:
        total = sum(unmapped.values())
        top = sorted(unmapped.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        examples = ", ".join(f"{text!r}: {count}" for text, count in top)
        notes.append(
            f"{_n(total)} annotations in {len(unmapped)} texts name no failure mode "
            f"({examples}); map them in the register's failure_modes.annotations"
        )
    quality = fired.get("quality")
    if quality is not None and not any(m.mode not in OPERATIONAL_MODES for m in modes):
        notes.append(
            "quality is below its floor but no signal or annotation names a cause: "
            "annotate failing rows so they can be classified"
        )
    return FailureModeResult(
        modes=modes,
        dominant=dominant,
        annotation_coverage=coverage,
        unmapped_annotations=unmapped,
        notes=notes,
    )


# --------------------------------------------------------------------------- annotations


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def _map_annotations(
    counts: Mapping[str, int], register: Register
) -> tuple[dict[str, int], dict[str, int]]:
    """Annotation counts per mode id, and the texts that map to none."""
    ids = set(register.failure_mode_ids)
    by_id = {_normalise(mode): mode for mode in ids}
    by_text = {
        _normalise(text): mode
        for text, mode in register.failure_modes.annotations.items()
        if mode in ids
    }
    modes: dict[str, int] = {}
    unmapped: dict[str, int] = {}
    for text in sorted(counts):
        count = counts[text]
        key = _normalise(text)
        mode = text if text in ids else by_id.get(key, by_text.get(key))
        if mode is None or text == OTHER:
            unmapped[text] = unmapped.get(text, 0) + count
        else:
            modes[mode] = modes.get(mode, 0) + count
    return modes, unmapped


def _annotation_findings(
    annotated: Mapping[str, int], n_mapped: int, min_annotations: int
) -> list[_Finding]:
    out = []
    for mode, count in sorted(annotated.items()):
        share = count / n_mapped
        if n_mapped >= min_annotations:
            bonus = 0.1 if n_mapped >= 5 * min_annotations else 0.0
            confidence = min(0.99, 0.5 + 0.5 * share + bonus)
        else:
            confidence = 0.4 * share * n_mapped / min_annotations
        out.append(
            _Finding(
                mode,
                count,
                confidence,
                [
                    f"{_n(count)} of {_n(n_mapped)} mapped annotations ({_pct(share)}) name {mode}"
                    + (
                        ""
                        if n_mapped >= min_annotations
                        else f"; too few annotations (fewer than {min_annotations}) to rely on"
                    ),
                ],
            )
        )
    return out


# ------------------------------------------------------------------------------ segments


def _fisher_greater(
    x1: np.ndarray | int, n1: np.ndarray | int, x2: np.ndarray | int, n2: np.ndarray | int
) -> np.ndarray:
    """One-sided Fisher exact p-value that rate 1 (x1/n1) exceeds rate 2 (x2/n2).

    P(X ≥ x1) for X hypergeometric: n1 draws from n1 + n2 rows holding x1 + x2 failures.
    """
    x1a, n1a, x2a, n2a = (np.asarray(v, dtype=np.int64) for v in (x1, n1, x2, n2))
    p = stats.hypergeom.sf(x1a - 1, n1a + n2a, x1a + x2a, n1a)
    return np.clip(np.asarray(p, dtype=np.float64), 0.0, 1.0)


def _material(x1: int, n1: int, x2: int, n2: int) -> bool:
    """Rate 1 is at least MATERIAL_RATIO times rate 2 (any positive rate beats zero)."""
    if n1 == 0 or x1 == 0:
        return False
    if n2 == 0 or x2 == 0:
        return True
    return (x1 / n1) >= MATERIAL_RATIO * (x2 / n2)


@dataclass(frozen=True)
class _Family:
    """The night's discovery tests, Bonferroni-corrected together so that a healthy
    model-night names a mode by chance with probability at most ALPHA."""

    size: int

    @property
    def level(self) -> float:
        return ALPHA / max(1, self.size)

    def says(self) -> str:
        return f"Bonferroni over the night's {self.size} tests"


@dataclass(frozen=True)
class _SegmentTests:
    """One component's per-segment tests: each segment against all the others."""

    component: str  # "errors" or "wrong"
    what: str
    over: str
    names: list[str]
    x: np.ndarray
    m: np.ndarray
    x_rest: np.ndarray
    m_rest: np.ndarray
    p: np.ndarray
    testable: np.ndarray


def _segment_tests(current: WindowAggregate) -> list[_SegmentTests]:
    rows = current.segments.rows
    if len(rows) < 2:
        return []
    names = sorted(rows)
    table = np.asarray([rows[name] for name in names], dtype=np.int64)
    out = []
    for component, col, exposure_col, what, over in (
        ("errors", _ERRORS, _N, "hard errors", "rows"),
        ("wrong", _WRONG, _LABELED, "wrong answers", "labeled answers"),
    ):
        x, m = table[:, col], table[:, exposure_col]
        x_rest, m_rest = x.sum() - x, m.sum() - m
        testable = np.asarray([name != OTHER for name in names]) & (m > 0) & (m_rest > 0)
        if x.sum() == 0 or not testable.any():
            continue
        p = _fisher_greater(x, m, x_rest, m_rest)
        out.append(_SegmentTests(component, what, over, names, x, m, x_rest, m_rest, p, testable))
    return out


def _segment_concentrations(
    tests: list[_SegmentTests],
    reference: WindowAggregate,
    fired: Mapping[str, Check],
    family: _Family,
) -> tuple[list[_SegmentExcess], list[str]]:
    """Segments whose errors or wrong answers stand out; notes on standing weaknesses."""
    flagged: list[_SegmentExcess] = []
    standing: list[str] = []
    quality_fired = "quality" in fired
    errors_fired = any(name == "error_rate" or name.startswith("error_rate.") for name in fired)
    for t in tests:
        for i, name in enumerate(t.names):
            x, m, x_rest, m_rest = int(t.x[i]), int(t.m[i]), int(t.x_rest[i]), int(t.m_rest[i])
            if not (t.testable[i] and t.p[i] < family.level and _material(x, m, x_rest, m_rest)):
                continue
            rate, elsewhere = x / m, x_rest / m_rest
            ratio = "∞" if elsewhere == 0 else f"{rate / elsewhere:.1f}"
            sentence = (
                f"segment {name!r}: {_n(x)} {t.what} in {_n(m)} {t.over} ({_pct(rate)}) "
                f"vs {_pct(elsewhere)} in the other segments (rate ratio {ratio}, "
                f"{_p(float(t.p[i]))}, {family.says()})"
            )
            ref_row = reference.segments.rows.get(name)
            col, exposure_col = (_ERRORS, _N) if t.component == "errors" else (_WRONG, _LABELED)
            new = False
            if ref_row is not None and ref_row[exposure_col] > 0:
                rx, rm = int(ref_row[col]), int(ref_row[exposure_col])
                p_ref = float(_fisher_greater(x, m, rx, rm))
                new = p_ref < ALPHA and _material(x, m, rx, rm)
                sentence += (
                    f"; {_pct(rx / rm)} in this segment in the reference window ({_p(p_ref)})"
                )
            elif ref_row is None:
                new = True
                sentence += "; the segment had no traffic in the reference window"
            check_fired = quality_fired if t.component == "wrong" else errors_fired
            if not (new or check_fired):
                standing.append(
                    f"segment {name!r} has more {t.what} than the others "
                    f"({_pct(rate)} vs {_pct(elsewhere)}) as it had in the reference window, "
                    f"and no quality or error-rate limit is crossed: a standing weakness, not "
                    f"named a failure mode"
                )
                continue
            flagged.append(
                _SegmentExcess(name, t.component, x, m, elsewhere, float(t.p[i]), new, sentence)
            )
    return flagged, standing


def _domain_finding(segments: list[_SegmentExcess]) -> _Finding | None:
    if not segments:
        return None
    by_segment: dict[str, float] = {}
    for s in segments:
        by_segment[s.segment] = by_segment.get(s.segment, 0.0) + s.excess
    worst = max(sorted(by_segment), key=lambda name: by_segment[name])
    count = round(sum(by_segment.values()))
    confidence = 0.75 if any(s.new_vs_reference for s in segments) else 0.6
    evidence = [s.sentence for s in segments]
    evidence.append(
        f"{_n(count)} failures above the other segments' rates"
        + (
            f", {_n(round(by_segment[worst]))} of them in {worst!r}"
            if len(by_segment) > 1
            else f", all in {worst!r}"
        )
    )
    return _Finding("domain_misapplication", count, confidence, evidence, segment=worst)


# ------------------------------------------------------------------------- format, cal.


def _format_finding(
    current: WindowAggregate, reference: WindowAggregate, family: _Family
) -> list[_Finding]:
    invalid, checked = current.n_format_invalid, current.n_format_checked
    if invalid == 0 or checked == 0:
        return []
    ref_invalid, ref_checked = reference.n_format_invalid, reference.n_format_checked
    rate = invalid / checked
    low, _ = wilson_interval(invalid, checked, confidence=0.95)
    above = low > FORMAT_MATERIAL_SHARE
    significant = False
    sentence = (
        f"{_n(invalid)} of {_n(checked)} checked outputs ({_pct(rate)}) failed their format check"
    )
    if ref_checked:
        p = float(_fisher_greater(invalid, checked, ref_invalid, ref_checked))
        significant = p < family.level and _material(invalid, checked, ref_invalid, ref_checked)
        sentence += f", vs {_pct(ref_invalid / ref_checked)} in the reference window ({_p(p)})"
    else:
        sentence += " (no format checks in the reference window)"
    if not (significant or above):
        return []
    reasons = []
    if significant:
        reasons.append(f"significantly above the reference window ({family.says()})")
    if above:
        reasons.append(
            f"above {_pct(FORMAT_MATERIAL_SHARE)} with 95 % confidence "
            f"(Wilson lower bound {_pct(low)})"
        )
    evidence = [sentence, "material because " + " and ".join(reasons)]
    by_type = sorted(
        (
            (name, int(row[_FORMAT_INVALID]), int(row[_FORMAT_CHECKED]))
            for name, row in current.output_types.rows.items()
            if row[_FORMAT_INVALID] > 0
        ),
        key=lambda t: (-t[1], t[0]),
    )
    evidence.extend(
        f"{name}: {_n(k)} of {_n(n)} invalid ({_pct(k / n)})" for name, k, n in by_type[:3]
    )
    return [_Finding("format_violation", invalid, 0.85 if significant else 0.65, evidence)]


def _confidently_wrong(current: WindowAggregate) -> tuple[int, float]:
    """Wrong labeled answers with confidence ≥ OVERCONFIDENT_AT, and how many of them
    their confidences predict (Σ (1 − c) over those answers); exact from the 1/100 bins."""
    count, correct, sum_conf = current.reliability.coarse(n_bins=100)
    first = round(OVERCONFIDENT_AT * 100)
    observed = int((count[first:] - correct[first:]).sum())
    expected = float((count[first:] - sum_conf[first:]).sum())
    return observed, max(0.0, expected)


def _calibration_finding(
    current: WindowAggregate,
    metrics: Metrics,
    fired: Mapping[str, Check],
    *,
    wrong: int,
    counted_elsewhere: Mapping[str, float],
    annotated_wrong: int,
) -> list[_Finding]:
    """``counted_elsewhere``: wrong answers another mode counts, by what counts them (taken
    out of the excess in full); ``annotated_wrong``: content annotations (a share of the
    excess this large is explained)."""
    cal_checks = [fired[name] for name in _CALIBRATION_CHECKS if name in fired]
    if not cal_checks:
        return []
    evidence = []
    cal, drift = metrics.calibration, metrics.calibration_drift
    for check in cal_checks:
        if check.threshold == _OVERCONFIDENCE_VS_REFERENCE:
            ref = "n/a" if check.reference is None else f"{check.reference:.3f}"
            evidence.append(
                f"overconfidence (mean confidence − accuracy) {_num(check.observed)} vs {ref} "
                f"in the reference window, against a limit of {_num(check.limit)} "
                f"({check.status})"
            )
            continue
        label = "ECE" if check.threshold == "calibration.ece" else "ECE rise vs the reference"
        evidence.append(
            f"{label} {_num(check.observed)} against a limit of {_num(check.limit)} "
            f"({check.status})"
        )
    if cal is not None and cal.overconfidence_gap is not None:
        gap = cal.overconfidence_gap
        side = "overconfident" if gap > 0 else "underconfident"
        accuracy = current.reliability.accuracy
        evidence.append(
            f"mean confidence {current.reliability.mean_confidence:.2f} vs accuracy "
            f"{accuracy:.2f}: {side} by {abs(gap):.2f}"
        )
    if drift is not None and drift.p_value is not None and drift.reference_ece is not None:
        now = drift.reference_ece + (drift.ece_delta or 0.0)
        evidence.append(
            f"reliability curve vs the reference window: ECE "
            f"{drift.reference_ece:.3f} → {now:.3f} ({_p(drift.p_value)})"
        )
    observed, expected = _confidently_wrong(current)
    excess = max(0.0, observed - expected)
    evidence.append(
        f"{_n(observed)} wrong answers carried confidence ≥ {OVERCONFIDENT_AT:.2f}, where "
        f"their confidences predict {expected:.0f}: {_n(round(excess))} more than a "
        f"calibrated model's"
    )
    left = excess
    elsewhere = {what: n for what, n in counted_elsewhere.items() if n > 0}
    if left > 0 and elsewhere:
        taken = sum(elsewhere.values())
        left = max(0.0, excess - taken)
        parts = " and ".join(f"{_n(round(n))} {what}" for what, n in elsewhere.items())
        evidence.append(f"{parts} are counted under their own mode: {_n(round(left))} left")
    count = round(left)
    if left > 0 and wrong and annotated_wrong > 0:
        share = min(1.0, annotated_wrong / wrong)
        count = round(left * (1.0 - share))
        evidence.append(
            f"{_pct(share)} of wrong answers carry an annotation naming a more specific "
            f"cause: {_n(count)} counted here"
        )
    confidence = 0.85 if any(c.status == "breach" for c in cal_checks) else 0.65
    return [_Finding("confidence_miscalibration", count, confidence, evidence)]


# ------------------------------------------------------------------- operational modes


def _rows_above(sketch: QuantileSketch, limit: float) -> int:
    """Values above ``limit`` from the sketch's buckets; the straddling bucket is split
    log-linearly (buckets are ≈1 % wide, so the error is within the sketch's accuracy)."""
    edges, counts = sketch.histogram(n_bins=sketch.bucket_counts.size)
    if counts.size == 0:
        return 0
    lower, upper = edges[:-1], edges[1:]
    above = float(counts[lower >= limit].sum())
    straddle = (lower < limit) & (upper > limit)
    for lo, hi, c in zip(lower[straddle], upper[straddle], counts[straddle], strict=True):
        above += c * (math.log(hi) - math.log(limit)) / (math.log(hi) - math.log(lo))
    return round(above)


def _latency_finding(current: WindowAggregate, fired: Mapping[str, Check]) -> list[_Finding]:
    lat_checks = sorted(
        (c for name, c in fired.items() if name.startswith("latency_ms.")), key=lambda c: c.limit
    )
    if not lat_checks:
        return []
    n = current.latency.count
    evidence = []
    counts = []
    for check in lat_checks:
        q_name = check.threshold.split(".", 1)[1]
        above = _rows_above(current.latency, check.limit)
        counts.append(above)
        allowed = ""
        if q_name.startswith("p") and q_name[1:].isdigit():
            allowed = f", where {q_name} allows {100 - int(q_name[1:])} %"
        evidence.append(
            f"{q_name} latency {_num(check.observed)} ms against a limit of "
            f"{_num(check.limit)} ms ({check.status}); {_n(above)} of {_n(n)} "
            f"requests ({_pct(above / n if n else 0)}) took longer{allowed}"
        )
    confidence = 0.85 if any(c.status == "breach" for c in lat_checks) else 0.65
    return [_Finding("latency_regression", max(counts), confidence, evidence)]


def _availability_finding(
    current: WindowAggregate,
    reference: WindowAggregate,
    fired: Mapping[str, Check],
    family: _Family,
    *,
    explained_errors: float,
) -> list[_Finding]:
    errors, n = current.n_error, current.n_error_known
    if errors == 0 or n == 0:
        return []
    adjusted = max(0, round(errors - explained_errors))
    checks = [
        c
        for name, c in sorted(fired.items())
        if name == "error_rate" or name.startswith("error_rate.")
    ]
    evidence = [f"{_n(errors)} of {_n(n)} requests ({_pct(errors / n)}) failed hard"]
    if adjusted < errors:
        evidence.append(
            f"{_n(errors - adjusted)} of them are the excess of a concentrated "
            f"segment (see domain_misapplication): {_n(adjusted)} counted here"
        )
    significant = False
    if reference.n_error_known:
        ref_errors, ref_n = reference.n_error, reference.n_error_known
        p = float(_fisher_greater(adjusted, n, ref_errors, ref_n))
        significant = p < family.level and _material(adjusted, n, ref_errors, ref_n)
        evidence.append(
            f"{_pct(adjusted / n)} vs {_pct(ref_errors / ref_n)} in the reference "
            f"window ({_p(p)}, {family.says()})"
        )
    overall = next((c for c in checks if c.threshold == "error_rate"), None)
    if adjusted < errors:
        # A segment took its share: the limit must still be crossed by what is left.
        past_limit = overall is not None and adjusted / n > overall.limit
    else:
        past_limit = bool(checks)
    if not (significant or past_limit):
        return []
    evidence.extend(
        f"{c.threshold} {_pct(c.observed or 0)} against a limit of {_pct(c.limit)} ({c.status})"
        for c in checks
    )
    breach = significant or any(c.status == "breach" for c in checks)
    return [_Finding("availability", adjusted, 0.85 if breach else 0.65, evidence)]


# ---------------------------------------------------------------------- merge and rank


def _merge(findings: Iterable[_Finding]) -> list[_Finding]:
    """One finding per mode: larger count, noisy-OR confidence, all evidence."""
    merged: dict[str, _Finding] = {}
    for f in findings:
        seen = merged.get(f.mode)
        if seen is None:
            merged[f.mode] = _Finding(f.mode, f.count, f.confidence, list(f.evidence), f.segment)
            continue
        seen.count = max(seen.count, f.count)
        seen.confidence = 1.0 - (1.0 - seen.confidence) * (1.0 - f.confidence)
        seen.evidence.extend(f.evidence)
        seen.segment = seen.segment or f.segment
    return list(merged.values())


def _rank(findings: list[_Finding], notes: list[str]) -> list[FailureModeShare]:
    kept = [f for f in findings if f.count > 0]
    for f in findings:
        if f.count == 0:
            notes.append(
                f"{f.mode} has evidence but no failing rows attributed to it: "
                + "; ".join(f.evidence)
            )
    total = sum(f.count for f in kept)
    kept.sort(key=lambda f: (-f.count, -f.confidence, f.mode))
    return [
        FailureModeShare(
            mode=f.mode,
            count=f.count,
            share=f.count / total,
            confidence=round(min(0.99, f.confidence), 3),
            evidence=f.evidence,
            segment=f.segment,
        )
        for f in kept
    ]


def _dominant(modes: list[FailureModeShare], notes: list[str], *, failing: int) -> str | None:
    if not modes:
        if failing:
            notes.append(
                f"{_n(failing)} failing rows, but none stands out from background "
                f"noise: no failure mode named"
            )
        return None
    top = modes[0]
    # Latency counts slow rows, which are not among the failing rows: compare with both.
    base = max(failing, sum(m.count for m in modes))
    of_failing = top.count / base
    if (
        top.share >= DOMINANT_MIN_SHARE
        and top.confidence >= DOMINANT_MIN_CONFIDENCE
        and of_failing >= DOMINANT_MIN_OF_FAILING
    ):
        return top.mode
    why = []
    if top.share < DOMINANT_MIN_SHARE:
        why.append(f"share {top.share:.2f} < {DOMINANT_MIN_SHARE}")
    if top.confidence < DOMINANT_MIN_CONFIDENCE:
        why.append(f"confidence {top.confidence:.2f} < {DOMINANT_MIN_CONFIDENCE}")
    if of_failing < DOMINANT_MIN_OF_FAILING:
        why.append(
            f"only {_n(top.count)} of {_n(base)} failing rows ({_pct(of_failing)}, "
            f"< {_pct(DOMINANT_MIN_OF_FAILING)})"
        )
    notes.append(f"no dominant failure mode: the largest, {top.mode}, has {' and '.join(why)}")
    return None


# ------------------------------------------------------------------------------ wording


def _n(k: int) -> str:
    """Integer with spaces between thousands: 10 000."""
    return f"{k:,}".replace(",", " ")


def _pct(x: float) -> str:
    value = 100 * x
    if value == 0 or value >= 1:
        return f"{value:.1f} %"
    return f"{value:.2g} %"


def _p(p: float) -> str:
    if p < 1e-12:
        return "p < 1e-12"
    if p < 1e-3:
        return f"p = {p:.1e}"
    return f"p = {p:.3f}"


def _num(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:,.0f}".replace(",", " ") if abs(x) >= 100 else f"{x:.3g}"
