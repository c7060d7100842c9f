"""The ladder's part of the nightly job: record each model's night, decide, persist,
recommend; and the SLA clocks between nights.

:func:`decide_night` is what the nightly job calls after the monitor built its report.
For each model it runs one transaction that records the night (unique per model and
night), takes the decision (:func:`ladder.decide.decide`), carries it out (escalations,
steps, notifications, events) with an audit row, and returns the recommendation the
report shows. Rerunning a night that was already recorded changes nothing and returns
the same recommendations.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ladder import audit
from ladder.audit import canonical_json
from ladder.decide import Decision, clock_decision, decide
from ladder.pins import people_for_nightly
from ladder.policy import Policy, build_policy
from ladder.review import sunsets
from ladder.sla import deadlines
from ladder.standing import CommandContext, recommendation_for
from ladder.state import LadderState, Step, as_utc, night_from_report
from ladder.store import (
    LadderStore,
    escalation_policy,
    insert_escalation,
    insert_night,
    insert_notification,
    insert_step,
    latest_night,
    link_night,
    load_state,
    mark_events_processed,
    night_record,
    set_escalation_summary,
    update_escalation,
    update_step,
)
from ladder.tables import escalations
from monitor.report import ModelReport, Recommendation, Report
from thresholds.schema import ModelEntry, Register

__all__ = [
    "SYSTEM_ACTOR",
    "carry_out",
    "decide_night",
    "report_digest",
    "tick",
]

#: The actor named in the audit log for decisions the nightly job takes.
SYSTEM_ACTOR: Final = "modelhealth"

_TERMINAL: Final = frozenset(
    {"succeeded", "failed", "rejected", "expired", "stepped_down", "retired", "withdrawn"}
)


def night_summary(model: ModelReport) -> dict[str, float | None]:
    """The night's headline metrics, kept with the night for trend charts."""
    m = model.metrics
    if m is None:
        return {}
    return {
        "quality": m.quality.value if m.quality else None,
        "quality_n": float(m.quality.n) if m.quality else None,
        "error_rate": m.error_rate.value,
        "error_rate_n": float(m.error_rate.n),
        "latency_p95": m.latency_ms.p95,
        "ece": m.calibration.ece if m.calibration else None,
    }


def report_digest(model: ModelReport) -> str:
    """A content hash of a model report, ignoring what the ladder itself fills in."""
    body = model.model_dump(mode="json", exclude={"recommendation", "ladder_position"})
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def _night_date(report: Report) -> date:
    return date.fromisoformat(report.as_of[:10])


def decide_night(
    store: LadderStore,
    report: Report,
    register: Register,
    *,
    now: datetime,
    commands: CommandContext | None = None,
) -> dict[str, Recommendation | None]:
    """Record tonight for every model of ``report``, decide, persist, and recommend.

    Returns one :class:`~monitor.report.Recommendation` per model id (``None`` when the
    model has nothing open on the ladder, or is not in ``register``). The caller sets
    ``ModelReport.recommendation``. ``commands`` names the register and state store the
    recommendation's commands must point at to work when pasted.
    """
    now = as_utc(now)
    night = _night_date(report)
    out: dict[str, Recommendation | None] = {}
    for model in report.models:
        try:
            entry = register.model(model.model_id)
        except KeyError:
            out[model.model_id] = None
            continue

        def work(
            conn: Connection, model: ModelReport = model, entry: ModelEntry = entry
        ) -> Recommendation | None:
            return _apply_model(conn, report, model, entry, register, night, now)

        recommendation = store.write(work)
        out[model.model_id] = commands.apply(recommendation) if commands else recommendation
    return out


def _apply_model(
    conn: Connection,
    report: Report,
    model: ModelReport,
    entry: ModelEntry,
    register: Register,
    night: date,
    now: datetime,
) -> Recommendation | None:
    digest = report_digest(model)
    subject = f"model:{entry.id}"
    register = _pinned(conn, register, now)
    existing = night_record(conn, entry.id, night)
    if existing is not None:
        if existing.report_digest != digest:
            # The decision taken on that night stands; say so once per differing rerun.
            audit.append(
                conn,
                at=now,
                actor=SYSTEM_ACTOR,
                action="night.rerun_differs",
                subject=subject,
                reason=f"night {night} was already decided from a different report; the "
                "decisions taken then stand",
                payload={"night": night, "stored": existing.report_digest, "new": digest},
            )
        return recommendation_for(conn, register, entry.id, reason=existing.decision_reason)

    tonight = night_from_report(model, night)
    latest = latest_night(conn, entry.id)
    if latest is not None and latest > night:
        reason = f"backfilled after {latest}: recorded for the rules, no decision taken"
        insert_night(
            conn,
            tonight,
            report_digest=digest,
            run_id=report.run_id,
            recorded_at=now,
            summary=night_summary(model),
            decision_kind="backfill",
            decision_reason=reason,
            decision_due_at=None,
        )
        audit.append(
            conn,
            at=now,
            actor=SYSTEM_ACTOR,
            action="night.backfilled",
            subject=subject,
            reason=reason,
            payload={"night": night},
        )
        return recommendation_for(conn, register, entry.id, reason=reason)

    state = load_state(conn, entry.id, today=night)
    fresh = build_policy(entry, register, now=now, register_version=report.register_version)
    retired = sunsets(state, fresh)
    for sunset in retired:
        update_step(conn, sunset.step, status="retired", reason=sunset.reason)
        audit.append(
            conn,
            at=now,
            actor=SYSTEM_ACTOR,
            action="step.retired",
            subject=f"step-{sunset.step.id}",
            reason=sunset.reason,
            payload={"model": entry.id, "rung": sunset.step.rung, "event": sunset.event.id},
        )
    if retired:
        state = load_state(conn, entry.id, today=night)
    policy = _policy_in_force(conn, state, fresh, register)
    decision = decide(state, model, policy, now, night=night)
    night_id = insert_night(
        conn,
        tonight,
        report_digest=digest,
        run_id=report.run_id,
        recorded_at=now,
        summary=night_summary(model),
        decision_kind=decision.kind,
        decision_reason=decision.reason,
        decision_due_at=decision.due_at,
    )
    # The night's own row: the log replays every recorded night, healthy ones too.
    audit.append(
        conn,
        at=now,
        actor=SYSTEM_ACTOR,
        action="night.recorded",
        subject=subject,
        reason=decision.reason,
        payload={"night": night, "decision": decision.kind, "run_id": report.run_id},
    )
    escalation_id = carry_out(
        conn, decision, state, policy, now=now, night=night, actor=SYSTEM_ACTOR
    )
    if escalation_id is not None:
        link_night(conn, night_id, escalation_id)
    return recommendation_for(conn, register, entry.id, reason=decision.reason)


def _pinned(conn: Connection, register: Register, now: datetime) -> Register:
    """``register`` with the people and roles pinned in the store (pinning on first use):
    the nightly job never adopts a changed register's people on its own."""
    people = people_for_nightly(conn, register, now=now, actor=SYSTEM_ACTOR)
    return register.model_copy(update={"people": {p: list(r) for p, r in people.items()}})


def _policy_in_force(
    conn: Connection, state: LadderState, fresh: Policy, register: Register
) -> Policy:
    """The open remediation's snapshot (live role membership), unless an event reopened
    it or nothing is open: then the register's current policy."""
    esc = state.open_escalation
    if esc is None or state.events or esc.kind not in ("remediation", "mitigation"):
        return fresh
    return escalation_policy(conn, esc.id).with_people(register.people)


def _enqueue(
    conn: Connection,
    decision: Decision,
    kind: str,
    model_id: str,
    now: datetime,
    step_id: int | None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Queue the decision's notification in the outbox, in the decision's transaction;
    :mod:`modelhealth.outputs.notify.outbox` delivers it."""
    if not decision.notify:
        return
    insert_notification(
        conn,
        model_id=model_id,
        kind=kind,
        recipients=decision.notify,
        at=now,
        step_id=step_id,
        payload={
            "decision": decision.kind,
            "reason": decision.reason,
            "due_at": decision.due_at,
            **(extra or {}),
        },
    )


def carry_out(
    conn: Connection,
    decision: Decision,
    state: LadderState,
    policy: Policy,
    *,
    now: datetime,
    night: date | None,
    actor: str,
) -> int | None:
    """Persist ``decision`` in the caller's transaction, with audit rows and queued
    notifications. Returns the id of the escalation it concerns, if any."""
    model_id = state.model_id
    esc = state.open_escalation
    escalation_id = esc.id if esc is not None else None
    subject = f"model:{model_id}"

    # Every change below writes its own audit row with the decision's reason; a decision
    # that changes nothing but is worth keeping (watch, exhausted …) gets one at the end.
    audited = False

    if decision.step_id is not None:
        step = next(s for s in state.steps if s.id == decision.step_id)
        audited |= _change_step(conn, decision, step, policy, now=now, actor=actor)

    if decision.close_escalation is not None and esc is not None:
        update_escalation(
            conn, esc.id, status=decision.close_escalation, closed_at=now, outcome=decision.reason
        )
        audit.append(
            conn,
            at=now,
            actor=actor,
            action=f"escalation.{decision.close_escalation}",
            subject=f"esc-{esc.id}",
            reason=decision.reason,
            payload={"model": model_id},
        )
        audited = True
        if decision.clock is None:  # an expiry already told the same people
            kind = "resolved" if decision.close_escalation == "resolved" else "closed"
            _enqueue(conn, decision, kind, model_id, now, None, {"escalation": esc.id})
        escalation_id = None

    if decision.refresh_policy and esc is not None and decision.close_escalation is None:
        update_escalation(conn, esc.id, policy_snapshot=policy.to_json())
        audit.append(
            conn,
            at=now,
            actor=actor,
            action="escalation.policy_refreshed",
            subject=f"esc-{esc.id}",
            reason=decision.reason,
            payload={"register_version": policy.register_version},
        )
        audited = True

    if decision.opens is not None:
        escalation_id = insert_escalation(
            conn,
            model_id=model_id,
            kind=decision.opens,
            tier=decision.tier or 1,
            opened_at=now,
            opened_night=night,
            dominant_mode=decision.mode,
            rule=decision.rule,
            reason=decision.reason,
            summary=decision.summary,
            first_trigger_at=decision.first_trigger_at,
            policy_snapshot=policy.to_json(),
            outcome="",
        )
        audit.append(
            conn,
            at=now,
            actor=actor,
            action="escalation.opened",
            subject=f"esc-{escalation_id}",
            reason=decision.reason,
            payload={
                "model": model_id,
                "kind": decision.opens,
                "tier": decision.tier,
                "mode": decision.mode,
                "register_version": policy.register_version,
            },
        )
        audited = True
        if decision.new_step is None:
            _enqueue(
                conn,
                decision,
                decision.kind,
                model_id,
                now,
                None,
                {"escalation": escalation_id, "summary": decision.summary},
            )
    elif decision.summary and escalation_id is not None:
        set_escalation_summary(conn, escalation_id, decision.summary)

    if decision.new_step is not None and escalation_id is not None:
        new = decision.new_step
        step_id = insert_step(
            conn,
            escalation_id=escalation_id,
            model_id=model_id,
            rung=new.rung,
            direction=new.direction,
            status=new.status,
            mode=new.mode,
            tier=new.tier,
            requested_by=new.requested_by,
            requested_at=now,
            ack_due_at=new.deadlines.ack_due,
            decide_due_at=new.deadlines.decide_due,
            expire_at=new.deadlines.expire_at,
            approved_at=now if new.status == "approved" else None,
            cost=new.cost,
            currency=new.currency,
            approvals_required=new.approvals_required,
            packet=new.packet.model_dump(mode="json"),
            reason=new.reason,
        )
        audit.append(
            conn,
            at=now,
            actor=actor,
            action=f"step.{new.status}",
            subject=f"step-{step_id}",
            reason=new.reason,
            payload={
                "model": model_id,
                "escalation": escalation_id,
                "rung": new.rung,
                "direction": new.direction,
                "cost": new.cost,
                "currency": new.currency,
                "approvals_required": new.approvals_required,
            },
        )
        audited = True
        kind = {"pending": "approval_requested", "approved": "apply_requested"}.get(
            new.status, new.status
        )
        _enqueue(
            conn,
            decision,
            kind,
            model_id,
            now,
            step_id,
            {"summary": new.packet.summary, "rung": new.rung},
        )

    if decision.consumes_events:
        mark_events_processed(
            conn,
            decision.consumes_events,
            at=now,
            note=f"{decision.kind} on night {night}" if night else decision.kind,
        )
    if not audited and decision.kind not in ("no_action", "hold"):
        audit.append(
            conn,
            at=now,
            actor=actor,
            action=f"decision.{decision.kind}",
            subject=subject,
            reason=decision.reason,
            payload={
                "night": night,
                "escalation": escalation_id,
                "events": list(decision.consumes_events),
            },
        )
    return escalation_id


def _change_step(
    conn: Connection, decision: Decision, step: Step, policy: Policy, *, now: datetime, actor: str
) -> bool:
    """Apply the decision to the step in play; returns whether anything changed."""
    values: dict[str, Any] = {}
    status = decision.step_status
    if status is not None and status != step.status:
        values["status"] = status
        values["reason"] = decision.reason
        if status in _TERMINAL:
            values["closed_at"] = now
        if step.status == "blocked_by_budget" and status in ("pending", "approved"):
            # Unblocked: the decision clocks start now, not when it was first blocked.
            clocks = deadlines(now, step.tier, policy.sla)
            values.update(
                requested_at=now,
                ack_due_at=clocks.ack_due,
                decide_due_at=clocks.decide_due,
                expire_at=clocks.expire_at,
                ack_reminded_at=None,
                decision_reminded_at=None,
                escalated_at=None,
                acked_at=None,
                acked_by=None,
                approved_at=now if status == "approved" else None,
            )
    if decision.step_cost is not None and decision.step_cost != step.cost:
        values["cost"] = decision.step_cost
    if decision.clock == "ack_reminder":
        values["ack_reminded_at"] = now
    elif decision.clock == "decision_reminder":
        values["decision_reminded_at"] = now
    elif decision.clock == "escalate":
        values["escalated_at"] = now
    if not values:
        return False
    update_step(conn, step, **values)
    action = (
        f"step.{status}"
        if status is not None and status != step.status
        else (f"step.{decision.clock}" if decision.clock else "step.repriced")
    )
    audit.append(
        conn,
        at=now,
        actor=actor,
        action=action,
        subject=f"step-{step.id}",
        reason=decision.reason,
        payload={
            "model": step.model_id,
            "from": step.status,
            "to": values.get("status"),
            "cost": values.get("cost"),
        },
    )
    if decision.clock is not None:
        _enqueue(conn, decision, decision.clock, step.model_id, now, step.id)
    return True


def tick(store: LadderStore, register: Register, *, now: datetime) -> dict[str, str]:
    """Run the SLA clocks of every waiting step without a report (reminders,
    escalations, expiries, budget-period unblocking). Returns model id → decision kind
    for the models where something happened."""
    now = as_utc(now)
    done: dict[str, str] = {}
    open_models = store.read(
        lambda conn: sorted(
            {
                r[0]
                for r in conn.execute(
                    select(escalations.c.model_id).where(escalations.c.status == "open")
                )
            }
        )
    )
    for model_id in open_models:

        def work(conn: Connection, model_id: str = model_id) -> str | None:
            state = load_state(conn, model_id, with_nights=False)
            esc = state.open_escalation
            if esc is None:
                return None
            pinned = _pinned(conn, register, now)
            policy = escalation_policy(conn, esc.id).with_people(pinned.people)
            decision = clock_decision(state, policy, now)
            if decision is None:
                return None
            carry_out(conn, decision, state, policy, now=now, night=None, actor=SYSTEM_ACTOR)
            return decision.kind

        kind = store.write(work)
        if kind is not None:
            done[model_id] = kind
    return done
