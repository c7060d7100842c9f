"""The append-only, hash-chained audit log: who did what, when, why, and what it changed.

Each row's ``hash`` is ``sha256(canonical JSON of the row + previous row's hash)``, with
``seq`` numbered 1, 2, 3 … without gaps. Editing a row breaks its own hash; deleting a
row leaves a gap in ``seq`` (or, if the rows after it were renumbered, breaks the
``prev_hash`` link). Anyone who can write the database can also recompute that plain
chain, so two more guarantees sit on top (``docs/state-store.md`` has the threat model):

* **keyed chain** — with a key (``audit.key_file`` or ``audit.key_env`` in the register)
  every row also carries ``mac = HMAC-SHA256(key, row + previous mac)``. Without the key a
  forged row cannot be given a valid mac. Once a row is keyed every later row must be.
* **anchors** — the head (``seq:hash``) is kept outside the database at every write
  (:mod:`ladder.anchors`); deleting the newest rows then shows against the newest anchor.

Every change to a state table made in a write transaction is recorded in the payload of
the audit row that describes it (``payload.changes``), so the state tables are a
projection of the log: :mod:`ladder.proof` replays it and compares.

Rows are appended inside the same transaction as the change they describe, so the log
and the state never disagree.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Final

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.engine import Connection

from ladder.errors import StoreError
from ladder.tables import audit_log

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditVerdict",
    "ChainWalk",
    "Origin",
    "WriteContext",
    "append",
    "canonical_json",
    "canonical_row",
    "entries",
    "head",
    "parse_head",
    "record_insert",
    "record_update",
    "row_hash",
    "row_mac",
    "seal",
    "verify",
    "walk_chain",
]

#: ``prev_hash`` of the first row.
GENESIS: Final = "0" * 64
_CONTEXT: Final = "modelhealth.ladder.write"


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, UTF-8 kept, datetimes as ISO 8601."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def canonical_row(values: Mapping[Any, Any]) -> dict[str, Any]:
    """Column values as the log records them (JSON types; times as ISO 8601 UTC text)."""
    loaded: dict[str, Any] = json.loads(canonical_json(dict(values)))
    return loaded


def _body(
    *, seq: int, at: str, actor: str, action: str, subject: str, reason: str, payload: str
) -> str:
    return canonical_json(
        {
            "seq": seq,
            "at": at,
            "actor": actor,
            "action": action,
            "subject": subject,
            "reason": reason,
            "payload": payload,
        }
    )


def row_hash(
    *,
    seq: int,
    at: str,
    actor: str,
    action: str,
    subject: str,
    reason: str,
    payload: str,
    prev_hash: str,
) -> str:
    """The plain hash of one audit row chained to ``prev_hash``."""
    body = _body(
        seq=seq, at=at, actor=actor, action=action, subject=subject, reason=reason, payload=payload
    )
    return hashlib.sha256((body + prev_hash).encode("utf-8")).hexdigest()


def row_mac(
    key: bytes,
    *,
    seq: int,
    at: str,
    actor: str,
    action: str,
    subject: str,
    reason: str,
    payload: str,
    prev_mac: str,
) -> str:
    """The keyed hash (HMAC-SHA256) of one audit row chained to the previous row's mac."""
    body = _body(
        seq=seq, at=at, actor=actor, action=action, subject=subject, reason=reason, payload=payload
    )
    return hmac.new(key, (body + prev_mac).encode("utf-8"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Origin:
    """Where a decision came from: the channel (``cli``, ``web``, ``api``, ``system``) and
    the source address (for the CLI, host and terminal; for the desk, the client's IP)."""

    channel: str
    address: str

    def as_payload(self) -> dict[str, str]:
        """The ``via`` entry of the audit payload."""
        return {"channel": self.channel, "address": self.address}


@dataclass
class WriteContext:
    """What one write transaction accumulates for its audit rows (kept in ``conn.info``).

    ``changes`` are state-table changes not yet written into an audit row; ``last`` is
    the newest row this transaction appended (it may still take late changes, see
    :func:`seal`); ``head`` is the head after the transaction, for the anchors.
    """

    key: bytes | None = None
    origin: Origin | None = None
    actor: str = "modelhealth"
    changes: list[dict[str, Any]] = field(default_factory=list)
    last: dict[str, Any] | None = None

    def attach(self, conn: Connection) -> None:
        """Make this the context of ``conn``'s current transaction."""
        conn.info[_CONTEXT] = self

    @staticmethod
    def detach(conn: Connection) -> None:
        """Forget the context (connections are pooled and reused)."""
        conn.info.pop(_CONTEXT, None)

    @staticmethod
    def of(conn: Connection) -> WriteContext | None:
        """The context of ``conn``'s transaction, if the store opened one."""
        found = conn.info.get(_CONTEXT)
        return found if isinstance(found, WriteContext) else None


def record_insert(conn: Connection, table: Table, row_id: int) -> None:
    """Note that ``row_id`` was inserted into ``table`` (the whole row, as stored)."""
    ctx = WriteContext.of(conn)
    if ctx is None:
        return
    row = conn.execute(select(table).where(table.c.id == row_id)).mappings().one()
    ctx.changes.append({"table": table.name, "op": "insert", "row": canonical_row(row)})


def record_update(conn: Connection, table: Table, row_id: int, values: Mapping[str, Any]) -> None:
    """Note that ``values`` were set on row ``row_id`` of ``table``."""
    ctx = WriteContext.of(conn)
    if ctx is None or not values:
        return
    ctx.changes.append(
        {"table": table.name, "op": "update", "id": row_id, "set": canonical_row(values)}
    )


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log."""

    seq: int
    at: str
    actor: str
    action: str
    subject: str
    reason: str
    payload: Mapping[str, Any]
    prev_hash: str
    hash: str
    mac: str = ""


def _last(conn: Connection) -> Any:
    return conn.execute(
        select(audit_log.c.seq, audit_log.c.hash, audit_log.c.mac)
        .order_by(audit_log.c.seq.desc())
        .limit(1)
    ).first()


def append(
    conn: Connection,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    reason: str,
    payload: Mapping[str, Any] | None = None,
) -> int:
    """Append one row in the caller's transaction; returns its ``seq``.

    The row's payload takes the state changes made so far in this transaction
    (``changes``) and where the decision came from (``via``). Concurrent appenders are
    serialised by the write lock (SQLite) or, on server databases, by the primary key on
    ``seq``: the loser's transaction fails and the store retries it from the start.

    Raises
    ------
    StoreError
        When the log is keyed and this writer has no key: it would break the keyed chain.
    """
    ctx = WriteContext.of(conn)
    key = ctx.key if ctx is not None else None
    last = _last(conn)
    if last is not None and last.mac and key is None:
        raise StoreError(
            "this state store's audit log is keyed (HMAC) and no key was given: set the "
            "register's audit.key_file or audit.key_env for every writer"
        )
    seq = 1 if last is None else int(last.seq) + 1
    body: dict[str, Any] = dict(payload or {})
    if ctx is not None:
        if ctx.changes:
            body["changes"] = ctx.changes
            ctx.changes = []
        if ctx.origin is not None:
            body.setdefault("via", ctx.origin.as_payload())
    row = {
        "seq": seq,
        "at": at.astimezone(timezone.utc).isoformat(),
        "actor": actor,
        "action": action,
        "subject": subject,
        "reason": reason,
        "payload": canonical_json(body),
        "prev_hash": GENESIS if last is None else str(last.hash),
        "prev_mac": GENESIS if last is None or not last.mac else str(last.mac),
    }
    hashed = _hashed(row, key)
    conn.execute(insert(audit_log).values(**hashed))
    if ctx is not None:
        ctx.last = row
    return seq


def _hashed(row: Mapping[str, Any], key: bytes | None) -> dict[str, Any]:
    fields = {k: row[k] for k in ("seq", "at", "actor", "action", "subject", "reason", "payload")}
    out = dict(fields, prev_hash=row["prev_hash"])
    out["hash"] = row_hash(**fields, prev_hash=row["prev_hash"])
    out["mac"] = "" if key is None else row_mac(key, **fields, prev_mac=row["prev_mac"])
    return out


def seal(conn: Connection) -> tuple[int, str] | None:
    """End of a write transaction: changes made after its last audit row join that row
    (it is the head and nobody has seen it yet), or get a row of their own. Returns the
    head ``(seq, hash)`` when this transaction appended anything."""
    ctx = WriteContext.of(conn)
    if ctx is None:
        return None
    if ctx.changes and ctx.last is not None:
        row = dict(ctx.last)
        body = json.loads(row["payload"])
        body["changes"] = [*body.get("changes", []), *ctx.changes]
        ctx.changes = []
        row["payload"] = canonical_json(body)
        hashed = _hashed(row, ctx.key)
        conn.execute(
            update(audit_log)
            .where(audit_log.c.seq == row["seq"])
            .values(payload=hashed["payload"], hash=hashed["hash"], mac=hashed["mac"])
        )
        ctx.last = row
    elif ctx.changes:
        append(
            conn,
            at=datetime.now(timezone.utc),
            actor=ctx.actor,
            action="state.changed",
            subject="store",
            reason="state changes recorded with their transaction",
        )
    if ctx.last is None:
        return None
    return int(ctx.last["seq"]), _hashed(ctx.last, None)["hash"]


def head(conn: Connection) -> tuple[int, str]:
    """The newest row's ``(seq, hash)``; ``(0, GENESIS)`` for an empty log."""
    last = _last(conn)
    return (0, GENESIS) if last is None else (int(last.seq), str(last.hash))


def entries(
    conn: Connection, *, subject_prefix: str | None = None, limit: int | None = None
) -> list[AuditEntry]:
    """Audit rows in order (newest last), optionally only those about one subject."""
    query = select(audit_log).order_by(audit_log.c.seq)
    if subject_prefix is not None:
        query = query.where(audit_log.c.subject.startswith(subject_prefix, autoescape=True))
    if limit is not None:
        query = query.order_by(None).order_by(audit_log.c.seq.desc()).limit(limit)
    rows = conn.execute(query).all()
    out = [
        AuditEntry(
            seq=r.seq,
            at=r.at,
            actor=r.actor,
            action=r.action,
            subject=r.subject,
            reason=r.reason,
            payload=json.loads(r.payload),
            prev_hash=r.prev_hash,
            hash=r.hash,
            mac=r.mac,
        )
        for r in rows
    ]
    return sorted(out, key=lambda e: e.seq)


@dataclass(frozen=True)
class AuditVerdict:
    """The result of checking the chain; ``broken_seq`` is the first row that fails.

    ``keyed_rows`` counts rows carrying a mac; ``mac_checked`` says whether they were
    checked against a key (without one only their order and presence are checked).
    """

    ok: bool
    rows: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str = "chain intact"
    keyed_rows: int = 0
    mac_checked: bool = False

    @property
    def head(self) -> str:
        """``seq:hash`` of the newest row, as anchors and ``--expect-head`` record it."""
        return f"{self.head_seq}:{self.head_hash}"


def parse_head(text: str) -> tuple[int, str]:
    """``"SEQ:HASH"`` → ``(seq, hash)``.

    Raises
    ------
    ValueError
        When ``text`` is not of that form.
    """
    seq_text, _, want_hash = text.strip().partition(":")
    if not seq_text.isdigit() or len(want_hash) != 64:
        raise ValueError(f"a head looks like SEQ:HASH (64 hex digits), not {text!r}")
    return int(seq_text), want_hash.lower()


@dataclass
class ChainWalk:
    """The state of a walk along the chain, row by row, that can stop and resume.

    :func:`verify` walks the whole log with one; :mod:`ladder.checkpoint` keeps the walk
    of a verified prefix and resumes it on the rows appended since.
    """

    key: bytes | None = None
    head_seq: int = 0
    head_hash: str = GENESIS
    prev_mac: str = GENESIS
    keyed: int = 0
    keyed_since: int | None = None

    def step(self, row: Any) -> tuple[int, str] | None:
        """Check the next row (any object with the audit columns as attributes); returns
        the first row that breaks the chain and why, or ``None`` and advances the head."""
        expected = self.head_seq + 1
        if row.seq != expected:
            return expected, f"row {expected} is missing (next row is {row.seq}): deleted"
        if row.prev_hash != self.head_hash:
            return row.seq, (
                f"row {row.seq} does not chain to row {row.seq - 1}: rows deleted or reordered"
            )
        fields = dict(
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            subject=row.subject,
            reason=row.reason,
            payload=row.payload,
        )
        if row_hash(**fields, prev_hash=row.prev_hash) != row.hash:
            return row.seq, (
                f"row {row.seq} ({row.action} on {row.subject}) was edited: its "
                "content no longer matches its hash"
            )
        if row.mac:
            self.keyed += 1
            self.keyed_since = self.keyed_since or row.seq
            if self.key is not None and not hmac.compare_digest(
                row_mac(self.key, **fields, prev_mac=self.prev_mac), row.mac
            ):
                return row.seq, (
                    f"row {row.seq} ({row.action} on {row.subject}) fails its "
                    "keyed hash: edited or written without the key"
                )
            self.prev_mac = row.mac
        elif self.keyed_since is not None:
            return row.seq, (
                f"row {row.seq} is not keyed but row {self.keyed_since} was: "
                "written or rewritten without the key"
            )
        self.head_seq, self.head_hash = row.seq, row.hash
        return None

    def finish(self) -> str | None:
        """Why the walk as a whole fails (a key given but no row keyed), or ``None``."""
        if self.key is not None and self.head_seq and self.keyed_since is None:
            return (
                "a key was given but no row is keyed: the log was never keyed, or was "
                "rewritten without the key"
            )
        return None

    def verdict(self, rows: int, broken: tuple[int, str] | None = None) -> AuditVerdict:
        """The :class:`AuditVerdict` of this walk over a log of ``rows`` rows."""
        if broken is not None:
            return AuditVerdict(
                False,
                rows,
                self.head_seq,
                self.head_hash,
                broken[0],
                broken[1],
                self.keyed,
                self.key is not None,
            )
        return AuditVerdict(
            True,
            rows,
            self.head_seq,
            self.head_hash,
            keyed_rows=self.keyed,
            mac_checked=self.key is not None,
        )


def verify(
    conn: Connection, *, expect_head: str | None = None, key: bytes | None = None
) -> AuditVerdict:
    """Walk the whole chain and report the first row that was edited, deleted or reordered.

    ``expect_head`` (``"seq:hash"`` from an earlier verification or an anchor)
    additionally detects rows deleted from the end of the log. With ``key`` every keyed
    row's mac is checked too, and the newest row must be keyed: a log rewritten as a
    plain chain by someone without the key fails.

    Raises
    ------
    ValueError
        When ``expect_head`` is not of the form ``SEQ:HASH``.
    """
    return walk_chain(conn, expect_head=expect_head, key=key)[0]


def walk_chain(
    conn: Connection, *, expect_head: str | None = None, key: bytes | None = None
) -> tuple[AuditVerdict, ChainWalk]:
    """:func:`verify`, also returning the walk where it stopped (at the head when the
    chain is intact), so a caller can resume it on rows appended later."""
    want = parse_head(expect_head) if expect_head is not None else None
    count = int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())
    walk = ChainWalk(key=key)
    hash_at_want: str | None = None
    # Streamed in seq order; memory stays flat however long the log grows.
    for row in conn.execute(select(audit_log).order_by(audit_log.c.seq)):
        broken = walk.step(row)
        if broken is not None:
            return walk.verdict(count, broken), walk
        if want is not None and row.seq == want[0]:
            hash_at_want = row.hash
    problem = walk.finish()
    if problem is not None:
        return walk.verdict(count, (walk.head_seq, problem)), walk
    if want is not None:
        if want[0] > walk.head_seq:
            return walk.verdict(
                count,
                (
                    walk.head_seq + 1,
                    f"the log ends at row "
                    f"{walk.head_seq} but row {want[0]} was seen before: "
                    "rows deleted from the end",
                ),
            ), walk
        if want[0] and hash_at_want != want[1]:
            return walk.verdict(
                count, (want[0], f"row {want[0]} differs from the head recorded earlier")
            ), walk
    return walk.verdict(count), walk
