"""The register's ingest transforms: units, status columns, labels and time zones."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from modelhealth.cli import app
from monitor.ingest.transforms import localize_naive, status_errors
from thresholds.errors import RegisterError
from thresholds.loader import parse_register

runner = CliRunner()
NIGHT = "2026-10-20"


def register(tmp_path: Path, ingest: str = "", columns: str = "") -> Path:
    path = tmp_path / "register.yaml"
    path.write_text(
        "name: transforms\n"
        "models:\n"
        "  - id: m\n"
        "    owner: ann\n"
        "    thresholds: {min_samples: 10, drift: {enabled: false}}\n"
        + (f"    columns: {columns}\n" if columns else "")
        + (f"    ingest:\n{ingest}" if ingest else "")
    )
    return path


def frame(rows: int = 400, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = datetime(2026, 10, 20, tzinfo=timezone.utc)
    return pd.DataFrame(
        {
            "prediction_id": [f"p{i}" for i in range(rows)],
            "model_id": "m",
            "timestamp": [
                (start + timedelta(seconds=float(s))).isoformat()
                for s in np.sort(rng.uniform(60, 86000, rows))
            ],
            "confidence": rng.uniform(0.5, 1.0, rows),
            "latency_ms": rng.uniform(0.1, 2.0, rows),
        }
    )


def check(tmp_path: Path, reg: Path, logs: Path, *extra: str) -> tuple[dict, str]:  # type: ignore[type-arg]
    out = tmp_path / "out"
    done = runner.invoke(
        app,
        [
            "check",
            "--register",
            str(reg),
            "--logs",
            str(logs),
            "--as-of",
            NIGHT,
            "--out",
            str(out),
            "--no-ladder",
            "--no-drift",
            "--now",
            "2026-10-21T06:00:00+00:00",
            *extra,
        ],
    )
    assert done.exit_code == 0, done.output
    return json.loads((out / "report.json").read_text()), done.output


def test_latency_logged_in_seconds_is_judged_in_milliseconds(tmp_path: Path) -> None:
    logs = frame()
    path = tmp_path / "logs.csv"
    logs.to_csv(path, index=False)

    as_ms, _ = check(tmp_path, register(tmp_path), path)
    as_s, _ = check(tmp_path, register(tmp_path, "      latency_unit: s\n"), path)

    median_s = float(np.median(logs.latency_ms))
    assert as_ms["models"][0]["metrics"]["latency_ms"]["p50"] == pytest.approx(median_s, rel=0.02)
    assert as_s["models"][0]["metrics"]["latency_ms"]["p50"] == pytest.approx(
        1000 * median_s, rel=0.02
    )


def test_error_is_derived_from_a_status_column_and_its_failing_values(tmp_path: Path) -> None:
    logs = frame()
    statuses = np.array(["OK", "ok", " Timeout ", "ERROR", "retried"])
    logs["status"] = np.resize(statuses, len(logs))
    path = tmp_path / "logs.parquet"
    logs.to_parquet(path)
    reg = register(
        tmp_path, "      error_from_status: {column: status, failing: [timeout, error]}\n"
    )

    report, _ = check(tmp_path, reg, path)

    failing = logs.status.str.strip().str.lower().isin(["timeout", "error"])
    assert report["models"][0]["metrics"]["error_rate"]["value"] == pytest.approx(failing.mean())
    assert report["models"][0]["metrics"]["error_rate"]["count"] == int(failing.sum())


def test_correct_from_prediction_overrides_a_logged_correct_column(tmp_path: Path) -> None:
    logs = frame()
    logs["label"] = np.resize(["a", "b", "c"], len(logs))
    logs["prediction"] = np.where(np.arange(len(logs)) % 10 < 7, logs["label"], "z")
    logs["correct"] = True  # what a buggy logger wrote
    path = tmp_path / "logs.jsonl"
    logs.to_json(path, orient="records", lines=True)

    trusting, _ = check(tmp_path, register(tmp_path), path)
    judged, _ = check(tmp_path, register(tmp_path, "      correct_from_prediction: true\n"), path)

    assert trusting["models"][0]["metrics"]["quality"]["value"] == 1.0
    expected = float((logs.prediction == logs.label).mean())
    assert judged["models"][0]["metrics"]["quality"]["value"] == pytest.approx(expected)


def test_naive_local_times_land_on_their_night_with_a_timezone(tmp_path: Path) -> None:
    # Berlin is UTC+2 on 2026-10-20 (summer time ends on the 25th). A row logged at
    # 01:30 local on the 21st happened at 23:30 UTC on the 20th; one at 01:30 local on
    # the 20th happened on the 19th.
    logs = frame()
    local = [
        pd.Timestamp(t).tz_convert("Europe/Berlin").strftime("%Y-%m-%dT%H:%M:%S")
        for t in logs.timestamp
    ]
    logs["timestamp"] = local  # naive local wall-clock times
    path = tmp_path / "logs.csv"
    logs.to_csv(path, index=False)

    as_utc, printed = check(tmp_path, register(tmp_path), path)
    zoned, zoned_printed = check(
        tmp_path, register(tmp_path, "      timezone: Europe/Berlin\n"), path
    )

    # Taken as UTC, the rows after 22:00 UTC were read two hours late: on the 21st.
    moments = pd.to_datetime(frame().timestamp)
    late = int((moments >= pd.Timestamp("2026-10-20T22:00:00Z")).sum())
    assert as_utc["models"][0]["n_rows"] == len(logs) - late
    assert zoned["models"][0]["n_rows"] == len(logs)
    note = as_utc["models"][0]["notes"][0]
    assert note.startswith(f"{len(logs) - late:,} row(s) had timestamps without a time zone")
    assert "ingest.timezone" in note and "wrong night" in note
    assert "without a time zone" in printed  # announced on the console too
    assert as_utc["ingest"]["naive_timestamps"] == len(logs) - late  # rows used
    assert zoned["ingest"]["naive_timestamps"] == 0
    assert not any("time zone" in n for n in zoned["models"][0]["notes"])
    assert "without a time zone" not in zoned_printed


def test_localize_naive_agrees_with_zoneinfo_including_the_autumn_change() -> None:
    zone = ZoneInfo("Europe/Berlin")
    walls = [
        datetime(2026, 10, 20, 1, 30),
        datetime(2026, 10, 25, 2, 30),  # happens twice: the summer-time instant is taken
        datetime(2026, 3, 29, 2, 30),  # never happens: moved to the end of the gap
        datetime(2026, 12, 31, 23, 59),
    ]
    ns = np.array([int(w.replace(tzinfo=timezone.utc).timestamp()) * 10**9 for w in walls])
    placed, ok = localize_naive(ns, np.ones(len(ns), bool), "Europe/Berlin")

    expected = [w.replace(tzinfo=zone, fold=0).astimezone(timezone.utc) for w in walls]
    expected[2] = datetime(2026, 3, 29, 1, 0, tzinfo=timezone.utc)  # 03:00 CEST
    assert ok.all()
    got = [datetime.fromtimestamp(v / 1e9, timezone.utc) for v in placed]
    assert got == expected


def test_status_errors_ignore_case_and_padding_and_nulls_are_no_error() -> None:
    import pyarrow as pa

    status = pa.array([" Error", "timeout", None, "ok", "TIMEOUT "])
    assert status_errors(status, ["error", "Timeout"]).tolist() == [True, True, False, False, True]


def test_the_register_refuses_a_bad_unit_zone_or_status_with_file_and_line() -> None:
    text = (
        "name: r\nmodels:\n  - id: m\n    owner: ann\n    ingest:\n"
        "      latency_unit: minutes\n"
        "      timezone: Mars/Olympus\n"
        "      error_from_status: {column: status, failing: []}\n"
    )
    with pytest.raises(RegisterError) as caught:
        parse_register(text, source="r.yaml")
    found = {(p.line, p.field) for p in caught.value.problems}
    assert (6, "models[0].ingest.latency_unit") in found
    assert (7, "models[0].ingest.timezone") in found
    assert (8, "models[0].ingest.error_from_status.failing") in found
    zone = next(p for p in caught.value.problems if p.field.endswith("timezone"))
    assert "IANA" in zone.reason


def test_most_rows_quarantined_prints_the_top_reasons_with_an_example(tmp_path: Path) -> None:
    logs = frame(rows=300)
    logs["latency_ms"] = logs["latency_ms"].astype(object)
    logs.loc[:199, "latency_ms"] = -5.0
    logs.loc[200:259, "confidence"] = 1.5
    path = tmp_path / "logs.parquet"
    logs.astype({"latency_ms": float}).to_parquet(path)

    report, printed = check(tmp_path, register(tmp_path), path)

    note = report["models"][0]["notes"][0]
    assert note.startswith("260 of 300 rows were quarantined, most for: ")
    assert "latency_negative 200 (e.g. -5.0)" in note
    assert "confidence_out_of_range 60 (e.g. 1.5)" in note
    assert note.index("latency_negative") < note.index("confidence_out_of_range")
    assert "latency_negative 200 (e.g. -5.0)" in printed
