"""The desk's minute loop: run the SLA clocks, deliver the outbox, re-prove the log.

One :meth:`SlaTicker.run_once` is what ``modelhealth ladder tick`` does between nights
(:func:`modelhealth.ticking.run_tick`: reminders, the next level, escalations, expiries,
then the outbox delivered with links to the desk's step pages), then a full proof of the
audit log, which refreshes the checkpoint
every decision resumes from (:mod:`ladder.checkpoint`). The loop only schedules it;
the clock is the desk's, so tests drive it on a fake clock.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from ladder.errors import LadderError
from modelhealth.serve.desk import Desk
from modelhealth.ticking import run_tick

__all__ = ["SlaTicker", "TickRun"]

log = logging.getLogger("modelhealth.serve.ticker")


@dataclass
class TickRun:
    """What one run did."""

    clocks: dict[str, str] = field(default_factory=dict)
    sent: int = 0
    failed: list[str] = field(default_factory=list)
    proven: bool = True
    error: str | None = None


class SlaTicker:
    """Runs :meth:`run_once` every ``every`` seconds until stopped."""

    def __init__(self, desk: Desk, every: float) -> None:
        self.desk, self.every = desk, every
        self.runs = 0
        self.last: TickRun | None = None

    def run_once(self) -> TickRun:
        """One pass: clocks, outbox, proof. Never raises: a failure is logged and kept
        in :attr:`last` (the next minute tries again)."""
        run = TickRun()
        settings, now = self.desk.settings, self.desk.now()
        try:
            ticked = run_tick(
                self.desk.store,
                self.desk.file_register,
                now=now,
                notify_url=settings.notify_url,
                public_url=settings.public_url,
            )
            run.clocks = dict(ticked.actions)
            if ticked.delivery is not None:
                run.sent, run.failed = ticked.delivery.sent, ticked.delivery.failed
            run.proven = self.desk.checkpoint.prove(full=True).ok
        except LadderError as exc:
            run.error = str(exc)
            log.error("SLA clocks not run: %s", exc)
        for model_id, kind in run.clocks.items():
            log.info("SLA clock: %s %s", model_id, kind)
        if not run.proven:
            log.error(
                "the audit log no longer proves the state: every decision is refused "
                "until it does (see the audit page)"
            )
        self.runs += 1
        self.last = run
        return run

    async def loop(self) -> None:
        """Run forever (until cancelled), one pass in a worker thread per ``every`` s."""
        while True:
            await asyncio.to_thread(self.run_once)
            await asyncio.sleep(self.every)
