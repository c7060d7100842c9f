"""Confidence distribution: exact routing-band counts, PSI and KS between windows."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import stats

from monitor.stats.calibration import FINE_BINS
from monitor.stats.distribution import ConfidenceHistogram, ks_test, psi


def _hist(values: np.ndarray, **kwargs: tuple[float, ...]) -> ConfidenceHistogram:
    return ConfidenceHistogram(**kwargs).update(values)


def _beta(seed: int, n: int, a: float = 5.0, b: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).beta(a, b, size=n)


# ---------------------------------------------------------------- shares and bands


def test_routing_bands_are_counted_exactly_at_their_thresholds() -> None:
    values = np.array(
        [0.0, np.nextafter(0.6, 0.0), 0.6, 0.7, np.nextafter(0.85, 0.0), 0.85, 0.99, 1.0]
    )
    hist = _hist(values)
    assert hist.band_counts() == (2, 3, 3)  # < 0.60 general, review, >= 0.85 auto
    assert hist.share_below(0.60) == 2 / 8
    assert hist.share_below(0.85) == 5 / 8


def test_share_below_is_exact_on_the_fine_grid() -> None:
    rng = np.random.default_rng(1)
    grid = np.arange(FINE_BINS) / FINE_BINS
    values = np.concatenate([grid, np.nextafter(grid[1:], 0.0), rng.random(5_000)])
    hist = _hist(values, cut_points=())
    for x in [0.01, 0.07, 0.3, 0.6, 0.85, 0.99, 7 / 1500, 1499 / 1500]:
        assert hist.share_below(x) == np.mean(values < x), x


def test_share_below_between_grid_points_is_interpolated_within_one_fine_bin() -> None:
    values = _beta(2, 50_000)
    hist = _hist(values, cut_points=())
    for x in [0.1234567, 0.6543, 0.9001]:
        k = math.floor(x * FINE_BINS)
        bin_share = np.mean((values >= k / FINE_BINS) & (values < (k + 1) / FINE_BINS))
        assert abs(hist.share_below(x) - np.mean(values < x)) <= bin_share


def test_custom_cut_point_off_the_grid_is_exact() -> None:
    values = np.array([0.8549, 0.855, 0.85500001, 0.2])
    hist = _hist(values, cut_points=(0.855,))
    assert hist.share_below(0.855) == 0.5
    assert hist.share_below(0.0) == 0.0 and hist.share_below(1.5) == 1.0


def test_mean_and_std_match_numpy() -> None:
    values = _beta(3, 10_000)
    hist = _hist(values)
    assert hist.mean == pytest.approx(values.mean(), rel=1e-12)
    assert hist.std == pytest.approx(values.std(ddof=1), rel=1e-9)
    assert hist.n == values.size


def test_empty_histogram_reports_nan() -> None:
    empty = ConfidenceHistogram()
    assert math.isnan(empty.mean) and math.isnan(empty.std) and math.isnan(empty.share_below(0.6))
    assert math.isnan(psi(empty, _hist(_beta(4, 10))))
    result = ks_test(_hist(_beta(4, 10)), empty)
    assert math.isnan(result.statistic) and math.isnan(result.p_value)


@pytest.mark.parametrize("bad", [[0.5, 1.01], [-0.01], [np.nan]])
def test_confidence_outside_unit_interval_is_refused(bad: list[float]) -> None:
    hist = ConfidenceHistogram()
    with pytest.raises(ValueError):
        hist.update(np.array(bad))
    assert hist.n == 0


@pytest.mark.parametrize("cuts", [(0.85, 0.6), (0.5, 0.5), (1.2,)])
def test_cut_points_must_be_increasing_and_in_range(cuts: tuple[float, ...]) -> None:
    with pytest.raises(ValueError):
        ConfidenceHistogram(cut_points=cuts)


# ---------------------------------------------------------------- PSI


def test_psi_worked_by_hand() -> None:
    # reference: 100 rows in each of the 10 bins → q = 0.1 everywhere
    # current:   bins 0, 1 → 200 rows (p = 0.2); bins 2..7 → 100 rows; bins 8, 9 empty
    #   bins 0, 1: (0.2 − 0.1)·ln(2)                     = 0.0693147 each
    #   bins 8, 9: p floored to ε = 1e-4:
    #              (1e-4 − 0.1)·ln(1e-4 / 0.1) = 0.0999 · 6.9077553 = 0.6900848 each
    # PSI = 2·0.0693147 + 2·0.6900848 = 1.5187990
    centres = (np.arange(10) + 0.5) / 10
    reference = _hist(np.repeat(centres, 100))
    current = _hist(np.repeat(centres, [200, 200, 100, 100, 100, 100, 100, 100, 0, 0]))
    expected = 2 * 0.1 * math.log(2) + 2 * 0.0999 * math.log(1000)
    assert expected == pytest.approx(1.5187990, abs=1e-7)
    assert psi(current, reference) == pytest.approx(expected, abs=1e-12)


def test_psi_matches_a_direct_computation_from_raw_confidences() -> None:
    current, reference = _beta(5, 30_000, 6, 2), _beta(6, 30_000, 5, 2)
    p = np.histogram(current, bins=10, range=(0, 1))[0] / current.size
    q = np.histogram(reference, bins=10, range=(0, 1))[0] / reference.size
    p, q = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
    expected = float(np.sum((p - q) * np.log(p / q)))
    assert psi(_hist(current), _hist(reference)) == pytest.approx(expected, rel=1e-12)


def test_psi_of_a_window_with_itself_is_zero_and_grows_with_shift() -> None:
    reference = _hist(_beta(7, 20_000))
    assert psi(reference, reference) == 0.0
    small = psi(_hist(_beta(8, 20_000, 5.5, 2)), reference)
    large = psi(_hist(_beta(9, 20_000, 2, 2)), reference)
    assert 0 < small < 0.1 < 0.25 < large


# ---------------------------------------------------------------- KS


@pytest.mark.parametrize("shape", [(5.0, 2.0), (4.5, 2.0), (2.0, 2.0)])
def test_ks_statistic_is_within_one_fine_bin_of_scipy_on_raw_data(
    shape: tuple[float, float],
) -> None:
    current, reference = _beta(10, 20_000, *shape), _beta(11, 15_000)
    raw = stats.ks_2samp(current, reference)
    result = ks_test(_hist(current), _hist(reference))
    fine_bin_share = max(
        np.bincount(np.floor(v * FINE_BINS).astype(int)).max() / v.size
        for v in (current, reference)
    )
    assert raw.statistic - fine_bin_share <= result.statistic <= raw.statistic
    assert fine_bin_share < 4 / FINE_BINS  # so "within a few 1/1500" here


def test_ks_on_grid_data_equals_scipy_exactly() -> None:
    rng = np.random.default_rng(12)
    current = np.round(rng.beta(5, 2, 4_000), 2)  # two-decimal confidences, as LLMs give
    reference = np.round(rng.beta(4.6, 2, 5_000), 2)
    raw = stats.ks_2samp(current, reference, method="asymp")
    result = ks_test(_hist(current), _hist(reference))
    assert result.statistic == pytest.approx(raw.statistic, abs=1e-12)
    assert result.p_value == pytest.approx(raw.pvalue, rel=1e-9)
    assert (result.n_current, result.n_reference) == (4_000, 5_000)


def test_ks_flags_a_confidence_shift_and_not_resampling() -> None:
    reference = _hist(_beta(13, 10_000))
    assert ks_test(_hist(_beta(14, 10_000, 4, 2)), reference).p_value < 1e-6
    assert ks_test(_hist(_beta(15, 10_000)), reference).p_value > 0.001


# ---------------------------------------------------------------- merging and state


@settings(max_examples=50, deadline=None)
@given(
    values=hnp.arrays(
        np.float64, st.integers(0, 400), elements=st.floats(0.0, 1.0, allow_nan=False)
    ),
    cuts=st.lists(st.floats(0.0, 1.0), max_size=4),
)
def test_chunked_merge_equals_one_pass(values: np.ndarray, cuts: list[float]) -> None:
    bounds = sorted(int(c * values.size) for c in cuts)
    merged = ConfidenceHistogram()
    for chunk in np.split(values, bounds):
        assert merged.merge(_hist(chunk)) is merged
    single = _hist(values)
    assert np.array_equal(merged.counts, single.counts)
    assert merged.band_counts() == single.band_counts()
    assert merged.n == single.n == values.size
    assert merged.to_dict()["sum"] == pytest.approx(single.to_dict()["sum"], abs=1e-9)


def test_merge_refuses_different_cut_points() -> None:
    with pytest.raises(ValueError, match="cut_points"):
        ConfidenceHistogram().merge(ConfidenceHistogram(cut_points=(0.5,)))


def test_state_survives_json_and_pickle() -> None:
    hist = _hist(_beta(16, 2_000), cut_points=(0.3, 0.6, 0.9))
    restored = ConfidenceHistogram.from_dict(json.loads(json.dumps(hist.to_dict())))
    unpickled = pickle.loads(pickle.dumps(hist))
    for other in (restored, unpickled):
        assert other.to_dict() == hist.to_dict()
        assert other.cut_points == (0.3, 0.6, 0.9)


def test_from_dict_refuses_corrupt_state() -> None:
    state = _hist(np.array([0.1, 0.9])).to_dict()
    with pytest.raises(ValueError):
        ConfidenceHistogram.from_dict({**state, "below": [2, 1]})
    with pytest.raises(ValueError):
        ConfidenceHistogram.from_dict({**state, "bins": [1500, 1501]})
