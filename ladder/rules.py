"""Rules over triggers: when a breach becomes an escalation. Pure functions.

Breaches are *triggers*; rules decide whether they act:

* **co-fire** — a trigger listed in a ``co_fire`` group counts only on nights when every
  trigger of (one of) its groups fires too (e.g. drift only matters with a quality drop);
* **severity** — a night whose counted triggers reach ``same_night_tier`` acts that night;
* **persistence** — otherwise triggers must fire on ``persistence_k`` of the last
  ``persistence_n`` nights (calendar nights; a night the job did not run does not count).

``blind`` (no data) arrives as a trigger and is treated exactly like a breach.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from ladder.sla import TIER_NAMES
from ladder.state import Night, Trigger
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
    if not counted:
        suppressed = tonight.firing
        if suppressed:
            names = ", ".join(sorted({t.name for t in suppressed}))
            return RuleOutcome(
                False, "none",
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

    start = tonight.night - timedelta(days=rules.persistence_n - 1)
    window = [n for n in nights if start <= n.night <= tonight.night]
    firing = tuple(n for n in window if counted_triggers(n, rules.co_fire))
    k, n = rules.persistence_k, rules.persistence_n
    dates = ", ".join(str(x.night) for x in firing)
    if len(firing) >= k:
        evidence = tuple(
            f"{night.night}: {describe_trigger(t)}"
            for night in firing
            for t in counted_triggers(night, rules.co_fire)
        )
        tier = max(t.tier for night in firing for t in counted_triggers(night, rules.co_fire))
        return RuleOutcome(
            True,
            "persistence",
            f"triggers fired on {len(firing)} of the last {n} nights ({dates}): "
            f"persistence rule {k} of {n} met",
            tier,
            evidence,
            firing,
            n,
        )
    return RuleOutcome(
        False,
        "persistence",
        f"triggers fired on {len(firing)} of the last {n} nights ({dates}); "
        f"persistence needs {k} of {n}",
        tier,
        evidence,
        firing,
        n,
    )
