"""Rules over triggers: when a breach becomes an escalation. Pure functions.

Breaches are *triggers*; rules decide whether they act:

* **co-fire** — a trigger listed in a ``co_fire`` group counts only on nights when every
  trigger of (one of) its groups fires too (e.g. drift only matters with a quality drop);
* **severity** — a night whose counted triggers reach ``same_night_tier`` acts that night;
* **persistence** — otherwise triggers must fire on ``persistence_k`` of the last
  ``persistence_n`` nights (calendar nights; a night the job did not run does not count).
  A night without a trigger still counts when it *supports* a check that breached on
  another night of the window: the same check significant at the lower support level
  (:attr:`ladder.state.Night.support`, Western Electric's "2 of 3 beyond 2σ"). At least
  one night of the window must have a real trigger.

``blind`` (no data) arrives as a trigger and is treated exactly like a breach.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ladder.sla import TIER_NAMES
from ladder.state import SUPPORT_LEVEL, Night, Trigger
from thresholds.schema import RuleSettings

__all__ = ["RuleOutcome", "counted_triggers", "describe_trigger", "evaluate_rules"]


@dataclass(frozen=True)
class RuleOutcome:
    """Whether tonight's triggers act, which rule decided and on what evidence."""

    fired: bool
    rule: Literal["none", "severity", "persistence"]
    reason: str
    tier: int = 0
    evidence: tuple[str, ...] = ()
    firing_nights: tuple[Night, ...] = ()
    window_nights: int = 1

    @property
    def first_trigger_at(self) -> datetime | None:
        """Start of the window of the earliest night the rule counted (for time to detection)."""
        for night in self.firing_nights:
            if night.window_start is not None:
                return night.window_start
        return None


def describe_trigger(trigger: Trigger) -> str:
    """``quality = 0.81 (limit 0.88, tier 2)``."""
    if trigger.level == "blind":
        return f"blind: no usable rows (tier {trigger.tier})"
    observed = "n/a" if trigger.observed is None else f"{trigger.observed:.4g}"
    limit = "" if trigger.limit is None else f"limit {trigger.limit:.4g}, "
    if trigger.level == SUPPORT_LEVEL:
        return f"{trigger.name} = {observed} ({limit}supports persistence)"
    return f"{trigger.name} = {observed} ({limit}tier {trigger.tier})"


def counted_triggers(night: Night, co_fire: Sequence[Sequence[str]]) -> tuple[Trigger, ...]:
    """The triggers that count this night once co-fire groups are applied."""
    firing = night.firing
    names = {t.name for t in firing}
    counted = []
    for trigger in firing:
        groups = [set(g) for g in co_fire if trigger.name in g]
        if not groups or any(group <= names for group in groups):
            counted.append(trigger)
    return tuple(counted)


def evaluate_rules(nights: Sequence[Night], rules: RuleSettings) -> RuleOutcome:
    """Judge the last of ``nights`` (tonight) against the rules, given the nights before.

    ``nights`` must be sorted by date; only the last ``persistence_n`` calendar nights
    ending tonight are looked at.
    """
    if not nights:
        return RuleOutcome(False, "none", "no night recorded")
    tonight = nights[-1]
    counted = counted_triggers(tonight, rules.co_fire)
    start = tonight.night - timedelta(days=rules.persistence_n - 1)
    window = [n for n in nights if start <= n.night <= tonight.night]
    if not counted and _supported(tonight, window, rules):
        return _persistence(window, rules)
    if not counted:
        suppressed = tonight.firing
        if suppressed:
            names = ", ".join(sorted({t.name for t in suppressed}))
            return RuleOutcome(
                False,
                "none",
                f"{names} fired without the triggers they must co-fire with; not counted",
            )
        return RuleOutcome(False, "none", "no trigger fired tonight")

    tier = max(t.tier for t in counted)
    evidence = tuple(f"{tonight.night}: {describe_trigger(t)}" for t in counted)
    if tier >= rules.same_night_tier:
        worst = max(counted, key=lambda t: t.tier)
        return RuleOutcome(
            True,
            "severity",
            f"tier {tier} ({TIER_NAMES[min(tier, 4)]}) trigger {worst.name} on {tonight.night} "
            f"is at or above tier {rules.same_night_tier}: acts the same night",
            tier,
            evidence,
            (tonight,),
        )

    return _persistence(window, rules)


def _supported(night: Night, window: Sequence[Night], rules: RuleSettings) -> tuple[Trigger, ...]:
    """``night``'s support entries for checks that are counted triggers in ``window``
    (none when ``persistence_k`` is 1: every trigger acts on its own night)."""
    if rules.persistence_k < 2:
        return ()
    breached = {t.name for other in window for t in counted_triggers(other, rules.co_fire)}
    return tuple(t for t in night.support if t.name in breached)


def _persistence(window: Sequence[Night], rules: RuleSettings) -> RuleOutcome:
    """The persistence rule over ``window`` (the last ``persistence_n`` nights)."""
    k, n = rules.persistence_k, rules.persistence_n
    shown: list[tuple[Night, tuple[Trigger, ...], tuple[Trigger, ...]]] = []
    for night in window:
        counted = counted_triggers(night, rules.co_fire)
        support = () if counted else _supported(night, window, rules)
        if counted or support:
            shown.append((night, counted, support))
    firing = tuple(night for night, _, _ in shown)
    dates = ", ".join(str(x.night) for x in firing)
    evidence = tuple(
        f"{night.night}: {describe_trigger(t)}"
        for night, counted, support in shown
        for t in (*counted, *support)
    )
    tier = max((t.tier for _, counted, _ in shown for t in counted), default=0)
    supported = sum(1 for _, counted, _ in shown if not counted)
    how = f" ({supported} by support)" if supported else ""
    if len(firing) >= k:
        return RuleOutcome(
            True,
            "persistence",
            f"triggers fired on {len(firing)} of the last {n} nights ({dates}){how}: "
            f"persistence rule {k} of {n} met",
            tier,
            evidence,
            firing,
            n,
        )
    return RuleOutcome(
        False,
        "persistence",
        f"triggers fired on {len(firing)} of the last {n} nights ({dates}){how}; "
        f"persistence needs {k} of {n}",
        tier,
        evidence,
        firing,
        n,
    )
