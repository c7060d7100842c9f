"""The audit log proves the ladder's state, on SQLite and on PostgreSQL.

The story: the support assistant hallucinates two nights running, the ladder asks for
``retrieval_augmentation`` (step-1), bob approves it, two healthy nights follow. Then
someone with write access to the database tries to rewrite what happened: edit a row,
delete the newest rows or all of them, recompute the plain hash chain, or set a step to
``approved`` behind the log's back. Each attempt is named by ``audit verify``; the
ones that only a key or an anchor can see are caught by those.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from ladder_factories import HALLUCINATING_TEST_NIGHTS, Timeline, make_register
from sqlalchemy import text
from typer.testing import CliRunner

from ladder import audit
from ladder.actions import apply_step, approve
from ladder.anchors import Anchor, HeadFile, anchor_field
from ladder.audit import GENESIS, row_hash, row_mac
from ladder.errors import StoreError, Tampered
from ladder.proof import prove
from ladder.store import LadderStore
from modelhealth.cli.ladder import app

KEY = b"k" * 16 + b"-a-team-secret-of-32-bytes"


def play_story(handle: LadderStore, register_yaml: str = "") -> Timeline:
    tl = Timeline(handle, make_register(top_yaml=register_yaml))
    for breaches, mode in HALLUCINATING_TEST_NIGHTS:
        tl.play(breaches, mode=mode)
    assert tl.last is not None
    approve(
        handle,
        tl.last.id,
        person="bob",
        register=tl.register,
        now=tl.office_hours(),
        reason="retrieval index is ready",
    )
    tl.healthy(2)
    return tl


@pytest.fixture
def store(state_url: str, tmp_path: Path) -> Iterator[LadderStore]:
    # On PostgreSQL the register names a head file (there is no database file to sit beside).
    handle = LadderStore(state_url, head_file=tmp_path / "state.audit-head")
    play_story(handle)
    yield handle
    handle.close()


def _rows(store: LadderStore) -> list[audit.AuditEntry]:
    return store.read(audit.entries)


def _sql(store: LadderStore, statement: str, **params: object) -> None:
    store.write(lambda c: c.execute(text(statement), params))


def _proof(store: LadderStore, anchors: list[Anchor] | None = None) -> list[str]:
    found = HeadFile(store.head_file).anchors() if anchors is None and store.head_file else []
    verdict = store.read(lambda c: prove(c, key=store.audit_key, anchors=anchors or found))
    return list(verdict.problems)


def _unanchored(store: LadderStore) -> list[str]:
    """What the log and the tables alone show, without any anchor."""
    return list(store.read(lambda c: prove(c, key=store.audit_key)).problems)


def _rechain(store: LadderStore, from_seq: int, **edit: str) -> None:
    """What an attacker with write access does: edit row ``from_seq`` and recompute the
    plain chain from there on, so every row's hash and link are consistent again."""
    rows = store.read(
        lambda c: c.execute(text("SELECT * FROM ladder_audit ORDER BY seq")).mappings().all()
    )
    prev = GENESIS
    for row in rows:
        fields = {
            k: row[k] for k in ("seq", "at", "actor", "action", "subject", "reason", "payload")
        }
        if row["seq"] == from_seq:
            fields.update(edit)
        if row["seq"] >= from_seq:
            digest = row_hash(**fields, prev_hash=prev)
            _sql(
                store,
                "UPDATE ladder_audit SET actor = :actor, reason = :reason, "
                "payload = :payload, prev_hash = :p, hash = :h WHERE seq = :seq",
                actor=fields["actor"],
                reason=fields["reason"],
                payload=fields["payload"],
                p=prev,
                h=digest,
                seq=row["seq"],
            )
            prev = digest
        else:
            prev = row["hash"]


def test_an_untouched_log_proves_every_state_table(store: LadderStore) -> None:
    rows = _rows(store)
    verdict = store.read(lambda c: prove(c, anchors=HeadFile(store.head_file).anchors()))

    assert verdict.ok, verdict.problems
    assert [(r.actor, r.action) for r in rows] == [
        ("modelhealth", "register.pinned"),
        ("modelhealth", "night.recorded"),
        ("modelhealth", "decision.watch"),
        ("modelhealth", "night.recorded"),
        ("modelhealth", "escalation.opened"),
        ("modelhealth", "step.pending"),
        ("bob", "step.approve"),
        ("bob", "step.approved"),
        ("modelhealth", "night.recorded"),
        ("modelhealth", "night.recorded"),
    ]
    assert verdict.chain.head == f"{rows[-1].seq}:{rows[-1].hash}"
    assert verdict.anchor is not None and verdict.anchor.head == verdict.chain.head
    assert rows[0].prev_hash == GENESIS
    approval = next(r for r in rows if r.action == "step.approve")
    assert (approval.actor, approval.reason) == ("bob", "retrieval index is ready")
    assert approval.payload["via"]["channel"] == "cli"
    [change] = approval.payload["changes"]
    assert (change["table"], change["row"]["person"]) == ("ladder_approvals", "bob")
    settled = next(r for r in rows if r.action == "step.approved")
    assert settled.payload["changes"][0]["set"]["status"] == "approved"


def test_an_edited_reason_is_reported_at_its_row(store: LadderStore) -> None:
    target = next(r for r in _rows(store) if r.action == "step.approve")
    _sql(
        store,
        "UPDATE ladder_audit SET reason = :r WHERE seq = :s",
        r="approved by the CFO",
        s=target.seq,
    )

    [problem, *_] = _unanchored(store)

    assert f"audit chain broken at row {target.seq}" in problem
    assert "was edited" in problem


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(store: LadderStore) -> None:
    target = next(r for r in _rows(store) if r.action == "step.approve")
    forged = row_hash(
        seq=target.seq,
        at=target.at,
        actor="alice",
        action=target.action,
        subject=target.subject,
        reason=target.reason,
        payload=audit.canonical_json(dict(target.payload)),
        prev_hash=target.prev_hash,
    )
    _sql(
        store,
        "UPDATE ladder_audit SET actor = 'alice', hash = :h WHERE seq = :s",
        h=forged,
        s=target.seq,
    )

    verdict = store.read(audit.verify)

    assert not verdict.ok
    assert verdict.broken_seq == target.seq + 1
    assert "does not chain" in verdict.reason


def test_a_deleted_row_in_the_middle_is_detected(store: LadderStore) -> None:
    victim = next(r for r in _rows(store) if r.action == "step.pending")
    _sql(store, "DELETE FROM ladder_audit WHERE seq = :s", s=victim.seq)

    problems = _unanchored(store)

    assert f"row {victim.seq} is missing" in problems[0]


@pytest.mark.parametrize("deleted", [1, 3])
def test_deleting_the_newest_rows_shows_in_the_tables_without_any_anchor(
    store: LadderStore, deleted: int
) -> None:
    last = _rows(store)[-1].seq
    _sql(store, "DELETE FROM ladder_audit WHERE seq > :s", s=last - deleted)

    problems = _unanchored(store)

    assert store.read(audit.verify).ok  # the chain alone cannot see a cut tail
    assert any(
        "ladder_nights id 4 is in the table but no audit row records it" in p for p in problems
    ), problems
    # … and the head file says how far the log went.
    anchored = _proof(store)
    assert f"the log ends at row {last - deleted} but" in anchored[0]
    assert f"recorded row {last}: rows deleted from the end" in anchored[0]


def test_deleting_every_row_leaves_state_no_row_explains(store: LadderStore) -> None:
    _sql(store, "DELETE FROM ladder_audit")

    problems = _unanchored(store)

    for table, row_id in [
        ("ladder_steps", 1),
        ("ladder_approvals", 1),
        ("ladder_escalations", 1),
        ("ladder_nights", 1),
        ("ladder_pins", 1),
    ]:
        assert f"{table} id {row_id} is in the table but no audit row records it" in problems


def test_a_step_approved_behind_the_logs_back_is_tampering_and_apply_refuses(
    state_url: str, tmp_path: Path
) -> None:
    handle = LadderStore(state_url, head_file=tmp_path / "head.audit-head")
    tl = Timeline(handle, make_register())
    for breaches, mode in HALLUCINATING_TEST_NIGHTS:
        tl.play(breaches, mode=mode)
    _sql(handle, "UPDATE ladder_steps SET status = 'approved' WHERE id = 1")

    problems = _unanchored(handle)
    with pytest.raises(Tampered) as refused:
        apply_step(handle, "step-1", person="dave", register=tl.register, now=tl.office_hours())

    assert problems == [
        "ladder_steps id 1: status is 'approved' in the table but the log says 'pending' "
        "(last changed by audit row 6)"
    ]
    assert "the audit log does not prove the state" in str(refused.value)
    assert "Nothing was decided" in str(refused.value)
    step_status = handle.read(
        lambda c: c.execute(text("SELECT status FROM ladder_steps")).scalar_one()
    )
    assert step_status == "approved"  # untouched: no evaluation started
    assert _rows(handle)[-1].action == "step.pending"  # and nothing appended
    handle.close()


def test_a_rewritten_plain_chain_is_caught_by_the_head_file(store: LadderStore) -> None:
    target = next(r for r in _rows(store) if r.action == "step.approve")
    _rechain(store, target.seq, actor="carol", reason="approved by carol")

    assert store.read(audit.verify).ok  # a plain chain recomputed from the edit verifies
    problems = _proof(store)

    assert problems and "differs from the head" in problems[0]
    assert "the log was rewritten" in problems[0]


def test_a_rewritten_plain_chain_is_caught_by_a_report_json_anchor(
    store: LadderStore, tmp_path: Path
) -> None:
    seq, digest = store.read(audit.head)
    report = tmp_path / "out" / "report.json"
    report.parent.mkdir()
    report.write_text(
        json.dumps({"schema_version": "1.1", "audit_head": anchor_field(seq, digest)})
    )
    target = next(r for r in _rows(store) if r.action == "step.approve")
    _rechain(store, target.seq, actor="carol")

    result = CliRunner().invoke(
        app, ["audit", "verify", "--state", store.url, "--anchor", str(tmp_path / "out")]
    )

    assert result.exit_code == 4, result.output
    text_out = " ".join(result.output.split())
    assert f"row {seq} differs from the head {report} recorded" in text_out
    assert f"newest anchor: {report} (row {seq})" in text_out


def test_audit_verify_says_which_anchor_it_used_and_exits_0(
    store: LadderStore, tmp_path: Path
) -> None:
    seq, digest = store.read(audit.head)
    report = tmp_path / "report.json"
    report.write_text(json.dumps({"audit_head": anchor_field(seq - 2, _rows(store)[-3].hash)}))

    result = CliRunner().invoke(
        app,
        [
            "audit",
            "verify",
            "--state",
            store.url,
            "--anchor",
            str(report),
            "--head-file",
            str(store.head_file),
        ],
    )

    assert result.exit_code == 0, result.output
    text_out = " ".join(result.output.split())
    assert f"the audit log proves the state: {seq} rows; head {seq}:{digest}" in text_out
    # Five writes appended rows (four nights, bob's approval): five lines, and the report.
    assert f"checked against 6 anchors, the newest {store.head_file}:5 (row {seq})" in text_out


def test_audit_verify_exits_4_on_tampering_and_names_the_row(store: LadderStore) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", "--state", store.url])
    assert ok.exit_code == 0, ok.output
    assert "the audit log proves the state" in ok.output

    _sql(store, "UPDATE ladder_audit SET reason = 'nothing to see' WHERE seq = 3")
    broken = runner.invoke(app, ["audit", "verify", "--state", store.url])

    assert broken.exit_code == 4
    assert "audit chain broken at row 3" in " ".join(broken.output.split())


# ------------------------------------------------------------------ keyed chain


@pytest.fixture
def keyed(state_url: str, tmp_path: Path) -> Iterator[LadderStore]:
    handle = LadderStore(state_url, audit_key=KEY, head_file=None)
    play_story(handle)
    yield handle
    handle.close()


def test_a_keyed_log_proves_the_state_with_its_key(keyed: LadderStore) -> None:
    rows = _rows(keyed)
    verdict = keyed.read(lambda c: audit.verify(c, key=KEY))

    assert verdict.ok and verdict.mac_checked
    assert verdict.keyed_rows == len(rows)
    first = rows[0]
    assert first.mac == row_mac(
        KEY,
        seq=first.seq,
        at=first.at,
        actor=first.actor,
        action=first.action,
        subject=first.subject,
        reason=first.reason,
        payload=audit.canonical_json(dict(first.payload)),
        prev_mac=GENESIS,
    )


def test_a_plain_chain_recomputed_without_the_key_fails_the_keyed_check(
    keyed: LadderStore,
) -> None:
    target = next(r for r in _rows(keyed) if r.action == "step.approve")
    _rechain(keyed, target.seq, actor="carol")

    assert keyed.read(audit.verify).ok  # without the key, the plain chain looks fine
    verdict = keyed.read(lambda c: audit.verify(c, key=KEY))

    assert not verdict.ok and verdict.broken_seq == target.seq
    assert "fails its keyed hash" in verdict.reason


def test_stripping_the_keyed_hashes_is_caught_even_without_the_key(keyed: LadderStore) -> None:
    last = _rows(keyed)[-1].seq
    _sql(keyed, "UPDATE ladder_audit SET mac = '' WHERE seq >= :s", s=last - 1)

    verdict = keyed.read(audit.verify)

    assert not verdict.ok and verdict.broken_seq == last - 1
    assert "is not keyed but row 1 was" in verdict.reason
    _sql(keyed, "UPDATE ladder_audit SET mac = ''")
    everything = keyed.read(lambda c: audit.verify(c, key=KEY))
    assert "no row is keyed" in everything.reason


def test_a_writer_without_the_key_may_not_extend_a_keyed_log(keyed: LadderStore) -> None:
    keyless = LadderStore(keyed.url, head_file=None)
    try:
        with pytest.raises(StoreError, match="audit log is keyed"):
            keyless.write(
                lambda c: audit.append(
                    c,
                    at=datetime(2025, 4, 12, tzinfo=timezone.utc),
                    actor="mallory",
                    action="step.approve",
                    subject="step-1",
                    reason="forged",
                )
            )
    finally:
        keyless.close()
    assert _rows(keyed)[-1].actor == "modelhealth"


def test_an_mlflow_run_tag_anchors_the_head(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    from ladder.anchors import anchor_tags

    handle = LadderStore(f"sqlite:///{tmp_path / 'state.db'}", head_file=None)
    play_story(handle)
    seq, digest = handle.read(audit.head)
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(tracking)
    run = client.create_run(client.create_experiment("nightly"), tags=anchor_tags(seq, digest))
    _sql(handle, "DELETE FROM ladder_audit WHERE seq = :s", s=seq)  # cut the newest row
    handle.close()
    args = [
        "audit",
        "verify",
        "--state",
        handle.url,
        "--mlflow-run",
        run.info.run_id,
        "--tracking-uri",
        tracking,
    ]

    result = CliRunner().invoke(app, args)

    assert result.exit_code == 4, result.output
    assert (
        f"the log ends at row {seq - 1} but MLflow run {run.info.run_id} recorded row "
        f"{seq}: rows deleted from the end"
    ) in " ".join(result.output.split())


def test_the_register_names_where_the_key_is_never_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ladder.keys import open_store

    by_env = make_register(top_yaml="audit:\n  key_env: MODELHEALTH_TEST_AUDIT_KEY\n")
    monkeypatch.delenv("MODELHEALTH_TEST_AUDIT_KEY", raising=False)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    with pytest.raises(
        StoreError,
        match=r"names the audit key \$MODELHEALTH_TEST_AUDIT_KEY, "
        "which is unset; it needs at least 32",
    ):
        open_store(url, by_env)
    monkeypatch.setenv("MODELHEALTH_TEST_AUDIT_KEY", "too-short")
    with pytest.raises(StoreError, match="which is only 9 bytes"):
        open_store(url, by_env)
    key_file = tmp_path / "audit.key"
    key_file.write_bytes(KEY + b"\n")
    by_file = make_register(top_yaml=f"audit:\n  key_file: {key_file}\n")

    handle = open_store(url, by_file)
    play_story(handle, f"audit:\n  key_file: {key_file}\n")
    handle.close()

    reader = LadderStore(url)
    assert reader.read(lambda c: audit.verify(c, key=KEY)).ok
    result = CliRunner().invoke(app, ["audit", "verify", "--state", url])
    assert result.exit_code == 0
    assert "rows are keyed; their keyed hashes were not checked" in " ".join(result.output.split())
    reader.close()
