"""Ladder statistics and diagrams, from hand-built escalations (pure functions)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ladder.diagram import ModelMark, ladder_mermaid
from ladder.rungs import default_ladder
from ladder.state import Escalation, Step
from ladder.stats import compute_stats, stats_dict
from modelhealth.cli.ladder_views import ladder_table, stats_table

T0 = datetime(2025, 4, 1, tzinfo=timezone.utc)


def escalation(id: int, *, model: str = "m", mode: str = "hallucination", tier: int = 2,
               opened_day: int, closed_day: int | None, status: str = "resolved",
               detected_hours: float = 26, decided_hours: float | None = 8,
               kind: str = "remediation") -> Escalation:
    opened = T0 + timedelta(days=opened_day)
    steps: tuple[Step, ...] = ()
    if decided_hours is not None:
        steps = (Step(
            id=id, escalation_id=id, model_id=model, rung="retrieval_augmentation",
            direction="up", status="succeeded", requested_by="alice", requested_at=opened,
            tier=tier, approvals_required=1, approved_at=opened + timedelta(hours=decided_hours),
        ),)
    return Escalation(
        id=id, model_id=model, kind=kind,  # type: ignore[arg-type]
        status=status,  # type: ignore[arg-type]
        tier=tier, opened_at=opened, dominant_mode=mode,
        first_trigger_at=opened - timedelta(hours=detected_hours),
        closed_at=None if closed_day is None else T0 + timedelta(days=closed_day),
        steps=steps,
    )


def test_stats_measure_detection_decision_resolution_tiers_and_repeats() -> None:
    history = [
        escalation(1, opened_day=0, closed_day=20, detected_hours=26, decided_hours=8),
        # Same model and mode, 30 days after the first closed: a repeat.
        escalation(2, opened_day=50, closed_day=None, status="open", tier=4,
                   detected_hours=2, decided_hours=1),
        # Another mode on the same model is not a repeat.
        escalation(3, mode="format_violation", opened_day=60, closed_day=70,
                   detected_hours=50, decided_hours=None),
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
    history = [escalation(1, opened_day=0, closed_day=2), escalation(2, opened_day=40,
                                                                     closed_day=41)]
    later = compute_stats(history, since=T0 + timedelta(days=30))
    assert later.escalations == 1
    assert later.resolution.median == timedelta(days=1)

    empty = compute_stats([])
    assert (empty.escalations, empty.repeat_rate, empty.detection.median) == (0, None, None)


def test_the_mermaid_diagram_marks_rungs_in_force_and_steps_in_play() -> None:
    marks = [
        ModelMark("support-assistant", in_force="prompt_optimization", step_ref="step-4",
                  step_rung="retrieval_augmentation", step_status="pending"),
        ModelMark("churn-classifier"),
    ]
    text = ladder_mermaid(default_ladder(), marks, people={"bob": ["model_owner"]},
                          title='Ladder "acme"')

    assert text.startswith("---\ntitle: Ladder #quot;acme#quot;\n---\nflowchart TB\n")
    assert "m_support_assistant -. in force .-> r_prompt_optimization" in text
    assert 'm_support_assistant == "step-4 pending" ==> r_retrieval_augmentation' in text
    assert "m_churn_classifier:::idle" in text
    assert "1 approval from model_owner, not the requester (bob)" in text
    assert "<b>6. Full replacement</b>" in text


def test_the_text_diagram_lists_models_on_their_rungs() -> None:
    table = ladder_table(default_ladder(), [ModelMark("m", in_force="fine_tuning"),
                                            ModelMark("idle-model")])
    assert table.row_count == 6
    assert table.caption == "Not on the ladder: idle-model"
