"""What people do on the ladder: approve, reject, acknowledge, apply, record events.

Each action first checks that the audit log proves the state (:mod:`ladder.proof`,
with the store's key and head file); on a store that fails, nothing is decided
(:class:`~ladder.errors.Tampered`). Then one write transaction checks the register
against the pinned people, roles and identity (:mod:`ladder.pins`), checks the
guardrails against the policy snapshot of the step's escalation with the pinned role
membership (and, for ``apply``, the money again: :func:`recheck_at_apply`), changes the
step by compare-and-set, and appends an audit row that names the person, the channel and
the source address (``origin``). A refused action changes nothing but is audited too,
in its own transaction: who tried what, and why it was refused.

The escalation desk calls these same functions with its authenticated person and an
:class:`~ladder.audit.Origin` of ``web`` or ``api`` and the client's address.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ladder import audit
from ladder.audit import Origin
from ladder.checkpoint import checkpoint_for
from ladder.errors import LadderError, NotFound, Refused, Tampered
from ladder.guardrails import check_acknowledge, check_approval, recheck_at_apply
from ladder.identity import cli_origin
from ladder.mitigation import next_level, responders
from ladder.pins import require_pinned
from ladder.policy import Policy, build_policy
from ladder.review import EVENT_KINDS, rung_for
from ladder.state import Step, as_utc
from ladder.store import (
    LadderStore,
    escalation_by_id,
    escalation_policy,
    insert_approval,
    insert_event,
    load_state,
    step_by_id,
    update_escalation,
    update_step,
)
from thresholds.schema import Register

__all__ = [
    "ActionResult",
    "acknowledge",
    "acknowledge_mitigation",
    "add_event",
    "apply_step",
    "approve",
    "audit_refusal",
    "ensure_proven",
    "parse_step_ref",
    "reject",
]

_STEP_REF = re.compile(r"^(?:step-)?(\d{1,12})$")
_ESCALATION_REF = re.compile(r"^esc-(\d{1,12})$")


def parse_step_ref(ref: str) -> int:
    """``step-12`` or ``12`` → 12.

    Raises
    ------
    NotFound
        When ``ref`` does not name a step.
    """
    match = _STEP_REF.match(ref.strip())
    if match is None:
        raise NotFound(f"{ref!r} is not a step id; use the id shown by `ladder status` (step-12)")
    return int(match.group(1))


@dataclass(frozen=True)
class ActionResult:
    """What an action did, in one sentence, and the step's status afterwards."""

    step_id: int
    status: str
    message: str


def audit_refusal(
    store: LadderStore,
    *,
    actor: str,
    action: str,
    subject: str,
    reason: str,
    now: datetime,
    origin: Origin | None = None,
) -> None:
    """Record a refused attempt (its own transaction: the refused change rolled back)."""
    store.write(
        lambda conn: audit.append(
            conn,
            at=as_utc(now),
            actor=actor,
            action=f"refused.{action}",
            subject=subject,
            reason=reason,
        ),
        origin=origin,
    )


def ensure_proven(store: LadderStore) -> None:
    """Refuse to act on a store whose audit log does not prove its state.

    Raises
    ------
    Tampered
        With what differs and how to investigate.
    """
    # Resumed from the last proof of this store in this process (O(new rows) for the
    # log); the first proof, and any that finds a problem, runs in full.
    verdict = checkpoint_for(store).prove()
    if not verdict.ok:
        raise Tampered(
            f"the audit log does not prove the state of {store.url}: {verdict.describe()}. "
            "Nothing was decided. Run `modelhealth ladder audit verify` for every difference, "
            "find who wrote the database outside modelhealth, and restore it from a backup "
            "that verifies"
        )


def _guarded(
    store: LadderStore,
    *,
    actor: str,
    action: str,
    subject: str,
    now: datetime,
    work: Callable[[Connection], ActionResult],
    origin: Origin | None,
) -> ActionResult:
    ensure_proven(store)
    via = origin or cli_origin()
    try:
        return store.write(work, origin=via, actor=actor)
    except IntegrityError as exc:
        # Only the one-decision-per-person key can fail here: the same person raced
        # themselves from two terminals. The first one counted.
        reason = f"{actor} already decided {subject}; a person counts once"
        audit_refusal(
            store, actor=actor, action=action, subject=subject, reason=reason, now=now, origin=via
        )
        raise Refused(reason) from exc
    except Refused as exc:
        audit_refusal(
            store, actor=actor, action=action, subject=subject, reason=str(exc), now=now, origin=via
        )
        raise


def _context(
    conn: Connection, step_id: int, register: Register, *, person: str, now: datetime
) -> tuple[Step, Policy]:
    pin = require_pinned(conn, register, actor=person, now=now)
    step = step_by_id(conn, step_id)
    policy = escalation_policy(conn, step.escalation_id).with_people(pin.people)
    return step, policy


def _decide(
    store: LadderStore,
    ref: str,
    *,
    person: str,
    register: Register,
    now: datetime,
    decision: Literal["approve", "reject"],
    reason: str,
    origin: Origin | None,
) -> ActionResult:
    now = as_utc(now)
    step_id = parse_step_ref(ref)
    subject = f"step-{step_id}"
    if decision == "reject" and not reason.strip():
        raise Refused("a rejection needs a reason (--reason)")

    def body(conn: Connection) -> ActionResult:
        step, policy = _context(conn, step_id, register, person=person, now=now)
        rung = rung_for(policy, step.rung)
        verdict = check_approval(step, rung, policy, person, decision)
        if not verdict.allowed:
            raise Refused(verdict.reason)
        insert_approval(
            conn,
            step_id=step.id,
            person=person,
            roles=list(verdict.roles),
            decision=decision,
            reason=reason,
            at=now,
        )
        audit.append(
            conn,
            at=now,
            actor=person,
            action=f"step.{decision}",
            subject=subject,
            reason=reason or verdict.reason,
            payload={
                "model": step.model_id,
                "rung": step.rung,
                "roles": list(verdict.roles),
                "verdict": verdict.reason,
            },
        )
        if not verdict.completes:
            # Bump the version even so: two partial approvals racing on a server
            # database must serialise, or neither would see the other and complete.
            update_step(conn, step)
            return ActionResult(step.id, step.status, verdict.reason)
        return _settle(
            conn,
            step,
            policy,
            person=person,
            decision=decision,
            now=now,
            note=reason or verdict.reason,
            verdict=verdict.reason,
        )

    return _guarded(
        store, actor=person, action=decision, subject=subject, now=now, work=body, origin=origin
    )


def _settle(
    conn: Connection,
    step: Step,
    policy: Policy,
    *,
    person: str,
    decision: Literal["approve", "reject"],
    now: datetime,
    note: str,
    verdict: str,
) -> ActionResult:
    """The decision that completes a step: what it means depends on the step's direction."""
    subject = f"step-{step.id}"
    esc_subject = f"esc-{step.escalation_id}"
    if decision == "approve" and step.direction in ("up", "down"):
        update_step(conn, step, status="approved", approved_at=now, reason=verdict)
        audit.append(
            conn,
            at=now,
            actor=person,
            action="step.approved",
            subject=subject,
            reason=verdict,
            payload={"model": step.model_id, "rung": step.rung},
        )
        return ActionResult(
            step.id,
            "approved",
            f"{subject} {step.rung} approved; apply it with `modelhealth ladder apply {subject}`",
        )
    if decision == "approve":  # a review: keep the rung in force
        update_step(
            conn, step, status="succeeded", approved_at=now, closed_at=now, reason=f"kept: {note}"
        )
        update_escalation(
            conn,
            step.escalation_id,
            status="resolved",
            closed_at=now,
            outcome=f"{step.rung} kept after review by {person}: {note}",
        )
        audit.append(
            conn,
            at=now,
            actor=person,
            action="escalation.resolved",
            subject=esc_subject,
            reason=f"{step.rung} kept: {note}",
            payload={"model": step.model_id},
        )
        return ActionResult(step.id, "succeeded", f"{step.rung} kept for {step.model_id}")
    update_step(
        conn, step, status="rejected", closed_at=now, reason=f"rejected by {person}: {note}"
    )
    audit.append(
        conn,
        at=now,
        actor=person,
        action="step.rejected",
        subject=subject,
        reason=note,
        payload={"model": step.model_id, "rung": step.rung},
    )
    if step.direction == "review":
        _retire_in_force(
            conn,
            step,
            now=now,
            actor=person,
            status="retired",
            reason=f"retired after review by {person}: {note}",
        )
        update_escalation(
            conn,
            step.escalation_id,
            status="resolved",
            closed_at=now,
            outcome=f"{step.rung} retired after review by {person}: {note}",
        )
        audit.append(
            conn,
            at=now,
            actor=person,
            action="escalation.resolved",
            subject=esc_subject,
            reason=f"{step.rung} retired: {note}",
            payload={"model": step.model_id},
        )
        return ActionResult(step.id, "rejected", f"{step.rung} retired for {step.model_id}")
    if step.direction == "down":
        update_escalation(
            conn,
            step.escalation_id,
            status="closed",
            closed_at=now,
            outcome=f"step-down rejected by {person}; {step.rung} kept: {note}",
        )
        audit.append(
            conn,
            at=now,
            actor=person,
            action="escalation.closed",
            subject=esc_subject,
            reason=f"step-down rejected: {note}",
            payload={"model": step.model_id},
        )
        return ActionResult(step.id, "rejected", f"step-down rejected; {step.rung} stays")
    return ActionResult(
        step.id,
        "rejected",
        f"{subject} {step.rung} rejected; the escalation stays open and the ladder will not "
        "recommend again until the model recovers or an event reopens the decision",
    )


def _retire_in_force(
    conn: Connection, step: Step, *, now: datetime, actor: str, status: str, reason: str
) -> None:
    # The rung in force was climbed in an earlier escalation: find it by model and rung.
    state = load_state(conn, step.model_id, with_nights=False)
    for live in state.steps:
        if live.direction == "up" and live.status == "succeeded" and live.rung == step.rung:
            update_step(conn, live, status=status, reason=reason)
            audit.append(
                conn,
                at=now,
                actor=actor,
                action=f"step.{status}",
                subject=f"step-{live.id}",
                reason=reason,
                payload={"model": step.model_id, "rung": live.rung},
            )


def approve(
    store: LadderStore,
    ref: str,
    *,
    person: str,
    register: Register,
    now: datetime,
    reason: str = "",
    origin: Origin | None = None,
) -> ActionResult:
    """Record ``person``'s approval of a step; when it is the last one needed, the step
    is approved (or, for a review, the rung is kept).

    ``person`` must already be authenticated (the real OS account, a desk token);
    ``origin`` says through which channel and from where (default: this terminal).

    Raises
    ------
    NotFound
        No such step.
    Refused
        Wrong role, separation of duties, already decided, not pending, a lost race, or
        a register that differs from the pinned people, roles and identity.
    Tampered
        The audit log does not prove the store's state.
    """
    return _decide(
        store,
        ref,
        person=person,
        register=register,
        now=now,
        decision="approve",
        reason=reason,
        origin=origin,
    )


def reject(
    store: LadderStore,
    ref: str,
    *,
    person: str,
    register: Register,
    now: datetime,
    reason: str,
    origin: Origin | None = None,
) -> ActionResult:
    """Record ``person``'s rejection (with a reason); one rejection settles the step."""
    return _decide(
        store,
        ref,
        person=person,
        register=register,
        now=now,
        decision="reject",
        reason=reason,
        origin=origin,
    )


def acknowledge(
    store: LadderStore,
    ref: str,
    *,
    person: str,
    register: Register,
    now: datetime,
    origin: Origin | None = None,
    reason: str = "",
) -> ActionResult:
    """Acknowledge a waiting step (reminders stop, the decision clock keeps running) or,
    given ``esc-N``, an open mitigation (:func:`acknowledge_mitigation`). ``reason``
    (optional) is recorded with a step's acknowledgement."""
    if _ESCALATION_REF.match(ref.strip()):
        return acknowledge_mitigation(
            store, ref, person=person, register=register, now=now, origin=origin
        )
    now = as_utc(now)
    step_id = parse_step_ref(ref)
    subject = f"step-{step_id}"

    def body(conn: Connection) -> ActionResult:
        step, policy = _context(conn, step_id, register, person=person, now=now)
        verdict = check_acknowledge(step, rung_for(policy, step.rung), policy, person)
        if not verdict.allowed:
            raise Refused(verdict.reason)
        if step.acked_at is not None:
            return ActionResult(
                step.id,
                step.status,
                f"{subject} was already acknowledged by "
                f"{step.acked_by} at {step.acked_at:%Y-%m-%d %H:%M} UTC",
            )
        update_step(conn, step, acked_at=now, acked_by=person)
        audit.append(
            conn,
            at=now,
            actor=person,
            action="step.acknowledged",
            subject=subject,
            reason=reason or "acknowledged: reminders stop; the decision clock keeps running",
            payload={"model": step.model_id},
        )
        return ActionResult(step.id, step.status, f"{subject} acknowledged by {person}")

    return _guarded(
        store, actor=person, action="ack", subject=subject, now=now, work=body, origin=origin
    )


def acknowledge_mitigation(
    store: LadderStore,
    ref: str,
    *,
    person: str,
    register: Register,
    now: datetime,
    origin: Origin | None = None,
) -> ActionResult:
    """Acknowledge an open mitigation (``esc-N``): its reminders and escalation stop; it
    closes when the model recovers. The owner, the people it was sent to and the next
    level may acknowledge it. ``ActionResult.step_id`` is the escalation's id."""
    now = as_utc(now)
    match = _ESCALATION_REF.match(ref.strip())
    if match is None:
        raise NotFound(
            f"{ref!r} is not an escalation id; use the id shown by `ladder status` (esc-7)"
        )
    esc_id = int(match.group(1))
    subject = f"esc-{esc_id}"

    def body(conn: Connection) -> ActionResult:
        pin = require_pinned(conn, register, actor=person, now=now)
        esc = escalation_by_id(conn, esc_id)
        policy = escalation_policy(conn, esc_id).with_people(pin.people)
        if esc.kind != "mitigation" or esc.status != "open":
            raise Refused(
                f"{subject} is a {esc.status} {esc.kind}; only an open mitigation is "
                "acknowledged this way (a step is acknowledged by its step-N)"
            )
        allowed = {*responders(policy, esc.dominant_mode), *next_level(policy)}
        if person not in allowed:
            raise Refused(
                f"{person} is neither the owner of {esc.model_id} nor among those the "
                f"mitigation goes to ({', '.join(sorted(allowed))}); cannot "
                f"acknowledge {subject}"
            )
        if esc.acked_at is not None:
            return ActionResult(
                esc.id,
                esc.status,
                f"{subject} was already acknowledged by "
                f"{esc.acked_by} at {esc.acked_at:%Y-%m-%d %H:%M} UTC",
            )
        update_escalation(conn, esc.id, acked_at=now, acked_by=person)
        audit.append(
            conn,
            at=now,
            actor=person,
            action="escalation.acknowledged",
            subject=subject,
            reason="acknowledged: the mitigation's reminders stop; it closes when the "
            "model recovers",
            payload={"model": esc.model_id, "mode": esc.dominant_mode},
        )
        return ActionResult(esc.id, esc.status, f"{subject} acknowledged by {person}")

    return _guarded(
        store, actor=person, action="ack", subject=subject, now=now, work=body, origin=origin
    )


def apply_step(
    store: LadderStore,
    ref: str,
    *,
    person: str,
    register: Register,
    now: datetime,
    note: str = "",
    origin: Origin | None = None,
) -> ActionResult:
    """Record that an approved step was carried out: a climb starts its evaluation
    period; a step-down retires the rung in force and resolves its escalation.

    A climb's money is judged again first (:func:`~ladder.guardrails.recheck_at_apply`):
    a budget cut or a lower ceiling since the approval refuses it, with the reason and
    what would unblock it.
    """
    now = as_utc(now)
    step_id = parse_step_ref(ref)
    subject = f"step-{step_id}"

    def body(conn: Connection) -> ActionResult:
        step, policy = _context(conn, step_id, register, person=person, now=now)
        if step.status != "approved":
            raise Refused(f"{subject} is {step.status}; only an approved step can be applied")
        if not policy.roles_of(person):
            raise Refused(f"{person!r} is not among the register's people")
        rung = rung_for(policy, step.rung)
        if step.direction == "up":
            _recheck_money(conn, step, policy, register, now)
        if step.direction == "down":
            update_step(
                conn,
                step,
                status="applied",
                applied_at=now,
                closed_at=now,
                reason=note or f"stepped down by {person}",
            )
            _retire_in_force(
                conn,
                step,
                now=now,
                actor=person,
                status="stepped_down",
                reason=f"stepped down by {person} to save cost",
            )
            update_escalation(
                conn,
                step.escalation_id,
                status="resolved",
                closed_at=now,
                outcome=f"stepped down from {step.rung} by {person}",
            )
            audit.append(
                conn,
                at=now,
                actor=person,
                action="step.applied",
                subject=subject,
                reason=note or f"stepped down from {step.rung}",
                payload={"model": step.model_id, "rung": step.rung},
            )
            return ActionResult(
                step.id, "applied", f"{step.model_id} stepped down from {step.rung}"
            )
        ends = now + timedelta(days=rung.evaluation_days)
        update_step(
            conn,
            step,
            status="evaluating",
            applied_at=now,
            applied_by=person,
            evaluation_ends_at=ends,
            reason=note or f"applied by {person}",
        )
        audit.append(
            conn,
            at=now,
            actor=person,
            action="step.applied",
            subject=subject,
            reason=note or f"{step.rung} applied; evaluation until {ends:%Y-%m-%d}",
            payload={"model": step.model_id, "rung": step.rung, "evaluation_ends_at": ends},
        )
        return ActionResult(
            step.id,
            "evaluating",
            f"{subject} {step.rung} applied; evaluated until {ends:%Y-%m-%d %H:%M} UTC",
        )

    return _guarded(
        store, actor=person, action="apply", subject=subject, now=now, work=body, origin=origin
    )


def _recheck_money(
    conn: Connection, step: Step, snapshot: Policy, register: Register, now: datetime
) -> None:
    try:
        entry = register.model(step.model_id)
    except KeyError as exc:
        raise Refused(
            f"{step.model_id} is no longer in register {register.name!r}; "
            f"step-{step.id} is not applied"
        ) from exc
    current = build_policy(entry, register, now=now).with_people(snapshot.people)
    siblings = load_state(conn, step.model_id, with_nights=False).steps
    verdict = recheck_at_apply(step, snapshot, current, siblings)
    if not verdict.allowed:
        raise Refused(
            f"the guardrails are checked again at apply: {verdict.reason}; to go "
            f"on, {verdict.unblock}"
        )


def add_event(
    store: LadderStore,
    *,
    kind: str,
    register: Register,
    person: str,
    now: datetime,
    models: Sequence[str] = (),
    occurred_at: datetime | None = None,
    note: str = "",
    origin: Origin | None = None,
) -> list[int]:
    """Record an external event for some models (all the register's models when none
    are named); the next nightly run reopens their cost-benefit decisions.

    Raises
    ------
    LadderError
        Unknown event kind or model.
    """
    now = as_utc(now)
    if kind not in EVENT_KINDS:
        raise LadderError(f"unknown event kind {kind!r}; known: {', '.join(EVENT_KINDS)}")
    known = [m.id for m in register.models]
    targets = list(models) or known
    unknown = [m for m in targets if m not in known]
    if unknown:
        raise NotFound(f"not in register {register.name!r}: {', '.join(unknown)}")
    when = as_utc(occurred_at) if occurred_at is not None else now

    def work(conn: Connection) -> list[int]:
        require_pinned(conn, register, actor=person, now=now)
        ids = []
        for model_id in targets:
            event_id = insert_event(
                conn,
                model_id=model_id,
                kind=kind,
                note=note,
                payload={},
                occurred_at=when,
                recorded_at=now,
                recorded_by=person,
            )
            audit.append(
                conn,
                at=now,
                actor=person,
                action="event.recorded",
                subject=f"model:{model_id}",
                reason=note or kind,
                payload={"event": event_id, "kind": kind, "occurred_at": when},
            )
            ids.append(event_id)
        return ids

    return store.write(work, origin=origin or cli_origin(), actor=person)
