"""Calibration metrics from a reliability table, checked against independent computations."""

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
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss

from monitor.stats.calibration import (
    FINE_BINS,
    ReliabilityBin,
    ReliabilityTable,
    brier,
    calibration_summary,
    ece,
    ece_equal_mass,
    mce,
    overconfidence_gap,
    reliability_bins,
    reliability_change_test,
)


def _rows(seed: int, n: int, *, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Continuous confidences; correct ~ Bernoulli(confidence − shift)."""
    rng = np.random.default_rng(seed)
    confidence = rng.beta(5.0, 2.0, size=n)
    correct = rng.random(n) < np.clip(confidence - shift, 0.0, 1.0)
    return confidence, correct


def _table(confidence: np.ndarray, correct: np.ndarray) -> ReliabilityTable:
    return ReliabilityTable().update(confidence, correct)


def _guo_ece(confidence: np.ndarray, correct: np.ndarray, n_bins: int) -> tuple[float, float]:
    """ECE and MCE written straight from Guo et al. (2017), eq. 3, with [lo, hi) bins."""
    bins = np.minimum(np.floor(confidence * n_bins).astype(int), n_bins - 1)
    ece_sum, mce_max = 0.0, 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            gap = abs(correct[in_bin].mean() - confidence[in_bin].mean())
            ece_sum += in_bin.sum() / confidence.size * gap
            mce_max = max(mce_max, gap)
    return ece_sum, mce_max


# ---------------------------------------------------------------- ECE, MCE, Brier, gap


@pytest.mark.parametrize("n_bins", [15, 10, 20])
def test_ece_and_mce_match_a_direct_implementation_of_guo(n_bins: int) -> None:
    confidence, correct = _rows(1, 20_000, shift=0.08)
    expected_ece, expected_mce = _guo_ece(confidence, correct, n_bins)
    table = _table(confidence, correct)
    assert ece(table, n_bins=n_bins) == pytest.approx(expected_ece, abs=1e-12)
    assert mce(table, n_bins=n_bins) == pytest.approx(expected_mce, abs=1e-12)


def test_ece_matches_sklearn_calibration_curve() -> None:
    # sklearn drops empty bins and puts edge values in the lower bin; with continuous data
    # no value sits on an edge, and the bins it keeps are weighted by counts taken here.
    confidence, correct = _rows(2, 20_000, shift=0.05)
    accuracy, mean_confidence = calibration_curve(
        correct, confidence, n_bins=15, strategy="uniform"
    )
    counts = np.bincount(np.minimum((confidence * 15).astype(int), 14), minlength=15)
    weights = counts[counts > 0] / confidence.size
    expected = float(np.sum(weights * np.abs(accuracy - mean_confidence)))
    assert ece(_table(confidence, correct)) == pytest.approx(expected, abs=1e-12)


def test_ece_of_six_rows_worked_by_hand() -> None:
    # 15 bins of width 1/15 ≈ 0.0667.
    #   bin 14 [0.9333, 1]:   0.95 ✓, 0.95 ✓, 0.95 ✗ → conf 0.95,  acc 2/3 → gap 0.283333
    #   bin 12 [0.8, 0.8667): 0.82 ✓, 0.84 ✗        → conf 0.83,  acc 1/2 → gap 0.33
    #   bin 9  [0.6, 0.6667): 0.65 ✓                → conf 0.65,  acc 1   → gap 0.35
    # ECE = 3/6·0.283333 + 2/6·0.33 + 1/6·0.35 = 0.141667 + 0.11 + 0.058333 = 0.31
    # MCE = 0.35
    # Brier: (2·0.05² + 0.95² + 0.18² + 0.84² + 0.35²) / 6
    #      = (0.005 + 0.9025 + 0.0324 + 0.7056 + 0.1225) / 6 = 1.768 / 6 = 0.294667
    # gap: mean conf (5.16/6 = 0.86) − accuracy (4/6) = 0.193333
    confidence = np.array([0.95, 0.95, 0.95, 0.82, 0.84, 0.65])
    correct = np.array([True, True, False, True, False, True])
    table = _table(confidence, correct)
    assert ece(table) == pytest.approx(0.31, abs=1e-12)
    assert mce(table) == pytest.approx(0.35, abs=1e-12)
    assert brier(table) == pytest.approx(1.768 / 6, abs=1e-12)
    assert overconfidence_gap(table) == pytest.approx(0.86 - 4 / 6, abs=1e-12)


def test_brier_matches_sklearn() -> None:
    confidence, correct = _rows(3, 50_000, shift=0.1)
    expected = brier_score_loss(correct, confidence)
    assert brier(_table(confidence, correct)) == pytest.approx(expected, rel=1e-10)


def test_perfectly_calibrated_model_has_small_ece() -> None:
    confidence, correct = _rows(4, 200_000)
    table = _table(confidence, correct)
    assert ece(table) < 0.01
    assert ece_equal_mass(table) < 0.01
    assert abs(overconfidence_gap(table)) < 0.005


def test_overconfident_model_shows_its_gap() -> None:
    # y ~ Bernoulli(c − 0.15); c ~ Beta(5, 2) is mostly above 0.15, so the gap is ≈ 0.15
    confidence, correct = _rows(5, 200_000, shift=0.15)
    table = _table(confidence, correct)
    assert overconfidence_gap(table) == pytest.approx(0.15, abs=0.005)
    assert ece(table) == pytest.approx(0.15, abs=0.01)
    assert ece_equal_mass(table) == pytest.approx(0.15, abs=0.01)


def test_equal_mass_ece_on_separated_clusters_is_exact() -> None:
    # 15 clusters of 40 rows at distinct fine bins: the equal-mass bins are the clusters.
    centres = (np.arange(15) * 100 + 50.5) / FINE_BINS
    accuracy = np.linspace(0.2, 1.0, 15)
    confidence = np.repeat(centres, 40)
    correct = np.concatenate([np.arange(40) < round(a * 40) for a in accuracy])
    expected = np.mean(np.abs(np.round(accuracy * 40) / 40 - centres))
    assert ece_equal_mass(_table(confidence, correct)) == pytest.approx(expected, abs=1e-12)


def test_equal_mass_ece_is_close_to_sorting_into_equal_chunks() -> None:
    confidence, correct = _rows(6, 60_000, shift=0.07)
    order = np.argsort(confidence)
    expected = sum(
        chunk.size / confidence.size * abs(correct[chunk].mean() - confidence[chunk].mean())
        for chunk in np.array_split(order, 15)
    )
    # bin boundaries differ by at most one fine bin (1/1500)
    assert ece_equal_mass(_table(confidence, correct)) == pytest.approx(expected, abs=2e-3)


def test_empty_table_gives_nan_everywhere() -> None:
    table = ReliabilityTable()
    for metric in (ece, ece_equal_mass, mce, brier, overconfidence_gap):
        assert math.isnan(metric(table))
    bins = reliability_bins(table)
    assert len(bins) == 15 and all(b.n == 0 and math.isnan(b.accuracy) for b in bins)
    result = reliability_change_test(table, table)
    assert math.isnan(result.statistic) and math.isnan(result.p_value) and result.dof == 0


def test_n_bins_must_be_a_union_of_fine_bins() -> None:
    table = _table(*_rows(7, 100))
    with pytest.raises(ValueError, match="divide"):
        ece(table, n_bins=7)


# ---------------------------------------------------------------- reliability bins


def test_reliability_bins_include_empty_bins() -> None:
    table = _table(np.array([0.05, 0.97, 0.99, 1.0]), np.array([False, True, True, False]))
    bins = reliability_bins(table)
    assert len(bins) == 15
    assert bins[0] == ReliabilityBin(0.0, 1 / 15, 1, 0.05, 0.0)
    assert bins[14].n == 3  # 1.0 belongs to the last bin
    assert bins[14].mean_confidence == pytest.approx((0.97 + 0.99 + 1.0) / 3)
    assert bins[14].accuracy == pytest.approx(2 / 3)
    assert all(b.n == 0 and math.isnan(b.mean_confidence) for b in bins[1:14])
    assert [b.lower for b in bins] == pytest.approx(np.arange(15) / 15)


def test_edge_values_go_to_the_upper_bin() -> None:
    table = _table(np.array([0.6, 0.8, 12 / 15]), np.array([True, True, True]))
    bins = reliability_bins(table)
    assert (bins[9].n, bins[12].n) == (1, 2)


def test_summary_for_notebooks_bundles_every_metric() -> None:
    confidence, correct = _rows(8, 5_000, shift=0.1)
    table = _table(confidence, correct)
    summary = calibration_summary(confidence, correct)
    assert summary.n == 5_000
    assert summary.ece == ece(table) and summary.mce == mce(table)
    assert summary.brier == brier(table) and summary.ece_equal_mass == ece_equal_mass(table)
    assert summary.overconfidence_gap == overconfidence_gap(table)
    assert summary.bins == tuple(reliability_bins(table))


# ---------------------------------------------------------------- input handling


def test_integer_labels_are_accepted_but_unlabeled_rows_are_not() -> None:
    confidence = np.array([0.9, 0.8])
    assert _table(confidence, np.array([1, 0])).n_correct == 1
    with pytest.raises(ValueError, match="unlabeled"):
        _table(confidence, np.array([1.0, np.nan]))
    with pytest.raises(ValueError):
        _table(confidence, np.array([1, 2]))


@pytest.mark.parametrize("confidence", [[0.5, 1.2], [0.5, -0.1], [0.5, np.nan]])
def test_confidence_outside_unit_interval_is_refused(confidence: list[float]) -> None:
    table = ReliabilityTable()
    with pytest.raises(ValueError):
        table.update(np.array(confidence), np.array([True, True]))
    assert table.n == 0


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="length"):
        ReliabilityTable().update(np.array([0.5, 0.6]), np.array([True]))


# ---------------------------------------------------------------- merging and state


@settings(max_examples=50, deadline=None)
@given(
    data=hnp.arrays(np.float64, st.integers(1, 400), elements=st.floats(0.0, 1.0, allow_nan=False)),
    seed=st.integers(0, 2**32 - 1),
    cuts=st.lists(st.floats(0.0, 1.0), max_size=4),
)
def test_chunked_merge_equals_one_pass(data: np.ndarray, seed: int, cuts: list[float]) -> None:
    correct = np.random.default_rng(seed).random(data.size) < data
    bounds = sorted(int(c * data.size) for c in cuts)
    merged = ReliabilityTable()
    for chunk_c, chunk_y in zip(np.split(data, bounds), np.split(correct, bounds), strict=True):
        merged.merge(_table(chunk_c, chunk_y))
    single = _table(data, correct)
    a, b = merged.to_dict(), single.to_dict()
    assert (a["bins"], a["count"], a["correct"]) == (b["bins"], b["count"], b["correct"])
    assert np.allclose(a["sum_confidence"], b["sum_confidence"], rtol=1e-12, atol=1e-12)
    for metric in (ece, ece_equal_mass, mce, brier, overconfidence_gap):
        assert metric(merged) == pytest.approx(metric(single), abs=1e-12)


def test_merge_returns_self_and_refuses_other_aggregates() -> None:
    table = ReliabilityTable()
    assert table.merge(ReliabilityTable()) is table
    with pytest.raises(TypeError):
        table.merge(object())  # type: ignore[arg-type]


def test_state_survives_json_and_pickle() -> None:
    table = _table(*_rows(9, 3_000, shift=0.05))
    restored = ReliabilityTable.from_dict(json.loads(json.dumps(table.to_dict())))
    unpickled = pickle.loads(pickle.dumps(table))
    for other in (restored, unpickled):
        assert other.to_dict() == table.to_dict()
        assert ece(other) == ece(table) and brier(other) == brier(table)


def test_from_dict_refuses_corrupt_state() -> None:
    state = _table(np.array([0.5]), np.array([True])).to_dict()
    with pytest.raises(ValueError):
        ReliabilityTable.from_dict({**state, "correct": [2]})
    with pytest.raises(ValueError):
        ReliabilityTable.from_dict({**state, "bins": [FINE_BINS]})


# ---------------------------------------------------------------- reliability change test


def test_per_bin_statistic_is_the_uncorrected_two_by_two_chi_square() -> None:
    current, reference = _table(*_rows(10, 3_000, shift=0.05)), _table(*_rows(11, 3_000))
    n_cur, ok_cur, _ = current.coarse(n_bins=15)
    n_ref, ok_ref, _ = reference.coarse(n_bins=15)
    expected, dof = 0.0, 0
    for b in range(15):
        observed = np.array([[ok_cur[b], n_cur[b] - ok_cur[b]], [ok_ref[b], n_ref[b] - ok_ref[b]]])
        if observed.sum(axis=1).all() and observed.sum(axis=0).all():
            expected += stats.chi2_contingency(observed, correction=False).statistic
            dof += 1
    result = reliability_change_test(current, reference)
    assert result.dof == dof >= 8
    assert result.statistic == pytest.approx(expected, rel=1e-12)
    assert result.p_value == pytest.approx(stats.chi2.sf(expected, dof), rel=1e-9)


def test_same_process_rarely_raises_a_false_alarm() -> None:
    p_values = np.array(
        [
            reliability_change_test(
                _table(*_rows(2 * seed + 1000, 1_000)), _table(*_rows(2 * seed + 1001, 1_000))
            ).p_value
            for seed in range(200)
        ]
    )
    assert np.mean(p_values < 0.05) <= 0.08
    # roughly uniform: no pile-up near 0 or 1
    assert stats.kstest(p_values, "uniform").pvalue > 0.001


def test_shifted_calibration_is_detected() -> None:
    result = reliability_change_test(
        _table(*_rows(12, 5_000, shift=0.1)), _table(*_rows(13, 5_000))
    )
    assert result.p_value < 1e-6


def test_shift_of_confidence_alone_is_not_a_reliability_change() -> None:
    # both windows perfectly calibrated, current much more confident
    rng = np.random.default_rng(14)
    ref_c, cur_c = rng.beta(2, 2, 20_000), rng.beta(8, 1.5, 20_000)
    current = _table(cur_c, rng.random(cur_c.size) < cur_c)
    reference = _table(ref_c, rng.random(ref_c.size) < ref_c)
    assert reliability_change_test(current, reference).p_value > 0.001


def test_min_rows_leaves_sparse_bins_out() -> None:
    current, reference = _table(*_rows(15, 300)), _table(*_rows(16, 300))
    loose = reliability_change_test(current, reference)
    strict = reliability_change_test(current, reference, min_rows=30)
    assert strict.dof < loose.dof


def test_confidences_binned_once_give_what_raw_confidences_give() -> None:
    from monitor.stats.calibration import BinnedConfidence
    from monitor.stats.distribution import ConfidenceHistogram

    rng = np.random.default_rng(21)
    # edges within an ulp of a fine bin's edge too (k / 1500), where a naive floor slips
    conf = np.concatenate([rng.random(5_000), np.arange(0, 1501) / 1500, [1.0, 0.0]])
    labeled = rng.random(len(conf)) < 0.4
    correct = rng.random(len(conf)) < 0.7
    binned = BinnedConfidence.of(conf)
    raw_table, table = ReliabilityTable(), ReliabilityTable()
    raw_table.update(conf[labeled], correct[labeled])
    table.update(binned.subset(labeled), correct[labeled])
    for slot in ReliabilityTable.__slots__:
        assert np.array_equal(getattr(raw_table, slot), getattr(table, slot)), slot
    raw_hist = ConfidenceHistogram(cut_points=(0.6, 0.85)).update(conf[~labeled])
    hist = ConfidenceHistogram(cut_points=(0.6, 0.85)).update(binned.subset(~labeled))
    assert np.array_equal(raw_hist._counts, hist._counts)
    assert np.array_equal(raw_hist._below, hist._below) and raw_hist._sum == hist._sum
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        BinnedConfidence.of([0.5, 1.2])
