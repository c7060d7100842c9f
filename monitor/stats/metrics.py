"""Turn window summaries into the report's metrics (values, intervals, bins).

Everything here is a pure function of :class:`~monitor.stats.aggregates.WindowAggregate`
values and the model's thresholds; no I/O.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from monitor.report import (
    CalibrationDriftMetric,
    CalibrationMetric,
    ConfidenceMetric,
    ErroredLatency,
    ErrorRateMetric,
    EstimatedQuality,
    LatencyMetric,
    Metrics,
    QualityMetric,
    RateMetric,
    ReliabilityBinOut,
    ThroughputMetric,
)
from monitor.stats.aggregates import OTHER, CategoryCounts, WindowAggregate
from monitor.stats.calibration import (
    N_BINS,
    ReliabilityTable,
    brier,
    ece,
    ece_equal_mass,
    ece_noise_floor,
    mce,
    overconfidence_gap,
    reliability_bins,
    reliability_change_test,
)
from monitor.stats.distribution import ks_test, psi
from monitor.stats.estimation import expected_accuracy
from monitor.stats.intervals import mean_interval, wilson_interval
from thresholds.schema import Thresholds

__all__ = ["N_BINS", "REPORTED_OUTPUT_TYPES", "finalize_metrics"]

#: Output types listed one by one in the report; the rest are summed into "(other)".
REPORTED_OUTPUT_TYPES = 50


def _num(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def _rate(count: int, n: int, confidence: float) -> RateMetric:
    low, high = wilson_interval(count, n, confidence=confidence)
    return RateMetric(
        value=count / n if n else None, ci_low=_num(low), ci_high=_num(high), count=count, n=n
    )


def _quality(agg: WindowAggregate, t: Thresholds) -> QualityMetric | None:
    level = t.confidence_level
    metric = t.quality.metric if t.quality is not None else "accuracy"
    if metric == "quality_score":
        n = agg.n_graded
        low, high = mean_interval(agg.quality_sum, agg.quality_sumsq, n, confidence=level)
        return QualityMetric(
            metric="quality_score",
            value=agg.quality_sum / n if n else None,
            ci_low=_num(low),
            ci_high=_num(high),
            count=n,
            n=n,
            label_coverage=n / agg.n_rows if agg.n_rows else None,
        )
    rate = _rate(agg.n_correct, agg.n_labeled, level)
    return QualityMetric(
        **rate.model_dump(),
        metric="accuracy",
        label_coverage=agg.n_labeled / agg.n_rows if agg.n_rows else None,
    )


def _error_rate(agg: WindowAggregate, t: Thresholds) -> ErrorRateMetric:
    level = t.confidence_level
    overall = _rate(agg.n_error, agg.n_error_known, level)
    by_type = _top_categories(
        agg.output_types, REPORTED_OUTPUT_TYPES, keep=t.error_rate.by_output_type
    )
    per_type = {name: _rate(int(row[1]), int(row[0]), level) for name, row in by_type.items()}
    folded = len(agg.output_types.folded) + max(0, len(agg.output_types.rows) - len(by_type))
    return ErrorRateMetric(
        **overall.model_dump(), by_output_type=per_type, output_types_folded=folded
    )


def _top_categories(
    counts: CategoryCounts, limit: int, *, keep: object = ()
) -> dict[str, np.ndarray]:
    """The ``limit`` largest categories (plus any named in ``keep``), the rest summed as OTHER."""
    names = sorted(counts.rows, key=lambda name: (-int(counts.rows[name][0]), name))
    wanted = set(names[:limit]) | {name for name in names if name in keep}  # type: ignore[operator]
    out = {name: counts.rows[name] for name in names if name in wanted and name != OTHER}
    rest = [counts.rows[name] for name in names if name not in out]
    if rest:
        out[OTHER] = np.sum(rest, axis=0)
    return out


def _errored_latency(agg: WindowAggregate) -> ErroredLatency | None:
    sketch = agg.error_latency
    n = sketch.count
    if n == 0:
        return None
    return ErroredLatency(
        n=n,
        p50=_num(sketch.quantile(0.50)),
        p95=_num(sketch.quantile(0.95)),
        p99=_num(sketch.quantile(0.99)),
        mean=agg.error_latency_sum / n,
        max=agg.error_latency_max,
    )


def _latency(agg: WindowAggregate, t: Thresholds) -> LatencyMetric:
    sketch = agg.latency
    n = sketch.count
    errored = _errored_latency(agg)
    if n == 0:
        return LatencyMetric(n=0, relative_accuracy=sketch.relative_accuracy, errored=errored)
    edges, counts = sketch.histogram(n_bins=40)
    return LatencyMetric(
        p50=_num(sketch.quantile(0.50)),
        p95=_num(sketch.quantile(0.95)),
        p99=_num(sketch.quantile(0.99)),
        mean=agg.latency_sum / n,
        max=agg.latency_max,
        n=n,
        relative_accuracy=sketch.relative_accuracy,
        histogram_edges=[float(e) for e in edges],
        histogram_counts=[int(c) for c in counts],
        errored=errored,
    )


def _throughput(agg: WindowAggregate) -> ThroughputMetric:
    hours = (agg.params.end_ns - agg.params.start_ns) / 3.6e12
    return ThroughputMetric(
        per_hour_mean=agg.n_rows / hours if hours else None,
        per_hour_min=float(agg.hourly.min()) if len(agg.hourly) else None,
        hours=hours,
    )


def _confidence(agg: WindowAggregate, t: Thresholds) -> ConfidenceMetric:
    h = agg.confidence
    n = h.n
    reescalation = (
        _rate(agg.n_followup, agg.n_followup_known, t.confidence_level)
        if agg.n_followup_known
        else None
    )
    if n == 0:
        return ConfidenceMetric(min=t.confidence.min, n=0, reescalation=reescalation)
    c = t.confidence
    below_review = h.count_below(c.review) / n
    below_auto = h.count_below(c.auto) / n
    return ConfidenceMetric(
        mean=h.mean,
        share_below_min=h.count_below(c.min) / n,
        min=c.min,
        band_auto=1 - below_auto,
        band_review=below_auto - below_review,
        band_general=below_review,
        escalation_rate=below_auto,
        n=n,
        reescalation=reescalation,
    )


def _bins(table: ReliabilityTable) -> list[ReliabilityBinOut]:
    return [
        ReliabilityBinOut(
            lower=b.lower,
            upper=b.upper,
            n=b.n,
            mean_confidence=_num(b.mean_confidence),
            accuracy=_num(b.accuracy),
        )
        for b in reliability_bins(table, n_bins=N_BINS)
    ]


def _calibration(agg: WindowAggregate) -> CalibrationMetric | None:
    table = agg.reliability
    if table.n == 0:
        return None
    return CalibrationMetric(
        ece=_num(ece(table, n_bins=N_BINS)),
        ece_noise_floor=_num(ece_noise_floor(table)),
        ece_equal_mass=_num(ece_equal_mass(table, n_bins=N_BINS)),
        mce=_num(mce(table, n_bins=N_BINS)),
        brier=_num(brier(table)),
        overconfidence_gap=_num(overconfidence_gap(table)),
        n=table.n,
        bins=_bins(table),
    )


def _calibration_drift(cur: WindowAggregate, ref: WindowAggregate) -> CalibrationDriftMetric | None:
    fields: dict[str, Any] = {}
    if cur.confidence.n and ref.confidence.n:
        ks = ks_test(cur.confidence, ref.confidence)
        fields["confidence_ks"] = _num(ks.statistic)
        fields["confidence_ks_p_value"] = _num(ks.p_value)
        fields["confidence_psi"] = _num(psi(cur.confidence, ref.confidence))
    if cur.reliability.n and ref.reliability.n:
        now, before = ece(cur.reliability, n_bins=N_BINS), ece(ref.reliability, n_bins=N_BINS)
        test = reliability_change_test(cur.reliability, ref.reliability, n_bins=N_BINS)
        fields["reference_ece"] = _num(before)
        fields["ece_delta"] = _num(now - before)
        fields["statistic"] = _num(test.statistic)
        fields["dof"] = int(test.dof)
        fields["p_value"] = _num(test.p_value)
        fields["reference_bins"] = _bins(ref.reliability)
    out = CalibrationDriftMetric(**fields)
    if out == CalibrationDriftMetric():
        return None
    return out


def _estimated_quality(
    cur: WindowAggregate, ref: WindowAggregate, t: Thresholds
) -> EstimatedQuality | None:
    """CBPE's accuracy for tonight's answered rows (accuracy registers only)."""
    if t.quality is not None and t.quality.metric != "accuracy":
        return None
    estimate = expected_accuracy(
        cur.answered_confidence, ref.reliability, confidence=t.confidence_level
    )
    if estimate is None:
        return None
    return EstimatedQuality(
        value=_num(estimate.value),
        ci_low=_num(estimate.ci_low),
        ci_high=_num(estimate.ci_high),
        n=estimate.n,
        reference_n=estimate.reference_n,
    )


def finalize_metrics(
    current: WindowAggregate, reference: WindowAggregate, thresholds: Thresholds
) -> Metrics:
    """The report's metrics for one model from its two window summaries."""
    return Metrics(
        quality=_quality(current, thresholds),
        quality_estimated=_estimated_quality(current, reference, thresholds),
        error_rate=_error_rate(current, thresholds),
        latency_ms=_latency(current, thresholds),
        throughput=_throughput(current),
        confidence=_confidence(current, thresholds),
        calibration=_calibration(current),
        calibration_drift=_calibration_drift(current, reference),
    )
