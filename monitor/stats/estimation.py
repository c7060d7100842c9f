"""Accuracy without labels: confidence-based performance estimation (CBPE).

When tonight's labels are missing, the reference window still says how often the model
was right at each confidence. :func:`reliability_map` learns that map — P(correct |
confidence), made monotone by isotonic regression (pool-adjacent-violators) on the
reference window's fine reliability bins, as NannyML's CBPE calibrates scores on its
reference data — and :func:`expected_accuracy` averages it over tonight's confidences:

    Â = (1/N) · Σ_k m_k · ĝ(c_k)

where ``m_k`` is tonight's row count in fine bin ``k`` and ``ĝ`` the map. The estimate
is the accuracy labels *would* measure on tonight's rows if P(correct | confidence) is
what it was in the reference window. It cannot see a model that got worse while its
confidences stayed the same: that needs labels.

The interval is for that realised accuracy and adds two variances:

* the outcomes' own noise given the probabilities, ``Σ_k m_k ĝ_k (1 − ĝ_k) / N²``
  (a Poisson-binomial variance; NannyML's sampling error is the same quantity from the
  reference's row-level accuracies);
* the map's estimation error: each pooled block ``B`` of the isotonic fit is a
  proportion of ``n_B`` reference rows, so tonight's rows in it share an error of
  variance ``g̃_B (1 − g̃_B) / n_B`` (``g̃_B = (c_B + ½)/(n_B + 1)``, so a block of
  all-correct rows still carries uncertainty), weighted by their share squared.

Tonight's bins that no reference row fell in take the map linearly interpolated
between the neighbouring fitted bins (constant beyond the ends), and their weight goes
to the nearest fitted block.

References
----------
.. [1] NannyML, "Confidence-based Performance Estimation (CBPE)" and "Estimation of
   standard error", https://nannyml.readthedocs.io/en/stable/how_it_works/
   (performance_estimation, estimation_of_standard_error).
.. [2] R. E. Barlow, D. J. Bartholomew, J. M. Bremner and H. D. Brunk, *Statistical
   Inference under Order Restrictions*, Wiley, 1972 (pool-adjacent-violators).
.. [3] B. Zadrozny and C. Elkan, "Transforming classifier scores into accurate
   multiclass probability estimates", KDD 2002 (isotonic calibration).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from monitor.stats.calibration import FINE_BINS, ReliabilityTable
from monitor.stats.distribution import ConfidenceHistogram

__all__ = ["AccuracyEstimate", "ReliabilityMap", "expected_accuracy", "reliability_map"]

F64 = npt.NDArray[np.float64]
_CENTRES = (np.arange(FINE_BINS, dtype=np.float64) + 0.5) / FINE_BINS


@dataclass(frozen=True)
class ReliabilityMap:
    """P(correct | confidence) per fine bin, learned from labeled reference rows.

    Attributes
    ----------
    probability : ndarray of float, shape (FINE_BINS,)
        The monotone map at every fine bin (interpolated where the reference is empty).
    block : ndarray of int, shape (FINE_BINS,)
        The pooled block each fine bin's estimate comes from (its nearest fitted block
        for empty bins).
    block_rows, block_correct : ndarray of int
        Reference rows and correct rows per block.
    n : int
        Labeled reference rows.
    """

    probability: F64
    block: npt.NDArray[np.intp]
    block_rows: npt.NDArray[np.int64]
    block_correct: npt.NDArray[np.int64]
    n: int


def _pool_adjacent_violators(values: F64, weights: F64) -> tuple[F64, npt.NDArray[np.intp]]:
    """Weighted isotonic (non-decreasing) fit; returns the fitted value per point and the
    block index of each point."""
    level: list[float] = []
    weight: list[float] = []
    size: list[int] = []
    for v, w in zip(values.tolist(), weights.tolist(), strict=True):
        level.append(v)
        weight.append(w)
        size.append(1)
        while len(level) > 1 and level[-2] > level[-1]:
            w_total = weight[-2] + weight[-1]
            merged = (level[-2] * weight[-2] + level[-1] * weight[-1]) / w_total
            level[-2:] = [merged]
            weight[-2:] = [w_total]
            size[-2:] = [size[-2] + size[-1]]
    block = np.repeat(np.arange(len(size), dtype=np.intp), size)
    return np.asarray(level, dtype=np.float64)[block], block


def reliability_map(reference: ReliabilityTable) -> ReliabilityMap | None:
    """The reference window's P(correct | confidence), monotone in confidence; ``None``
    without labeled reference rows."""
    count, correct, sum_conf = reference.coarse(n_bins=FINE_BINS)
    seen = np.flatnonzero(count)
    if len(seen) == 0:
        return None
    rows = count[seen].astype(np.float64)
    fitted, block_of_seen = _pool_adjacent_violators(correct[seen] / rows, rows)
    # Empty bins: linear between the fitted neighbours' mean confidences, clipped at the ends.
    x = sum_conf[seen] / rows
    probability = np.interp(_CENTRES, x, fitted)
    probability[seen] = fitted
    nearest = np.clip(np.searchsorted(x, _CENTRES), 0, len(seen) - 1)
    left = np.clip(nearest - 1, 0, len(seen) - 1)
    closer_left = np.abs(_CENTRES - x[left]) < np.abs(x[nearest] - _CENTRES)
    nearest = np.where(closer_left, left, nearest)
    block = block_of_seen[nearest]
    block[seen] = block_of_seen
    n_blocks = int(block_of_seen.max()) + 1
    block_rows = np.bincount(block_of_seen, weights=count[seen], minlength=n_blocks)
    block_correct = np.bincount(block_of_seen, weights=correct[seen], minlength=n_blocks)
    return ReliabilityMap(
        probability=probability,
        block=block,
        block_rows=block_rows.astype(np.int64),
        block_correct=block_correct.astype(np.int64),
        n=int(count.sum()),
    )


@dataclass(frozen=True)
class AccuracyEstimate:
    """CBPE's expected accuracy of ``n`` rows, with an interval for the realised accuracy."""

    value: float
    ci_low: float
    ci_high: float
    n: int
    reference_n: int
    standard_error: float


def expected_accuracy(
    current: ConfidenceHistogram,
    reference: ReliabilityTable,
    *,
    confidence: float = 0.95,
) -> AccuracyEstimate | None:
    """The accuracy tonight's confidences lead one to expect, from the reference window.

    Parameters
    ----------
    current
        Tonight's confidences (rows that are not errors).
    reference
        The reference window's labeled rows.
    confidence
        Two-sided level of the interval.

    Returns
    -------
    AccuracyEstimate or None
        ``None`` when tonight has no rows or the reference no labeled row.
    """
    from monitor.stats import tails

    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    mapping = reliability_map(reference)
    m = current.counts.astype(np.float64)
    n = float(m.sum())
    if mapping is None or n == 0:
        return None
    g = mapping.probability
    value = float(np.dot(m, g) / n)
    outcome_var = float(np.dot(m, g * (1.0 - g)) / (n * n))
    share = np.bincount(mapping.block, weights=m, minlength=len(mapping.block_rows)) / n
    smoothed = (mapping.block_correct + 0.5) / (mapping.block_rows + 1.0)
    map_var = float(np.sum(share**2 * smoothed * (1.0 - smoothed) / mapping.block_rows))
    se = math.sqrt(outcome_var + map_var)
    z = tails.norm_ppf(0.5 + confidence / 2.0)
    return AccuracyEstimate(
        value=value,
        ci_low=max(0.0, value - z * se),
        ci_high=min(1.0, value + z * se),
        n=int(n),
        reference_n=mapping.n,
        standard_error=se,
    )
