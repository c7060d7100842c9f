"""A new user's first hour: `init` on their own logs, then `validate`, then `check`."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import numpy as np
import pytest
from onboarding_logs import MODEL, NIGHT, renamed_logs
from typer.testing import CliRunner, Result

from modelhealth.cli import app
from thresholds.loader import load_register

runner = CliRunner()


def check_only(register: Path, logs: Path, *extra: str) -> Result:
    """``check --no-ladder`` of the sample's last night."""
    night = NIGHT.date().isoformat()
    return runner.invoke(
        app,
        ["check", "--register", str(register), "--logs", str(logs), "--as-of", night,
         "--no-ladder", "--no-drift", *extra],
    )  # fmt: skip


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    folder = tmp_path_factory.mktemp("own-logs")
    frame = renamed_logs()
    path = folder / "predictions.csv"
    frame.to_csv(path, index=False)
    return path, frame


def test_init_maps_renamed_columns_units_and_status_and_the_register_validates(
    sample: tuple[Path, object], tmp_path: Path
) -> None:
    path, frame = sample
    register = tmp_path / "register.yaml"

    done = runner.invoke(app, ["init", "--logs", str(path), "--out", str(register)])

    assert done.exit_code == 0, done.output
    entry = load_register(register).register.model(MODEL)
    columns = entry.columns
    assert (columns.prediction_id, columns.model_id, columns.timestamp) == (
        "request_id",
        "model",
        "ts",
    )
    assert (columns.confidence, columns.latency_ms) == ("score", "duration_s")
    assert (columns.output_type, columns.segment) == ("kind", "tenant")
    assert (columns.prediction, columns.label) == ("predicted", "actual")
    assert entry.ingest.latency_unit == "s"  # from the name duration_s
    status = entry.ingest.error_from_status
    assert status is not None and status.column == "status"
    assert sorted(status.failing) == ["error", "timeout"]
    assert entry.output_types == ["label", "summary"]
    # Limits from the sample's own distribution, each with where it came from.
    ok = frame[frame.status == "ok"]  # type: ignore[attr-defined]
    p95 = float(np.percentile(ok.duration_s * 1000, 95))
    assert entry.thresholds.latency_ms.p95 == pytest.approx(float(f"{p95 * 1.5:.2g}"))
    text = register.read_text()
    assert f"sample p95 {p95:,.4g} ms" in text
    rate = float((frame.status != "ok").mean())  # type: ignore[attr-defined]
    assert f"sample error rate {rate:.2%}" in text
    assert entry.thresholds.error_rate.max == pytest.approx(
        max(0.01, np.ceil(2 * rate / 0.005) * 0.005)
    )
    accuracy = float((frame.predicted == frame.actual).mean())  # type: ignore[attr-defined]
    assert f"sample accuracy {accuracy:.3f}" in text
    assert entry.thresholds.quality is not None
    assert entry.thresholds.quality.min <= accuracy - 0.03

    validated = runner.invoke(app, ["thresholds", "validate", str(register)])
    assert validated.exit_code == 0, validated.output
    # The next steps it prints are commands that work as pasted: the sample's last night.
    (suggested,) = [line for line in done.output.splitlines() if "modelhealth check" in line]
    assert suggested.strip().endswith(f"--as-of {NIGHT.date().isoformat()} --no-ladder")
    checked = runner.invoke(
        app, [*shlex.split(suggested.strip())[1:], "--out", str(tmp_path / "o")]
    )
    assert checked.exit_code == 0, checked.output


def test_check_runs_on_the_register_init_wrote(sample: tuple[Path, object], tmp_path: Path) -> None:
    path, frame = sample
    register = tmp_path / "register.yaml"
    assert runner.invoke(app, ["init", "--logs", str(path), "--out", str(register)]).exit_code == 0

    done = check_only(register, path, "--out", str(tmp_path / "out"))

    assert done.exit_code == 0, done.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (model,) = report["models"]
    assert report["ingest"]["rows_quarantined"] == 0
    tonight = frame[frame.ts >= NIGHT.strftime("%Y-%m-%d")]  # type: ignore[attr-defined]
    assert model["n_rows"] == len(tonight)
    errors = int((tonight.status != "ok").sum())
    assert model["metrics"]["error_rate"]["value"] == pytest.approx(errors / len(tonight))
    # Seconds were read as seconds: the median is hundreds of milliseconds, not 0.35.
    median = float(np.median(tonight.duration_s * 1000))
    assert model["metrics"]["latency_ms"]["p50"] == pytest.approx(median, rel=0.02)
    labeled = tonight
    assert model["metrics"]["quality"]["value"] == pytest.approx(
        float((labeled.predicted == labeled.actual).mean())
    )


def test_init_says_what_it_could_not_infer(tmp_path: Path) -> None:
    frame = renamed_logs(rows=200).drop(columns=["status", "predicted", "actual"])
    frame = frame.rename(columns={"score": "weirdness"})
    path = tmp_path / "few.jsonl"
    frame.to_json(path, orient="records", lines=True)

    done = runner.invoke(app, ["init", "--logs", str(path), "--out", str(tmp_path / "r.yaml")])

    assert done.exit_code == 0, done.output
    assert "could not infer confidence" in done.output
    assert "could not infer error" in done.output
    text = (tmp_path / "r.yaml").read_text()
    assert "Could not infer" in text and "quality: null" in text
    assert "weirdness" in text  # listed among the columns it did not use


def test_init_refuses_to_overwrite_a_register(sample: tuple[Path, object], tmp_path: Path) -> None:
    path, _ = sample
    existing = tmp_path / "register.yaml"
    existing.write_text("keep me\n")

    done = runner.invoke(app, ["init", "--logs", str(path), "--out", str(existing)])

    assert done.exit_code == 2
    assert existing.read_text() == "keep me\n"


def test_check_no_ladder_records_nothing(
    sample: tuple[Path, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = sample
    register = tmp_path / "register.yaml"
    assert runner.invoke(app, ["init", "--logs", str(path), "--out", str(register)]).exit_code == 0
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)

    done = check_only(register, path)

    assert done.exit_code == 0, done.output
    # Only the report folder: no state store, no MLflow store, no artifacts folder.
    assert sorted(os.listdir(work)) == ["out"]
    # The files, published through the run folder under .modelhealth (docs/scheduling.md).
    assert sorted(os.listdir(work / "out")) == [
        ".modelhealth",
        "quarantine.parquet",
        "report.html",
        "report.json",
    ]
