"""The evidence for each failure mode: annotations, segment concentrations, signals.

Each function here turns one kind of evidence into :class:`Finding` values (a mode, a
count, a confidence and the sentences that justify it); :mod:`.classify` merges and
ranks them. The rules, thresholds and confidences are those of the table in
:mod:`monitor.failure_modes`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from monitor.failure_modes.wording import n as _n
from monitor.failure_modes.wording import num as _num
from monitor.failure_modes.wording import p as _p
from monitor.failure_modes.wording import pct as _pct
from monitor.report import Check, Metrics
from monitor.stats.aggregates import OTHER, CountColumn, WindowAggregate
from monitor.stats.intervals import wilson_interval
from monitor.stats.sketch import QuantileSketch
from thresholds.schema import Register
from thresholds.vocabulary import OPERATIONAL_MODES

__all__ = [
    "ALPHA",
    "FIRED",
    "FORMAT_MATERIAL_SHARE",
    "MATERIAL_RATIO",
    "NOT_CONTENT",
    "OVERCONFIDENT_AT",
    "Family",
    "Finding",
    "SegmentExcess",
    "annotation_findings",
    "availability_finding",
    "calibration_finding",
    "domain_finding",
    "format_finding",
    "latency_finding",
    "map_annotations",
    "segment_concentrations",
    "segment_tests",
]

ALPHA = 0.01
#: A rate must be at least this many times the comparison rate to matter.
MATERIAL_RATIO = 1.5
#: Invalid-format share that matters whatever the reference says.
FORMAT_MATERIAL_SHARE = 0.01
#: "Confidently wrong": the auto-serve band's lower edge (DESIGN.md routing bands).
OVERCONFIDENT_AT = 0.85

FIRED = ("warning", "breach")
_OVERCONFIDENCE_VS_REFERENCE = "calibration.overconfidence.vs_reference"
# Checks whose warning or breach is evidence of miscalibration.
_CALIBRATION_CHECKS = ("calibration.ece", "calibration.drift", _OVERCONFIDENCE_VS_REFERENCE)
# The columns of a CategoryCounts row (monitor.stats.aggregates).
_N, _ERRORS, _LABELED, _WRONG, _FORMAT_CHECKED, _FORMAT_INVALID = CountColumn
# Modes that are not about an answer's content: annotations of these do not explain
# wrong answers away from confidence_miscalibration.
NOT_CONTENT = OPERATIONAL_MODES | {"format_violation", "confidence_miscalibration"}


@dataclass
class Finding:
    """Evidence for one mode from one source, before merging and ranking."""

    mode: str
    count: int
    confidence: float
    evidence: list[str] = field(default_factory=list)
    segment: str | None = None
    direction: str | None = None


@dataclass(frozen=True)
class SegmentExcess:
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


# --------------------------------------------------------------------------- annotations


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def map_annotations(
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


def annotation_findings(
    annotated: Mapping[str, int], n_mapped: int, min_annotations: int
) -> list[Finding]:
    out = []
    for mode, count in sorted(annotated.items()):
        share = count / n_mapped
        if n_mapped >= min_annotations:
            bonus = 0.1 if n_mapped >= 5 * min_annotations else 0.0
            confidence = min(0.99, 0.5 + 0.5 * share + bonus)
        else:
            confidence = 0.4 * share * n_mapped / min_annotations
        out.append(
            Finding(
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
    from monitor.stats import tails

    x1a, n1a, x2a, n2a = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.int64) for v in (x1, n1, x2, n2))
    )
    p = [
        tails.hypergeom_sf(a - 1, na + nb, a + b, na)
        for a, na, b, nb in zip(
            x1a.ravel().tolist(),
            n1a.ravel().tolist(),
            x2a.ravel().tolist(),
            n2a.ravel().tolist(),
            strict=True,
        )
    ]
    return np.clip(np.array(p, dtype=np.float64).reshape(x1a.shape), 0.0, 1.0)


def _material(x1: int, n1: int, x2: int, n2: int) -> bool:
    """Rate 1 is at least MATERIAL_RATIO times rate 2 (any positive rate beats zero)."""
    if n1 == 0 or x1 == 0:
        return False
    if n2 == 0 or x2 == 0:
        return True
    return (x1 / n1) >= MATERIAL_RATIO * (x2 / n2)


@dataclass(frozen=True)
class Family:
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


def segment_tests(current: WindowAggregate) -> list[_SegmentTests]:
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


def segment_concentrations(
    tests: list[_SegmentTests],
    reference: WindowAggregate,
    fired: Mapping[str, Check],
    family: Family,
) -> tuple[list[SegmentExcess], list[str]]:
    """Segments whose errors or wrong answers stand out; notes on standing weaknesses."""
    flagged: list[SegmentExcess] = []
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
                SegmentExcess(name, t.component, x, m, elsewhere, float(t.p[i]), new, sentence)
            )
    return flagged, standing


def domain_finding(segments: list[SegmentExcess]) -> Finding | None:
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
    return Finding("domain_misapplication", count, confidence, evidence, segment=worst)


# ------------------------------------------------------------------------- format, cal.


def format_finding(
    current: WindowAggregate, reference: WindowAggregate, family: Family
) -> list[Finding]:
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
    return [Finding("format_violation", invalid, 0.85 if significant else 0.65, evidence)]


def _confidently_wrong(current: WindowAggregate) -> tuple[int, float]:
    """Wrong labeled answers with confidence ≥ OVERCONFIDENT_AT, and how many of them
    their confidences predict (Σ (1 − c) over those answers); exact from the 1/100 bins."""
    count, correct, sum_conf = current.reliability.coarse(n_bins=100)
    first = round(OVERCONFIDENT_AT * 100)
    observed = int((count[first:] - correct[first:]).sum())
    expected = float((count[first:] - sum_conf[first:]).sum())
    return observed, max(0.0, expected)


def _needlessly_routed(current: WindowAggregate) -> tuple[int, float]:
    """Right labeled answers with confidence below OVERCONFIDENT_AT (routed to a human),
    and how many of them their confidences predict (Σ c over those answers)."""
    _, correct, sum_conf = current.reliability.coarse(n_bins=100)
    last = round(OVERCONFIDENT_AT * 100)
    return int(correct[:last].sum()), float(sum_conf[:last].sum())


def _underconfidence(current: WindowAggregate, evidence: list[str], confidence: float) -> Finding:
    """An underconfident model: its answers are right more often than its confidences
    say, so they are sent to people who need not see them. Counted: the right answers
    below the auto-serve band beyond what their confidences predict."""
    observed, expected = _needlessly_routed(current)
    excess = max(0.0, observed - expected)
    evidence.append(
        f"{_n(observed)} right answers carried confidence below {OVERCONFIDENT_AT:.2f} "
        f"(routed to a human), where their confidences predict {expected:.0f}: "
        f"{_n(round(excess))} more than a calibrated model's; raise the confidences "
        "(recalibrate, e.g. temperature scaling) or lower the auto-serve threshold"
    )
    return Finding(
        "confidence_miscalibration",
        round(excess),
        confidence,
        evidence,
        direction="underconfident",
    )


def calibration_finding(
    current: WindowAggregate,
    metrics: Metrics,
    fired: Mapping[str, Check],
    *,
    wrong: int,
    counted_elsewhere: Mapping[str, float],
    annotated_wrong: int,
) -> list[Finding]:
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
    confidence = 0.85 if any(c.status == "breach" for c in cal_checks) else 0.65
    underconfident = cal is not None and (cal.overconfidence_gap or 0.0) < 0
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
    if underconfident:
        return [_underconfidence(current, evidence, confidence)]
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
    return [
        Finding("confidence_miscalibration", count, confidence, evidence, direction="overconfident")
    ]


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


def latency_finding(current: WindowAggregate, fired: Mapping[str, Check]) -> list[Finding]:
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
    return [Finding("latency_regression", max(counts), confidence, evidence)]


def availability_finding(
    current: WindowAggregate,
    reference: WindowAggregate,
    fired: Mapping[str, Check],
    family: Family,
    *,
    explained_errors: float,
) -> list[Finding]:
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
    return [Finding("availability", adjusted, 0.85 if breach else 0.65, evidence)]
