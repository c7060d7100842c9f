"""Sequential checks: EWMA or CUSUM of tonight and the last nights against the reference.

Each night's count is turned into a normal score by the probability integral transform
of its exact binomial law (mid-p), over-dispersion between nights is estimated robustly
from the history, and the statistic's null law gives a p-value
(:mod:`monitor.stats.control_charts`), so sequential checks join the same family as the
others. The state store keeps the values they need (:class:`NightValue`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Literal

import numpy as np
import numpy.typing as npt

from monitor.judge.baseline import reference_check, rise_limit
from monitor.judge.severity import magnitude
from monitor.report import Check, Metrics
from monitor.stats.aggregates import WindowAggregate
from monitor.stats.control_charts import cusum_p_value, cusum_path, ewma_test, ewma_weights
from thresholds.schema import SignalSettings, Thresholds

__all__ = ["NightValue", "night_values", "sequential_checks"]

FloatArray = npt.NDArray[np.float64]

#: Histories shorter than this give no over-dispersion estimate (the inflation stays 1).
MIN_NIGHTS_FOR_DISPERSION = 5
#: Nights of history used to estimate over-dispersion between nights.
DISPERSION_NIGHTS = 28
#: Normal consistency constant of the median absolute deviation.
_MAD_TO_SD = 1.482602218505602


@dataclass(frozen=True)
class NightValue:
    """One metric of one model on one past night, as the state store keeps it.

    ``value`` is a share (accuracy, error rate) or a mean quality score, ``n`` the rows it
    was measured on.
    """

    night: date
    metric: str
    value: float
    n: int


def night_values(metrics: Metrics, night: date) -> list[NightValue]:
    """Tonight's values of the metrics sequential checks follow, for the state store."""
    out = []
    q = metrics.quality
    if q is not None and q.value is not None and q.n:
        out.append(NightValue(night, "quality", float(q.value), int(q.n)))
    er = metrics.error_rate
    if er.value is not None and er.n:
        out.append(NightValue(night, "error_rate", float(er.value), int(er.n)))
    return out


def _night_of(current: WindowAggregate) -> date:
    return datetime.fromtimestamp(current.params.start_ns / 1e9, tz=timezone.utc).date()


def _series(history: Iterable[NightValue], metric: str, before: date) -> list[NightValue]:
    """One value per night (the last given wins), nights before ``before``, oldest first."""
    by_night: dict[date, NightValue] = {}
    for value in history:
        usable = value.n > 0 and math.isfinite(value.value)
        if value.metric == metric and value.night < before and usable:
            by_night[value.night] = value
    return [by_night[night] for night in sorted(by_night)]


def _pit_score(x: int, n: int, p0: float, *, worse: Literal["higher", "lower"]) -> float:
    """Normal score of a binomial count by its mid-p probability integral transform.

    Exact for small counts where a normal approximation of a rare error rate is not:
    ``u = P(X < x) + ½ P(X = x)`` under Bin(n, p0), scored ``Φ⁻¹(u)`` (or ``Φ⁻¹(1 − u)``
    when fewer is worse), so "worse" is always positive.
    """
    from monitor.stats import tails

    p0 = min(max(p0, 1e-9), 1.0 - 1e-9)
    below = tails.binom_cdf(x - 1, n, p0) if x > 0 else 0.0
    at = tails.binom_pmf(x, n, p0)
    u = min(max(below + 0.5 * at, 1e-300), 1.0 - 1e-16)
    return tails.norm_ppf(u) if worse == "higher" else tails.norm_isf(u)


def _dispersion(z: FloatArray) -> float:
    """Robust standard deviation of past nights' scores (MAD), at least 1.

    Nights vary more than binomial noise says (traffic mix, label batches); dividing the
    scores by this keeps the sequential test honest. The median absolute deviation is
    blind to a few degraded nights, so a recent jump does not mask itself.
    """
    if z.size < MIN_NIGHTS_FOR_DISPERSION:
        return 1.0
    mad = float(np.median(np.abs(z - np.median(z))))
    return max(1.0, _MAD_TO_SD * mad)


def sequential_checks(
    current: WindowAggregate,
    reference: WindowAggregate,
    thresholds: Thresholds,
    history: Sequence[NightValue],
) -> list[Check]:
    """EWMA (or CUSUM) of tonight and the last nights against the reference value.

    Each night's count is scored against the reference window's rate (mid-p probability
    integral transform of its exact binomial law), divided by the robust spread of the
    past nights' scores, and smoothed; the p-value accounts for the reference's own
    sampling error, shared by every night. A check needs ``sequential.min_nights`` past
    nights and is silently absent without them (a fresh model or no state store).

    Returns
    -------
    list of Check
        ``quality.ewma`` / ``error_rate.ewma`` (``.cusum`` with that method); the limit is
        the reference moved by ``min_effect_share`` of the baseline check's minimum effect,
        the observed value the EWMA-weighted mean of the nights.
    """
    signal: SignalSettings = thresholds.signal
    seq = signal.sequential
    if not signal.enabled or seq.method == "off" or not history:
        return []
    tonight = _night_of(current)
    out = []
    metric_kind = thresholds.quality.metric if thresholds.quality is not None else "accuracy"
    for metric in seq.metrics:
        past = _series(history, metric, tonight)[-(DISPERSION_NIGHTS):]
        if len(past) < seq.min_nights:
            continue
        if metric == "quality":
            if metric_kind == "quality_score":
                check = _sequential_score(current, reference, past, thresholds)
            else:
                check = _sequential_rate(
                    "quality",
                    current.n_correct,
                    current.n_labeled,
                    reference.n_correct,
                    reference.n_labeled,
                    past,
                    thresholds,
                    worse="lower",
                )
        else:
            check = _sequential_rate(
                "error_rate",
                current.n_error,
                current.n_error_known,
                reference.n_error,
                reference.n_error_known,
                past,
                thresholds,
                worse="higher",
            )
        if check is not None:
            out.append(check)
    return out


def _smooth(
    z: FloatArray, loadings: FloatArray, values: FloatArray, thresholds: Thresholds
) -> tuple[float, float, str]:
    """(smoothed value, p-value, test text) of the last ``window_nights`` scores."""
    seq = thresholds.signal.sequential
    window = seq.window_nights
    z, loadings, values = z[-window:], loadings[-window:], values[-window:]
    w = ewma_weights(z.size, seq.ewma_lambda)
    smoothed = float(np.dot(w, values) / w.sum())
    if z[-1] <= 0.0:
        # Tonight is no worse than the reference: whatever the smoothed past says, the drift
        # is not current. Without this, an EWMA remembers a fixed incident for nights after
        # recovery and the ladder reads the recovery as a failed rung.
        return smoothed, 1.0, "tonight is no worse than the reference window: no current drift"
    if seq.method == "cusum":
        # The reference's shared error is folded into each score's variance (conservative).
        scaled = z / np.sqrt(1.0 + loadings**2)
        s = float(cusum_path(scaled, seq.cusum_k)[-1])
        p = cusum_p_value(s, z.size, seq.cusum_k)
        return smoothed, p, f"one-sided CUSUM (k = {seq.cusum_k:g}) over {z.size} nights"
    _, p = ewma_test(z, seq.ewma_lambda, common=loadings)
    return smoothed, p, f"one-sided EWMA (λ = {seq.ewma_lambda:g}) over {z.size} nights"


def _sequential_rate(
    metric: str,
    x1: int,
    n1: int,
    x0: int,
    n0: int,
    past: Sequence[NightValue],
    thresholds: Thresholds,
    *,
    worse: Literal["higher", "lower"],
) -> Check | None:
    seq = thresholds.signal.sequential
    base = thresholds.signal.baseline
    if n1 < thresholds.min_samples or n0 < thresholds.min_samples:
        return None
    p0 = x0 / n0
    counts = [(min(v.n, max(0, round(v.value * v.n))), v.n) for v in past] + [(x1, n1)]
    z = np.array([_pit_score(x, n, p0, worse=worse) for x, n in counts], dtype=np.float64)
    spread = _dispersion(z[:-1])
    z /= spread
    loadings = np.array([math.sqrt(n / n0) for _, n in counts], dtype=np.float64) / spread
    values = np.array([x / n for x, n in counts], dtype=np.float64)
    smoothed, p, test = _smooth(z, loadings, values, thresholds)
    share = seq.min_effect_share
    if worse == "lower":
        limit = p0 - share * base.quality_min_drop
        direction: Literal["max", "min"] = "min"
    else:
        ratio = 1.0 + share * (base.error_rate_min_ratio - 1.0)
        limit = rise_limit(p0, ratio, share * base.error_rate_min_increase)
        direction = "max"
    level = magnitude(smoothed, limit, direction, share=True)
    return reference_check(
        f"{metric}.{seq.method}",
        "sequential",
        observed=smoothed,
        limit=limit,
        direction=direction,
        reference=p0,
        n=n1,
        p_value=p,
        magnitude=level,
        test=test + (f"; scores divided by the nights' spread {spread:.2f}" if spread > 1 else ""),
    )


def _sequential_score(
    current: WindowAggregate,
    reference: WindowAggregate,
    past: Sequence[NightValue],
    thresholds: Thresholds,
) -> Check | None:
    n1, n0 = current.n_graded, reference.n_graded
    if n1 < thresholds.min_samples or n0 < thresholds.min_samples:
        return None
    m0 = reference.quality_sum / n0
    sd0 = math.sqrt(max(1e-12, reference.quality_sumsq / n0 - m0 * m0))
    nights = [(v.value, v.n) for v in past] + [(current.quality_sum / n1, n1)]
    z = np.array([(m0 - m) / (sd0 / math.sqrt(n)) for m, n in nights], dtype=np.float64)
    spread = _dispersion(z[:-1])
    z /= spread
    loadings = np.array([math.sqrt(n / n0) for _, n in nights], dtype=np.float64) / spread
    values = np.array([m for m, _ in nights], dtype=np.float64)
    smoothed, p, test = _smooth(z, loadings, values, thresholds)
    seq = thresholds.signal.sequential
    limit = m0 - seq.min_effect_share * thresholds.signal.baseline.quality_min_drop
    return reference_check(
        f"quality.{seq.method}",
        "sequential",
        observed=smoothed,
        limit=limit,
        direction="min",
        reference=m0,
        n=n1,
        p_value=p,
        magnitude=magnitude(smoothed, limit, "min", share=True),
        test=test,
    )
