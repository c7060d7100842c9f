"""The desk's minute loop: SLA clocks run, reminders leave through the outbox with a link
to the step page, and the whole log is proved again.

The first test runs the real ``modelhealth serve`` with a one-second loop against a real
local webhook (:class:`test_notify.Receiver`) on a clock set a day after the step was
requested; the second drives one pass in process on a fake clock.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from desk_server import DeskServer, prepare_state
from sqlalchemy import text
from test_notify import Receiver, receiver  # noqa: F401  (the fixture)

from ladder import audit
from ladder.store import LadderStore, step_by_id
from modelhealth.serve.desk import Desk
from modelhealth.serve.settings import DeskSettings
from modelhealth.serve.ticker import SlaTicker
from thresholds.loader import load_register

PUBLIC = "https://desk.example.com/ops"


def test_the_desk_reminds_on_time_with_a_link_to_the_step(
    receiver: Receiver,  # noqa: F811
    tmp_path: Path,
) -> None:
    prepared = prepare_state(f"sqlite:///{tmp_path / 'state.db'}", tmp_path, people=())
    # step-1 was requested 2025-04-09 02:00, tier 2: acknowledge within 24 h.
    late = datetime(2025, 4, 10, 3, 0, tzinfo=timezone.utc)
    with DeskServer(
        prepared,
        tmp_path / "server.log",
        now=late,
        extra=("--tick-every", "1", "--notify", receiver.url, "--public-url", PUBLIC),
    ):
        deadline = time.monotonic() + 60
        while len(receiver.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)

    # The request queued the night it was made (nothing sent it then), and the reminder.
    texts = [p["text"] for p in receiver.payloads]
    assert [t.split(":")[0] for t in texts[:2]] == ["Approval requested", "Reminder"]
    assert texts[1].startswith("Reminder: nobody has acknowledged this: support-assistant (step-1)")
    assert " · For: bob · " in texts[1]
    link = f"<{PUBLIC}/steps/step-1|Open step-1>"
    assert all(t.endswith(link) for t in texts)
    with LadderStore(prepared.state_url) as store:
        step = store.read(lambda c: step_by_id(c, 1))
        rows = store.read(audit.entries)
    assert step.ack_reminded_at is not None
    assert late <= step.ack_reminded_at < late + timedelta(minutes=1)
    reminder = next(r for r in rows if r.action == "step.ack_reminder")
    assert (reminder.actor, reminder.subject) == ("modelhealth", "step-1")


def test_a_pass_on_a_fake_clock_finds_a_tampered_store(tmp_path: Path) -> None:
    prepared = prepare_state(f"sqlite:///{tmp_path / 'state.db'}", tmp_path, people=())
    # step-1 was requested 2025-04-09 02:00: ten minutes later no clock has run out.
    clock = [datetime(2025, 4, 9, 2, 10, tzinfo=timezone.utc)]
    settings = DeskSettings(
        register_path=prepared.register_path,
        state_url=prepared.state_url,
        secret=b"s" * 32,
        tick_seconds=60,
        clock=lambda: clock[0],
    )
    desk = Desk(settings, load_register(prepared.register_path).register)
    ticker = SlaTicker(desk, 60)
    try:
        quiet = ticker.run_once()
        clock[0] += timedelta(days=1)
        due = ticker.run_once()
        desk.store.write(
            lambda c: c.execute(text("UPDATE ladder_steps SET status = 'approved' WHERE id = 1"))
        )
        tampered = ticker.run_once()
    finally:
        desk.close()

    assert (quiet.clocks, quiet.proven) == ({}, True)
    assert (due.clocks, due.proven) == ({"support-assistant": "remind"}, True)
    assert tampered.proven is False
    assert ticker.runs == 3
