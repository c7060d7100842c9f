"""Reminders that arrive when due, and nobody unreachable: stories on a fake clock in
minutes, end to end through the command line (``ladder tick --now … --notify …``,
``people away``, ``ladder status``) with a real local webhook receiver.

The nightly job opens support-assistant's step at 02:00 UTC on Wednesday 2025-04-09
(owner alice requests it; bob and frank, model owners, may approve it). In the stories
with teams, alice, bob and frank work 09:00–17:00 in Berlin (07:00–15:00 UTC in April),
carol (ML lead, bob's and frank's manager) in New York, and erin holds the on-call role.
A cron job (or the desk) ticks every few minutes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from ladder_factories import (
    HALLUCINATING_TEST_NIGHTS,
    MODEL,
    REGISTER_YAML,
    START,
    Timeline,
    breach,
    model_report,
    open_store,
    report_for,
    run_time,
)
from typer.testing import CliRunner, Result
from webhook_receiver import Receiver, serve_webhook

from ladder import audit
from ladder.nightly import decide_night
from ladder.store import LadderStore
from modelhealth.cli import app as cli
from thresholds.loader import parse_register
from thresholds.schema import Register

runner = CliRunner()
REQUESTED = run_time(START + timedelta(days=1))  # Wednesday 2025-04-09 02:00 UTC

TEAMS_YAML = """
name: reminder-stories
people:
  alice: [model_owner, ml_lead]
  bob: [model_owner]
  frank: [model_owner]
  carol: [ml_lead, finance]
  dave: [ml_engineer]
{on_call}
identity:
  allow_as: true
routing:
  teams:
    berlin: {timezone: Europe/Berlin, hours: "09:00-17:00", members: [alice, bob, frank]}
    new-york: {timezone: America/New_York, members: [carol]}
  escalate_to: {bob: carol, frank: carol}
defaults:
  approver_roles: [model_owner]
  ladder:
    budget: {amount: 60000, currency: USD, period: quarter}
models:
  - id: support-assistant
    owner: alice
    criticality: 2
"""


def teams_register(*, on_call: bool = True) -> str:
    return TEAMS_YAML.replace("{on_call}", "  erin: [on_call, ml_engineer]" if on_call else "")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serve_webhook() as running:
        yield running


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LadderStore]:
    handle = open_store(tmp_path)
    yield handle
    handle.close()


@pytest.fixture
def register_file(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "register.yaml"


def write(path: Path, text: str) -> Register:
    path.write_text(text, encoding="utf-8")
    return parse_register(text, source=str(path)).register


def invoke(*args: str) -> Result:
    result = runner.invoke(cli, list(args))
    assert "Traceback" not in result.output, result.output
    return result


def tick(store: LadderStore, register: Path, at: datetime, receiver: Receiver) -> Result:
    result = invoke(
        "ladder",
        "tick",
        "--register",
        str(register),
        "--state",
        store.url,
        "--now",
        at.isoformat(),
        "--notify",
        receiver.url,
    )
    assert result.exit_code == 0, result.output
    return result


def cron(
    store: LadderStore, register: Path, receiver: Receiver, *, every: int, hours: float
) -> list[tuple[int, dict[str, Any]]]:
    """Tick every ``every`` minutes for ``hours`` after the request; the messages that
    arrived at each tick, as (minutes after the request, message)."""
    arrived: list[tuple[int, dict[str, Any]]] = []
    for minute in range(0, int(hours * 60) + 1, every):
        seen = len(receiver.received)
        tick(store, register, REQUESTED + timedelta(minutes=minute), receiver)
        arrived += [(minute, m) for m in receiver.payloads[seen:]]
    return arrived


def headline(message: dict[str, Any]) -> str:
    return str(message["text"]).split(" — ")[0]


def recipients(message: dict[str, Any]) -> str:
    for part in str(message["text"]).split(" · "):
        if part.startswith("For: "):
            return part.removeprefix("For: ")
    return ""


def routing(message: dict[str, Any]) -> str:
    for part in str(message["text"]).split(" · "):
        if part.startswith("Routing: "):
            return part.removeprefix("Routing: ")
    return ""


def open_step(store: LadderStore, register: Register) -> Timeline:
    """Two breaching nights: the step is requested at 02:00 on the second morning."""
    tl = Timeline(store, register)
    for breaches, mode in HALLUCINATING_TEST_NIGHTS:
        tl.play(breaches, mode=mode)
    assert tl.last is not None and tl.last.id == "step-1"
    return tl


# ------------------------------------------------------ reminders when due


def test_a_tick_every_five_minutes_reminds_at_30_minutes_and_goes_up_at_2_hours(
    store: LadderStore, register_file: Path, receiver: Receiver
) -> None:
    open_step(store, write(register_file, make_register_text()))

    arrived = cron(store, register_file, receiver, every=5, hours=4.5)

    assert [(m, headline(msg), recipients(msg)) for m, msg in arrived] == [
        (0, "Approval requested: support-assistant (step-1)", "bob"),
        (30, "Reminder: nobody has acknowledged this: support-assistant (step-1)", "bob"),
        # No manager named: the holders of the rung's escalate_to role (ml_lead).
        (
            120,
            "Escalated to the next level: still not acknowledged: support-assistant (step-1)",
            "alice, bob, carol",
        ),
    ]
    reminded = [e for e in store.read(audit.entries) if e.action == "step.ack_reminder"]
    assert len(reminded) == 1
    assert reminded[0].at.startswith("2025-04-09T02:30")
    assert reminded[0].reason.startswith(
        "retrieval_augmentation (step-1): not acknowledged 30 min after it was requested "
        "2025-04-09 02:00 UTC: re-notified"
    )
    assert reminded[0].payload["clock"] == "ack_reminder"


def test_acknowledging_within_30_minutes_stops_the_reminders(
    store: LadderStore, register_file: Path, receiver: Receiver
) -> None:
    open_step(store, write(register_file, make_register_text()))
    acked = invoke(
        "ladder",
        "ack",
        "step-1",
        "--as",
        "bob",
        "--register",
        str(register_file),
        "--state",
        store.url,
        "--now",
        (REQUESTED + timedelta(minutes=20)).isoformat(),
    )
    assert acked.exit_code == 0, acked.output

    arrived = cron(store, register_file, receiver, every=10, hours=6)

    assert [(m, headline(msg)) for m, msg in arrived] == [
        (0, "Approval requested: support-assistant (step-1)")
    ]


def test_a_tier_4_step_tells_everyone_at_once(
    store: LadderStore, register_file: Path, receiver: Receiver
) -> None:
    register = write(register_file, teams_register())
    tl = Timeline(store, register, night=START + timedelta(days=1))
    tl.play(
        [breach("latency_ms.p95", tier=4, observed=9000, limit=3500)], mode="latency_regression"
    )
    assert tl.last is not None and tl.last.tier == 4

    arrived = cron(store, register_file, receiver, every=10, hours=3)

    # hybrid_routing: model_owner or ml_lead may approve (not alice, who requested it);
    # their managers and the on-call role hear at the same time, and nobody later.
    assert [(m, headline(msg), recipients(msg)) for m, msg in arrived] == [
        (
            0,
            ":rotating_light: Approval requested: support-assistant (step-1)",
            "bob, carol, erin, frank",
        ),
        (
            30,
            ":rotating_light: Reminder: nobody has acknowledged this: support-assistant (step-1)",
            "bob, carol, erin, frank",
        ),
    ]
    assert "next level: their managers (carol)" in routing(arrived[0][1])
    assert "tier 4 pages the on_call role (erin)" in routing(arrived[0][1])


# ------------------------------------------------------------ business hours


def test_a_request_at_night_goes_to_on_call_and_says_when_an_approver_will_act(
    store: LadderStore, register_file: Path, receiver: Receiver
) -> None:
    open_step(store, write(register_file, teams_register()))

    status = invoke(
        "ladder",
        "status",
        "--register",
        str(register_file),
        "--state",
        store.url,
        "--now",
        (REQUESTED + timedelta(minutes=10)).isoformat(),
    )
    assert (
        "routing: routed to the on_call role (erin); outside business hours: an approver "
        "will pick this up before 09:00 Europe/Berlin"
    ) in " ".join(status.output.split())

    arrived = cron(store, register_file, receiver, every=15, hours=8)

    # 02:00 UTC is 04:00 in Berlin: erin hears at once; the reminders wait for 09:00 CEST
    # (07:00 UTC): re-notified at 07:30, the next level (carol) at 09:00 UTC.
    assert [(m, headline(msg), recipients(msg)) for m, msg in arrived] == [
        (0, "Approval requested: support-assistant (step-1)", "bob, erin, frank"),
        (330, "Reminder: nobody has acknowledged this: support-assistant (step-1)", "bob, frank"),
        (
            420,
            "Escalated to the next level: still not acknowledged: support-assistant (step-1)",
            "bob, carol, frank",
        ),
    ]
    assert routing(arrived[0][1]) == (
        "routed to the on_call role (erin); outside business hours: an approver will pick "
        "this up before 09:00 Europe/Berlin"
    )
    # carol's day in New York has not begun at 09:00 UTC, but bob and frank are at work.
    assert routing(arrived[2][1]) == "next level: their managers (carol)"


def test_tier_3_pages_the_on_call_role_in_working_hours_too(
    store: LadderStore, register_file: Path, receiver: Receiver
) -> None:
    register = write(register_file, teams_register())
    tl = Timeline(store, register, night=START + timedelta(days=1))
    office = datetime(2025, 4, 9, 10, 0, tzinfo=timezone.utc)  # 12:00 in Berlin
    report = report_for(
        tl.night,
        [model_report(tl.night, [breach("latency_ms.p95", tier=3)], mode="latency_regression")],
    )
    decide_night(store, report, register, now=office)

    tick(store, register_file, office, receiver)

    [message] = receiver.payloads
    assert headline(message) == ":warning: Approval requested: support-assistant (step-1)"
    # hybrid_routing: model_owner or ml_lead (carol, in New York, reads it at her 09:00).
    assert recipients(message) == "bob, carol, erin, frank"
    assert routing(message) == "tier 3 pages the on_call role (erin)"


# ------------------------------------------------------------------ away


def test_an_approver_away_hands_over_to_the_delegate_and_it_is_audited_and_proven(
    store: LadderStore, register_file: Path, receiver: Receiver, tmp_path: Path
) -> None:
    write(register_file, teams_register())
    common = ("--register", str(register_file), "--state", store.url)
    monday = "2025-04-07T08:00:00+00:00"

    recorded = invoke(
        "people",
        "away",
        "bob",
        "--until",
        "2025-04-14",
        "--delegate",
        "frank",
        "--reason",
        "holiday",
        "--as",
        "bob",
        *common,
        "--now",
        monday,
    )
    assert recorded.exit_code == 0, recorded.output
    # A date means midnight at its start in bob's team's timezone (CEST: 22:00 UTC before).
    assert recorded.output.splitlines()[0] == (
        "absence #1: bob is away from 2025-04-07 08:00 UTC until 2025-04-13 22:00 UTC; "
        "frank stands in"
    )
    listed = invoke("people", "away", "--list", *common, "--now", monday)
    assert "bob" in listed.output and "frank" in listed.output and "holiday" in listed.output

    open_step(store, parse_register(teams_register()).register)
    office = REQUESTED + timedelta(hours=6)  # 10:00 in Berlin
    tick(store, register_file, office, receiver)

    # The night's request (queued at 02:00: frank was asleep, erin on call) and the
    # 30-minute reminder of the working day, both for frank instead of bob.
    request, reminder = receiver.payloads
    assert recipients(request) == "erin, frank"
    assert routing(request) == (
        "bob is away until 2025-04-13 22:00 UTC: delegated to frank; routed to the on_call "
        "role (erin); outside business hours: an approver will pick this up before 09:00 "
        "Europe/Berlin"
    )
    assert recipients(reminder) == "frank"
    assert routing(reminder) == "bob is away until 2025-04-13 22:00 UTC: delegated to frank"
    routed = [e for e in store.read(audit.entries) if e.action == "notification.routed"]
    assert [e.reason for e in routed] == [routing(request), routing(reminder)]

    verified = invoke("ladder", "audit", "verify", "--state", store.url)
    assert verified.exit_code == 0, verified.output
    # The absences are part of the state the log proves: an edit behind its back shows.
    with sqlite3.connect(tmp_path / "state.db") as raw:
        raw.execute("UPDATE ladder_absences SET delegate = 'dave' WHERE id = 1")
    tampered = invoke("ladder", "audit", "verify", "--state", store.url)
    assert tampered.exit_code == 4
    assert (
        "ladder_absences id 1: delegate is 'dave' in the table but the log says 'frank'"
    ) in " ".join(tampered.output.split())


def test_who_may_record_an_absence_and_who_may_stand_in(
    store: LadderStore, register_file: Path
) -> None:
    write(register_file, teams_register())
    common = (
        "--register",
        str(register_file),
        "--state",
        store.url,
        "--now",
        "2025-04-07T08:00:00+00:00",
    )

    not_admin = invoke("people", "away", "bob", "--until", "3d", "--as", "dave", *common)
    assert not_admin.exit_code == 2
    assert "dave may not record bob's absence: only bob or a holder of ml_lead may" in (
        " ".join(not_admin.output.split())
    )
    wrong_role = invoke(
        "people", "away", "bob", "--until", "3d", "--delegate", "dave", "--as", "bob", *common
    )
    assert wrong_role.exit_code == 2
    assert (
        "dave cannot stand in for bob: bob decides as model_owner and dave holds ml_engineer"
    ) in " ".join(wrong_role.output.split())
    by_admin = invoke("people", "away", "bob", "--until", "3d", "--as", "carol", *common)
    assert by_admin.exit_code == 0, by_admin.output
    assert "no delegate: the on_call role stands in" in by_admin.output
    cleared = invoke("people", "away", "bob", "--clear", "--as", "bob", *common)
    assert cleared.exit_code == 0 and "bob is back: ended absence #1" in cleared.output
    again = invoke("people", "away", "bob", "--clear", "--as", "bob", *common)
    assert again.exit_code == 2 and "no current or planned absence" in again.output
    actions = [e.action for e in store.read(audit.entries)]
    assert actions.count("refused.absence.record") == 2
    assert [a for a in actions if a.startswith("absence.")] == [
        "absence.recorded",
        "absence.cleared",
    ]


def test_with_every_approver_away_and_nobody_on_call_the_step_is_unroutable_not_lost(
    store: LadderStore, register_file: Path, receiver: Receiver
) -> None:
    write(register_file, teams_register(on_call=False))
    common = (
        "--register",
        str(register_file),
        "--state",
        store.url,
        "--now",
        "2025-04-07T08:00:00+00:00",
    )
    for person in ("bob", "frank"):
        result = invoke("people", "away", person, "--until", "2025-04-20", "--as", person, *common)
        assert result.exit_code == 0, result.output

    tl = open_step(store, parse_register(teams_register(on_call=False)).register)
    assert tl.last is not None and tl.last.unroutable  # the report's recommendation says so
    status = invoke(
        "ladder",
        "status",
        "--register",
        str(register_file),
        "--state",
        store.url,
        "--now",
        (REQUESTED + timedelta(hours=6)).isoformat(),
    )
    assert "UNROUTABLE" in status.output
    as_json = invoke(
        "ladder",
        "status",
        MODEL,
        "--format",
        "json",
        "--register",
        str(register_file),
        "--state",
        store.url,
        "--now",
        (REQUESTED + timedelta(hours=6)).isoformat(),
    )
    assert json.loads(as_json.output)[0]["recommendation"]["unroutable"] is True

    tick(store, register_file, REQUESTED + timedelta(minutes=1), receiver)

    [message] = receiver.payloads
    assert headline(message).startswith(":rotating_light: Approval requested")
    # Everyone it concerns, away or not, and the owner: never an empty queue.
    assert recipients(message) == "alice, bob, frank"
    assert "*UNROUTABLE*: nobody configured could be reached" in message["text"]


# ------------------------------------------------------------------ --now


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    import typer.main

    click_group = typer.main.get_command(group) if not hasattr(group, "commands") else group
    ctx = typer.Context(click_group)
    # list_commands/get_command, not .commands: the ladder and people groups mount lazily
    for name in click_group.list_commands(ctx):
        command = click_group.get_command(ctx, name)
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield " ".join((*path, name)), command


def test_every_command_that_takes_now_documents_it_in_its_help() -> None:
    taking = {
        name: option
        for name, command in _commands(cli)
        for option in command.params
        if "--now" in getattr(option, "opts", ())
    }
    assert {
        "check",
        "ladder tick",
        "ladder approve",
        "ladder status",
        "people away",
        "ladder outbox resend",
    } <= set(taking)
    for name, option in taking.items():
        assert not option.hidden, name
        assert "ISO 8601" in (option.help or ""), name
    shown = invoke("ladder", "tick", "--help")
    assert "--now" in shown.output and "Act as if it were this moment" in " ".join(
        shown.output.split()
    )


def make_register_text() -> str:
    """The factories' register (no teams: everybody reachable at any hour)."""
    return REGISTER_YAML.replace("{extra_models}", "")
