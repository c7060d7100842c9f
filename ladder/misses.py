"""Every process clock of every escalation, and which ran out. Pure: the clock is passed in.

Four clocks, each with a due time and the moment it was met:

acknowledgement
    A step waiting for people (one that needs approval) is acknowledged by its tier's
    ``ack_hours`` after it was requested. Met by ``ladder ack`` or by the first approval or
    rejection, whichever came first (deciding is acknowledging).
decision
    The same step is approved or rejected by ``decide_hours`` after it was requested.
communication
    An escalation of tier ≥ ``brief_min_tier`` sends its first stakeholder brief by
    ``communicate_hours`` after it opened.
post_incident_review
    An escalation of tier ≥ ``review_min_tier`` has its review closed by
    ``review_within_days`` after it closed.

A clock is **missed** when it was met after its due time, or is still unmet after it (at
``now``); it is **stopped** when the thing it timed ended before it was due (a step
withdrawn, an escalation that closed before its brief was due). A window of zero hours
(tier 4 acknowledges "immediately") is judged with :data:`MIN_WINDOW` of grace: the
reminders' own first interval. Times are those of the escalation's policy snapshot, so
editing the register does not rewrite last week's misses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from ladder.incident import IncidentFacts, communicate_within, needs_brief, review_due_at
from ladder.sla import deadlines
from ladder.state import Step

__all__ = [
    "CLOCKS",
    "MIN_WINDOW",
    "Clock",
    "ClockOutcome",
    "acknowledged_at",
    "clock_outcomes",
    "decided_at",
    "sla_misses",
]

Clock = Literal["acknowledgement", "decision", "communication", "post_incident_review"]
#: The clocks, in the order they run.
CLOCKS: Final[tuple[Clock, ...]] = (
    "acknowledgement",
    "decision",
    "communication",
    "post_incident_review",
)
#: The least time any clock allows.
MIN_WINDOW: Final = timedelta(minutes=30)

Status = Literal["met", "missed", "running", "stopped"]


@dataclass(frozen=True)
class ClockOutcome:
    """One clock of one escalation (or step): when it was due, when it was met, and how
    it stands at ``now``.

    ``late_by`` is how far past due it was met, or has run unmet (``None`` unless missed).
    """

    clock: Clock
    status: Status
    escalation_id: int
    step_id: int | None
    model_id: str
    owner: str
    tier: int
    started_at: datetime
    due_at: datetime
    done_at: datetime | None
    late_by: timedelta | None = None

    @property
    def window(self) -> timedelta:
        """The time the clock allowed."""
        return self.due_at - self.started_at

    @property
    def taken(self) -> timedelta | None:
        """How long it took to meet the clock (``None``: not met)."""
        return None if self.done_at is None else self.done_at - self.started_at

    @property
    def missed(self) -> bool:
        """The clock ran out."""
        return self.status == "missed"

    @property
    def subject(self) -> str:
        """``step-3`` or ``esc-2``."""
        return f"step-{self.step_id}" if self.step_id is not None else f"esc-{self.escalation_id}"


def _judge(
    facts: IncidentFacts,
    clock: Clock,
    *,
    step: Step | None,
    tier: int,
    started: datetime,
    window: timedelta,
    done_at: datetime | None,
    ended_at: datetime | None,
    now: datetime,
) -> ClockOutcome:
    esc = facts.escalation
    due = started + max(window, MIN_WINDOW)
    late: timedelta | None = None
    if done_at is not None:
        status: Status = "met" if done_at <= due else "missed"
        late = done_at - due if status == "missed" else None
    elif ended_at is not None and ended_at <= due:
        status = "stopped"
    elif now > due:
        status = "missed"
        late = min(now, ended_at or now) - due
    else:
        status = "running"
    return ClockOutcome(
        clock=clock,
        status=status,
        escalation_id=esc.id,
        step_id=step.id if step is not None else None,
        model_id=esc.model_id,
        owner=facts.owner,
        tier=tier,
        started_at=started,
        due_at=due,
        done_at=done_at,
        late_by=late,
    )


def _first(*moments: datetime | None) -> datetime | None:
    present = [m for m in moments if m is not None]
    return min(present) if present else None


def decided_at(step: Step) -> datetime | None:
    """When the step was approved (all approvals in) or rejected."""
    return step.approved_at or (step.closed_at if step.status == "rejected" else None)


def acknowledged_at(step: Step) -> datetime | None:
    """The first sign a person saw the step: acknowledged, or a first approval or
    rejection (deciding is acknowledging)."""
    first_decision = min((a.at for a in step.approvals), default=None)
    return _first(step.acked_at, first_decision, decided_at(step))


def _step_clocks(facts: IncidentFacts, step: Step, now: datetime) -> list[ClockOutcome]:
    """Acknowledgement and decision of a step that waited for people."""
    clocks = facts.policy.sla
    tier = min(max(step.tier, 1), 4)
    d = deadlines(step.requested_at, tier, clocks)
    decided = decided_at(step)
    # A step that left the queue without a human (withdrawn, expired, superseded) stops
    # its clocks there; an expiry comes after the decision was due, so it is a miss.
    ended = step.closed_at if decided is None else None
    ack_done = acknowledged_at(step)
    clocks_of_step: tuple[tuple[Clock, datetime, datetime | None], ...] = (
        ("acknowledgement", d.ack_due, ack_done),
        ("decision", d.decide_due, decided),
    )
    return [
        _judge(
            facts,
            clock,
            step=step,
            tier=tier,
            started=step.requested_at,
            window=due - step.requested_at,
            done_at=done,
            ended_at=ended,
            now=now,
        )
        for clock, due, done in clocks_of_step
    ]


def clock_outcomes(facts: IncidentFacts, now: datetime) -> list[ClockOutcome]:
    """Every clock of one escalation and its steps, as they stand at ``now``."""
    esc = facts.escalation
    settings = facts.settings
    out: list[ClockOutcome] = []
    for step in esc.steps:
        if step.approvals_required > 0 and step.status != "blocked_by_budget":
            out += _step_clocks(facts, step, now)
    if needs_brief(esc, settings):
        out.append(
            _judge(
                facts,
                "communication",
                step=None,
                tier=esc.tier,
                started=esc.opened_at,
                window=communicate_within(settings, esc.tier),
                done_at=facts.first_brief_at,
                ended_at=esc.closed_at,
                now=now,
            )
        )
    due = review_due_at(esc, settings)
    if due is not None and esc.closed_at is not None:
        out.append(
            _judge(
                facts,
                "post_incident_review",
                step=None,
                tier=esc.tier,
                started=esc.closed_at,
                window=due - esc.closed_at,
                done_at=facts.review_closed_at,
                ended_at=None,
                now=now,
            )
        )
    return out


def sla_misses(
    facts: Iterable[IncidentFacts],
    now: datetime,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[ClockOutcome]:
    """The clocks that ran out, due in ``[start, end)`` (all when not given), by due time."""
    found: Sequence[ClockOutcome] = [
        outcome
        for f in facts
        for outcome in clock_outcomes(f, now)
        if outcome.missed
        and (start is None or outcome.due_at >= start)
        and (end is None or outcome.due_at < end)
    ]
    return sorted(found, key=lambda o: (o.due_at, o.escalation_id, CLOCKS.index(o.clock)))
