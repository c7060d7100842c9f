"""The ladder's state store: SQLAlchemy 2 Core over SQLite by default, PostgreSQL for teams.

Every change happens in one transaction together with its audit rows
(:meth:`LadderStore.write`), and every insert or update of a state table is recorded in
those rows (:func:`ladder.audit.record_insert`), so the tables are a projection of the
log (:mod:`ladder.proof`). After each write that appended rows, the new head is
appended to the head file (:mod:`ladder.anchors`).

On SQLite the store turns on WAL (readers never block the writer), a busy timeout and
foreign keys, and starts write transactions with ``BEGIN IMMEDIATE`` so two processes
cannot both read a step as *pending* and then both write it. On PostgreSQL (driver
psycopg 3; a ``postgresql://`` URL is read as ``postgresql+psycopg://``) reads run at
REPEATABLE READ so a verification sees one snapshot, and two writers appending audit row
N collide on its primary key. On both, updates of a step are compare-and-set on its
``version`` (``UPDATE … WHERE id = ? AND version = ?``, rowcount checked): a writer that
lost the race re-runs its whole transaction on fresh data, so an approval is applied once.
"Database is locked", serialization failures and lost races are retried with
exponential backoff and jitter.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Final, Literal, TypeVar

from sqlalchemy import Engine, create_engine, event, insert, select, text, update
from sqlalchemy.engine import Connection, CursorResult, Row
from sqlalchemy.exc import ArgumentError, DatabaseError, IntegrityError, OperationalError
from sqlalchemy.pool import StaticPool

from ladder import audit
from ladder.anchors import HeadFile, default_head_file
from ladder.audit import Origin, WriteContext
from ladder.errors import NotFound, StoreError
from ladder.outbox import (
    QueuedNotification,
    due_notifications,
    has_notification,
    insert_notification,
)
from ladder.policy import Policy
from ladder.schema import ensure_schema
from ladder.state import (
    SUPPORT_LEVEL,
    Approval,
    Escalation,
    Event,
    LadderState,
    Night,
    Step,
    Trigger,
)
from ladder.tables import (
    approvals,
    escalations,
    events,
    nights,
    steps,
)

__all__ = [
    "LadderStore",
    "NightRecord",
    "QueuedNotification",
    "StaleWrite",
    "default_state_url",
    "due_notifications",
    "escalation_by_id",
    "escalation_policies",
    "escalation_policy",
    "escalation_summary",
    "has_notification",
    "insert_approval",
    "insert_escalation",
    "insert_event",
    "insert_night",
    "insert_notification",
    "insert_step",
    "latest_night",
    "link_night",
    "list_escalations",
    "load_state",
    "mark_events_processed",
    "model_ids",
    "night_record",
    "set_escalation_summary",
    "state_url",
    "step_by_id",
    "step_packet",
    "step_summaries",
    "supersede_night",
    "update_escalation",
    "update_step",
]

T = TypeVar("T")

#: How far back nights are loaded for decisions: longer than any rule or review window.
HISTORY_DAYS: Final = 400
_WRITE: Final = "ladder_write"


def default_state_url() -> str:
    """``sqlite:///<absolute path of ./modelhealth-state.db>``: the default state store."""
    return f"sqlite:///{Path('modelhealth-state.db').resolve()}"


def state_url(url: str) -> str:
    """``url`` with PostgreSQL pointed at psycopg 3 (``postgresql://`` and
    ``postgres://`` would otherwise mean psycopg2, which modelhealth does not install)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class StaleWrite(Exception):
    """A compare-and-set update matched no row: someone else wrote first. Internal:
    :meth:`LadderStore.write` catches it and re-runs the transaction."""


def _retryable_integrity(exc: IntegrityError) -> bool:
    # Two writers appending audit row N, or recording the same night, on a server
    # database: the loser re-runs on fresh data (and then sees the night exists).
    text = str(exc.orig)
    return any(
        name in text
        for name in (
            "ladder_audit",
            "ladder_nights",
            "uq_night_per_model",
            "ladder_pins",
            "ladder_briefs",
            "uq_brief_version",
            "ladder_reviews",
        )
    )


def _locked(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return any(
        word in text for word in ("locked", "busy", "deadlock detected", "could not serialize")
    )


class LadderStore:
    """A handle on the ladder's database.

    Parameters
    ----------
    url
        Any SQLAlchemy URL; ``sqlite:///path.db`` (the default,
        :func:`default_state_url`) needs no server.
    max_attempts
        How many times a transaction is tried when the database is locked or a
        compare-and-set loses a race.
    busy_timeout_ms
        How long SQLite waits for a lock before reporting "database is locked".
    audit_key
        The key of the keyed audit chain (see :mod:`ladder.audit`); ``None`` writes an
        unkeyed chain, and is refused once the log holds keyed rows.
    head_file
        Where the head is anchored after every write: ``"auto"`` is
        ``<database file>.audit-head`` for SQLite and nothing for a server database.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        max_attempts: int = 8,
        busy_timeout_ms: int = 5000,
        audit_key: bytes | None = None,
        head_file: Path | Literal["auto"] | None = "auto",
    ) -> None:
        self.url = url or default_state_url()
        self.max_attempts = max_attempts
        self.audit_key = audit_key
        self.head_file = default_head_file(self.url) if head_file == "auto" else head_file
        self._busy_timeout_ms = busy_timeout_ms
        try:
            self.engine = self._make_engine(state_url(self.url))
        except (ArgumentError, ImportError, OSError) as exc:
            raise StoreError(f"cannot use state store {self.url!r}: {exc}") from exc
        self._ensure_schema()

    @property
    def safe_url(self) -> str:
        """The URL with any password masked, for messages."""
        return str(self.engine.url.render_as_string(hide_password=True))

    @property
    def is_postgres(self) -> bool:
        """Whether the store is a PostgreSQL database."""
        return self.engine.dialect.name == "postgresql"

    # ------------------------------------------------------------------ engine

    def _make_engine(self, url: str) -> Engine:
        is_sqlite = url.startswith("sqlite")
        memory = is_sqlite and (url in ("sqlite://", "sqlite:///:memory:") or ":memory:" in url)
        if is_sqlite and not memory:
            path = url.split("///", 1)[-1].split("?", 1)[0]
            if path:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {}
        if memory:
            kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        engine = create_engine(url, **kwargs)
        if is_sqlite:
            self._configure_sqlite(engine, wal=not memory)
        return engine

    def _configure_sqlite(self, engine: Engine, *, wal: bool) -> None:
        busy = int(self._busy_timeout_ms)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take BEGIN away from pysqlite so we can say BEGIN IMMEDIATE ourselves.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout = {busy}")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            # Writers take the write lock up front: reading "pending" and then writing
            # "approved" must not interleave with another writer doing the same.
            immediate = conn.get_execution_options().get(_WRITE, False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    def _ensure_schema(self) -> None:
        def create(conn: Connection) -> None:
            if self.is_postgres:
                # Two first opens of an empty database must not both create the tables.
                conn.execute(text("SELECT pg_advisory_xact_lock(7261)"))
            ensure_schema(conn, self.url)

        self._run(create, write=True, audited=False)

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    def __enter__(self) -> LadderStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ transactions

    def write(
        self,
        work: Callable[[Connection], T],
        *,
        origin: Origin | None = None,
        actor: str = "modelhealth",
    ) -> T:
        """Run ``work`` in one write transaction, retried from scratch when the database
        is locked or a compare-and-set lost a race. Exceptions from ``work`` roll back.

        State changes ``work`` makes are recorded in its audit rows, which also carry
        ``origin`` (channel and address); changes left after its last audit row join that
        row, or a ``state.changed`` row under ``actor``."""
        return self._run(work, write=True, origin=origin, actor=actor)

    def read(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one read transaction (a consistent snapshot)."""
        return self._run(work, write=False)

    def _run(
        self,
        work: Callable[[Connection], T],
        *,
        write: bool,
        origin: Origin | None = None,
        actor: str = "modelhealth",
        audited: bool = True,
    ) -> T:
        delay = 0.02
        last: Exception | None = None
        for _attempt in range(self.max_attempts):
            try:
                with self.engine.connect() as conn:
                    conn.execution_options(**{_WRITE: write})
                    if not write and self.is_postgres:
                        conn.execution_options(isolation_level="REPEATABLE READ")
                    context = (
                        WriteContext(key=self.audit_key, origin=origin, actor=actor)
                        if write and audited
                        else None
                    )
                    if context is not None:
                        context.attach(conn)
                    try:
                        with conn.begin():
                            result = work(conn)
                            new_head = audit.seal(conn) if context is not None else None
                    finally:
                        WriteContext.detach(conn)
                    if new_head is not None and self.head_file is not None:
                        HeadFile(self.head_file).append(*new_head)
                    return result
            except OperationalError as exc:
                if not _locked(exc):
                    raise StoreError(
                        f"cannot use the state store {self.safe_url}: {exc.orig}"
                    ) from exc
                last = exc
            except IntegrityError as exc:
                if not _retryable_integrity(exc):
                    raise
                last = exc
            except StaleWrite as exc:
                last = exc
            except DatabaseError as exc:
                # Not a lock: the file is no database, or not a modelhealth state store.
                raise StoreError(
                    f"the state store at {self.url} cannot be used: {exc.orig}; point --state "
                    "at a modelhealth state database (a new file is created if missing)"
                ) from exc
            time.sleep(delay + random.uniform(0, delay))
            delay = min(delay * 2, 1.0)
        raise StoreError(
            f"the state store at {self.url} stayed busy after {self.max_attempts} attempts "
            f"({last}); try again"
        )


# ---------------------------------------------------------------- row mapping


def _trigger(raw: Mapping[str, Any]) -> Trigger:
    return Trigger(
        name=str(raw["name"]),
        level=str(raw["level"]),
        tier=int(raw["tier"]),
        observed=raw.get("observed"),
        limit=raw.get("limit"),
    )


def _night(row: Row[Any]) -> Night:
    # Support entries share the triggers column (level "support"), so no migration.
    stored = [_trigger(t) for t in row.triggers]
    return Night(
        model_id=row.model_id,
        night=row.night,
        status=row.status,
        triggers=tuple(t for t in stored if t.level != SUPPORT_LEVEL),
        support=tuple(t for t in stored if t.level == SUPPORT_LEVEL),
        dominant_mode=row.dominant_mode,
        failure_modes=tuple((str(m), float(s)) for m, s in row.failure_modes),
        window_start=row.window_start,
        window_end=row.window_end,
    )


def _approval(row: Row[Any]) -> Approval:
    return Approval(
        person=row.person,
        decision=row.decision,
        at=row.at,
        roles=tuple(row.roles),
        reason=row.reason,
    )


def _step(row: Row[Any], decided: Iterable[Approval]) -> Step:
    return Step(
        id=row.id,
        escalation_id=row.escalation_id,
        model_id=row.model_id,
        rung=row.rung,
        direction=row.direction,
        status=row.status,
        requested_by=row.requested_by,
        requested_at=row.requested_at,
        tier=row.tier,
        mode=row.mode,
        cost=row.cost,
        currency=row.currency,
        approvals_required=row.approvals_required,
        approvals=tuple(decided),
        acked_at=row.acked_at,
        acked_by=row.acked_by,
        ack_reminded_at=row.ack_reminded_at,
        decision_reminded_at=row.decision_reminded_at,
        escalated_at=row.escalated_at,
        approved_at=row.approved_at,
        applied_at=row.applied_at,
        evaluation_ends_at=row.evaluation_ends_at,
        closed_at=row.closed_at,
        reason=row.reason,
        version=row.version,
    )


def _escalation(row: Row[Any], its_steps: Iterable[Step]) -> Escalation:
    return Escalation(
        id=row.id,
        model_id=row.model_id,
        kind=row.kind,
        status=row.status,
        tier=row.tier,
        opened_at=row.opened_at,
        opened_night=row.opened_night,
        dominant_mode=row.dominant_mode,
        rule=row.rule,
        reason=row.reason,
        first_trigger_at=row.first_trigger_at,
        closed_at=row.closed_at,
        outcome=row.outcome,
        steps=tuple(its_steps),
        ack_due_at=row.ack_due_at,
        acked_at=row.acked_at,
        acked_by=row.acked_by,
        ack_reminded_at=row.ack_reminded_at,
        escalated_at=row.escalated_at,
    )


#: Every column of a step but its handoff packet (large JSON no decision reads).
_STEP_COLUMNS: Final = tuple(c for c in steps.columns if c.name != "packet")


def _steps_where(conn: Connection, *conditions: Any) -> list[Step]:
    rows = conn.execute(select(*_STEP_COLUMNS).where(*conditions).order_by(steps.c.id)).all()
    if not rows:
        return []
    ids = [r.id for r in rows]
    decided: dict[int, list[Approval]] = {i: [] for i in ids}
    for a in conn.execute(
        select(approvals).where(approvals.c.step_id.in_(ids)).order_by(approvals.c.id)
    ):
        decided[a.step_id].append(_approval(a))
    return [_step(r, decided[r.id]) for r in rows]


# --------------------------------------------------------------------- reads


def load_state(
    conn: Connection, model_id: str, *, today: date | None = None, with_nights: bool = True
) -> LadderState:
    """Everything a decision about ``model_id`` may need, read in the caller's transaction.

    ``today`` limits nights to the last :data:`HISTORY_DAYS`; ``with_nights=False`` skips
    them (for status and recommendations, which need steps and escalations only).
    """
    model_nights: tuple[Night, ...] = ()
    if with_nights:
        night_query = select(nights).where(nights.c.model_id == model_id)
        if today is not None:
            night_query = night_query.where(nights.c.night >= today - timedelta(days=HISTORY_DAYS))
        model_nights = tuple(_night(r) for r in conn.execute(night_query.order_by(nights.c.night)))
    all_steps = _steps_where(conn, steps.c.model_id == model_id)
    open_row = conn.execute(
        select(escalations)
        .where(escalations.c.model_id == model_id, escalations.c.status == "open")
        .order_by(escalations.c.id.desc())
        .limit(1)
    ).first()
    open_escalation = None
    if open_row is not None:
        open_escalation = _escalation(
            open_row, [s for s in all_steps if s.escalation_id == open_row.id]
        )
    pending_events = tuple(
        Event(
            id=r.id,
            model_id=r.model_id,
            kind=r.kind,
            occurred_at=r.occurred_at,
            note=r.note,
            recorded_by=r.recorded_by,
        )
        for r in conn.execute(
            select(events)
            .where(events.c.model_id == model_id, events.c.processed_at.is_(None))
            .order_by(events.c.id)
        )
    )
    last_review = conn.execute(
        select(escalations.c.closed_at)
        .where(
            escalations.c.model_id == model_id,
            escalations.c.kind.in_(("review", "step_down")),
            escalations.c.closed_at.is_not(None),
        )
        .order_by(escalations.c.closed_at.desc())
        .limit(1)
    ).first()
    return LadderState(
        model_id=model_id,
        nights=model_nights,
        open_escalation=open_escalation,
        steps=tuple(all_steps),
        events=pending_events,
        last_review_at=None if last_review is None else last_review.closed_at,
    )


def step_by_id(conn: Connection, step_id: int) -> Step:
    """The step with ``step_id`` and its approvals; raises :class:`NotFound`."""
    found = _steps_where(conn, steps.c.id == step_id)
    if not found:
        raise NotFound(f"there is no step-{step_id}")
    return found[0]


def step_packet(conn: Connection, step_id: int) -> dict[str, Any]:
    """The handoff packet stored with a step."""
    row = conn.execute(select(steps.c.packet).where(steps.c.id == step_id)).first()
    if row is None:
        raise NotFound(f"there is no step-{step_id}")
    return dict(row.packet)


def escalation_by_id(conn: Connection, escalation_id: int) -> Escalation:
    """The escalation with its steps; raises :class:`NotFound`."""
    row = conn.execute(select(escalations).where(escalations.c.id == escalation_id)).first()
    if row is None:
        raise NotFound(f"there is no esc-{escalation_id}")
    return _escalation(row, _steps_where(conn, steps.c.escalation_id == escalation_id))


def escalation_policy(conn: Connection, escalation_id: int) -> Policy:
    """The policy snapshot taken when the escalation opened (or was last reopened)."""
    row = conn.execute(
        select(escalations.c.policy_snapshot).where(escalations.c.id == escalation_id)
    ).first()
    if row is None:
        raise NotFound(f"there is no esc-{escalation_id}")
    return Policy.from_json(row.policy_snapshot)


def escalation_policies(conn: Connection, escalation_ids: Iterable[int]) -> dict[int, Policy]:
    """The policy snapshots of several escalations in one query (the desk's inbox)."""
    ids = list(escalation_ids)
    if not ids:
        return {}
    rows = conn.execute(
        select(escalations.c.id, escalations.c.policy_snapshot).where(escalations.c.id.in_(ids))
    )
    return {int(r.id): _policy(r.policy_snapshot) for r in rows}


@lru_cache(maxsize=4096)
def _policy(snapshot: str) -> Policy:
    # Snapshots are immutable text and a Policy is frozen: parse each text once.
    return Policy.from_json(snapshot)


def step_summaries(conn: Connection, step_ids: Iterable[int]) -> dict[int, str]:
    """The one-sentence summary of several steps' handoff packets, in one query."""
    ids = list(step_ids)
    if not ids:
        return {}
    summary = steps.c.packet["summary"].as_string()  # read in the database, not parsed here
    rows = conn.execute(select(steps.c.id, summary).where(steps.c.id.in_(ids)))
    return {int(r[0]): r[1] or "" for r in rows}


def escalation_summary(conn: Connection, escalation_id: int) -> str:
    """The one-sentence summary stored with an escalation."""
    row = conn.execute(
        select(escalations.c.summary).where(escalations.c.id == escalation_id)
    ).first()
    return "" if row is None else str(row.summary)


def list_escalations(
    conn: Connection, *, model_id: str | None = None, status: str | None = None
) -> list[Escalation]:
    """Every escalation (with steps), oldest first, optionally for one model or only
    those in one status (``open``: what the desk's inbox reads)."""
    query = select(escalations).order_by(escalations.c.id)
    step_filter: list[Any] = []
    if model_id is not None:
        query = query.where(escalations.c.model_id == model_id)
        step_filter.append(steps.c.model_id == model_id)
    if status is not None:
        query = query.where(escalations.c.status == status)
        step_filter.append(
            steps.c.escalation_id.in_(
                select(escalations.c.id).where(escalations.c.status == status)
            )
        )
    by_escalation: dict[int, list[Step]] = {}
    for s in _steps_where(conn, *step_filter):
        by_escalation.setdefault(s.escalation_id, []).append(s)
    return [_escalation(r, by_escalation.get(r.id, [])) for r in conn.execute(query)]


def model_ids(conn: Connection) -> list[str]:
    """Models the store has seen (nights or escalations), sorted."""
    seen = {r[0] for r in conn.execute(select(nights.c.model_id).distinct())}
    seen |= {r[0] for r in conn.execute(select(escalations.c.model_id).distinct())}
    return sorted(seen)


@dataclass(frozen=True)
class NightRecord:
    """A recorded night with the decision taken on it."""

    night: Night
    report_digest: str
    decision_kind: str
    decision_reason: str
    decision_due_at: datetime | None
    escalation_id: int | None
    id: int = 0
    summary: Mapping[str, float | None] | None = None
    recorded_at: datetime | None = None


def night_record(conn: Connection, model_id: str, night: date) -> NightRecord | None:
    """The stored night for (model, night), if it was recorded."""
    row = conn.execute(
        select(nights).where(nights.c.model_id == model_id, nights.c.night == night)
    ).first()
    if row is None:
        return None
    return NightRecord(
        night=_night(row),
        report_digest=row.report_digest,
        decision_kind=row.decision_kind,
        decision_reason=row.decision_reason,
        decision_due_at=row.decision_due_at,
        escalation_id=row.escalation_id,
        id=row.id,
        summary=dict(row.summary or {}),
        recorded_at=row.recorded_at,
    )


def latest_night(conn: Connection, model_id: str) -> date | None:
    """The most recent night recorded for ``model_id``."""
    row = conn.execute(
        select(nights.c.night)
        .where(nights.c.model_id == model_id)
        .order_by(nights.c.night.desc())
        .limit(1)
    ).first()
    return None if row is None else row.night


# -------------------------------------------------------------------- writes


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None or key[0] is None:
        raise StoreError("the database did not return the new row's id")
    return int(key[0])


@dataclass(frozen=True)
class NightTrend:
    """One recorded night of a model, for trend charts."""

    night: date
    status: str
    summary: Mapping[str, float | None]


def night_trends(
    conn: Connection, model_id: str, *, until: date, days: int = 30
) -> list[NightTrend]:
    """The model's recorded nights in ``(until − days, until]``, oldest first."""
    since = until - timedelta(days=days)
    rows = conn.execute(
        select(nights.c.night, nights.c.status, nights.c.summary)
        .where(nights.c.model_id == model_id, nights.c.night > since, nights.c.night <= until)
        .order_by(nights.c.night)
    )
    return [NightTrend(r.night, r.status, dict(r.summary or {})) for r in rows]


def _night_values(night: Night) -> dict[str, Any]:
    return {
        "status": night.status,
        "triggers": [
            {
                "name": t.name,
                "level": t.level,
                "tier": t.tier,
                "observed": t.observed,
                "limit": t.limit,
            }
            for t in (*night.triggers, *night.support)
        ],
        "max_tier": night.max_tier,
        "dominant_mode": night.dominant_mode,
        "failure_modes": [[m, s] for m, s in night.failure_modes],
    }


def insert_night(conn: Connection, night: Night, **values: Any) -> int:
    """Record one night; the unique (model, night) key makes a second insert fail."""
    result = conn.execute(
        insert(nights).values(
            model_id=night.model_id,
            night=night.night,
            window_start=night.window_start,
            window_end=night.window_end,
            **_night_values(night),
            **values,
        )
    )
    night_id = _new_id(result)
    audit.record_insert(conn, nights, night_id)
    return night_id


def supersede_night(conn: Connection, night_id: int, night: Night, **values: Any) -> None:
    """Replace what a recorded night saw and decided (``check --redecide``)."""
    changed = {**_night_values(night), **values}
    conn.execute(update(nights).where(nights.c.id == night_id).values(**changed))
    audit.record_update(conn, nights, night_id, changed)


def link_night(conn: Connection, night_id: int, escalation_id: int | None) -> None:
    """Note which escalation a night's decision concerns."""
    conn.execute(update(nights).where(nights.c.id == night_id).values(escalation_id=escalation_id))
    audit.record_update(conn, nights, night_id, {"escalation_id": escalation_id})


def insert_escalation(conn: Connection, **values: Any) -> int:
    """Open an escalation; returns its id."""
    result = conn.execute(insert(escalations).values(status="open", **values))
    escalation_id = _new_id(result)
    audit.record_insert(conn, escalations, escalation_id)
    return escalation_id


def set_escalation_summary(conn: Connection, escalation_id: int, summary: str) -> None:
    """Replace the one-sentence summary of an escalation."""
    conn.execute(
        update(escalations).where(escalations.c.id == escalation_id).values(summary=summary)
    )
    audit.record_update(conn, escalations, escalation_id, {"summary": summary})


def update_escalation(
    conn: Connection, escalation_id: int, *, expected_status: str = "open", **values: Any
) -> None:
    """Change an escalation that must still be in ``expected_status`` (compare-and-set)."""
    result = conn.execute(
        update(escalations)
        .where(escalations.c.id == escalation_id, escalations.c.status == expected_status)
        .values(**values)
    )
    if result.rowcount != 1:
        raise StaleWrite(f"esc-{escalation_id} is no longer {expected_status}")
    audit.record_update(conn, escalations, escalation_id, values)


def insert_step(conn: Connection, **values: Any) -> int:
    """Request a step; returns its id."""
    result = conn.execute(insert(steps).values(version=0, **values))
    step_id = _new_id(result)
    audit.record_insert(conn, steps, step_id)
    return step_id


def update_step(conn: Connection, step: Step, **values: Any) -> None:
    """Change ``step`` if nobody changed it since it was read (compare-and-set on version)."""
    result = conn.execute(
        update(steps)
        .where(
            steps.c.id == step.id,
            steps.c.version == step.version,
            steps.c.status == step.status,
        )
        .values(version=step.version + 1, **values)
    )
    if result.rowcount != 1:
        raise StaleWrite(f"step-{step.id} changed since it was read")
    audit.record_update(conn, steps, step.id, {**values, "version": step.version + 1})


def insert_approval(conn: Connection, **values: Any) -> int:
    """Record one person's decision on a step (unique per step and person)."""
    result = conn.execute(insert(approvals).values(**values))
    approval_id = _new_id(result)
    audit.record_insert(conn, approvals, approval_id)
    return approval_id


def insert_event(conn: Connection, **values: Any) -> int:
    """Record an external event for one model; returns its id."""
    result = conn.execute(insert(events).values(**values))
    event_id = _new_id(result)
    audit.record_insert(conn, events, event_id)
    return event_id


def mark_events_processed(
    conn: Connection, event_ids: Iterable[int], *, at: datetime, note: str
) -> None:
    """Mark events as acted on so they reopen a decision once."""
    ids = list(event_ids)
    if not ids:
        return
    waiting = [
        int(r[0])
        for r in conn.execute(
            select(events.c.id).where(events.c.id.in_(ids), events.c.processed_at.is_(None))
        )
    ]
    if not waiting:
        return
    conn.execute(
        update(events).where(events.c.id.in_(waiting)).values(processed_at=at, processed_note=note)
    )
    for event_id in waiting:
        audit.record_update(conn, events, event_id, {"processed_at": at, "processed_note": note})
