"""Severity tiers and the SLA clocks of an open decision. Pure: the clock is passed in.

A step waiting for people has two clocks, both started when it is requested:

* **acknowledge** by ``ack_due`` — an unacknowledged step is reminded once;
* **decide** by ``decide_due`` — an overdue decision is re-notified once (unless it was
  acknowledged: acknowledging stops reminders, not the decision clock), escalated to
  the next approvers one interval later, and **expires** one interval after that.

The interval is the tier's decision time (at least an hour), so every clock has a cap
(``expire_at = requested + 3 × decide``) and an end state (``expired``). Each run takes
at most one action per step, in order, so nobody is escalated to without having been
reminded first even when the job runs less often than the clocks tick.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from ladder.state import Step
from thresholds.schema import SlaSettings

__all__ = [
    "DEFAULT_ACK_HOURS",
    "DEFAULT_DECIDE_HOURS",
    "TIER_NAMES",
    "ClockAction",
    "ClockDue",
    "Deadlines",
    "SlaClocks",
    "clock_due",
    "deadlines",
    "sla_clocks",
]

TIER_NAMES: Final[Mapping[int, str]] = {
    1: "operational",
    2: "delivery risk",
    3: "relationship threat",
    4: "critical",
}
#: Hours to acknowledge: a week, a day, two hours, immediately.
DEFAULT_ACK_HOURS: Final[Mapping[int, float]] = {1: 168.0, 2: 24.0, 3: 2.0, 4: 0.0}
#: Hours to decide (approve or reject): two weeks, three days, a day, four hours.
DEFAULT_DECIDE_HOURS: Final[Mapping[int, float]] = {1: 336.0, 2: 72.0, 3: 24.0, 4: 4.0}

ClockAction = Literal["ack_reminder", "decision_reminder", "escalate", "expire"]


class SlaClocks(BaseModel):
    """Hours to acknowledge and to decide, per tier, after the register's overrides."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ack_hours: dict[int, float]
    decide_hours: dict[int, float]


def sla_clocks(settings: SlaSettings | None = None) -> SlaClocks:
    """Shipped defaults with the register's per-tier overrides laid over them."""
    ack = dict(DEFAULT_ACK_HOURS)
    decide = dict(DEFAULT_DECIDE_HOURS)
    if settings is not None:
        ack.update({int(k): float(v) for k, v in settings.ack_hours.items()})
        decide.update({int(k): float(v) for k, v in settings.decide_hours.items()})
    return SlaClocks(ack_hours=ack, decide_hours=decide)


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
class ClockDue:
    """An SLA action that is due now, and why."""

    action: ClockAction
    reason: str
    due_at: datetime | None


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def clock_due(step: Step, clocks: SlaClocks, now: datetime) -> ClockDue | None:
    """The one SLA action due for a waiting step at ``now``, or ``None``.

    Order: expire (only after escalating), escalate (only after a reminder or an
    acknowledgement), decision reminder, acknowledgement reminder.
    """
    d = deadlines(step.requested_at, step.tier, clocks)
    acked = step.acked_at is not None
    if step.escalated_at is not None and now >= d.expire_at:
        return ClockDue(
            "expire",
            f"no decision by the cap {_when(d.expire_at)} (tier {step.tier}: decide within "
            f"{clocks.decide_hours[step.tier]:g} h, reminded and escalated): expired",
            None,
        )
    if (
        step.escalated_at is None
        and now >= d.escalate_at
        and (acked or step.decision_reminded_at is not None)
    ):
        return ClockDue(
            "escalate",
            f"decision overdue since {_when(d.decide_due)} and still open after a reminder: "
            "escalated to the next approvers",
            d.expire_at,
        )
    if not acked and step.decision_reminded_at is None and now >= d.decide_due:
        return ClockDue(
            "decision_reminder",
            f"decision was due {_when(d.decide_due)}: re-notified once before escalation "
            f"at {_when(d.escalate_at)}",
            d.escalate_at,
        )
    if (
        not acked
        and step.ack_reminded_at is None
        and step.decision_reminded_at is None
        and now >= d.ack_due
    ):
        return ClockDue(
            "ack_reminder",
            f"not acknowledged by {_when(d.ack_due)} (tier {step.tier} "
            f"{TIER_NAMES[min(max(step.tier, 1), 4)]}): reminded; decision due "
            f"{_when(d.decide_due)}",
            d.decide_due,
        )
    return None
