"""Wilson, t, quantile and Poisson intervals, checked against scipy and numbers worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from monitor.stats.intervals import (
    mean_interval,
    quantile_interval,
    rate_per_hour_interval,
    wilson_interval,
)


@pytest.mark.parametrize("confidence", [0.80, 0.90, 0.95, 0.99])
@pytest.mark.parametrize(
    ("successes", "n"), [(0, 1), (1, 1), (0, 200), (3, 200), (8, 10), (50, 100), (999, 1000)]
)
def test_wilson_matches_scipy_binomtest(successes: int, n: int, confidence: float) -> None:
    expected = stats.binomtest(successes, n).proportion_ci(
        confidence_level=confidence, method="wilson"
    )
    low, high = wilson_interval(successes, n, confidence=confidence)
    assert low == pytest.approx(max(0.0, expected.low), abs=1e-12)
    assert high == pytest.approx(min(1.0, expected.high), abs=1e-12)


def test_wilson_eight_of_ten_worked_by_hand() -> None:
    # z = 1.959964, z² = 3.841459, n = 10, p = 0.8
    # denominator 2(n + z²)              = 27.682918
    # centre (2np + z²) / denominator    = 19.841459 / 27.682918            = 0.716740
    # half z·sqrt(4np(1−p) + z²) / denom = 1.959964 · 3.200228 / 27.682918  = 0.226578
    # interval                           = (0.716740 − 0.226578, 0.716740 + 0.226578)
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.490162, abs=1e-6)
    assert high == pytest.approx(0.943318, abs=1e-6)


def test_zero_errors_in_two_hundred_rows_still_has_an_upper_bound() -> None:
    low, high = wilson_interval(0, 200)
    assert low == 0.0
    assert high == pytest.approx(0.018846, abs=1e-6)


def test_wilson_interval_stays_in_unit_interval_and_contains_the_estimate() -> None:
    for n in (1, 2, 7, 50):
        for k in range(n + 1):
            low, high = wilson_interval(k, n, confidence=0.999)
            assert 0.0 <= low <= k / n <= high <= 1.0


def test_wilson_with_no_rows_is_nan() -> None:
    assert all(math.isnan(v) for v in wilson_interval(0, 0))


@pytest.mark.parametrize(
    ("successes", "n", "confidence"), [(-1, 5, 0.95), (6, 5, 0.95), (1, 5, 1.0), (1, 5, 0.0)]
)
def test_wilson_rejects_impossible_input(successes: int, n: int, confidence: float) -> None:
    with pytest.raises(ValueError):
        wilson_interval(successes, n, confidence=confidence)


@pytest.mark.parametrize("confidence", [0.90, 0.95])
def test_mean_interval_matches_scipy_t_interval_on_raw_scores(confidence: float) -> None:
    rng = np.random.default_rng(7)
    scores = rng.beta(6, 2, size=400)
    expected = stats.t.interval(
        confidence, df=scores.size - 1, loc=scores.mean(), scale=stats.sem(scores)
    )
    low, high = mean_interval(
        float(scores.sum()), float(np.dot(scores, scores)), scores.size, confidence=confidence
    )
    assert low == pytest.approx(expected[0], abs=1e-12)
    assert high == pytest.approx(expected[1], abs=1e-12)


def test_mean_interval_is_clipped_to_the_score_range() -> None:
    scores = np.array([1.0, 1.0, 0.2])
    low, high = mean_interval(float(scores.sum()), float(np.dot(scores, scores)), 3)
    assert low >= 0.0 and high == 1.0


def test_mean_interval_of_identical_scores_collapses_to_the_score() -> None:
    assert mean_interval(0.7 * 5, 0.49 * 5, 5) == pytest.approx((0.7, 0.7))


def test_mean_interval_needs_two_scores() -> None:
    assert all(math.isnan(v) for v in mean_interval(0.5, 0.25, 1))
    assert all(math.isnan(v) for v in mean_interval(0.0, 0.0, 0))


def test_quantile_interval_ranks_cover_the_quantile_as_the_binomial_says() -> None:
    n, q = 1000, 0.95
    low, high = quantile_interval(n, q, 0.95)
    # Coverage of [X_(low+1), X_(high+1)] (1-based order statistics) is
    # P(low < B <= high) for B ~ Binomial(n, q); it must be at least 95 %.
    coverage = stats.binom.cdf(high, n, q) - stats.binom.cdf(low, n, q)
    assert coverage >= 0.95
    assert low < q * n < high


def test_throughput_interval_is_the_exact_poisson_interval() -> None:
    # 100 events in 10 hours: Garwood 95 % interval for the count is [81.37, 121.63].
    low, high = rate_per_hour_interval(100, 10.0, 0.95)
    assert low == pytest.approx(8.137, abs=1e-3)
    assert high == pytest.approx(12.163, abs=1e-3)
    low0, _ = rate_per_hour_interval(0, 24.0, 0.95)
    assert low0 == 0.0 and not math.isnan(_)
