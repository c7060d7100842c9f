"""Drift summaries over every row: exact where promised, bounded, and merge-invariant.

Oracles are independent of the code under test: numpy for moments and bit patterns,
``collections.Counter`` and ``hashlib`` for categories. The agreement with Evidently is
in ``tests/test_drift_methods.py``.
"""

from __future__ import annotations

import hashlib
import math
import pickle
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.stats.drift_summary import (
    EXACT_VALUES,
    OTHER,
    CategoryDistribution,
    NumericDistribution,
    WindowDistributions,
)


def _values(kind: str, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return rng.normal(0.0, 1.0, n)
    if kind == "heavy":  # Student t with 1.5 degrees of freedom: infinite variance
        return rng.standard_t(1.5, n) * 100.0
    if kind == "ties":  # amounts rounded to cents: many repeats
        return np.round(rng.gamma(2.0, 30.0, n), 2)
    if kind == "epoch":  # timestamps as seconds: a huge offset, a small spread
        return 1.7e9 + rng.uniform(0.0, 86_400.0, n)
    # dirty: missing and infinite values between signed zeros and subnormals
    x = rng.normal(0.0, 1.0, n)
    x[rng.random(n) < 0.05] = np.nan
    x[rng.random(n) < 0.01] = np.inf
    x[rng.random(n) < 0.01] = -np.inf
    x[rng.random(n) < 0.02] = -0.0
    x[rng.random(n) < 0.02] = 5e-324
    return x


def _bit_keys(values: np.ndarray, shift: int) -> np.ndarray:
    """The bucket of each value, computed from its IEEE-754 bits independently."""
    magnitude = np.abs(values).view(np.uint64) >> np.uint64(shift)
    return np.where(values < 0, -magnitude.astype(np.int64), magnitude.astype(np.int64))


def _same_numeric(a: NumericDistribution, b: NumericDistribution) -> None:
    bins_a, bins_b = a.bins(), b.bins()
    assert (a.n, a.n_missing, a.shift) == (b.n, b.n_missing, b.shift)
    assert np.array_equal(bins_a.counts, bins_b.counts)
    assert np.array_equal(bins_a.low, bins_b.low) and np.array_equal(bins_a.high, bins_b.high)
    assert (a.min, a.max) == (b.min, b.max) or a.n == 0
    if a.n:  # Chan's update: equal to rounding
        assert math.isclose(a.mean, b.mean, rel_tol=1e-12, abs_tol=1e-12 * a.std)
        assert math.isclose(a.std, b.std, rel_tol=1e-10)


# ------------------------------------------------------------------------------ numeric


def test_a_small_window_is_kept_value_for_value() -> None:
    x = _values("dirty", EXACT_VALUES + 500, seed=1)
    dist = NumericDistribution().update(x)
    finite = x[np.isfinite(x)]
    assert dist.n == finite.size <= EXACT_VALUES  # NaN and inf are left out, as in Evidently
    assert dist.n_missing == x.size - finite.size
    values, counts = dist.values()
    expected_values, expected_counts = np.unique(finite, return_counts=True)  # -0.0 == 0.0
    assert np.array_equal(values, expected_values)
    assert np.array_equal(counts, expected_counts)
    assert math.isclose(dist.std, float(np.std(finite)), rel_tol=1e-12)
    assert math.isclose(dist.mean, float(np.mean(finite)), rel_tol=1e-12, abs_tol=1e-15)


def test_a_large_window_with_few_distinct_values_stays_exact() -> None:
    x = _values("ties", 200_000, seed=2)
    x = np.round(x / 10.0)  # at most a few hundred distinct amounts
    dist = NumericDistribution().update(x)
    assert dist.n > EXACT_VALUES and dist.is_exact
    values, counts = dist.values()
    expected_values, expected_counts = np.unique(x, return_counts=True)
    assert np.array_equal(values, expected_values) and np.array_equal(counts, expected_counts)


@pytest.mark.parametrize("kind", ["normal", "heavy", "ties", "epoch", "dirty"])
def test_a_large_window_keeps_the_finest_buckets_that_fit(kind: str) -> None:
    x = _values(kind, 120_000, seed=3)
    dist = NumericDistribution(max_bins=2048).update(x)
    finite = np.sort(x[np.isfinite(x)])
    assert not dist.is_exact and dist.n_bins <= 2048
    # the rule: the smallest shift at which the occupied buckets fit
    assert np.unique(_bit_keys(finite, dist.shift)).size == dist.n_bins
    assert np.unique(_bit_keys(finite, dist.shift - 1)).size > 2048
    # every value lies in the range of its bucket, and the counts are the values'
    bins = dist.bins()
    owner = np.repeat(np.arange(bins.counts.size), bins.counts)
    assert bins.counts.sum() == finite.size
    assert np.all(bins.low[owner] <= finite) and np.all(finite <= bins.high[owner])
    assert np.all(bins.high[:-1] < bins.low[1:])
    assert bins.low[0] == finite[0] and bins.high[-1] == finite[-1]  # clamped to the extremes
    # a bucket spans a relative width 2^-(52 - shift) of its values
    mantissa = 52 - dist.shift
    wide = np.abs(bins.low) > 1e-300  # away from the subnormals and the zero bucket
    assert np.all(
        (bins.high - bins.low)[wide]
        <= 2.0**-mantissa * np.maximum(np.abs(bins.low), np.abs(bins.high))[wide]
    )


def test_an_epoch_seconds_feature_gets_sub_second_buckets() -> None:
    x = _values("epoch", 100_000, seed=4)
    bins = NumericDistribution().update(x).bins()
    # one day of seconds around 1.7e9: the data picks the resolution, not the magnitude
    assert float((bins.high - bins.low).max()) < 16.0


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["normal", "heavy", "ties", "epoch", "dirty"]),
    n=st.integers(0, 40_000),
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.floats(0.0, 1.0), max_size=12),
    order_seed=st.integers(0, 2**32 - 1),
)
def test_merging_any_partition_in_any_order_equals_one_pass(
    kind: str, n: int, seed: int, cuts: list[float], order_seed: int
) -> None:
    x = _values(kind, n, seed)
    whole = NumericDistribution(max_bins=512).update(x)
    edges = sorted({int(c * n) for c in cuts})
    parts = [NumericDistribution(max_bins=512).update(p) for p in np.split(x, edges)]
    rng = np.random.default_rng(order_seed)
    while len(parts) > 1:  # merge random pairs: any tree shape, any order
        i, j = rng.choice(len(parts), size=2, replace=False)
        parts[i].merge(parts[j])
        parts.pop(j)
    _same_numeric(whole, parts[0])
    streamed = NumericDistribution(max_bins=512)
    for p in np.split(x, edges):
        streamed.update(p)
    _same_numeric(whole, streamed)


def test_a_summary_survives_pickling_for_dask() -> None:
    dist = NumericDistribution().update(_values("heavy", 30_000, seed=5))
    _same_numeric(dist, pickle.loads(pickle.dumps(dist)))


def test_numeric_summaries_refuse_what_they_cannot_hold() -> None:
    with pytest.raises(TypeError, match="numeric values expected"):
        NumericDistribution().update(np.array(["a", "b"], dtype=object))
    with pytest.raises(ValueError, match="max_bins"):
        NumericDistribution(max_bins=8)
    with pytest.raises(ValueError, match="max_bins 8192 and 512"):
        NumericDistribution().merge(NumericDistribution(max_bins=512))
    with pytest.raises(ValueError, match="not exact values"):
        NumericDistribution(max_bins=64).update(_values("normal", 20_000, seed=6)).values()


# --------------------------------------------------------------------------- categories


def _hash(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")


def _plans(n: int, n_categories: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    names = np.array([f"plan-{i}" for i in range(n_categories)], dtype=object)
    values = names[np.minimum(rng.zipf(1.4, n) - 1, n_categories - 1)]
    values[rng.random(n) < 0.03] = None
    return values


def test_categories_are_counted_exactly_up_to_the_cap() -> None:
    values = _plans(20_000, 300, seed=7)
    values[::97] = np.nan  # NaN is missing too, like None
    dist = CategoryDistribution().update(values)
    expected = Counter(v for v in values.tolist() if isinstance(v, str))
    assert dist.is_exact and dist.n_other == 0
    assert dist.counts() == dict(sorted(expected.items()))
    assert dist.n == sum(expected.values())
    assert dist.n_missing == values.size - dist.n
    head, rest = dist.top(3)
    assert head == sorted(expected.items(), key=lambda kv: (-kv[1], _hash(kv[0])))[:3]
    assert rest == dist.n - sum(c for _, c in head)
    assert OTHER == "(other)"


def test_beyond_the_cap_the_smallest_hashes_are_kept_and_the_rest_is_other() -> None:
    values = _plans(30_000, 5_000, seed=8)
    dist = CategoryDistribution(max_categories=1001, max_names=50).update(values)
    expected = Counter(v for v in values.tolist() if v is not None)
    kept = sorted(expected, key=_hash)[:1001]
    hashes, counts = dist.hashed_counts()
    assert hashes.tolist() == sorted(_hash(name) for name in kept)
    assert dict(zip(hashes.tolist(), counts.tolist(), strict=True)) == {
        _hash(name): expected[name] for name in kept
    }
    assert dist.limit == _hash(kept[-1])
    assert dist.n_other == sum(expected.values()) - sum(expected[name] for name in kept)
    # names are remembered for the 50 smallest hashes only
    assert dist.counts() == {name: expected[name] for name in sorted(kept, key=_hash)[:50]}


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(0, 8_000),
    n_categories=st.sampled_from([1, 2, 40, 1500, 6000]),
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.floats(0.0, 1.0), max_size=10),
    order_seed=st.integers(0, 2**32 - 1),
)
def test_category_merges_equal_one_pass_even_when_folding(
    n: int, n_categories: int, seed: int, cuts: list[float], order_seed: int
) -> None:
    values = _plans(n, n_categories, seed)
    caps = {"max_categories": 1001, "max_names": 300}
    whole = CategoryDistribution(**caps).update(values)
    edges = sorted({int(c * n) for c in cuts})
    parts = [CategoryDistribution(**caps).update(p) for p in np.split(values, edges)]
    rng = np.random.default_rng(order_seed)
    while len(parts) > 1:
        i, j = rng.choice(len(parts), size=2, replace=False)
        parts[i].merge(parts[j])
        parts.pop(j)
    merged = parts[0]
    for got in (merged, pickle.loads(pickle.dumps(merged))):
        assert (got.n, got.n_missing, got.n_other, got.limit) == (
            whole.n,
            whole.n_missing,
            whole.n_other,
            whole.limit,
        )
        for a, b in zip(got.hashed_counts(), whole.hashed_counts(), strict=True):
            assert np.array_equal(a, b)
        assert got.counts() == whole.counts()


def test_dictionary_encoded_and_plain_chunks_count_alike() -> None:
    values = _plans(5_000, 30, seed=9)
    codes, categories = np.unique(values[values != None], return_inverse=True)  # noqa: E711
    encoded = np.full(values.size, -1)
    encoded[values != None] = categories  # noqa: E711
    by_codes = CategoryDistribution().update_codes(encoded, codes.tolist())
    plain = CategoryDistribution().update(values)
    assert by_codes.counts() == plain.counts() and by_codes.n_missing == plain.n_missing


def test_category_summaries_refuse_mismatched_caps() -> None:
    with pytest.raises(ValueError, match="max_categories"):
        CategoryDistribution(max_categories=1000)
    with pytest.raises(ValueError, match="max_names"):
        CategoryDistribution(max_names=-1)
    assert CategoryDistribution(max_categories=1500, max_names=3000).max_names == 1500
    with pytest.raises(ValueError, match="caps"):
        CategoryDistribution().merge(CategoryDistribution(max_categories=2000))
    with pytest.raises(ValueError, match=">= 0"):
        CategoryDistribution().update_counts({"a": -1})


# --------------------------------------------------------------------------- one window


def test_a_window_sorts_columns_by_type_and_merges_them() -> None:
    rng = np.random.default_rng(10)
    chunks = [
        {
            "feature.spend": rng.gamma(2.0, 30.0, 4_000),
            "feature.plan": _plans(4_000, 5, seed=i),
            "feature.is_trial": rng.random(4_000) < 0.2,  # booleans are numbers (0/1)
        }
        for i in range(3)
    ]
    whole = WindowDistributions()
    parts = []
    for chunk in chunks:
        whole.update(chunk)
        parts.append(WindowDistributions().update(chunk))
    merged = parts[2].merge(parts[0]).merge(parts[1])
    assert merged.columns == whole.columns == ("feature.is_trial", "feature.plan", "feature.spend")
    spend = merged.numeric("feature.spend")
    trial = merged.numeric("feature.is_trial")
    plan = merged.categorical("feature.plan")
    assert spend is not None and trial is not None and plan is not None
    assert merged.categorical("feature.spend") is None
    assert trial.is_exact and trial.values()[0].tolist() == [0.0, 1.0]
    reference = whole.categorical("feature.plan")
    assert reference is not None and plan.counts() == reference.counts()
    with pytest.raises(ValueError, match="different caps"):
        merged.merge(WindowDistributions(max_bins=64))


def test_memory_is_flat_in_the_number_of_rows() -> None:
    rng = np.random.default_rng(11)
    numbers = NumericDistribution()
    names = CategoryDistribution(max_categories=1001, max_names=100)
    sizes = []
    for _ in range(12):  # 1.2 M values, 60 000 distinct names
        numbers.update(rng.lognormal(3.0, 2.0, 100_000))
        names.update(np.array([f"user-{i}" for i in rng.integers(0, 60_000, 5_000)]))
        sizes.append((numbers.nbytes, names.nbytes))
    assert numbers.n_bins <= 8192 and numbers.nbytes == 16 * numbers.n_bins
    assert max(size for size, _ in sizes) <= 16 * max(8192, EXACT_VALUES)
    assert names.n_categories == 1001 and max(size for _, size in sizes) < 1001 * 16 + 100 * 200
    window = WindowDistributions().update({"a": np.arange(5.0), "b": np.array(["x", "y"])})
    a, b = window.numeric("a"), window.categorical("b")
    assert a is not None and b is not None and window.nbytes == a.nbytes + b.nbytes
