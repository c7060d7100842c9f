"""The stakeholder brief as timelines: nights on a fake clock, then the owner sends a brief.

support-assistant (owned by alice; bob is the other model owner; alice and carol are ML
leads; dave is an ML engineer) hallucinates on two nights at tier 2. The nightly job runs
at 02:00 UTC; alice tells the stakeholders during office hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from ladder_factories import START, Timeline, breach, make_register, measured, open_store, run_time
from sqlalchemy import select
from test_notify import Receiver, receiver  # noqa: F401  (a real local webhook)

from ladder import audit
from ladder.errors import Refused
from ladder.incident_actions import current_brief, send_brief
from ladder.incident_store import briefs_of, incident_facts
from ladder.misses import clock_outcomes
from ladder.proof import prove
from ladder.stats import compute_stats
from ladder.store import LadderStore, list_escalations
from ladder.tables import notifications
from modelhealth.outputs.notify.outbox import deliver_due
from modelhealth.outputs.records import render_brief_html, render_brief_markdown

QUALITY = [breach("quality", tier=2, observed=0.80, limit=0.88)]
#: Night 1: 200 of 1,000 judged answers wrong, 1,250 requests; night 2: 200 of 800, 1,000.
NIGHT_1 = measured(quality=0.80, judged=1000, requests=1250)
NIGHT_2 = measured(quality=0.75, judged=800, requests=1000)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LadderStore]:
    handle = open_store(tmp_path)
    yield handle
    handle.close()


def hallucinating(store: LadderStore, register_yaml: str = "") -> Timeline:
    """Two breaching nights: the persistence rule (2 of 3) opens esc-1 with step-1."""
    tl = Timeline(store, make_register(register_yaml))
    tl.play(QUALITY, mode="hallucination", metrics=NIGHT_1)
    tl.play(QUALITY, mode="hallucination", metrics=NIGHT_2)
    assert tl.decision == "open_escalation"
    return tl


def send(tl: Timeline, hours_after_opening: float, person: str = "alice") -> object:
    opened = run_time(START + timedelta(days=1))
    return send_brief(
        tl.store,
        "esc-1",
        person=person,
        register=tl.register,
        now=opened + timedelta(hours=hours_after_opening),
        render=render_brief_markdown,
    )


def test_the_brief_acknowledges_the_impact_with_the_real_counts_and_names_the_owner(
    store: LadderStore,
) -> None:
    tl = hallucinating(store)
    opened = run_time(START + timedelta(days=1))
    at = opened + timedelta(hours=8)

    brief = store.read(lambda c: current_brief(c, 1, now=at, register=tl.register))

    # 1. impact as users see it: since the first breaching night, 400 wrong of 1,800
    assert brief.since == START
    assert (brief.nights_affected, brief.judged, brief.failed, brief.requests) == (
        2,
        1800,
        400,
        2250,
    )
    assert brief.what_fails == "answers that invent facts or sources"
    assert (
        "Of 1,800 answers checked on those nights, 400 (22.2%) were wrong, out of "
        "2,250 requests served."
    ) in brief.impact
    # 2. responsibility, active voice
    assert brief.owner == "alice"
    assert brief.responsibility.startswith("alice owns support-assistant and is responsible")
    # 3. known, with the evidence; and what is not known yet
    assert brief.evidence == [
        f"{START}: quality = 0.8 (limit 0.88, tier 2)",
        f"{START + timedelta(days=1)}: quality = 0.8 (limit 0.88, tier 2)",
    ]
    assert any("hallucination" in k for k in brief.known)
    assert any(
        u.startswith(
            "Whether retrieval augmentation will be approved: the decision "
            f"is due {(opened + timedelta(hours=48)):%Y-%m-%d %H:%M} UTC"
        )
        for u in brief.unknown
    )
    # 4. every action has a named owner and a time: tier 2 acknowledges in 24 h and
    # decides in 72 h; bob is the only owner who may approve (alice requested it)
    plan = [(a.what.split(":")[0], a.owner, a.due) for a in brief.actions]
    assert plan == [
        ("Mitigate now", "alice", opened + timedelta(hours=24)),
        (
            "Decide whether to apply retrieval augmentation (retrieval_augmentation), USD 12,600 "
            "(9,000 one-off + 1,200/month × 3)",
            "bob",
            opened + timedelta(hours=48),
        ),
    ]
    # 5. follow-through: tier 2 updates every 24 h
    assert brief.next_update is not None
    assert (brief.next_update.owner, brief.next_update.due) == ("alice", at + timedelta(hours=24))

    text = render_brief_markdown(brief)
    for heading in (
        "## 1. What is happening",
        "## 2. Who is responsible",
        "## 3. What we know",
        "### What we do not know yet",
        "## 4. What we are doing",
        "## 5. Next update",
    ):
        assert heading in text
    assert "| Next update to stakeholders | alice | by " in text
    assert "<title>Brief · support-assistant · esc-1 · modelhealth</title>" in render_brief_html(
        brief
    )


def test_sending_records_the_time_queues_the_message_and_is_audited_once_per_content(
    store: LadderStore,
) -> None:
    tl = hallucinating(store)
    opened = run_time(START + timedelta(days=1))

    first = send(tl, 8)
    again = send(tl, 9)

    assert (first.sent, first.version, first.recipients) == (True, 1, ("alice", "bob", "carol"))
    assert (again.sent, again.version, again.previous_sent_at) == (
        False,
        1,
        opened + timedelta(hours=8),
    )
    [row] = store.read(lambda c: briefs_of(c, 1))
    assert (row.version, row.sent_at, row.sent_by, row.digest) == (
        1,
        opened + timedelta(hours=8),
        "alice",
        first.brief.digest,
    )
    queued = store.read(
        lambda c: c.execute(select(notifications).where(notifications.c.kind == "brief")).all()
    )
    assert len(queued) == 1
    assert queued[0].payload["text"].startswith("# Stakeholder brief: support-assistant (esc-1)")
    sent = [e for e in store.read(audit.entries) if e.action == "brief.sent"]
    assert [(e.actor, e.subject, e.payload["version"]) for e in sent] == [("alice", "esc-1", 1)]
    assert store.read(prove).ok

    # A third breaching night changes the counts: the brief is re-issued as version 2.
    tl.play(QUALITY, mode="hallucination", metrics=NIGHT_2)
    third = send(tl, 8 + 24)
    assert (third.sent, third.version, third.previous_sent_at) == (
        True,
        2,
        opened + timedelta(hours=8),
    )
    assert third.brief.judged == 2600 and third.brief.failed == 600
    assert store.read(prove).ok


def test_time_to_communication_is_measured_from_opening_to_the_first_send(
    store: LadderStore,
) -> None:
    tl = hallucinating(store)
    opened = run_time(START + timedelta(days=1))
    send(tl, 8)
    tl.play(QUALITY, mode="hallucination", metrics=NIGHT_2)
    send(tl, 30)  # an update the next day does not move the first communication

    facts = store.read(incident_facts)
    now = opened + timedelta(days=2)
    stats = compute_stats(store.read(list_escalations), facts=facts, now=now)

    assert stats.communication.count == 1
    assert stats.communication.median == timedelta(hours=8)
    [comm] = [o for o in clock_outcomes(facts[0], now) if o.clock == "communication"]
    assert (comm.status, comm.due_at, comm.done_at) == (
        "met",
        opened + timedelta(hours=24),
        opened + timedelta(hours=8),
    )


def test_a_brief_sent_after_the_window_is_a_communication_miss(store: LadderStore) -> None:
    tl = hallucinating(store)
    opened = run_time(START + timedelta(days=1))
    send(tl, 30)

    [facts] = store.read(incident_facts)
    [comm] = [
        o for o in clock_outcomes(facts, opened + timedelta(days=3)) if o.clock == "communication"
    ]
    assert (comm.status, comm.late_by) == ("missed", timedelta(hours=6))


def test_the_register_sets_the_communication_window_and_extra_stakeholders(
    store: LadderStore,
) -> None:
    tl = hallucinating(
        store,
        "ladder:\n  incident: {communicate_hours: {2: 4}, "
        "update_hours: {2: 12}, stakeholders: ['#support-leads']}",
    )
    opened = run_time(START + timedelta(days=1))

    result = send(tl, 5)

    assert "#support-leads" in result.recipients
    assert result.brief.next_update is not None
    assert result.brief.next_update.due == opened + timedelta(hours=5 + 12)
    [facts] = store.read(incident_facts)
    [comm] = [
        o for o in clock_outcomes(facts, opened + timedelta(days=1)) if o.clock == "communication"
    ]
    assert (comm.status, comm.late_by) == ("missed", timedelta(hours=1))


def test_a_tier_1_escalation_gets_no_brief_and_the_refusal_is_audited(
    store: LadderStore,
) -> None:
    tl = Timeline(store, make_register())
    low = [breach("latency_ms.p95", tier=1, observed=3600, limit=3500)]
    tl.play(low, mode="latency_regression")
    tl.play(low, mode="latency_regression")
    assert tl.decision == "open_escalation"

    with pytest.raises(Refused, match="stakeholder briefs are for incidents of tier 2 or above"):
        send(tl, 1)
    assert store.read(lambda c: briefs_of(c, 1)) == ()
    assert store.read(audit.entries)[-1].action == "refused.brief"


def test_only_someone_accountable_for_the_model_speaks_for_it(store: LadderStore) -> None:
    tl = hallucinating(store)
    with pytest.raises(Refused, match="dave neither owns support-assistant"):
        send(tl, 1, person="dave")
    assert send(tl, 1, person="carol").sent  # an ML lead (escalation role and admin) may


def test_the_brief_goes_out_through_the_outbox_to_a_real_webhook(
    store: LadderStore,
    receiver: Receiver,  # noqa: F811
) -> None:
    tl = hallucinating(store)
    opened = run_time(START + timedelta(days=1))
    send(tl, 8)

    run = deliver_due(store, url=receiver.url, now=opened + timedelta(hours=8, minutes=1))

    assert run.sent == 2  # bob's approval request, then the brief
    [payload] = [p for p in receiver.payloads if p["text"].startswith("# Stakeholder brief")]
    assert payload["text"].startswith("# Stakeholder brief: support-assistant (esc-1)")
    assert "400 (22.2%) were wrong" in payload["text"]
    assert "key" not in payload
