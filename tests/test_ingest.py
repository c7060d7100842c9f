"""Ingest: prediction logs in, clean per-model chunks and an honest account out."""

from __future__ import annotations

import gzip
import json
import math
import os
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_fixtures import (
    DAY_NS,
    T0,
    Collected,
    collect,
    iso,
    make_register,
    ns,
    row,
    windows_for,
    write_csv,
    write_jsonl,
    write_log,
    write_parquet,
)

from monitor.chunk import WindowBounds
from monitor.errors import (
    InputError,
    LabelsError,
    MissingColumnError,
    MonitorError,
    UnreadableLogError,
)
from monitor.ingest import (
    QUARANTINE_REASONS,
    UNATTRIBUTED,
    IngestStats,
    QuarantineWriter,
    pipeline,
    read_logs,
)
from monitor.ingest.coerce import EPOCH_MS_MIN
from monitor.ingest.dedup import hash_ids
from monitor.ingest.dedup_exact import ExactSeen
from monitor.ingest.quarantine import MAX_CELL_CHARS, QUARANTINE_SCHEMA, row_json, rows_json
from thresholds.loader import load_register

REPO = Path(__file__).resolve().parents[1]
HOUR = 3_600_000_000_000
SUPPORT = "support-assistant"
CHURN = "churn-classifier"
INVOICE = "invoice-extractor"


def balanced(stats: IngestStats) -> bool:
    return stats.rows_read == (
        stats.rows_used + stats.rows_quarantined + stats.rows_duplicate + stats.rows_out_of_window
    )


def quarantine_rows(path: Path) -> list[dict[str, Any]]:
    table = pq.read_table(path)
    assert table.schema.equals(QUARANTINE_SCHEMA)
    rows: list[dict[str, Any]] = table.to_pylist()
    return rows


def hashes(*ids: str) -> list[int]:
    values: list[int] = hash_ids(pa.array(list(ids))).tolist()
    return values


@pytest.fixture
def register() -> Any:
    return make_register(SUPPORT, CHURN)


# --------------------------------------------------------------------------- formats


def mixed_rows() -> list[dict[str, Any]]:
    """Rows using every optional column, nulls included, two models, mixed time zones."""
    return [
        row(
            "a1",
            SUPPORT,
            timestamp="2026-11-01T01:00:00Z",
            confidence=0.91,
            latency_ms=120.5,
            output_type="answer",
            correct=True,
            error=False,
            quality_score=0.8,
            failure_mode=None,
            format_valid=True,
            segment="billing",
            **{"feature.tokens": 12.0, "feature.lang": "en"},
        ),
        row(
            "a2",
            SUPPORT,
            timestamp="2026-11-01T03:30:00+02:00",
            confidence=0.55,
            latency_ms=900.0,
            output_type="summary",
            correct=False,
            error=None,
            quality_score=None,
            failure_mode="made up citation",
            format_valid=None,
            segment="tech",
            **{"feature.tokens": 40.0, "feature.lang": "de"},
        ),
        row(
            "a3",
            SUPPORT,
            timestamp="2026-10-30T23:59:59.250Z",
            confidence=1.0,
            latency_ms=0.0,
            output_type="answer",
            correct=None,
            error=True,
            quality_score=0.0,
            failure_mode=None,
            format_valid=False,
            segment=None,
            **{"feature.tokens": None, "feature.lang": None},
        ),
        row(
            "c1",
            CHURN,
            timestamp="2026-11-01T05:00:00-05:00",
            confidence=0.7,
            latency_ms=14.0,
            output_type="label",
            correct=True,
            error=False,
            quality_score=None,
            failure_mode=None,
            format_valid=None,
            segment="billing",
            **{"feature.tokens": 3.0, "feature.lang": "en"},
        ),
    ]


PARQUET_TYPES = {
    "timestamp": pa.timestamp("ns", "UTC"),
    "confidence": pa.float64(),
    "latency_ms": pa.float64(),
    "quality_score": pa.float64(),
    "correct": pa.bool_(),
    "error": pa.bool_(),
    "format_valid": pa.bool_(),
    "failure_mode": pa.string(),
    "segment": pa.string(),
    "feature.tokens": pa.float64(),
    "feature.lang": pa.string(),
}


@pytest.mark.parametrize("batch_rows", [2, 1000])
def test_the_same_rows_as_parquet_csv_and_jsonl_give_identical_chunks(
    tmp_path: Path, register: Any, batch_rows: int
) -> None:
    rows = mixed_rows()
    parquet = write_parquet(tmp_path / "log.parquet", rows, types=PARQUET_TYPES)
    csv = write_csv(tmp_path / "log.csv", rows)
    jsonl = write_jsonl(tmp_path / "log.jsonl", rows)
    results = {
        path.suffix: collect([path], register, batch_rows=batch_rows)
        for path in (parquet, csv, jsonl)
    }
    reference = results[".parquet"].models
    support = reference[SUPPORT]
    # Real values, not just "the same": times in UTC, nulls where the log had none.
    assert support["timestamp_ns"] == [
        ns("2026-11-01T01:00:00Z"),
        ns("2026-11-01T01:30:00Z"),
        ns("2026-10-30T23:59:59.250Z"),
    ]
    assert support["id_hash"] == hashes("a1", "a2", "a3")
    assert support["confidence"] == [0.91, 0.55, 1.0]
    assert support["correct"] == [1, 0, -1]
    assert support["error"] == [False, False, True]
    assert support["format_valid"] == [1, -1, 0]
    assert support["output_type"] == ["answer", "summary", "answer"]
    assert support["failure_mode"] == [None, "made up citation", None]
    assert support["segment"] == ["billing", "tech", None]
    assert support["quality_score"][:2] == [0.8, None] or np.isnan(support["quality_score"][1])
    assert support["features"]["tokens"][:2] == [12.0, 40.0]
    assert np.isnan(support["features"]["tokens"][2])
    assert support["features"]["lang"] == ["en", "de", None]
    assert reference[CHURN]["timestamp_ns"] == [ns("2026-11-01T10:00:00Z")]
    for suffix, result in results.items():
        assert result.stats.rows_used == 4 and result.stats.rows_quarantined == 0, suffix
        assert result.stats.naive_timestamps == 0
        for model in (SUPPORT, CHURN):
            got = result.models[model]
            for name, value in reference[model].items():
                assert _same(got[name], value), (suffix, model, name, got[name], value)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and a and isinstance(a[0], float):
        return bool(np.array_equal(np.array(a, float), np.array(b, float), equal_nan=True))
    return bool(a == b)


def test_a_hive_partitioned_parquet_directory_is_read_recursively(
    tmp_path: Path, register: Any
) -> None:
    logs = tmp_path / "logs"
    write_parquet(
        logs / "date=2026-10-31" / "part-0.parquet", [row("p1", timestamp="2026-10-31T10:00:00Z")]
    )
    write_parquet(logs / "date=2026-11-01" / "part-0.parquet", [row("p2"), row("p3", CHURN)])
    # The model id lives only in the partition path here.
    write_parquet(
        logs / "date=2026-11-01" / f"model_id={CHURN}" / "part-0.parquet",
        [{k: v for k, v in row("p4").items() if k != "model_id"}],
    )
    (logs / "_SUCCESS").write_text("")
    (logs / "date=2026-11-01" / ".part-0.parquet.crc").write_text("junk")
    result = collect([logs], register)
    assert result.n(SUPPORT) == 2
    assert result.n(CHURN) == 2
    assert result.column(CHURN, "id_hash") == hashes("p3", "p4")
    assert len(result.stats.files) == 3
    assert result.stats.unreadable == []


def test_a_directory_mixes_formats_by_extension(tmp_path: Path, register: Any) -> None:
    logs = tmp_path / "logs"
    write_parquet(logs / "a.parquet", [row("p1")])
    write_csv(logs / "b.csv.gz", [row("p2")])
    write_jsonl(logs / "c.ndjson", [row("p3")])
    (logs / "notes.txt").write_text("not a log")
    result = collect([logs], register)
    assert result.column(SUPPORT, "id_hash") == hashes("p1", "p2", "p3")


def test_invoice_extractor_columns_are_read_through_its_register_mapping(tmp_path: Path) -> None:
    register = load_register(REPO / "data" / "register.yaml").register
    rows = [
        row("s1", SUPPORT, confidence=0.8, latency_ms=1000.0),
        {
            "prediction_id": "i1",
            "model_id": INVOICE,
            "timestamp": iso(HOUR),
            "score": 0.97,
            "duration_ms": 310.0,
            "output_type": "json",
        },
        {
            "prediction_id": "i2",
            "model_id": INVOICE,
            "timestamp": iso(HOUR),
            "score": 1.4,
            "duration_ms": 10.0,
        },
    ]
    quarantine = tmp_path / "q.parquet"
    with QuarantineWriter(quarantine) as writer:
        result = collect(
            [write_parquet(tmp_path / "mixed.parquet", rows)], register, quarantine=writer
        )
    assert result.column(INVOICE, "confidence") == [0.97]
    assert result.column(INVOICE, "latency_ms") == [310.0]
    assert result.column(SUPPORT, "confidence") == [0.8]
    assert [(r["reason"], r["model_id"]) for r in quarantine_rows(quarantine)] == [
        ("confidence_out_of_range", INVOICE)
    ]
    # A file holding only the invoice model's columns needs no 'confidence' column at all.
    only = write_csv(tmp_path / "invoice.csv", rows[1:2])
    assert collect([only], register).column(INVOICE, "latency_ms") == [310.0]


# --------------------------------------------------------------------------- quarantine


def reason_rows() -> list[tuple[str, dict[str, Any]]]:
    """One row per reason (as CSV-able text), plus rows failing several checks at once."""
    return [
        ("missing_prediction_id", row(None, latency_ms=-1)),
        ("missing_model_id", row("m1", None)),
        ("unknown_model", row("m2", "retired-model")),
        ("bad_timestamp", row("m3", timestamp="yesterday", confidence=2.0)),
        ("bad_timestamp", row("m4", timestamp="2026-13-01T00:00:00Z")),
        ("confidence_not_a_number", row("m5", confidence="high")),
        ("confidence_missing", row("m6", confidence=None)),
        ("confidence_not_a_number", row("m7", confidence="inf")),
        ("confidence_out_of_range", row("m8", confidence=1.0001, latency_ms="slow")),
        ("confidence_out_of_range", row("m9", confidence=-0.1)),
        ("latency_missing", row("m10", latency_ms="NaN")),
        ("latency_negative", row("m11", latency_ms=-0.5, error="maybe")),
        ("error_not_boolean", row("m12", error="maybe")),
        ("quality_score_out_of_range", row("m13", quality_score=1.5)),
        ("quality_score_out_of_range", row("m14", quality_score="great")),
        # An errored row may lack confidence and latency, never carry unreadable ones.
        ("confidence_not_a_number", row("m15", error="true", confidence="high")),
        ("latency_negative", row("m16", error="true", confidence=None, latency_ms=-3)),
        ("latency_missing", row("m17", error="", confidence=0.5, latency_ms=None)),
    ]


def test_every_quarantine_reason_is_counted_and_written_with_the_first_failing_reason(
    tmp_path: Path, register: Any
) -> None:
    cases = reason_rows()
    good = [
        row("ok1", error="no", quality_score=""),
        row("ok2", latency_ms=1e12, error=""),
        # Timed out: no confidence, no latency, no label; valid, and counted as an error.
        row("ok3", error="true", confidence=None, latency_ms=None),
        row("ok4", error="yes", confidence="NaN", latency_ms=30000.0),
    ]
    rows = [r for _, r in cases] + good
    path = write_csv(tmp_path / "log.csv", rows)
    quarantine = tmp_path / "out" / "quarantine.parquet"
    with QuarantineWriter(quarantine) as writer:
        result = collect([path], register, quarantine=writer, batch_rows=4)
    stats = result.stats
    expected: dict[str, int] = {}
    for reason, _ in cases:
        expected[reason] = expected.get(reason, 0) + 1
    assert stats.quarantined_by_reason == expected
    assert stats.rows_quarantined == len(cases) == 18
    assert stats.rows_used == 4
    latency = result.column(SUPPORT, "latency_ms")
    assert latency[:2] == [250.0, 1e12]  # huge latency is data
    assert math.isnan(latency[2]) and latency[3] == 30000.0
    confidence = result.column(SUPPORT, "confidence")
    assert confidence[:2] == [0.9, 0.9] and all(math.isnan(c) for c in confidence[2:])
    assert result.column(SUPPORT, "error") == [False, False, True, True]
    assert stats.quarantined_by_model == {UNATTRIBUTED: 2, SUPPORT: 16}
    written = quarantine_rows(quarantine)
    assert [(int(r["row_number"]), r["reason"]) for r in written] == [
        (i, reason) for i, (reason, _) in enumerate(cases)
    ]
    by_reason = {r["reason"]: r for r in written}
    assert by_reason["unknown_model"]["model_id"] == "retired-model"
    assert by_reason["unknown_model"]["prediction_id"] == "m2"
    assert by_reason["missing_prediction_id"]["prediction_id"] is None
    assert {r["source_file"] for r in written} == {str(path)}
    cells = json.loads(by_reason["error_not_boolean"]["row_json"])
    assert cells["prediction_id"] == "m12" and cells["error"] == "maybe"
    assert balanced(stats)


def test_the_quarantine_file_exists_and_is_empty_when_nothing_is_wrong(tmp_path: Path) -> None:
    register = make_register(SUPPORT)
    target = tmp_path / "quarantine.parquet"
    with QuarantineWriter(target) as writer:
        assert writer.tmp_path.exists() and not target.exists()
        collect([write_csv(tmp_path / "log.csv", [row("p1")])], register, quarantine=writer)
    assert target.exists() and not writer.tmp_path.exists()
    assert pq.read_table(target).num_rows == 0
    assert pq.read_schema(target).equals(QUARANTINE_SCHEMA)


def test_an_aborted_quarantine_leaves_nothing_behind(tmp_path: Path) -> None:
    target = tmp_path / "quarantine.parquet"
    with pytest.raises(RuntimeError), QuarantineWriter(target) as writer:
        writer.write_rows(
            source_file="x",
            row_numbers=[0],
            reasons=["unknown_model"],
            model_ids=["m"],
            prediction_ids=["p"],
            rows=[{"a": 1}],
        )
        raise RuntimeError("the run failed")
    assert not target.exists() and not writer.tmp_path.exists()


def test_long_cells_are_truncated_in_row_json(tmp_path: Path, register: Any) -> None:
    long_text = "x" * (MAX_CELL_CHARS + 500)
    path = write_jsonl(tmp_path / "log.jsonl", [row("p1", confidence=7, segment=long_text)])
    with QuarantineWriter(tmp_path / "q.parquet") as writer:
        collect([path], register, quarantine=writer)
    (written,) = quarantine_rows(tmp_path / "q.parquet")
    segment = json.loads(written["row_json"])["segment"]
    assert segment.startswith("x" * MAX_CELL_CHARS)
    assert segment.endswith("…[truncated 500 chars]")


def test_row_json_built_by_arrow_matches_the_python_encoder() -> None:
    nasty = 'say "hi"\\ \n\t\r \x01 café ☕'
    table = pa.table(
        {
            "text": pa.array([nasty, None, "y" * (MAX_CELL_CHARS + 3), "plain"]),
            "number": pa.array([0.1, float("nan"), float("-inf"), 1e-7]),
            "count": pa.array([1, None, -3, 2**40]),
            "flag": pa.array([True, False, None, True]),
            "when": pa.array([0, 1, None, 1_700_000_000_000_000_123], pa.timestamp("ns", "UTC")),
            "kind": pa.array(["a", "b", None, "a"]).dictionary_encode(),
            "nested": pa.array([[1, 2], None, [], [3]]),
        }
    )
    fast = [json.loads(text) for text in rows_json(table).to_pylist()]
    names = table.schema.names
    slow = [
        json.loads(row_json(dict(zip(names, values, strict=True))))
        for values in zip(*(c.to_pylist() for c in table.columns), strict=True)
    ]
    for got, want in zip(fast, slow, strict=True):
        assert got.keys() == want.keys()
        for key in names:
            if key == "when" and want[key] is not None:
                assert pd.Timestamp(got[key]) == pd.Timestamp(want[key])  # same instant
            else:
                assert got[key] == want[key], key
    assert fast[0]["text"] == nasty
    assert fast[1]["number"] == "nan" and fast[2]["number"] == "-inf"
    assert fast[2]["text"].endswith("…[truncated 3 chars]")


def test_a_broken_json_line_is_quarantined_and_its_neighbours_survive(
    tmp_path: Path, register: Any
) -> None:
    path = write_jsonl(
        tmp_path / "log.jsonl",
        [
            row("p1"),
            '{"prediction_id": "p2", "model_id": "support-assis',
            "",
            row("p3", confidence=0.4),
            "[1, 2, 3]",
            row("p4"),
        ],
    )
    with QuarantineWriter(tmp_path / "q.parquet") as writer:
        result = collect([path], register, quarantine=writer, batch_rows=3)
    assert result.column(SUPPORT, "id_hash") == hashes("p1", "p3", "p4")
    assert result.column(SUPPORT, "confidence") == [0.9, 0.4, 0.9]
    written = quarantine_rows(tmp_path / "q.parquet")
    assert [(r["row_number"], r["reason"]) for r in written] == [
        ("1", "malformed_line"),
        ("4", "malformed_line"),
    ]
    assert json.loads(written[0]["row_json"])["_line"].startswith('{"prediction_id": "p2"')
    assert result.stats.rows_read == 5 and balanced(result.stats)


def test_a_csv_row_with_the_wrong_number_of_fields_is_malformed(
    tmp_path: Path, register: Any
) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "prediction_id,model_id,timestamp,confidence,latency_ms\n"
        f"p1,{SUPPORT},{iso(HOUR)},0.5,10\n"
        f"p2,{SUPPORT},{iso(HOUR)},0.5\n"
        f'p3,{SUPPORT},{iso(HOUR)},0.25,"1\n2"\n'
        f"p4,{SUPPORT},{iso(HOUR)},0.5,10,extra\n"
    )
    result = collect([path], register)
    assert result.column(SUPPORT, "id_hash") == hashes("p1")
    assert result.stats.quarantined_by_reason == {"malformed_line": 2, "latency_not_a_number": 1}
    assert balanced(result.stats)


def test_rows_of_an_unregistered_model_are_quarantined(tmp_path: Path, register: Any) -> None:
    path = write_parquet(tmp_path / "log.parquet", [row("p1"), row("p2", "shadow-model")])
    result = collect([path], register)
    assert result.n(SUPPORT) == 1
    assert result.stats.quarantined_by_reason == {"unknown_model": 1}


# --------------------------------------------------------------------------- windows, duplicates


def test_rows_outside_both_windows_are_counted_not_used(tmp_path: Path, register: Any) -> None:
    rows = [
        row("in-current", timestamp=iso(HOUR)),
        row("in-reference", timestamp=iso(-27 * DAY_NS)),
        row("too-old", timestamp=iso(-29 * DAY_NS)),
        row("future", timestamp=iso(DAY_NS)),  # current_end is exclusive
        row("edge", timestamp=iso(-28 * DAY_NS)),  # reference_start is inclusive
    ]
    result = collect([write_parquet(tmp_path / "log.parquet", rows)], register)
    assert result.column(SUPPORT, "id_hash") == hashes("in-current", "in-reference", "edge")
    assert result.stats.rows_out_of_window == 2
    assert balanced(result.stats)


def test_duplicates_across_batches_and_files_keep_the_first_occurrence(
    tmp_path: Path, register: Any
) -> None:
    first = [row(f"p{i}", confidence=0.5) for i in range(10)] + [row("p3", confidence=0.1)]
    second = [
        row("p7", confidence=0.2),
        row("p10", confidence=0.3),
        row("p10", confidence=0.4),
        row("p3", CHURN, confidence=0.6),
    ]  # same id, other model: not a duplicate
    a = write_parquet(tmp_path / "a.parquet", first)
    b = write_csv(tmp_path / "b.csv", second)
    result = collect([a, b], register, batch_rows=7)
    support_ids = result.column(SUPPORT, "id_hash")
    assert support_ids == hashes(*[f"p{i}" for i in range(11)])
    assert result.column(SUPPORT, "confidence") == [0.5] * 10 + [0.3]
    assert result.column(CHURN, "confidence") == [0.6]
    assert result.stats.rows_duplicate == 3
    assert result.stats.duplicates_by_model == {SUPPORT: 3}
    assert balanced(result.stats)


def test_an_out_of_window_or_invalid_row_does_not_claim_an_id(
    tmp_path: Path, register: Any
) -> None:
    rows = [row("p1", timestamp=iso(-40 * DAY_NS)), row("p1", confidence=9), row("p1")]
    result = collect([write_parquet(tmp_path / "log.parquet", rows)], register)
    assert result.n(SUPPORT) == 1 and result.stats.rows_duplicate == 0


def test_the_same_file_given_twice_is_read_once(tmp_path: Path, register: Any) -> None:
    path = write_parquet(tmp_path / "log.parquet", [row("p1")])
    result = collect([path, tmp_path, path], register)
    assert result.stats.rows_read == 1 and result.stats.rows_duplicate == 0


# --------------------------------------------------------------------------- timestamps


def test_offsets_are_converted_to_utc_and_naive_times_are_counted(
    tmp_path: Path, register: Any
) -> None:
    rows = [
        row("z", timestamp="2026-11-01T12:00:00Z"),
        row("plus2", timestamp="2026-11-01T12:00:00+02:00"),
        row("minus0530", timestamp="2026-11-01T12:00:00-0530"),
        row("naive", timestamp="2026-11-01T12:00:00"),
        row("naive-space", timestamp="2026-11-01 12:00"),
        row("date-only", timestamp="2026-11-01"),
    ]
    for fmt in ("csv", "jsonl", "parquet"):
        result = collect([write_log(fmt, tmp_path / fmt, rows)], register)
        assert result.column(SUPPORT, "timestamp_ns") == [
            ns("2026-11-01T12:00:00Z"),
            ns("2026-11-01T10:00:00Z"),  # 12:00 at +02:00 is two hours earlier in UTC
            ns("2026-11-01T17:30:00Z"),
            ns("2026-11-01T12:00:00Z"),
            ns("2026-11-01T12:00:00Z"),
            ns("2026-11-01T00:00:00Z"),
        ], fmt
        assert result.stats.naive_timestamps == 3, fmt


def test_parquet_timestamp_columns_with_and_without_zone(tmp_path: Path, register: Any) -> None:
    aware = write_parquet(
        tmp_path / "aware.parquet",
        [row("a")],
        types={"timestamp": pa.timestamp("ms", "Europe/Berlin")},
    )
    naive = write_parquet(
        tmp_path / "naive.parquet", [row("n")], types={"timestamp": pa.timestamp("us")}
    )
    result = collect([aware, naive], register)
    assert result.column(SUPPORT, "timestamp_ns") == [T0 + HOUR, T0 + HOUR]
    assert result.stats.naive_timestamps == 1


def test_integer_timestamps_are_epoch_milliseconds_only_in_a_plausible_range(
    tmp_path: Path, register: Any
) -> None:
    ms = (T0 + HOUR) // 1_000_000
    rows = [
        row("ms", timestamp=ms),
        row("seconds", timestamp=ms // 1000),
        row("too-small", timestamp=EPOCH_MS_MIN - 1),
    ]
    for fmt in ("parquet", "jsonl", "csv"):
        result = collect([write_log(fmt, tmp_path / fmt, rows)], register)
        assert result.column(SUPPORT, "timestamp_ns") == [T0 + HOUR], fmt
        assert result.stats.quarantined_by_reason == {"bad_timestamp": 2}, fmt


# --------------------------------------------------------------------------- bad files


def test_a_missing_required_column_names_the_file_and_the_column(
    tmp_path: Path, register: Any
) -> None:
    rows = [{k: v for k, v in row("p1").items() if k != "latency_ms"}]
    for path in (
        write_csv(tmp_path / "logs.csv", rows),
        write_parquet(tmp_path / "logs.parquet", rows),
    ):
        with pytest.raises(MissingColumnError) as caught:
            collect([path], register)
        message = str(caught.value)
        assert str(path) in message
        assert "'latency_ms'" in message
        assert "found: prediction_id, model_id, timestamp, confidence" in message
        assert "models[].columns" in message
        assert caught.value.missing == ["latency_ms"]
        assert isinstance(caught.value, InputError) and isinstance(caught.value, MonitorError)
        assert caught.value.exit_code == 2


def test_a_semicolon_csv_is_refused_with_a_delimiter_hint(tmp_path: Path, register: Any) -> None:
    path = write_csv(tmp_path / "logs" / "b.csv", [row("p1")], sep=";")
    with pytest.raises(MissingColumnError, match="delimited by ';'"):
        collect([path], register)
    # Inside a directory the file is skipped and listed; its neighbours are read.
    write_csv(tmp_path / "logs" / "a.csv", [row("p0")])
    result = collect([tmp_path / "logs"], register)
    assert result.column(SUPPORT, "id_hash") == hashes("p0")
    assert result.stats.unreadable == [str(path)]
    assert "delimited by ';'" in result.stats.unreadable_reasons[str(path)]


def test_a_truncated_parquet_file_is_unreadable_given_directly_and_skipped_in_a_directory(
    tmp_path: Path, register: Any
) -> None:
    logs = tmp_path / "logs"
    good = write_parquet(logs / "a.parquet", [row("p1")])
    bad = write_parquet(logs / "b.parquet", [row(f"p{i}") for i in range(2, 50)])
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    with pytest.raises(UnreadableLogError, match=r"b\.parquet cannot be read"):
        collect([bad], register)
    result = collect([logs], register)
    assert result.column(SUPPORT, "id_hash") == hashes("p1")
    assert result.stats.unreadable == [str(bad)]
    assert "Parquet" in result.stats.unreadable_reasons[str(bad)]
    assert result.stats.files == [str(good), str(bad)]


def test_a_csv_that_is_not_utf8_is_unreadable(tmp_path: Path, register: Any) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(
        "prediction_id,model_id,timestamp,confidence,latency_ms,segment\n"
        f"p1,{SUPPORT},{iso(HOUR)},0.5,10,caf\u00e9\n".encode("latin-1")
    )
    with pytest.raises(UnreadableLogError, match=r"latin1\.csv"):
        collect([path], register)


def test_a_json_array_file_is_refused_rather_than_quarantined_line_by_line(
    tmp_path: Path, register: Any
) -> None:
    path = tmp_path / "log.json"
    path.write_text(json.dumps([row("p1"), row("p2")], indent=2))
    with pytest.raises(UnreadableLogError, match="JSON Lines"):
        collect([path], register)


def test_a_missing_path_or_unknown_format_is_refused(tmp_path: Path, register: Any) -> None:
    with pytest.raises(UnreadableLogError, match="no such file"):
        collect([tmp_path / "nope.parquet"], register)
    (tmp_path / "log.xlsx").write_text("x")
    with pytest.raises(UnreadableLogError, match="unknown log format"):
        collect([tmp_path / "log.xlsx"], register)


def test_empty_files_are_zero_rows_not_errors(tmp_path: Path, register: Any) -> None:
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("prediction_id,model_id,timestamp,confidence,latency_ms\n")
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "blank.jsonl").write_text("\n\n")
    (tmp_path / "empty.parquet").write_bytes(b"")
    pq.write_table(
        pa.table({"prediction_id": pa.array([], pa.string())}), tmp_path / "no-rows.parquet"
    )
    with gzip.open(tmp_path / "empty.csv.gz", "wb"):
        pass
    result = collect(sorted(tmp_path.iterdir()), register)
    assert result.chunks == [] and result.stats.rows_read == 0
    assert result.stats.unreadable == []


def test_every_registered_model_needs_window_bounds(tmp_path: Path, register: Any) -> None:
    windows = windows_for(register)
    del windows[CHURN]
    with pytest.raises(ValueError, match=CHURN):
        read_logs([tmp_path], register, windows)
    with pytest.raises(ValueError):
        WindowBounds(reference_start=2, current_start=1, current_end=3)


# --------------------------------------------------------------------------- labels


def test_classic_classifiers_are_judged_by_prediction_and_label(
    tmp_path: Path, register: Any
) -> None:
    rows = [
        row("c1", CHURN, prediction="churn", label="churn"),
        row("c2", CHURN, prediction="stay", label="churn"),
        row("c3", CHURN, prediction="stay", label=None),
        row("c4", CHURN, prediction="stay", label="churn", correct=True),  # logged value wins
        row("c5", CHURN, prediction=None, label="stay"),  # no answer is a wrong answer
    ]
    for fmt in ("parquet", "csv", "jsonl"):
        result = collect([write_log(fmt, tmp_path / fmt, rows)], register)
        assert result.column(CHURN, "correct") == [1, 0, -1, 1, 0], fmt
        assert result.column(CHURN, "prediction") == ["churn", "stay", "stay", "stay", None], fmt


def test_late_labels_fill_and_override_the_log(tmp_path: Path, register: Any) -> None:
    log = write_parquet(
        tmp_path / "log.parquet",
        [
            row("a1", correct=None),
            row("a2", correct=True),
            row("a3", correct=None),
            row("c1", CHURN, prediction="churn"),
            row("c2", CHURN, prediction="stay"),
        ],
    )
    labels = write_csv(
        tmp_path / "labels.csv",
        [
            {"prediction_id": "a1", "correct": "true", "label": None, "quality_score": 0.75},
            {"prediction_id": "a2", "correct": "false", "label": None, "quality_score": None},
            {"prediction_id": "c1", "correct": None, "label": "churn", "quality_score": None},
            {"prediction_id": "c2", "correct": None, "label": "churn", "quality_score": None},
            {"prediction_id": "zz", "correct": "true", "label": None, "quality_score": None},
            # A re-issued label: the later line is the one that counts.
            {"prediction_id": "a3", "correct": "true", "label": None, "quality_score": None},
            {"prediction_id": "a3", "correct": "no", "label": None, "quality_score": None},
        ],
    )
    result = collect([log], register, labels=labels)
    assert result.column(SUPPORT, "correct") == [1, 0, 0]
    quality = result.column(SUPPORT, "quality_score")
    assert quality[0] == 0.75 and np.isnan(quality[1]) and np.isnan(quality[2])
    assert result.column(CHURN, "correct") == [1, 0]
    assert result.stats.labels_joined == 5


def test_labels_with_a_model_id_join_per_model(tmp_path: Path, register: Any) -> None:
    log = write_parquet(tmp_path / "log.parquet", [row("x"), row("x", CHURN)])
    labels = write_jsonl(
        tmp_path / "labels.jsonl",
        [
            {"prediction_id": "x", "model_id": CHURN, "correct": False},
            {"prediction_id": "x", "model_id": "unregistered", "correct": True},
        ],
    )
    result = collect([log], register, labels=labels)
    assert result.column(SUPPORT, "correct") == [-1]
    assert result.column(CHURN, "correct") == [0]


def test_an_unusable_labels_file_is_refused(tmp_path: Path, register: Any) -> None:
    log = write_parquet(tmp_path / "log.parquet", [row("p1")])
    no_id = write_csv(tmp_path / "no-id.csv", [{"id": "p1", "correct": "true"}])
    with pytest.raises(LabelsError, match="'prediction_id'"):
        collect([log], register, labels=no_id)
    no_values = write_csv(tmp_path / "no-values.csv", [{"prediction_id": "p1", "note": "x"}])
    with pytest.raises(LabelsError, match="'correct', 'label', 'quality_score'"):
        collect([log], register, labels=no_values)
    bad_score = write_csv(tmp_path / "bad.csv", [{"prediction_id": "p1", "quality_score": 3}])
    with pytest.raises(LabelsError, match="quality_score"):
        collect([log], register, labels=bad_score)


# --------------------------------------------------------------------------- properties

_VALID = st.fixed_dictionaries(
    {
        "kind": st.just("valid"),
        "model": st.sampled_from([SUPPORT, CHURN]),
        "hour": st.integers(-28 * 24, 23),
        "confidence": st.floats(0, 1),
        "latency": st.floats(0, 1e9),
    }
)
_INVALID = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(
            ["nan_confidence", "negative_latency", "unknown_model", "bad_time", "no_id", "old"]
        ),
        "model": st.sampled_from([SUPPORT, CHURN]),
        "hour": st.integers(-28 * 24, 23),
        "confidence": st.floats(0, 1),
        "latency": st.floats(0, 1e9),
    }
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    specs=st.lists(st.one_of(_VALID, _INVALID), min_size=1, max_size=60),
    duplicate_every=st.integers(2, 9),
    batch_rows=st.integers(1, 16),
    fmt=st.sampled_from(["parquet", "csv", "jsonl"]),
)
def test_every_row_is_accounted_for_and_valid_rows_are_never_lost(
    tmp_path_factory: pytest.TempPathFactory,
    specs: list[dict[str, Any]],
    duplicate_every: int,
    batch_rows: int,
    fmt: str,
) -> None:
    register = make_register(SUPPORT, CHURN)
    rows: list[dict[str, Any]] = []
    expected: dict[str, list[str]] = {SUPPORT: [], CHURN: []}
    seen: set[tuple[str, str]] = set()
    for i, spec in enumerate(specs):
        pid = f"id-{i // duplicate_every if i % duplicate_every == 0 else i}"
        values = row(
            pid,
            spec["model"],
            timestamp=iso(spec["hour"] * HOUR),
            confidence=spec["confidence"],
            latency_ms=spec["latency"],
        )
        kind = spec["kind"]
        if kind == "nan_confidence":
            values["confidence"] = None
        elif kind == "negative_latency":
            values["latency_ms"] = -1.0 - spec["latency"]
        elif kind == "unknown_model":
            values["model_id"] = "ghost"
        elif kind == "bad_time":
            values["timestamp"] = "not a time"
        elif kind == "no_id":
            values["prediction_id"] = None
        elif kind == "old":
            values["timestamp"] = iso(-40 * DAY_NS)
        rows.append(values)
        if kind == "valid" and (pid, spec["model"]) not in seen:
            seen.add((pid, spec["model"]))
            expected[spec["model"]].append(pid)
    directory = tmp_path_factory.mktemp("prop")
    result: Collected = collect([write_log(fmt, directory, rows)], register, batch_rows=batch_rows)
    stats = result.stats
    assert stats.rows_read == len(rows)
    assert balanced(stats)
    for model, ids in expected.items():
        got = result.column(model, "id_hash") if result.n(model) else []
        assert got == (hashes(*ids) if ids else [])
    invalid = sum(s["kind"] not in ("valid", "old") for s in specs)
    assert stats.rows_quarantined == invalid
    assert set(stats.quarantined_by_reason) <= set(QUARANTINE_REASONS)


def test_stats_merge_adds_everything() -> None:
    a = IngestStats(
        rows_read=3,
        rows_used=2,
        rows_quarantined=1,
        quarantined_by_reason={"unknown_model": 1},
        files=["a"],
    )
    b = IngestStats(
        rows_read=2,
        rows_duplicate=1,
        rows_out_of_window=1,
        quarantined_by_reason={"unknown_model": 2},
        duplicates_by_model={"m": 1},
        files=["b"],
        unreadable=["c"],
        labels_joined=4,
    )
    merged = a.merge(b)
    assert merged is a
    assert (a.rows_read, a.rows_used, a.rows_duplicate, a.rows_out_of_window) == (5, 2, 1, 1)
    assert a.quarantined_by_reason == {"unknown_model": 3}
    assert a.files == ["a", "b"] and a.unreadable == ["c"] and a.labels_joined == 4


def test_abandoning_the_iterator_stops_the_reader(tmp_path: Path, register: Any) -> None:
    path = write_parquet(
        tmp_path / "log.parquet", [row(f"p{i}") for i in range(100)], row_group_size=10
    )
    chunks = read_logs([path], register, windows_for(register), batch_rows=10)
    first = next(chunks)
    assert first.n == 10
    chunks.close()  # the background reader must not outlive the consumer
    assert not [
        t for t in __import__("threading").enumerate() if t.name == "modelhealth-ingest-reader"
    ]


def test_gzip_jsonl_with_a_byte_order_mark(tmp_path: Path, register: Any) -> None:
    path = tmp_path / "log.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\ufeff" + json.dumps(row("p1")) + "\r\n" + json.dumps(row("p2")))
    result = collect([path], register)
    assert result.column(SUPPORT, "id_hash") == hashes("p1", "p2")


def test_integer_prediction_ids_hash_like_their_text(tmp_path: Path, register: Any) -> None:
    parquet = write_parquet(
        tmp_path / "ints.parquet", [row(7), row(8)], types={"prediction_id": pa.int64()}
    )
    result = collect([parquet], register)
    assert result.column(SUPPORT, "id_hash") == hashes("7", "8")
    assert os.path.getsize(parquet) > 0


def test_a_night_that_measures_no_drift_hashes_no_ids_for_a_sample(tmp_path: Path) -> None:
    on = make_register("support-assistant")
    entry = on.models[0]
    drift = entry.thresholds.drift.model_copy(update={"enabled": False})
    off_entry = entry.model_copy(
        update={"thresholds": entry.thresholds.model_copy(update={"drift": drift})}
    )
    off = on.model_copy(update={"models": [off_entry]})
    path = write_parquet(tmp_path / "log.parquet", [row("p1"), row("p2"), row("p1")])
    sampled, unsampled = collect([path], on), collect([path], off)
    assert sampled.column(SUPPORT, "id_hash") == hashes("p1", "p2")
    assert unsampled.column(SUPPORT, "id_hash") is None
    # de-duplication does not need them: the repeat of p1 is dropped either way
    assert sampled.stats.rows_duplicate == unsampled.stats.rows_duplicate == 1
    assert unsampled.column(SUPPORT, "confidence") == [0.9, 0.9]


class _FailsOnBatch(ExactSeen):
    """A real seen-set whose ``add`` fails on one batch, as a full spill disk would."""

    def __init__(self, failing: int) -> None:
        super().__init__()
        self.failing = failing
        self.calls = 0

    def add(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls == self.failing:
            raise OSError(28, "No space left on device")
        return super().add(*args, **kwargs)


def test_a_failed_deduplication_yields_no_batch_after_the_one_it_failed(tmp_path: Path) -> None:
    # Batches are decided one after another on the de-duplication thread while the next
    # is validated: when batch 2's decision fails, batch 1 has been yielded, batch 2 and
    # 3 never are (3 cannot count without 2), and the error reaches the caller.
    register = make_register("support-assistant")
    path = write_parquet(tmp_path / "log.parquet", [row(f"p{i}") for i in range(9)])
    seen = _FailsOnBatch(failing=2)
    chunks: list[Any] = []
    with pytest.raises(OSError, match="No space left"):
        for chunk in read_logs([path], register, windows_for(register), batch_rows=3, seen=seen):
            chunks.append(chunk)
    assert sum(chunk.n for chunk in chunks) == 3
    assert seen.calls >= 2
    # without the fault, the same read yields all nine rows in three chunks
    whole = list(read_logs([path], register, windows_for(register), batch_rows=3))
    assert [chunk.n for chunk in whole] == [3, 3, 3]


class _Expecting(ExactSeen):
    """A real seen-set that records what ``expect`` was told, and when."""

    def __init__(self) -> None:
        super().__init__()
        self.told: list[tuple[int, int]] = []  # (ids expected, distinct ids seen by then)

    def expect(self, ids: int) -> None:
        self.told.append((ids, self.stats.distinct))
        super().expect(ids)


def test_a_parquet_files_row_count_sizes_the_seen_set_before_its_first_batch(
    tmp_path: Path,
) -> None:
    # Each file's footer count reaches the seen-set once, before that file's first batch
    # is decided; the answers are those of a seen-set that was told nothing.
    register = make_register("support-assistant")
    first = write_parquet(tmp_path / "a.parquet", [row(f"p{i}") for i in range(7)])
    second = write_parquet(tmp_path / "b.parquet", [row(f"p{i}") for i in range(4, 9)])
    seen = _Expecting()
    windows = windows_for(register)
    told = list(read_logs([first, second], register, windows, batch_rows=3, seen=seen))
    plain = list(read_logs([first, second], register, windows, batch_rows=3))
    assert seen.told == [(7, 0), (5, 7)]
    assert [c.n for c in told] == [c.n for c in plain] == [3, 3, 1, 2]
    assert seen.stats.duplicates == 3


def test_interleaved_models_each_get_their_own_rows_in_log_order(tmp_path: Path) -> None:
    # Three models share a mapping and interleave in every batch: each chunk holds
    # exactly its model's rows, in the order they were logged, with their own values.
    models = ["support-assistant", "fraud-scorer", "churn-model"]
    register = make_register(*models)
    rng = np.random.default_rng(3)
    owners = rng.integers(0, 3, 50)
    rows = [
        row(f"p{i}", models[o], latency_ms=float(i), confidence=round(0.01 * i, 2))
        for i, o in enumerate(owners.tolist())
    ]
    path = write_parquet(tmp_path / "log.parquet", rows)
    chunks = list(read_logs([path], register, windows_for(register), batch_rows=16))
    for o, model in enumerate(models):
        latencies = np.concatenate([c.latency_ms for c in chunks if c.model_id == model])
        expected = np.flatnonzero(owners == o).astype(float)
        assert latencies.tolist() == expected.tolist()
        confidences = np.concatenate([c.confidence for c in chunks if c.model_id == model])
        assert np.allclose(confidences, 0.01 * expected)


class _Recording(ExactSeen):
    """A real seen-set that notes whether each batch came with its ids hashed already,
    and takes ``delay`` seconds per batch (a long night's de-duplication thread)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.given: list[bool] = []

    def add(self, ids: Any, models: Any, **kwargs: Any) -> Any:
        self.given.append(kwargs.get("hashes") is not None)
        time.sleep(self.delay)
        return super().add(ids, models, **kwargs)


def test_ids_are_hashed_by_whichever_thread_is_free_with_the_same_answer(
    tmp_path: Path,
) -> None:
    # While the de-duplication thread is busy the reader thread hashes the next batches'
    # ids; while it is idle it hashes them itself. The duplicates found are the same.
    register = make_register("support-assistant")
    ids = [f"p{i % 150}" for i in range(400)]  # 250 repeats
    path = write_parquet(tmp_path / "log.parquet", [row(i) for i in ids])
    windows = windows_for(register)
    busy, idle = _Recording(delay=0.05), _Recording(delay=0.0)
    for seen in (busy, idle):
        chunks = list(read_logs([path], register, windows, batch_rows=20, seen=seen))
        assert sum(c.n for c in chunks) == 150
        assert seen.stats.duplicates == 250
    assert len(busy.given) == len(idle.given) == 20
    assert sum(busy.given) >= 10  # the reader ran ahead while each batch took 50 ms
    assert not idle.given[0]  # nothing was running when the first batch was read


def test_a_row_count_reaches_the_seen_set_even_when_the_files_first_batch_keeps_nothing(
    tmp_path: Path,
) -> None:
    # The first batch's rows all fall before the reference window: no decision is made
    # for it, and the footer's count goes with the next batch that has rows to decide.
    register = make_register("support-assistant")
    early = iso(-40 * 86_400_000_000_000)  # 40 days before T0: outside every window
    rows = [row(f"old{i}", timestamp=early) for i in range(3)]
    rows += [row(f"p{i}") for i in range(4)]
    path = write_parquet(tmp_path / "log.parquet", rows)
    seen = _Expecting()
    chunks = list(read_logs([path], register, windows_for(register), batch_rows=3, seen=seen))
    assert sum(c.n for c in chunks) == 4
    assert seen.told == [(7, 0)]


class _Held(ExactSeen):
    """A real seen-set whose first decision waits until the test releases it."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def add(self, ids: Any, models: Any, **kwargs: Any) -> Any:
        assert self.release.wait(30), "the test never released the first decision"
        return super().add(ids, models, **kwargs)


@pytest.mark.parametrize(("cap", "queued"), [(64 * 2**20, 3), (1, 2)])
def test_two_more_batches_are_validated_and_queued_while_a_decision_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cap: int, queued: int
) -> None:
    # A spill holds the de-duplication thread for a few batches' time; the batches
    # behind it are validated and queued meanwhile, so it never waits for work after.
    # Bounded: two wait behind the one being decided, no more (their memory), and only
    # one when their columns together are over the cap (wide logs).
    monkeypatch.setattr(pipeline, "_IN_FLIGHT_BYTES", cap)
    register = make_register("support-assistant")
    path = write_parquet(tmp_path / "log.parquet", [row(f"p{i % 90}") for i in range(100)])
    submitted: list[int] = []
    real = pipeline._Ingest._decide

    def counting(self: Any, columns: Any, parts: Any) -> Any:
        submitted.append(columns.n)
        return real(self, columns, parts)

    monkeypatch.setattr(pipeline._Ingest, "_decide", counting)
    seen = _Held()
    chunks = read_logs([path], register, windows_for(register), batch_rows=10, seen=seen)
    got: list[Any] = []
    consumer = threading.Thread(target=lambda: got.extend(chunks))
    consumer.start()
    deadline = time.monotonic() + 10
    while len(submitted) < queued and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # time to submit one more, if anything let it
    try:
        assert len(submitted) == queued and not got
    finally:
        seen.release.set()
        consumer.join(30)
    assert len(submitted) == 10
    assert sum(c.n for c in got) == 90 and seen.stats.duplicates == 10
