"""How one check is decided once its family is corrected: ``ok``, ``warning`` or ``breach``.

Limit checks keep the interval rule (breach when the interval lies beyond the limit,
warning when only the point estimate does) and lose a breach that does not survive the
night's multiple-testing correction. Baseline and sequential checks are a breach when
*material* (point estimate past the minimum effect) and significant after the
correction, a warning when material and significant for the model alone.
"""

from __future__ import annotations

from collections.abc import Sequence

from monitor.judge import fleet
from monitor.judge.severity import tier_for
from monitor.report import Check, CheckStatus
from thresholds.schema import RuleSettings, SignalSettings

__all__ = ["DEFAULT_PERSISTENCE", "decide_check", "decide_checks"]

#: The ladder's default persistence rule, ``(k, n)`` (the register's ``RuleSettings``).
DEFAULT_PERSISTENCE = (RuleSettings().persistence_k, RuleSettings().persistence_n)


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
    (default ``level``; :func:`decide_checks` uses ``level`` over the model's own checks in the
    family, "significant for this model alone"). Checks outside the family (no
    ``p_adjusted``) and ``insufficient_data`` checks are returned as they are.

    A check *supports persistence* when its raw p-value is at most ``support_level``
    (:func:`monitor.judge.fleet.support_level`) and, for baseline and sequential checks, its
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


def decide_checks(
    checks: Sequence[Check],
    adjusted: Sequence[float | None],
    *,
    level: float,
    criticality: int,
    n_models: int = 1,
    persistence: tuple[int, int] = DEFAULT_PERSISTENCE,
    settings: SignalSettings | None = None,
) -> list[Check]:
    """Decide a model's checks with its family's adjusted p-values (see
    :func:`monitor.judge.fleet.fleet_adjust`); ``adjusted`` is parallel to ``checks``.

    A material baseline or sequential check that misses the correction is a warning when
    its raw p-value is at most ``level / m`` — Bonferroni over the model's ``m`` checks in
    the family — so a healthy model shows such a warning on at most a share ``level`` of
    its nights.

    ``n_models`` (every model in the family, background ones included) and the ladder's
    ``persistence`` rule ``(k, n)`` set the support level
    (:func:`monitor.judge.fleet.support_level`) unless ``settings.persistence_support``
    is off.
    """
    settings = settings or SignalSettings()
    members = sum(p is not None for p in adjusted)
    support = 0.0
    if settings.persistence_support and members:
        support = fleet.support_level(level, max(1, n_models), members, *persistence)
    return [
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
