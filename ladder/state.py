"""The ladder state of one model, as the pure decision functions see it.

The store (:mod:`ladder.store`) loads these frozen records from the database; the
decision functions (:mod:`ladder.rules`, :mod:`ladder.decide`, :mod:`ladder.sla`, …)
read them and never touch the database or the clock. Keeping the state as plain
immutable values is what lets the timeline tests replay nights on a fake clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Final, Literal

from monitor.report import ModelReport
from thresholds.vocabulary import RUNGS

__all__ = [
    "ACTIVE_STEP_STATUSES",
    "COMMITTED_STEP_STATUSES",
    "SUPPORT_LEVEL",
    "TRIGGER_LEVELS",
    "Approval",
    "Direction",
    "Escalation",
    "EscalationKind",
    "EscalationStatus",
    "Event",
    "LadderState",
    "Night",
    "Step",
    "StepStatus",
    "Trigger",
    "as_utc",
    "night_from_report",
    "rung_index",
]

StepStatus = Literal[
    "pending",
    "approved",
    "applied",
    "evaluating",
    "succeeded",
    "failed",
    "rejected",
    "blocked_by_budget",
    "expired",
    "stepped_down",
    "retired",
    "withdrawn",
]
EscalationKind = Literal["remediation", "mitigation", "review", "step_down"]
EscalationStatus = Literal["open", "resolved", "expired", "closed"]
#: ``up`` climbs to a rung, ``down`` retires the rung in force to save cost, ``review``
#: asks the owners to confirm (approve) or retire (reject) the rung in force.
Direction = Literal["up", "down", "review"]

#: A model has at most one step in one of these statuses: it is what "no loops" rests on.
ACTIVE_STEP_STATUSES: Final[frozenset[str]] = frozenset(
    {"pending", "approved", "evaluating", "blocked_by_budget"}
)
#: Once approved, a step's cost is committed against the budget period it was approved in.
COMMITTED_STEP_STATUSES: Final[frozenset[str]] = frozenset(
    {"approved", "applied", "evaluating", "succeeded", "failed", "stepped_down", "retired"}
)
#: Breach levels that are triggers. A ``warning`` (point estimate over the limit, interval
#: straddling it) is watched but never escalates on its own.
TRIGGER_LEVELS: Final[frozenset[str]] = frozenset({"breach", "blind"})
#: The level a stored night gives a check that *supports* persistence (see
#: :attr:`Night.support`); never a trigger.
SUPPORT_LEVEL: Final[str] = "support"


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; naive values are taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


def rung_index(rung: str) -> int:
    """Position of ``rung`` on the ladder, 0 = cheapest (``prompt_optimization``)."""
    return RUNGS.index(rung)


@dataclass(frozen=True)
class Trigger:
    """One breach seen on a night: a check name (``quality``, ``latency_ms.p95``, ``blind``…)."""

    name: str
    level: str
    tier: int
    observed: float | None = None
    limit: float | None = None

    @property
    def fires(self) -> bool:
        """Whether this breach is a trigger (``breach`` or ``blind``), not just a warning."""
        return self.level in TRIGGER_LEVELS


@dataclass(frozen=True)
class Night:
    """What the monitor saw for one model on one night."""

    model_id: str
    night: date
    status: str
    triggers: tuple[Trigger, ...] = ()
    dominant_mode: str | None = None
    failure_modes: tuple[tuple[str, float], ...] = ()
    window_start: datetime | None = None
    window_end: datetime | None = None
    #: Checks that did not breach tonight but were significant at the support level
    #: (``Check.supports_persistence``): tonight counts towards the persistence rule
    #: when one of them breaches on another night of the window.
    support: tuple[Trigger, ...] = ()

    @property
    def firing(self) -> tuple[Trigger, ...]:
        """The breaches that are triggers (warnings left out)."""
        return tuple(t for t in self.triggers if t.fires)

    @property
    def triggered(self) -> bool:
        """At least one trigger fired this night."""
        return any(t.fires for t in self.triggers)

    @property
    def max_tier(self) -> int:
        """The highest severity tier among tonight's triggers, 0 when none fired."""
        return max((t.tier for t in self.firing), default=0)


def night_from_report(report: ModelReport, night: date) -> Night:
    """The :class:`Night` a model report describes; a ``blind`` report with no
    breach listed still fires a ``blind`` trigger at tier 4, because a monitor that
    cannot see must never look healthy (missing context fails safe to the highest
    priority)."""
    triggers = tuple(
        Trigger(b.threshold, b.level, b.tier, b.observed, b.limit) for b in report.breaches
    )
    if report.status == "blind" and not any(t.level == "blind" for t in triggers):
        triggers += (Trigger("blind", "blind", 4),)
    support = tuple(
        Trigger(c.threshold, SUPPORT_LEVEL, 0, c.observed, c.limit)
        for c in report.checks
        if c.supports_persistence and c.status != "breach"
    )
    return Night(
        model_id=report.model_id,
        night=night,
        status=report.status,
        triggers=triggers,
        dominant_mode=report.dominant_failure_mode,
        failure_modes=tuple((f.mode, f.share) for f in report.failure_modes),
        window_start=as_utc(report.window.start),
        window_end=as_utc(report.window.end),
        support=support,
    )


@dataclass(frozen=True)
class Approval:
    """One person's decision on a step, with the roles they held when they made it."""

    person: str
    decision: Literal["approve", "reject"]
    at: datetime
    roles: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class Step:
    """One rung requested within an escalation, and everything its clocks need."""

    id: int
    escalation_id: int
    model_id: str
    rung: str
    direction: Direction
    status: StepStatus
    requested_by: str
    requested_at: datetime
    tier: int
    mode: str | None = None
    cost: float = 0.0
    currency: str = "USD"
    approvals_required: int = 0
    approvals: tuple[Approval, ...] = ()
    acked_at: datetime | None = None
    acked_by: str | None = None
    ack_reminded_at: datetime | None = None
    decision_reminded_at: datetime | None = None
    escalated_at: datetime | None = None
    approved_at: datetime | None = None
    applied_at: datetime | None = None
    evaluation_ends_at: datetime | None = None
    closed_at: datetime | None = None
    reason: str = ""
    version: int = 0

    @property
    def active(self) -> bool:
        """In play (pending, approved-not-applied, evaluating, blocked): never re-recommended."""
        return self.status in ACTIVE_STEP_STATUSES

    @property
    def approvers(self) -> tuple[str, ...]:
        """People who approved, in the order they did."""
        return tuple(a.person for a in self.approvals if a.decision == "approve")


@dataclass(frozen=True)
class Escalation:
    """An accountable episode: opened by a rule (or a review), closed by an end state."""

    id: int
    model_id: str
    kind: EscalationKind
    status: EscalationStatus
    tier: int
    opened_at: datetime
    opened_night: date | None = None
    dominant_mode: str | None = None
    rule: str = ""
    reason: str = ""
    first_trigger_at: datetime | None = None
    closed_at: datetime | None = None
    outcome: str = ""
    steps: tuple[Step, ...] = ()
    #: The SLA clock of a mitigation (:mod:`ladder.mitigation`); steps carry their own.
    ack_due_at: datetime | None = None
    acked_at: datetime | None = None
    acked_by: str | None = None
    ack_reminded_at: datetime | None = None
    escalated_at: datetime | None = None

    @property
    def active_step(self) -> Step | None:
        """The one step still in play, if any (there is never more than one)."""
        for step in reversed(self.steps):
            if step.active:
                return step
        return None


@dataclass(frozen=True)
class Event:
    """An external event recorded by a person (``modelhealth ladder event add``)."""

    id: int
    model_id: str
    kind: str
    occurred_at: datetime
    note: str = ""
    recorded_by: str = ""


@dataclass(frozen=True)
class LadderState:
    """Everything stored about one model that a decision may depend on.

    ``nights`` are the recorded nights *before* tonight, oldest first; ``steps`` are all
    steps ever requested for the model (closed escalations included), oldest first;
    ``events`` are the events no decision has acted on yet.
    """

    model_id: str
    nights: tuple[Night, ...] = ()
    open_escalation: Escalation | None = None
    steps: tuple[Step, ...] = ()
    events: tuple[Event, ...] = ()
    last_review_at: datetime | None = None

    def in_force(self) -> Step | None:
        """The highest rung that was applied, recovered the model and is still in place."""
        live = [s for s in self.steps if s.direction == "up" and s.status == "succeeded"]
        if not live:
            return None
        return max(live, key=lambda s: (rung_index(s.rung), s.id))

    @property
    def position(self) -> str | None:
        """The model's current rung: the one in force, else ``None`` (no ladder step)."""
        step = self.in_force()
        return step.rung if step is not None else None
