"""The escalation ladder as timelines: nights on a fake clock through ``decide_night``.

Each test reads as a story about one model (support-assistant, owned by alice; bob is the
other model owner; alice and carol are ML leads; dave is an ML engineer). The nightly job
runs at 02:00 UTC after each night; people act during office hours the next day.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from ladder_factories import (
    MODEL,
    START,
    Timeline,
    blind,
    breach,
    make_register,
    model_report,
    notices,
    open_store,
    report_for,
    run_time,
    steps_of,
    supporting,
)
from sqlalchemy import func, select

from ladder import audit
from ladder.actions import acknowledge, add_event, apply_step, approve, reject
from ladder.errors import Refused
from ladder.nightly import decide_night, record_night, tick
from ladder.proof import prove
from ladder.standing import ladder_position
from ladder.store import LadderStore, list_escalations, night_record, step_packet
from ladder.tables import metadata
from modelhealth.analysis.history import escalation_timeline, night_history
from monitor.report import Check

HALLUCINATING = [breach("quality", tier=2, observed=0.80, limit=0.88)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LadderStore]:
    handle = open_store(tmp_path)
    yield handle
    handle.close()


def opened(store: LadderStore, register_yaml: str = "", mode: str = "hallucination") -> Timeline:
    """Two breaching nights: the persistence rule (2 of 3) opens an escalation."""
    tl = Timeline(store, make_register(register_yaml))
    tl.play(HALLUCINATING, mode=mode)
    tl.play(HALLUCINATING, mode=mode)
    assert tl.decision in ("open_escalation", "blocked_by_budget")
    return tl


def approved_and_applied(tl: Timeline) -> None:
    """bob approves the pending step and dave applies it the same day."""
    assert tl.last is not None
    approve(tl.store, tl.last.id, person="bob", register=tl.register, now=tl.office_hours(10))
    apply_step(tl.store, tl.last.id, person="dave", register=tl.register, now=tl.office_hours(15))


# ------------------------------------------------------------------ first breach


def test_first_breach_recommends_the_matrix_rung_with_a_full_handoff_packet(
    store: LadderStore,
) -> None:
    register = make_register("ladder:\n  rules: {persistence_k: 1, persistence_n: 1}")
    tl = Timeline(store, register)

    rec = tl.play(HALLUCINATING, modes={"hallucination": 0.7, "format_violation": 0.3})

    assert tl.decision == "open_escalation"
    assert rec is not None
    assert (rec.id, rec.rung, rec.status, rec.tier) == (
        "step-1",
        "retrieval_augmentation",
        "pending",
        2,
    )
    assert rec.estimated_cost == 9000 + 1200 * 3
    assert rec.approvals_required == 1
    # alice owns the model and requests the step; separation of duties leaves bob.
    assert rec.approvers == ["bob"]
    assert rec.due_at == run_time(START) + timedelta(hours=48)  # tier 2: resolved within 48 h
    assert "modelhealth ladder approve step-1 --as bob" in rec.commands
    assert any(c.startswith("modelhealth ladder reject step-1") for c in rec.commands)
    assert rec.summary.count(". ") == 0 and rec.summary.endswith(".")
    for words in ("support-assistant", "hallucination", "retrieval_augmentation", "USD 12,600"):
        assert words in rec.summary

    packet = store.read(lambda c: step_packet(c, 1))
    assert packet["rule"] == "persistence"
    assert packet["failure_modes"] == {"hallucination": 0.7, "format_violation": 0.3}
    assert packet["evidence"] == [f"{START}: quality = 0.8 (limit 0.88, tier 2)"]
    assert packet["rungs_tried"] == []
    assert packet["mitigation"].startswith("Require citations")
    assert packet["approval_policy"] == "1 approval from model_owner, not the requester"


def test_a_format_violation_gets_prompt_optimization_which_needs_no_approval(
    store: LadderStore,
) -> None:
    tl = opened(store, mode="format_violation")

    assert tl.last is not None
    assert (tl.last.rung, tl.last.status, tl.last.approvals_required) == (
        "prompt_optimization",
        "approved",
        0,
    )
    # Whoever pastes it applies it (their real account): no "<person>" placeholder, which
    # a shell would read as a redirection.
    assert tl.last.commands == ["modelhealth ladder apply step-1"]


# ------------------------------------------------------------------- rules


def test_persistence_needs_two_of_the_last_three_nights(store: LadderStore) -> None:
    tl = Timeline(store, make_register())

    assert tl.play(HALLUCINATING, mode="hallucination") is None
    assert tl.decision == "watch"
    assert "1 of the last 3 nights" in tl.reason

    assert tl.healthy() is None
    assert tl.decision == "no_action"

    rec = tl.play(HALLUCINATING, mode="hallucination")
    assert tl.decision == "open_escalation"
    assert rec is not None and rec.rung == "retrieval_augmentation"
    assert f"2 of the last 3 nights ({START}, {START + timedelta(days=2)})" in tl.reason


def test_a_breach_followed_by_a_night_that_supports_it_opens_an_escalation(
    store: LadderStore,
) -> None:
    tl = Timeline(store, make_register())
    assert tl.play(HALLUCINATING, mode="hallucination") is None
    assert tl.decision == "watch"

    # Tonight quality did not breach, but the same check is significant at the support
    # level: 2 of 3 nights show the problem.
    rec = tl.play(checks=[supporting("quality", observed=0.87)])
    assert tl.decision == "open_escalation"
    assert rec is not None and rec.rung == "retrieval_augmentation"
    assert "(1 by support)" in tl.reason

    # The state store keeps the support apart from the triggers, and history says so.
    nights = night_history(store, "support-assistant")
    second = nights.iloc[1]
    assert (second["status"], bool(second["triggered"])) == ("healthy", False)
    assert second["triggers"] == "quality 0.87 vs 0.88 (supports persistence)"
    kinds = escalation_timeline(store, "support-assistant")["kind"].tolist()
    assert kinds[0] == "breach" and "warning" not in kinds


def test_support_for_a_check_that_never_breached_does_nothing(store: LadderStore) -> None:
    tl = Timeline(store, make_register())
    for _ in range(3):
        assert tl.play(checks=[supporting("quality")]) is None
        assert tl.decision == "no_action"
    assert tl.play([breach("latency_ms.p95", tier=2)], checks=[supporting("quality")]) is None
    assert tl.decision == "watch"


def test_a_breach_that_left_the_window_does_not_count(store: LadderStore) -> None:
    tl = Timeline(store, make_register())
    tl.play(HALLUCINATING, mode="hallucination")
    tl.healthy(2)

    assert tl.play(HALLUCINATING, mode="hallucination") is None
    assert tl.decision == "watch"


@pytest.mark.parametrize("tier", [3, 4])
def test_tier_3_and_4_act_the_same_night(store: LadderStore, tier: int) -> None:
    tl = Timeline(store, make_register())

    rec = tl.play(
        [breach("latency_ms.p95", tier=tier, observed=9000, limit=3500)], mode="latency_regression"
    )

    assert tl.decision == "open_escalation"
    assert "acts the same night" in tl.reason
    assert rec is not None
    assert (rec.rung, rec.tier) == ("hybrid_routing", tier)
    assert rec.approvers == ["bob", "carol"]  # model_owner or ml_lead, not alice
    decide_hours = {3: 24, 4: 4}[tier]
    assert rec.due_at == run_time(START) + timedelta(hours=decide_hours)


def test_a_tier_2_breach_waits_for_persistence(store: LadderStore) -> None:
    tl = Timeline(store, make_register())
    assert tl.play([breach("latency_ms.p95", tier=2)], mode="latency_regression") is None
    assert tl.decision == "watch"


@pytest.mark.parametrize("threshold", ["blind", "labels.coverage"])
def test_a_blind_model_opens_a_mitigation_the_first_night_whatever_its_criticality(
    store: LadderStore, threshold: str
) -> None:
    # A criticality-1 model: a breach of it would wait for persistence at tier 1 or 2.
    quiet = "  - id: churn-classifier\n    owner: alice\n    criticality: 1\n"
    tl = Timeline(store, make_register(extra_models=quiet), model_id="churn-classifier")
    rec = tl.play([blind(threshold=threshold)])

    assert tl.decision == "mitigate"  # the first night: missing context fails safe
    assert rec is not None
    assert (rec.rung, rec.status, rec.tier) == (None, "mitigation", 4)
    assert "Restore prediction logging" in rec.summary
    # Its own clock: acknowledged by whoever it went to, named with the command.
    assert rec.due_at == run_time(START)  # tier 4: acknowledge at once
    assert rec.commands[0].startswith(f"modelhealth ladder ack {rec.id}")
    assert [(n.kind, n.recipients) for n in notices(store)] == [
        ("mitigate", ("alice", "dave"))  # the owner, and the ml_engineer the matrix names
    ]

    tl.healthy(3)
    assert tl.decision == "resolved"
    assert tl.last is None


def test_an_unacknowledged_mitigation_is_reminded_then_escalated_between_nights(
    store: LadderStore,
) -> None:
    tl = Timeline(store, make_register())
    rec = tl.play([blind(threshold="labels.coverage")])
    assert rec is not None
    opened_at = run_time(START)

    ticks = {
        minutes: tick(store, tl.register, now=opened_at + timedelta(minutes=minutes))
        for minutes in (1, 30, 120, 239, 240, 300)
    }

    # Tier 4: acknowledge at once, decide within 4 h; reminded once, escalated once.
    assert ticks == {
        1: {MODEL: "remind"},
        30: {},
        120: {},
        239: {},
        240: {MODEL: "escalate_approver"},
        300: {},
    }
    assert [(n.kind, n.recipients) for n in notices(store)] == [
        ("mitigate", ("alice", "dave")),
        ("ack_reminder", ("alice", "dave")),
        ("escalate", ("alice", "carol", "dave")),  # + the ML leads, the next level
    ]
    [esc] = store.read(lambda c: list_escalations(c))
    assert (esc.kind, esc.status, esc.acked_at) == ("mitigation", "open", None)
    assert esc.ack_reminded_at == opened_at + timedelta(minutes=1)
    assert esc.escalated_at == opened_at + timedelta(minutes=240)


def test_acknowledging_a_mitigation_stops_its_clock_and_is_audited(store: LadderStore) -> None:
    tl = Timeline(store, make_register())
    rec = tl.play([blind()])
    assert rec is not None
    at = run_time(START) + timedelta(minutes=10)

    with pytest.raises(Refused, match="bob is neither the owner"):
        acknowledge(store, rec.id, person="bob", register=tl.register, now=at)
    done = acknowledge(store, rec.id, person="dave", register=tl.register, now=at)

    assert done.message == f"{rec.id} acknowledged by dave"
    assert tick(store, tl.register, now=at + timedelta(hours=5)) == {}
    assert [n.kind for n in notices(store)] == ["mitigate"]
    rows = store.read(audit.entries)
    assert ("escalation.acknowledged", rec.id, "dave") in [
        (r.action, r.subject, r.actor) for r in rows
    ]
    # The next night still blind: held, and the reason says who is on it.
    tl.play([blind()])
    assert (tl.decision, "acknowledged by dave" in tl.reason) == ("hold", True)


# ------------------------------------------------------------------ no loops


def test_a_pending_item_is_not_recommended_again(store: LadderStore) -> None:
    tl = opened(store)
    first = tl.last
    assert first is not None

    for _ in range(2):
        rec = tl.play(HALLUCINATING, mode="hallucination")
        assert rec is not None and rec.id == first.id
        assert tl.decision in ("hold", "remind", "escalate_approver")

    approve(store, first.id, person="bob", register=tl.register, now=tl.office_hours())
    tl.play(HALLUCINATING, mode="hallucination")
    assert tl.decision == "hold"
    assert "waiting to be applied" in tl.reason

    apply_step(store, first.id, person="dave", register=tl.register, now=tl.office_hours())
    tl.play(HALLUCINATING, mode="hallucination")
    assert tl.decision == "hold"
    assert "under evaluation until" in tl.reason

    assert [s.rung for s in steps_of(store)] == ["retrieval_augmentation"]


# ------------------------------------------------------------- evaluation


def test_a_rung_that_did_not_help_moves_to_the_next_rung(store: LadderStore) -> None:
    tl = opened(store)
    approved_and_applied(tl)

    nights = tl.play_until("recommend_next_rung", HALLUCINATING, mode="hallucination", limit=20)

    # Applied during day 3, evaluated for 14 days: the 15th nightly run judges it.
    assert nights == 15
    assert "retrieval_augmentation (step-1) did not recover the model" in tl.reason
    first, second = steps_of(store)
    assert first.status == "failed"
    assert (second.rung, second.status) == ("few_shot_enrichment", "pending")
    packet = store.read(lambda c: step_packet(c, second.id))
    assert [(t["rung"], t["status"]) for t in packet["rungs_tried"]] == [
        ("retrieval_augmentation", "failed")
    ]
    assert "raised above retrieval_augmentation" in packet["recommendation_reason"]


def test_recovery_held_over_the_evaluation_period_resolves(store: LadderStore) -> None:
    tl = opened(store)
    approved_and_applied(tl)

    tl.play_until("resolved", limit=20)

    assert "recovered: no trigger on any of the 14 nights" in tl.reason
    assert tl.last is None
    assert ladder_position(store, "support-assistant") == "retrieval_augmentation"
    [escalation] = store.read(lambda c: list_escalations(c))
    assert escalation.status == "resolved"
    assert [s.status for s in escalation.steps] == ["succeeded"]


def test_sustained_health_recommends_stepping_down_to_save_cost(store: LadderStore) -> None:
    tl = opened(store)
    approved_and_applied(tl)
    tl.play_until("resolved", limit=20)

    nights = tl.play_until("step_down", limit=70)

    assert nights == 60
    assert "stepping down saves USD 1,200/month" in tl.reason
    rec = tl.last
    assert rec is not None
    assert (rec.rung, rec.status, rec.approvers) == (
        "retrieval_augmentation",
        "step_down_pending",
        ["bob"],
    )
    approve(store, rec.id, person="bob", register=tl.register, now=tl.office_hours(9))
    apply_step(store, rec.id, person="dave", register=tl.register, now=tl.office_hours(11))

    assert ladder_position(store, "support-assistant") is None
    assert [s.status for s in steps_of(store)] == ["stepped_down", "applied"]


# ------------------------------------------------------------------ clocks


def test_an_overdue_approval_only_seen_by_the_nightly_run_is_reminded_then_escalated_then_expires(
    store: LadderStore,
) -> None:
    # Tier 2: acknowledge within 24 h, decide within 48 h; reminders due at 30 min and
    # 2 h go out one per run, in order, when nothing but the nightly job runs the clocks.
    tl = opened(store)
    requested = run_time(START + timedelta(days=1))

    kinds = []
    while tl.last is not None:
        tl.healthy()
        kinds.append((tl.now - timedelta(days=1) - requested, tl.decision))

    hours = [(int(delta.total_seconds() // 3600), kind) for delta, kind in kinds]
    assert [h for h in hours if h[1] != "hold"] == [
        (24, "remind"),  # nobody acknowledged: re-notified (due at 30 min)
        (48, "escalate_approver"),  # the next level (due at 2 h)
        (72, "remind"),  # the decision was due at 48 h: re-notified once
        (144, "expire"),  # the cap, 48 h + 2 × 48 h: the item ends as expired
    ]
    assert [(n.kind, n.recipients) for n in notices(store)] == [
        ("approval_requested", ("bob",)),
        ("ack_reminder", ("bob",)),
        # No manager is named: the holders of ml_lead, the rung's escalate_to role.
        ("next_level", ("alice", "bob", "carol")),
        # Once escalated, the ML leads may decide too (alice requested it: not her).
        ("decision_reminder", ("bob", "carol")),
        ("expire", ("alice", "bob", "carol")),
    ]
    [escalation] = store.read(lambda c: list_escalations(c))
    assert escalation.status == "expired"
    assert escalation.steps[0].status == "expired"


def test_acknowledging_stops_reminders_but_not_the_decision_clock(store: LadderStore) -> None:
    tl = opened(store)
    assert tl.last is not None
    acknowledge(store, tl.last.id, person="bob", register=tl.register, now=tl.office_hours(8))

    decisions = []
    for _ in range(6):
        tl.healthy()
        decisions.append(tl.decision)

    # Decided by 48 h, escalated one interval later (96 h), expired at the cap (144 h).
    assert decisions == ["hold", "hold", "hold", "escalate_approver", "hold", "expire"]
    assert [n.kind for n in notices(store)] == ["approval_requested", "escalate", "expire"]


# ------------------------------------------------------------------- money


def test_a_step_over_budget_is_blocked_with_what_would_unblock_it(store: LadderStore) -> None:
    tl = opened(store, "ladder:\n  budget: {amount: 10000}")

    rec = tl.last
    assert tl.decision == "blocked_by_budget"
    assert rec is not None and rec.status == "blocked_by_budget"
    assert "raise ladder.budget.amount for support-assistant to at least USD 12,600" in rec.summary
    assert "wait for the next quarter" not in rec.summary  # 12,600 never fits 10,000
    assert rec.commands == ["modelhealth ladder event add budget_change --model support-assistant"]
    with pytest.raises(Refused, match="blocked by budget"):
        approve(store, rec.id, person="bob", register=tl.register, now=tl.office_hours())

    # Raising the budget in the register does not change the open decision…
    tl.register = make_register("ladder:\n  budget: {amount: 20000}")
    tl.play(HALLUCINATING, mode="hallucination")
    assert tl.last is not None and tl.last.status == "blocked_by_budget"

    # …until an event reopens it under the register as it is now.
    add_event(
        store,
        kind="budget_change",
        register=tl.register,
        person="carol",
        now=tl.office_hours(),
        models=["support-assistant"],
        note="Q2 budget raised",
    )
    rec = tl.play(HALLUCINATING, mode="hallucination")
    assert tl.decision == "reopen"
    assert "event budget_change #1" in tl.reason and "unblocked" in tl.reason
    assert rec is not None and (rec.id, rec.status) == ("step-1", "pending")


def test_a_step_over_its_rung_ceiling_is_blocked(store: LadderStore) -> None:
    tl = opened(
        store,
        "ladder:\n"
        "  response_matrix: {hallucination: {rung: fine_tuning}}\n"
        "  rungs: {fine_tuning: {cost_ceiling: 20000}}",
    )

    assert tl.decision == "blocked_by_budget"
    assert "over its ceiling of USD 20,000" in tl.reason
    assert tl.last is not None
    assert "raise ladder.rungs.fine_tuning.cost_ceiling to at least USD 22,500" in tl.last.summary


# --------------------------------------------------------------- approvals


def test_an_approver_without_the_role_is_refused(store: LadderStore) -> None:
    tl = opened(store)
    assert tl.last is not None

    with pytest.raises(
        Refused,
        match=r"dave holds ml_engineer; deciding "
        r"retrieval_augmentation needs one of model_owner",
    ):
        approve(store, tl.last.id, person="dave", register=tl.register, now=tl.office_hours())

    [step] = steps_of(store)
    assert (step.status, step.approvals) == ("pending", ())
    history = store.read(audit.entries)
    assert (history[-1].actor, history[-1].action) == ("dave", "refused.approve")


def test_separation_of_duties_and_one_count_per_person(store: LadderStore) -> None:
    tl = Timeline(store, make_register())
    rec = tl.play([breach("latency_ms.p95", tier=3)], mode="latency_regression")
    assert rec is not None and rec.rung == "hybrid_routing" and rec.approvals_required == 2

    with pytest.raises(Refused, match="separation of duties: alice requested step-1"):
        approve(store, rec.id, person="alice", register=tl.register, now=tl.office_hours())

    first = approve(store, rec.id, person="bob", register=tl.register, now=tl.office_hours(11))
    assert first.status == "pending" and "1 more needed" in first.message
    with pytest.raises(Refused, match=r"bob already approved step-1 .*; a person counts once"):
        approve(store, rec.id, person="bob", register=tl.register, now=tl.office_hours(12))

    done = approve(store, rec.id, person="carol", register=tl.register, now=tl.office_hours(13))
    assert done.status == "approved"
    [step] = steps_of(store)
    assert step.approvers == ("bob", "carol")


def test_a_policy_may_let_the_requester_approve(store: LadderStore) -> None:
    tl = opened(
        store,
        "ladder:\n  rungs: {retrieval_augmentation: {approval: {requester_may_approve: true}}}",
    )
    assert tl.last is not None and tl.last.approvers == ["alice", "bob"]
    result = approve(store, tl.last.id, person="alice", register=tl.register, now=tl.office_hours())
    assert result.status == "approved"


def test_a_rejection_holds_the_ladder_until_an_event_reopens_it(store: LadderStore) -> None:
    tl = opened(store)
    assert tl.last is not None
    reject(
        store,
        tl.last.id,
        person="bob",
        register=tl.register,
        now=tl.office_hours(),
        reason="retrieval index not ready until Q3",
    )

    rec = tl.play(HALLUCINATING, mode="hallucination")
    assert tl.decision == "hold" and "rejected by bob" in tl.reason
    assert rec is not None and (rec.status, rec.rung) == ("rejected", None)
    assert len(steps_of(store)) == 1

    add_event(
        store,
        kind="price_change",
        register=tl.register,
        person="carol",
        now=tl.office_hours(),
        note="vector DB price halved",
    )
    rec = tl.play(HALLUCINATING, mode="hallucination")
    assert tl.decision == "reopen"
    assert rec is not None and (rec.rung, rec.status) == ("retrieval_augmentation", "pending")


# ------------------------------------------------------------ review cycle


def test_an_event_reopens_the_decision_for_the_rung_in_force(store: LadderStore) -> None:
    tl = opened(store)
    approved_and_applied(tl)
    tl.play_until("resolved", limit=20)

    add_event(
        store,
        kind="foundation_model_update",
        register=tl.register,
        person="carol",
        now=tl.office_hours(),
        note="vendor released v5",
    )
    rec = tl.healthy()

    assert tl.decision == "review"
    assert "event foundation_model_update #1" in tl.reason
    assert "reopened the decision for retrieval_augmentation (in force since" in tl.reason
    assert rec is not None and (rec.rung, rec.status) == (
        "retrieval_augmentation",
        "review_pending",
    )
    approve(store, rec.id, person="bob", register=tl.register, now=tl.office_hours())
    assert ladder_position(store, "support-assistant") == "retrieval_augmentation"
    tl.healthy()
    assert tl.decision == "no_action"


def test_rejecting_a_review_retires_the_rung(store: LadderStore) -> None:
    tl = opened(store)
    approved_and_applied(tl)
    tl.play_until("resolved", limit=20)
    add_event(
        store, kind="regulatory_change", register=tl.register, person="carol", now=tl.office_hours()
    )
    rec = tl.healthy()
    assert rec is not None

    reject(
        store,
        rec.id,
        person="bob",
        register=tl.register,
        now=tl.office_hours(),
        reason="EU AI Act: retrieval sources need re-certification",
    )

    assert ladder_position(store, "support-assistant") is None
    assert [s.status for s in steps_of(store)] == ["retired", "rejected"]


def test_a_deprecated_base_model_retires_the_fine_tune(store: LadderStore) -> None:
    tl = opened(store, "ladder:\n  response_matrix: {hallucination: {rung: fine_tuning}}")
    assert tl.last is not None and tl.last.rung == "fine_tuning"
    approve(store, tl.last.id, person="bob", register=tl.register, now=tl.office_hours(9))
    approve(store, tl.last.id, person="carol", register=tl.register, now=tl.office_hours(10))
    apply_step(store, tl.last.id, person="dave", register=tl.register, now=tl.office_hours(11))
    tl.play_until("resolved", limit=30)
    assert ladder_position(store, "support-assistant") == "fine_tuning"

    add_event(
        store,
        kind="model_deprecation",
        register=tl.register,
        person="carol",
        now=tl.office_hours(),
        note="base model retired by the vendor",
    )
    tl.healthy()

    assert ladder_position(store, "support-assistant") is None
    [step] = steps_of(store)
    assert step.status == "retired"
    assert "retired by its sunset criteria" in step.reason


def test_a_scheduled_review_falls_due(store: LadderStore) -> None:
    # prompt_optimization costs nothing monthly, so it is reviewed, never stepped down.
    tl = opened(store, mode="format_violation")
    assert tl.last is not None
    apply_step(store, tl.last.id, person="dave", register=tl.register, now=tl.office_hours())
    tl.play_until("resolved", limit=20)

    nights = tl.play_until("review", limit=100)

    assert nights == 90
    assert "scheduled review (every 90 days) of prompt_optimization" in tl.reason


# -------------------------------------------------------------- idempotence


def _row_counts(store: LadderStore) -> dict[str, int]:
    return store.read(
        lambda c: {
            t.name: int(c.execute(select(func.count()).select_from(t)).scalar_one())
            for t in metadata.sorted_tables
        }
    )


def test_rerunning_a_night_changes_nothing(store: LadderStore) -> None:
    tl = opened(store)
    night = START + timedelta(days=1)
    report = report_for(night, [model_report(night, HALLUCINATING, mode="hallucination")])
    before = _row_counts(store)

    again = decide_night(store, report, tl.register, now=run_time(night) + timedelta(hours=5))

    assert again == {"support-assistant": tl.last}
    assert _row_counts(store) == before


def test_rerunning_a_night_with_a_different_report_keeps_the_decision(
    store: LadderStore,
) -> None:
    tl = opened(store)
    night = START + timedelta(days=1)
    healthier = report_for(night, [model_report(night, [], mode=None)])
    before = _row_counts(store)

    again = decide_night(store, healthier, tl.register, now=run_time(night))

    assert again == {"support-assistant": tl.last}
    after = _row_counts(store)
    assert after["ladder_audit"] == before["ladder_audit"] + 1
    assert {k: v for k, v in after.items() if k != "ladder_audit"} == {
        k: v for k, v in before.items() if k != "ladder_audit"
    }


def test_a_rerun_that_differs_only_in_what_decides_nothing_says_nothing(
    store: LadderStore,
) -> None:
    # Evidently's Jensen–Shannon distance can move in its last digit between processes:
    # the report's bytes differ, the decision's inputs do not.
    tl = opened(store)
    night = START + timedelta(days=1)
    noisy = Check(
        threshold="drift.features", status="ok", observed=0.1234567891, limit=0.5, direction="max"
    )
    rerun = report_for(
        night, [model_report(night, HALLUCINATING, mode="hallucination", checks=[noisy])]
    )
    before = _row_counts(store)

    again = record_night(store, rerun, tl.register, now=run_time(night) + timedelta(hours=5))

    assert (again.recommendations, again.reruns) == ({MODEL: tl.last}, {})
    assert _row_counts(store) == before


def test_redeciding_a_night_withdraws_the_step_its_old_decision_opened(
    store: LadderStore,
) -> None:
    tl = opened(store)  # night 2 opened an escalation with a pending step for bob
    night = START + timedelta(days=1)
    [pending] = steps_of(store)
    healthy = report_for(night, [model_report(night, [], mode=None)])

    stands = record_night(store, healthy, tl.register, now=run_time(night) + timedelta(hours=6))
    assert stands.reruns[MODEL].outcome == "stands"
    assert stands.reruns[MODEL].differences == [
        "status breach → healthy",
        "quality: breach, tier 2 → nothing",
        "dominant failure mode hallucination → none",
    ]
    assert steps_of(store)[0].status == "pending"  # the decision stands

    redone = record_night(
        store, healthy, tl.register, now=run_time(night) + timedelta(hours=7), redecide_by="carol"
    )

    assert redone.reruns[MODEL].outcome == "superseded"
    assert redone.recommendations == {MODEL: None}
    [withdrawn] = steps_of(store)
    assert (withdrawn.id, withdrawn.status) == (pending.id, "withdrawn")
    [esc] = store.read(lambda c: list_escalations(c))
    assert (esc.status, esc.outcome.startswith(f"esc-{esc.id} withdrawn")) == ("closed", True)
    record = store.read(lambda c: night_record(c, MODEL, night))
    assert record is not None and record.night.status == "healthy"
    assert record.decision_kind == "no_action" and "redecided by carol" in record.decision_reason
    actions = [(e.action, e.actor) for e in store.read(audit.entries)]
    assert ("night.rerun_differs", "modelhealth") in actions
    assert actions[-3:] == [
        ("step.withdrawn", "carol"),
        ("escalation.closed", "carol"),
        ("night.redecided", "carol"),
    ]
    assert store.read(lambda c: prove(c)).ok


def test_redeciding_keeps_the_escalation_when_the_rerun_still_fires(store: LadderStore) -> None:
    tl = opened(store)
    night = START + timedelta(days=1)
    worse = report_for(
        night,
        [model_report(night, [breach("quality", tier=3, observed=0.7)], mode="hallucination")],
    )

    redone = record_night(
        store, worse, tl.register, now=run_time(night) + timedelta(hours=7), redecide_by="carol"
    )

    note = redone.reruns[MODEL]
    assert (note.outcome, note.differences) == (
        "superseded",
        ["quality: breach, tier 2 → breach, tier 3"],
    )
    assert "kept: the rerun still opens an escalation" in note.message
    assert [s.status for s in steps_of(store)] == ["pending"]


def test_only_the_latest_night_can_be_redecided(store: LadderStore) -> None:
    tl = opened(store)
    tl.healthy()  # night 3 decided on top of night 2
    night = START + timedelta(days=1)
    healthy = report_for(night, [model_report(night, [], mode=None)])

    redone = record_night(store, healthy, tl.register, now=tl.now, redecide_by="carol")

    assert redone.reruns[MODEL].outcome == "stands"
    assert "cannot be redecided" in redone.reruns[MODEL].message
    assert [s.status for s in steps_of(store)] == ["pending"]


def test_a_pending_step_down_gives_way_when_the_model_breaches_again(
    store: LadderStore,
) -> None:
    tl = opened(store)
    approved_and_applied(tl)
    tl.play_until("resolved", limit=20)
    tl.play_until("step_down", limit=70)

    rec = tl.play([breach("quality", tier=3)], mode="hallucination")

    assert tl.decision == "open_escalation"
    assert tl.reason.startswith("step-down esc-2 withdrawn because a rule fired; ")
    # retrieval_augmentation is still in force, yet hallucination is back: climb above it.
    assert rec is not None and rec.rung == "few_shot_enrichment"
    assert "raised above retrieval_augmentation (in force, yet hallucination is back)" in (
        tl.reason
    )
    escalations = store.read(lambda c: list_escalations(c))
    assert [(e.kind, e.status) for e in escalations] == [
        ("remediation", "resolved"),
        ("step_down", "closed"),
        ("remediation", "open"),
    ]
    assert [s.status for s in steps_of(store)] == ["succeeded", "withdrawn", "pending"]
