"""Statistical signal rules: p-values, multiple-testing control, sequential tests, budgets.

A monitor is only as good as its alarms. This module holds the statistics that decide
whether a number is *evidence* of a problem, so that a fleet of models can be watched
every night without crying wolf and without missing a real degradation:

**p-values per check.** Every check that can be phrased as a test gets a one-sided
p-value: the exact binomial test for rates against a register limit, the binomial order
statistic for latency quantiles (the number of rows above a limit is binomial when the
quantile sits at the limit; Hahn & Meeker 1991), the exact Poisson test for throughput,
and Fisher's exact test for "worse than the reference window".

**Baseline comparisons.** Tonight against the model's own 28-day reference window, one
check per rate metric (accuracy, hard errors, invalid formats, exceedances of the
reference latency quantile, overconfidence), each gated by a minimum effect so a tiny but
"significant" wobble at 50 000 rows a night is never an alarm.

**Sequential tests.** An EWMA (Roberts 1959) or CUSUM (Page 1954) over the last nights'
values catches slow drifts that no single night shows. Each night's count is turned
into a normal score by the probability integral transform of its exact binomial law
(mid-p), over-dispersion between nights is estimated robustly from the history, and the
statistic's null law (normal for the EWMA, a Markov-chain approximation for the CUSUM;
Brook & Evans 1972) gives a proper p-value, so sequential checks join the same family.

**Multiple-testing control.** All p-values of one night — every model × every check —
form one Benjamini–Hochberg family (Benjamini & Hochberg 1995) at level
``q = min(fleet_fdr_max, n_models / false_alarm_budget_nights)``. Under the global null
BH rejects anything with probability at most ``q`` (Simes 1986), so the register's
models together raise at most ``n_models / budget`` false alarms a night, i.e. one per
``budget`` healthy model-nights each; with many models the level is capped at the
false-discovery rate ``fleet_fdr_max`` so a fleet of 200 does not page every night.

Everything here is pure: numbers in, numbers (or :class:`~monitor.report.Check` values)
out. :mod:`monitor.evaluate` decides statuses from these p-values; the nightly job
(:func:`monitor.job.build_report`) runs :func:`fleet_adjust` once all models are judged.

References
----------
.. [1] Y. Benjamini and Y. Hochberg, "Controlling the false discovery rate: a practical
   and powerful approach to multiple testing", JRSS B 57(1), 289-300, 1995.
.. [2] R. J. Simes, "An improved Bonferroni procedure for multiple tests of
   significance", Biometrika 73(3), 751-754, 1986.
.. [3] E. S. Page, "Continuous inspection schemes", Biometrika 41(1/2), 100-115, 1954.
.. [4] S. W. Roberts, "Control chart tests based on geometric moving averages",
   Technometrics 1(3), 239-250, 1959.
.. [5] D. Brook and D. A. Evans, "An approach to the probability distribution of cusum
   run length", Biometrika 59(3), 539-549, 1972.
.. [6] D. Siegmund, *Sequential Analysis: Tests and Confidence Intervals*, Springer, 1985
   (the ARL approximation of the CUSUM, §X.2).
.. [7] G. J. Hahn and W. Q. Meeker, *Statistical Intervals*, Wiley, 1991, §5.2.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import stats

from monitor.report import Check, Metrics
from monitor.stats.aggregates import WindowAggregate
from monitor.stats.control_charts import (
    cusum_arl,
    cusum_p_value,
    cusum_path,
    cusum_threshold,
    ewma_path,
    ewma_test,
    ewma_weights,
)
from monitor.stats.significance import (
    benjamini_hochberg,
    binomial_p_value,
    exceedances,
    mean_below_p_value,
    normal_p_value,
    poisson_p_value,
    quantile_ceiling_p_value,
    rate_increase_p_value,
)
from thresholds.schema import SignalSettings, Thresholds

__all__ = [
    "FleetAdjustment",
    "NightValue",
    "baseline_checks",
    "benjamini_hochberg",
    "binomial_p_value",
    "cusum_arl",
    "cusum_p_value",
    "cusum_path",
    "cusum_threshold",
    "ewma_path",
    "ewma_test",
    "ewma_weights",
    "exceedances",
    "excess_level",
    "fleet_adjust",
    "fleet_level",
    "in_family",
    "magnitude",
    "mean_below_p_value",
    "night_values",
    "normal_p_value",
    "per_check_alpha",
    "poisson_p_value",
    "quantile_ceiling_p_value",
    "rate_increase_p_value",
    "sequential_checks",
    "support_level",
]

Alternative = Literal["greater", "less"]
FloatArray = npt.NDArray[np.float64]

#: Histories shorter than this give no over-dispersion estimate (the inflation stays 1).
MIN_NIGHTS_FOR_DISPERSION = 5
#: Nights of history used to estimate over-dispersion between nights.
DISPERSION_NIGHTS = 28
#: Normal consistency constant of the median absolute deviation.
_MAD_TO_SD = 1.482602218505602


# ------------------------------------------------------------ multiple testing, budgets


def fleet_level(budget_nights: float, n_models: int, fdr_max: float) -> float:
    """The Benjamini–Hochberg level ``q`` for one night's family of ``n_models`` models.

    ``q = min(fdr_max, n_models / budget_nights)``. Under the global null (every model
    healthy) BH rejects anything with probability at most ``q`` (Simes 1986), so the
    expected number of falsely alarmed models per night is at most ``n_models / budget``:
    one false alarm per ``budget`` healthy model-nights each. A lone model is held to
    ``1 / budget`` a night; from ``n_models > fdr_max · budget`` the level stops growing
    and the fleet as a whole keeps a false-discovery rate of ``fdr_max``.
    """
    if budget_nights < 1 or n_models < 1 or not 0.0 < fdr_max <= 1.0:
        raise ValueError("need budget_nights >= 1, n_models >= 1 and 0 < fdr_max <= 1")
    return min(fdr_max, n_models / budget_nights)


def support_level(level: float, n_models: int, n_checks: int, k: int, n: int) -> float:
    """The per-check level at which a night *supports* a persistent breach.

    The ladder acts on a tier-1/2 breach when a problem shows on ``k`` of the last ``n``
    nights. A night shows the problem of check ``c`` when ``c`` breaches, or when ``c``
    is significant at this lower level (Western Electric's "2 of 3 points beyond 2σ").
    On a healthy model each check is significant at level ``α`` on a night with
    probability at most ``α``, so ``k`` of ``n`` such nights of one check happen with
    probability at most ``C(n, k) · α^k`` (nights independent). Over ``n_checks`` checks
    and ``n_models`` models that stays at most ``level`` (the family's ``q``) per night
    when

        α = (q / (C(n, k) · n_models · n_checks)) ^ (1 / k).

    The rule also needs one real breach in the window, so this bound is conservative.
    Returns 0 (no support) when ``k < 2`` (every breach acts at once) or ``k > n``.
    """
    if k < 2 or k > n or level <= 0:
        return 0.0
    if n_models < 1 or n_checks < 1:
        raise ValueError("need n_models >= 1 and n_checks >= 1")
    return float((level / (math.comb(n, k) * n_models * n_checks)) ** (1.0 / k))


def per_check_alpha(budget_nights: float, n_checks: int) -> float:
    """Bonferroni share of a model-night's false-alarm budget: ``1 / (budget · n_checks)``.

    With this level per check, a healthy model raises a false alarm on at most one night
    in ``budget`` whatever the dependence between its checks.
    """
    if budget_nights < 1 or n_checks < 1:
        raise ValueError("need budget_nights >= 1 and n_checks >= 1")
    return 1.0 / (budget_nights * n_checks)


def excess_level(relative: float) -> int:
    """1, 2 or 3 for an excess below 25 %, below 100 % or beyond, of what was allowed."""
    if relative < 0.25:
        return 1
    if relative < 1.0:
        return 2
    return 3


def magnitude(
    observed: float, limit: float, direction: Literal["max", "min"], *, share: bool
) -> int:
    """1, 2 or 3: how far past the limit, relative to the amount the limit allows.

    For a ceiling the allowed amount is the limit itself; for a floor on a share it is
    the failure budget ``1 − limit`` (a 0.88 accuracy floor allows 12 % failures).
    """
    if direction == "max":
        excess = observed - limit
        allowed = limit
    else:
        excess = limit - observed
        allowed = (1.0 - limit) if share else limit
    return excess_level(excess / allowed if allowed > 0 else math.inf)


# ---------------------------------------------------------------- EWMA and CUSUM
# ------------------------------------------------------------------- nightly history


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


# ------------------------------------------------------------------ baseline checks


def _check(
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


def _rise_limit(reference: float, ratio: float, increase: float) -> float:
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
    limit = _rise_limit(reference or 0.0, ratio, increase)
    return _check(
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
    :func:`monitor.evaluate.judge` decides them once the night's family is corrected.

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
            _check(
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
    return _check(
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
    return _check(
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
    return _check(
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


# ---------------------------------------------------------------- sequential checks


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
    p0 = min(max(p0, 1e-9), 1.0 - 1e-9)
    below = float(stats.binom.cdf(x - 1, n, p0)) if x > 0 else 0.0
    at = float(stats.binom.pmf(x, n, p0))
    u = min(max(below + 0.5 * at, 1e-300), 1.0 - 1e-16)
    return float(stats.norm.ppf(u)) if worse == "higher" else float(stats.norm.isf(u))


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
        limit = _rise_limit(p0, ratio, share * base.error_rate_min_increase)
        direction = "max"
    level = magnitude(smoothed, limit, direction, share=True)
    return _check(
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
    return _check(
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


# ------------------------------------------------------------------ the fleet step


@dataclass(frozen=True)
class FleetAdjustment:
    """One night's Benjamini–Hochberg family across every model of the register.

    Attributes
    ----------
    level : float
        The level ``q`` (see :func:`fleet_level`).
    adjusted : dict of str to list of (float or None)
        Per model, one adjusted p-value per check in the order given; None for checks
        outside the family (no p-value, or their model opted out).
    family_size, discoveries, n_models, background_models
        Hypotheses in the family, how many were rejected, models of this register in
        it, and models judged elsewhere whose p-values joined it.
    """

    level: float
    adjusted: dict[str, list[float | None]] = field(default_factory=dict)
    family_size: int = 0
    discoveries: int = 0
    n_models: int = 0
    background_models: int = 0
    budget_nights: float = 100.0
    fdr_max: float = 0.05


def in_family(check: Check, settings: SignalSettings) -> bool:
    """Whether a check's p-value joins the night's multiple-testing family."""
    if check.p_value is None or check.status == "insufficient_data":
        return False
    return check.kind != "limit" or settings.correct_limits


def fleet_adjust(
    models: Mapping[str, Sequence[Check]],
    settings: Mapping[str, SignalSettings],
    *,
    background_models: int = 0,
    background_p_values: Sequence[float] | FloatArray = (),
) -> FleetAdjustment:
    """Benjamini–Hochberg across every model × check of one night.

    Parameters
    ----------
    models : mapping of model id to checks
        Each model's judged checks (:func:`monitor.evaluate.judge`).
    settings : mapping of model id to SignalSettings
        Each model's ``thresholds.signal``. Models with ``enabled: false`` stay out of the
        family. When models set different budgets, the strictest (largest budget, smallest
        ``fleet_fdr_max``) sets the family's level.
    background_models, background_p_values : optional
        Models judged elsewhere (another register, a shard of the fleet) and their
        p-values, so the family is the whole fleet; they count towards ``n_models`` in
        :func:`fleet_level`.

    Returns
    -------
    FleetAdjustment
    """
    members = [model for model in models if settings[model].enabled]
    if not members and not background_models:
        return FleetAdjustment(level=0.0)
    budget = max((settings[m].false_alarm_budget_nights for m in members), default=100.0)
    fdr_max = min((settings[m].fleet_fdr_max for m in members), default=0.05)
    level = fleet_level(budget, len(members) + background_models, fdr_max)
    slots: list[tuple[str, int]] = []
    p_values: list[float] = []
    for model in members:
        for i, check in enumerate(models[model]):
            if in_family(check, settings[model]) and check.p_value is not None:
                slots.append((model, i))
                p_values.append(float(check.p_value))
    p_values.extend(float(p) for p in background_p_values)
    adjusted, rejected = benjamini_hochberg(p_values, level)
    out: dict[str, list[float | None]] = {model: [None] * len(models[model]) for model in models}
    for (model, i), value in zip(slots, adjusted[: len(slots)], strict=True):
        out[model][i] = float(value)
    return FleetAdjustment(
        level=level,
        adjusted=out,
        family_size=len(p_values),
        discoveries=int(rejected.sum()),
        n_models=len(members),
        background_models=background_models,
        budget_nights=budget,
        fdr_max=fdr_max,
    )
