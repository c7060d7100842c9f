"""What the inbox and a step page show, built from the state store as view models.

Every rule here is the ladder's: who may approve, reject or acknowledge is
:func:`ladder.guardrails.check_approval` / :func:`~ladder.guardrails.check_acknowledge`
with the escalation's policy snapshot and the pinned people (exactly what the action
will check), deadlines are :func:`ladder.sla.deadlines`, money is
:func:`ladder.guardrails.committed_spend`. Templates and the API only lay these out.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy.engine import Connection

from ladder import audit
from ladder.guardrails import (
    ApprovalVerdict,
    check_acknowledge,
    check_approval,
    committed_spend,
    eligible_approvers,
    money,
)
from ladder.matrix import MatrixEntry
from ladder.policy import Policy
from ladder.recommender import HandoffPacket
from ladder.review import rung_for
from ladder.rungs import Rung
from ladder.sla import TIER_NAMES, Deadlines, deadlines
from ladder.state import Escalation, Step
from ladder.store import (
    escalation_by_id,
    escalation_policies,
    escalation_policy,
    list_escalations,
    load_state,
    night_trends,
    step_by_id,
    step_packet,
    step_summaries,
)
from modelhealth.outputs.html.charts import Chart, chart_label, trend_chart
from modelhealth.outputs.html.format import ms, num, pct
from modelhealth.serve.desk import Pinned
from thresholds.schema import ModelEntry

__all__ = [
    "DECISION_ACTIONS",
    "Inbox",
    "Money",
    "StepCard",
    "StepPage",
    "TrendPanel",
    "Verdicts",
    "WaitingCache",
    "WaitingStep",
    "inbox",
    "step_page",
    "trend_panels",
    "waiting_steps",
]

#: Audit actions that are people's decisions on steps (the inbox's "recently decided").
DECISION_ACTIONS = frozenset({"step.approve", "step.reject", "step.acknowledged", "step.applied"})
_KIND = {"up": "approval", "down": "step-down", "review": "review"}


@dataclass(frozen=True)
class Verdicts:
    """What the viewer may do on a step, each with the ladder's reason."""

    approve: ApprovalVerdict
    reject: ApprovalVerdict
    acknowledge: ApprovalVerdict

    @property
    def any(self) -> bool:
        """The viewer may do something."""
        return self.approve.allowed or self.reject.allowed or self.acknowledge.allowed


@dataclass(frozen=True)
class WaitingStep:
    """A waiting step with what every viewer sees alike (its policy, clocks, who may
    still approve)."""

    step: Step
    escalation: Escalation
    policy: Policy
    rung: Rung
    summary: str
    kind: str
    clocks: Deadlines
    waiting_on: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"step-{self.step.id}"

    @property
    def tier_name(self) -> str:
        return TIER_NAMES.get(self.step.tier, "")

    @property
    def approvals(self) -> int:
        return len(self.step.approvers)

    @property
    def needed(self) -> int:
        """Approvals still needed (0 once the step no longer waits for approvals)."""
        return max(max(self.step.approvals_required, 1) - self.approvals, 0)

    @property
    def acknowledged(self) -> bool:
        return self.step.acked_at is not None

    def for_person(self, person: str) -> StepCard:
        """This step as ``person`` sees it: with what they may do."""
        may = Verdicts(
            approve=check_approval(self.step, self.rung, self.policy, person, "approve"),
            reject=check_approval(self.step, self.rung, self.policy, person, "reject"),
            acknowledge=check_acknowledge(self.step, self.rung, self.policy, person),
        )
        return StepCard(**{f.name: getattr(self, f.name) for f in fields(WaitingStep)}, may=may)


@dataclass(frozen=True)
class StepCard(WaitingStep):
    """A waiting step as one viewer's inbox lists it."""

    may: Verdicts

    @property
    def next_deadline(self) -> tuple[str, datetime]:
        """The first clock the viewer should beat: acknowledge (if they may and nobody
        has), else decide."""
        if not self.acknowledged and self.may.acknowledge.allowed:
            return "acknowledge by", self.clocks.ack_due
        return "decide by", self.clocks.decide_due

    @property
    def mine(self) -> bool:
        """Something here waits for the viewer: a decision, or an acknowledgement nobody
        gave yet."""
        return self.may.approve.allowed or (self.may.acknowledge.allowed and not self.acknowledged)


@dataclass(frozen=True)
class Inbox:
    """What waits for one person, what waits for others, and what was just decided."""

    person: str
    now: datetime
    mine: list[StepCard]
    others: list[StepCard]
    recent: list[audit.AuditEntry]


def _people(pinned: Pinned) -> dict[str, tuple[str, ...]]:
    if pinned.pin is not None:
        return dict(pinned.pin.people)
    return {p: tuple(r) for p, r in pinned.register.people.items()}


def _waiting(
    esc: Escalation, step: Step, snapshot: Policy, summary: str, people: dict[str, tuple[str, ...]]
) -> WaitingStep:
    policy = snapshot.with_people(people)
    rung = rung_for(policy, step.rung)
    return WaitingStep(
        step=step,
        escalation=esc,
        policy=policy,
        rung=rung,
        summary=summary or step.reason,
        kind=_KIND.get(step.direction, step.direction),
        clocks=deadlines(step.requested_at, step.tier, policy.sla),
        waiting_on=eligible_approvers(step, rung, policy) if step.status == "pending" else (),
    )


def waiting_steps(conn: Connection, pinned: Pinned) -> list[WaitingStep]:
    """Every step waiting for people (pending or blocked by budget)."""
    found = [
        (esc, step)
        for esc in list_escalations(conn, status="open")
        if (step := esc.active_step) is not None and step.status in ("pending", "blocked_by_budget")
    ]
    policies = escalation_policies(conn, [esc.id for esc, _ in found])
    summaries = step_summaries(conn, [step.id for _, step in found])
    people = _people(pinned)
    return [
        _waiting(esc, step, policies[esc.id], summaries.get(step.id, ""), people)
        for esc, step in found
    ]


class WaitingCache:
    """The waiting steps as of the audit log's head and the pin in force.

    Every change to the state appends an audit row (:func:`ladder.audit.seal`), so while
    the head and the pin stay the same, so do the waiting steps: fifty people polling
    their inbox read them once per change, not once per request. What differs per person
    (:meth:`WaitingStep.for_person`) is computed per request.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple[object, ...] | None = None
        self._steps: list[WaitingStep] = []

    def get(self, conn: Connection, pinned: Pinned) -> list[WaitingStep]:
        """The waiting steps in ``conn``'s snapshot."""
        key = (audit.head(conn), pinned.pin.digest if pinned.pin else None)
        with self._lock:
            if key == self._key:
                return self._steps
        steps = waiting_steps(conn, pinned)
        with self._lock:
            self._key, self._steps = key, steps
        return steps


def inbox(
    conn: Connection,
    pinned: Pinned,
    person: str,
    now: datetime,
    *,
    recent: bool = True,
    cache: WaitingCache | None = None,
) -> Inbox:
    """Every waiting step split into the viewer's (the earliest deadline first) and
    everyone else's, and (``recent``) the newest decisions."""
    waiting = cache.get(conn, pinned) if cache is not None else waiting_steps(conn, pinned)
    cards = [w.for_person(person) for w in waiting]
    cards.sort(key=lambda c: (c.next_deadline[1], -c.step.tier, c.step.id))
    decided = (
        [
            e
            for e in audit.entries(conn, subject_prefix="step-", limit=200)
            if e.action in DECISION_ACTIONS
        ][-10:]
        if recent
        else []
    )
    return Inbox(
        person=person,
        now=now,
        mine=[c for c in cards if c.mine],
        others=[c for c in cards if not c.mine],
        recent=list(reversed(decided)),
    )


# ------------------------------------------------------------------- charts


@dataclass(frozen=True)
class TrendPanel:
    """One small chart of a metric over the stored nights."""

    title: str
    latest: str
    chart: Chart | None


def trend_panels(
    conn: Connection, model_id: str, entry: ModelEntry | None, *, until: date, days: int = 30
) -> list[TrendPanel]:
    """Quality, error rate, latency p95 and ECE over the nights the store recorded up to
    ``until``, with the register's limits (the report's trend charts, from the store)."""
    nights = night_trends(conn, model_id, until=until, days=days)
    limits: dict[str, float | None] = {}
    if entry is not None:
        t = entry.thresholds
        limits = {
            "quality": t.quality.min if t.quality else None,
            "error_rate": t.error_rate.max,
            "latency_p95": t.latency_ms.p95,
            "ece": t.calibration.ece_max,
        }
    specs = [
        ("Quality", "quality", "pct", 100.0),
        ("Error rate", "error_rate", "pct", 100.0),
        ("Latency p95", "latency_p95", "ms", 1.0),
        ("Calibration ECE", "ece", "ratio", 1.0),
    ]
    units = {"pct": "%", "ms": "ms", "ratio": "0–1"}
    panels = []
    for name, key, fmt, scale in specs:
        points = [(n.night, n.summary.get(key), n.status) for n in nights]
        latest = points[-1][1] if points else None
        shown = (
            "no data"
            if latest is None
            else pct(latest)
            if fmt == "pct"
            else ms(latest)
            if fmt == "ms"
            else num(latest)
        )
        label = chart_label(model_id, f"{name.lower()} over {len(points)} nights to {until}")
        chart = trend_chart(points, label=label, fmt=fmt, limit=limits.get(key), scale=scale)
        panels.append(TrendPanel(f"{name} ({units[fmt]})", shown, chart))
    return panels


# ---------------------------------------------------------------- step page


class Money(BaseModel):
    """The step's cost against its rung's ceiling and the model's budget (formatted)."""

    model_config = ConfigDict(frozen=True)

    cost: str
    ceiling: str | None
    budget: str
    committed: str
    remaining_after: str
    over: bool


@dataclass(frozen=True)
class StepPage:
    """The whole handoff packet of one step and what the viewer may do with it."""

    card: StepCard
    packet: HandoffPacket | None
    raw_packet: dict[str, Any]
    matrix_entry: MatrixEntry | None
    money: Money | None
    night: date | None
    panels: list[TrendPanel]
    history: list[audit.AuditEntry]


def _money(
    step: Step, rung: Rung, policy: Policy, siblings: Sequence[Step], now: datetime
) -> Money | None:
    if step.direction != "up":
        return None
    currency = policy.budget.currency
    committed = committed_spend((s for s in siblings if s.id != step.id), policy, now)
    left = policy.budget.amount - committed - step.cost
    return Money(
        cost=money(step.cost, currency),
        ceiling=money(rung.cost_ceiling, currency) if rung.cost_ceiling is not None else None,
        budget=f"{money(policy.budget.amount, currency)} per {policy.budget.period}",
        committed=money(committed, currency),
        remaining_after=money(left, currency),
        over=left < 0 or (rung.cost_ceiling is not None and step.cost > rung.cost_ceiling),
    )


def step_page(
    conn: Connection, pinned: Pinned, step_id: int, person: str, now: datetime
) -> StepPage:
    """Everything about ``step_id``.

    Raises
    ------
    ladder.errors.NotFound
        No such step.
    """
    step = step_by_id(conn, step_id)
    esc = escalation_by_id(conn, step.escalation_id)
    raw = step_packet(conn, step_id)
    card = _waiting(
        esc, step, escalation_policy(conn, esc.id), str(raw.get("summary") or ""), _people(pinned)
    ).for_person(person)
    try:
        packet: HandoffPacket | None = HandoffPacket.model_validate(raw)
    except ValidationError:
        packet = None  # written by another version: shown as stored, field by field
    mode = step.mode or esc.dominant_mode
    try:
        entry: ModelEntry | None = pinned.register.model(step.model_id)
    except KeyError:
        entry = None
    siblings = load_state(conn, step.model_id, with_nights=False).steps
    night = esc.opened_night or step.requested_at.date()
    history = [
        e
        for e in audit.entries(conn, subject_prefix=f"step-{step_id}")
        if e.subject == f"step-{step_id}"
    ]
    return StepPage(
        card=card,
        packet=packet,
        raw_packet=raw,
        matrix_entry=card.policy.matrix.get(mode) if mode else None,
        money=_money(step, card.rung, card.policy, siblings, now),
        night=night,
        panels=trend_panels(conn, step.model_id, entry, until=night),
        history=history,
    )
