"""Post-incident reviews as timelines: a tier-3 incident is detected, decided, applied and
resolved on a fake clock; then its review falls due, is opened prefilled, filled in and
closed — or goes overdue and reminds.

support-assistant is owned by alice; bob approves; dave applies; alice and carol are ML
leads. The retrieval index takes three days of evaluation in these stories.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import pytest
from ladder_factories import START, Timeline, breach, make_register, measured, open_store, run_time
from sqlalchemy import create_engine, select
from sqlalchemy import text as sql

from ladder import audit
from ladder.actions import apply_step, approve
from ladder.errors import Refused
from ladder.incident import FollowUp
from ladder.incident_actions import current_brief, queue_overdue_reviews, record_review
from ladder.incident_store import load_records, review_for
from ladder.misses import clock_outcomes
from ladder.post_incident import due_reviews, parse_follow_up
from ladder.proof import prove
from ladder.store import LadderStore
from ladder.store import state_url as driver_url
from ladder.tables import notifications

FAST_EVALUATION = "ladder:\n  rungs: {retrieval_augmentation: {evaluation_days: 3}}"
TIER_3 = [breach("quality", tier=3, observed=0.70, limit=0.88)]
BAD = measured(
    quality=0.70, judged=1000, requests=1200, error_rate=0.02, latency_p95=2400, ece=0.12
)
GOOD = measured(
    quality=0.93, judged=1000, requests=1200, error_rate=0.005, latency_p95=2000, ece=0.02
)
UTC = timezone.utc


def at(day: int, hour: int = 10) -> datetime:
    """Office hours on START + ``day``."""
    return datetime.combine(START + timedelta(days=day), time(hour), tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LadderStore]:
    handle = open_store(tmp_path)
    yield handle
    handle.close()


def incident(store: LadderStore, register_yaml: str = FAST_EVALUATION) -> Timeline:
    """Night 0 breaches at tier 3 (acts the same night: esc-1, step-1 at day 1 02:00);
    bob approves at day 1 10:00, dave applies at 15:00; healthy nights from day 1 until
    the evaluation resolves esc-1 at day 5 02:00."""
    tl = Timeline(store, make_register(register_yaml))
    tl.play(TIER_3, mode="hallucination", metrics=BAD)
    assert tl.decision == "open_escalation"
    approve(store, "step-1", person="bob", register=tl.register, now=at(1, 10))
    apply_step(store, "step-1", person="dave", register=tl.register, now=at(1, 15))
    for _ in range(10):
        tl.play(metrics=GOOD)
        if tl.decision == "resolved":
            break
    assert tl.decision == "resolved"
    assert tl.played[-1] == START + timedelta(days=4)
    return tl


RESOLVED = run_time(START + timedelta(days=4))  # day 5 02:00
DUE = RESOLVED + timedelta(days=7)


def test_a_resolved_tier_3_incident_owes_a_review_within_a_week(store: LadderStore) -> None:
    incident(store)

    [due] = due_reviews(store.read(load_records), at(6))
    assert (due.escalation_id, due.owner, due.due_at, due.overdue, due.status) == (
        1,
        "alice",
        DUE,
        False,
        "not opened",
    )
    assert "run `modelhealth ladder pir esc-1`" in due.reason

    [late] = due_reviews(store.read(load_records), DUE + timedelta(minutes=1))
    assert late.overdue
    assert f"overdue since {DUE:%Y-%m-%d %H:%M} UTC" in late.reason


def test_an_overdue_review_reminds_the_owner_and_the_ml_leads_once_a_day(
    store: LadderStore,
) -> None:
    incident(store)

    assert queue_overdue_reviews(store, now=DUE - timedelta(hours=1)) == []  # not late yet
    first = queue_overdue_reviews(store, now=DUE + timedelta(hours=1))
    same_day = queue_overdue_reviews(store, now=DUE + timedelta(hours=5))
    next_day = queue_overdue_reviews(store, now=DUE + timedelta(days=1))

    assert [d.escalation_id for d in first] == [1]
    assert same_day == []
    assert [d.escalation_id for d in next_day] == [1]
    rows = store.read(
        lambda c: c.execute(
            select(notifications).where(notifications.c.kind == "review_overdue")
        ).all()
    )
    assert [sorted(r.recipients) for r in rows] == [["alice", "carol"], ["alice", "carol"]]
    assert "overdue since" in rows[0].payload["reason"]


def test_the_review_opens_prefilled_with_the_timeline_the_misses_and_what_the_rung_changed(
    store: LadderStore,
) -> None:
    tl = incident(store)
    opened_at = run_time(START)  # day 1 02:00

    change = record_review(store, "esc-1", person="alice", register=tl.register, now=at(6))
    review = change.review

    assert change.changes == (f"opened the review of esc-1 (due {DUE:%Y-%m-%d %H:%M} UTC)",)
    assert (review.status, review.opened_by, review.due_at) == ("open", "alice", DUE)
    moments = {t.label: t.at for t in review.timeline}
    assert moments == {
        "detected": opened_at,
        "communicated": None,
        "acknowledged": at(1, 10),  # bob's approval is the first human touch
        "decided": at(1, 10),
        "applied": at(1, 15),
        "resolved": RESOLVED,
    }
    # Tier 3: acknowledge in 2 h (due 04:00, met 10:00) and brief in 4 h (never sent).
    assert review.sla_misses[0] == (
        f"acknowledgement (step-1, tier 3): due {opened_at + timedelta(hours=2):%Y-%m-%d %H:%M} "
        f"UTC, met {at(1, 10):%Y-%m-%d %H:%M} UTC, 6.0 h late"
    )
    assert review.sla_misses[1].startswith(
        "communication (esc-1, tier 3): due "
        f"{opened_at + timedelta(hours=4):%Y-%m-%d %H:%M} UTC,"
        " never met"
    )
    assert len(review.sla_misses) == 2  # the decision (24 h) was met
    # Before: night 0 only; after: nights 1–4 until the escalation closed on day 5.
    quality = next(c for c in review.changes if c.metric == "quality")
    error_rate = next(c for c in review.changes if c.metric == "error rate")
    assert (quality.before, quality.after, quality.nights_before, quality.nights_after) == (
        pytest.approx(0.70),
        pytest.approx(0.93),
        1,
        4,
    )
    assert (error_rate.before, error_rate.after) == (pytest.approx(0.02), pytest.approx(0.005))
    assert review.rung == "retrieval_augmentation"
    assert store.read(audit.entries)[-1].action == "review.opened"
    assert store.read(prove).ok


def test_a_review_is_completed_and_closed_and_then_no_longer_changes(store: LadderStore) -> None:
    tl = incident(store)
    follow = parse_follow_up(
        "bob|2025-04-30|page the on-call ML lead for tier 3 steps", tl.register.people
    )

    record_review(
        store,
        "esc-1",
        person="alice",
        register=tl.register,
        now=at(6),
        went_well=["retrieval recovered quality within a day"],
        actions=[follow],
    )
    with pytest.raises(Refused, match="cannot close without what to improve"):
        record_review(store, "esc-1", person="alice", register=tl.register, now=at(7), close=True)
    closed = record_review(
        store,
        "esc-1",
        person="carol",
        register=tl.register,
        now=at(7),
        improve=["nobody saw step-1 for 8 hours"],
        close=True,
    ).review

    assert (closed.status, closed.closed_by, closed.closed_at) == ("closed", "carol", at(7))
    assert closed.went_well == "- retrieval recovered quality within a day"
    assert closed.improve == "- nobody saw step-1 for 8 hours"
    assert closed.actions == [
        {"owner": "bob", "due": "2025-04-30", "text": "page the on-call ML lead for tier 3 steps"}
    ]
    stored = store.read(lambda c: review_for(c, 1))
    assert stored is not None and stored.record is not None
    assert stored.record["timeline"][0]["label"] == "detected"
    assert stored.actions == (
        FollowUp("bob", date(2025, 4, 30), "page the on-call ML lead for tier 3 steps"),
    )
    # Closed on day 7, due day 12: the review clock was met.
    [facts] = store.read(lambda c: load_records(c).facts)
    [pir] = [o for o in clock_outcomes(facts, at(20)) if o.clock == "post_incident_review"]
    assert (pir.status, pir.done_at) == ("met", at(7))
    assert due_reviews(store.read(load_records), at(20)) == []
    with pytest.raises(Refused, match="was closed by carol"):
        record_review(
            store, "esc-1", person="alice", register=tl.register, now=at(8), improve=["more"]
        )
    assert [e.action for e in store.read(audit.entries)][-2:] == ["review.closed", "refused.review"]
    assert store.read(prove).ok


def test_a_review_closed_late_is_a_miss_of_its_own_clock(store: LadderStore) -> None:
    tl = incident(store)
    late = DUE + timedelta(days=2)
    record_review(
        store,
        "esc-1",
        person="alice",
        register=tl.register,
        now=late,
        went_well=["x"],
        improve=["y"],
        close=True,
    )
    [facts] = store.read(lambda c: load_records(c).facts)
    [pir] = [o for o in clock_outcomes(facts, late) if o.clock == "post_incident_review"]
    assert (pir.status, pir.late_by) == ("missed", timedelta(days=2))


def test_a_review_waits_for_the_incident_to_close(store: LadderStore) -> None:
    tl = Timeline(store, make_register())
    tl.play(TIER_3, mode="hallucination")
    with pytest.raises(
        Refused, match="esc-1 is still open: its post-incident review opens once it closes"
    ):
        record_review(store, "esc-1", person="alice", register=tl.register, now=at(2))
    assert due_reviews(store.read(load_records), at(2)) == []


def test_a_tier_2_incident_gets_no_review(store: LadderStore) -> None:
    tl = Timeline(store, make_register())
    tl.play([breach("quality", tier=2)], mode="hallucination")
    tl.play([breach("quality", tier=2)], mode="hallucination")
    approve(store, "step-1", person="bob", register=tl.register, now=at(2))
    apply_step(store, "step-1", person="dave", register=tl.register, now=at(2, 15))
    tl.play_until("resolved", limit=20)

    assert due_reviews(store.read(load_records), tl.office_hours()) == []
    with pytest.raises(Refused, match="post-incident reviews are for incidents of tier 3 or above"):
        record_review(store, "esc-1", person="alice", register=tl.register, now=tl.office_hours())


def test_a_repeat_of_the_same_failure_mode_is_linked_to_the_earlier_review(
    store: LadderStore,
) -> None:
    tl = incident(store)
    record_review(
        store,
        "esc-1",
        person="alice",
        register=tl.register,
        now=at(6),
        went_well=["fast"],
        improve=["slow ack"],
        close=True,
    )
    # Twelve days later the same model hallucinates again at tier 3: esc-2.
    while tl.night < START + timedelta(days=17):
        tl.play(metrics=GOOD)
    tl.play(TIER_3, mode="hallucination", metrics=BAD)
    assert tl.decision == "open_escalation"

    brief = store.read(lambda c: current_brief(c, 2, now=tl.office_hours()))
    assert brief.repeat_of == 1
    assert any(
        k.startswith("This repeats esc-1 (hallucination), which closed on") for k in brief.known
    )

    day = (tl.night - START).days
    approve(store, "step-2", person="bob", register=tl.register, now=at(day, 10))
    apply_step(store, "step-2", person="dave", register=tl.register, now=at(day, 15))
    tl.play_until("resolved", limit=20)  # the next rung up evaluates for 14 days
    second = record_review(
        store, "esc-2", person="alice", register=tl.register, now=tl.office_hours()
    ).review
    first = record_review(
        store, "esc-1", person="alice", register=tl.register, now=tl.office_hours()
    ).review

    assert second.repeat_of == 1
    opened = [e for e in store.read(audit.entries) if e.action == "review.opened"]
    assert opened[-1].subject == "esc-2" and opened[-1].reason.endswith("; repeats esc-1")
    assert first.repeated_by == [2]


def test_a_different_failure_mode_or_a_longer_gap_is_no_repeat(store: LadderStore) -> None:
    tl = incident(store, FAST_EVALUATION + "\n  incident: {repeat_within_days: 5}")
    while tl.night < START + timedelta(days=17):  # 12 days after esc-1 closed
        tl.play(metrics=GOOD)
    tl.play(TIER_3, mode="hallucination", metrics=BAD)
    brief = store.read(lambda c: current_brief(c, 2, now=tl.office_hours()))
    assert brief.repeat_of is None


def test_briefs_and_reviews_are_proven_by_the_log_on_sqlite_and_postgresql(
    state_url: str,
) -> None:
    from ladder.briefs import Brief
    from ladder.incident_actions import send_brief

    def text(brief: Brief) -> str:
        return brief.headline

    with LadderStore(state_url) as store:
        tl = Timeline(store, make_register(FAST_EVALUATION))
        tl.play(TIER_3, mode="hallucination", metrics=BAD)
        first = send_brief(
            store, "esc-1", person="alice", register=tl.register, now=at(1, 4), render=text
        )
        approve(store, "step-1", person="bob", register=tl.register, now=at(1, 10))
        apply_step(store, "step-1", person="dave", register=tl.register, now=at(1, 15))
        tl.play_until("resolved", limit=10)
        record_review(
            store,
            "esc-1",
            person="alice",
            register=tl.register,
            now=at(6),
            went_well=["fast"],
            improve=["slow ack"],
            actions=[FollowUp("bob", date(2025, 4, 30), "page sooner")],
            close=True,
        )

        verdict = store.read(prove)
        assert verdict.ok, verdict.problems
        assert first.sent and first.brief.judged == 1000 and first.brief.failed == 300
        review = store.read(lambda c: review_for(c, 1))
        assert review is not None and review.status == "closed"
        assert review.actions == (FollowUp("bob", date(2025, 4, 30), "page sooner"),)
        # A review edited behind the log's back is caught like any other state table.
        store.engine.dispose()

    engine = create_engine(driver_url(state_url))
    with engine.begin() as conn:
        conn.execute(sql("UPDATE ladder_reviews SET improve = 'nothing' WHERE id = 1"))
    engine.dispose()
    with LadderStore(state_url) as store:
        problems = store.read(prove).problems
    assert len(problems) == 1
    assert problems[0].startswith(
        "ladder_reviews id 1: improve is 'nothing' in the table but the log says '- slow ack'"
    )


def test_anyone_may_read_an_opened_review_but_only_the_accountable_open_or_change_it(
    store: LadderStore,
) -> None:
    tl = incident(store)
    with pytest.raises(Refused, match="dave neither owns support-assistant"):
        record_review(store, "esc-1", person="dave", register=tl.register, now=at(6))
    record_review(store, "esc-1", person="bob", register=tl.register, now=at(6))
    read = record_review(store, "esc-1", person="dave", register=tl.register, now=at(7))
    assert (read.review.status, read.review.opened_by, read.changes) == ("open", "bob", ())
    with pytest.raises(Refused, match="dave neither owns"):
        record_review(store, "esc-1", person="dave", register=tl.register, now=at(7), improve=["x"])
