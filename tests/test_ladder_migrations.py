"""Schema revisions: a new store is created at the newest revision, an older one is
refused until ``modelhealth ladder db upgrade``, and a store made by modelhealth 0.1
(ladder schema "1", before Alembic) upgrades cleanly and keeps working."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from ladder_factories import make_register
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import Connection
from typer.testing import CliRunner

from ladder import audit
from ladder.actions import add_event, reject
from ladder.errors import Refused, StoreError
from ladder.proof import prove
from ladder.store import LadderStore, state_url, step_by_id
from ladder.tables import HEAD_REVISION, metadata

LEGACY_DUMP = Path(__file__).parent / "data" / "state-schema1.sql"
NOW = datetime(2025, 4, 14, 10, tzinfo=timezone.utc)


def legacy_store(tmp_path: Path) -> str:
    """The SQLite file modelhealth 0.1 left behind (see tests/data/state-schema1.sql)."""
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(LEGACY_DUMP.read_text(encoding="utf-8"))
    return f"sqlite:///{path}"


def test_the_head_revision_is_the_newest_alembic_script() -> None:
    config = Config()
    config.set_main_option("script_location", "ladder:migrations")
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION


def upgrade_empty(
    url: str, revision: str, then: Callable[[Connection], None] | None = None
) -> Engine:
    """An empty database upgraded to ``revision`` by Alembic itself (``then`` runs in the
    same transaction)."""
    from alembic import command

    engine = create_engine(state_url(url))
    config = Config()
    config.set_main_option("script_location", "ladder:migrations")
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
        if then is not None:
            then(conn)
    return engine


def test_upgrading_an_empty_database_through_every_revision_gives_the_tables_in_code(
    state_url_: str,
) -> None:
    engine = upgrade_empty(state_url_, "head")
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    # Only what SQLAlchemy cannot compare faithfully may differ: nothing structural.
    structural = [
        d for d in diff if d[0] in ("add_table", "remove_table", "add_column", "remove_column")
    ]
    assert structural == []
    LadderStore(state_url_).close()  # the store opens it as current


@pytest.fixture
def state_url_(state_url: str) -> str:
    return state_url


def test_a_store_from_modelhealth_0_1_is_refused_until_upgraded(tmp_path: Path) -> None:
    url = legacy_store(tmp_path)
    with pytest.raises(StoreError) as refused:
        LadderStore(url)
    message = str(refused.value)
    assert "has an older ladder schema (1)" in message
    assert f"run `modelhealth ladder db upgrade --state {url}`" in message


def test_upgrading_a_store_from_modelhealth_0_1_keeps_its_history_and_proves_it(
    tmp_path: Path,
) -> None:
    url = legacy_store(tmp_path)
    with sqlite3.connect(tmp_path / "state.db") as raw:
        before = {
            t: raw.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in (
                "ladder_nights",
                "ladder_steps",
                "ladder_approvals",
                "ladder_events",
                "ladder_audit",
            )
        }

    runner = CliRunner()
    from modelhealth.cli.ladder import app

    upgraded = runner.invoke(app, ["db", "upgrade", "--state", url, "--now", NOW.isoformat()])
    again = runner.invoke(app, ["db", "upgrade", "--state", url])

    assert upgraded.exit_code == 0, upgraded.output
    assert f"upgraded {url} from 1 to {HEAD_REVISION}" in " ".join(upgraded.output.split())
    assert "audit row 9 holds the state as it was" in upgraded.output
    assert again.exit_code == 0 and "already at" in again.output
    store = LadderStore(url)
    try:
        after = store.read(
            lambda c: {t: c.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in before}
        )
        assert after == {**before, "ladder_audit": before["ladder_audit"] + 1}
        verdict = store.read(prove)
        assert verdict.ok, verdict.problems
        assert store.read(audit.entries)[-1].action == "store.baseline"
        assert store.read(lambda c: step_by_id(c, 1)).status == "evaluating"
        # The upgraded store takes new decisions, and proves them too.
        with pytest.raises(Refused, match="is already evaluating"):
            reject(
                store, "step-1", person="bob", register=make_register(), now=NOW, reason="too late"
            )
        [event_id] = add_event(
            store,
            kind="regulatory_change",
            register=make_register(),
            person="carol",
            now=NOW,
            models=["support-assistant"],
        )
        assert event_id == 2
        assert store.read(prove).ok
    finally:
        store.close()
    # The tampering the baseline must not hide: a step edited after the upgrade.
    with sqlite3.connect(tmp_path / "state.db") as raw:
        raw.execute("UPDATE ladder_steps SET cost = 1 WHERE id = 1")
    store = LadderStore(url)
    try:
        problems = store.read(prove).problems
    finally:
        store.close()
    assert problems == (
        "ladder_steps id 1: cost is 1.0 in the table but the log says 12600.0 "
        "(last changed by audit row 9)",
    )


def test_upgrading_keeps_messages_the_old_outbox_gave_up_on_as_dead_letters(
    state_url_: str,
) -> None:
    def old_outbox(conn: Connection) -> None:
        for status in ("failed", "sent", "pending"):
            conn.execute(
                text(
                    "INSERT INTO ladder_notifications (model_id, kind, recipients, payload, "
                    "status, attempts, next_attempt_at, created_at, last_error) VALUES "
                    "('triage', 'approval_requested', '[]', '{}', :status, 6, "
                    "'2025-04-10 03:00:00', '2025-04-10 02:00:00', 'HTTP 503')"
                ),
                {"status": status},
            )

    upgrade_empty(state_url_, "0002_proof", old_outbox).dispose()
    runner = CliRunner()
    from modelhealth.cli.ladder import app

    upgraded = runner.invoke(
        app, ["db", "upgrade", "--state", state_url_, "--now", NOW.isoformat()]
    )
    assert upgraded.exit_code == 0, upgraded.output
    assert f"from 0002_proof to {HEAD_REVISION}" in " ".join(upgraded.output.split())
    listed = runner.invoke(app, ["outbox", "--format", "json", "--state", state_url_])
    assert listed.exit_code == 0, listed.output
    by_id = {row["id"]: row for row in json.loads(listed.output)}
    assert [by_id[i]["status"] for i in (1, 2, 3)] == ["dead", "sent", "pending"]
    assert by_id[1]["dead_at"] == "2025-04-10T03:00:00+00:00"
    store = LadderStore(state_url_)
    try:
        assert store.read(prove).ok
    finally:
        store.close()
