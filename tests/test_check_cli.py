"""`modelhealth check` end to end, through the real CLI on simulated logs."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from modelhealth.cli import app
from modelhealth.demo import Degradation, demo_profiles, write_logs
from monitor.report import report_json_schema

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ROOT / "data" / "register.yaml"
START = date(2026, 10, 1)
NIGHT = date(2026, 10, 9)  # the ninth day: eight days of reference behind it

runner = CliRunner()


def profiles(*, outage: bool = False, rows: int = 700) -> list:  # type: ignore[type-arg]
    out = []
    for p in demo_profiles(START):
        p = dataclasses.replace(p, rows_per_day=rows, degradations=())
        if outage and p.model_id == "invoice-extractor":
            t0 = datetime(2026, 10, 9, tzinfo=timezone.utc)
            p = dataclasses.replace(
                p, degradations=(Degradation("outage", 1.0, start=t0, end=t0 + timedelta(days=1)),)
            )
        out.append(p)
    return out


@pytest.fixture(scope="module")
def healthy_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    logs = tmp_path_factory.mktemp("healthy") / "logs"
    write_logs(profiles(), START, 9, logs, seed=7)
    return logs


@pytest.fixture(scope="module")
def outage_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    logs = tmp_path_factory.mktemp("outage") / "logs"
    write_logs(profiles(outage=True), START, 9, logs, seed=7)
    return logs


def check(logs: Path, out: Path, *extra: str) -> tuple[int, str, dict]:  # type: ignore[type-arg]
    result = runner.invoke(
        app,
        [
            "check",
            "--register",
            str(REGISTER),
            "--logs",
            str(logs),
            "--as-of",
            NIGHT.isoformat(),
            "--out",
            str(out),
            "--no-ladder",
            "--no-drift",
            "--now",
            "2026-10-10T06:00:00+00:00",
            *extra,
        ],
    )
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else {}
    return result.exit_code, result.output, report


def test_a_healthy_night_exits_0_and_the_report_validates_against_its_schema(
    healthy_logs: Path, tmp_path: Path
) -> None:
    code, output, report = check(healthy_logs, tmp_path, "--fail-on", "breach")
    assert code == 0, output
    jsonschema.validate(report, report_json_schema())
    assert report["as_of"] == "2026-10-09"
    assert report["register_version"].startswith("sha256:")
    by_id = {m["model_id"]: m for m in report["models"]}
    assert set(by_id) == {"support-assistant", "invoice-extractor", "churn-classifier"}
    for model in by_id.values():
        assert model["status"] in ("healthy", "warning"), model["breaches"]
        assert model["n_rows"] > 300
        assert model["window"]["start"].startswith("2026-10-09T00:00:00")
        assert model["reference_window"]["end"] == model["window"]["start"]


def test_every_row_read_is_accounted_for(healthy_logs: Path, tmp_path: Path) -> None:
    _, _, report = check(healthy_logs, tmp_path)
    ing = report["ingest"]
    assert ing["rows_read"] == (
        ing["rows_used"]
        + ing["rows_quarantined"]
        + ing["rows_duplicate"]
        + ing["rows_out_of_window"]
    )
    total_rows = sum(pq.read_metadata(p).num_rows for p in healthy_logs.rglob("*.parquet"))
    assert ing["rows_read"] == total_rows
    # Nine days of logs, all inside the current (1 day) or reference (28 days) window.
    assert ing["rows_out_of_window"] == 0
    used = sum(m["n_rows"] + m["n_reference_rows"] for m in report["models"])
    assert used == ing["rows_used"]


def test_a_model_with_no_rows_tonight_is_blind_and_fails_a_breach_gate(
    outage_logs: Path, tmp_path: Path
) -> None:
    code, output, report = check(outage_logs, tmp_path, "--fail-on", "breach")
    by_id = {m["model_id"]: m for m in report["models"]}
    assert by_id["invoice-extractor"]["status"] == "blind"
    assert by_id["invoice-extractor"]["n_rows"] == 0
    assert by_id["invoice-extractor"]["breaches"][0]["level"] == "blind"
    assert report["status"] == "blind"
    assert code == 1
    assert "invoice-extractor" in output
    # The same night without a gate still "ran": exit 0.
    code_no_gate, _, _ = check(outage_logs, tmp_path / "again")
    assert code_no_gate == 0


def test_rerunning_a_night_gives_the_same_report(healthy_logs: Path, tmp_path: Path) -> None:
    _, _, first = check(healthy_logs, tmp_path / "a")
    _, _, second = check(healthy_logs, tmp_path / "b")
    first.pop("generated_at")
    second.pop("generated_at")
    for r in (first, second):
        r["ingest"]["quarantine_file"] = None
    assert first == second


def test_a_log_missing_a_required_column_exits_2_naming_it(tmp_path: Path) -> None:
    import pyarrow as pa

    table = pa.table(
        {
            "prediction_id": ["a"],
            "model_id": ["support-assistant"],
            "timestamp": ["2026-10-09T10:00:00Z"],
            "confidence": [0.9],
        }
    )
    path = tmp_path / "logs.parquet"
    pq.write_table(table, path)
    code, output, _ = check(path, tmp_path / "out")
    assert code == 2
    assert "latency_ms" in output
    assert "Traceback" not in output


def test_a_bad_register_exits_2_with_every_problem(tmp_path: Path, healthy_logs: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nmodels:\n  - id: m\n    thresholds: {error_rate: {max: 2}}\n")
    result = runner.invoke(app, ["check", "--register", str(bad), "--logs", str(healthy_logs)])
    assert result.exit_code == 2
    assert f"{bad}:3: models[0].owner: required but missing" in result.output
    assert f"{bad}:4: models[0].thresholds.error_rate.max" in result.output


def test_unknown_fail_on_level_and_bad_date_exit_2(healthy_logs: Path, tmp_path: Path) -> None:
    code, output, _ = check(healthy_logs, tmp_path, "--fail-on", "sometimes")
    assert code == 2 and "--fail-on" in output
    result = runner.invoke(
        app,
        [
            "check",
            "--register",
            str(REGISTER),
            "--logs",
            str(healthy_logs),
            "--as-of",
            "09/10/2026",
        ],
    )
    assert result.exit_code == 2 and "2026-11-21" in result.output


@pytest.mark.slow
def test_a_kill_mid_run_leaves_the_previous_report_intact_and_a_rerun_succeeds(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    write_logs(profiles(rows=4000), START, 9, logs, seed=3)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "modelhealth",
        "check",
        "--register",
        str(REGISTER),
        "--logs",
        str(logs),
        "--as-of",
        NIGHT.isoformat(),
        "--out",
        str(out),
        "--no-ladder",
        "--now",
        "2026-10-10T06:00:00+00:00",
    ]
    subprocess.run(command, check=True, capture_output=True, timeout=300)
    previous = (out / "report.json").read_bytes()
    survived = 0
    for delay in (0.5, 1.5, 3.0, 4.5):
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            survived += 1
        proc.wait(timeout=60)
        current = (out / "report.json").read_bytes()
        # Either untouched or a complete new report: never half a file.
        assert (
            current == previous or json.loads(current)["run_id"] == json.loads(previous)["run_id"]
        )
        assert not list(out.glob(".report.json.*.tmp"))
    assert survived >= 2, "the run finished before it could be killed: make it longer"
    done = subprocess.run(command, capture_output=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    after = json.loads((out / "report.json").read_text())
    before = json.loads(previous)
    for r in (after, before):
        r.pop("generated_at")
    assert after == before
