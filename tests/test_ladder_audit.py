"""The audit log is append-only and tamper-evident: edits and deletions are found."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ladder_factories import HALLUCINATING_TEST_NIGHTS, Timeline, make_register, open_store
from sqlalchemy import text
from typer.testing import CliRunner

from ladder import audit
from ladder.actions import approve
from ladder.audit import GENESIS, row_hash
from ladder.store import LadderStore
from modelhealth.cli.ladder import app


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LadderStore]:
    handle = open_store(tmp_path)
    tl = Timeline(handle, make_register())
    for breaches, mode in HALLUCINATING_TEST_NIGHTS:
        tl.play(breaches, mode=mode)
    assert tl.last is not None
    approve(handle, tl.last.id, person="bob", register=tl.register, now=tl.office_hours(),
            reason="retrieval index is ready")
    tl.healthy(2)
    yield handle
    handle.close()


def _rows(store: LadderStore) -> list[audit.AuditEntry]:
    return store.read(audit.entries)


def _sql(store: LadderStore, statement: str, **params: object) -> None:
    store.write(lambda c: c.execute(text(statement), params))


def test_an_untouched_log_verifies(store: LadderStore) -> None:
    rows = _rows(store)
    verdict = store.read(audit.verify)

    assert verdict.ok
    assert [(r.actor, r.action) for r in rows] == [
        ("modelhealth", "decision.watch"),
        ("modelhealth", "escalation.opened"),
        ("modelhealth", "step.pending"),
        ("bob", "step.approve"),
        ("bob", "step.approved"),
    ]
    assert verdict.rows == len(rows)
    assert verdict.head == f"{rows[-1].seq}:{rows[-1].hash}"
    assert rows[0].prev_hash == GENESIS
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    approval = next(r for r in rows if r.action == "step.approve")
    assert (approval.actor, approval.reason) == ("bob", "retrieval index is ready")


def test_an_edited_reason_is_reported_at_its_row(store: LadderStore) -> None:
    target = next(r for r in _rows(store) if r.action == "step.approve")
    _sql(store, "UPDATE ladder_audit SET reason = :r WHERE seq = :s",
         r="approved by the CFO", s=target.seq)

    verdict = store.read(audit.verify)

    assert not verdict.ok
    assert verdict.broken_seq == target.seq
    assert "was edited" in verdict.reason


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(store: LadderStore) -> None:
    target = next(r for r in _rows(store) if r.action == "step.approve")
    forged = row_hash(seq=target.seq, at=target.at, actor="alice", action=target.action,
                      subject=target.subject, reason=target.reason,
                      payload=audit.canonical_json(dict(target.payload)),
                      prev_hash=target.prev_hash)
    _sql(store, "UPDATE ladder_audit SET actor = 'alice', hash = :h WHERE seq = :s",
         h=forged, s=target.seq)

    verdict = store.read(audit.verify)

    assert not verdict.ok
    assert verdict.broken_seq == target.seq + 1
    assert "does not chain" in verdict.reason


def test_a_deleted_row_is_detected(store: LadderStore) -> None:
    rows = _rows(store)
    victim = rows[len(rows) // 2]
    _sql(store, "DELETE FROM ladder_audit WHERE seq = :s", s=victim.seq)

    verdict = store.read(audit.verify)

    assert not verdict.ok
    assert verdict.broken_seq == victim.seq
    assert "missing" in verdict.reason


def test_deleting_the_newest_rows_is_caught_against_a_recorded_head(store: LadderStore) -> None:
    head = store.read(audit.verify).head
    last = _rows(store)[-1].seq
    _sql(store, "DELETE FROM ladder_audit WHERE seq = :s", s=last)

    assert store.read(audit.verify).ok  # the chain alone cannot see a cut tail
    verdict = store.read(lambda c: audit.verify(c, expect_head=head))
    assert not verdict.ok
    assert verdict.broken_seq == last
    assert "deleted from the end" in verdict.reason


def test_audit_verify_command_exits_1_and_names_the_row(store: LadderStore) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--state", store.url])
    assert ok.exit_code == 0, ok.output
    assert "audit chain intact" in ok.output

    _sql(store, "UPDATE ladder_audit SET reason = 'nothing to see' WHERE seq = 3")
    broken = runner.invoke(app, ["audit", "verify", "--state", store.url])

    assert broken.exit_code == 1
    assert "audit chain broken at row 3" in broken.output
