"""Quality without labels: is tonight's quality seen, and what stands in when it is not.

A model with a quality floor needs labels to be judged on it. Below the register's
``labels.min_coverage`` (or with no labeled row at all) its quality is **blind**: the
check ``labels.coverage`` is ``blind`` at tier 4 — missing context fails safe to the
highest priority, so the ladder escalates on the first night whatever the model's
criticality — and the model is never ``healthy`` or ``warning``. Within
``labels.max_delay`` of the night's end the labels are still due: the check is
``insufficient_data`` and the model is not healthy either.

Whenever quality is not measured on enough labels, the confidence-based estimate
(:mod:`monitor.stats.estimation`) is judged in its place as ``quality.estimated``: a
``warning`` when the estimate is below the floor, a ``breach`` only when its whole
interval is.
"""

from __future__ import annotations

from datetime import datetime

from monitor.judge.limits import limit_check
from monitor.judge.verdict import BLIND_TIER
from monitor.report import Check, Metrics, QualityBasis
from thresholds.schema import Thresholds

__all__ = ["label_checks", "quality_basis"]


def _rows(n: int) -> str:
    return f"{n:,} row{'' if n == 1 else 's'}"


def _coverage_check(
    metrics: Metrics, n_rows: int, t: Thresholds, labels_due: datetime | None
) -> Check | None:
    q = metrics.quality
    if t.quality is None or q is None or n_rows == 0:
        return None
    labeled = q.n
    coverage = labeled / n_rows
    limit = t.labels.min_coverage
    what = "labels" if q.metric == "accuracy" else "quality scores"

    def check(status: str, note: str | None, tier: int | None = None) -> Check:
        return Check(
            threshold="labels.coverage",
            status=status,  # type: ignore[arg-type]
            observed=coverage,
            limit=limit,
            direction="min",
            n=n_rows,
            tier=tier,
            note=note,
        )

    if labeled > 0 and coverage >= limit:
        return check("ok", None)
    if labeled == 0:
        seen = f"no {what} for {_rows(n_rows)}"
    else:
        seen = (
            f"{what} for {labeled:,} of {_rows(n_rows)} ({100 * coverage:.1f} %), below the "
            f"register's minimum coverage {100 * limit:g} %"
        )
    if labels_due is not None:
        return check(
            "insufficient_data",
            f"{seen}; they are due by {labels_due:%Y-%m-%d %H:%M} UTC (labels.max_delay): "
            "quality not judged yet, never healthy meanwhile",
        )
    return check("blind", f"{seen}; quality unknown", BLIND_TIER)


def quality_basis(metrics: Metrics, coverage: Check | None, t: Thresholds) -> QualityBasis | None:
    """What tonight's quality verdict rests on: ``measured`` on labels, CBPE's
    ``estimated`` accuracy when labels are short, ``none`` when neither will do; ``None``
    for a model without a quality floor."""
    q = metrics.quality
    if t.quality is None or q is None:
        return None
    if (coverage is None or coverage.status == "ok") and q.n >= t.min_samples:
        return "measured"
    estimate = metrics.quality_estimated
    if estimate is not None and estimate.value is not None and estimate.n >= t.min_samples:
        return "estimated"
    return "none"


def label_checks(
    metrics: Metrics,
    n_rows: int,
    t: Thresholds,
    criticality: int,
    *,
    labels_due: datetime | None = None,
) -> list[Check]:
    """``labels.coverage`` and, when quality is not measured, ``quality.estimated``.

    ``labels_due`` is when late labels are due (the night's end plus
    ``labels.max_delay``), set only while that moment is still ahead.
    """
    coverage = _coverage_check(metrics, n_rows, t, labels_due)
    checks = [coverage] if coverage is not None else []
    estimate = metrics.quality_estimated
    if (
        t.quality is not None
        and quality_basis(metrics, coverage, t) == "estimated"
        and estimate is not None
    ):
        check = limit_check(
            "quality.estimated",
            estimate.value,
            t.quality.min,
            "min",
            (estimate.ci_low, estimate.ci_high),
            estimate.n,
            min_samples=t.min_samples,
            criticality=criticality,
            share=True,
        )
        checks.append(
            check.model_copy(
                update={
                    "note": f"estimated from {estimate.n:,} rows' confidences through the "
                    f"reference window's reliability ({estimate.reference_n:,} labeled rows); "
                    "not measured"
                }
            )
        )
    return checks
