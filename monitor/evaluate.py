"""Judge a model's metrics against its thresholds, with their uncertainty.

A ceiling is **breached** when the whole interval lies above it and only a
**warning** when the point estimate does; floors mirror that. Metrics measured on
fewer rows than ``min_samples`` are ``insufficient_data``. A model with no rows
tonight is ``blind`` — a monitor that cannot see never says healthy.

Severity tiers (1 operational … 4 critical) combine how far past the limit a
metric is with the model's criticality: ``tier = clamp(magnitude + criticality − 2,
1, 4)`` where magnitude is 1 (< 25 % past the allowed amount), 2 (< 100 %) or 3.
For shares, "allowed amount" is the failure budget: a 0.88 accuracy floor allows
12 % failures, so 0.85 is 25 % past it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from monitor.aggregates import WindowAggregate
from monitor.intervals import wilson_interval
from monitor.metrics import (
    ece_interval,
    latency_quantile_interval,
    rate_per_hour_interval,
)
from monitor.report import Breach, Check, CheckStatus, DriftSummary, Metrics, RateMetric
from thresholds.schema import Thresholds
from thresholds.vocabulary import Status

__all__ = ["Judgement", "judge", "magnitude", "model_status", "tier_for"]

Direction = Literal["max", "min"]


@dataclass(frozen=True)
class Judgement:
    checks: list[Check]
    breaches: list[Breach]
    status: Status


def magnitude(observed: float, limit: float, direction: Direction, *, share: bool) -> int:
    """1, 2 or 3: how far past the limit, relative to the amount the limit allows."""
    if direction == "max":
        excess = observed - limit
        allowed = limit
    else:
        excess = limit - observed
        allowed = (1.0 - limit) if share else limit
    relative = excess / allowed if allowed > 0 else math.inf
    if relative < 0.25:
        return 1
    if relative < 1.0:
        return 2
    return 3


def tier_for(level: int, criticality: int) -> int:
    """Severity tier from magnitude (1–3) and model criticality (1–4)."""
    return max(1, min(4, level + criticality - 2))


def _judge(
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
) -> Check:
    low, high = interval
    low = None if low is None or not math.isfinite(low) else float(low)
    high = None if high is None or not math.isfinite(high) else float(high)

    def check(status: CheckStatus, tier: int | None = None) -> Check:
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
        )

    if observed is None or n < min_samples:
        return check("insufficient_data")
    if direction == "max":
        beyond_point = observed > limit
        beyond_interval = low is not None and low > limit
    else:
        beyond_point = observed < limit
        beyond_interval = high is not None and high < limit
    if beyond_interval:
        level = magnitude(observed, limit, direction, share=share)
        return check("breach", tier_for(level, criticality))
    if beyond_point:
        return check("warning", 1)
    return check("ok")


def _rate_interval(rate: RateMetric) -> tuple[float | None, float | None]:
    return rate.ci_low, rate.ci_high


def _checks(
    metrics: Metrics,
    current: WindowAggregate,
    t: Thresholds,
    criticality: int,
    drift: DriftSummary | None,
) -> Iterator[Check]:
    common = {"min_samples": t.min_samples, "criticality": criticality}
    if t.quality is not None and metrics.quality is not None:
        q = metrics.quality
        yield _judge(
            "quality", q.value, t.quality.min, "min", _rate_interval(q), q.n, share=True, **common
        )
    er = metrics.error_rate
    if er.n:
        yield _judge(
            "error_rate",
            er.value,
            t.error_rate.max,
            "max",
            _rate_interval(er),
            er.n,
            share=True,
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
            yield _judge(
                f"error_rate.{output_type}",
                rate.value,
                limit,
                "max",
                _rate_interval(rate),
                rate.n,
                share=True,
                **common,
            )
    lat = metrics.latency_ms
    for q_name, level in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        limit = getattr(t.latency_ms, q_name)
        if limit is None:
            continue
        interval = latency_quantile_interval(current, level, t.confidence_level)
        yield _judge(
            f"latency_ms.{q_name}",
            getattr(lat, q_name),
            limit,
            "max",
            interval,
            lat.n,
            share=False,
            **common,
        )
    if t.throughput is not None:
        tp = metrics.throughput
        low, high = rate_per_hour_interval(current.n_rows, tp.hours, t.confidence_level)
        # Throughput is judged whatever the row count: few rows is the finding itself.
        yield _judge(
            "throughput",
            tp.per_hour_mean,
            t.throughput.min_per_hour,
            "min",
            (low, high),
            current.n_rows,
            share=False,
            min_samples=0,
            criticality=criticality,
        )
    conf = metrics.confidence
    if t.confidence.max_share_below is not None and conf.share_below_min is not None:
        count = round(conf.share_below_min * conf.n)
        yield _judge(
            "confidence.share_below",
            conf.share_below_min,
            t.confidence.max_share_below,
            "max",
            wilson_interval(count, conf.n, confidence=t.confidence_level),
            conf.n,
            share=True,
            **common,
        )
    cal = metrics.calibration
    if cal is not None and cal.ece is not None:
        # Judged net of the estimator's noise floor (see monitor.metrics.ece_noise_floor).
        floor = cal.ece_noise_floor or 0.0
        low, high = ece_interval(current.reliability, t.confidence_level)
        yield _judge(
            "calibration.ece",
            max(0.0, cal.ece - floor),
            t.calibration.ece_max,
            "max",
            (max(0.0, low - floor), high - floor),
            cal.n,
            share=False,
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
        yield _judge(
            "calibration.drift",
            delta,
            t.calibration.drift_max,
            "max",
            (delta if significant else None, None),
            cal.n,
            share=False,
            **common,
        )
    if t.drift.enabled and drift_cal is not None and drift_cal.confidence_psi is not None:
        psi_value = drift_cal.confidence_psi
        yield _judge(
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
            yield _judge(
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
        yield _judge(
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


def model_status(checks: list[Check], n_rows: int) -> Status:
    """Worst check wins; no rows at all is ``blind``."""
    if n_rows == 0:
        return "blind"
    statuses = {c.status for c in checks}
    if "breach" in statuses:
        return "breach"
    if "warning" in statuses:
        return "warning"
    if statuses and statuses <= {"insufficient_data"}:
        return "insufficient_data"
    if "insufficient_data" in statuses and "ok" not in statuses:
        return "insufficient_data"
    return "healthy"


def judge(
    metrics: Metrics,
    current: WindowAggregate,
    thresholds: Thresholds,
    *,
    criticality: int,
    drift: DriftSummary | None = None,
) -> Judgement:
    """All checks of one model, the breaches among them and the model's status."""
    if current.n_rows == 0:
        blind = Breach(
            threshold="blind", level="blind", observed=0, limit=None, n=0, tier=max(2, criticality)
        )
        return Judgement(checks=[], breaches=[blind], status="blind")
    checks = list(_checks(metrics, current, thresholds, criticality, drift))
    breaches = [
        Breach(
            threshold=c.threshold,
            level="breach" if c.status == "breach" else "warning",
            observed=c.observed,
            limit=c.limit,
            ci_low=c.ci_low,
            ci_high=c.ci_high,
            n=c.n,
            tier=c.tier or 1,
        )
        for c in checks
        if c.status in ("warning", "breach")
    ]
    return Judgement(checks=checks, breaches=breaches, status=model_status(checks, current.n_rows))
