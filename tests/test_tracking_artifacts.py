"""What one check logs to MLflow: the report files, and the drift pages only when asked.

Evidently's pages are megabytes per model (3.7 MB each on the demo); logged every night
they made tracking cost more than the check. They stay in --out either way.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from modelhealth.cli import app
from modelhealth.outputs.tracking import TELEMETRY_SWITCH

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def tracked_check(tmp_path: Path, night: str, *extra: str) -> tuple[Path, set[str]]:
    out = tmp_path / night
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = runner.invoke(
        app,
        ["check", "--register", str(ROOT / "data" / "register.yaml"), "--logs",
         str(ROOT / "data" / "demo" / "logs"), "--as-of", night, "--out", str(out),
         "--state", f"sqlite:///{tmp_path / 'state.db'}", "--tracking-uri", store,
         "--now", f"{date.fromisoformat(night) + timedelta(days=1)}T06:00:00+00:00", *extra],
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    client = MlflowClient(store)
    (experiment,) = client.search_experiments(filter_string="name = 'acme-support'")
    (run,) = client.search_runs(
        [experiment.experiment_id], filter_string=f"params.as_of = '{night}'"
    )
    return out, {a.path for a in client.list_artifacts(run.info.run_id)}


def test_drift_pages_reach_mlflow_only_with_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TELEMETRY_SWITCH, raising=False)
    # From 2026-10-22 the churn classifier's monthly spend drifts: its page, and only its.
    out, logged = tracked_check(tmp_path, "2026-10-22")
    # MLflow's usage telemetry (a call to mlflow-telemetry.io) is off for our runs.
    assert os.environ[TELEMETRY_SWITCH] == "true"
    pages = sorted(p.name for p in out.glob("drift-*.html"))
    assert len(pages) == 1 and pages[0].startswith("drift-churn-classifier")  # in --out

    assert logged == {"report.json", "report.html", "quarantine.parquet"}

    _, with_pages = tracked_check(tmp_path, "2026-10-26", "--mlflow-drift-pages")
    assert with_pages == {"report.json", "report.html", "quarantine.parquet", *pages}


def test_a_telemetry_choice_of_the_caller_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(TELEMETRY_SWITCH, "false")
    tracked_check(tmp_path, "2026-10-22", "--no-drift")
    assert os.environ[TELEMETRY_SWITCH] == "false"
