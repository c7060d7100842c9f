"""Drift from merged summaries agrees with Evidently run on the same full windows.

Each dataset is summarised chunk by chunk (as the nightly pass does) and compared with
Evidently 0.7's ``ValueDrift`` on every row of both windows. On every column the method
and the verdict must be Evidently's, and Evidently's score must lie in the interval the
summary guarantees (``statistic_low``..``statistic_high``; a single point when the
summaries are exact). The only slack is float rounding: :data:`ROUNDING`, for sums of up
to a few hundred thousand terms accumulated in a different order (about ``n·ε`` with
``ε = 2.2e-16``), not a tolerance fitted to pass. Where an interval is not a point, the
test also checks it against the a-priori bound of ``monitor.stats.drift_methods``.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pytest
from evidently_oracle import Columns, evidently_drift
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial import distance

from monitor.stats.drift_methods import (
    METHODS,
    ColumnDrift,
    NotComparable,
    column_drift,
    default_method,
    window_drift,
)
from monitor.stats.drift_summary import (
    CategoryDistribution,
    NumericDistribution,
    WindowDistributions,
)

#: Float rounding between two summation orders (see the module docstring).
ROUNDING = 1e-9


def summarise(columns: Columns, *, chunks: int = 5, **caps: Any) -> WindowDistributions:
    """One window's summaries, built chunk by chunk like the nightly pass."""
    window = WindowDistributions(**caps)
    n = len(next(iter(columns.values())))
    for rows in np.array_split(np.arange(n), chunks):
        window.update({name: values[rows] for name, values in columns.items()})
    return window


def assert_agrees(
    ours: ColumnDrift | NotComparable, theirs: tuple[str, float, bool, float]
) -> None:
    method, score, drifted, threshold = theirs
    assert isinstance(ours, ColumnDrift), ours
    assert ours.method.display_name == method
    assert ours.threshold == threshold
    assert ours.drifted == drifted, (ours, theirs)
    slack = ROUNDING * max(1.0, abs(score))
    assert ours.statistic_low - slack <= score <= ours.statistic_high + slack, (ours, theirs)
    assert abs(ours.statistic - score) <= ours.statistic_high - ours.statistic_low + slack


def compare(current: Columns, reference: Columns, **caps: Any) -> dict[str, ColumnDrift]:
    theirs = evidently_drift(current, reference)
    ours = window_drift(summarise(current, **caps), summarise(reference, **caps))
    assert set(ours) == set(theirs)
    for name, result in ours.items():
        assert_agrees(result, theirs[name])
    return {name: r for name, r in ours.items() if isinstance(r, ColumnDrift)}


def features(n: int, *, shifted: bool, seed: int) -> Columns:
    """A model's inputs: every kind of column the chooser tells apart."""
    rng = np.random.default_rng(seed)
    shift = 0.3 if shifted else 0.0
    plan_shares = [0.4, 0.3, 0.2, 0.1] if not shifted else [0.25, 0.3, 0.2, 0.25]
    country = np.array([f"c{i:03d}" for i in range(300)], dtype=object)
    return {
        "feature.spend": rng.normal(100.0 + 30.0 * shift, 30.0, n),  # shifts by 0.3 sd
        "feature.tenure": rng.gamma(2.0, 12.0, n),  # does not shift
        "feature.loss_ratio": rng.standard_t(1.5, n) + shift,  # heavy tails
        "feature.rating": np.round(rng.gamma(2.0, 1.0, n) + shift, 1),  # many ties
        "feature.seats": rng.integers(1, 5, n).astype(float),  # 4 values: "few"
        "feature.is_trial": (rng.random(n) < 0.2 + shift / 3).astype(float),  # binary
        "feature.plan": rng.choice(
            np.array(["free", "pro", "team", "ent"], dtype=object), n, p=plan_shares
        ),
        "feature.country": country[np.minimum(rng.zipf(1.5, n), 300) - 1],  # many categories
        "prediction": rng.choice(np.array(["churn", "stay"], dtype=object), n),
    }


# ------------------------------------------------------------------------ method choice


@pytest.mark.parametrize("column_type", ["num", "cat"])
@pytest.mark.parametrize("n_reference", [3, 999, 1000, 1001, 4000])
@pytest.mark.parametrize("n_values", [1, 2, 3, 5, 6, 40])
def test_the_method_is_the_one_evidentlys_chooser_picks(
    column_type: str, n_reference: int, n_values: int
) -> None:
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    values = np.arange(n_values, dtype=float)
    reference = pd.Series(np.resize(values, n_reference))
    current = pd.Series(values)  # together: exactly n_values distinct values
    if column_type == "cat":
        reference, current = reference.astype(str), current.astype(str)
    kind = ColumnType.Numerical if column_type == "num" else ColumnType.Categorical
    theirs = get_stattest(reference, current, kind, None)
    ours = default_method(column_type, n_reference=n_reference, n_values=n_values)  # type: ignore[arg-type]
    assert (ours.name, ours.display_name, ours.default_threshold) == (
        theirs.name,
        theirs.display_name,
        theirs.default_threshold,
    )


# ------------------------------------------------------------- agreement on full windows


def test_a_small_reference_gets_evidentlys_tests_with_identical_p_values() -> None:
    ours = compare(features(900, shifted=True, seed=1), features(800, shifted=False, seed=2))
    methods = {name: r.method.name for name, r in ours.items()}
    assert methods["feature.spend"] == "ks" and methods["feature.seats"] == "chisquare"
    assert methods["feature.is_trial"] == "z" and methods["feature.country"] == "chisquare"
    assert all(r.exact for r in ours.values())  # at most 10 000 values: nothing is binned
    assert ours["feature.spend"].drifted and not ours["feature.tenure"].drifted


def test_a_large_reference_gets_evidentlys_distances() -> None:
    ours = compare(features(8_000, shifted=True, seed=3), features(6_000, shifted=False, seed=4))
    methods = {name: r.method.name for name, r in ours.items()}
    assert methods["feature.spend"] == "wasserstein" and methods["feature.seats"] == "jensenshannon"
    assert methods["feature.plan"] == "jensenshannon"
    assert all(r.exact for r in ours.values())
    assert ours["feature.spend"].drifted and ours["feature.plan"].drifted
    assert not ours["feature.tenure"].drifted


def test_the_whole_window_is_binned_and_still_agrees_within_the_stated_bound() -> None:
    current = features(60_000, shifted=True, seed=5)
    reference = features(40_000, shifted=False, seed=6)
    ours = compare(current, reference)
    assert ours["feature.rating"].exact  # 60 000 rows but few distinct values: exact
    for name in ("feature.spend", "feature.tenure", "feature.loss_ratio"):
        result = ours[name]
        assert result.method.name == "wasserstein" and not result.exact
        # the a-priori bound: 2^-(m+1)·(1 + 2^-m)·(E_ref|X| + E_cur|X|)/σ_ref, m mantissa
        # bits kept
        cur = NumericDistribution().update(current[name])
        ref = NumericDistribution().update(reference[name])
        bits = 52 - max(cur.shift, ref.shift)
        a_priori = (
            2.0 ** -(bits + 1)
            * (np.abs(current[name]).mean() + np.abs(reference[name]).mean())
            / float(np.std(reference[name]))
        )
        half_width = (result.statistic_high - result.statistic_low) / 2
        assert half_width <= a_priori * (1 + 2.0**-bits) * (1 + 1e-9)
        assert half_width < 0.002  # 2 % of Evidently's threshold with 8 192 buckets
    assert ours["feature.spend"].drifted and ours["feature.spend"].certain


def test_a_small_reference_against_a_large_binned_current_bounds_the_ks_p_value() -> None:
    current = features(40_000, shifted=True, seed=7)
    reference = features(700, shifted=False, seed=8)
    ours = compare(current, reference, max_bins=256)
    ks = ours["feature.loss_ratio"]
    assert ks.method.name == "ks" and not ks.exact
    # D is known within the largest current bucket's share; bound the p-values with it
    cur = NumericDistribution(max_bins=256).update(current["feature.loss_ratio"])
    largest = cur.bins().counts.max() / cur.n
    d_low = stats.kstwo.isf(ks.statistic_high, round(40_000 * 700 / 40_700))
    d_high = stats.kstwo.isf(ks.statistic_low, round(40_000 * 700 / 40_700))
    assert d_high - d_low <= 2 * largest + 1e-12


def test_p_values_use_the_registers_significance_level() -> None:
    current, reference = features(900, shifted=True, seed=9), features(800, shifted=False, seed=10)
    theirs = evidently_drift(current, reference, p_value=0.001)
    ours = window_drift(summarise(current), summarise(reference), p_value=0.001)
    for name, result in ours.items():
        assert_agrees(result, theirs[name])
        assert isinstance(result, ColumnDrift) and result.threshold == 0.001


def test_a_column_of_numbers_and_text_is_compared_as_text() -> None:
    rng = np.random.default_rng(11)
    codes = np.array(["A7", "B2", "C9"], dtype=object)
    current = {"feature.code": rng.choice(codes, 3_000)}
    reference = {"feature.code": rng.choice(codes, 2_000)}
    # a CSV chunk in which every code parses as a number arrives as floats
    as_numbers = rng.integers(10, 13, 500).astype(float)
    window = summarise(current)
    window.update({"feature.code": as_numbers})
    theirs = evidently_drift(
        {"feature.code": np.concatenate([current["feature.code"], as_numbers.astype(str)])},
        reference,
    )
    result = window_drift(window, summarise(reference))["feature.code"]
    assert_agrees(result, theirs["feature.code"])
    assert isinstance(result, ColumnDrift) and result.n_values == 6


def test_folded_categories_give_a_bound_that_holds_evidentlys_distance() -> None:
    rng = np.random.default_rng(12)
    names = np.array([f"user-{i}" for i in range(4_000)], dtype=object)
    current = {"feature.user": names[rng.integers(0, 4_000, 12_000)]}
    reference = {"feature.user": names[rng.integers(0, 3_000, 8_000)]}
    ours = compare(current, reference, max_categories=1001, max_names=100)
    user = ours["feature.user"]
    assert user.method.name == "jensenshannon" and user.n_values is None and not user.exact

    # the estimate is the distance over the categories kept in both windows plus "other"
    def blake(name: str) -> int:
        return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "little")

    limit = min(sorted({blake(v) for v in w["feature.user"]})[1000] for w in (current, reference))
    kept = sorted({v for w in (current, reference) for v in w["feature.user"] if blake(v) <= limit})
    shares = []
    for window in (reference, current):
        counts = Counter(window["feature.user"].tolist())
        cells = [counts[name] for name in kept]
        shares.append(np.array([*cells, len(window["feature.user"]) - sum(cells)]) / 1.0)
    expected = distance.jensenshannon(shares[0] / shares[0].sum(), shares[1] / shares[1].sum())
    assert math.isclose(user.statistic, float(expected), rel_tol=1e-12)


def test_columns_that_cannot_be_compared_say_why() -> None:
    empty = WindowDistributions().update({"feature.a": np.full(10, np.nan)})
    full = WindowDistributions().update({"feature.a": np.arange(10.0), "feature.b": np.ones(3)})
    results = window_drift(empty, full)
    assert results == {
        "feature.a": NotComparable("feature.a", "no values in the current window"),
        "feature.b": NotComparable("feature.b", "absent from the current window"),
    }
    nulls = WindowDistributions().update({"feature.a": np.array([None, None], dtype=object)})
    assert window_drift(full, nulls)["feature.a"] == NotComparable(
        "feature.a", "no values in the reference window"
    )
    binned = WindowDistributions(max_bins=64).update({"feature.a": np.linspace(0, 1, 20_000)})
    binned.update({"feature.a": np.array(["x"], dtype=object)})
    reason = window_drift(binned, full)["feature.a"]
    assert isinstance(reason, NotComparable) and "too many distinct numbers" in reason.reason


def test_a_verdict_near_the_threshold_is_flagged_uncertain() -> None:
    # two bucketed windows whose Wasserstein bound straddles Evidently's 0.1
    rng = np.random.default_rng(13)
    reference = NumericDistribution(max_bins=64).update(rng.normal(0.0, 1.0, 30_000))
    current = NumericDistribution(max_bins=64).update(rng.normal(0.1, 1.0, 30_000))
    result = column_drift(current, reference, column="x")
    assert isinstance(result, ColumnDrift) and result.method is METHODS["wasserstein"]
    assert result.statistic_low < 0.1 <= result.statistic_high
    assert not result.certain
    assert math.isclose(result.statistic, 0.1, abs_tol=0.02)


def test_comparing_a_numeric_with_a_categorical_summary_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="NumericDistribution with a CategoryDistribution"):
        column_drift(NumericDistribution().update([1.0]), CategoryDistribution().update(["a"]))
    with pytest.raises(ValueError, match="p_value"):
        column_drift(NumericDistribution(), NumericDistribution(), p_value=1.5)


# ------------------------------------------------------------------- bounds and rules


def _coarse_pair(kind: str, seed: int, n_ref: int, n_cur: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    draw = {
        "normal": lambda n, s: rng.normal(s, 1.0, n),
        "heavy": lambda n, s: rng.standard_t(1.2, n) + s,
        "bimodal": lambda n, s: (
            np.where(rng.random(n) < 0.5 + s / 4, -3.0, 3.0) + rng.normal(0, 0.2, n)
        ),
        "epoch": lambda n, s: 1.7e9 + rng.uniform(0, 3_600.0 * (1 + s), n),
    }[kind]
    shift = float(rng.uniform(0.0, 0.5))
    return draw(n_ref, 0.0), draw(n_cur, shift)


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(["normal", "heavy", "bimodal", "epoch"]),
    seed=st.integers(0, 2**32 - 1),
    small_reference=st.booleans(),
    size=st.floats(0.0, 1.0),
)
def test_coarse_bounds_hold_the_exact_distance_or_p_value(
    kind: str, seed: int, small_reference: bool, size: float
) -> None:
    # a reference of at most 1 000 values gets K-S, a larger one Wasserstein; the current
    # window is past 10 000 values, so binned (and K-S takes scipy's asymptotic branch)
    n_ref = 30 + int(size * 970) if small_reference else 11_000 + int(size * 19_000)
    reference, current = _coarse_pair(kind, seed, n_ref, 10_001 + int(size * 30_000))
    # 64 buckets: errors far larger than with the default, so a wrong bound would show
    result = column_drift(
        NumericDistribution(max_bins=64).update(current),
        NumericDistribution(max_bins=64).update(reference),
    )
    if small_reference:
        exact = float(stats.ks_2samp(reference, current)[1])
    else:
        exact = stats.wasserstein_distance(reference, current) / float(np.std(reference))
    assert isinstance(result, ColumnDrift) and not result.exact
    assert result.method.name == ("ks" if small_reference else "wasserstein")
    slack = ROUNDING * max(1.0, exact)
    assert result.statistic_low - slack <= exact <= result.statistic_high + slack


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_names=st.integers(1_100, 8_000),
    exponent=st.floats(1.05, 2.5),
)
def test_folded_jensen_shannon_bounds_hold_the_exact_distance(
    seed: int, n_names: int, exponent: float
) -> None:
    rng = np.random.default_rng(seed)
    names = np.array([f"sku-{i}" for i in range(n_names)], dtype=object)

    def draw(n: int) -> np.ndarray:
        ranks = np.minimum(rng.zipf(exponent, n), n_names) - 1
        return names[rng.permutation(n_names)[ranks]]  # each window its own popular names

    reference, current = draw(5_000), draw(7_000)
    result = column_drift(
        CategoryDistribution(max_categories=1001).update(current),
        CategoryDistribution(max_categories=1001).update(reference),
    )
    keys = np.union1d(reference, current)
    ref_share = pd.Series(reference).value_counts().reindex(keys, fill_value=0).to_numpy() / 5_000
    cur_share = pd.Series(current).value_counts().reindex(keys, fill_value=0).to_numpy() / 7_000
    exact = float(distance.jensenshannon(ref_share, cur_share))
    assert isinstance(result, ColumnDrift) and result.method.name == "jensenshannon"
    assert result.statistic_low - ROUNDING <= exact <= result.statistic_high + ROUNDING


def test_a_score_equal_to_the_threshold_gets_evidentlys_verdict() -> None:
    from evidently.legacy.calculations.stattests import (
        chi_stat_test,
        jensenshannon_stat_test,
        ks_stat_test,
        wasserstein_stat_test,
        z_stat_test,
    )
    from evidently.legacy.core import ColumnType

    rng = np.random.default_rng(14)
    numbers = pd.Series(rng.normal(size=300)), pd.Series(rng.normal(0.2, 1.0, 300))
    labels = pd.Series(rng.choice(list("abc"), 300)), pd.Series(rng.choice(list("abc"), 300))
    binary = pd.Series(rng.choice(list("ab"), 300)), pd.Series(rng.choice(list("ab"), 300))
    cases = [
        (ks_stat_test, numbers, ColumnType.Numerical),
        (wasserstein_stat_test, numbers, ColumnType.Numerical),
        (chi_stat_test, labels, ColumnType.Categorical),
        (jensenshannon_stat_test, labels, ColumnType.Categorical),
        (z_stat_test, binary, ColumnType.Categorical),
    ]
    for test, (reference, current), kind in cases:
        score = test(reference, current, kind, None).drift_score
        at_threshold = test(reference, current, kind, score)  # threshold == the score
        method = METHODS[test.name]  # type: ignore[index]
        assert method.drifted(score, score) == at_threshold.drifted, test.name
        assert method.default_threshold == test.default_threshold


def test_the_wasserstein_bound_is_reached_by_values_at_opposite_ends_of_their_buckets() -> None:
    # 100 buckets of 2^-8 relative width above 1.0 (shift 44): the reference sits on the
    # buckets' lower edges, the current window on their upper edges. One value per
    # bucket in the other half forces both summaries to exactly this resolution.
    keys = (np.float64(1.0).view(np.uint64) >> np.uint64(44)) + np.arange(100, dtype=np.uint64)
    lower = (keys << np.uint64(44)).view(np.float64)
    upper = (((keys + np.uint64(1)) << np.uint64(44)) - np.uint64(1)).view(np.float64)
    middle = ((keys * np.uint64(2) + np.uint64(1)) << np.uint64(43)).view(np.float64)
    reference = np.concatenate([np.repeat(lower, 150), middle])
    current = np.concatenate([np.repeat(upper, 150), lower])
    ref = NumericDistribution(max_bins=128).update(reference)
    cur = NumericDistribution(max_bins=128).update(current)
    assert ref.shift == cur.shift == 44
    result = column_drift(cur, ref)
    exact = stats.wasserstein_distance(reference, current) / float(np.std(reference))
    assert isinstance(result, ColumnDrift) and result.method.name == "wasserstein"
    assert result.statistic_low <= exact <= result.statistic_high + ROUNDING
    # the estimate sees both windows at the same midpoints; the truth is a bucket apart,
    # within 2 % of the bound: a bound any tighter would be wrong here
    assert exact >= result.statistic + 0.98 * (result.statistic_high - result.statistic)
