"""Window summaries merge: any chunking, in any order, gives the one-pass result."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.chunk import Categorical, ModelChunk, WindowBounds
from monitor.engines.base import fold_chunks, fold_chunks_threaded
from monitor.stats.aggregates import ModelAggregate, WindowAggregate, WindowParams
from monitor.stats.metrics import finalize_metrics
from thresholds.schema import Thresholds

HOUR = 3_600_000_000_000
START = 1_790_000_000 * 10**9 // HOUR * HOUR
BOUNDS = WindowBounds(
    reference_start=START, current_start=START + 48 * HOUR, current_end=START + 72 * HOUR
)


def make_rows(n: int, seed: int) -> ModelChunk:
    rng = np.random.default_rng(seed)
    conf = rng.beta(6, 2, n)
    correct = np.where(rng.random(n) < 0.1, -1, (rng.random(n) < conf).astype(np.int8))
    return ModelChunk(
        model_id="m",
        id_hash=rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64),
        timestamp_ns=rng.integers(BOUNDS.reference_start, BOUNDS.current_end, n),
        confidence=conf,
        latency_ms=rng.lognormal(6, 0.6, n),
        error=rng.random(n) < 0.02,
        correct=correct.astype(np.int8),
        quality_score=np.where(rng.random(n) < 0.5, rng.random(n), np.nan),
        output_type=Categorical(rng.integers(0, 3, n).astype(np.int32), ["answer", "json", "sum"]),
        failure_mode=Categorical(
            np.where(rng.random(n) < 0.05, rng.integers(0, 2, n), -1).astype(np.int32),
            ["made up citation", "bad json"],
        ),
        format_valid=np.where(rng.random(n) < 0.3, -1, rng.random(n) > 0.03).astype(np.int8),
        segment=Categorical(rng.integers(0, 4, n).astype(np.int32), ["a", "b", "c", "d"]),
        prediction=None,
        features={"x": rng.normal(size=n)},
    )


def pieces(chunk: ModelChunk, cuts: list[int]) -> list[ModelChunk]:
    edges = [0, *sorted(set(cuts)), chunk.n]
    out = []
    for lo, hi in itertools.pairwise(edges):
        mask = np.zeros(chunk.n, dtype=bool)
        mask[lo:hi] = True
        out.append(chunk.select(mask))
    return out


def fresh() -> ModelAggregate:
    return ModelAggregate.empty("m", BOUNDS, cut_points=(0.6, 0.85), sample_size=200)


def assert_same(a: WindowAggregate, b: WindowAggregate) -> None:
    for name in (
        "n_rows",
        "n_error_known",
        "n_error",
        "n_labeled",
        "n_correct",
        "n_graded",
        "n_format_checked",
        "n_format_invalid",
        "n_annotated",
    ):
        assert getattr(a, name) == getattr(b, name), name
    assert math.isclose(a.quality_sum, b.quality_sum, rel_tol=1e-9)
    assert np.array_equal(a.hourly, b.hourly)
    assert np.array_equal(a.latency.bucket_counts, b.latency.bucket_counts)
    assert np.array_equal(a.confidence.counts, b.confidence.counts)
    assert a.annotations == b.annotations
    assert {k: v.tolist() for k, v in a.output_types.rows.items()} == {
        k: v.tolist() for k, v in b.output_types.rows.items()
    }
    assert {k: v.tolist() for k, v in a.segments.rows.items()} == {
        k: v.tolist() for k, v in b.segments.rows.items()
    }
    assert np.array_equal(a.sample.frame()["feature.x"], b.sample.frame()["feature.x"])
    counts_a, correct_a, conf_a = a.reliability.coarse(n_bins=15)
    counts_b, correct_b, conf_b = b.reliability.coarse(n_bins=15)
    assert np.array_equal(counts_a, counts_b) and np.array_equal(correct_a, correct_b)
    assert np.allclose(conf_a, conf_b, rtol=1e-12)
    ma = finalize_metrics(a, a, Thresholds()).model_dump()
    mb = finalize_metrics(b, b, Thresholds()).model_dump()
    assert _close(ma, mb)


def _close(a: object, b: object) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys()
        return all(_close(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b)
        return all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
        return True
    assert a == b
    return True


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    cuts=st.lists(st.integers(1, 2_999), max_size=8),
    order=st.randoms(use_true_random=False),
)
def test_any_chunking_in_any_order_merges_to_the_one_pass_result(
    seed: int, cuts: list[int], order: object
) -> None:
    rows = make_rows(3_000, seed)
    one_pass = fresh()
    one_pass.update(rows)

    parts = pieces(rows, cuts)
    order.shuffle(parts)  # type: ignore[attr-defined]
    summaries = []
    for part in parts:
        summary = fresh()
        summary.update(part)
        summaries.append(summary)
    merged = summaries[0]
    for other in summaries[1:]:
        merged.merge(other)

    assert_same(merged.current, one_pass.current)
    assert_same(merged.reference, one_pass.reference)


def test_threaded_fold_equals_the_single_threaded_fold() -> None:
    rows = make_rows(20_000, 1)
    chunks = pieces(rows, list(range(997, 20_000, 997)))
    single = fold_chunks(chunks, {"m": fresh()})["m"]
    threaded = fold_chunks_threaded(chunks, lambda: {"m": fresh()}, workers=2)["m"]
    assert_same(threaded.current, single.current)
    assert_same(threaded.reference, single.reference)


def test_merging_windows_of_different_settings_is_refused() -> None:
    a = WindowAggregate(WindowParams(0, HOUR, (0.6,), 10))
    b = WindowAggregate(WindowParams(0, HOUR, (0.6,), 20))
    with pytest.raises(ValueError, match="different windows or settings"):
        a.merge(b)


def test_rows_split_between_the_windows_by_timestamp() -> None:
    rows = make_rows(5_000, 3)
    agg = fresh()
    agg.update(rows)
    in_current = int(np.count_nonzero(rows.timestamp_ns >= BOUNDS.current_start))
    assert agg.current.n_rows == in_current
    assert agg.reference.n_rows == 5_000 - in_current
    # Hour buckets cover each window exactly.
    assert agg.current.hourly.sum() == in_current and len(agg.current.hourly) == 24
    assert len(agg.reference.hourly) == 48


def test_drift_sample_is_the_k_smallest_hashes_whatever_the_chunking() -> None:
    rows = make_rows(4_000, 5)
    agg = fresh()
    for part in pieces(rows, [100, 1_500, 3_999]):
        agg.update(part)
    in_ref = rows.timestamp_ns < BOUNDS.current_start
    # The reference window's sample: the 200 smallest hashes among its rows.
    expected = np.sort(rows.id_hash[in_ref])[:200]
    assert np.array_equal(np.sort(agg.reference.sample.hashes), expected)


def test_without_drift_the_windows_keep_no_drift_columns_and_the_same_metrics() -> None:
    rows = make_rows(6_000, 7)
    chunks = pieces(rows, [1_000, 4_200])
    with_drift = fold_chunks(chunks, {"m": fresh()})["m"]
    no_drift = ModelAggregate.empty(
        "m", BOUNDS, cut_points=(0.6, 0.85), sample_size=200, drift=False
    )
    fold_chunks(chunks, {"m": no_drift})
    pairs = (
        (no_drift.current, with_drift.current),
        (no_drift.reference, with_drift.reference),
    )
    for window, reference in pairs:
        assert window.n_rows == reference.n_rows > 0
        assert _close(
            finalize_metrics(window, window, Thresholds()).model_dump(),
            finalize_metrics(reference, reference, Thresholds()).model_dump(),
        )
        assert window.drift.seen == set() and window.drift.distributions.nbytes == 0
        assert len(window.sample.hashes) == 0
    # the folds that were on saw the confidence and the feature in both windows
    assert {"confidence", "feature.x"} <= with_drift.current.drift.seen
    assert len(with_drift.reference.sample.hashes) == 200
