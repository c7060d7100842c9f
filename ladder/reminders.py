"""Reminders that arrive when they are due: one pure decision per waiting step.

Modelled on Alertmanager's ``needsUpdate``: :func:`needs_reminder` takes what the clocks
of one step depend on (:class:`ReminderEntry`) and the time, and returns a
:class:`Reason` — what is due now and why, in words stored in the audit log, and when
the next reminder falls due. The shell (``ladder tick``, the desk's minute loop, the
nightly run) carries it out and sends it.

A step waiting for people goes through, at most one action per run and in this order
so nobody hears of an escalation before the approvers were reminded:

=====================  ==============================================================
``ack_reminder``       nobody acknowledged it ``remind_after`` (30 min) after it was
                       requested: the approvers are re-notified
``next_level``         still nobody after ``next_level_after`` (2 h): it goes to the
                       next level (managers, ``escalate_to`` roles, or the on-call role)
``decision_reminder``  the decision window ran out (tier 2: 48 h) unacknowledged:
                       re-notified once
``escalate``           acknowledged but still undecided one interval after the
                       decision was due: escalated to the next approvers
``expire``             the cap (``requested + 3 × decide``) passed after escalation:
                       the step and its escalation expire
=====================  ==============================================================

For tier ≤ 2 the 30-minute and 2-hour clocks count the approvers' working time: a step
that came in at 02:00 is reminded 30 minutes into their working day, and one that came in
a quarter of an hour before closing, a quarter of an hour into the next day (the on-call
role hears of a request outside working hours at once, from routing). The decision
window and the cap are wall-clock. Tier ≥ 3 clocks run around the clock, and a tier-4
step has every level from the start.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from ladder.routing import WorkingHours
from ladder.sla import Deadlines, SlaClocks, deadlines, describe_hours
from ladder.state import Step

__all__ = ["Reason", "ReminderEntry", "ReminderKind", "needs_reminder"]

ReminderKind = Literal[
    "not_due", "ack_reminder", "next_level", "decision_reminder", "escalate", "expire"
]


@dataclass(frozen=True)
class ReminderEntry:
    """What the reminders of one waiting step depend on.

    ``next_level_at`` is when the next level was brought in (``escalated_at``: by the
    2-hour clock, the decision clock, or at once for tier 4); ``working`` are the working
    hours the approvers' reminders count in (``None``: around the clock).
    """

    requested_at: datetime
    tier: int
    clocks: SlaClocks
    acked_at: datetime | None = None
    ack_reminded_at: datetime | None = None
    next_level_at: datetime | None = None
    decision_reminded_at: datetime | None = None
    working: WorkingHours | None = None

    @classmethod
    def of(
        cls, step: Step, clocks: SlaClocks, *, working: WorkingHours | None = None
    ) -> ReminderEntry:
        """The entry of a stored step."""
        return cls(
            requested_at=step.requested_at,
            tier=step.tier,
            clocks=clocks,
            acked_at=step.acked_at,
            ack_reminded_at=step.ack_reminded_at,
            next_level_at=step.escalated_at,
            decision_reminded_at=step.decision_reminded_at,
            working=working,
        )

    @property
    def deadlines(self) -> Deadlines:
        """The step's acknowledgement and decision deadlines, escalation and cap."""
        return deadlines(self.requested_at, self.tier, self.clocks)

    @property
    def counts_working_time(self) -> bool:
        """Whether the reminder cadence counts working time (tier ≤ 2 with working hours)."""
        return self.tier <= 2 and self.working is not None

    def after(self, delta: timedelta) -> datetime:
        """When ``delta`` of the cadence has passed since the request."""
        if self.counts_working_time:
            assert self.working is not None
            due = self.working.after_working(self.requested_at, delta)
            if due is not None:
                return due
        return self.requested_at + delta


@dataclass(frozen=True)
class Reason:
    """What is due for a step, and why.

    ``kind`` is ``not_due`` when nothing is; ``due_at`` is when the next action falls
    due (after the one returned), ``None`` when none is left; ``text`` goes to the audit
    log and the message.
    """

    kind: ReminderKind
    due_at: datetime | None
    text: str

    @property
    def due(self) -> bool:
        """Whether something must be done now."""
        return self.kind != "not_due"


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _span(delta: timedelta) -> str:
    return describe_hours(delta.total_seconds() / 3600)


def _schedule(entry: ReminderEntry) -> list[tuple[ReminderKind, datetime, bool]]:
    """Every action with the time it falls due and whether its conditions hold now,
    in the order they take precedence."""
    d = entry.deadlines
    acked = entry.acked_at is not None
    escalated = entry.next_level_at is not None
    reminded = entry.ack_reminded_at is not None
    decision_reminded = entry.decision_reminded_at is not None
    return [
        ("expire", d.expire_at, escalated),
        ("escalate", d.escalate_at, not escalated and (acked or decision_reminded)),
        (
            "next_level",
            entry.after(entry.clocks.next_level_after),
            not acked and not escalated and reminded,
        ),
        ("decision_reminder", d.decide_due, not acked and not decision_reminded),
        (
            "ack_reminder",
            entry.after(entry.clocks.remind_after),
            not acked and not reminded and not decision_reminded,
        ),
    ]


def _next_due(entry: ReminderEntry, after: ReminderKind, now: datetime) -> datetime | None:
    """When the next action falls due once ``after`` is done (the earliest one whose
    conditions then hold; later ones wait for it)."""
    if after == "expire":
        return None
    moved = entry
    if after == "ack_reminder":
        moved = replace(entry, ack_reminded_at=now)
    elif after in ("next_level", "escalate"):
        moved = replace(entry, next_level_at=now)
    elif after == "decision_reminder":
        moved = replace(entry, decision_reminded_at=now)
    ahead = [at for _kind, at, holds in _schedule(moved) if holds]
    return min(ahead) if ahead else None


def needs_reminder(entry: ReminderEntry, now: datetime) -> Reason:
    """The one reminder action due for a waiting step at ``now``, and why.

    Parameters
    ----------
    entry
        The step's clocks and what was already done (see :class:`ReminderEntry`).
    now
        The clock (aware UTC).

    Returns
    -------
    Reason
        ``kind`` ``not_due`` when nothing is due (``due_at`` says when something will be);
        otherwise the action, with its reason and when the next one falls due.
    """
    d = entry.deadlines
    clocks = entry.clocks
    tier = entry.tier
    for kind, at, holds in _schedule(entry):
        if not holds or now < at:
            continue
        upcoming = _next_due(entry, kind, now)
        then = f"; next due {_when(upcoming)}" if upcoming is not None else ""
        since = f"requested {_when(entry.requested_at)}"
        if entry.counts_working_time and entry.working is not None:
            since += f" (counted in the approvers' working hours, {entry.working.zone})"
        if kind == "expire":
            text = (
                f"no decision by the cap {_when(d.expire_at)} (tier {tier}: decide within "
                f"{describe_hours(clocks.decide_hours[tier])}, reminded and escalated): "
                "expired"
            )
        elif kind == "escalate":
            text = (
                f"decision overdue since {_when(d.decide_due)} and still open after "
                f"{'an acknowledgement' if entry.acked_at else 'a reminder'}: escalated "
                f"to the next approvers{then}"
            )
        elif kind == "next_level":
            text = (
                f"not acknowledged {_span(clocks.next_level_after)} after it was "
                f"{since}: goes to the next level{then}"
            )
        elif kind == "decision_reminder":
            text = (
                f"decision was due {_when(d.decide_due)} (tier {tier}: decide within "
                f"{describe_hours(clocks.decide_hours[tier])}): re-notified once{then}"
            )
        else:
            text = (
                f"not acknowledged {_span(clocks.remind_after)} after it was {since}: "
                f"re-notified (tier {tier}: acknowledge by {_when(d.ack_due)}){then}"
            )
        return Reason(kind, upcoming, text)
    upcoming = _next_due(entry, "not_due", now)
    return Reason(
        "not_due",
        upcoming,
        "nothing due" + (f" until {_when(upcoming)}" if upcoming is not None else ""),
    )
