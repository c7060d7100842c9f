"""Notifications that are never lost, never repeated and never stall the night: against a
real local webhook receiver (that drips, refuses, or asks to wait), real SQLite and
PostgreSQL stores, and real concurrent processes."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner
from webhook_receiver import Receiver, serve_webhook

from ladder.delivery import FailedAttempt, next_attempt
from ladder.outbox import claim_next, insert_notification, record_attempt
from ladder.store import LadderStore
from ladder.tables import notifications
from modelhealth.cli.ladder import app
from modelhealth.outputs.notify.outbox import deliver_due
from modelhealth.outputs.notify.webhook import Notification, deliver

NOW = datetime(2026, 10, 19, 2, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serve_webhook() as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LadderStore]:
    with LadderStore(f"sqlite:///{tmp_path / 'state.db'}") as opened:
        yield opened


def queue(store: LadderStore, count: int, *, at: datetime = NOW) -> list[int]:
    """``count`` approval requests for triage, queued at ``at``."""
    return [
        store.write(
            lambda c, i=i: insert_notification(
                c,
                model_id="triage",
                kind="approval_requested",
                recipients=("bob",),
                payload={"summary": f"request {i}"},
                at=at,
            )
        )
        for i in range(count)
    ]


def rows(store: LadderStore) -> list[tuple[int, str, int, datetime | None]]:
    """(id, status, attempts, next attempt) of every outbox row."""
    return store.read(
        lambda c: [
            (r.id, r.status, r.attempts, r.next_attempt_at)
            for r in c.execute(select(notifications).order_by(notifications.c.id))
        ]
    )


# ------------------------------------------------------------ never stalling


def test_a_receiver_that_drips_a_byte_at_a_time_cannot_hold_a_delivery_past_its_deadline(
    receiver: Receiver,
) -> None:
    receiver.drip_s = 0.25  # each byte well within the 5 s socket timeout: it never fires
    started = time.monotonic()

    result = deliver(
        Notification(url=receiver.url, payload={"text": "hi"}, key="k"),
        deadline_s=1.5,
        timeout_s=5.0,
    )

    elapsed = time.monotonic() - started
    assert not result.ok and result.status_code is None
    assert result.error is not None and "no complete answer within" in result.error
    assert 1.4 < elapsed < 2.5
    # Sent whole, the answer (some 60 bytes at a quarter of a second each) takes 15 s.
    assert len(receiver.received) == result.attempts == 1


def test_a_night_with_a_dripping_receiver_ends_on_time_and_keeps_every_message(
    store: LadderStore, receiver: Receiver
) -> None:
    ids = queue(store, 3)
    receiver.drip_s = 0.25
    started = time.monotonic()

    run = deliver_due(store, url=receiver.url, now=NOW, send=partial(deliver, deadline_s=1.0))

    assert time.monotonic() - started < 3 * 1.0 + 2
    assert (run.sent, run.dead, len(run.failed)) == (0, [], 3)
    assert all("attempt 2 in 60 s" in failure for failure in run.failed)
    assert rows(store) == [(i, "pending", 1, NOW + timedelta(minutes=1)) for i in ids]


def test_a_drain_stops_claiming_when_its_budget_is_spent_and_leaves_the_rest_untouched(
    store: LadderStore, receiver: Receiver
) -> None:
    *_, third = queue(store, 3)
    receiver.drip_s = 0.25

    run = deliver_due(
        store, url=receiver.url, now=NOW, send=partial(deliver, deadline_s=1.0), budget_s=1.5
    )

    assert (len(run.failed), run.left) == (2, 1)
    assert rows(store)[2] == (third, "pending", 0, NOW)  # not tried: due for the next run


@pytest.mark.parametrize(
    ("asked", "waits"), [("120", timedelta(minutes=2)), ("86400", timedelta(hours=1))]
)
def test_retry_after_is_honoured_up_to_an_hour(
    store: LadderStore, receiver: Receiver, asked: str, waits: timedelta
) -> None:
    [queued] = queue(store, 1)
    receiver.answer(429, b"slow down", Retry_After=asked)

    run = deliver_due(store, url=receiver.url, now=NOW)

    assert len(receiver.received) == 1  # a long Retry-After is not waited for in the run
    assert run.failed == [
        f"notification {queued}: webhook http://127.0.0.1:"
        f"{receiver.url.split(':')[2].split('/')[0]}/… answered HTTP 429: "
        f"slow down (asked to retry after {asked} s; left for a later "
        f"attempt); attempt 2 in {int(waits.total_seconds() // 60)} min as "
        "the receiver asked"
    ]
    assert rows(store) == [(queued, "pending", 1, NOW + waits)]


# ---------------------------------------------------------------- never lost


def test_a_message_the_receiver_refuses_is_a_dead_letter_at_once_then_resent_and_delivered(
    store: LadderStore, receiver: Receiver, tmp_path: Path
) -> None:
    [queued] = queue(store, 1)
    receiver.answer(404, b"no_service")
    receiver.answer(200)

    run = deliver_due(store, url=receiver.url, now=NOW)

    assert run.sent == 0 and len(run.dead) == 1
    assert "HTTP 404: no_service: the receiver refused the message itself" in run.dead[0]
    listed = runner.invoke(
        app, ["outbox", "--status", "dead", "--format", "json", "--state", store.url]
    )
    assert listed.exit_code == 0, listed.output
    [dead] = json.loads(listed.output)
    assert (dead["id"], dead["status"], dead["attempts"], dead["dead_at"]) == (
        queued,
        "dead",
        1,
        "2026-10-19T02:00:00+00:00",
    )

    later = (NOW + timedelta(hours=5)).isoformat()
    again = runner.invoke(
        app, ["outbox", "resend", str(queued), "--state", store.url, "--now", later]
    )
    assert again.exit_code == 0, again.output
    assert again.output.strip() == f"queued again: #{queued}"
    register = tmp_path / "register.yaml"
    register.write_text(
        "name: t\npeople: {bob: [model_owner]}\nmodels:\n  - {id: triage, owner: bob}\n",
        encoding="utf-8",
    )
    ticked = runner.invoke(
        app,
        [
            "tick",
            "--register",
            str(register),
            "--state",
            store.url,
            "--now",
            later,
            "--notify",
            receiver.url,
        ],
    )
    assert ticked.exit_code == 0, ticked.output
    assert "sent 1, retrying 0, given up 0" in ticked.output
    assert len(receiver.received) == 2 and receiver.keys == [f"outbox-{queued}"] * 2
    assert [r[1] for r in rows(store)] == ["sent"]


def test_resending_something_that_is_no_dead_letter_is_refused(store: LadderStore) -> None:
    [queued] = queue(store, 1)
    refused = runner.invoke(app, ["outbox", "resend", str(queued), "--state", store.url])
    assert refused.exit_code == 2
    assert f"not a dead letter: {queued}" in " ".join(refused.output.split())


def test_a_webhook_down_for_three_days_keeps_retrying_then_shows_a_dead_letter() -> None:
    queued_at = NOW
    decision = next_attempt(FailedAttempt(1, queued_at, "unreachable"), NOW)
    assert (decision.kind, decision.at) == ("retry", NOW + timedelta(minutes=1))
    late = next_attempt(FailedAttempt(40, queued_at, "unreachable"), NOW + timedelta(hours=70))
    assert (late.kind, late.at) == ("retry", NOW + timedelta(hours=71))
    given_up = next_attempt(
        FailedAttempt(42, queued_at, "unreachable"), NOW + timedelta(hours=71, minutes=30)
    )
    assert given_up.kind == "dead" and given_up.at is None
    assert "gave up after 42 attempts over 71.5 h (maximum age 72.0 h)" in given_up.reason


# ------------------------------------------------------------ never repeated


def test_a_claimed_message_is_not_claimed_again_until_its_lease_runs_out(
    store: LadderStore,
) -> None:
    first, second = queue(store, 2)

    a = store.write(lambda c: claim_next(c, NOW, owner="run-a"))
    b = store.write(lambda c: claim_next(c, NOW, owner="run-b"))
    c = store.write(lambda c: claim_next(c, NOW, owner="run-c"))
    assert (a and a.id, b and b.id, c) == (first, second, None)

    # run-a dies; five minutes later its lease ran out and run-c takes the message over.
    later = NOW + timedelta(minutes=5)
    taken = store.write(lambda c: claim_next(c, later, owner="run-c"))
    assert taken is not None and taken.id == first
    assert not store.write(
        lambda c: record_attempt(c, first, owner="run-a", now=later, delivered=True)
    )
    assert store.write(lambda c: record_attempt(c, first, owner="run-c", now=later, delivered=True))
    assert rows(store)[0][:3] == (first, "sent", 1)


_DRAIN = textwrap.dedent("""
    import sys, time
    from datetime import datetime
    from ladder.store import LadderStore
    from thresholds.loader import load_register
    from modelhealth.ticking import run_tick

    url, register, webhook, start_at, now = sys.argv[1:6]
    store = LadderStore(url)
    loaded = load_register(register)
    while time.time() < float(start_at):
        time.sleep(0.005)
    result = run_tick(store, loaded.register, now=datetime.fromisoformat(now),
                      notify_url=webhook)
    print(result.delivery.sent)
""")


def test_four_concurrent_runs_deliver_every_queued_message_once(
    state_url: str, receiver: Receiver, tmp_path: Path
) -> None:
    with LadderStore(state_url) as store:
        ids = queue(store, 12)
    register = tmp_path / "register.yaml"
    register.write_text(
        "name: t\npeople: {bob: [model_owner]}\nmodels:\n  - {id: triage, owner: bob}\n",
        encoding="utf-8",
    )
    receiver.delay_s = 0.2  # slow enough that the four drains overlap
    start_at = time.time() + 8  # every process imported and waiting: they start together
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                _DRAIN,
                state_url,
                str(register),
                receiver.url,
                str(start_at),
                NOW.isoformat(),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]

    assert [p.returncode for p in procs] == [0, 0, 0, 0], [err for _, err in outputs]
    sent = [int(out.strip()) for out, _ in outputs]
    assert sum(sent) == 12
    assert sum(1 for n in sent if n) >= 2  # the drains really ran side by side
    assert sorted(receiver.keys) == sorted(f"outbox-{i}" for i in ids)
    with LadderStore(state_url) as store:
        assert {(r[1], r[2]) for r in rows(store)} == {("sent", 1)}


# ------------------------------------------------------- shown where people look


@pytest.mark.chromium
def test_dead_letters_are_in_the_report_and_bannered_on_its_page(
    tmp_path: Path, browser: Any
) -> None:
    from modelhealth.cli import app as cli
    from modelhealth.demo import demo_profiles, write_logs

    state = f"sqlite:///{tmp_path / 'state.db'}"
    with LadderStore(state) as store:
        [queued] = queue(store, 1, at=NOW - timedelta(days=4))
        store.write(lambda c: claim_next(c, NOW, owner="nightly"))
        gave_up = next_attempt(FailedAttempt(50, NOW - timedelta(days=4), "HTTP 503"), NOW)
        assert gave_up.kind == "dead"
        store.write(
            lambda c: record_attempt(
                c, queued, owner="nightly", now=NOW, delivered=False, retry=gave_up
            )
        )
    start = NOW.date() - timedelta(days=9)
    logs = tmp_path / "logs"
    write_logs(
        [dataclasses.replace(p, rows_per_day=300, degradations=()) for p in demo_profiles(start)],
        start,
        9,
        logs,
        seed=3,
    )
    out = tmp_path / "out"

    result = runner.invoke(
        cli,
        [
            "check",
            "--register",
            str(ROOT / "data" / "register.yaml"),
            "--logs",
            str(logs),
            "--as-of",
            (NOW.date() - timedelta(days=1)).isoformat(),
            "--out",
            str(out),
            "--state",
            state,
            "--no-tracking",
            "--no-drift",
            "--now",
            NOW.isoformat(),
        ],
    )

    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    with LadderStore(state) as store:
        waiting = sum(1 for r in rows(store) if r[1] == "pending")  # tonight's own, if any
    assert report["outbox"] == {
        "pending": waiting,
        "dead": 1,
        "dead_ids": [queued],
        "oldest_dead_at": "2026-10-19T02:00:00Z",
    }
    loaded = browser.load((out / "report.html").as_uri())
    assert loaded.loaded and loaded.problems == []
    banner = browser.evaluate("document.getElementById('dead-letters').innerText")
    assert banner.startswith(
        "1 notification could not be delivered and was given up (the oldest on 2026-10-19 "
    )
    assert "modelhealth ladder outbox resend --all" in banner
    assert (
        browser.evaluate("document.getElementById('dead-letters').getBoundingClientRect().height")
        > 20
    )
