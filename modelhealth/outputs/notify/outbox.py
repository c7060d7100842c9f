"""The only way a notification leaves modelhealth: the state store's outbox, drained here.

Modelled on Alertmanager's notify pipeline, as stages:

1. **dedup** — tonight's message is queued once per check and level
   (:func:`queue_report_message`); a rerun of the same night finds it queued and adds
   nothing. The ladder queues its own notifications (approval requests, reminders,
   escalations, resolutions), already routed, in the same transaction as the decision
   that causes them (:mod:`ladder.nightly`), so a decision and its notification are kept
   or lost together.
2. **claim** — one due row at a time is claimed with a lease (:func:`ladder.outbox.claim_next`):
   however many processes drain the outbox at once (reruns, the desk's minute loop, a
   tick from cron), each message is sent by one of them.
3. **send** — :func:`~modelhealth.outputs.notify.webhook.deliver`, which retries
   transient failures within one delivery and ends within its deadline (20 s); the drain
   as a whole stops claiming after its budget (2 min), leaving the rest for the next run.
4. **record** — every attempt is written back (:func:`ladder.outbox.record_attempt`):
   sent, or tried again later with exponential back-off up to a maximum age of 72 hours
   (:func:`ladder.delivery.next_attempt`), or a **dead letter**, shown by
   ``modelhealth ladder outbox``, the report and its HTML banner until someone re-sends
   it. A failure is never fatal and never lost.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Connection

from ladder.delivery import FailedAttempt, RetryDecision, next_attempt
from ladder.outbox import (
    DEFAULT_LEASE,
    QueuedNotification,
    claim_next,
    due_notifications,
    has_notification,
    insert_notification,
    record_attempt,
)
from ladder.store import LadderStore
from modelhealth.outputs.notify.message import build_message, outbox_message
from modelhealth.outputs.notify.webhook import DeliveryResult, Notification, deliver
from monitor.report import Report

__all__ = [
    "DEFAULT_BUDGET_S",
    "OutboxRun",
    "deliver_due",
    "notify_night",
    "queue_report_message",
    "sender_id",
]

log = logging.getLogger("modelhealth.notify")

#: The outbox kind of the nightly findings message (the ladder's rows use their own).
REPORT_KIND = "webhook"
#: A drain stops claiming messages after this many seconds; the rest wait for the next.
DEFAULT_BUDGET_S = 120.0

Send = Callable[[Notification], DeliveryResult]


def sender_id() -> str:
    """Who holds a lease: host, process and a random part (unique per drain)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"[:80]


@dataclass
class OutboxRun:
    """What one drain of the outbox did.

    ``failed`` are messages that will be tried again, ``dead`` the ones given up on this
    run (now dead letters), ``left`` the due messages not tried because the drain's
    budget ran out, ``lost`` the deliveries whose lease ran out before they were recorded.
    """

    sent: int = 0
    failed: list[str] = field(default_factory=list)
    dead: list[str] = field(default_factory=list)
    left: int = 0
    lost: int = 0


def queue_report_message(
    store: LadderStore,
    report: Report,
    *,
    level: str,
    location: str,
    now: datetime,
    public_url: str | None = None,
) -> bool:
    """Queue tonight's findings at or above ``level`` (dedup stage).

    Returns whether a message was queued: ``False`` when no model reaches ``level`` or
    the same check already queued its message at this level.
    """
    message = build_message(report, level=level, report_location=location, public_url=public_url)
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


def _retry(item: QueuedNotification, result: DeliveryResult, now: datetime) -> RetryDecision:
    return next_attempt(
        FailedAttempt(
            attempts=item.attempts + 1,
            queued_at=item.series_started,
            error=result.error or f"HTTP {result.status_code}",
            retry_after=(
                timedelta(seconds=result.retry_after_s)
                if result.retry_after_s is not None
                else None
            ),
            permanent=result.permanent,
        ),
        now,
    )


def deliver_due(
    store: LadderStore,
    *,
    url: str,
    now: datetime,
    send: Send = deliver,
    public_url: str | None = None,
    owner: str | None = None,
    lease: timedelta = DEFAULT_LEASE,
    budget_s: float = DEFAULT_BUDGET_S,
    clock: Callable[[], float] = time.monotonic,
) -> OutboxRun:
    """Send every outbox row due at ``now`` to the webhook at ``url``, one claimed row at
    a time, and record each attempt (claim, send and record stages).

    Parameters
    ----------
    url
        The webhook.
    now
        The clock of the run (aware): what is due, leases and retry times count from it.
    send
        Delivers one message (default :func:`deliver`, 20-second deadline).
    public_url
        The desk's base URL: ladder messages link to the step's page under it.
    owner
        Who claims rows (default: host, process and a random part).
    lease
        How long a claimed row stays this sender's.
    budget_s
        Stop claiming after this many seconds of real time; what is left waits.
    """
    run = OutboxRun()
    me = owner or sender_id()
    started = clock()
    tried: set[int] = set()
    while True:
        if clock() - started >= budget_s:
            run.left = len(store.read(lambda conn: due_notifications(conn, now)))
            if run.left:
                log.warning(
                    "outbox: %d message(s) left for the next run (budget of %.0f s spent)",
                    run.left,
                    budget_s,
                )
            break
        item = store.write(lambda conn: claim_next(conn, now, owner=me, lease=lease, skip=tried))
        if item is None:
            break
        tried.add(item.id)
        result = send(
            Notification(
                url=url,
                payload=outbox_message(item, public_url=public_url),
                key=f"outbox-{item.id}",
            )
        )
        retry = None if result.ok else _retry(item, result, now)

        def record(
            conn: Connection,
            item_id: int = item.id,
            ok: bool = result.ok,
            decision: RetryDecision | None = retry,
        ) -> bool:
            return record_attempt(conn, item_id, owner=me, now=now, delivered=ok, retry=decision)

        if not store.write(record):
            run.lost += 1
            log.warning(
                "outbox: the lease on notification %d ran out before its attempt "
                "was recorded; another sender has it",
                item.id,
            )
            continue
        if result.ok:
            run.sent += 1
        elif retry is not None and retry.kind == "dead":
            run.dead.append(f"notification {item.id}: {retry.reason}")
            log.error("outbox: notification %d is a dead letter: %s", item.id, retry.reason)
        else:
            assert retry is not None
            run.failed.append(f"notification {item.id}: {retry.reason}")
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
    queue_report_message(
        store, report, level=level, location=location, now=now, public_url=public_url
    )
    return deliver_due(store, url=url, now=now, send=send, public_url=public_url)
