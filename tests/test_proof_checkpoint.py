"""A proof resumed from a verified checkpoint finds what the full proof finds in the
state a decision reads, on SQLite and PostgreSQL; and the one thing it leaves to the
full proof (an old row's wording, edited without touching a hash) is found by the next
full proof.

Each test plays the store's story through the real nightly path and actions, proves it
once (the checkpoint), then changes the database the way an attacker with write access
would, and compares the resumed proof's verdict with :func:`ladder.proof.prove`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ladder_factories import HALLUCINATING_TEST_NIGHTS, Timeline, make_register
from sqlalchemy import text

from ladder import audit
from ladder.actions import acknowledge, approve, ensure_proven
from ladder.audit import GENESIS, row_hash
from ladder.checkpoint import ProofCheckpoint, checkpoint_for
from ladder.errors import Tampered
from ladder.proof import prove
from ladder.store import LadderStore


@pytest.fixture
def story(state_url: str, tmp_path: Path) -> Iterator[tuple[LadderStore, Timeline]]:
    """Two models' steps waiting; nothing decided yet."""
    store = LadderStore(state_url, head_file=None)  # no anchors: the tables and chain only
    register = make_register(extra_models="  - id: second\n    owner: alice\n")
    first = Timeline(store, register)
    second = Timeline(store, register, model_id="second")
    for breaches, mode in HALLUCINATING_TEST_NIGHTS:
        first.play(breaches, mode=mode)
        second.play(breaches, mode=mode)
    yield store, first
    store.close()


def _sql(store: LadderStore, statement: str, **params: object) -> None:
    store.write(lambda c: c.execute(text(statement), params))


def _full(store: LadderStore) -> list[str]:
    return list(store.read(prove).problems)


def test_decisions_resume_the_proof_and_agree_with_the_full_one(
    story: tuple[LadderStore, Timeline],
) -> None:
    store, tl = story
    checkpoint = ProofCheckpoint(store)
    assert checkpoint.prove().ok and checkpoint.full_proofs == 1

    approve(
        store,
        "step-1",
        person="bob",
        register=tl.register,
        now=tl.office_hours(),
        reason="index ready",
    )
    acknowledge(store, "step-2", person="alice", register=tl.register, now=tl.office_hours())
    resumed = checkpoint.prove()

    assert resumed.ok and _full(store) == []
    assert (checkpoint.full_proofs, checkpoint.resumed_proofs) == (1, 1)
    assert resumed.chain.head == store.read(prove).chain.head
    assert resumed.chain.rows == len(store.read(audit.entries))


def test_every_decision_of_one_store_resumes_from_the_last_proof(
    story: tuple[LadderStore, Timeline],
) -> None:
    store, tl = story
    shared = checkpoint_for(store)
    before = (shared.full_proofs, shared.resumed_proofs)

    approve(store, "step-1", person="bob", register=tl.register, now=tl.office_hours())
    approve(store, "step-2", person="bob", register=tl.register, now=tl.office_hours())

    assert shared.full_proofs - before[0] == 1
    assert shared.resumed_proofs - before[1] == 1


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            "UPDATE ladder_steps SET status = 'approved' WHERE id = 1",
            "ladder_steps id 1: status is 'approved' in the table but the log says 'pending'",
        ),
        ("DELETE FROM ladder_nights WHERE id = 1", "ladder_nights id 1 is recorded by audit row"),
        (
            'UPDATE ladder_pins SET people = \'{"dave": ["model_owner"]}\'',
            "ladder_pins id 1: people is",
        ),
    ],
    ids=["step-approved-behind-the-log", "night-deleted", "pin-rewritten"],
)
def test_a_state_table_changed_behind_the_log_is_caught_by_the_resumed_proof(
    story: tuple[LadderStore, Timeline],
    change: str,
    expected: str,
) -> None:
    store, tl = story
    checkpoint = ProofCheckpoint(store)
    assert checkpoint.prove().ok
    approve(store, "step-2", person="bob", register=tl.register, now=tl.office_hours())
    assert checkpoint.prove().ok  # resumed over a legitimate decision

    _sql(store, change)
    verdict = checkpoint.prove()

    assert not verdict.ok
    assert list(verdict.problems) == _full(store)
    assert any(p.startswith(expected) for p in verdict.problems), verdict.problems
    assert not checkpoint.prove().ok  # no checkpoint survives a failed proof


def test_a_row_inserted_behind_the_log_is_caught(story: tuple[LadderStore, Timeline]) -> None:
    store, tl = story
    checkpoint = ProofCheckpoint(store)
    assert checkpoint.prove().ok

    _sql(
        store,
        "INSERT INTO ladder_approvals (step_id, person, roles, decision, reason, at) "
        "VALUES (1, 'mallory', '[\"model_owner\"]', 'approve', '', '2025-04-09 10:00:00')",
    )
    verdict = checkpoint.prove()

    assert not verdict.ok
    assert "is in the table but no audit row records it" in " ".join(verdict.problems)
    with pytest.raises(Tampered):
        approve(store, "step-1", person="bob", register=tl.register, now=tl.office_hours())


def test_a_rewritten_chain_is_caught_against_the_head_this_process_proved(
    story: tuple[LadderStore, Timeline],
) -> None:
    store, _tl = story
    checkpoint = ProofCheckpoint(store)
    proved = checkpoint.prove()
    assert proved.ok
    # Rewrite row 2's reason and recompute the whole plain chain after it: without an
    # anchor, the full proof alone cannot tell (the tables are untouched).
    rows = store.read(
        lambda c: c.execute(text("SELECT * FROM ladder_audit ORDER BY seq")).mappings().all()
    )
    prev = GENESIS
    for row in rows:
        fields = {
            k: row[k] for k in ("seq", "at", "actor", "action", "subject", "reason", "payload")
        }
        if row["seq"] == 2:
            fields["reason"] = "nothing to see"
        if row["seq"] >= 2:
            digest = row_hash(**fields, prev_hash=prev)
            _sql(
                store,
                "UPDATE ladder_audit SET reason = :r, prev_hash = :p, hash = :h WHERE seq = :s",
                r=fields["reason"],
                p=prev,
                h=digest,
                s=row["seq"],
            )
            prev = digest
        else:
            prev = row["hash"]

    verdict = checkpoint.prove()

    assert _full(store) == []  # what a fresh process without an anchor would conclude
    assert not verdict.ok
    assert verdict.problems == (
        f"row {proved.chain.head_seq} differs from the head this process's last proof "
        "recorded: the log was rewritten",
    )


def test_deleting_the_newest_rows_is_caught(story: tuple[LadderStore, Timeline]) -> None:
    store, tl = story
    checkpoint = ProofCheckpoint(store)
    approve(store, "step-1", person="bob", register=tl.register, now=tl.office_hours())
    proved = checkpoint.prove()
    assert proved.ok

    _sql(store, "DELETE FROM ladder_audit WHERE seq = :s", s=proved.chain.head_seq)
    verdict = checkpoint.prove()

    assert not verdict.ok
    assert (
        f"the log ends at row {proved.chain.head_seq - 1} but this process's last proof "
        f"recorded row {proved.chain.head_seq}: rows deleted from the end" in verdict.problems
    ), verdict.problems


def test_an_old_rows_wording_edited_without_its_hash_waits_for_the_full_proof(
    story: tuple[LadderStore, Timeline],
) -> None:
    store, _tl = story
    checkpoint = checkpoint_for(store)  # the one every decision on this store resumes
    assert checkpoint.prove().ok
    # The boundary, stated in docs/state-store.md: a resumed proof does not re-hash rows it
    # verified before. Rewording row 3 changes no state a decision reads …
    _sql(store, "UPDATE ladder_audit SET reason = 'reworded' WHERE seq = 3")

    resumed = checkpoint.prove()
    ensure_proven(store)  # … so a decision may still go ahead on the resumed proof,
    minute = checkpoint.prove(full=True)  # and the desk's minute loop finds it.

    assert resumed.ok
    assert not minute.ok
    assert minute.problems[0].startswith("audit chain broken at row 3: row 3 (")
    assert "was edited" in minute.problems[0]
    with pytest.raises(Tampered, match="row 3"):  # from then on every decision is refused
        ensure_proven(store)
