"""What the CLI prints for people to read and to paste: full names in a cron log, JSON and
CSV for tools, and commands that work when pasted in another folder."""

from __future__ import annotations

import csv
import io
import json
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelhealth.cli import app

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ROOT / "data" / "register.yaml"
LOGS = ROOT / "data" / "demo" / "logs"
runner = CliRunner()


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The night the support assistant starts hallucinating, checked with the ladder: a
    tier-3 step waits for approval. Returns the output folder and the state URL."""
    home = tmp_path_factory.mktemp("night")
    state = f"sqlite:///{home / 'state.db'}"
    done = runner.invoke(
        app,
        ["check", "--register", str(REGISTER), "--logs", str(LOGS), "--as-of", "2026-10-16",
         "--out", str(home / "out"), "--state", state, "--no-tracking", "--no-drift",
         "--now", "2026-10-17T06:00:00+00:00"],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    return home / "out", state


def test_the_report_commands_name_the_register_and_state_and_work_when_pasted(
    night: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, state = night
    report = json.loads((out / "report.json").read_text())
    rec = next(m for m in report["models"] if m["model_id"] == "support-assistant")[
        "recommendation"
    ]
    suffix = f"--register {REGISTER.resolve()} --state {state}"
    assert rec["commands"] and all(c.endswith(suffix) for c in rec["commands"])
    page = (out / "report.html").read_text()
    assert "Decide from a terminal" in page and str(REGISTER.resolve()) in page
    monkeypatch.chdir(tmp_path)  # another folder, no environment variables
    monkeypatch.delenv("MODELHEALTH_REGISTER", raising=False)
    monkeypatch.delenv("MODELHEALTH_STATE", raising=False)
    by_verb = {shlex.split(c)[2]: shlex.split(c) for c in rec["commands"]}

    for verb in ("ack", "approve"):
        args = by_verb[verb]
        assert args[0] == "modelhealth"
        done = runner.invoke(app, [*args[1:], "--now", "2026-10-17T09:00:00+00:00"])
        assert done.exit_code == 0, f"{args}: {done.output}"

    assert "approved" in done.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing created here


def test_ladder_status_off_a_terminal_keeps_full_names_and_shows_the_packet(
    night: tuple[Path, str],
) -> None:
    _, state = night

    done = runner.invoke(
        app, ["ladder", "status", "support-assistant", "--register", str(REGISTER),
              "--state", state],
    )  # fmt: skip

    assert done.exit_code == 0, done.output
    assert "…" not in done.output  # nothing cut to fit 80 columns
    row = next(line for line in done.output.splitlines() if "support-assistant" in line)
    assert "retrieval_augmentation" in row and "step-1" in row
    for label in ("Rule:", "Failure modes:", "Mitigate now:", "Cost:", "Approval:"):
        assert label in done.output
    assert f"--register {REGISTER.resolve()}" in done.output


def test_listings_as_csv_and_json(night: tuple[Path, str]) -> None:
    _, state = night
    common = ["--register", str(REGISTER), "--state", state]

    status = runner.invoke(app, ["ladder", "status", *common, "--format", "csv"])
    history = runner.invoke(app, ["ladder", "history", *common, "--format", "csv"])
    as_json = runner.invoke(app, ["ladder", "history", "support-assistant", *common, "-f", "json"])
    shown = runner.invoke(app, ["thresholds", "show", str(REGISTER), "--format", "csv"])

    rows = list(csv.DictReader(io.StringIO(status.output)))
    assert [r["model_id"] for r in rows] == ["support-assistant", "invoice-extractor",
                                              "churn-classifier"]  # fmt: skip
    assert rows[0]["rung"] == "retrieval_augmentation" and rows[0]["tier"] == "3"
    entries = list(csv.DictReader(io.StringIO(history.output)))
    recorded = {r["model"] for r in entries if r["action"] == "night.recorded"}
    assert recorded == {"support-assistant", "invoice-extractor", "churn-classifier"}
    assert all(r["model"] == "support-assistant" for r in entries if r["subject"] == "step-1")
    mine = json.loads(as_json.output)
    assert mine and {e["model"] for e in mine} == {"support-assistant"}
    settings = list(csv.DictReader(io.StringIO(shown.output)))
    p95 = next(
        r for r in settings if r["model_id"] == "support-assistant" and "p95" in r["setting"]
    )
    assert p95["value"] == "≤ 3500" and p95["unit"] == "ms"


def test_history_table_has_a_model_column(night: tuple[Path, str]) -> None:
    _, state = night

    done = runner.invoke(app, ["ladder", "history", "--state", state, "-n", "100"])

    header = next(line for line in done.output.splitlines() if "When (UTC)" in line)
    assert "Model" in header
    assert "churn-classifier" in done.output


def test_check_and_the_ladder_read_the_register_and_state_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = f"sqlite:///{tmp_path / 'env-state.db'}"
    env = {"MODELHEALTH_REGISTER": str(REGISTER), "MODELHEALTH_STATE": state}

    done = runner.invoke(
        app,
        ["check", "--logs", str(LOGS), "--as-of", "2026-10-02", "--out", str(tmp_path / "o"),
         "--no-tracking", "--no-drift", "--now", "2026-10-03T06:00:00+00:00"],
        env=env,
    )  # fmt: skip
    status = runner.invoke(app, ["ladder", "history", "--format", "csv"], env=env)

    assert done.exit_code == 0, done.output
    assert (tmp_path / "env-state.db").is_file()
    assert "night.recorded" in status.output
