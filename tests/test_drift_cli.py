"""Evidently's drill-down page: nightly only for the models that drifted, and on demand.

The demo's logs: from 2026-10-22 churn-classifier's ``monthly_spend`` drifts up by 0.35
sd; the support assistant and the invoice extractor never drift.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

from typer.testing import CliRunner

from modelhealth.cli import app
from monitor.check import CheckOptions, drift_page_path, run_check
from thresholds.loader import load_register

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ROOT / "data" / "register.yaml"
LOGS = ROOT / "data" / "demo" / "logs"
NIGHT = date(2026, 10, 30)


def test_the_nightly_check_renders_evidentlys_page_only_for_the_model_that_drifted(
    tmp_path: Path,
) -> None:
    options = CheckOptions(
        logs=[LOGS],
        as_of=NIGHT,
        out_dir=tmp_path,
        now=datetime(2026, 10, 31, 6, tzinfo=timezone.utc),
        drift=True,
        drift_html=True,
    )
    report = run_check(load_register(REGISTER), options)
    drift = {m.model_id: m.drift for m in report.models}
    churn = drift["churn-classifier"]
    assert churn is not None
    assert [c.column for c in churn.columns if c.drifted] == ["feature.monthly_spend"]
    assert churn.html == drift_page_path(tmp_path, "churn-classifier").name
    page = (tmp_path / churn.html).read_text(encoding="utf-8")
    # Only the drifted column is drawn: the others are in report.json, not on the page.
    assert "feature.monthly_spend" in page and "feature.tenure_months" not in page
    for model_id in ("support-assistant", "invoice-extractor"):
        summary = drift[model_id]
        assert summary is not None and summary.columns and summary.html is None
        assert not any(c.drifted for c in summary.columns)
    assert sorted(p.name for p in tmp_path.glob("drift-*.html")) == [churn.html]


def test_drift_report_on_demand_prints_the_whole_window_drift_and_writes_the_page(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    args = ["drift", "report", "--register", str(REGISTER), "--logs", str(LOGS)]
    result = runner.invoke(
        app,
        [
            *args,
            "--model",
            "invoice-extractor",
            "--as-of",
            "2026-10-30",
            "--out",
            str(tmp_path),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [r["column"] for r in rows] == ["prediction", "confidence"]
    confidence = rows[1]
    assert confidence["method"] == "Wasserstein distance (normed)" and not confidence["drifted"]
    assert confidence["n_current"] > 500 and confidence["n_reference"] > 10_000
    # Asked for, the page is written even though nothing drifted (every compared column).
    page = drift_page_path(tmp_path, "invoice-extractor")
    assert page.stat().st_size > 100_000

    # --drifted-only, as the nightly check: nothing drifted, so no page.
    quiet = runner.invoke(
        app,
        [
            *args,
            "--model",
            "support-assistant",
            "--as-of",
            "2026-10-30",
            "--out",
            str(tmp_path / "quiet"),
            "--drifted-only",
        ],
    )
    assert quiet.exit_code == 0, quiet.output
    assert "no column drifted: no page written" in quiet.stdout
    assert not (tmp_path / "quiet").exists()


def test_drift_report_refuses_an_unknown_model_and_a_bad_night_with_exit_2(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    base = ["drift", "report", "--register", str(REGISTER), "--logs", str(LOGS)]
    unknown = runner.invoke(app, [*base, "--model", "nope", "--as-of", "2026-10-30"])
    assert unknown.exit_code == 2
    assert "'nope' is not in register" in unknown.stderr
    bad_night = runner.invoke(app, [*base, "--model", "churn-classifier", "--as-of", "30/10"])
    assert bad_night.exit_code == 2 and "--as-of must be a date" in bad_night.stderr
    help_text = runner.invoke(app, ["drift", "report", "--help"])
    assert help_text.exit_code == 0 and "--drifted-only" in help_text.stdout
