"""The fleet step: one night's p-values, every model × check, as one family.

All p-values of one night form one Benjamini–Hochberg family (Benjamini & Hochberg
1995) at level ``q = min(fleet_fdr_max, n_models / false_alarm_budget_nights)``. Under
the global null BH rejects anything with probability at most ``q`` (Simes 1986), so the
register's models together raise at most ``n_models / budget`` false alarms a night,
i.e. one per ``budget`` healthy model-nights each; with many models the level is capped
at the false-discovery rate ``fleet_fdr_max`` so a fleet of 200 does not page every
night. :func:`support_level` sets the lower level at which a night *supports* the
ladder's persistence rule.

References
----------
.. [1] Y. Benjamini and Y. Hochberg, "Controlling the false discovery rate: a practical
   and powerful approach to multiple testing", JRSS B 57(1), 289-300, 1995.
.. [2] R. J. Simes, "An improved Bonferroni procedure for multiple tests of
   significance", Biometrika 73(3), 751-754, 1986.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from monitor.report import Check
from monitor.stats.significance import benjamini_hochberg
from thresholds.schema import SignalSettings

__all__ = [
    "FleetAdjustment",
    "fleet_adjust",
    "fleet_level",
    "in_family",
    "per_check_alpha",
    "support_level",
]

FloatArray = npt.NDArray[np.float64]


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
        Each model's checks with their raw p-values (:func:`monitor.judge.judge_night`).
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
