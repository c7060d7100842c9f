"""The ladder's part of the nightly job: record each model's night, decide, persist,
recommend; and the SLA clocks between nights.

:func:`decide_night` is what the nightly job calls after the monitor built its report.
For each model it runs one transaction that records the night (unique per model and
night), takes the decision (:func:`ladder.decide.decide`), carries it out (escalations,
steps, notifications, events) with an audit row, and returns the recommendation the
report shows. Rerunning a night that was already recorded changes nothing and returns
the same recommendations; when the rerun differs in what decides
(:func:`ladder.rerun.rerun_differences`) :func:`record_night` says so (audited, and in
the report), and the decision stands unless the rerun *redecides* the night: then the
night is recorded anew, the decision is taken again, and an escalation the old decision
opened is withdrawn (or kept, with the reason) — all audited under the person who asked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ladder import audit
from ladder.absences import directory_for
from ladder.audit import canonical_json
from ladder.decide import Decision, clock_decision, decide
from ladder.incident_actions import queue_overdue_reviews
from ladder.pins import current_pin, people_for_nightly
from ladder.policy import Policy, build_policy
from ladder.rerun import rerun_differences
from ladder.review import sunsets
from ladder.routing import Directory, route
from ladder.sla import deadlines
from ladder.standing import CommandContext, recommendation_for
from ladder.state import Escalation, LadderState, Step, as_utc, night_from_report
from ladder.store import (
    LadderStore,
    NightRecord,
    escalation_policy,
    escalation_summary,
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
    supersede_night,
    update_escalation,
    update_step,
)
from ladder.tables import escalations
from monitor.report import ModelReport, Recommendation, Report, RerunNote
from thresholds.schema import ModelEntry, Register

__all__ = [
    "SYSTEM_ACTOR",
    "NightDecisions",
    "carry_out",
    "decide_night",
    "record_night",
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


@dataclass(frozen=True)
class NightDecisions:
    """What :func:`record_night` returns: each model's recommendation, and for the models
    whose night was already decided from a report that differs in what decides, a note
    saying so (the decision stands, or was superseded)."""

    recommendations: dict[str, Recommendation | None] = field(default_factory=dict)
    reruns: dict[str, RerunNote] = field(default_factory=dict)


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
    return record_night(store, report, register, now=now, commands=commands).recommendations


def record_night(
    store: LadderStore,
    report: Report,
    register: Register,
    *,
    now: datetime,
    redecide_by: str | None = None,
    commands: CommandContext | None = None,
) -> NightDecisions:
    """:func:`decide_night`, with a note for every model whose rerun differs.

    ``redecide_by`` (the authenticated person running ``check --redecide``) supersedes
    the decision of a night already decided from a differing report; only the model's
    latest recorded night can be redecided (a later night was decided on top of it).
    """
    now = as_utc(now)
    night = _night_date(report)
    out = NightDecisions()
    for model in report.models:
        try:
            entry = register.model(model.model_id)
        except KeyError:
            out.recommendations[model.model_id] = None
            continue

        def work(
            conn: Connection, model: ModelReport = model, entry: ModelEntry = entry
        ) -> tuple[Recommendation | None, RerunNote | None]:
            return _apply_model(conn, report, model, entry, register, night, now, redecide_by)

        recommendation, note = store.write(work, actor=redecide_by or SYSTEM_ACTOR)
        out.recommendations[model.model_id] = (
            commands.apply(recommendation) if commands else recommendation
        )
        if note is not None:
            out.reruns[model.model_id] = note
    return out


def _apply_model(
    conn: Connection,
    report: Report,
    model: ModelReport,
    entry: ModelEntry,
    register: Register,
    night: date,
    now: datetime,
    redecide_by: str | None = None,
) -> tuple[Recommendation | None, RerunNote | None]:
    tonight = _Tonight(conn, report, model, entry, _pinned(conn, register, now), night, now)
    existing = night_record(conn, entry.id, night)
    if existing is not None:
        return _rerun(tonight, existing, redecide_by)
    return _first_run(tonight), None


@dataclass(frozen=True)
class _Tonight:
    """One model's night being recorded, in the caller's transaction."""

    conn: Connection
    report: Report
    model: ModelReport
    entry: ModelEntry
    register: Register
    night: date
    now: datetime

    @property
    def subject(self) -> str:
        return f"model:{self.entry.id}"


def _rerun(
    t: _Tonight, existing: NightRecord, redecide_by: str | None
) -> tuple[Recommendation | None, RerunNote | None]:
    """A night already decided: say whether the rerun differs in what decides, and
    supersede the decision when asked to."""
    conn, model, entry, register, night, now = (
        t.conn,
        t.model,
        t.entry,
        t.register,
        t.night,
        t.now,
    )
    subject = t.subject
    differences = rerun_differences(
        existing.night,
        existing.summary or {},
        night_from_report(model, night),
        night_summary(model),
    )
    if not differences:
        return recommendation_for(
            conn, register, entry.id, reason=existing.decision_reason, now=now
        ), None
    latest = latest_night(conn, entry.id)
    if redecide_by is not None and (latest is None or latest <= night):
        return _redecide(t, existing, differences, redecide_by)
    refused = (
        f"; it cannot be redecided: {latest} was decided after it, on top of it"
        if redecide_by is not None
        else "; `modelhealth check --redecide` supersedes it"
    )
    message = (
        f"night {night} of {entry.id} was already decided ({existing.decision_kind}) from a "
        f"report that differs: {'; '.join(differences)}. The decision taken then stands"
        f"{refused}"
    )
    # The decision taken on that night stands; say so once per differing rerun.
    audit.append(
        conn,
        at=now,
        actor=redecide_by or SYSTEM_ACTOR,
        action="night.rerun_differs",
        subject=subject,
        reason=message,
        payload={
            "night": night,
            "differences": list(differences),
            "stored": existing.report_digest,
            "new": report_digest(model),
        },
    )
    note = RerunNote(
        outcome="stands",
        decided_at=existing.recorded_at,
        status_then=existing.night.status,
        differences=list(differences),
        message=message,
    )
    return recommendation_for(
        conn, register, entry.id, reason=existing.decision_reason, now=now
    ), note


def _redecide(
    t: _Tonight, existing: NightRecord, differences: tuple[str, ...], person: str
) -> tuple[Recommendation | None, RerunNote]:
    """Take the night's decision again on the rerun's report, superseding the old one."""
    conn, report, model, entry, register, night, now = (
        t.conn,
        t.report,
        t.model,
        t.entry,
        t.register,
        t.night,
        t.now,
    )
    subject = t.subject
    tonight = night_from_report(model, night)
    state = load_state(conn, entry.id, today=night)
    fresh = build_policy(entry, register, now=now, register_version=report.register_version)
    esc = state.open_escalation
    opened_then = esc is not None and esc.opened_night == night and existing.escalation_id == esc.id
    escalation_id: int | None
    directory = directory_for(conn, register, now)
    if esc is not None and opened_then:
        # Decide as if the old decision had not opened it.
        before = replace(
            state,
            open_escalation=None,
            steps=tuple(s for s in state.steps if s.escalation_id != esc.id),
        )
        decision = decide(before, model, fresh, now, night=night, directory=directory)
        escalation_id, outcome = _settle_opened(conn, esc, decision, now=now, actor=person)
    else:
        policy = _policy_in_force(conn, state, fresh, register)
        decision = decide(state, model, policy, now, night=night, directory=directory)
        escalation_id = carry_out(
            conn, decision, state, policy, now=now, night=night, actor=person, directory=directory
        )
        outcome = decision.reason
    reason = (
        f"night {night} redecided by {person} on a rerun that differs "
        f"({'; '.join(differences)}): was {existing.decision_kind}, now {decision.kind}: "
        f"{outcome}"
    )
    supersede_night(
        conn,
        existing.id,
        tonight,
        report_digest=report_digest(model),
        run_id=report.run_id,
        recorded_at=now,
        summary=night_summary(model),
        decision_kind=decision.kind,
        decision_reason=reason,
        decision_due_at=decision.due_at,
        escalation_id=escalation_id,
    )
    audit.append(
        conn,
        at=now,
        actor=person,
        action="night.redecided",
        subject=subject,
        reason=reason,
        payload={
            "night": night,
            "differences": list(differences),
            "was": existing.decision_kind,
            "now": decision.kind,
        },
    )
    note = RerunNote(
        outcome="superseded",
        decided_at=existing.recorded_at,
        status_then=existing.night.status,
        differences=list(differences),
        message=reason,
    )
    return recommendation_for(conn, register, entry.id, reason=reason, now=now), note


def _settle_opened(
    conn: Connection, esc: Escalation, decision: Decision, *, now: datetime, actor: str
) -> tuple[int | None, str]:
    """The escalation the superseded decision opened: kept when the new decision would
    open one too, or when people already acted on its step; withdrawn otherwise."""
    step = esc.active_step
    if decision.opens is not None:
        why = f"esc-{esc.id} kept: the rerun still opens an escalation ({decision.reason})"
    elif step is not None and step.status not in ("pending", "blocked_by_budget"):
        why = (
            f"esc-{esc.id} kept: its step-{step.id} is {step.status}, people already acted "
            "on it; close it by hand if it is not needed"
        )
    else:
        why = f"esc-{esc.id} withdrawn: the rerun does not escalate ({decision.reason})"
        if step is not None:
            update_step(conn, step, status="withdrawn", reason=why, closed_at=now)
            audit.append(
                conn,
                at=now,
                actor=actor,
                action="step.withdrawn",
                subject=f"step-{step.id}",
                reason=why,
                payload={"model": esc.model_id, "escalation": esc.id},
            )
        update_escalation(conn, esc.id, status="closed", closed_at=now, outcome=why)
        audit.append(
            conn,
            at=now,
            actor=actor,
            action="escalation.closed",
            subject=f"esc-{esc.id}",
            reason=why,
            payload={"model": esc.model_id},
        )
        return None, why
    audit.append(
        conn,
        at=now,
        actor=actor,
        action="escalation.kept",
        subject=f"esc-{esc.id}",
        reason=why,
        payload={"model": esc.model_id},
    )
    return esc.id, why


def _first_run(t: _Tonight) -> Recommendation | None:
    conn, report, model, entry, register, night, now = (
        t.conn,
        t.report,
        t.model,
        t.entry,
        t.register,
        t.night,
        t.now,
    )
    digest, subject = report_digest(model), t.subject
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
        return recommendation_for(conn, register, entry.id, reason=reason, now=now)

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
    directory = directory_for(conn, register, now)
    decision = decide(state, model, policy, now, night=night, directory=directory)
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
        conn,
        decision,
        state,
        policy,
        now=now,
        night=night,
        actor=SYSTEM_ACTOR,
        directory=directory,
    )
    if escalation_id is not None:
        link_night(conn, night_id, escalation_id)
    return recommendation_for(conn, register, entry.id, reason=decision.reason, now=now)


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


@dataclass(frozen=True)
class _Dispatch:
    """Routes a decision's notifications (:func:`ladder.routing.route`) and queues them in
    the outbox in the decision's transaction; :mod:`modelhealth.outputs.notify.outbox`
    delivers them."""

    directory: Directory
    tier: int
    owner: str
    actor: str

    def enqueue(
        self,
        conn: Connection,
        decision: Decision,
        kind: str,
        model_id: str,
        now: datetime,
        step_id: int | None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        if not decision.notify:
            return
        routed = route(
            decision.notify,
            directory=self.directory,
            now=now,
            tier=self.tier,
            needs=decision.needs,
            next_level=decision.next_level,
            chain=decision.chain,
            owner=self.owner,
        )
        notification_id = insert_notification(
            conn,
            model_id=model_id,
            kind=kind,
            recipients=routed.recipients,
            at=now,
            step_id=step_id,
            payload={
                "decision": decision.kind,
                "reason": decision.reason,
                "due_at": decision.due_at,
                "tier": self.tier,
                **({} if routed.plain else routed.payload()),
                **(extra or {}),
            },
        )
        if not routed.plain:
            # Why these people and not the ones the decision named: part of the record.
            audit.append(
                conn,
                at=now,
                actor=self.actor,
                action="notification.routed",
                subject=f"step-{step_id}" if step_id is not None else f"model:{model_id}",
                reason=routed.describe(),
                payload={
                    "notification": notification_id,
                    "kind": kind,
                    "intended": list(routed.intended),
                    "recipients": list(routed.recipients),
                    "unroutable": routed.unroutable,
                    "priority": routed.priority,
                    "acts_by": routed.acts_by,
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
    directory: Directory | None = None,
) -> int | None:
    """Persist ``decision`` in the caller's transaction, with audit rows and queued
    notifications, routed through ``directory`` (teams, absences, on-call; everybody
    reachable when ``None``). Returns the id of the escalation it concerns, if any."""
    model_id = state.model_id
    esc = state.open_escalation
    escalation_id = esc.id if esc is not None else None
    subject = f"model:{model_id}"
    dispatch = _Dispatch(
        directory=directory if directory is not None else Directory(people=policy.people),
        tier=decision.tier or (esc.tier if esc is not None else 1),
        owner=policy.owner,
        actor=actor,
    )

    # Every change below writes its own audit row with the decision's reason; a decision
    # that changes nothing but is worth keeping (watch, exhausted …) gets one at the end.
    audited = False

    if decision.step_id is not None:
        step = next(s for s in state.steps if s.id == decision.step_id)
        audited |= _change_step(
            conn, decision, step, policy, now=now, actor=actor, dispatch=dispatch
        )

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
            dispatch.enqueue(conn, decision, kind, model_id, now, None, {"escalation": esc.id})
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

    if decision.mitigation_clock is not None and esc is not None:
        if decision.mitigation_clock == "escalate":
            update_escalation(conn, esc.id, escalated_at=now)
        else:
            update_escalation(conn, esc.id, ack_reminded_at=now)
        audit.append(
            conn,
            at=now,
            actor=actor,
            action=f"escalation.{decision.mitigation_clock}",
            subject=f"esc-{esc.id}",
            reason=decision.reason,
            payload={"model": model_id, "notify": list(decision.notify)},
        )
        audited = True
        dispatch.enqueue(
            conn, decision, decision.mitigation_clock, model_id, now, None, {"escalation": esc.id}
        )

    if decision.opens is not None:
        # A mitigation has no step: its acknowledgement clock starts with it.
        ack_due = (
            deadlines(now, decision.tier or 1, policy.sla).ack_due
            if decision.opens == "mitigation"
            else None
        )
        escalation_id = insert_escalation(
            conn,
            model_id=model_id,
            ack_due_at=ack_due,
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
            dispatch.enqueue(
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
            escalated_at=now if new.escalated else None,
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
        dispatch.enqueue(
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
    conn: Connection,
    decision: Decision,
    step: Step,
    policy: Policy,
    *,
    now: datetime,
    actor: str,
    dispatch: _Dispatch,
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
    elif decision.clock in ("next_level", "escalate"):
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
            **(
                {"clock": decision.clock, "next_due": decision.due_at}
                if decision.clock is not None
                else {}
            ),
        },
    )
    if decision.clock is not None:
        dispatch.enqueue(
            conn,
            decision,
            decision.clock,
            step.model_id,
            now,
            step.id,
            {"summary": escalation_summary(conn, step.escalation_id)},
        )
    return True


def _clock_due(
    conn: Connection,
    model_id: str,
    register: Register,
    now: datetime,
    people: Mapping[str, tuple[str, ...]] | None,
) -> tuple[Decision, LadderState, Policy, Directory] | None:
    """The clock decision due for ``model_id``'s waiting step at ``now``, with what it was
    taken on; ``None`` when nothing is due. ``people``: the pinned people (``None``: pin
    them now, in a write transaction)."""
    state = load_state(conn, model_id, with_nights=False)
    esc = state.open_escalation
    if esc is None:
        return None
    if people is None:
        register = _pinned(conn, register, now)
    else:
        register = register.model_copy(update={"people": {p: list(r) for p, r in people.items()}})
    policy = escalation_policy(conn, esc.id).with_people(register.people)
    directory = directory_for(conn, register, now)
    decision = clock_decision(state, policy, now, directory=directory)
    return None if decision is None else (decision, state, policy, directory)


def tick(store: LadderStore, register: Register, *, now: datetime) -> dict[str, str]:
    """Run the SLA clocks of every waiting step without a report (reminders, the next
    level, escalations, expiries, budget-period unblocking), and queue reminders of overdue
    post-incident reviews. Returns model id → decision kind (``review_overdue`` for a
    review reminder) for the models where something happened.

    Each model is looked at in a read transaction first, and written only when a clock
    ran out: a tick every minute (the desk) does not hold the write lock for nothing."""
    now = as_utc(now)
    done: dict[str, str] = {}

    def survey(conn: Connection) -> list[str]:
        pin = current_pin(conn)
        people = (
            pin.people if pin is not None else {p: tuple(r) for p, r in register.people.items()}
        )
        models = sorted(
            {
                r[0]
                for r in conn.execute(
                    select(escalations.c.model_id).where(escalations.c.status == "open")
                )
            }
        )
        return [m for m in models if _clock_due(conn, m, register, now, people) is not None]

    for model_id in store.read(survey):

        def work(conn: Connection, model_id: str = model_id) -> str | None:
            # Again, on fresh data, with the pin: another tick may have done it meanwhile.
            due = _clock_due(conn, model_id, register, now, None)
            if due is None:
                return None
            decision, state, policy, directory = due
            carry_out(
                conn,
                decision,
                state,
                policy,
                now=now,
                night=None,
                actor=SYSTEM_ACTOR,
                directory=directory,
            )
            return decision.kind

        kind = store.write(work)
        if kind is not None:
            done[model_id] = kind
    # An overdue post-incident review is a reminder too (at most one a day per review).
    for item in queue_overdue_reviews(store, now=now):
        done.setdefault(item.model_id, "review_overdue")
    return done
