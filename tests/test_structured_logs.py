"""`--log-format json`: every stderr line is one JSON event a log shipper can parse."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_check_with_json_logs_emits_only_parseable_events(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelhealth",
            "check",
            "--register",
            str(ROOT / "data" / "register.yaml"),
            "--logs",
            str(ROOT / "data" / "demo" / "logs"),
            "--as-of",
            "2026-10-16",
            "--out",
            str(tmp_path / "out"),
            "--state",
            f"sqlite:///{tmp_path / 'state.db'}",
            "--tracking-uri",
            f"sqlite:///{tmp_path / 'mlflow.db'}",
            "--no-drift",
            "--log-format",
            "json",
            "--now",
            "2026-10-17T06:00:00+00:00",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stderr.splitlines() if line.strip()]
    # The engine's de-duplication reports first, while the logs are read (no run id yet:
    # the run id is the report's); every event after it belongs to the run.
    dedup, events = events[0], events[1:]
    assert dedup["event"] == "dedup" and dedup["memory_budget"] == 256 * 2**20
    names = [e["event"] for e in events]
    assert names[0] == "check.done" and "mlflow.logged" in names
    judged = {e["model_id"]: e for e in events if e["event"] == "model.judged"}
    assert set(judged) == {"support-assistant", "invoice-extractor", "churn-classifier"}
    assistant = judged["support-assistant"]
    assert assistant["status"] == "breach"
    assert assistant["recommendation"]["rung"] == "retrieval_augmentation"
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert events[0]["rows_read"] == report["ingest"]["rows_read"]
    assert all(e["run_id"] == report["run_id"] for e in events)
