"""The append-only, hash-chained audit log: who did what, when, and why.

Each row's hash is ``sha256(canonical JSON of the row + previous row's hash)``, with
``seq`` numbered 1, 2, 3 … without gaps. Editing a row breaks its own hash; deleting a
row leaves a gap in ``seq`` (or, if the rows after it were renumbered, breaks the
``prev_hash`` link). Deleting the *newest* rows cannot be seen from the chain alone:
keep the head printed by ``modelhealth ladder audit verify`` somewhere else (a ticket,
the MLflow run) and pass it back with ``--expect-head`` to detect truncation.

Rows are appended inside the same transaction as the change they describe, so the log
and the state never disagree.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection

from ladder.tables import audit_log

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditVerdict",
    "append",
    "canonical_json",
    "entries",
    "row_hash",
    "verify",
]

#: ``prev_hash`` of the first row.
GENESIS: Final = "0" * 64


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


def row_hash(
    *, seq: int, at: str, actor: str, action: str, subject: str, reason: str, payload: str,
    prev_hash: str,
) -> str:
    """The hash of one audit row chained to ``prev_hash``."""
    body = canonical_json(
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
    return hashlib.sha256((body + prev_hash).encode("utf-8")).hexdigest()


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

    Concurrent appenders are serialised by the write lock (SQLite) or, on server
    databases, by the primary key on ``seq``: the loser's transaction fails and the
    store retries it from the start, so the chain stays linear.
    """
    last = conn.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    seq = 1 if last is None else int(last.seq) + 1
    prev = GENESIS if last is None else str(last.hash)
    at_text = at.astimezone(timezone.utc).isoformat()
    payload_text = canonical_json(dict(payload or {}))
    digest = row_hash(
        seq=seq, at=at_text, actor=actor, action=action, subject=subject, reason=reason,
        payload=payload_text, prev_hash=prev,
    )
    conn.execute(
        insert(audit_log).values(
            seq=seq, at=at_text, actor=actor, action=action, subject=subject, reason=reason,
            payload=payload_text, prev_hash=prev, hash=digest,
        )
    )
    return seq


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
            seq=r.seq, at=r.at, actor=r.actor, action=r.action, subject=r.subject,
            reason=r.reason, payload=json.loads(r.payload), prev_hash=r.prev_hash, hash=r.hash,
        )
        for r in rows
    ]
    return sorted(out, key=lambda e: e.seq)


@dataclass(frozen=True)
class AuditVerdict:
    """The result of checking the chain; ``broken_seq`` is the first row that fails."""

    ok: bool
    rows: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str = "chain intact"

    @property
    def head(self) -> str:
        """``seq:hash`` of the newest row, to keep elsewhere and pass to ``--expect-head``."""
        return f"{self.head_seq}:{self.head_hash}"


def verify(conn: Connection, *, expect_head: str | None = None) -> AuditVerdict:
    """Walk the whole chain and report the first row that was edited, deleted or reordered.

    ``expect_head`` (``"seq:hash"`` from an earlier verification) additionally detects
    rows deleted from the end of the log.

    Raises
    ------
    ValueError
        When ``expect_head`` is not of the form ``SEQ:HASH``.
    """
    want_seq: int | None = None
    want_hash = ""
    if expect_head is not None:
        seq_text, _, want_hash = expect_head.partition(":")
        if not seq_text.isdigit() or not want_hash:
            raise ValueError(f"expected head must look like SEQ:HASH, not {expect_head!r}")
        want_seq = int(seq_text)
    count = int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())
    prev = GENESIS
    expected_seq = 1
    head_seq, head_hash = 0, GENESIS
    hash_at_want: str | None = None
    # Streamed in seq order; memory stays flat however long the log grows.
    for row in conn.execute(select(audit_log).order_by(audit_log.c.seq)):
        if row.seq != expected_seq:
            return AuditVerdict(
                False, count, head_seq, head_hash, expected_seq,
                f"row {expected_seq} is missing (next row is {row.seq}): deleted",
            )
        if row.prev_hash != prev:
            return AuditVerdict(
                False, count, head_seq, head_hash, row.seq,
                f"row {row.seq} does not chain to row {row.seq - 1}: rows deleted or reordered",
            )
        digest = row_hash(
            seq=row.seq, at=row.at, actor=row.actor, action=row.action, subject=row.subject,
            reason=row.reason, payload=row.payload, prev_hash=row.prev_hash,
        )
        if digest != row.hash:
            return AuditVerdict(
                False, count, head_seq, head_hash, row.seq,
                f"row {row.seq} ({row.action} on {row.subject}) was edited: its content no "
                "longer matches its hash",
            )
        if row.seq == want_seq:
            hash_at_want = row.hash
        prev = row.hash
        head_seq, head_hash = row.seq, row.hash
        expected_seq += 1
    if want_seq is not None:
        if want_seq > head_seq:
            return AuditVerdict(
                False, count, head_seq, head_hash, head_seq + 1,
                f"the log ends at row {head_seq} but row {want_seq} was seen before: "
                "rows deleted from the end",
            )
        if hash_at_want != want_hash:
            return AuditVerdict(
                False, count, head_seq, head_hash, want_seq,
                f"row {want_seq} differs from the head recorded earlier",
            )
    return AuditVerdict(True, count, head_seq, head_hash)
