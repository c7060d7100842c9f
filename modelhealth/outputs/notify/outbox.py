"""The only way a notification leaves modelhealth: the state store's outbox, drained here.

Modelled on Alertmanager's notify pipeline, as stages:

1. **dedup** — tonight's message is queued once per check and level
   (:func:`queue_report_message`); a rerun of the same night finds it queued and adds
   nothing. The ladder queues its own notifications (approval requests, reminders,
   escalations, resolutions) in the same transaction as the decision that causes them
   (:mod:`ladder.nightly`), so a decision and its notification are kept or lost together.
2. **wait** — only rows whose next attempt is due are taken
   (:func:`ladder.store.due_notifications`); a failed row waits 1, 2, 4 … minutes.
3. **send** — :func:`~modelhealth.outputs.notify.webhook.deliver`, which retries
   transient failures within the run.
4. **record** — every attempt is written back (:func:`ladder.store.mark_notification`):
   sent, or retried on a later run, or ``failed`` for a person to look at after six
   attempts. A failure is never fatal and never lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.engine import Connection

from ladder.store import (
    LadderStore,
    QueuedNotification,
    due_notifications,
    has_notification,
    insert_notification,
    mark_notification,
)
from modelhealth.outputs.notify.message import build_message, outbox_message, step_url
from modelhealth.outputs.notify.webhook import DeliveryResult, Notification, deliver
from monitor.report import Report

__all__ = ["OutboxRun", "deliver_due", "notify_night", "queue_report_message"]

#: The outbox kind of the nightly findings message (the ladder's rows use their own).
REPORT_KIND = "webhook"

Send = Callable[[Notification], DeliveryResult]


@dataclass
class OutboxRun:
    """What one drain of the outbox did."""

    sent: int = 0
    failed: list[str] = field(default_factory=list)


def queue_report_message(
    store: LadderStore, report: Report, *, level: str, location: str, now: datetime,
    public_url: str | None = None,
) -> bool:
    """Queue tonight's findings at or above ``level`` (dedup stage).

    Returns whether a message was queued: ``False`` when no model reaches ``level`` or
    the same check already queued its message at this level.
    """
    message = build_message(report, level=level, report_location=location,
                            public_url=public_url)
    if message is None:
        return False
    key = f"{report.run_id}:{level}"

    def queue(conn: Connection) -> bool:
        if has_notification(conn, kind=REPORT_KIND, key=key):
            return False
        insert_notification(
            conn,
            model_id="*",
            kind=REPORT_KIND,
            recipients=(),
            payload={**message, "key": key},
            at=now,
        )
        return True

    return store.write(queue)


def deliver_due(
    store: LadderStore, *, url: str, now: datetime, send: Send = deliver,
    public_url: str | None = None,
) -> OutboxRun:
    """Send every outbox row that is due to the webhook at ``url`` and record each
    attempt (wait, send and record stages). With ``public_url`` (the escalation desk),
    a notification about a step links to its page."""
    run = OutboxRun()
    due: list[QueuedNotification] = store.read(lambda conn: due_notifications(conn, now))
    for item in due:
        link = (step_url(public_url, f"step-{item.step_id}")
                if public_url and item.step_id is not None else None)
        payload = outbox_message(item.kind, item.model_id, item.recipients, item.payload,
                                 link=link)
        result = send(Notification(url=url, payload=payload, key=f"outbox-{item.id}"))

        def record(conn: Connection, item_id: int = item.id, r: DeliveryResult = result) -> None:
            mark_notification(conn, item_id, delivered=r.ok, now=now, error=r.error or "")

        store.write(record)
        if result.ok:
            run.sent += 1
        else:
            run.failed.append(f"notification {item.id}: {result.error or result.status_code}")
    return run


def notify_night(
    store: LadderStore,
    report: Report,
    *,
    url: str,
    level: str,
    location: str,
    now: datetime,
    send: Send = deliver,
    public_url: str | None = None,
) -> OutboxRun:
    """Queue tonight's message, then deliver everything due; failures stay queued and are
    retried on the next run. ``public_url`` links steps to the escalation desk."""
    queue_report_message(store, report, level=level, location=location, now=now,
                         public_url=public_url)
    return deliver_due(store, url=url, now=now, send=send, public_url=public_url)
