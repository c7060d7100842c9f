"""Feature columns at ingest: read only for drift, and text features through their dictionary."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from ingest_fixtures import collect, make_register, row, windows_for, write_parquet

from monitor.ingest.coerce import feature
from monitor.ingest.plan import IngestPlan
from thresholds.schema import Register

SUPPORT = "support-assistant"
CHURN = "churn-classifier"


def _without_drift(register: Register, *models: str) -> Register:
    entries = []
    for entry in register.models:
        if entry.id in models:
            drift = entry.thresholds.drift.model_copy(update={"enabled": False})
            thresholds = entry.thresholds.model_copy(update={"drift": drift})
            entry = entry.model_copy(update={"thresholds": thresholds})
        entries.append(entry)
    return register.model_copy(update={"models": entries})


def _rows() -> list[dict[str, object]]:
    plans = ["basic", "premium", None, "basic", "enterprise"]
    return [
        row(
            f"p{i}",
            SUPPORT if i % 2 else CHURN,
            **{"feature.plan": plans[i], "feature.tenure": float(i) if i != 2 else None},
        )
        for i in range(len(plans))
    ]


def test_a_night_that_measures_no_drift_reads_no_feature_column(tmp_path: Path) -> None:
    logs = write_parquet(tmp_path / "logs.parquet", _rows())
    register = make_register(SUPPORT, CHURN)
    plain = collect([logs], _without_drift(register, SUPPORT, CHURN))
    assert {m: plain.models[m]["features"] for m in (SUPPORT, CHURN)} == {SUPPORT: {}, CHURN: {}}
    assert plain.stats.rows_used == 5
    plan = IngestPlan(_without_drift(register, SUPPORT, CHURN), windows_for(register))
    assert plan.selection.wanted(pq.read_schema(logs).names) == [
        "prediction_id",
        "model_id",
        "timestamp",
        "confidence",
        "latency_ms",
    ]


def test_one_model_with_drift_is_enough_to_read_the_features(tmp_path: Path) -> None:
    logs = write_parquet(tmp_path / "logs.parquet", _rows())
    register = make_register(SUPPORT, CHURN)
    got = collect([logs], _without_drift(register, CHURN))
    assert got.models[SUPPORT]["features"] == {
        "plan": ["premium", "basic"],
        "tenure": [1.0, 3.0],
    }


def test_text_features_read_through_the_dictionary_equal_the_logged_strings(
    tmp_path: Path,
) -> None:
    logs = write_parquet(tmp_path / "logs.parquet", _rows())
    got = collect([logs], make_register(SUPPORT, CHURN))
    assert got.models[CHURN]["features"]["plan"] == ["basic", None, "enterprise"]
    assert got.models[SUPPORT]["features"]["plan"] == ["premium", "basic"]


def test_a_dictionary_text_feature_converts_like_its_decoded_strings() -> None:
    strings = pa.array(["b", None, "a", "b", "", None, "c"], pa.string())
    encoded = strings.dictionary_encode()
    # a dictionary that holds a null and a category no row uses
    odd = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, None, 0, 3], pa.int32()), pa.array(["x", None, "unused", "y"])
    )
    for values in (encoded, odd):
        converted = feature(values, untyped=False)
        expected = feature(values.dictionary_decode(), untyped=False)
        assert converted is not None and expected is not None
        assert converted.dtype == object and converted.tolist() == expected.tolist()
    converted = feature(encoded, untyped=False)
    assert converted is not None
    assert converted.tolist() == ["b", None, "a", "b", "", None, "c"]
