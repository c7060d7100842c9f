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

Signal rules (``thresholds.signal``, see :mod:`monitor.signal` and
``docs/signal-quality.md``): every limit check also gets a one-sided p-value, and
*baseline* checks (tonight against the reference window) and *sequential* checks
(EWMA/CUSUM over the last nights) are added. All p-values of the night form one
Benjamini–Hochberg family at a level derived from the false-alarm budget: a limit check
whose interval lies beyond its limit is a breach only if it also survives the
correction (else a warning); a baseline or sequential check is a breach when it is both
significant after the correction and material (its point estimate past the minimum
effect), a warning when material and significant for the model alone. Their
``limit`` is the reference value moved by the minimum effect, and their magnitude is
measured past it like any limit's (a rise in overconfidence against the reference's
failure budget).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

from scipy import stats

from monitor.report import Breach, Check, CheckStatus, DriftSummary, Metrics, RateMetric
from monitor.signal import (
    NightValue,
    baseline_checks,
    benjamini_hochberg,
    binomial_p_value,
    exceedances,
    fleet_level,
    in_family,
    magnitude,
    mean_below_p_value,
    normal_p_value,
    poisson_p_value,
    quantile_ceiling_p_value,
    sequential_checks,
    support_level,
)
from monitor.stats.aggregates import WindowAggregate
from monitor.stats.intervals import (
    ece_interval,
    rate_per_hour_interval,
    sketch_quantile_interval,
    wilson_interval,
)
from thresholds.schema import RuleSettings, SignalSettings, Thresholds
from thresholds.vocabulary import Status

__all__ = [
    "DEFAULT_PERSISTENCE",
    "Judgement",
    "decide_check",
    "judge",
    "judgement_of",
    "magnitude",
    "model_status",
    "rejudge",
    "tier_for",
]

Direction = Literal["max", "min"]


class _Common(TypedDict):
    min_samples: int
    criticality: int


@dataclass(frozen=True)
class Judgement:
    checks: list[Check]
    breaches: list[Breach]
    status: Status


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
    p_value: float | None = None,
    test: str | None = None,
) -> Check:
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
    half = high - (value if math.isfinite(value) else math.nan)
    z = float(stats.norm.ppf(0.5 + level / 2))
    if not (math.isfinite(half) and half > 0):
        return None
    return normal_p_value((value - limit) / (half / z))


def _checks(
    metrics: Metrics,
    current: WindowAggregate,
    t: Thresholds,
    criticality: int,
    drift: DriftSummary | None,
) -> Iterator[Check]:
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
        yield _judge(
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
        yield _judge(
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
            yield _judge(
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
        yield _judge(
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
            p_value=poisson_p_value(
                current.n_rows, t.throughput.min_per_hour * tp.hours, alternative="less"
            )
            if tp.hours
            else None,
            test="exact Poisson, one-sided",
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
        yield _judge(
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
        yield _judge(
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


# ------------------------------------------------------------------------ decisions


def _past(check: Check, value: float | None) -> bool:
    if value is None:
        return False
    return value > check.limit if check.direction == "max" else value < check.limit


def decide_check(
    check: Check,
    *,
    level: float,
    criticality: int,
    warn_level: float | None = None,
    support_level: float = 0.0,
    support_share: float = 0.5,
) -> Check:
    """A check's status once its family is corrected (``p_adjusted`` set, ``level`` = q).

    Limit checks keep the interval rule (breach when the interval lies beyond the limit,
    warning when only the point estimate does) and lose a breach that does not survive
    the correction (it becomes a warning). Baseline and sequential checks are a breach
    when material (point estimate past the minimum effect) and significant after the
    correction, a warning when material with a raw p-value at most ``warn_level``
    (default ``level``; :func:`rejudge` uses ``level`` over the model's own checks in the
    family, "significant for this model alone"). Checks outside the family (no
    ``p_adjusted``) and ``insufficient_data`` checks are returned as they are.

    A check *supports persistence* when its raw p-value is at most ``support_level``
    (:func:`monitor.signal.support_level`) and, for baseline and sequential checks, its
    point estimate is past ``support_share`` of the way from the reference to the
    minimum effect. Support does not change the status: on its own it is weaker
    evidence than a warning (a register of one model would otherwise warn on several
    healthy nights in a hundred), and it only matters when the same check breaches on
    another night of the persistence window (:func:`ladder.rules.evaluate_rules`).
    """
    if check.status == "insufficient_data" or check.p_adjusted is None:
        return check
    significant = check.p_adjusted <= level
    status: CheckStatus
    if check.kind == "limit":
        low, high = check.ci_low, check.ci_high
        beyond_interval = _past(check, low if check.direction == "max" else high)
        if beyond_interval and significant:
            status = "breach"
        elif beyond_interval or _past(check, check.observed):
            status = "warning"
        else:
            status = "ok"
    else:
        material = _past(check, check.observed)
        if material and significant:
            status = "breach"
        elif material and check.p_value is not None and check.p_value <= (warn_level or level):
            status = "warning"
        else:
            status = "ok"
    tier = None
    if status == "breach":
        tier = tier_for(check.magnitude or 1, criticality)
    elif status == "warning":
        tier = 1
    return check.model_copy(
        update={
            "status": status,
            "tier": tier,
            "support_level": support_level,
            "supports_persistence": _supports(check, support_level, support_share),
        }
    )


def _supports(check: Check, level: float, share: float) -> bool:
    """Significant at the support level and, against a reference, past ``share`` of the
    minimum effect (a limit check's own limit is its minimum effect)."""
    if check.p_value is None or level <= 0 or check.p_value > level:
        return False
    if check.kind == "limit" or check.reference is None:
        return _past(check, check.observed)
    bar = check.reference + share * (check.limit - check.reference)
    if check.observed is None:
        return False
    return check.observed > bar if check.direction == "max" else check.observed < bar


def judgement_of(checks: list[Check], n_rows: int) -> Judgement:
    """The breaches among decided checks and the model's status."""
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
    return Judgement(checks=checks, breaches=breaches, status=model_status(checks, n_rows))


#: The ladder's default persistence rule, ``(k, n)`` (the register's ``RuleSettings``).
DEFAULT_PERSISTENCE = (RuleSettings().persistence_k, RuleSettings().persistence_n)


def rejudge(
    checks: Sequence[Check],
    adjusted: Sequence[float | None],
    *,
    level: float,
    criticality: int,
    n_rows: int,
    n_models: int = 1,
    persistence: tuple[int, int] = DEFAULT_PERSISTENCE,
    settings: SignalSettings | None = None,
) -> Judgement:
    """Decide a model's checks again with the fleet's adjusted p-values (see
    :func:`monitor.signal.fleet_adjust`); ``adjusted`` is parallel to ``checks``.

    A material baseline or sequential check that misses the correction is a warning when
    its raw p-value is at most ``level / m`` — Bonferroni over the model's ``m`` checks in
    the family — so a healthy model shows such a warning on at most a share ``level`` of
    its nights.

    ``n_models`` (every model in the family, background ones included) and the ladder's
    ``persistence`` rule ``(k, n)`` set the support level
    (:func:`monitor.signal.support_level`) unless ``settings.persistence_support`` is off.
    """
    settings = settings or SignalSettings()
    members = sum(p is not None for p in adjusted)
    support = 0.0
    if settings.persistence_support and members:
        support = support_level(level, max(1, n_models), members, *persistence)
    decided = [
        decide_check(
            c.model_copy(update={"p_adjusted": p}) if p is not None else c,
            level=level,
            criticality=criticality,
            warn_level=level / max(1, members),
            support_level=support,
            support_share=settings.support_min_effect_share,
        )
        for c, p in zip(checks, adjusted, strict=True)
    ]
    return judgement_of(decided, n_rows)


def _correct_alone(
    checks: list[Check],
    settings: SignalSettings,
    criticality: int,
    persistence: tuple[int, int],
) -> list[Check]:
    """The model as a family of its own (a fleet of one), until the fleet step runs."""
    level = fleet_level(settings.false_alarm_budget_nights, 1, settings.fleet_fdr_max)
    members = [i for i, c in enumerate(checks) if in_family(c, settings)]
    p_values = [p for i in members if (p := checks[i].p_value) is not None]
    adjusted, _ = benjamini_hochberg(p_values, level)
    full: list[float | None] = [None] * len(checks)
    for i, value in zip(members, adjusted, strict=True):
        full[i] = float(value)
    return rejudge(
        checks,
        full,
        level=level,
        criticality=criticality,
        n_rows=1,
        persistence=persistence,
        settings=settings,
    ).checks


def judge(
    metrics: Metrics,
    current: WindowAggregate,
    thresholds: Thresholds,
    *,
    criticality: int,
    drift: DriftSummary | None = None,
    reference: WindowAggregate | None = None,
    history: Sequence[NightValue] = (),
    persistence: tuple[int, int] = DEFAULT_PERSISTENCE,
) -> Judgement:
    """All checks of one model, the breaches among them and the model's status.

    With ``thresholds.signal.enabled`` (the default) and a ``reference`` window, baseline
    checks are added, and sequential checks when ``history`` holds enough past nights;
    every p-value is then corrected with the model as a family of its own. The nightly
    job corrects again across the whole fleet (:func:`rejudge`). ``persistence`` is the
    ladder's ``(persistence_k, persistence_n)``, from which the support level follows.
    """
    if current.n_rows == 0:
        blind = Breach(
            threshold="blind", level="blind", observed=0, limit=None, n=0, tier=max(2, criticality)
        )
        return Judgement(checks=[], breaches=[blind], status="blind")
    checks = list(_checks(metrics, current, thresholds, criticality, drift))
    signal = thresholds.signal
    if signal.enabled:
        if reference is not None:
            checks += baseline_checks(current, reference, thresholds)
            checks += sequential_checks(current, reference, thresholds, history)
        checks = _correct_alone(checks, signal, criticality, persistence)
    return judgement_of(checks, current.n_rows)
