"""Baseline checks: tonight against the model's own reference window.

One check per rate metric (accuracy or mean quality score, hard errors, invalid
formats, exceedances of the reference latency quantile, overconfidence), each a
one-sided test of "worse than the reference" gated by a minimum effect
(``signal.baseline``), so a tiny but "significant" wobble at 50 000 rows a night is never
an alarm. Statuses are provisional (``ok`` or ``insufficient_data``) until the night's
family is corrected (:mod:`monitor.judge.decision`).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import numpy.typing as npt

from monitor.judge.severity import excess_level, magnitude
from monitor.report import Check
from monitor.stats.aggregates import WindowAggregate
from monitor.stats.significance import exceedances, normal_p_value, rate_increase_p_value
from thresholds.schema import Thresholds

__all__ = ["baseline_checks", "reference_check", "rise_limit"]


def reference_check(
    name: str,
    kind: Literal["baseline", "sequential"],
    *,
    observed: float | None,
    limit: float,
    direction: Literal["max", "min"],
    reference: float | None,
    n: int,
    p_value: float | None,
    magnitude: int | None,
    test: str,
) -> Check:
    """A check against the reference window (baseline or sequential), provisionally
    ``ok`` — or ``insufficient_data`` when it has no value or no finite p-value."""
    finite = p_value is not None and math.isfinite(p_value)
    return Check(
        threshold=name,
        status="ok" if observed is not None and finite else "insufficient_data",
        observed=observed,
        limit=limit,
        direction=direction,
        n=n,
        kind=kind,
        p_value=float(p_value) if finite and p_value is not None else None,
        reference=reference,
        magnitude=magnitude,
        test=test,
    )


def rise_limit(reference: float, ratio: float, increase: float) -> float:
    """A rate's limit above its reference: ``ratio`` times it or ``increase`` above it,
    whichever is higher."""
    return max(reference * ratio, reference + increase)


def _rate_increase_check(
    name: str,
    x1: int,
    n1: int,
    x0: int,
    n0: int,
    *,
    ratio: float,
    increase: float,
    min_samples: int,
    what: str,
) -> Check:
    enough = n1 >= min_samples and n0 >= min_samples
    current = x1 / n1 if n1 else None
    reference = x0 / n0 if n0 else None
    limit = rise_limit(reference or 0.0, ratio, increase)
    return reference_check(
        name,
        "baseline",
        observed=current if enough else None,
        limit=limit,
        direction="max",
        reference=reference,
        n=n1,
        p_value=rate_increase_p_value(x1, n1, x0, n0) if enough else None,
        magnitude=magnitude(current, limit, "max", share=True) if enough and current else None,
        test=f"{what} vs the reference window: one-sided Fisher exact",
    )


def _gap_variance(table_counts: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]) -> float:
    """Variance of the overconfidence gap given the confidences: binomial within bins."""
    count, correct = table_counts
    used = count > 0
    n = int(count.sum())
    if n == 0:
        return math.nan
    c = count[used].astype(np.float64)
    k = correct[used].astype(np.float64)
    return float(np.sum(k * (c - k) / c)) / (n * n)


def baseline_checks(
    current: WindowAggregate, reference: WindowAggregate, thresholds: Thresholds
) -> list[Check]:
    """Tonight against the reference window, one one-sided test per metric.

    Each check's ``limit`` is the reference value moved by the register's minimum effect
    (``signal.baseline``); its ``p_value`` tests "worse than the reference". The statuses
    returned are provisional (``ok`` or ``insufficient_data``):
    :func:`monitor.judge.decision.decide_checks` decides them once the night's family is
    corrected.

    Returns
    -------
    list of Check
        ``quality.vs_reference``, ``error_rate.vs_reference``,
        ``latency_ms.p95.vs_reference`` (one per configured quantile),
        ``calibration.overconfidence.vs_reference`` and, for models with a format check,
        ``format_invalid.vs_reference``; empty when baseline comparison is disabled.
    """
    settings = thresholds.signal.baseline
    if not (thresholds.signal.enabled and settings.enabled):
        return []
    min_n = thresholds.min_samples
    out: list[Check] = []

    metric = thresholds.quality.metric if thresholds.quality is not None else "accuracy"
    if metric == "quality_score":
        out.append(_score_check(current, reference, settings.quality_min_drop, min_n))
    else:
        n1, n0 = current.n_labeled, reference.n_labeled
        enough = n1 >= min_n and n0 >= min_n
        acc1 = current.n_correct / n1 if n1 else None
        acc0 = reference.n_correct / n0 if n0 else None
        out.append(
            reference_check(
                "quality.vs_reference",
                "baseline",
                observed=acc1 if enough else None,
                limit=(acc0 if acc0 is not None else 1.0) - settings.quality_min_drop,
                direction="min",
                reference=acc0,
                n=n1,
                p_value=(
                    rate_increase_p_value(n1 - current.n_correct, n1, n0 - reference.n_correct, n0)
                    if enough
                    else None
                ),
                magnitude=(
                    magnitude(acc1, acc0 - settings.quality_min_drop, "min", share=True)
                    if enough and acc0 is not None and acc1 is not None
                    else None
                ),
                test="wrong answers vs the reference window: one-sided Fisher exact",
            )
        )

    out.append(
        _rate_increase_check(
            "error_rate.vs_reference",
            current.n_error,
            current.n_error_known,
            reference.n_error,
            reference.n_error_known,
            ratio=settings.error_rate_min_ratio,
            increase=settings.error_rate_min_increase,
            min_samples=min_n,
            what="hard errors",
        )
    )

    for q in settings.latency_quantiles:
        out.append(_latency_check(current, reference, q, settings.latency_min_ratio, min_n))

    out.append(_overconfidence_check(current, reference, settings.overconfidence_min_rise, min_n))

    if current.n_format_checked:
        out.append(
            _rate_increase_check(
                "format_invalid.vs_reference",
                current.n_format_invalid,
                current.n_format_checked,
                reference.n_format_invalid,
                reference.n_format_checked,
                ratio=settings.format_min_ratio,
                increase=settings.format_min_increase,
                min_samples=min_n,
                what="outputs failing their format check",
            )
        )
    return out


def _quantile_name(q: float) -> str:
    return f"p{q * 100:g}"


def _latency_check(
    current: WindowAggregate, reference: WindowAggregate, q: float, ratio: float, min_n: int
) -> Check:
    n1, n0 = current.latency.count, reference.latency.count
    enough = n1 >= min_n and n0 >= min_n
    ref_q = reference.latency.quantile(q) if n0 else math.nan
    cur_q = current.latency.quantile(q) if n1 else math.nan
    p_value = None
    if enough and math.isfinite(ref_q) and ref_q > 0:
        # Rows above the reference quantile: a share 1 − q of each window if nothing moved.
        above1 = min(n1, round(exceedances(current.latency, ref_q)))
        above0 = min(n0, round(exceedances(reference.latency, ref_q)))
        p_value = rate_increase_p_value(above1, n1, above0, n0)
    return reference_check(
        f"latency_ms.{_quantile_name(q)}.vs_reference",
        "baseline",
        observed=cur_q if enough and math.isfinite(cur_q) else None,
        limit=ref_q * ratio if math.isfinite(ref_q) else 0.0,
        direction="max",
        reference=ref_q if math.isfinite(ref_q) else None,
        n=n1,
        p_value=p_value,
        magnitude=(
            magnitude(cur_q, ref_q * ratio, "max", share=False) if p_value is not None else None
        ),
        test=(
            f"rows slower than the reference {_quantile_name(q)} (binomial order statistic): "
            "one-sided Fisher exact"
        ),
    )


def _overconfidence_check(
    current: WindowAggregate, reference: WindowAggregate, rise: float, min_n: int
) -> Check:
    t1, t0 = current.reliability, reference.reliability
    n1, n0 = t1.n, t0.n
    enough = n1 >= min_n and n0 >= min_n
    gap1 = t1.mean_confidence - t1.accuracy if n1 else math.nan
    gap0 = t0.mean_confidence - t0.accuracy if n0 else math.nan
    p_value = None
    if enough:
        c1, k1, _ = t1.coarse(n_bins=100)
        c0, k0, _ = t0.coarse(n_bins=100)
        variance = _gap_variance((c1, k1)) + _gap_variance((c0, k0))
        if variance > 0:
            p_value = normal_p_value((gap1 - gap0) / math.sqrt(variance))
        else:
            p_value = 0.0 if gap1 > gap0 else 1.0
    # The allowed amount of a rise in overconfidence is the reference's failure budget:
    # confidence 5 points above accuracy on a 90 %-accurate model is half its failures.
    failure_budget = max(1.0 - t0.accuracy, rise) if n0 else rise
    return reference_check(
        "calibration.overconfidence.vs_reference",
        "baseline",
        observed=gap1 if enough else None,
        limit=(gap0 if math.isfinite(gap0) else 0.0) + rise,
        direction="max",
        reference=gap0 if math.isfinite(gap0) else None,
        n=n1,
        p_value=p_value,
        magnitude=excess_level((gap1 - gap0 - rise) / failure_budget) if enough else None,
        test=(
            "mean confidence − accuracy vs the reference window: one-sided z-test, "
            "outcomes binomial given the confidences"
        ),
    )


def _score_check(
    current: WindowAggregate, reference: WindowAggregate, drop: float, min_n: int
) -> Check:
    n1, n0 = current.n_graded, reference.n_graded
    enough = n1 >= min_n and n0 >= min_n
    m1 = current.quality_sum / n1 if n1 else math.nan
    m0 = reference.quality_sum / n0 if n0 else math.nan
    p_value = None
    if enough:
        v1 = max(0.0, current.quality_sumsq / n1 - m1 * m1) / n1
        v0 = max(0.0, reference.quality_sumsq / n0 - m0 * m0) / n0
        se = math.sqrt(v1 + v0)
        p_value = normal_p_value((m0 - m1) / se) if se > 0 else (0.0 if m1 < m0 else 1.0)
    return reference_check(
        "quality.vs_reference",
        "baseline",
        observed=m1 if enough else None,
        limit=(m0 if math.isfinite(m0) else 1.0) - drop,
        direction="min",
        reference=m0 if math.isfinite(m0) else None,
        n=n1,
        p_value=p_value,
        magnitude=magnitude(m1, m0 - drop, "min", share=True) if enough else None,
        test="mean quality score vs the reference window: one-sided Welch z-test",
    )
