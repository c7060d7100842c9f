"""``modelhealth ladder …`` through Typer's CliRunner on the ladder app itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from ladder_factories import (
    HALLUCINATING_TEST_NIGHTS,
    REGISTER_YAML,
    START,
    Timeline,
    make_register,
    open_store,
    run_time,
)
from typer.testing import CliRunner, Result

from ladder import audit
from ladder.store import LadderStore
from modelhealth.cli.ladder import app

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LadderStore]:
    handle = open_store(tmp_path)
    yield handle
    handle.close()


@pytest.fixture
def register_file(tmp_path: Path) -> Path:
    path = tmp_path / "register.yaml"
    path.write_text(REGISTER_YAML.replace("{extra_models}", ""), encoding="utf-8")
    return path


@pytest.fixture
def opened(store: LadderStore) -> Timeline:
    tl = Timeline(store, make_register())
    for breaches, mode in HALLUCINATING_TEST_NIGHTS:
        tl.play(breaches, mode=mode)
    return tl


def ladder(
    store: LadderStore,
    register: Path | None,
    *args: str,
    when: str | None = None,
    env: dict[str, str] | None = None,
) -> Result:
    command = list(args)
    if register is not None:
        command += ["--register", str(register)]
    command += ["--state", store.url]
    if when is not None:
        command += ["--now", when]
    return runner.invoke(app, command, env=env)


def assert_refused(result: Result, message: str) -> None:
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


DAY3 = f"{START + timedelta(days=2)}T10:00:00+00:00"


def test_status_lists_models_and_what_to_run(
    store: LadderStore, register_file: Path, opened: Timeline
) -> None:
    result = ladder(store, register_file, "status")

    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "support-assistant" in text and "retrieval_augmentation" in text
    assert "$ modelhealth ladder approve step-1 --as bob" in text


def test_status_of_one_model_shows_the_handoff_packet(
    store: LadderStore, register_file: Path, opened: Timeline
) -> None:
    result = ladder(store, register_file, "status", "support-assistant", "--format", "json")

    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert row["recommendation"]["id"] == "step-1"
    assert row["packet"]["rule"] == "persistence"
    assert row["packet"]["approvers"] == ["bob"]

    table = ladder(store, register_file, "status", "support-assistant")
    text = " ".join(table.output.split())
    assert "Rule: persistence" in text
    assert "Cost: USD 12,600 (9,000 one-off + 1,200/month × 3)" in text


def test_approve_then_apply_through_the_cli(
    store: LadderStore, register_file: Path, opened: Timeline
) -> None:
    approved = ladder(
        store,
        register_file,
        "approve",
        "step-1",
        "--as",
        "bob",
        "--reason",
        "index ready",
        when=DAY3,
    )
    assert approved.exit_code == 0, approved.output
    assert "step-1 retrieval_augmentation approved" in approved.output

    applied = ladder(store, register_file, "apply", "step-1", "--as", "dave", when=DAY3)
    assert applied.exit_code == 0, applied.output
    assert "evaluated until 2025-04-23 10:00 UTC" in applied.output


def test_refusals_exit_2_with_a_reason_and_no_traceback(
    store: LadderStore, register_file: Path, opened: Timeline
) -> None:
    assert_refused(
        ladder(store, register_file, "approve", "step-1", "--as", "dave", when=DAY3),
        "dave holds ml_engineer; deciding retrieval_augmentation needs one of model_owner",
    )
    assert_refused(
        ladder(store, register_file, "approve", "step-1", "--as", "alice", when=DAY3),
        "separation of duties",
    )
    assert_refused(
        ladder(store, register_file, "approve", "step-99", "--as", "bob", when=DAY3),
        "there is no step-99",
    )
    assert_refused(
        ladder(store, register_file, "reject", "step-1", "--as", "bob", "--reason", " ", when=DAY3),
        "a rejection needs a reason",
    )
    missing = ladder(store, register_file, "reject", "step-1", "--as", "bob")
    assert missing.exit_code == 2  # --reason is required


def test_as_is_refused_and_audited_when_the_register_does_not_allow_it(
    store: LadderStore, tmp_path: Path, opened: Timeline
) -> None:
    strict = tmp_path / "strict.yaml"
    strict.write_text(
        REGISTER_YAML.replace("{extra_models}", "").replace(
            "identity:\n  allow_as: true",
            "identity:\n  source: env\n  env_var: LADDER_TEST_USER\n  allow_as: false",
        ),
        encoding="utf-8",
    )
    env = {"LADDER_TEST_USER": "carol"}
    # The stricter identity section is adopted by an admin first (carol holds ml_lead).
    pinned = ladder(store, strict, "register", "pin", when=DAY3, env=env)
    assert pinned.exit_code == 0, pinned.output
    assert "identity.allow_as: True → False" in pinned.output

    result = ladder(store, strict, "approve", "step-1", "--as", "bob", when=DAY3, env=env)

    assert_refused(result, "--as bob refused")
    last = store.read(audit.entries)[-1]
    assert (last.actor, last.action, last.subject) == ("carol", "refused.identity", "step-1")

    # Without --as the identity comes from the environment: carol is no model owner.
    as_carol = ladder(store, strict, "approve", "step-1", when=DAY3, env=env)
    assert_refused(as_carol, "carol holds finance, ml_lead")
    approved = ladder(
        store, strict, "approve", "step-1", when=DAY3, env={"LADDER_TEST_USER": "bob"}
    )
    assert approved.exit_code == 0, approved.output


def test_a_broken_register_lists_its_problems_and_exits_2(
    store: LadderStore, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "name: x\nmodels:\n  - id: m\n    owner: a\n    criticalty: 3\n", encoding="utf-8"
    )
    result = ladder(store, broken, "status")
    assert_refused(result, "unknown key 'criticalty'")
    # The same wording as `modelhealth check` and `thresholds validate` (one loader).
    assert f"problem in register {broken}:" in " ".join(result.output.split())


def test_ack_stops_reminders(store: LadderStore, register_file: Path, opened: Timeline) -> None:
    result = ladder(store, register_file, "ack", "step-1", "--as", "bob", when=DAY3)
    assert result.exit_code == 0, result.output
    assert "step-1 acknowledged by bob" in result.output
    assert_refused(
        ladder(store, register_file, "ack", "step-1", "--as", "dave", when=DAY3),
        "dave neither owns support-assistant",
    )


def test_tick_runs_the_clocks_between_nights(
    store: LadderStore, register_file: Path, opened: Timeline
) -> None:
    requested = run_time(START + timedelta(days=1))
    early = ladder(
        store, register_file, "tick", when=(requested + timedelta(minutes=29)).isoformat()
    )
    assert early.output.splitlines()[0] == "no clock ran out"
    late = requested + timedelta(minutes=30)
    result = ladder(store, register_file, "tick", when=late.isoformat())
    # Without --notify the reminder waits in the outbox with the approval request.
    assert result.output.splitlines() == [
        "support-assistant: remind",
        "2 notification(s) wait in the outbox (give --notify to send them)",
    ]


def test_event_add_records_events_for_every_model_or_the_named_ones(
    store: LadderStore, register_file: Path
) -> None:
    result = ladder(
        store,
        register_file,
        "event",
        "add",
        "price_change",
        "--as",
        "carol",
        "--note",
        "provider cut prices",
        when=DAY3,
    )
    assert result.exit_code == 0, result.output
    assert "recorded price_change as event #1" in result.output
    assert_refused(
        ladder(store, register_file, "event", "add", "solar_flare", "--as", "carol"),
        "unknown event kind 'solar_flare'",
    )
    assert_refused(
        ladder(
            store, register_file, "event", "add", "price_change", "--model", "nope", "--as", "carol"
        ),
        "not in register 'ladder-tests': nope",
    )


def test_history_shows_who_did_what_and_why(
    store: LadderStore, register_file: Path, opened: Timeline
) -> None:
    ladder(
        store,
        register_file,
        "approve",
        "step-1",
        "--as",
        "bob",
        "--reason",
        "index ready",
        when=DAY3,
    )
    result = ladder(store, None, "history", "support-assistant", "--format", "json")

    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    actions = [(r["actor"], r["action"]) for r in rows]
    assert ("modelhealth", "escalation.opened") in actions
    assert ("bob", "step.approve") in actions
    assert next(r for r in rows if r["action"] == "step.approve")["reason"] == "index ready"


def test_diagram_draws_rungs_costs_approvers_and_where_models_stand(
    store: LadderStore, register_file: Path, opened: Timeline
) -> None:
    result = ladder(store, register_file, "diagram", "--format", "mermaid")

    assert result.exit_code == 0, result.output
    text = result.output
    assert "flowchart TB" in text
    assert text.count("-->") == 5
    assert "r_prompt_optimization --> r_retrieval_augmentation" in text
    assert "entry: Wrong or invented facts" in text
    assert "cost: USD 9,000 one-off + 1,200/month" in text
    assert (
        "approvers: 2 approvals from model_owner or ml_lead, not the requester "
        "(alice, bob, carol)" in text
    )
    assert 'm_support_assistant == "step-1 pending" ==> r_retrieval_augmentation' in text

    table = ladder(store, register_file, "diagram", "--format", "text", env={"COLUMNS": "300"})
    assert table.exit_code == 0, table.output
    assert "support-assistant (step-1 pending)" in table.output


def test_matrix_as_markdown(store: LadderStore, register_file: Path) -> None:
    result = runner.invoke(app, ["matrix", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    assert "| `format_violation` | `prompt_optimization` |" in result.output
    assert_refused(
        runner.invoke(app, ["matrix", "--format", "pdf"]), "table, markdown, json or csv"
    )


def test_stats_report_detection_decision_and_resolution(
    store: LadderStore, register_file: Path, opened: Timeline
) -> None:
    ladder(store, register_file, "approve", "step-1", "--as", "bob", when=DAY3)
    ladder(store, register_file, "apply", "step-1", "--as", "dave", when=DAY3)
    opened.play_until("resolved", limit=20)

    result = ladder(store, None, "stats", "--format", "json")

    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["escalations"] == 1
    assert figures["by_tier"] == {"2": 1}
    # First trigger window opened 2025-04-07 00:00; escalation opened 2025-04-09 02:00.
    assert figures["time_to_detection"]["median_hours"] == 50.0
    # Requested 02:00, approved 10:00 the same day.
    assert figures["time_to_decision"]["median_hours"] == 8.0
    assert figures["time_to_resolution"]["count"] == 1
    assert figures["repeat_escalation_rate"] == 0.0


def test_an_unusable_state_url_is_bad_input(register_file: Path) -> None:
    result = runner.invoke(
        app, ["status", "--register", str(register_file), "--state", "not a url"]
    )
    assert_refused(result, "cannot use state store 'not a url'")


@pytest.mark.parametrize(
    ("command", "option"),
    [(["stats", "--since"], "--since"), (["tick", "--now"], "--now")],
)
def test_a_bad_moment_names_the_option_it_came_from(
    store: LadderStore, register_file: Path, command: list[str], option: str
) -> None:
    result = ladder(store, register_file, *command, "last tuesday")
    assert_refused(result, f"{option} must be ISO 8601, not 'last tuesday'")


def test_the_diagram_shows_each_tiers_windows(store: LadderStore, tmp_path: Path) -> None:
    register = tmp_path / "fast.yaml"
    register.write_text(
        REGISTER_YAML.replace("{extra_models}", "").replace(
            "    criticality: 2\n",
            "    criticality: 2\n    ladder: {sla: {ack_hours: {3: 1}, remind_after: 10m}}\n",
        ),
        encoding="utf-8",
    )
    mermaid = ladder(store, register, "diagram", "--model", "support-assistant")
    assert mermaid.exit_code == 0, mermaid.output
    [note] = [line for line in mermaid.output.splitlines() if line.strip().startswith("windows[")]
    assert "tier 2 delivery risk: acknowledge within 24 h, decide within 48 h" in note
    assert "tier 3 relationship threat: acknowledge within 1 h, decide within 24 h" in note
    assert "reminders: re-notified after 10 min unacknowledged, next level after 2 h" in note

    text = ladder(store, register, "diagram", "--format", "text")
    flat = " ".join(text.output.split())
    # Without --model: the shipped defaults.
    assert "tier 3 relationship threat: acknowledge within 2 h, decide within 24 h" in flat
    assert "tier 4 critical: acknowledge immediately, decide within 4 h" in flat
