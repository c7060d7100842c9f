"""Between nights: run the ladder's clocks and send what is due, in one call.

:func:`run_tick` is what ``modelhealth ladder tick`` runs (from cron every few minutes)
and what the escalation desk's minute loop runs: the SLA clocks of every waiting step
(:func:`ladder.nightly.tick`: reminders at 30 minutes, the next level at 2 hours,
decision reminders, escalations, expiries, budget-period unblocking), each decision with
its routed notifications queued in the same transaction, and then the outbox delivery
(:func:`~modelhealth.outputs.notify.outbox.deliver_due`) of everything due — those
reminders and anything an earlier run could not deliver. Several ticks at once (cron and
the desk, say) send each message once: the clocks change steps by compare-and-set and
the outbox is claimed with leases.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from ladder.nightly import tick
from ladder.outbox import OutboxSummary, outbox_summary
from ladder.state import as_utc
from ladder.store import LadderStore
from modelhealth.logs import event
from modelhealth.outputs.notify.outbox import OutboxRun, Send, deliver_due
from modelhealth.outputs.notify.webhook import deliver
from thresholds.schema import Register

__all__ = ["TickResult", "run_tick"]

log = logging.getLogger("modelhealth.tick")


@dataclass(frozen=True)
class TickResult:
    """What one tick did.

    ``actions`` maps each model whose clock ran out to the decision taken (``remind``,
    ``escalate_approver``, ``expire``, ``unblocked``); ``delivery`` is what the outbox
    drain did (``None`` without a webhook); ``outbox`` counts what still waits and the
    dead letters afterwards.
    """

    now: datetime
    actions: Mapping[str, str]
    delivery: OutboxRun | None
    outbox: OutboxSummary


def run_tick(
    store: LadderStore,
    register: Register,
    *,
    now: datetime,
    notify_url: str | None,
    public_url: str | None = None,
    send: Send = deliver,
) -> TickResult:
    """Run the clocks of every waiting step at ``now`` and deliver what is due.

    Parameters
    ----------
    store
        The state store (opened with the register's audit key: :func:`ladder.keys.open_store`).
    register
        The register in force; routing reads its teams, managers and on-call role, and
        its people only where they match the pinned ones.
    now
        The clock (aware; ``--now`` in tests and replays).
    notify_url
        The Slack-compatible webhook; ``None`` queues the notifications without sending
        them (a later tick or nightly check with a URL sends them).
    public_url
        The desk's base URL, for the step links in messages.
    send
        Delivers one message (tests may pass their own).
    """
    now = as_utc(now)
    actions = tick(store, register, now=now)
    delivery = (
        deliver_due(store, url=notify_url, now=now, send=send, public_url=public_url)
        if notify_url
        else None
    )
    summary = store.read(outbox_summary)
    event(
        "tick.done",
        now=now.isoformat(),
        actions=dict(actions),
        sent=delivery.sent if delivery else 0,
        failed=len(delivery.failed) if delivery else 0,
        dead_now=len(delivery.dead) if delivery else 0,
        pending=summary.pending,
        dead=summary.dead,
    )
    if delivery is not None:
        for failure in delivery.failed:
            log.warning("notification not delivered, will retry: %s", failure)
    return TickResult(now=now, actions=actions, delivery=delivery, outbox=summary)
