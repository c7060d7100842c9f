"""The SLA clock of an operational mitigation (``blind``, ``availability``). Pure.

A mitigation escalation has no ladder step for anyone to approve: what it asks of people
is to act (restore the logs or the labels, roll back, page on-call) and to say they are
on it. It still has a clock, like any other escalation, started when it opens:

* **acknowledge** by ``ack_due`` (the tier's acknowledgement time; tier 4, where every
  blind escalation sits, is "at once"): an unacknowledged mitigation is reminded once;
* still unacknowledged at ``decide_due`` (the tier's decision time), it is escalated to
  the next level (the holders of the roles the model's rungs escalate to, else the
  owner).

Acknowledging stops both. A mitigation never expires: it closes when the model
recovers (no trigger over the persistence window), because a model that cannot be
seen must not drop off anyone's list on a timer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from ladder.policy import Policy
from ladder.sla import TIER_NAMES, SlaClocks, deadlines
from ladder.state import Escalation

__all__ = ["MitigationDue", "mitigation_clock_due", "next_level", "responders"]


@dataclass(frozen=True)
class MitigationDue:
    """The SLA action due on an open mitigation now, why, and the next deadline."""

    action: Literal["ack_reminder", "escalate"]
    reason: str
    due_at: datetime | None


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def responders(policy: Policy, mode: str | None) -> tuple[str, ...]:
    """Who a mitigation for ``mode`` goes to: the model owner and the holders of the
    role that owns the mode's resolution in the response matrix."""
    entry = policy.matrix.get(mode or "")
    owners = policy.holders([entry.owner]) if entry is not None else ()
    return tuple(sorted({policy.owner, *owners}))


def next_level(policy: Policy) -> tuple[str, ...]:
    """Who an unacknowledged mitigation is escalated to: the holders of every role the
    model's rungs escalate to, else the owner, so it always reaches someone."""
    roles = {role for rung in policy.rungs for role in rung.approval.escalate_to}
    return policy.holders(roles) or (policy.owner,)


def mitigation_clock_due(esc: Escalation, clocks: SlaClocks, now: datetime) -> MitigationDue | None:
    """The one SLA action due for an open mitigation at ``now``, or ``None``.

    Order: escalate (only after the reminder), then the acknowledgement reminder.
    """
    if esc.kind != "mitigation" or esc.status != "open" or esc.acked_at is not None:
        return None
    d = deadlines(esc.opened_at, esc.tier, clocks)
    tier = min(max(esc.tier, 1), 4)
    if esc.ack_reminded_at is not None and esc.escalated_at is None and now >= d.decide_due:
        return MitigationDue(
            "escalate",
            f"nobody acknowledged the mitigation of esc-{esc.id} by {_when(d.decide_due)} "
            f"(tier {tier} {TIER_NAMES[tier]}), even after a reminder: escalated to the next "
            "level",
            None,
        )
    if esc.ack_reminded_at is None and now >= d.ack_due:
        return MitigationDue(
            "ack_reminder",
            f"the mitigation of esc-{esc.id} was not acknowledged by {_when(d.ack_due)} "
            f"(tier {tier} {TIER_NAMES[tier]}): reminded; escalated to the next level if "
            f"still unacknowledged at {_when(d.decide_due)}",
            d.decide_due,
        )
    return None
