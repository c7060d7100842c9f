"""Latency quantile sketch: relative accuracy, exact mergeability, serialisation.

Sketch quantiles are compared with ``numpy.quantile(..., method="lower")``: the DDSketch
rank convention reports the bucket holding the order statistic of rank
``floor(q·(n−1))``, which is exactly what "lower" returns, so the relative-accuracy
guarantee applies to it directly. An interpolating method ("linear") can land between two
order statistics in different buckets, where no such guarantee exists.
"""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from monitor.stats.sketch import QuantileSketch

QS = np.array([0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0])
ALPHA = 0.005
TOLERANCE = ALPHA * (1 + 1e-9)  # float rounding at bucket edges


def _relative_errors(values: np.ndarray, sketch: QuantileSketch) -> np.ndarray:
    exact = np.quantile(values, QS, method="lower")
    errors: np.ndarray = np.abs(sketch.quantiles(QS) - exact) / exact
    return errors


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(1).lognormal(mean=5.0, sigma=1.2, size=100_000),
        np.random.default_rng(2).exponential(scale=250.0, size=100_000),
        np.full(1_000, 137.25),
        np.random.default_rng(3).uniform(0.002, 9e7, size=50_000),  # the whole range
    ],
    ids=["lognormal", "exponential", "constant", "uniform-wide"],
)
def test_latency_percentiles_are_within_half_a_percent(values: np.ndarray) -> None:
    sketch = QuantileSketch().update(values)
    assert sketch.count == values.size
    assert _relative_errors(values, sketch).max() <= TOLERANCE  # product needs <= 1 %


def test_p50_p95_p99_of_a_realistic_latency_log() -> None:
    values = np.random.default_rng(4).lognormal(mean=np.log(180.0), sigma=0.6, size=200_000)
    p50, p95, p99 = QuantileSketch().update(values).quantiles([0.5, 0.95, 0.99])
    exact = np.quantile(values, [0.5, 0.95, 0.99], method="lower")
    assert np.allclose([p50, p95, p99], exact, rtol=0.01, atol=0)


def test_coarser_accuracy_is_still_guaranteed() -> None:
    values = np.random.default_rng(5).lognormal(3.0, 2.0, 20_000)
    sketch = QuantileSketch(relative_accuracy=0.02).update(values)
    assert _relative_errors(values, sketch).max() <= 0.02 * (1 + 1e-9)


def test_zero_latency_is_reported_as_zero() -> None:
    values = np.array([0.0, 0.0, 0.0, 5.0, 10.0])
    sketch = QuantileSketch().update(values)
    assert sketch.n_below == 3
    assert sketch.quantile(0.5) == 0.0
    assert sketch.quantile(1.0) == pytest.approx(10.0, rel=ALPHA)


def test_latency_beyond_the_range_is_clamped_and_counted() -> None:
    sketch = QuantileSketch(max_value=1e4).update(np.array([5.0, 2e4, 3e9, np.inf]))
    assert sketch.count == 4
    assert sketch.n_clamped == 3
    assert sketch.quantile(1.0) == pytest.approx(1e4, rel=2 * ALPHA)


def test_integer_latencies_are_accepted() -> None:
    values = np.arange(1, 10_001, dtype=np.int64)
    sketch = QuantileSketch().update(values)
    assert _relative_errors(values.astype(float), sketch).max() <= TOLERANCE


@pytest.mark.parametrize("bad", [[1.0, -0.5], [1.0, np.nan], ["a"]])
def test_negative_or_missing_latency_is_refused_without_side_effects(bad: list[object]) -> None:
    sketch = QuantileSketch().update([3.0])
    with pytest.raises(ValueError):
        sketch.update(np.array(bad))
    assert sketch.count == 1


def test_empty_sketch_quantile_is_nan() -> None:
    sketch = QuantileSketch()
    assert math.isnan(sketch.quantile(0.5))
    assert np.isnan(sketch.quantiles([0.1, 0.9])).all()
    assert sketch.count == 0
    edges, counts = sketch.histogram()
    assert edges.size == 0 and counts.size == 0


@pytest.mark.parametrize("q", [-0.1, 1.5, math.nan])
def test_quantile_outside_unit_interval_is_refused(q: float) -> None:
    with pytest.raises(ValueError):
        QuantileSketch().update([1.0]).quantile(q)


def test_merge_of_any_split_equals_one_pass_exactly() -> None:
    values = np.random.default_rng(6).lognormal(4.0, 1.5, 30_000)
    one_pass = QuantileSketch().update(values)
    parts = [QuantileSketch().update(chunk) for chunk in np.array_split(values, [7, 9_000, 29_999])]
    merged = parts[0]
    for part in parts[1:]:
        assert merged.merge(part) is merged
    assert np.array_equal(merged.bucket_counts, one_pass.bucket_counts)
    assert merged.to_dict() == one_pass.to_dict()


@settings(max_examples=60, deadline=None)
@given(
    values=hnp.arrays(
        np.float64,
        st.integers(0, 300),
        elements=st.floats(0.0, 1e9, allow_nan=False, allow_infinity=False),
    ),
    split=st.floats(0.0, 1.0),
    qs=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5),
)
def test_merged_quantiles_equal_single_pass(
    values: np.ndarray, split: float, qs: list[float]
) -> None:
    cut = int(split * values.size)
    merged = QuantileSketch().update(values[:cut]).merge(QuantileSketch().update(values[cut:]))
    single = QuantileSketch().update(values)
    np.testing.assert_array_equal(merged.quantiles(qs), single.quantiles(qs))
    assert merged.count == single.count == values.size


def test_merge_refuses_different_parameters() -> None:
    with pytest.raises(ValueError, match="different parameters"):
        QuantileSketch().merge(QuantileSketch(relative_accuracy=0.01))
    with pytest.raises(ValueError):
        QuantileSketch().merge(QuantileSketch(max_value=1e6))


def test_state_survives_json_and_pickle() -> None:
    values = np.concatenate([[0.0, 2e9], np.random.default_rng(8).exponential(40.0, 5_000)])
    sketch = QuantileSketch().update(values)
    restored = QuantileSketch.from_dict(json.loads(json.dumps(sketch.to_dict())))
    unpickled = pickle.loads(pickle.dumps(sketch))
    for other in (restored, unpickled):
        assert np.array_equal(other.bucket_counts, sketch.bucket_counts)
        assert other.n_clamped == sketch.n_clamped == 1
        np.testing.assert_array_equal(other.quantiles(QS), sketch.quantiles(QS))


def test_from_dict_refuses_foreign_or_corrupt_state() -> None:
    state = QuantileSketch().update([1.0, 2.0]).to_dict()
    with pytest.raises(ValueError):
        QuantileSketch.from_dict({**state, "kind": "Other"})
    with pytest.raises(ValueError):
        QuantileSketch.from_dict({**state, "slots": [10**7], "counts": [1]})
    with pytest.raises(ValueError):
        QuantileSketch.from_dict({**state, "counts": [-1, 1]})


def test_memory_does_not_grow_with_rows() -> None:
    sketch = QuantileSketch().update(np.ones(10))
    size = sketch.bucket_counts.nbytes
    sketch.update(np.random.default_rng(9).lognormal(2, 3, 200_000))
    assert sketch.bucket_counts.nbytes == size < 32_000


def test_histogram_counts_every_in_range_value_on_log_spaced_edges() -> None:
    values = np.concatenate([[0.0], np.random.default_rng(10).lognormal(4.0, 1.0, 10_000)])
    sketch = QuantileSketch().update(values)
    edges, counts = sketch.histogram(n_bins=40)
    assert 1 <= counts.size <= 40 and edges.size == counts.size + 1
    assert counts.sum() == values.size - sketch.n_below
    assert np.allclose(np.diff(np.log(edges)), np.log(edges[1] / edges[0]))
    hist, _ = np.histogram(values[values > 0], bins=edges)
    # the sketch's edges are its bucket edges, so only values within an ulp can differ
    assert np.abs(hist - counts).sum() <= 2
