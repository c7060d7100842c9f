"""Classification: the night's findings merged, ranked, and the dominant mode chosen."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from monitor.failure_modes.evidence import (
    FIRED,
    NOT_CONTENT,
    Family,
    Finding,
    annotation_findings,
    availability_finding,
    calibration_finding,
    domain_finding,
    format_finding,
    latency_finding,
    map_annotations,
    segment_concentrations,
    segment_tests,
)
from monitor.failure_modes.wording import n as _n
from monitor.failure_modes.wording import pct as _pct
from monitor.report import Check, FailureModeShare, Metrics
from monitor.stats.aggregates import WindowAggregate
from thresholds.schema import Register
from thresholds.vocabulary import OPERATIONAL_MODES

__all__ = [
    "DOMINANT_MIN_CONFIDENCE",
    "DOMINANT_MIN_OF_FAILING",
    "DOMINANT_MIN_SHARE",
    "FailureModeResult",
    "classify",
]

DOMINANT_MIN_SHARE = 0.3
DOMINANT_MIN_CONFIDENCE = 0.5
#: A dominant mode must also account for this share of the night's failing rows: a
#: significant but tiny excess (28 extra errors among 7 600 failures) explains nothing.
DOMINANT_MIN_OF_FAILING = 0.05


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

    annotated, unmapped = map_annotations(current.annotations, register)
    n_mapped = sum(annotated.values())
    enough = n_mapped >= min_annotations
    fired = {c.threshold: c for c in checks if c.status in FIRED}

    tests = segment_tests(current)
    # The family: every per-segment test, plus format and hard errors vs the reference.
    family = Family(2 + sum(int(t.testable.sum()) for t in tests))
    segments, standing = segment_concentrations(tests, reference, fired, family)
    notes.extend(standing)
    findings: list[Finding] = []
    domain = domain_finding(segments)
    if domain is not None:
        findings.append(domain)
    findings.extend(format_finding(current, reference, family))
    content_annotations = sum(n for mode, n in annotated.items() if mode not in NOT_CONTENT)
    named_format = sum(f.count for f in findings if f.mode == "format_violation")
    findings.extend(
        calibration_finding(
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
    findings.extend(latency_finding(current, fired))
    findings.extend(
        availability_finding(
            current,
            reference,
            fired,
            family,
            explained_errors=sum(s.excess for s in segments if s.component == "errors"),
        )
    )
    findings.extend(annotation_findings(annotated, n_mapped, min_annotations))

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


# ---------------------------------------------------------------------- merge and rank


def _merge(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per mode: larger count, noisy-OR confidence, all evidence."""
    merged: dict[str, Finding] = {}
    for f in findings:
        seen = merged.get(f.mode)
        if seen is None:
            merged[f.mode] = Finding(
                f.mode, f.count, f.confidence, list(f.evidence), f.segment, f.direction
            )
            continue
        seen.count = max(seen.count, f.count)
        seen.confidence = 1.0 - (1.0 - seen.confidence) * (1.0 - f.confidence)
        seen.evidence.extend(f.evidence)
        seen.segment = seen.segment or f.segment
        seen.direction = seen.direction or f.direction
    return list(merged.values())


def _rank(findings: list[Finding], notes: list[str]) -> list[FailureModeShare]:
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
            direction=f.direction,  # type: ignore[arg-type]
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
