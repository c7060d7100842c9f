"""Two real processes approving the same step at the same moment: one approval applies.

The store starts write transactions with ``BEGIN IMMEDIATE`` and changes steps by
compare-and-set, so the second approver reads the step only after the first committed
and is refused ("already approved"), whichever process wins.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
from ladder_factories import open_store, steps_of

from ladder import audit
from ladder.store import LadderStore

REQUESTER_MAY_APPROVE = (
    "ladder:\n  rungs: {retrieval_augmentation: {approval: {requester_may_approve: true}}}"
)


def approve_when_released(url: str, step: str, person: str, barrier: Barrier,
                          results: Any) -> None:
    """Child process: open the store, wait for the other process, approve."""
    from datetime import datetime, timezone

    from ladder_factories import make_register

    from ladder.actions import approve
    from ladder.errors import Refused

    store = LadderStore(url)
    register = make_register(REQUESTER_MAY_APPROVE)
    barrier.wait(timeout=60)
    try:
        result = approve(store, step, person=person, register=register,
                         now=datetime(2025, 4, 9, 10, tzinfo=timezone.utc))
        results.put((person, "applied", result.status))
    except Refused as exc:
        results.put((person, "refused", str(exc)))
    finally:
        store.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LadderStore]:
    handle = open_store(tmp_path)
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
        ctx.Process(target=approve_when_released,
                    args=(store.url, tl.last.id, person, barrier, results))
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
