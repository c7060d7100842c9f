"""``from modelhealth import run_check``: the check from Python, for Airflow tasks and notebooks."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelhealth import run_check
from modelhealth.cli import app
from thresholds.errors import RegisterError

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ROOT / "data" / "register.yaml"
LOGS = ROOT / "data" / "demo" / "logs"
NOW = datetime(2026, 10, 18, 6, 0, tzinfo=timezone.utc)


def test_the_library_writes_the_report_the_cli_writes(tmp_path: Path) -> None:
    report = run_check(
        REGISTER, LOGS, as_of="2026-10-17", out=tmp_path / "lib", drift=False, now=NOW
    )
    result = CliRunner().invoke(
        app,
        [
            "check",
            "--register",
            str(REGISTER),
            "--logs",
            str(LOGS),
            "--as-of",
            "2026-10-17",
            "--out",
            str(tmp_path / "cli"),
            "--no-ladder",
            "--no-drift",
            "--now",
            NOW.isoformat(),
        ],
    )

    assert result.exit_code == 0, result.output
    written = (tmp_path / "lib" / "report.json").read_text()
    assert written == (tmp_path / "cli" / "report.json").read_text()
    assert json.loads(written) == json.loads(report.model_dump_json())
    # The night the support assistant hallucinates, as the demo tells it.
    status = {m.model_id: m.status for m in report.models}
    assert status["support-assistant"] == "breach"
    assert all(m.recommendation is None for m in report.models)  # no ladder consulted
    page = (tmp_path / "lib" / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "support-assistant" in page


def test_the_night_defaults_to_the_day_before_the_clock(tmp_path: Path) -> None:
    report = run_check(
        REGISTER, [LOGS], out=tmp_path, drift=False, now=datetime(2026, 10, 3, 0, 30)
    )  # naive: UTC
    assert report.as_of == date(2026, 10, 2).isoformat()
    assert report.generated_at == datetime(2026, 10, 3, 0, 30, tzinfo=timezone.utc)


def test_a_bad_register_raises_with_every_problem(tmp_path: Path) -> None:
    broken = tmp_path / "register.yaml"
    broken.write_text(REGISTER.read_text().replace("owner:", "ownr:", 2))

    with pytest.raises(RegisterError) as caught:
        run_check(broken, LOGS, as_of="2026-10-17", out=tmp_path / "out", now=NOW)

    assert len(caught.value.problems) >= 2
    assert not (tmp_path / "out").exists()
