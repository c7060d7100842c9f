"""The ladder's one decision per model per night: ``decide(state, report, policy, now)``.

Modelled on Alertmanager's ``needsUpdate``: a pure function of the stored state, tonight's
report, the policy in force and the clock, returning a :class:`Decision` whose ``kind``
says what to do and whose ``reason`` says why in words that are stored in the audit log.
The imperative shell (:mod:`ladder.nightly`) carries the decision out.

Decision kinds:

========================  ===================================================================
``no_action``             nothing fired, nothing open
``watch``                 a trigger (or warning) was seen but no rule is met yet
``open_escalation``       a rule fired: escalation opened with a step on the next rung (an
                          open review or step-down gives way and is withdrawn)
``blocked_by_budget``     that step would break a cost ceiling or the budget
``mitigate``              the failure mode is operational (availability, blind): no rung;
                          the mitigation has its own acknowledgement clock
                          (:mod:`ladder.mitigation`)
``exhausted``             no allowed rung is left for the failure mode
``hold``                  a step is pending, approved-but-not-applied or under evaluation
``remind``                a reminder is due (:mod:`ladder.reminders`): the approvers are
                          re-notified (30 min unacknowledged; the decision window), or a
                          mitigation's responders when its clock ran out
``escalate_approver``     the next level is brought in: 2 h unacknowledged, or the
                          decision (a mitigation's acknowledgement) still open one interval
                          after it was due
``expire``                the clock's cap passed: the step and escalation expire
``unblocked``             a blocked step now fits the budget (new period, reopened policy)
``resolved``              recovery held over the evaluation period (or without a step)
``recommend_next_rung``   the evaluated rung did not recover the model: climb one more
``reopen``                an event reopened the cost-benefit decision of an open escalation
``review``                the rung in force is up for review (event, drift, schedule)
``step_down``             sustained health: recommend retiring the rung in force
``close``                 an escalation left without a step past its cap is closed
========================  ===================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

from ladder.guardrails import check_budget, eligible_approvers, estimate_cost
from ladder.mitigation import mitigation_clock_due, next_level, responders
from ladder.policy import Policy
from ladder.recommender import (
    HandoffPacket,
    ModeChoice,
    failure_mode_for,
    handoff_packet,
    next_rung,
)
from ladder.reminders import ReminderEntry, needs_reminder
from ladder.review import describe_events, review_reason, rung_for, step_down_reason
from ladder.routing import Directory
from ladder.rules import RuleOutcome, counted_triggers, evaluate_rules
from ladder.rungs import Rung
from ladder.sla import Deadlines, deadlines
from ladder.state import (
    Direction,
    Escalation,
    EscalationKind,
    EscalationStatus,
    LadderState,
    Night,
    Step,
    StepStatus,
    as_utc,
    night_from_report,
)
from monitor.report import ModelReport

__all__ = [
    "ClockAction",
    "Decision",
    "DecisionKind",
    "NewStep",
    "clock_decision",
    "decide",
    "night_of",
]

DecisionKind = Literal[
    "no_action",
    "watch",
    "open_escalation",
    "blocked_by_budget",
    "mitigate",
    "exhausted",
    "hold",
    "remind",
    "escalate_approver",
    "expire",
    "unblocked",
    "resolved",
    "recommend_next_rung",
    "reopen",
    "review",
    "step_down",
    "close",
]

#: The reminder actions a decision carries out (:data:`ladder.reminders.ReminderKind`).
ClockAction = Literal["ack_reminder", "next_level", "decision_reminder", "escalate", "expire"]


@dataclass(frozen=True)
class NewStep:
    """A step the decision requests."""

    rung: str
    direction: Direction
    status: StepStatus
    mode: str | None
    tier: int
    cost: float
    currency: str
    approvals_required: int
    requested_by: str
    deadlines: Deadlines
    packet: HandoffPacket
    reason: str
    #: Every level hears at once (tier 4): the next level is in from the start.
    escalated: bool = False


@dataclass(frozen=True)
class Decision:
    """What to do for one model tonight, and why.

    ``step_id``/``step_status`` change the step already in play; ``opens`` opens an
    escalation of that kind; ``new_step`` requests a step (in the opened escalation, or
    the open one); ``close_escalation`` ends the open escalation. Several may be set:
    a failed evaluation closes one step and requests the next.

    ``notify`` names the people the decision concerns; routing (business hours, absences,
    the on-call role, :mod:`ladder.routing`) turns them into recipients. ``next_level``
    asks routing to bring in the next level too (managers, else ``chain``: the holders of
    the rung's ``escalate_to`` roles, else the on-call role); ``needs`` are the roles a
    delegate must hold one of to stand in.
    """

    kind: DecisionKind
    reason: str
    due_at: datetime | None = None
    opens: EscalationKind | None = None
    tier: int | None = None
    mode: str | None = None
    rule: str = ""
    first_trigger_at: datetime | None = None
    summary: str = ""
    new_step: NewStep | None = None
    step_id: int | None = None
    step_status: StepStatus | None = None
    step_cost: float | None = None
    clock: ClockAction | None = None
    #: An SLA action on the open mitigation itself (it has no step).
    mitigation_clock: ClockAction | None = None
    notify: tuple[str, ...] = ()
    next_level: bool = False
    chain: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    close_escalation: EscalationStatus | None = None
    consumes_events: tuple[int, ...] = ()
    refresh_policy: bool = False


@dataclass(frozen=True)
class _Why:
    """The rule behind a proposal, in the words the packet and the audit log use."""

    rule: str
    reason: str
    short: str
    tier: int
    evidence: tuple[str, ...] = ()
    first_trigger_at: datetime | None = None


def _why(outcome: RuleOutcome) -> _Why:
    short = (
        "acting the same night"
        if outcome.rule == "severity"
        else f"breached {len(outcome.firing_nights)} of the last {outcome.window_nights} nights"
    )
    return _Why(
        outcome.rule,
        outcome.reason,
        short,
        max(outcome.tier, 1),
        outcome.evidence,
        outcome.first_trigger_at,
    )


def night_of(report: ModelReport) -> date:
    """The night a model report describes: the last day of its current window."""
    return (as_utc(report.window.end) - timedelta(microseconds=1)).date()


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _approvers_for(policy: Policy, rung: Rung) -> tuple[str, ...]:
    """Who may approve a new step on ``rung``, requested in the model owner's name."""
    return tuple(
        p
        for p in policy.holders(rung.approval.roles)
        if rung.approval.requester_may_approve or p != policy.owner
    )


# ------------------------------------------------------------------ proposals


def _propose_up(
    *,
    state: LadderState,
    policy: Policy,
    now: datetime,
    tonight: Night,
    why: _Why,
    mode: ModeChoice,
    excluded: frozenset[str] = frozenset(),
    opening: bool,
    kind: DecisionKind,
    prefix: str = "",
    step_id: int | None = None,
    step_status: StepStatus | None = None,
    close: EscalationStatus | None = None,
    consumes: tuple[int, ...] = (),
    refresh: bool = False,
) -> Decision:
    """A decision that requests the next rung up for ``mode`` (or says why it cannot)."""
    opens: EscalationKind | None = "remediation" if opening else None
    choice = next_rung(mode.mode, policy, state.steps, excluded=excluded)
    base = Decision(
        kind=kind,
        reason="",
        tier=why.tier,
        mode=mode.mode,
        rule=why.rule,
        first_trigger_at=why.first_trigger_at,
        step_id=step_id,
        step_status=step_status,
        close_escalation=close,
        consumes_events=consumes,
        refresh_policy=refresh,
    )
    if choice.operational:
        packet = handoff_packet(
            policy=policy,
            kind="mitigation",
            direction="up",
            rung=None,
            tier=why.tier,
            rule=why.rule,
            rule_reason=why.reason,
            rule_short=why.short,
            evidence=why.evidence,
            mode=mode,
            night=tonight,
            steps=state.steps,
            choice_reason=choice.reason,
        )
        return replace(
            base,
            kind="mitigate",
            reason=f"{prefix}{why.reason}; {choice.reason}",
            opens="mitigation" if opening else None,
            summary=packet.summary,
            notify=responders(policy, mode.mode),
        )
    if choice.rung is None:
        return replace(
            base,
            kind="exhausted",
            reason=f"{prefix}{why.reason}; {choice.reason}: the owners must decide by hand",
            opens=opens,
            summary=f"{policy.model_id}: no ladder rung is left for "
            f"{mode.mode or 'these failures'}; the owners must decide by hand.",
            notify=(policy.owner,),
        )
    rung = choice.rung
    verdict = check_budget(rung, policy, state.steps, now)
    required = rung.approval.min_approvals
    status: StepStatus
    if not verdict.allowed:
        status = "blocked_by_budget"
    elif required == 0:
        status = "approved"
    else:
        status = "pending"
    clocks = deadlines(now, why.tier, policy.sla)
    approvers = _approvers_for(policy, rung)
    packet = handoff_packet(
        policy=policy,
        kind="remediation",
        direction="up",
        rung=rung,
        tier=why.tier,
        rule=why.rule,
        rule_reason=why.reason,
        rule_short=why.short,
        evidence=why.evidence,
        mode=mode,
        night=tonight,
        steps=state.steps,
        choice_reason=choice.reason,
        estimate=verdict.estimate,
        budget=verdict,
        approvals_required=required,
        approvers=approvers,
        requested_by=policy.owner,
        ack_by=clocks.ack_due if status == "pending" else None,
        decide_by=clocks.decide_due if status in ("pending", "blocked_by_budget") else None,
    )
    money_text = (
        verdict.reason if verdict.allowed else f"{verdict.reason}; to unblock: {verdict.unblock}"
    )
    reason = f"{prefix}{why.reason}; {choice.reason}; {money_text}"
    if status == "approved":
        reason += f"; {rung.id} needs no approval: apply it to start its evaluation"
    new = NewStep(
        rung=rung.id,
        direction="up",
        status=status,
        mode=mode.mode,
        tier=why.tier,
        cost=verdict.estimate.total,
        currency=policy.budget.currency,
        approvals_required=required,
        requested_by=policy.owner,
        deadlines=clocks,
        packet=packet,
        reason=reason,
    )
    notify = approvers if status == "pending" and approvers else (policy.owner,)
    # Tier 4 notifies everyone in its list at once: approvers and the next level.
    everyone = status == "pending" and why.tier >= 4
    if everyone:
        new = replace(new, escalated=True)
    return replace(
        base,
        kind="blocked_by_budget" if status == "blocked_by_budget" else kind,
        reason=reason,
        due_at=clocks.decide_due if status != "approved" else None,
        opens=opens,
        summary=packet.summary,
        new_step=new,
        notify=tuple(notify),
        next_level=everyone,
        chain=policy.holders(rung.approval.escalate_to) if everyone else (),
        needs=rung.approval.roles if status == "pending" else (),
    )


def _propose_review(
    *,
    state: LadderState,
    policy: Policy,
    now: datetime,
    reason: str,
    direction: Literal["review", "down"],
    tonight: Night,
) -> Decision:
    """Open a review (keep or retire) or a step-down of the rung in force."""
    in_force = state.in_force()
    assert in_force is not None
    rung = rung_for(policy, in_force.rung)
    required = max(1, rung.approval.min_approvals)
    clocks = deadlines(now, 1, policy.sla)
    approvers = _approvers_for(policy, rung)
    kind: EscalationKind = "review" if direction == "review" else "step_down"
    estimate = estimate_cost(rung, policy)
    packet = handoff_packet(
        policy=policy,
        kind=kind,
        direction=direction,
        rung=rung,
        tier=1,
        rule=kind,
        rule_reason=reason,
        rule_short=kind.replace("_", " "),
        mode=ModeChoice(in_force.mode, ""),
        night=tonight,
        steps=state.steps,
        estimate=estimate,
        approvals_required=required,
        approvers=approvers,
        requested_by=policy.owner,
        ack_by=clocks.ack_due,
        decide_by=clocks.decide_due,
        headline=reason,
    )
    new = NewStep(
        rung=rung.id,
        direction=direction,
        status="pending",
        mode=in_force.mode,
        tier=1,
        cost=0.0,
        currency=policy.budget.currency,
        approvals_required=required,
        requested_by=policy.owner,
        deadlines=clocks,
        packet=packet,
        reason=reason,
    )
    return Decision(
        kind="review" if direction == "review" else "step_down",
        reason=reason,
        due_at=clocks.decide_due,
        opens=kind,
        tier=1,
        mode=in_force.mode,
        rule=kind,
        summary=packet.summary,
        new_step=new,
        notify=approvers,
        needs=rung.approval.roles,
        consumes_events=tuple(e.id for e in state.events),
    )


# ---------------------------------------------------------------- the decision


def decide(
    state: LadderState,
    report: ModelReport,
    policy: Policy,
    now: datetime,
    *,
    night: date | None = None,
    directory: Directory | None = None,
) -> Decision:
    """Decide what the ladder does for one model tonight.

    Parameters
    ----------
    state
        What the store holds for the model (nights before tonight, the open escalation,
        every step, events not yet acted on).
    report
        Tonight's model report from the monitor.
    policy
        The policy in force: the open escalation's snapshot (with live role membership),
        or the register's current policy when nothing is open or an event reopened it.
    now
        The clock, passed in (aware datetime).
    night
        The night the report is for (``Report.as_of``); derived from its window otherwise.
    directory
        Who works when (teams, absences): the reminders of a tier 1 or 2 step count its
        approvers' working time. ``None``: everybody reachable around the clock.
    """
    now = as_utc(now)
    tonight = night_from_report(report, night or night_of(report))
    nights = (*(n for n in state.nights if n.night < tonight.night), tonight)
    outcome = evaluate_rules(nights, policy.rules)
    esc = state.open_escalation
    if esc is None:
        return _idle(state, policy, now, tonight, nights, outcome)
    if esc.kind in ("review", "step_down"):
        return _reviewing(state, esc, policy, now, tonight, outcome, directory)
    if state.events:
        return _reopen(state, esc, policy, now, tonight, nights, outcome)
    if esc.kind == "mitigation":
        return _mitigating(state, esc, policy, now, tonight, nights, outcome)
    step = esc.active_step
    if step is None:
        return _without_step(state, esc, policy, now, tonight, nights, outcome)
    if step.status in ("pending", "blocked_by_budget"):
        return _waiting(state, step, policy, now, directory)
    if step.status == "approved":
        expected = (step.approved_at or step.requested_at) + timedelta(
            days=rung_for(policy, step.rung).time_days
        )
        return Decision(
            "hold",
            f"{step.rung} (step-{step.id}) approved on {_when(step.approved_at or now)}; "
            f"waiting to be applied (`modelhealth ladder apply step-{step.id}`), usually "
            f"within {rung_for(policy, step.rung).time_days:g} days",
            due_at=expected,
        )
    return _evaluating(state, esc, step, policy, now, tonight, nights)


def _recovered(nights: tuple[Night, ...], policy: Policy) -> bool:
    """No counted trigger on any of the last ``persistence_n`` calendar nights, all recorded."""
    n = policy.rules.persistence_n
    tonight = nights[-1]
    start = tonight.night - timedelta(days=n - 1)
    window = [x for x in nights if start <= x.night <= tonight.night]
    return len(window) >= n and not any(counted_triggers(x, policy.rules.co_fire) for x in window)


def _idle(
    state: LadderState,
    policy: Policy,
    now: datetime,
    tonight: Night,
    nights: tuple[Night, ...],
    outcome: RuleOutcome,
) -> Decision:
    consumes = tuple(e.id for e in state.events)
    if outcome.fired:
        return _propose_up(
            state=state,
            policy=policy,
            now=now,
            tonight=tonight,
            why=_why(outcome),
            mode=failure_mode_for(tonight, earlier=outcome.firing_nights),
            opening=True,
            kind="open_escalation",
            consumes=consumes,
        )
    reason = review_reason(state, policy, tonight, now)
    if reason is not None:
        return _propose_review(
            state=state,
            policy=policy,
            now=now,
            reason=reason,
            direction="review",
            tonight=tonight,
        )
    if state.events:
        return Decision(
            "no_action",
            f"{describe_events(state.events)} noted: nothing is open or in force to reconsider",
            consumes_events=consumes,
        )
    reason = step_down_reason(state, policy, nights, now)
    if reason is not None:
        return _propose_review(
            state=state,
            policy=policy,
            now=now,
            reason=reason,
            direction="down",
            tonight=tonight,
        )
    if tonight.triggers:
        return Decision(
            "watch",
            outcome.reason
            if tonight.triggered
            else (
                "warning only (point estimate past a limit, interval straddling it): watched, "
                "not a trigger"
            ),
            tier=outcome.tier or None,
        )
    return Decision("no_action", f"{tonight.status} on {tonight.night}: nothing to do")


def _reviewing(
    state: LadderState,
    esc: Escalation,
    policy: Policy,
    now: datetime,
    tonight: Night,
    outcome: RuleOutcome,
    directory: Directory | None,
) -> Decision:
    step = esc.active_step
    if outcome.fired:
        # Health matters more than a review or a saving: give way, and climb tonight.
        giving_way = f"{esc.kind.replace('_', '-')} esc-{esc.id} withdrawn because a rule fired"
        if step is not None:  # withdrawn below, so no longer in play for the recommender
            state = replace(
                state,
                steps=tuple(
                    replace(s, status="withdrawn") if s.id == step.id else s for s in state.steps
                ),
            )
        return _propose_up(
            state=state,
            policy=policy,
            now=now,
            tonight=tonight,
            why=_why(outcome),
            mode=failure_mode_for(tonight, earlier=outcome.firing_nights),
            opening=True,
            kind="open_escalation",
            prefix=f"{giving_way}; ",
            step_id=step.id if step is not None else None,
            step_status="withdrawn" if step is not None else None,
            close="closed",
            consumes=tuple(e.id for e in state.events),
        )
    if step is None:
        return Decision(
            "close", f"{esc.kind} esc-{esc.id} has no step left: closed", close_escalation="closed"
        )
    if step.status == "pending":
        return _waiting(state, step, policy, now, directory)
    if step.status == "approved":
        return Decision(
            "hold",
            f"step-down of {step.rung} approved; waiting to be applied "
            f"(`modelhealth ladder apply step-{step.id}`)",
        )
    return Decision("hold", f"{esc.kind} esc-{esc.id}: step-{step.id} is {step.status}")


def _waiting(
    state: LadderState, step: Step, policy: Policy, now: datetime, directory: Directory | None
) -> Decision:
    rung = rung_for(policy, step.rung)
    if step.status == "blocked_by_budget":
        others = [s for s in state.steps if s.id != step.id]
        verdict = check_budget(rung, policy, others, now)
        if verdict.allowed:
            status: StepStatus = "approved" if rung.approval.min_approvals == 0 else "pending"
            return Decision(
                "unblocked",
                f"{step.rung} (step-{step.id}) fits the budget now: {verdict.reason}; "
                f"clocks restart",
                due_at=deadlines(now, step.tier, policy.sla).decide_due,
                step_id=step.id,
                step_status=status,
                step_cost=verdict.estimate.total,
                notify=_approvers_for(policy, rung) or (policy.owner,),
                needs=rung.approval.roles,
            )
    # Nobody left to ask (no one holds the roles) or a budget block: the owner hears of it.
    approvers = (eligible_approvers(step, rung, policy) if step.status == "pending" else ()) or (
        policy.owner,
    )
    working = (
        directory.working_time(approvers, step.requested_at) if directory is not None else None
    )
    due = needs_reminder(ReminderEntry.of(step, policy.sla, working=working), now)
    needs = rung.approval.roles if step.status == "pending" else ()
    chain = policy.holders(rung.approval.escalate_to)
    if due.kind == "expire":
        return Decision(
            "expire",
            f"{step.rung} (step-{step.id}): {due.text}",
            step_id=step.id,
            step_status="expired",
            close_escalation="expired",
            clock="expire",
            notify=tuple(sorted({policy.owner, *approvers})),
        )
    if due.kind != "not_due":
        up = due.kind in ("next_level", "escalate")
        return Decision(
            "escalate_approver" if up else "remind",
            f"{step.rung} (step-{step.id}): {due.text}",
            due_at=due.due_at,
            step_id=step.id,
            clock=due.kind,
            notify=approvers,
            next_level=up,
            chain=chain if up else (),
            needs=needs,
        )
    clocks = deadlines(step.requested_at, step.tier, policy.sla)
    if step.status == "blocked_by_budget":
        return Decision(
            "hold",
            f"{step.rung} (step-{step.id}) still blocked by budget; expires "
            f"{_when(clocks.expire_at)} unless unblocked",
            due_at=clocks.decide_due,
        )
    got = len(step.approvers)
    need = max(step.approvals_required, 1)
    return Decision(
        "hold",
        f"{step.rung} (step-{step.id}) pending: {got} of {need} approvals; may approve: "
        f"{', '.join(approvers) or 'nobody (no one holds the roles)'}; decide by "
        f"{_when(clocks.decide_due)}",
        due_at=clocks.decide_due,
    )


def _evaluating(
    state: LadderState,
    esc: Escalation,
    step: Step,
    policy: Policy,
    now: datetime,
    tonight: Night,
    nights: tuple[Night, ...],
) -> Decision:
    applied = step.applied_at or step.requested_at
    ends = step.evaluation_ends_at or applied
    period = [n for n in nights if applied.date() < n.night <= tonight.night]
    bad = [n for n in period if counted_triggers(n, policy.rules.co_fire)]
    if now < ends:
        return Decision(
            "hold",
            f"{step.rung} (step-{step.id}) under evaluation until {_when(ends)}; "
            f"{len(bad)} of {len(period)} nights so far had triggers",
            due_at=ends,
        )
    days = (ends - applied).days
    if period and not bad:
        return Decision(
            "resolved",
            f"recovered: no trigger on any of the {len(period)} nights of the {days}-day "
            f"evaluation of {step.rung} (applied {applied:%Y-%m-%d})",
            step_id=step.id,
            step_status="succeeded",
            close_escalation="resolved",
            notify=(policy.owner,),
        )
    dates = ", ".join(str(n.night) for n in bad) or "no night recorded"
    prefix = (
        f"{step.rung} (step-{step.id}) did not recover the model over its {days}-day "
        f"evaluation (triggers on {len(bad)} of {len(period)} nights: {dates}); "
    )
    last_bad = bad[-1] if bad else tonight
    mode = failure_mode_for(last_bad, fallback=step.mode or esc.dominant_mode)
    evidence = tuple(
        f"{n.night}: {t.name} (tier {t.tier})"
        for n in bad
        for t in counted_triggers(n, policy.rules.co_fire)
    )
    why = _Why(
        "evaluation",
        f"evaluation of {step.rung} failed",
        f"{step.rung} did not help",
        esc.tier,
        evidence,
        None,
    )
    rejected = frozenset(s.rung for s in esc.steps if s.status == "rejected")
    # The failed step is part of the history the recommender climbs above.
    failed = replace(step, status="failed")
    climbed = replace(state, steps=tuple(failed if s.id == step.id else s for s in state.steps))
    return _propose_up(
        state=climbed,
        policy=policy,
        now=now,
        tonight=last_bad,
        why=why,
        mode=mode,
        excluded=rejected,
        opening=False,
        kind="recommend_next_rung",
        prefix=prefix,
        step_id=step.id,
        step_status="failed",
    )


def _without_step(
    state: LadderState,
    esc: Escalation,
    policy: Policy,
    now: datetime,
    tonight: Night,
    nights: tuple[Night, ...],
    outcome: RuleOutcome,
) -> Decision:
    if _recovered(nights, policy):
        return Decision(
            "resolved",
            f"recovered without a further step: no trigger on the last "
            f"{policy.rules.persistence_n} nights",
            close_escalation="resolved",
            notify=(policy.owner,),
        )
    last = esc.steps[-1] if esc.steps else None
    since = (last.closed_at if last is not None else None) or esc.opened_at
    cap = timedelta(days=policy.rules.review_every_days)
    if now - since >= cap:
        return Decision(
            "close",
            f"esc-{esc.id} has had no step in play since {since:%Y-%m-%d} "
            f"({cap.days} days): closed so the rules can open it afresh",
            close_escalation="closed",
        )
    if last is not None and last.status == "rejected":
        who = ", ".join(a.person for a in last.approvals if a.decision == "reject")
        return Decision(
            "hold",
            f"{last.rung} (step-{last.id}) was rejected by {who}; the ladder does not "
            "recommend again until the model recovers or an event reopens the decision "
            f"(closes {since + cap:%Y-%m-%d} otherwise)",
            due_at=since + cap,
        )
    if outcome.fired:
        rejected = frozenset(s.rung for s in esc.steps if s.status == "rejected")
        decision = _propose_up(
            state=state,
            policy=policy,
            now=now,
            tonight=tonight,
            why=_why(outcome),
            mode=failure_mode_for(
                tonight, fallback=esc.dominant_mode, earlier=outcome.firing_nights
            ),
            excluded=rejected,
            opening=False,
            kind="recommend_next_rung",
        )
        # "Nothing left" was news the night it happened; afterwards it is a hold.
        return replace(decision, kind="hold") if decision.kind == "exhausted" else decision
    return Decision("hold", f"esc-{esc.id} open without a step; {outcome.reason}")


def _mitigating(
    state: LadderState,
    esc: Escalation,
    policy: Policy,
    now: datetime,
    tonight: Night,
    nights: tuple[Night, ...],
    outcome: RuleOutcome,
) -> Decision:
    if _recovered(nights, policy):
        return Decision(
            "resolved",
            f"recovered: no trigger on the last {policy.rules.persistence_n} nights after "
            "the operational mitigation",
            close_escalation="resolved",
            notify=(policy.owner,),
        )
    clocked = _mitigation_clock(esc, policy, now)
    if clocked is not None:
        return clocked
    entry = policy.matrix.get(esc.dominant_mode or "")
    todo = entry.mitigation if entry is not None else "operational mitigation"
    acked = f"acknowledged by {esc.acked_by}" if esc.acked_by else "not acknowledged yet"
    return Decision(
        "hold",
        f"operational mitigation in progress for {esc.dominant_mode} ({todo}; {acked}); "
        f"{outcome.reason}",
    )


def _mitigation_clock(esc: Escalation, policy: Policy, now: datetime) -> Decision | None:
    """The reminder or escalation due on an open mitigation, if any."""
    due = mitigation_clock_due(esc, policy.sla, now)
    if due is None:
        return None
    if due.action == "escalate":
        return Decision(
            "escalate_approver",
            due.reason,
            mitigation_clock="escalate",
            notify=tuple(sorted({*next_level(policy), *responders(policy, esc.dominant_mode)})),
        )
    return Decision(
        "remind",
        due.reason,
        due_at=due.due_at,
        mitigation_clock=due.action,
        notify=responders(policy, esc.dominant_mode),
    )


def _reopen(
    state: LadderState,
    esc: Escalation,
    policy: Policy,
    now: datetime,
    tonight: Night,
    nights: tuple[Night, ...],
    outcome: RuleOutcome,
) -> Decision:
    """An event re-takes the cost-benefit decision under the register's current policy."""
    consumes = tuple(e.id for e in state.events)
    head = f"{describe_events(state.events)} reopened esc-{esc.id} under the current register"
    base = Decision(kind="reopen", reason=head, consumes_events=consumes, refresh_policy=True)
    step = esc.active_step
    if step is None:
        if esc.kind == "remediation" and (outcome.fired or not _recovered(nights, policy)):
            # A rejection may not stand once prices or rules changed: start from the matrix.
            mode = failure_mode_for(
                tonight, fallback=esc.dominant_mode, earlier=outcome.firing_nights
            )
            why = (
                _why(outcome)
                if outcome.fired
                else _Why("reopen", "decision reopened by an event", "reopened", esc.tier)
            )
            return _propose_up(
                state=state,
                policy=policy,
                now=now,
                tonight=tonight,
                why=why,
                mode=mode,
                opening=False,
                kind="reopen",
                prefix=f"{head}; ",
                consumes=consumes,
                refresh=True,
            )
        return replace(base, reason=f"{head}; no step in play")
    rung = policy.rung(step.rung)
    if step.status in ("pending", "blocked_by_budget") and step.direction == "up":
        if rung is None:
            return replace(
                base,
                reason=f"{head}; {step.rung} is no longer allowed for {policy.model_id}: "
                f"step-{step.id} withdrawn",
                step_id=step.id,
                step_status="withdrawn",
            )
        others = [s for s in state.steps if s.id != step.id]
        verdict = check_budget(rung, policy, others, now)
        new_status: StepStatus | None = None
        if step.status == "blocked_by_budget" and verdict.allowed:
            new_status = "approved" if rung.approval.min_approvals == 0 else "pending"
            effect = f"now fits: {verdict.reason}; unblocked"
        elif step.status == "pending" and not verdict.allowed:
            new_status = "blocked_by_budget"
            effect = f"{verdict.reason}; blocked, to unblock: {verdict.unblock}"
        elif verdict.allowed:
            effect = f"still fits: {verdict.reason}"
            if verdict.estimate.total != step.cost and step.approvers:
                effect += "; approvals already given still count"
        else:
            effect = f"still blocked: {verdict.reason}"
        return replace(
            base,
            reason=f"{head}; {step.rung} (step-{step.id}) {effect}",
            due_at=deadlines(now, step.tier, policy.sla).decide_due if new_status else None,
            step_id=step.id,
            step_status=new_status,
            step_cost=verdict.estimate.total,
        )
    return replace(base, reason=f"{head}; {step.rung} (step-{step.id}) is {step.status}, unchanged")


def clock_decision(
    state: LadderState, policy: Policy, now: datetime, *, directory: Directory | None = None
) -> Decision | None:
    """The SLA action due for the model's waiting step (reminder, next level, escalation,
    expiry, or unblocking by a new budget period) or open mitigation (reminder, next level)
    at ``now``, or ``None``. Used between nightly runs, so a 30-minute reminder goes out
    when ``modelhealth ladder tick`` (or the desk's minute loop) runs, not with the next
    nightly check."""
    esc = state.open_escalation
    if esc is None:
        return None
    if esc.kind == "mitigation":
        return _mitigation_clock(esc, policy, as_utc(now))
    step = esc.active_step
    if step is None or step.status not in ("pending", "blocked_by_budget"):
        return None
    decision = _waiting(state, step, policy, as_utc(now), directory)
    return None if decision.kind == "hold" else decision
