"""The nightly job as a team runs it: several nights through the CLI, the ladder, MLflow,
the HTML in Chromium, approvals, and a kill in the middle of a night."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest
from chromium import HeadlessChromium
from typer.testing import CliRunner

from modelhealth.cli import app
from monitor.report import report_json_schema

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ROOT / "data" / "register.yaml"
LOGS = ROOT / "data" / "demo" / "logs"
NIGHTS = ["2026-10-14", "2026-10-15", "2026-10-16", "2026-10-17"]

runner = CliRunner()


def morning_after(night: str) -> str:
    day = int(night[-2:]) + 1
    return f"{night[:-2]}{day:02d}T06:00:00+00:00"


def check_args(night: str, home: Path, *extra: str) -> list[str]:
    return [
        "check",
        "--register",
        str(REGISTER),
        "--logs",
        str(LOGS),
        "--as-of",
        night,
        "--out",
        str(home / "out" / night),
        "--state",
        f"sqlite:///{home / 'state.db'}",
        "--tracking-uri",
        f"sqlite:///{home / 'mlflow.db'}",
        "--now",
        morning_after(night),
        *extra,
    ]


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four nights around the day the support assistant starts hallucinating."""
    home = tmp_path_factory.mktemp("nightly")
    for night in NIGHTS:
        result = runner.invoke(app, check_args(night, home))
        assert result.exit_code == 0, result.output
    return home


def report(home: Path, night: str) -> dict:  # type: ignore[type-arg]
    return json.loads((home / "out" / night / "report.json").read_text())  # type: ignore[no-any-return]


def test_each_night_writes_a_report_that_validates_against_its_schema(month: Path) -> None:
    schema = report_json_schema()
    for night in NIGHTS:
        jsonschema.validate(report(month, night), schema)
        assert (month / "out" / night / "report.html").stat().st_size > 50_000
        assert (month / "out" / night / "quarantine.parquet").exists()


def test_the_breach_night_opens_an_escalation_with_a_handoff_packet(month: Path) -> None:
    quiet = {m["model_id"]: m for m in report(month, "2026-10-15")["models"]}
    assert quiet["support-assistant"]["status"] == "healthy"
    assert quiet["support-assistant"]["recommendation"] is None
    breach = {m["model_id"]: m for m in report(month, "2026-10-16")["models"]}
    assistant = breach["support-assistant"]
    assert assistant["status"] == "breach"
    assert assistant["dominant_failure_mode"] == "hallucination"
    rec = assistant["recommendation"]
    # hallucination -> retrieval augmentation (the response matrix); tier 3 acts the same night
    assert rec["rung"] == "retrieval_augmentation"
    assert rec["status"].startswith("pending")
    assert rec["tier"] == 3
    assert rec["estimated_cost"] > 0
    assert "alice" not in rec["approvers"]  # the owner requested it: separation of duties
    assert any("approve" in c for c in rec["commands"])
    # The next night holds: the pending step is not recommended again.
    next_night = {m["model_id"]: m for m in report(month, "2026-10-17")["models"]}
    assert next_night["support-assistant"]["recommendation"]["id"] == rec["id"]


def test_mlflow_has_one_run_per_night_with_the_reports_numbers(month: Path) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{month / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("acme-support")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.data.params["as_of"] for r in runs) == NIGHTS
    run = next(r for r in runs if r.data.params["as_of"] == "2026-10-16")
    rep = report(month, "2026-10-16")
    assistant = next(m for m in rep["models"] if m["model_id"] == "support-assistant")
    assert run.data.params["register_version"] == rep["register_version"]
    assert run.data.metrics["support-assistant.quality"] == pytest.approx(
        assistant["metrics"]["quality"]["value"]
    )
    assert run.data.metrics["support-assistant.n_rows"] == assistant["n_rows"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"report.json", "report.html", "quarantine.parquet"} <= artifacts
    # The registered model named in the register mirrors the ladder state.
    tags = client.get_registered_model("support-assistant").tags
    assert tags["modelhealth.status"] == "breach"
    assert tags["modelhealth.recommended_rung"] == "retrieval_augmentation"


@pytest.mark.chromium
def test_the_breach_nights_html_loads_cleanly_in_chromium(
    month: Path, browser: HeadlessChromium
) -> None:
    page = month / "out" / "2026-10-16" / "report.html"
    loaded = browser.load(page.as_uri())
    assert loaded.loaded and loaded.problems == []
    text = browser.evaluate("document.body.innerText")
    assert "retrieval" in text.lower() and "support-assistant" in text
    # Trend charts draw the recorded nights from the state store.
    assert browser.evaluate("document.querySelectorAll('svg.chart').length") >= 8
    shot = browser.screenshot(month / "breach-night.png")
    assert shot.stat().st_size > 20_000


def test_approval_through_the_cli_respects_roles_and_separation_of_duties(month: Path) -> None:
    rec = next(
        m for m in report(month, "2026-10-17")["models"] if m["model_id"] == "support-assistant"
    )["recommendation"]
    state = [
        "--register",
        str(REGISTER),
        "--state",
        f"sqlite:///{month / 'state.db'}",
        "--now",
        "2026-10-18T09:00:00+00:00",
    ]
    # alice owns the model and requested the step: she may not approve her own spend.
    refused = runner.invoke(app, ["ladder", "approve", rec["id"], "--as", "alice", *state])
    assert refused.exit_code == 2
    assert "Traceback" not in refused.output
    # dave holds no approver role at all.
    no_role = runner.invoke(app, ["ladder", "approve", rec["id"], "--as", "dave", *state])
    assert no_role.exit_code == 2
    ok = runner.invoke(app, ["ladder", "approve", rec["id"], "--as", "bob", *state])
    assert ok.exit_code == 0, ok.output
    verify = runner.invoke(
        app, ["ladder", "audit", "verify", "--state", f"sqlite:///{month / 'state.db'}"]
    )
    assert verify.exit_code == 0, verify.output


@pytest.mark.slow
def test_a_kill_during_a_night_leaves_report_and_state_consistent(tmp_path: Path) -> None:
    for night in NIGHTS[:2]:
        assert runner.invoke(app, check_args(night, tmp_path)).exit_code == 0
    night = NIGHTS[2]
    command = [sys.executable, "-m", "modelhealth", *check_args(night, tmp_path)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    previous = (tmp_path / "out" / night / "report.json").read_bytes()
    killed = 0
    for delay in (1.0, 2.5, 4.0, 5.5):
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            killed += 1
        proc.wait(timeout=60)
        current = (tmp_path / "out" / night / "report.json").read_bytes()
        assert json.loads(current)["run_id"] == json.loads(previous)["run_id"]
        with sqlite3.connect(tmp_path / "state.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            # One night recorded per model and night, however often it was rerun or killed.
            counts = db.execute(
                "SELECT model_id, night, COUNT(*) FROM ladder_nights GROUP BY model_id, night"
            ).fetchall()
            assert counts and all(count == 1 for _, _, count in counts)
            assert db.execute("SELECT COUNT(*) FROM ladder_steps").fetchone() == (1,)
    assert killed >= 2, "every run finished before the kill: lengthen the delays"
    verify = runner.invoke(
        app, ["ladder", "audit", "verify", "--state", f"sqlite:///{tmp_path / 'state.db'}"]
    )
    assert verify.exit_code == 0, verify.output
    done = subprocess.run(command, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    after = json.loads((tmp_path / "out" / night / "report.json").read_text())
    before = json.loads(previous)
    for r in (after, before):
        r.pop("generated_at")
    assert after == before
