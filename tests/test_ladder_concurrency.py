"""Real processes writing the same store at the same moment, on SQLite and PostgreSQL.

Two approvals of one step: one applies. On SQLite the store starts write transactions
with ``BEGIN IMMEDIATE``; on PostgreSQL the loser's compare-and-set on the step's
version (or its audit row's ``seq``) fails and its transaction re-runs on fresh data. In
both, the second approver is refused ("already approved"), whichever process wins.
Many processes recording events at once keep the audit chain linear, and the log still
proves every row they wrote.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
from ladder_factories import steps_of
from sqlalchemy import text

from ladder import audit
from ladder.store import LadderStore

REQUESTER_MAY_APPROVE = (
    "ladder:\n  rungs: {retrieval_augmentation: {approval: {requester_may_approve: true}}}"
)


def approve_when_released(url: str, step: str, person: str, barrier: Barrier, results: Any) -> None:
    """Child process: open the store, wait for the other process, approve."""
    from datetime import datetime, timezone

    from ladder_factories import make_register

    from ladder.actions import approve
    from ladder.errors import Refused

    store = LadderStore(url)
    register = make_register(REQUESTER_MAY_APPROVE)
    barrier.wait(timeout=60)
    try:
        result = approve(
            store,
            step,
            person=person,
            register=register,
            now=datetime(2025, 4, 9, 10, tzinfo=timezone.utc),
        )
        results.put((person, "applied", result.status))
    except Refused as exc:
        results.put((person, "refused", str(exc)))
    finally:
        store.close()


@pytest.fixture
def store(state_url: str) -> Iterator[LadderStore]:
    handle = LadderStore(state_url)
    yield handle
    handle.close()


def _race(store: LadderStore, people: tuple[str, str]) -> list[tuple[str, str, str]]:
    from ladder_factories import HALLUCINATING_TEST_NIGHTS, Timeline, make_register

    tl = Timeline(store, make_register(REQUESTER_MAY_APPROVE))
    for breaches, mode in HALLUCINATING_TEST_NIGHTS:
        tl.play(breaches, mode=mode)
    assert tl.last is not None and tl.last.approvals_required == 1

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    results = ctx.Queue()
    workers = [
        ctx.Process(
            target=approve_when_released, args=(store.url, tl.last.id, person, barrier, results)
        )
        for person in people
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    return sorted(outcomes, key=lambda o: o[1])


def test_two_processes_approving_at_once_apply_one_approval(store: LadderStore) -> None:
    (winner, applied, status), (loser, refused, reason) = _race(store, ("alice", "bob"))

    assert (applied, status) == ("applied", "approved")
    assert refused == "refused"
    assert "step-1 (retrieval_augmentation, up) is already approved" in reason
    assert {winner, loser} == {"alice", "bob"}
    [step] = steps_of(store)
    assert (step.status, step.approvers) == ("approved", (winner,))
    verdict = store.read(audit.verify)
    assert verdict.ok
    actions = [(e.actor, e.action) for e in store.read(audit.entries)]
    assert actions.count((winner, "step.approve")) == 1
    assert (loser, "refused.approve") in actions
    assert all(actor != loser or "refused" in action for actor, action in actions)


def test_the_same_person_approving_from_two_terminals_counts_once(store: LadderStore) -> None:
    outcomes = _race(store, ("bob", "bob"))

    assert [o[1] for o in outcomes] == ["applied", "refused"]
    [step] = steps_of(store)
    assert step.approvers == ("bob",)
    assert store.read(audit.verify).ok


def record_events_when_released(
    url: str, person: str, count: int, barrier: Barrier, results: Any
) -> None:
    """Child process: record ``count`` events, one transaction each."""
    from datetime import datetime, timedelta, timezone

    from ladder_factories import make_register

    from ladder.actions import add_event

    store = LadderStore(url)
    register = make_register()
    barrier.wait(timeout=60)
    ids = []
    try:
        for i in range(count):
            ids += add_event(
                store,
                kind="price_change",
                register=register,
                person=person,
                now=datetime(2025, 4, 9, 10, tzinfo=timezone.utc) + timedelta(seconds=i),
                note=f"{person} #{i}",
            )
        results.put((person, ids))
    finally:
        store.close()


def test_four_writers_appending_at_once_keep_one_linear_chain(store: LadderStore) -> None:
    from datetime import datetime, timezone

    from ladder_factories import make_register

    from ladder.pins import require_pinned
    from ladder.proof import prove

    # Pinned before the race, so every writer only appends.
    pinned_at = datetime(2025, 4, 9, 9, tzinfo=timezone.utc)
    store.write(lambda c: require_pinned(c, make_register(), actor="carol", now=pinned_at))
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(4)
    results = ctx.Queue()
    people = ("alice", "bob", "carol", "dave")
    workers = [
        ctx.Process(target=record_events_when_released, args=(store.url, p, 8, barrier, results))
        for p in people
    ]
    for worker in workers:
        worker.start()
    recorded = dict(results.get(timeout=180) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0

    # PostgreSQL may skip ids a retried transaction took (sequences are not transactional).
    event_ids = {i for ids in recorded.values() for i in ids}
    assert len(event_ids) == 32
    stored = store.read(lambda c: {r[0] for r in c.execute(text("SELECT id FROM ladder_events"))})
    assert stored == event_ids
    rows = store.read(audit.entries)
    assert [r.seq for r in rows] == list(range(1, 34))  # the pin, then 32 events
    assert sorted(r.actor for r in rows[1:]) == sorted(p for p in people for _ in range(8))
    verdict = store.read(prove)
    assert verdict.ok, verdict.problems
