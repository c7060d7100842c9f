"""Feature and category columns at ingest: features read only for drift, text features
through their dictionary, and each model's chunk with its own categories."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from ingest_fixtures import collect, make_register, row, windows_for, write_parquet

from monitor.chunk import Categorical
from monitor.ingest.coerce import MAX_LABEL_CHARS, feature, subset_categorical
from monitor.ingest.plan import IngestPlan
from monitor.stats.drift_fold import DriftFold
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

    def decoded(converted: object) -> list[str | None]:
        # read through the dictionary: the batch's int32 codes and its names, no strings
        assert isinstance(converted, tuple)
        codes, names = converted
        assert codes.dtype == np.int32
        return [None if code < 0 else names[code] for code in codes.tolist()]

    for values in (encoded, odd):
        expected = feature(values.dictionary_decode(), untyped=False)
        assert isinstance(expected, np.ndarray) and expected.dtype == object
        assert decoded(feature(values, untyped=False)) == expected.tolist()
    assert decoded(feature(encoded, untyped=False)) == ["b", None, "a", "b", "", None, "c"]


def test_a_models_chunk_keeps_the_categories_its_rows_use_in_dictionary_order() -> None:
    rng = np.random.default_rng(7)
    long_a, long_b = "a" * MAX_LABEL_CHARS + "x", "a" * MAX_LABEL_CHARS + "y"  # cut alike
    for names in (
        [f"segment-{i}" for i in range(40)],
        ["answer", "json", "answer", "summary"],  # a dictionary that repeats a name
        ["short", long_a, long_b],
    ):
        codes = rng.integers(-1, len(names), 500).astype(np.int32)
        rows = np.flatnonzero(rng.random(500) < 0.3)
        got = subset_categorical((codes, names), rows)
        # What each row says, by name, must survive; every category is used, none twice.
        cut = [n if len(n) <= MAX_LABEL_CHARS else n[:MAX_LABEL_CHARS] for n in names]
        expected = [None if c < 0 else cut[c] for c in codes[rows].tolist()]
        seen = [None if c < 0 else got.categories[c][:MAX_LABEL_CHARS] for c in got.codes]
        assert seen == expected
        assert len(set(got.categories)) == len(got.categories)
        assert sorted(set(got.codes[got.codes >= 0].tolist())) == list(range(len(got.categories)))
        first_use = [cut[c] for c in sorted(set(codes[rows][codes[rows] >= 0].tolist()))]
        assert [c[:MAX_LABEL_CHARS] for c in got.categories] == list(dict.fromkeys(first_use))


def test_a_text_feature_reaches_each_chunk_as_codes_counted_like_its_strings(
    tmp_path: Path,
) -> None:
    # Read through the dictionary, a text feature stays int32 codes over the categories
    # its model's rows use: no label is cut (drift compares values whole, unlike the
    # prediction's labels), and the drift fold counts the codes exactly as it counts the
    # same values as Python strings.
    long_a, long_b = "x" * MAX_LABEL_CHARS + "a", "x" * MAX_LABEL_CHARS + "b"
    plans = ["basic", long_a, None, long_b, "basic", "", long_a, "enterprise"]
    rows = [
        row(f"p{i}", SUPPORT if i % 2 else CHURN, **{"feature.plan": plan})
        for i, plan in enumerate(plans)
    ]
    logs = write_parquet(tmp_path / "logs.parquet", rows)
    chunks = collect([logs], make_register(SUPPORT, CHURN)).chunks
    by_model: dict[str, list[str | None]] = {}
    for chunk in chunks:
        values = chunk.features["plan"]
        assert isinstance(values, Categorical)
        used = np.unique(values.codes[values.codes >= 0])
        assert used.tolist() == list(range(len(values.categories)))  # each used, once
        assert len(set(values.categories)) == len(values.categories)
        by_model.setdefault(chunk.model_id, []).extend(values.to_list())

        as_codes = DriftFold(max_features=10).update(chunk)
        strings = np.array(values.to_list(), dtype=object)
        as_strings = DriftFold(max_features=10).update(
            dataclasses.replace(chunk, features={"plan": strings})
        )
        got = as_codes.distributions.categorical("feature.plan")
        want = as_strings.distributions.categorical("feature.plan")
        assert got is not None and want is not None
        assert got.counts() == want.counts() and got.n_missing == want.n_missing
    assert by_model == {CHURN: plans[0::2], SUPPORT: plans[1::2]}
