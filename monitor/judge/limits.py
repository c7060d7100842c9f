"""Limit checks: tonight's metrics against the register's limits, with their uncertainty.

A ceiling is **breached** when the whole interval lies above it and only a **warning**
when the point estimate does; floors mirror that. Metrics measured on fewer rows than
``min_samples`` are ``insufficient_data``. Every limit check that can be phrased as a
test also gets a one-sided p-value, so it can join the night's family
(:mod:`monitor.judge.fleet`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Literal, TypedDict

from monitor.judge.severity import magnitude, tier_for
from monitor.report import (
    Check,
    CheckStatus,
    ConfidenceMetric,
    DriftSummary,
    Metrics,
    RateMetric,
)
from monitor.stats.aggregates import WindowAggregate
from monitor.stats.intervals import (
    ece_interval,
    rate_per_hour_interval,
    sketch_quantile_interval,
    wilson_interval,
)
from monitor.stats.significance import (
    binomial_p_value,
    exceedances,
    mean_below_p_value,
    normal_p_value,
    poisson_p_value,
    quantile_ceiling_p_value,
)
from thresholds.schema import FindingLevel, Thresholds

__all__ = ["limit_check", "limit_checks"]

Direction = Literal["max", "min"]


class _Common(TypedDict):
    min_samples: int
    criticality: int


def limit_check(
    name: str,
    observed: float | None,
    limit: float,
    direction: Direction,
    interval: tuple[float | None, float | None],
    n: int,
    *,
    min_samples: int,
    criticality: int,
    share: bool,
    p_value: float | None = None,
    test: str | None = None,
) -> Check:
    """One metric against one register limit: ``breach`` when the interval lies beyond
    it, ``warning`` when only the point estimate does, ``insufficient_data`` below
    ``min_samples`` rows; ``share`` says the metric is a share (see
    :func:`~monitor.judge.severity.magnitude`)."""
    low, high = interval
    low = None if low is None or not math.isfinite(low) else float(low)
    high = None if high is None or not math.isfinite(high) else float(high)

    known = observed is not None and n >= min_samples
    finite_p = known and p_value is not None and math.isfinite(p_value)

    def check(status: CheckStatus, tier: int | None = None, level: int | None = None) -> Check:
        return Check(
            threshold=name,
            status=status,
            observed=observed,
            limit=limit,
            direction=direction,
            ci_low=low,
            ci_high=high,
            n=n,
            tier=tier,
            p_value=float(p_value) if finite_p and p_value is not None else None,
            magnitude=level,
            test=test if finite_p else None,
        )

    if observed is None or n < min_samples:
        return check("insufficient_data")
    if direction == "max":
        beyond_point = observed > limit
        beyond_interval = low is not None and low > limit
    else:
        beyond_point = observed < limit
        beyond_interval = high is not None and high < limit
    level = magnitude(observed, limit, direction, share=share) if beyond_point else None
    if beyond_interval:
        level = level or magnitude(observed, limit, direction, share=share)
        return check("breach", tier_for(level, criticality), level)
    if beyond_point:
        return check("warning", 1, level)
    return check("ok")


def _rate_interval(rate: RateMetric) -> tuple[float | None, float | None]:
    return rate.ci_low, rate.ci_high


_EXACT_BINOMIAL = "exact binomial, one-sided"


def _rate_p_value(rate: RateMetric, limit: float, direction: Direction) -> float | None:
    if not rate.n:
        return None
    return binomial_p_value(
        rate.count, rate.n, limit, alternative="greater" if direction == "max" else "less"
    )


def _ece_p_value(value: float, low: float, high: float, limit: float, level: float) -> float | None:
    """Normal approximation behind :func:`~monitor.stats.intervals.ece_interval`: its half-width is
    ``z·se``."""
    from monitor.stats import tails

    half = high - (value if math.isfinite(value) else math.nan)
    z = tails.norm_ppf(0.5 + level / 2)
    if not (math.isfinite(half) and half > 0):
        return None
    return normal_p_value((value - limit) / (half / z))


def limit_checks(
    metrics: Metrics,
    current: WindowAggregate,
    t: Thresholds,
    criticality: int,
    drift: DriftSummary | None,
) -> Iterator[Check]:
    """Every limit check of one model that the register configures, in report order."""
    common: _Common = {"min_samples": t.min_samples, "criticality": criticality}
    if t.quality is not None and metrics.quality is not None:
        q = metrics.quality
        if q.metric == "quality_score":
            p_quality: float | None = mean_below_p_value(
                current.quality_sum, current.quality_sumsq, current.n_graded, t.quality.min
            )
            how = "one-sample t-test, one-sided"
        else:
            p_quality = _rate_p_value(q, t.quality.min, "min")
            how = _EXACT_BINOMIAL
        yield limit_check(
            "quality",
            q.value,
            t.quality.min,
            "min",
            _rate_interval(q),
            q.n,
            share=True,
            p_value=p_quality,
            test=how,
            **common,
        )
    er = metrics.error_rate
    if er.n:
        yield limit_check(
            "error_rate",
            er.value,
            t.error_rate.max,
            "max",
            _rate_interval(er),
            er.n,
            share=True,
            p_value=_rate_p_value(er, t.error_rate.max, "max"),
            test=_EXACT_BINOMIAL,
            **common,
        )
    for output_type, limit in sorted(t.error_rate.by_output_type.items()):
        rate = er.by_output_type.get(output_type)
        if rate is None:
            yield Check(
                threshold=f"error_rate.{output_type}",
                status="insufficient_data",
                observed=None,
                limit=limit,
                direction="max",
                n=0,
            )
        else:
            yield limit_check(
                f"error_rate.{output_type}",
                rate.value,
                limit,
                "max",
                _rate_interval(rate),
                rate.n,
                share=True,
                p_value=_rate_p_value(rate, limit, "max"),
                test=_EXACT_BINOMIAL,
                **common,
            )
    lat = metrics.latency_ms
    for q_name, level in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        limit = getattr(t.latency_ms, q_name)
        if limit is None:
            continue
        interval = sketch_quantile_interval(current.latency, level, t.confidence_level)
        yield limit_check(
            f"latency_ms.{q_name}",
            getattr(lat, q_name),
            limit,
            "max",
            interval,
            lat.n,
            share=False,
            p_value=quantile_ceiling_p_value(exceedances(current.latency, limit), lat.n, level),
            test="rows above the limit (binomial order statistic), one-sided",
            **common,
        )
    if t.throughput is not None:
        tp = metrics.throughput
        low, high = rate_per_hour_interval(current.n_rows, tp.hours, t.confidence_level)
        # Throughput is judged whatever the row count: few rows is the finding itself.
        yield limit_check(
            "throughput",
            tp.per_hour_mean,
            t.throughput.min_per_hour,
            "min",
            (low, high),
            current.n_rows,
            share=False,
            min_samples=0,
            criticality=criticality,
            p_value=poisson_p_value(
                current.n_rows, t.throughput.min_per_hour * tp.hours, alternative="less"
            )
            if tp.hours
            else None,
            test="exact Poisson, one-sided",
        )
    conf = metrics.confidence
    yield from _routing_checks(conf, t, common)
    if t.confidence.max_share_below is not None and conf.share_below_min is not None:
        count = round(conf.share_below_min * conf.n)
        yield limit_check(
            "confidence.share_below",
            conf.share_below_min,
            t.confidence.max_share_below,
            "max",
            wilson_interval(count, conf.n, confidence=t.confidence_level),
            conf.n,
            share=True,
            p_value=binomial_p_value(
                count, conf.n, t.confidence.max_share_below, alternative="greater"
            ),
            test=_EXACT_BINOMIAL,
            **common,
        )
    cal = metrics.calibration
    if cal is not None and cal.ece is not None:
        # Judged net of the estimator's noise floor (see monitor.stats.calibration.ece_noise_floor).
        floor = cal.ece_noise_floor or 0.0
        low, high = ece_interval(current.reliability, t.confidence_level)
        yield limit_check(
            "calibration.ece",
            max(0.0, cal.ece - floor),
            t.calibration.ece_max,
            "max",
            (max(0.0, low - floor), high - floor),
            cal.n,
            share=False,
            p_value=_ece_p_value(
                cal.ece - floor,
                low - floor,
                high - floor,
                t.calibration.ece_max,
                t.confidence_level,
            ),
            test="normal approximation of the binned ECE, one-sided",
            **common,
        )
    drift_cal = metrics.calibration_drift
    if drift_cal is not None and drift_cal.ece_delta is not None and cal is not None:
        # The reliability-curve test supplies the uncertainty: an ECE rise over the limit is a
        # breach only when the curve changed significantly, otherwise a warning.
        significant = (
            drift_cal.p_value is not None and drift_cal.p_value < t.calibration.drift_p_value
        )
        delta = drift_cal.ece_delta
        yield limit_check(
            "calibration.drift",
            delta,
            t.calibration.drift_max,
            "max",
            (delta if significant else None, None),
            cal.n,
            share=False,
            p_value=drift_cal.p_value,
            test="reliability curve vs the reference window: chi-square per bin",
            **common,
        )
    if t.drift.enabled and drift_cal is not None and drift_cal.confidence_psi is not None:
        psi_value = drift_cal.confidence_psi
        yield limit_check(
            "drift.confidence",
            psi_value,
            t.drift.confidence_psi_max,
            "max",
            (psi_value, psi_value),
            conf.n,
            share=False,
            **common,
        )
    if t.drift.enabled and drift is not None:
        for column in drift.columns:
            if column.kind != "prediction" or column.statistic is None or column.threshold is None:
                continue
            # Evidently's verdict: a test drifts when p < threshold, a distance when above it.
            is_test = column.p_value is not None
            yield limit_check(
                "drift.prediction",
                column.statistic,
                column.threshold,
                "min" if is_test else "max",
                (column.statistic, column.statistic),
                drift.sample_size_current,
                share=False,
                min_samples=min(t.min_samples, t.drift.sample_size),
                criticality=criticality,
            )
    if t.drift.enabled and drift is not None and drift.share_drifted_features is not None:
        share = drift.share_drifted_features
        # Evidently already decided per column with its own test; the share has no interval.
        yield limit_check(
            "drift.features",
            share,
            t.drift.max_share_drifted_features,
            "max",
            (share, share),
            drift.sample_size_current,
            share=True,
            min_samples=min(t.min_samples, t.drift.sample_size),
            criticality=criticality,
        )


def _at_most(check: Check, level: FindingLevel, note: str | None) -> Check:
    """``check`` held to the register's ``level``: a target that is a ``warning`` by
    default never breaches (and, outside the night's family, never pages)."""
    if check.status == "breach" and level == "warning":
        return check.model_copy(update={"status": "warning", "tier": 1, "note": note})
    return check.model_copy(update={"note": note})


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _routing_checks(conf: ConfidenceMetric, t: Thresholds, common: _Common) -> Iterator[Check]:
    """The escalation-rate band and the re-escalation ceiling (``confidence.*``)."""
    band = t.confidence.escalation_rate
    if band is not None and conf.escalation_rate is not None and conf.n:
        rate = conf.escalation_rate
        count = round(rate * conf.n)
        high = rate > band.max or (rate >= band.min and rate - band.min > band.max - rate)
        limit, direction = (band.max, "max") if high else (band.min, "min")
        note = None
        auto = t.confidence.auto
        if rate > band.max:
            note = (
                f"{_pct(rate)} of rows went to a human, above the band's max {_pct(band.max)}: "
                f"the routing thresholds are too conservative (people review answers the "
                f"model gets right); lower confidence.auto (now {auto:g}) or recalibrate "
                "the confidences"
            )
        elif rate < band.min:
            note = (
                f"{_pct(rate)} of rows went to a human, below the band's min {_pct(band.min)}: "
                f"the model answers questions it should not; raise confidence.auto (now "
                f"{auto:g}) so more go to review, and look for overconfidence (ECE)"
            )
        check = limit_check(
            "confidence.escalation_rate",
            rate,
            limit,
            direction,  # type: ignore[arg-type]
            wilson_interval(count, conf.n, confidence=t.confidence_level),
            conf.n,
            share=True,
            # Only a band that may breach joins the night's family.
            p_value=binomial_p_value(
                count, conf.n, limit, alternative="greater" if high else "less"
            )
            if band.level == "breach"
            else None,
            test=_EXACT_BINOMIAL if band.level == "breach" else None,
            **common,
        )
        yield _at_most(check, band.level, note)
    ceiling = t.confidence.reescalation_rate
    rate_metric = conf.reescalation
    if ceiling is not None and rate_metric is not None and rate_metric.n:
        value = rate_metric.value or 0.0
        note = (
            f"{_pct(value)} of cases came back after they were handled "
            f"({rate_metric.count} of {rate_metric.n}), above {_pct(ceiling.max)}: the first "
            "answer or hand-off did not settle them; look at what the returning cases share"
            if value > ceiling.max
            else None
        )
        check = limit_check(
            "confidence.reescalation_rate",
            rate_metric.value,
            ceiling.max,
            "max",
            _rate_interval(rate_metric),
            rate_metric.n,
            share=True,
            p_value=_rate_p_value(rate_metric, ceiling.max, "max")
            if ceiling.level == "breach"
            else None,
            test=_EXACT_BINOMIAL if ceiling.level == "breach" else None,
            **common,
        )
        yield _at_most(check, ceiling.level, note)
