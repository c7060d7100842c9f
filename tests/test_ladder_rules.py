"""The pure parts of the ladder: rules, the recommender, guardrails, SLA clocks, the
response matrix, rungs and policy snapshots. No database, no real clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ladder_factories import make_register

from ladder.guardrails import check_budget, committed_spend, period_bounds
from ladder.matrix import default_matrix, effective_matrix, matrix_markdown
from ladder.policy import Policy, build_policy
from ladder.recommender import failure_mode_for, next_rung
from ladder.reminders import ReminderEntry, needs_reminder
from ladder.rules import counted_triggers, evaluate_rules
from ladder.rungs import default_ladder, effective_rungs
from ladder.sla import deadlines, sla_clocks
from ladder.state import SUPPORT_LEVEL, Night, Step, Trigger
from modelhealth.cli.ladder_views import matrix_table
from thresholds.schema import RuleSettings, SlaSettings
from thresholds.vocabulary import FAILURE_MODES, RUNGS

NOW = datetime(2025, 4, 9, 2, tzinfo=timezone.utc)
REGISTER = make_register()


def policy(model_yaml: str = "") -> Policy:
    register = make_register(model_yaml)
    return build_policy(register.model("support-assistant"), register, now=NOW)


def night(day: int, *triggers: Trigger, mode: str | None = None) -> Night:
    return Night(
        model_id="m",
        night=date(2025, 4, day),
        status="breach" if triggers else "healthy",
        triggers=triggers,
        dominant_mode=mode,
    )


def fired(name: str = "quality", tier: int = 2, level: str = "breach") -> Trigger:
    return Trigger(name, level, tier, 0.8, 0.88)


def step(
    rung: str,
    status: str,
    mode: str | None = "hallucination",
    *,
    id: int = 1,
    approved_at: datetime | None = None,
    cost: float = 0.0,
) -> Step:
    return Step(
        id=id,
        escalation_id=1,
        model_id="m",
        rung=rung,
        direction="up",
        status=status,  # type: ignore[arg-type]
        requested_by="alice",
        requested_at=NOW - timedelta(days=30),
        tier=2,
        mode=mode,
        approved_at=approved_at,
        cost=cost,
    )


# ------------------------------------------------------------------ rules


def test_co_fire_groups_count_a_trigger_only_with_its_partners() -> None:
    groups = [["drift.features", "quality"]]
    alone = night(7, fired("drift.features"))
    together = night(7, fired("drift.features"), fired("quality"))
    unrelated = night(7, fired("latency_ms.p95"), fired("drift.features"))

    assert counted_triggers(alone, groups) == ()
    assert [t.name for t in counted_triggers(together, groups)] == ["drift.features", "quality"]
    assert [t.name for t in counted_triggers(unrelated, groups)] == ["latency_ms.p95"]

    rules = RuleSettings(co_fire=groups, persistence_k=1, persistence_n=1)
    outcome = evaluate_rules([alone], rules)
    assert not outcome.fired
    assert "without the triggers they must co-fire with" in outcome.reason
    assert evaluate_rules([together], rules).fired


def test_warnings_are_never_triggers_and_blind_always_is() -> None:
    rules = RuleSettings(persistence_k=1, persistence_n=1)
    assert not evaluate_rules([night(7, fired(level="warning"))], rules).fired
    outcome = evaluate_rules([night(7, Trigger("blind", "blind", 2))], rules)
    assert outcome.fired and outcome.tier == 2


def test_persistence_counts_calendar_nights_not_rows() -> None:
    rules = RuleSettings(persistence_k=2, persistence_n=3)
    # Nights 5 and 8 are four days apart: the job skipped nights 6 and 7.
    outcome = evaluate_rules([night(5, fired()), night(8, fired())], rules)
    assert not outcome.fired
    assert "1 of the last 3 nights (2025-04-08)" in outcome.reason
    assert evaluate_rules([night(6, fired()), night(8, fired())], rules).fired


def supports(name: str = "quality") -> Trigger:
    return Trigger(name, SUPPORT_LEVEL, 0, 0.86, 0.88)


def quiet(day: int, *support: Trigger) -> Night:
    """A night without a trigger, whose checks may support persistence."""
    return Night(model_id="m", night=date(2025, 4, day), status="healthy", support=support)


def test_a_night_that_supports_a_breached_check_counts_towards_persistence() -> None:
    rules = RuleSettings(persistence_k=2, persistence_n=3)
    # Breach, then the same check significant at the support level: 2 of 3 nights.
    after = evaluate_rules([night(6, fired()), quiet(7, supports())], rules)
    assert (after.fired, after.rule, after.tier) == (True, "persistence", 2)
    assert "(1 by support)" in after.reason
    assert "2025-04-07: quality = 0.86 (limit 0.88, supports persistence)" in after.evidence
    # Support first, breach second: the same.
    before = evaluate_rules([quiet(6, supports()), night(7, fired())], rules)
    assert before.fired and [n.night.day for n in before.firing_nights] == [6, 7]


def test_support_never_acts_without_a_breach_of_the_same_check() -> None:
    rules = RuleSettings(persistence_k=2, persistence_n=3)
    # Support alone, however many nights: no trigger anywhere.
    assert not evaluate_rules(
        [quiet(5, supports()), quiet(6, supports()), quiet(7, supports())], rules
    ).fired
    # Support for another check than the one that breached does not count.
    other = evaluate_rules([night(6, fired("error_rate")), quiet(7, supports("quality"))], rules)
    assert not other.fired and "no trigger fired tonight" in other.reason
    # Support outside the 3-night window does not count either.
    assert not evaluate_rules([quiet(4, supports()), night(7, fired())], rules).fired
    # With persistence 1 of 1 every breach acts alone, and support has no role.
    single = RuleSettings(persistence_k=1, persistence_n=1)
    assert not evaluate_rules([night(6, fired()), quiet(7, supports())], single).fired


def test_severity_uses_the_highest_tier_tonight() -> None:
    rules = RuleSettings(same_night_tier=3)
    outcome = evaluate_rules([night(7, fired("quality", 2), fired("latency_ms.p99", 4))], rules)
    assert (outcome.fired, outcome.rule, outcome.tier) == (True, "severity", 4)
    assert "latency_ms.p99" in outcome.reason


# ------------------------------------------------------------ recommender


def test_next_rung_follows_the_matrix_and_climbs_above_failures() -> None:
    p = policy()
    assert next_rung("hallucination", p, []).rung.id == "retrieval_augmentation"  # type: ignore[union-attr]
    failed = [step("retrieval_augmentation", "failed")]
    choice = next_rung("hallucination", p, failed)
    assert choice.rung is not None and choice.rung.id == "few_shot_enrichment"
    assert "raised above retrieval_augmentation" in choice.reason
    # A failure for another mode does not raise this one.
    assert next_rung("format_violation", p, failed).rung.id == "prompt_optimization"  # type: ignore[union-attr]


def test_next_rung_skips_rungs_the_model_may_not_use() -> None:
    p = policy("ladder:\n  allowed_rungs: [prompt_optimization, fine_tuning, full_replacement]")
    choice = next_rung("hallucination", p, [])
    assert choice.rung is not None and choice.rung.id == "fine_tuning"
    assert "retrieval_augmentation, few_shot_enrichment not allowed" in choice.reason


def test_next_rung_is_exhausted_at_the_top_and_operational_for_availability() -> None:
    p = policy()
    everything = [step(r, "failed", id=i) for i, r in enumerate(RUNGS, start=1)]
    top = next_rung("hallucination", p, everything)
    assert top.exhausted and top.rung is None

    outage = next_rung("availability", p, [])
    assert outage.operational and outage.rung is None
    assert "Roll back the last change and page on-call" in outage.reason


def test_a_mode_is_inferred_from_the_checks_when_none_was_classified() -> None:
    assert failure_mode_for(night(7, fired("latency_ms.p95"))).mode == "latency_regression"
    assert failure_mode_for(night(7, fired("error_rate.summary"))).mode == "availability"
    assert failure_mode_for(night(7, fired("calibration.ece"))).mode == "confidence_miscalibration"
    assert failure_mode_for(night(7, fired("quality"))).mode is None
    assert (
        failure_mode_for(night(7, fired("quality"), mode="hallucination")).mode == "hallucination"
    )


def test_a_night_that_acts_by_support_takes_the_mode_of_the_breach_it_supports() -> None:
    breached = night(6, fired("error_rate"), mode="availability")
    tonight = quiet(7, supports("error_rate"))
    choice = failure_mode_for(tonight, earlier=(breached, tonight))
    assert (choice.mode, choice.how) == ("availability", "dominant failure mode on 2025-04-06")
    # Without a classified breach night, the supporting checks say what they can.
    unclassified = failure_mode_for(tonight, earlier=(night(6, fired("error_rate")), tonight))
    assert unclassified.mode == "availability" and "inferred" in unclassified.how
    # A night with triggers of its own infers from them, not from what merely supports.
    own = Night(
        model_id="m",
        night=date(2025, 4, 7),
        status="breach",
        triggers=(fired("latency_ms.p95"),),
        support=(supports("calibration.ece"),),
    )
    assert failure_mode_for(own, earlier=(breached, own)).mode == "latency_regression"


@settings(max_examples=200, deadline=None)
@given(
    mode=st.sampled_from([m for m in FAILURE_MODES if m != "availability"]),
    history=st.lists(
        st.tuples(
            st.sampled_from(RUNGS),
            st.sampled_from(["failed", "succeeded", "rejected", "pending", "evaluating"]),
            st.sampled_from(FAILURE_MODES),
        ),
        max_size=8,
    ),
    allowed=st.sets(st.sampled_from(RUNGS), min_size=1),
)
def test_next_rung_never_loops_or_repeats_a_failure(
    mode: str, history: list[tuple[str, str, str]], allowed: set[str]
) -> None:
    ordered = [r for r in RUNGS if r in allowed]
    p = policy(f"ladder:\n  allowed_rungs: [{', '.join(ordered)}]")
    steps = [step(r, s, m, id=i) for i, (r, s, m) in enumerate(history, start=1)]
    choice = next_rung(mode, p, steps)
    if choice.rung is None:
        assert choice.exhausted
        return
    picked = RUNGS.index(choice.rung.id)
    assert choice.rung.id in allowed
    assert choice.rung.id not in {s.rung for s in steps if s.active}
    matrix_rung = p.matrix[mode].rung
    assert matrix_rung is not None and picked >= RUNGS.index(matrix_rung)
    # Above every rung that failed for this mode, and every rung in force while it is back.
    beaten = [
        RUNGS.index(s.rung) for s in steps if s.status in ("failed", "succeeded") and s.mode == mode
    ]
    assert all(picked > b for b in beaten)


# ------------------------------------------------------------- guardrails


@pytest.mark.parametrize(
    ("moment", "period", "start", "end"),
    [
        (datetime(2025, 5, 17, tzinfo=timezone.utc), "quarter", date(2025, 4, 1), date(2025, 7, 1)),
        (
            datetime(2025, 12, 31, 23, tzinfo=timezone.utc),
            "quarter",
            date(2025, 10, 1),
            date(2026, 1, 1),
        ),
        (datetime(2025, 2, 3, tzinfo=timezone.utc), "month", date(2025, 2, 1), date(2025, 3, 1)),
        (datetime(2025, 2, 3, tzinfo=timezone.utc), "year", date(2025, 1, 1), date(2026, 1, 1)),
    ],
)
def test_budget_periods_are_calendar_periods(
    moment: datetime, period: str, start: date, end: date
) -> None:
    low, high = period_bounds(moment, period)
    assert (low.date(), high.date()) == (start, end)


def test_committed_spend_counts_approved_steps_of_this_period_only() -> None:
    p = policy()
    this_quarter = datetime(2025, 4, 2, tzinfo=timezone.utc)
    last_quarter = datetime(2025, 3, 30, tzinfo=timezone.utc)
    steps = [
        step("retrieval_augmentation", "failed", approved_at=this_quarter, cost=12_600, id=1),
        step("prompt_optimization", "succeeded", approved_at=last_quarter, cost=1_500, id=2),
        step("few_shot_enrichment", "pending", cost=4_900, id=3),
    ]
    assert committed_spend(steps, p, NOW) == 12_600


def test_a_new_period_unblocks_a_step_that_fits_the_budget_alone() -> None:
    p = policy("ladder:\n  budget: {amount: 15000}")
    rung = p.rung("few_shot_enrichment")
    assert rung is not None
    spent = [
        step(
            "retrieval_augmentation",
            "failed",
            cost=12_600,
            approved_at=datetime(2025, 4, 2, tzinfo=timezone.utc),
        )
    ]

    blocked = check_budget(rung, p, spent, NOW)
    assert not blocked.allowed
    assert blocked.unblock is not None
    assert "wait for the next quarter (from 2025-07-01)" in blocked.unblock
    assert "to at least USD 17,500" in blocked.unblock

    assert check_budget(rung, p, spent, datetime(2025, 7, 1, 2, tzinfo=timezone.utc)).allowed


# --------------------------------------------------------------- SLA clocks


def test_tier_deadlines_default_to_a_week_a_day_two_hours_and_immediately() -> None:
    clocks = sla_clocks()
    acks = [deadlines(NOW, tier, clocks).ack_due - NOW for tier in (1, 2, 3, 4)]
    assert acks == [timedelta(days=7), timedelta(hours=24), timedelta(hours=2), timedelta(0)]
    # Seed 000's tier 2: a mitigation plan communicated within 24 h, resolved within 48 h.
    tier2 = deadlines(NOW, 2, clocks)
    assert (tier2.ack_due - NOW, tier2.decide_due - NOW) == (
        timedelta(hours=24),
        timedelta(hours=48),
    )
    assert (clocks.remind_after, clocks.next_level_after) == (
        timedelta(minutes=30),
        timedelta(hours=2),
    )
    overridden = sla_clocks(
        SlaSettings(
            ack_hours={2: 8}, decide_hours={2: 72}, remind_after="1h", next_level_after="4h"
        )
    )
    d = deadlines(NOW, 2, overridden)
    assert (d.ack_due - NOW, d.decide_due - NOW, d.expire_at - NOW) == (
        timedelta(hours=8),
        timedelta(hours=72),
        timedelta(hours=216),
    )
    assert (overridden.remind_minutes, overridden.next_level_minutes) == (60, 240)


def test_clock_actions_happen_in_order_even_when_the_job_runs_late() -> None:
    waiting = replace(step("hybrid_routing", "pending"), requested_at=NOW, tier=4)
    clocks = sla_clocks()
    days_late = NOW + timedelta(days=3)  # every tier-4 deadline passed long ago

    first = needs_reminder(ReminderEntry.of(waiting, clocks), days_late)
    assert first.kind == "decision_reminder"
    reminded = replace(waiting, decision_reminded_at=days_late)
    second = needs_reminder(ReminderEntry.of(reminded, clocks), days_late)
    assert second.kind == "escalate"
    escalated = replace(reminded, escalated_at=days_late)
    third = needs_reminder(ReminderEntry.of(escalated, clocks), days_late)
    assert third.kind == "expire"
    assert third.due_at is None


# ------------------------------------------------------------ matrix, rungs


def test_the_shipped_matrix_matches_the_issue() -> None:
    rows = default_matrix()
    assert {m: rows[m].rung for m in FAILURE_MODES} == {
        "factual_error": "retrieval_augmentation",
        "hallucination": "retrieval_augmentation",
        "format_violation": "prompt_optimization",
        "domain_misapplication": "few_shot_enrichment",
        "confidence_miscalibration": "hybrid_routing",
        "latency_regression": "hybrid_routing",
        "availability": None,
    }
    assert "validator" in rows["format_violation"].mitigation


def test_the_matrix_takes_register_modes_and_model_overrides() -> None:
    register = make_register(
        "ladder:\n  response_matrix: {format_violation: {rung: few_shot_enrichment, "
        "owner: platform_team}}",
        top_yaml="failure_modes:\n  extra:\n    - {id: toxic_output, description: Add a "
        "moderation filter, rung: hybrid_routing}",
    )
    rows = effective_matrix(register.model("support-assistant"), register)

    assert (rows["format_violation"].rung, rows["format_violation"].owner) == (
        "few_shot_enrichment",
        "platform_team",
    )
    assert rows["format_violation"].mitigation == default_matrix()["format_violation"].mitigation
    assert (rows["toxic_output"].rung, rows["toxic_output"].source) == (
        "hybrid_routing",
        "register",
    )

    markdown = matrix_markdown(rows)
    assert "| `format_violation` (model) | `few_shot_enrichment` |" in markdown
    assert "| `availability` | not a ladder step |" in markdown
    assert matrix_table(rows).row_count == len(rows)


def test_register_overrides_replace_rung_defaults_field_by_field() -> None:
    entry = make_register(
        "approver_roles: [model_owner, finance]\n"
        "ladder:\n"
        "  allowed_rungs: [prompt_optimization, fine_tuning]\n"
        "  rungs: {fine_tuning: {cost_one_off: 25000, approval: {min_approvals: 3}}}"
    ).model("support-assistant")
    rungs = effective_rungs(entry)
    assert [r.id for r in rungs] == ["prompt_optimization", "fine_tuning"]
    fine_tuning = rungs[1]
    shipped = default_ladder()[3]
    assert (fine_tuning.cost_one_off, fine_tuning.cost_monthly) == (25000, shipped.cost_monthly)
    assert fine_tuning.approval.min_approvals == 3
    assert fine_tuning.approval.roles == ("model_owner", "finance", "ml_lead")
    assert fine_tuning.sunset_on == ("model_deprecation",)


def test_a_policy_snapshot_round_trips_through_json() -> None:
    p = policy(
        "ladder:\n  sla: {ack_hours: {1: 72}}\n  rules: {co_fire: [[quality, drift.features]]}"
    )
    again = Policy.from_json(p.to_json())
    assert again == p
    assert again.sla.ack_hours[1] == 72
    assert again.with_people({"zoe": ["model_owner"]}).holders(["model_owner"]) == ("zoe",)


def test_no_rung_above_the_first_proceeds_without_an_approval() -> None:
    entry = make_register(
        "ladder:\n  rungs: {fine_tuning: {approval: {min_approvals: 0}}, "
        "prompt_optimization: {approval: {min_approvals: 0}}}"
    ).model("support-assistant")
    rungs = {r.id: r for r in effective_rungs(entry)}
    assert rungs["fine_tuning"].approval.min_approvals == 1
    assert rungs["prompt_optimization"].approval.min_approvals == 0
