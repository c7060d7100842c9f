"""Accuracy without labels (CBPE), checked against sklearn's isotonic regression, a
hand-worked case, and a simulation where the true accuracy of every night is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression

from monitor.stats.calibration import FINE_BINS, ReliabilityTable
from monitor.stats.distribution import ConfidenceHistogram
from monitor.stats.estimation import expected_accuracy, reliability_map


def _centred(bins: np.ndarray) -> np.ndarray:
    """Confidences at fine-bin centres, where the binned fit and a per-row fit agree."""
    return (bins + 0.5) / FINE_BINS


def test_the_estimate_is_sklearns_isotonic_calibration_averaged_over_tonight() -> None:
    rng = np.random.default_rng(11)
    c = _centred(rng.integers(600, FINE_BINS, 20_000))
    right = rng.random(len(c)) < c**1.5  # miscalibrated, but the same every night
    tonight = _centred(rng.integers(700, FINE_BINS, 3_000))

    estimate = expected_accuracy(
        ConfidenceHistogram().update(tonight), ReliabilityTable().update(c, right)
    )

    iso = IsotonicRegression(out_of_bounds="clip").fit(c, right)
    assert estimate is not None
    assert estimate.value == pytest.approx(float(iso.predict(tonight).mean()), abs=1e-12)
    assert (estimate.n, estimate.reference_n) == (3_000, 20_000)


def test_a_hand_worked_two_bin_case() -> None:
    # Reference: 100 rows at 0.6 of which 60 right, 300 rows at 0.9 of which 270 right.
    # Tonight: 50 rows at 0.6 and 150 at 0.9.
    low, high = 0.6 + 0.5 / FINE_BINS, 0.9 + 0.5 / FINE_BINS
    reference = ReliabilityTable()
    reference.update(np.full(100, low), np.arange(100) < 60)
    reference.update(np.full(300, high), np.arange(300) < 270)
    tonight = ConfidenceHistogram().update(np.r_[np.full(50, low), np.full(150, high)])

    estimate = expected_accuracy(tonight, reference, confidence=0.95)

    assert estimate is not None
    assert estimate.value == pytest.approx((50 * 0.6 + 150 * 0.9) / 200)
    outcome = (50 * 0.6 * 0.4 + 150 * 0.9 * 0.1) / 200**2
    smoothed = [(60.5 / 101, 100, 50), (270.5 / 301, 300, 150)]
    mapping = sum((m / 200) ** 2 * g * (1 - g) / n for g, n, m in smoothed)
    assert estimate.standard_error == pytest.approx(math.sqrt(outcome + mapping))
    assert estimate.ci_high - estimate.value == pytest.approx(
        1.959964 * estimate.standard_error, rel=1e-5
    )


def test_the_map_is_monotone_and_fills_empty_bins_between_its_neighbours() -> None:
    reference = ReliabilityTable()
    # A dip at 0.7 (fewer right than at 0.6) is pooled away.
    for conf, n, right in ((0.6, 100, 70), (0.7, 100, 50), (0.9, 100, 95)):
        reference.update(np.full(n, conf + 0.5 / FINE_BINS), np.arange(n) < right)
    mapping = reliability_map(reference)
    assert mapping is not None
    g = mapping.probability
    assert np.all(np.diff(g) >= -1e-15)
    assert g[round(0.6 * FINE_BINS)] == g[round(0.7 * FINE_BINS)] == pytest.approx(0.6)
    assert g[round(0.8 * FINE_BINS)] == pytest.approx((0.6 + 0.95) / 2, abs=0.01)
    assert g[0] == pytest.approx(0.6) and g[-1] == pytest.approx(0.95)


def test_nothing_to_estimate_without_reference_labels_or_rows_tonight() -> None:
    rows = ConfidenceHistogram().update(np.array([0.5, 0.9]))
    labeled = ReliabilityTable().update(np.array([0.5, 0.9]), np.array([True, False]))
    assert expected_accuracy(rows, ReliabilityTable()) is None
    assert expected_accuracy(ConfidenceHistogram(), labeled) is None


@pytest.mark.parametrize(
    ("name", "accuracy_at"),
    [
        ("calibrated", lambda c: c),
        ("overconfident but stable", lambda c: np.clip(c - 0.08 + 0.2 * (c - 0.85), 0, 1)),
    ],
)
def test_the_interval_holds_the_nights_accuracy_95_percent_of_the_time(
    name: str, accuracy_at: object
) -> None:
    """600 simulated nights: a week of labeled reference (7 000 rows) and a night of
    1 000 rows whose labels are withheld. The interval must hold the accuracy those
    labels would measure on about 95 % of nights, and the estimate must be unbiased."""
    rng = np.random.default_rng(15)
    truth_at = accuracy_at  # P(correct | confidence), the same in both windows

    def draw(n: int) -> tuple[np.ndarray, np.ndarray]:
        c = rng.beta(9.0, 1.5, n)
        return c, rng.random(n) < truth_at(c)  # type: ignore[operator]

    hits, errors = 0, []
    nights = 600
    for _ in range(nights):
        c_ref, y_ref = draw(7_000)
        c_now, y_now = draw(1_000)
        estimate = expected_accuracy(
            ConfidenceHistogram().update(c_now), ReliabilityTable().update(c_ref, y_ref)
        )
        assert estimate is not None
        realised = float(y_now.mean())
        hits += estimate.ci_low <= realised <= estimate.ci_high
        errors.append(estimate.value - realised)

    coverage = hits / nights
    assert 0.92 <= coverage <= 0.98, f"{name}: coverage {coverage:.3f}"
    assert abs(float(np.mean(errors))) < 0.003, f"{name}: bias {np.mean(errors):+.4f}"
