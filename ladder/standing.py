"""Where a model stands on the ladder, as the report and ``modelhealth ladder status``
show it: the rung in force (:func:`ladder_position`) and the item in play — a step or an
open escalation — as a :class:`~monitor.report.Recommendation` with its status, due time
and the commands the people who may act on it would run (:func:`recommendation_for`).

Read-only: both functions read the state store as it stands.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError

from ladder.absences import directory_for
from ladder.diagram import ModelMark
from ladder.guardrails import eligible_approvers
from ladder.mitigation import responders
from ladder.pins import current_pin
from ladder.policy import Policy
from ladder.review import rung_for
from ladder.routing import Route, route
from ladder.sla import deadlines
from ladder.state import Escalation, Step
from ladder.store import (
    LadderStore,
    escalation_policy,
    escalation_summary,
    load_state,
    step_packet,
)
from monitor.report import Recommendation
from thresholds.schema import Register

__all__ = ["CommandContext", "ladder_position", "model_mark", "recommendation_for"]


@dataclass(frozen=True)
class CommandContext:
    """The register and state store the printed ``modelhealth ladder …`` commands must
    name, so that they work when pasted in another folder or shell.

    A relative SQLite path is made absolute; a state URL that holds a password is left
    out (the commands then read ``$MODELHEALTH_STATE``, as every ladder command does),
    because the commands land in report.json, report.html and chat messages.
    """

    register: str | None = None
    state: str | None = None

    @classmethod
    def of(cls, register: str | Path | None, state: str | None) -> CommandContext:
        path = None
        if register is not None and Path(register).is_file():
            path = str(Path(register).resolve())
        return cls(path, _pasteable_state(state))

    def suffix(self) -> str:
        parts: list[str] = []
        if self.register:
            parts += ["--register", shlex.quote(self.register)]
        if self.state:
            parts += ["--state", shlex.quote(self.state)]
        return "".join(f" {part}" for part in parts)

    def apply(self, recommendation: Recommendation | None) -> Recommendation | None:
        """``recommendation`` with this context's options on each of its commands."""
        suffix = self.suffix()
        if recommendation is None or not suffix or not recommendation.commands:
            return recommendation
        return recommendation.model_copy(
            update={"commands": [f"{command}{suffix}" for command in recommendation.commands]}
        )


def _pasteable_state(url: str | None) -> str | None:
    if url is None:
        return None
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.password:
        return None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        database = Path(parsed.database)
        if not database.is_absolute():
            return f"sqlite:///{database.resolve()}"
    return url


def _commands(step: Step, approvers: tuple[str, ...], register: Register) -> list[str]:
    ref = f"step-{step.id}"

    def who(person: str) -> str:
        return f" --as {person}" if register.identity.allow_as else ""

    # Without a named approver the command runs as the real account pasting it: a
    # placeholder such as <person> would be a shell redirection, not a name.
    people = approvers or ("",)
    if step.status == "pending":
        out = [f"modelhealth ladder approve {ref}{who(p) if p else ''}" for p in people]
        first = who(people[0]) if people[0] else ""
        out.append(f'modelhealth ladder reject {ref}{first} --reason "..."')
        out.append(f"modelhealth ladder ack {ref}{first}")
        return out
    if step.status == "approved":
        return [f"modelhealth ladder apply {ref}"]
    if step.status == "blocked_by_budget":
        return [f"modelhealth ladder event add budget_change --model {step.model_id}"]
    return [f"modelhealth ladder history {step.model_id}"]


def _status_label(step: Step) -> str:
    if step.direction == "review":
        return f"review_{step.status}"
    if step.direction == "down":
        return f"step_down_{step.status}"
    return step.status


def recommendation_for(
    conn: Connection,
    register: Register,
    model_id: str,
    *,
    reason: str = "",
    now: datetime | None = None,
) -> Recommendation | None:
    """The recommendation for ``model_id`` as the store stands: its open escalation's
    step in play, or the escalation itself when no step is (mitigation, rejected,
    exhausted); ``None`` when nothing is open. With ``now``, a waiting step says how it
    is routed at that moment (delegates, after hours, on call) and whether anybody
    configured can be reached at all (``unroutable``)."""
    state = load_state(conn, model_id, with_nights=False)
    esc = state.open_escalation
    if esc is None:
        return None
    pin = current_pin(conn)
    people = pin.people if pin is not None else register.people
    policy = escalation_policy(conn, esc.id).with_people(people)
    step = esc.active_step
    if step is None:
        return _escalation_recommendation(conn, esc, policy, reason, register)
    rung = rung_for(policy, step.rung)
    approvers = eligible_approvers(step, rung, policy) if step.status == "pending" else ()
    routed: Route | None = None
    if now is not None and step.status in ("pending", "blocked_by_budget"):
        directory = directory_for(
            conn,
            register.model_copy(update={"people": {p: list(r) for p, r in people.items()}}),
            now,
        )
        routed = route(
            approvers or (policy.owner,),
            directory=directory,
            now=now,
            tier=esc.tier,
            needs=rung.approval.roles if step.status == "pending" else (),
            owner=policy.owner,
        )
    packet = step_packet(conn, step.id)
    due: datetime | None = None
    if step.status in ("pending", "blocked_by_budget"):
        due = deadlines(step.requested_at, step.tier, policy.sla).decide_due
    elif step.status == "evaluating":
        due = step.evaluation_ends_at
    return Recommendation(
        id=f"step-{step.id}",
        rung=step.rung,
        status=_status_label(step),
        tier=esc.tier,
        summary=str(packet.get("summary", "")),
        estimated_cost=step.cost if step.direction == "up" else None,
        currency=step.currency,
        approvals_required=step.approvals_required,
        approvers=list(approvers),
        due_at=due,
        reason=reason or step.reason,
        commands=_commands(step, approvers, register),
        routing=routed.describe() if routed is not None else "",
        unroutable=routed.unroutable if routed is not None else False,
    )


def _escalation_recommendation(
    conn: Connection, esc: Escalation, policy: Policy, reason: str, register: Register
) -> Recommendation:
    summary = escalation_summary(conn, esc.id) or esc.reason
    status = "mitigation" if esc.kind == "mitigation" else "open"
    last = esc.steps[-1] if esc.steps else None
    if last is not None and last.status == "rejected":
        status = "rejected"
    commands = [f"modelhealth ladder history {esc.model_id}"]
    approvers: list[str] = []
    if esc.kind == "mitigation" and esc.acked_at is None:
        # Its own clock: whoever it went to acknowledges it, and reminders stop.
        approvers = list(responders(policy, esc.dominant_mode))
        who = f" --as {approvers[0]}" if approvers and register.identity.allow_as else ""
        commands.insert(0, f"modelhealth ladder ack esc-{esc.id}{who}")
    return Recommendation(
        id=f"esc-{esc.id}",
        rung=None,
        status=status,
        tier=esc.tier,
        summary=summary,
        currency=policy.budget.currency,
        approvers=approvers,
        due_at=esc.ack_due_at if esc.acked_at is None else None,
        reason=reason or esc.reason,
        commands=commands,
    )


def ladder_position(store: LadderStore, model_id: str) -> str | None:
    """The rung in force for ``model_id`` (the highest rung applied that recovered the
    model and has not been stepped down or retired), or ``None``."""
    return store.read(lambda conn: load_state(conn, model_id, with_nights=False).position)


def model_mark(conn: Connection, model_id: str) -> ModelMark:
    """Where ``model_id`` stands, as the ladder diagram marks it: the rung in force and
    the step in play."""
    st = load_state(conn, model_id, with_nights=False)
    step = st.open_escalation.active_step if st.open_escalation else None
    return ModelMark(
        model_id=model_id,
        in_force=st.position,
        step_ref=f"step-{step.id}" if step else None,
        step_rung=step.rung if step else None,
        step_status=step.status if step else None,
    )
