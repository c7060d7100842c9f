"""The outbox rows in the state store: queued in the decision's transaction, claimed with
a lease, recorded after every attempt, kept as dead letters, re-sent by people.

* **queue** — :func:`insert_notification` runs inside the transaction of the decision
  that causes the message, so a decision and its notification are kept or lost together.
* **claim** — :func:`claim_next` takes one due row by compare-and-set on its lease
  (``UPDATE … WHERE id = ? AND status = 'pending' AND (lease_until IS NULL OR
  lease_until <= now)``, rowcount checked), on SQLite and PostgreSQL alike: four
  concurrent reruns deliver each message once, not four times. A sender that dies
  mid-delivery leaves a lease that runs out, and the message is tried again (delivery
  is at least once; the ``Idempotency-Key`` header lets a receiver drop a repeat).
* **record** — :func:`record_attempt` writes the outcome back under the same lease:
  ``sent``, or retried later, or ``dead`` (:func:`ladder.delivery.next_attempt`).
* **dead letters** — never deleted; :func:`list_notifications` shows them and
  :func:`resend` queues them again, with an audit row saying who did.

The outbox is delivery bookkeeping, not a decision: it is not part of the state the
audit log proves.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Row

from ladder import audit
from ladder.audit import canonical_json
from ladder.delivery import RetryDecision
from ladder.errors import NotFound
from ladder.state import as_utc
from ladder.tables import notifications

__all__ = [
    "DEFAULT_LEASE",
    "STATUSES",
    "OutboxSummary",
    "QueuedNotification",
    "claim_next",
    "due_notifications",
    "has_notification",
    "insert_notification",
    "list_notifications",
    "outbox_summary",
    "record_attempt",
    "resend",
]

#: How long a claim lasts: longer than one delivery's deadline, so a live sender never
#: loses its row; short enough that a dead sender's row is soon tried again.
DEFAULT_LEASE: Final = timedelta(minutes=5)
#: ``pending`` (waiting or being sent), ``sent``, ``dead`` (given up; re-sendable).
STATUSES: Final = ("pending", "sent", "dead")


@dataclass(frozen=True)
class QueuedNotification:
    """One row of the outbox."""

    id: int
    model_id: str
    step_id: int | None
    kind: str
    recipients: tuple[str, ...]
    payload: Mapping[str, Any]
    attempts: int
    status: str = "pending"
    created_at: datetime | None = None
    queued_at: datetime | None = None
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    dead_at: datetime | None = None
    last_error: str = ""
    resends: int = 0

    @property
    def series_started(self) -> datetime:
        """When the current series of attempts began (queued or last re-sent)."""
        started = self.queued_at or self.created_at
        assert started is not None
        return started


def _row(r: Row[Any]) -> QueuedNotification:
    return QueuedNotification(
        id=r.id,
        model_id=r.model_id,
        step_id=r.step_id,
        kind=r.kind,
        recipients=tuple(r.recipients),
        payload=dict(r.payload),
        attempts=r.attempts,
        status=r.status,
        created_at=r.created_at,
        queued_at=r.queued_at,
        next_attempt_at=r.next_attempt_at,
        sent_at=r.sent_at,
        dead_at=r.dead_at,
        last_error=r.last_error or "",
        resends=r.resends or 0,
    )


def insert_notification(
    conn: Connection,
    *,
    model_id: str,
    kind: str,
    recipients: Iterable[str],
    payload: Mapping[str, Any],
    at: datetime,
    step_id: int | None = None,
) -> int:
    """Queue a notification, due at once; returns its id."""
    result = conn.execute(
        insert(notifications).values(
            model_id=model_id,
            step_id=step_id,
            kind=kind,
            recipients=sorted(set(recipients)),
            # Through canonical JSON so datetimes and dates are stored as ISO 8601 text.
            payload=json.loads(canonical_json(dict(payload))),
            status="pending",
            attempts=0,
            next_attempt_at=at,
            created_at=at,
            queued_at=at,
            resends=0,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def has_notification(conn: Connection, *, kind: str, key: str) -> bool:
    """Whether a notification of ``kind`` carrying ``payload.key == key`` was ever queued
    (pending, sent or dead): a rerun of a night must not message twice."""
    rows = conn.execute(select(notifications.c.payload).where(notifications.c.kind == kind))
    return any((row.payload or {}).get("key") == key for row in rows)


def _due(now: datetime) -> Any:
    return and_(
        notifications.c.status == "pending",
        notifications.c.next_attempt_at <= now,
        or_(notifications.c.lease_until.is_(None), notifications.c.lease_until <= now),
    )


def due_notifications(
    conn: Connection, now: datetime, *, limit: int = 100
) -> list[QueuedNotification]:
    """Pending notifications whose next attempt is due and that nobody holds, oldest first."""
    rows = conn.execute(
        select(notifications).where(_due(as_utc(now))).order_by(notifications.c.id).limit(limit)
    )
    return [_row(r) for r in rows]


def claim_next(
    conn: Connection,
    now: datetime,
    *,
    owner: str,
    lease: timedelta = DEFAULT_LEASE,
    skip: Iterable[int] = (),
) -> QueuedNotification | None:
    """Claim the oldest due notification for ``owner`` until ``now + lease``, or ``None``
    when none is left. Compare-and-set: a row another sender claimed first is skipped."""
    now = as_utc(now)
    skipped = set(skip)
    candidates = (
        conn.execute(
            select(notifications.c.id)
            .where(_due(now))
            .order_by(notifications.c.id)
            .limit(len(skipped) + 20)
        )
        .scalars()
        .all()
    )
    for notification_id in candidates:
        if notification_id in skipped:
            continue
        won = conn.execute(
            update(notifications)
            .where(notifications.c.id == notification_id, _due(now))
            .values(lease_owner=owner, lease_until=now + lease)
        )
        if won.rowcount == 1:
            row = conn.execute(
                select(notifications).where(notifications.c.id == notification_id)
            ).one()
            return _row(row)
    return None


def record_attempt(
    conn: Connection,
    notification_id: int,
    *,
    owner: str,
    now: datetime,
    delivered: bool,
    retry: RetryDecision | None = None,
) -> bool:
    """Write back one attempt made under ``owner``'s lease: ``sent``, or the retry
    decision (``retry`` at a time, or ``dead``). Returns ``False`` when the lease was lost
    (it ran out and another sender took the row): nothing is written then."""
    now = as_utc(now)
    values: dict[str, Any] = {
        "attempts": notifications.c.attempts + 1,
        "lease_owner": None,
        "lease_until": None,
    }
    if delivered:
        values.update(status="sent", sent_at=now, last_error="")
    else:
        assert retry is not None, "a failed attempt needs a retry decision"
        values["last_error"] = retry.reason
        if retry.kind == "dead":
            values.update(status="dead", dead_at=now)
        else:
            values["next_attempt_at"] = retry.at
    result = conn.execute(
        update(notifications)
        .where(
            notifications.c.id == notification_id,
            notifications.c.lease_owner == owner,
            notifications.c.status == "pending",
        )
        .values(**values)
    )
    return result.rowcount == 1


def list_notifications(
    conn: Connection, *, status: str | None = None, limit: int | None = None
) -> list[QueuedNotification]:
    """Outbox rows, newest first, optionally of one status."""
    query = select(notifications).order_by(notifications.c.id.desc())
    if status is not None:
        query = query.where(notifications.c.status == status)
    if limit is not None:
        query = query.limit(limit)
    return [_row(r) for r in conn.execute(query)]


@dataclass(frozen=True)
class OutboxSummary:
    """What the report and its banner say about the outbox."""

    pending: int
    dead: int
    oldest_dead_at: datetime | None = None
    dead_ids: tuple[int, ...] = ()


def outbox_summary(conn: Connection, *, listed: int = 20) -> OutboxSummary:
    """Counts of waiting and dead messages, and the newest dead letters' ids."""
    counts: dict[str, int] = {
        str(status): int(n)
        for status, n in conn.execute(
            select(notifications.c.status, func.count()).group_by(notifications.c.status)
        )
    }
    oldest = conn.execute(
        select(func.min(notifications.c.dead_at)).where(notifications.c.status == "dead")
    ).scalar()
    ids = (
        conn.execute(
            select(notifications.c.id)
            .where(notifications.c.status == "dead")
            .order_by(notifications.c.id)
            .limit(listed)
        )
        .scalars()
        .all()
    )
    return OutboxSummary(
        pending=int(counts.get("pending", 0)),
        dead=int(counts.get("dead", 0)),
        oldest_dead_at=as_utc(oldest) if oldest is not None else None,
        dead_ids=tuple(int(i) for i in ids),
    )


def resend(conn: Connection, ids: Iterable[int] | None, *, now: datetime, actor: str) -> list[int]:
    """Queue dead letters again (``ids``, or every one when ``None``), due at once with a
    fresh maximum age; audited. Returns the ids re-queued (none when ``ids`` is ``None``
    and there is no dead letter).

    Raises
    ------
    NotFound
        An id that is not a dead letter (unknown, pending or sent).
    """
    now = as_utc(now)
    dead = {
        int(r.id): r
        for r in conn.execute(select(notifications).where(notifications.c.status == "dead"))
    }
    wanted = sorted(dead) if ids is None else sorted(set(ids))
    if ids is not None and not wanted:
        raise NotFound("name the dead letters to resend")
    missing = [i for i in wanted if i not in dead]
    if missing:
        raise NotFound(
            f"not a dead letter: {', '.join(map(str, missing))} (only dead letters are re-sent;"
            " see `modelhealth ladder outbox --status dead`)"
        )
    for notification_id in wanted:
        conn.execute(
            update(notifications)
            .where(notifications.c.id == notification_id, notifications.c.status == "dead")
            .values(
                status="pending",
                next_attempt_at=now,
                queued_at=now,
                dead_at=None,
                attempts=0,
                resends=notifications.c.resends + 1,
                lease_owner=None,
                lease_until=None,
            )
        )
        row = dead[notification_id]
        audit.append(
            conn,
            at=now,
            actor=actor,
            action="notification.resent",
            subject=f"notification-{notification_id}",
            reason=f"dead letter re-sent by {actor} (last error: {row.last_error})",
            payload={"kind": row.kind, "model": row.model_id, "step": row.step_id},
        )
    return wanted
