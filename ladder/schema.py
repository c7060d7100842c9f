"""Creating, checking and upgrading the state store's schema (Alembic revisions).

* A new, empty database gets the newest tables and is stamped at
  :data:`ladder.tables.HEAD_REVISION` when the store first opens it.
* A database at an older revision (or made before Alembic: ``ladder_meta.schema_version``
  "1") is **refused** with a message naming ``modelhealth ladder db upgrade``: a shared
  team database is upgraded on purpose, after a backup, never as a side effect of
  whichever nightly job or laptop happens to open it first. MLflow does the same
  (``mlflow db upgrade``).
* A database at a revision this modelhealth does not know (a newer release) is refused.

:func:`upgrade_store` runs the revisions in one transaction (SQLite and PostgreSQL both
have transactional DDL), and, when it upgrades a store whose earlier audit rows did not
record state changes, appends a ``store.baseline`` row holding a snapshot of every state
table, from which :mod:`ladder.proof` replays.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import Column, MetaData, String, Table, insert, inspect, select
from sqlalchemy.engine import Connection

from ladder import audit
from ladder.errors import StoreError
from ladder.tables import (
    HEAD_REVISION,
    PROJECTED_TABLES,
    SCHEMA_VERSION,
    audit_log,
    meta,
    metadata,
)

__all__ = ["SchemaStatus", "UpgradeResult", "ensure_schema", "schema_status", "upgrade_store"]

#: Alembic's own table; created by hand for a fresh database so opening needs no scripts.
_VERSION_TABLE: Final = Table(
    "alembic_version",
    MetaData(),
    Column("version_num", String(32), primary_key=True),
)
_LEGACY_REVISION: Final = "0001_initial"


@dataclass(frozen=True)
class SchemaStatus:
    """What is in a database: ``empty``, ``current``, ``old`` (upgradeable),
    ``legacy`` (made before Alembic, schema "1"), or ``unknown``; ``revision`` as found."""

    state: str
    revision: str | None


def schema_status(conn: Connection) -> SchemaStatus:
    """Inspect the database without changing it."""
    names = set(inspect(conn).get_table_names())
    if "alembic_version" in names:
        revision = conn.execute(select(_VERSION_TABLE.c.version_num)).scalar_one_or_none()
        if revision == HEAD_REVISION:
            return SchemaStatus("current", revision)
        if revision in _known_revisions():
            return SchemaStatus("old", revision)
        return SchemaStatus("unknown", revision)
    if "ladder_meta" not in names:
        return SchemaStatus("empty", None)
    version = conn.execute(
        select(meta.c.value).where(meta.c.key == "schema_version")
    ).scalar_one_or_none()
    return SchemaStatus("legacy" if version == "1" else "unknown", version)


def _known_revisions() -> set[str]:
    # The revision ids, without loading Alembic: the file names start with them.
    from importlib.resources import files

    versions = files("ladder.migrations").joinpath("versions")
    return {
        entry.name.removesuffix(".py")
        for entry in versions.iterdir()
        if entry.name.endswith(".py") and entry.name[:4].isdigit()
    }


def ensure_schema(conn: Connection, url: str) -> None:
    """Create the tables in an empty database; refuse one that needs an upgrade.

    Raises
    ------
    StoreError
        The database is older (run ``modelhealth ladder db upgrade``) or newer than this
        modelhealth, or is not a modelhealth state store.
    """
    status = schema_status(conn)
    if status.state == "current":
        return
    if status.state == "empty":
        metadata.create_all(conn)
        _VERSION_TABLE.create(conn)
        conn.execute(insert(_VERSION_TABLE).values(version_num=HEAD_REVISION))
        conn.execute(insert(meta).values(key="schema_version", value=SCHEMA_VERSION))
        return
    if status.state in ("old", "legacy"):
        raise StoreError(
            f"the state store at {url} has an older ladder schema ({status.revision}); back "
            f"it up, then run `modelhealth ladder db upgrade --state {url}` (this "
            f"modelhealth needs {HEAD_REVISION})"
        )
    raise StoreError(
        f"the state store at {url} has ladder schema {status.revision}, which this "
        f"modelhealth does not know (it needs {HEAD_REVISION}): a newer modelhealth made it, "
        "or it is not a modelhealth state store"
    )


@dataclass(frozen=True)
class UpgradeResult:
    """What an upgrade did."""

    from_revision: str | None
    to_revision: str
    baseline_seq: int | None = None

    @property
    def changed(self) -> bool:
        """Whether anything was upgraded."""
        return self.from_revision != self.to_revision


def _alembic_config(conn: Connection) -> object:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "ladder:migrations")
    config.attributes["connection"] = conn
    return config


def upgrade_store(conn: Connection, url: str, *, now: datetime, actor: str) -> UpgradeResult:
    """Upgrade the database to :data:`HEAD_REVISION` in the caller's transaction.

    Raises
    ------
    StoreError
        When the database was made by a newer modelhealth or is no state store.
    """
    from alembic import command

    status = schema_status(conn)
    if status.state == "current":
        return UpgradeResult(status.revision, HEAD_REVISION)
    if status.state == "empty":
        ensure_schema(conn, url)
        return UpgradeResult(None, HEAD_REVISION)
    if status.state == "unknown":
        ensure_schema(conn, url)  # raises with the reason
    config = _alembic_config(conn)
    if status.state == "legacy":
        command.stamp(config, _LEGACY_REVISION)  # type: ignore[arg-type]
    had_changes = _log_records_changes(conn)
    command.upgrade(config, "head")  # type: ignore[arg-type]
    baseline = None
    if not had_changes:
        baseline = _append_baseline(
            conn, now=now, actor=actor, reason=f"upgraded from {status.revision} to {HEAD_REVISION}"
        )
    return UpgradeResult(status.revision, HEAD_REVISION, baseline)


def _log_records_changes(conn: Connection) -> bool:
    # Before 0002 no row recorded changes; a store that already did needs no baseline.
    names = set(inspect(conn).get_table_names())
    if "ladder_audit" not in names:
        return False
    for (payload,) in conn.execute(
        select(audit_log.c.payload).order_by(audit_log.c.seq.desc()).limit(50)
    ):
        if '"changes"' in payload or '"snapshot"' in payload:
            return True
    return False


def _append_baseline(conn: Connection, *, now: datetime, actor: str, reason: str) -> int:
    snapshot = {
        table.name: [
            audit.canonical_row(r)
            for r in conn.execute(select(table).order_by(table.c.id)).mappings()
        ]
        for table in PROJECTED_TABLES
    }
    return audit.append(
        conn,
        at=now,
        actor=actor,
        action="store.baseline",
        subject="store",
        reason=reason,
        payload={"snapshot": snapshot},
    )
