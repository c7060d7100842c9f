"""The state store on a real SQLite file and a real PostgreSQL server: transactions,
compare-and-set, retries while another writer holds the lock, and policy snapshots.
SQLite's pragmas and lock waiting are checked on SQLite alone."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from functools import partial
from pathlib import Path

import pytest
from ladder_factories import (
    HALLUCINATING_TEST_NIGHTS,
    START,
    Timeline,
    breach,
    make_register,
    model_report,
    open_store,
    report_for,
    run_time,
    steps_of,
)
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ladder import audit
from ladder.actions import approve
from ladder.delivery import FailedAttempt, next_attempt
from ladder.errors import NotFound, Refused, StoreError
from ladder.nightly import decide_night
from ladder.outbox import claim_next, list_notifications, record_attempt, resend
from ladder.pins import pin_register
from ladder.state import Night
from ladder.store import (
    LadderStore,
    StaleWrite,
    default_state_url,
    due_notifications,
    insert_night,
    step_by_id,
    update_step,
)
from ladder.tables import meta, notifications

NOW = datetime(2025, 4, 9, 10, tzinfo=timezone.utc)


@pytest.fixture
def store(state_url: str) -> Iterator[LadderStore]:
    handle = LadderStore(state_url)
    yield handle
    handle.close()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[LadderStore]:
    handle = open_store(tmp_path)
    yield handle
    handle.close()


def opened(store: LadderStore, register_yaml: str = "") -> Timeline:
    tl = Timeline(store, make_register(register_yaml))
    for breaches, mode in HALLUCINATING_TEST_NIGHTS:
        tl.play(breaches, mode=mode)
    return tl


def test_default_state_url_is_an_absolute_sqlite_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert default_state_url() == f"sqlite:///{tmp_path / 'modelhealth-state.db'}"


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(
    sqlite_store: LadderStore,
) -> None:
    store = sqlite_store

    def pragmas(conn: object) -> tuple[str, int, int]:
        run = conn.exec_driver_sql  # type: ignore[attr-defined]
        return (
            run("PRAGMA journal_mode").scalar_one(),
            run("PRAGMA foreign_keys").scalar_one(),
            run("PRAGMA busy_timeout").scalar_one(),
        )

    assert store.read(pragmas) == ("wal", 1, 5000)
    # "2": a modelhealth from before the migrations refuses this store instead of misreading it.
    assert store.read(lambda c: c.execute(select(meta.c.value)).scalar_one()) == "2"


def test_a_store_made_by_a_newer_modelhealth_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    LadderStore(url).close()
    with sqlite3.connect(tmp_path / "state.db") as raw:
        raw.execute("UPDATE alembic_version SET version_num = '0099_future'")
    with pytest.raises(
        StoreError, match="has ladder schema 0099_future, which this modelhealth does not know"
    ):
        LadderStore(url)


def test_a_failed_transaction_leaves_nothing_behind(store: LadderStore) -> None:
    def half_done(conn: object) -> None:
        audit.append(
            conn,
            at=NOW,
            actor="x",
            action="test",
            subject="s",  # type: ignore[arg-type]
            reason="r",
        )
        raise RuntimeError("crash after the first write")

    with pytest.raises(RuntimeError):
        store.write(half_done)
    assert store.read(audit.entries) == []


def test_one_night_per_model_is_enforced_by_the_database(store: LadderStore) -> None:
    night = Night(model_id="m", night=date(2025, 4, 7), status="healthy")
    values = dict(
        report_digest="d",
        run_id="r",
        recorded_at=NOW,
        decision_kind="no_action",
        decision_reason="",
    )
    store.write(lambda c: insert_night(c, night, **values))
    # Straight on the engine: LadderStore.write would retry (a concurrent nightly run
    # recording the same night re-reads and finds it).
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        insert_night(conn, night, **values)


def test_compare_and_set_refuses_a_step_changed_since_it_was_read(store: LadderStore) -> None:
    opened(store)
    stale = store.read(lambda c: step_by_id(c, 1))
    store.write(lambda c: update_step(c, stale, acked_by="bob", acked_at=NOW))

    with pytest.raises(StaleWrite), store.engine.begin() as conn:
        update_step(conn, stale, status="approved")
    assert store.read(lambda c: step_by_id(c, 1)).version == stale.version + 1


def test_a_lost_race_is_retried_on_fresh_data_and_gives_up_eventually(
    store: LadderStore,
) -> None:
    opened(store)
    attempts = []

    def always_stale(conn: object) -> None:
        attempts.append(1)
        raise StaleWrite("someone else won")

    store.max_attempts = 3
    with pytest.raises(StoreError, match="stayed busy after 3 attempts"):
        store.write(always_stale)
    assert len(attempts) == 3


def test_a_writer_waits_out_another_process_holding_the_lock(tmp_path: Path) -> None:
    store = LadderStore(f"sqlite:///{tmp_path / 'state.db'}", busy_timeout_ms=50)
    other = sqlite3.connect(
        tmp_path / "state.db", isolation_level=None, timeout=0, check_same_thread=False
    )
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO ladder_meta (key, value) VALUES ('holder', 'other')")
    release = threading.Timer(0.4, other.commit)
    release.start()
    started = time.monotonic()
    try:
        seq = store.write(
            lambda c: audit.append(c, at=NOW, actor="a", action="x", subject="s", reason="r")
        )
    finally:
        release.join()
        other.close()
        store.close()
    assert seq == 1
    assert time.monotonic() - started >= 0.3  # it really waited for the other writer


def test_two_nightly_jobs_recording_the_same_night_at_once_record_it_once(
    state_url: str,
) -> None:
    url = state_url
    LadderStore(url).close()
    register = make_register("ladder:\n  rules: {persistence_k: 1, persistence_n: 1}")
    report = report_for(START, [model_report(START, [breach()], mode="hallucination")])
    results: list[object] = []
    barrier = threading.Barrier(2)

    def job() -> None:
        store = LadderStore(url)
        try:
            barrier.wait(timeout=30)
            results.append(decide_night(store, report, register, now=run_time(START)))
        finally:
            store.close()

    threads = [threading.Thread(target=job) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 2 and results[0] == results[1]
    check = LadderStore(url)
    try:
        counts = check.read(
            lambda c: [
                c.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in ("ladder_nights", "ladder_escalations", "ladder_steps")
            ]
        )
    finally:
        check.close()
    assert counts == [1, 1, 1]


def test_a_register_edit_does_not_change_an_open_decision(store: LadderStore) -> None:
    tl = opened(store)  # retrieval_augmentation needs 1 approval under the snapshot
    stricter = make_register(
        "ladder:\n  rungs: {retrieval_augmentation: {approval: {min_approvals: 2}}}"
    )

    result = approve(store, "step-1", person="bob", register=stricter, now=NOW)

    assert result.status == "approved"
    tl.register = stricter
    tl.healthy()
    assert tl.last is not None and tl.last.approvals_required == 1


def test_revoking_a_role_takes_effect_on_open_items_once_an_admin_pins_it(
    store: LadderStore,
) -> None:
    opened(store)
    revoked = make_register().model_copy(
        update={
            "people": {
                "alice": ["model_owner", "ml_lead"],
                "bob": [],
                "carol": ["ml_lead", "finance"],
                "dave": ["ml_engineer"],
            }
        }
    )
    store.write(lambda c: pin_register(c, revoked, person="carol", now=NOW, reason="bob left"))

    with pytest.raises(Refused, match="'bob' is not among the register's people"):
        approve(store, "step-1", person="bob", register=revoked, now=NOW)
    assert steps_of(store)[0].status == "pending"


def test_unknown_ids_are_not_found(store: LadderStore) -> None:
    register = make_register()
    with pytest.raises(NotFound, match="there is no step-42"):
        approve(store, "step-42", person="bob", register=register, now=NOW)
    with pytest.raises(NotFound, match="not a step id"):
        approve(store, "esc 1; drop table", person="bob", register=register, now=NOW)


def test_failed_notifications_are_retried_with_backoff_until_the_maximum_age_then_kept(
    store: LadderStore,
) -> None:
    opened(store)
    [queued] = store.read(lambda c: due_notifications(c, NOW))
    assert (queued.kind, queued.recipients) == ("approval_requested", ("bob",))

    def fail_delivery(conn: Connection, at: datetime) -> tuple[str, datetime, str]:
        item = claim_next(conn, at, owner="nightly-1")
        assert item is not None and item.id == queued.id
        retry = next_attempt(
            FailedAttempt(item.attempts + 1, item.series_started, "webhook answered HTTP 503"), at
        )
        assert record_attempt(
            conn, item.id, owner="nightly-1", now=at, delivered=False, retry=retry
        )
        row = conn.execute(
            select(
                notifications.c.status, notifications.c.next_attempt_at, notifications.c.last_error
            ).where(notifications.c.id == queued.id)
        ).one()
        return row.status, row.next_attempt_at, row.last_error

    waits, status, moment, error = [], "pending", queued.created_at, ""
    assert moment is not None
    while status == "pending":
        status, next_at, error = store.write(partial(fail_delivery, at=moment))
        if status == "pending":
            assert store.read(partial(due_notifications, now=moment)) == []
            waits.append(next_at - moment)
            moment = next_at
    # 1, 2, 4 … minutes, capped at an hour, until the next try would be past 72 hours.
    minutes = [int(w.total_seconds() // 60) for w in waits]
    assert minutes[:8] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert set(minutes[6:]) == {60}
    assert (
        sum(waits, timedelta())
        <= timedelta(hours=72)
        < sum(waits, timedelta()) + (timedelta(hours=1))
    )
    assert "gave up after" in error and "maximum age 72.0 h" in error

    # A dead letter is kept, listed, and can be sent again, with a fresh maximum age.
    [dead] = store.read(lambda c: list_notifications(c, status="dead"))
    assert (dead.id, dead.attempts) == (queued.id, len(waits) + 1)
    later = moment + timedelta(days=2)
    assert store.write(lambda c: resend(c, [dead.id], now=later, actor="carol")) == [dead.id]
    [again] = store.read(lambda c: due_notifications(c, later))
    assert (again.id, again.attempts, again.resends, again.series_started) == (dead.id, 0, 1, later)
    assert store.read(audit.entries)[-1].action == "notification.resent"
    with pytest.raises(NotFound, match="not a dead letter: 1"):
        store.write(lambda c: resend(c, [dead.id], now=later, actor="carol"))
