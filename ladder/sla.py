"""Severity tiers and the SLA clocks of an open decision. Pure: the clock is passed in.

A step waiting for people has two windows, both started when it is requested, and a
reminder cadence (:mod:`ladder.reminders` decides what is due when):

* **acknowledge** by ``ack_due`` (tier 2: a mitigation plan communicated within 24 h);
  meanwhile an unacknowledged step is re-notified after ``remind_after`` (30 min) and
  goes to the next level after ``next_level_after`` (2 h);
* **decide** by ``decide_due`` (tier 2: resolved within 48 h) — an overdue decision is
  re-notified once, escalated to the next approvers one interval later (unless the next
  level already has it), and **expires** one interval after that.

The interval is the tier's decision time (at least an hour), so every clock has a cap
(``expire_at = requested + 3 × decide``) and an end state (``expired``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from thresholds.schema import (
    DEFAULT_ACK_HOURS,
    DEFAULT_DECIDE_HOURS,
    DEFAULT_NEXT_LEVEL_AFTER,
    DEFAULT_REMIND_AFTER,
    TIER_NAMES,
    SlaSettings,
    describe_hours,
    parse_duration,
)

__all__ = [
    "DEFAULT_ACK_HOURS",
    "DEFAULT_DECIDE_HOURS",
    "TIER_NAMES",
    "Deadlines",
    "SlaClocks",
    "TierWindow",
    "deadlines",
    "describe_hours",
    "sla_clocks",
    "tier_windows",
]

_REMIND_MINUTES = parse_duration(DEFAULT_REMIND_AFTER).total_seconds() / 60
_NEXT_LEVEL_MINUTES = parse_duration(DEFAULT_NEXT_LEVEL_AFTER).total_seconds() / 60


class SlaClocks(BaseModel):
    """Hours to acknowledge and to decide per tier, after the register's overrides, and
    the reminder cadence in minutes (snapshotted with each escalation's policy)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ack_hours: dict[int, float]
    decide_hours: dict[int, float]
    # Defaults so that snapshots taken before reminders existed still load.
    remind_minutes: float = _REMIND_MINUTES
    next_level_minutes: float = _NEXT_LEVEL_MINUTES

    @property
    def remind_after(self) -> timedelta:
        """How long an unacknowledged step waits before it is re-notified."""
        return timedelta(minutes=self.remind_minutes)

    @property
    def next_level_after(self) -> timedelta:
        """How long an unacknowledged step waits before it goes to the next level."""
        return timedelta(minutes=self.next_level_minutes)


def sla_clocks(settings: SlaSettings | None = None) -> SlaClocks:
    """Shipped defaults with the register's per-tier overrides laid over them."""
    settings = settings or SlaSettings()
    return SlaClocks(
        ack_hours={tier: settings.ack_within(tier) for tier in (1, 2, 3, 4)},
        decide_hours={tier: settings.decide_within(tier) for tier in (1, 2, 3, 4)},
        remind_minutes=parse_duration(settings.remind_after).total_seconds() / 60,
        next_level_minutes=parse_duration(settings.next_level_after).total_seconds() / 60,
    )


@dataclass(frozen=True)
class Deadlines:
    """When each clock of a step runs out."""

    ack_due: datetime
    decide_due: datetime
    escalate_at: datetime
    expire_at: datetime


def deadlines(requested_at: datetime, tier: int, clocks: SlaClocks) -> Deadlines:
    """The deadlines of a step requested at ``requested_at`` with severity ``tier``."""
    tier = min(max(tier, 1), 4)
    ack = timedelta(hours=clocks.ack_hours[tier])
    decide = timedelta(hours=clocks.decide_hours[tier])
    interval = max(decide, timedelta(hours=1))
    decide_due = requested_at + decide
    return Deadlines(
        ack_due=requested_at + ack,
        decide_due=decide_due,
        escalate_at=decide_due + interval,
        expire_at=decide_due + 2 * interval,
    )


@dataclass(frozen=True)
class TierWindow:
    """One tier's response windows, for documents and diagrams."""

    tier: int
    name: str
    ack_hours: float
    decide_hours: float

    def describe(self) -> str:
        """``tier 2 delivery risk: acknowledge within 24 h, decide within 2 d``."""
        ack = describe_hours(self.ack_hours)
        decide = describe_hours(self.decide_hours)
        return (
            f"tier {self.tier} {self.name}: acknowledge "
            f"{ack if ack == 'immediately' else 'within ' + ack}, decide within {decide}"
        )


def tier_windows(clocks: SlaClocks) -> list[TierWindow]:
    """The four tiers' acknowledgement and decision windows, tier 1 first."""
    return [
        TierWindow(tier, TIER_NAMES[tier], clocks.ack_hours[tier], clocks.decide_hours[tier])
        for tier in (1, 2, 3, 4)
    ]
