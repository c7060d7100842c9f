"""Ladder statistics and diagrams, from hand-built escalations (pure functions)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ladder.diagram import ModelMark, ladder_mermaid
from ladder.rungs import default_ladder
from ladder.state import Escalation, Step
from ladder.stats import compute_stats, stats_dict
from modelhealth.cli.ladder_views import ladder_table, stats_table

T0 = datetime(2025, 4, 1, tzinfo=timezone.utc)


def escalation(
    id: int,
    *,
    model: str = "m",
    mode: str = "hallucination",
    tier: int = 2,
    opened_day: int,
    closed_day: int | None,
    status: str = "resolved",
    detected_hours: float = 26,
    decided_hours: float | None = 8,
    kind: str = "remediation",
) -> Escalation:
    opened = T0 + timedelta(days=opened_day)
    steps: tuple[Step, ...] = ()
    if decided_hours is not None:
        steps = (
            Step(
                id=id,
                escalation_id=id,
                model_id=model,
                rung="retrieval_augmentation",
                direction="up",
                status="succeeded",
                requested_by="alice",
                requested_at=opened,
                tier=tier,
                approvals_required=1,
                approved_at=opened + timedelta(hours=decided_hours),
            ),
        )
    return Escalation(
        id=id,
        model_id=model,
        kind=kind,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        tier=tier,
        opened_at=opened,
        dominant_mode=mode,
        first_trigger_at=opened - timedelta(hours=detected_hours),
        closed_at=None if closed_day is None else T0 + timedelta(days=closed_day),
        steps=steps,
    )


def test_stats_measure_detection_decision_resolution_tiers_and_repeats() -> None:
    history = [
        escalation(1, opened_day=0, closed_day=20, detected_hours=26, decided_hours=8),
        # Same model and mode, 30 days after the first closed: a repeat.
        escalation(
            2,
            opened_day=50,
            closed_day=None,
            status="open",
            tier=4,
            detected_hours=2,
            decided_hours=1,
        ),
        # Another mode on the same model is not a repeat.
        escalation(
            3,
            mode="format_violation",
            opened_day=60,
            closed_day=70,
            detected_hours=50,
            decided_hours=None,
        ),
        # Reviews are the review cycle, not incidents: not counted.
        escalation(4, kind="review", opened_day=80, closed_day=81),
    ]

    stats = compute_stats(history)

    assert stats.escalations == 3
    assert stats.by_tier == {2: 2, 4: 1}
    assert stats.by_status == {"open": 1, "resolved": 2}
    assert stats.by_kind == {"remediation": 3, "review": 1}
    assert stats.detection.count == 3
    assert stats.detection.median == timedelta(hours=26)
    assert stats.detection.p90 == timedelta(hours=50)
    assert stats.decision.count == 2
    assert stats.decision.median == timedelta(hours=4.5)
    assert stats.resolution.median == timedelta(days=15)
    assert stats.repeats == 1
    assert stats.repeat_rate == 1 / 3

    figures = stats_dict(stats)
    assert figures["time_to_resolution"]["median_hours"] == 360.0
    assert figures["by_tier"] == {"2": 2, "4": 1}
    assert stats_table(stats).row_count > 5


def test_stats_since_a_date_and_of_nothing() -> None:
    history = [
        escalation(1, opened_day=0, closed_day=2),
        escalation(2, opened_day=40, closed_day=41),
    ]
    later = compute_stats(history, since=T0 + timedelta(days=30))
    assert later.escalations == 1
    assert later.resolution.median == timedelta(days=1)

    empty = compute_stats([])
    assert (empty.escalations, empty.repeat_rate, empty.detection.median) == (0, None, None)


def test_the_mermaid_diagram_marks_rungs_in_force_and_steps_in_play() -> None:
    marks = [
        ModelMark(
            "support-assistant",
            in_force="prompt_optimization",
            step_ref="step-4",
            step_rung="retrieval_augmentation",
            step_status="pending",
        ),
        ModelMark("churn-classifier"),
    ]
    text = ladder_mermaid(
        default_ladder(), marks, people={"bob": ["model_owner"]}, title='Ladder "acme"'
    )

    assert text.startswith("---\ntitle: Ladder #quot;acme#quot;\n---\nflowchart TB\n")
    assert "m_support_assistant -. in force .-> r_prompt_optimization" in text
    assert 'm_support_assistant == "step-4 pending" ==> r_retrieval_augmentation' in text
    assert "m_churn_classifier:::idle" in text
    assert "1 approval from model_owner, not the requester (bob)" in text
    assert "<b>6. Full replacement</b>" in text


def test_the_text_diagram_lists_models_on_their_rungs() -> None:
    table = ladder_table(
        default_ladder(), [ModelMark("m", in_force="fine_tuning"), ModelMark("idle-model")]
    )
    assert table.row_count == 6
    assert table.caption == "Not on the ladder: idle-model"


def test_process_stats_acknowledgement_communication_misses_weekly_trend_and_repeats() -> None:
    import numpy as np
    from ladder_factories import WEEKLY_PLAN, weekly_incidents
    from scipy import stats as scipy_stats

    week1 = datetime(2025, 4, 7, 6, tzinfo=timezone.utc)  # a Monday
    plan = WEEKLY_PLAN
    facts = weekly_incidents(week1)
    now = week1 + timedelta(weeks=5, days=3)

    stats = compute_stats([f.escalation for f in facts], facts=facts, now=now, since=week1)

    acks = sorted(p[2] for p in plan)
    assert stats.acknowledgement.count == 9
    assert stats.acknowledgement.median == timedelta(hours=acks[4])  # 3 h
    assert stats.acknowledgement.p90 == timedelta(hours=acks[8])  # nearest rank: the 9th
    briefs = sorted(p[3] for p in plan if p[3] is not None)
    assert stats.communication.count == 8
    assert stats.communication.median == timedelta(hours=(briefs[3] + briefs[4]) / 2)
    # Misses by hand. Acknowledgement windows: tier 2 24 h, tier 3 2 h, tier 4 30 min (0 h
    # with the reminders' grace): misses are 30 h (t2) and 5 h (t3). Communication: t2 24 h,
    # t3 4 h, t4 1 h: 25 h (t2) and 6 h (t3) are late, and one t2 never briefed, due
    # long before `now`. Decisions equal acknowledgements here: t2 72 h, t3 24 h, t4 4 h:
    # none late.
    assert stats.misses_by_tier == {2: 3, 3: 2}
    assert stats.misses_by_clock == {"acknowledgement": 2, "communication": 3}
    totals = [w.total for w in stats.weekly]
    assert [w.week for w in stats.weekly] == [f"2025-W{n}" for n in range(15, 21)]
    assert totals == [1, 0, 2, 1, 3, 2]
    assert stats.trend[0] == pytest.approx(scipy_stats.linregress(range(6), totals).slope)
    tier3 = [w.by_tier.get(3, 0) for w in stats.weekly]
    assert stats.trend[3] == pytest.approx(np.polyfit(range(6), tier3, 1)[0])
    assert stats.trend_direction == "rising"
    figures = stats_dict(stats)
    assert figures["time_to_acknowledgement"]["median_hours"] == 3.0
    assert figures["sla_misses_by_tier"] == {"2": 3, "3": 2}
    assert figures["weekly"][4] == {
        "week": "2025-W19",
        "start": "2025-05-05",
        "total": 3,
        "by_tier": {"2": 1, "3": 2},
    }
    assert stats_table(stats).row_count > 15
