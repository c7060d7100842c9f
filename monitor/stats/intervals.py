"""Confidence intervals for rates and means computed from running sums.

Both functions take the sufficient statistics that the mergeable aggregates keep (counts
and sums), never raw rows, so an interval can be computed after any number of merges.

References
----------
.. [1] E. B. Wilson, "Probable inference, the law of succession, and statistical
   inference", Journal of the American Statistical Association 22(158), 209-212, 1927.
.. [2] L. D. Brown, T. T. Cai and A. DasGupta, "Interval estimation for a binomial
   proportion", Statistical Science 16(2), 101-133, 2001.
"""

from __future__ import annotations

import math

from monitor.stats.calibration import N_BINS, ReliabilityTable, ece, reliability_bins
from monitor.stats.sketch import QuantileSketch

__all__ = [
    "ece_interval",
    "mean_interval",
    "quantile_interval",
    "rate_per_hour_interval",
    "sketch_quantile_interval",
    "wilson_interval",
]


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion.

    Used for accuracy (``correct`` over labeled rows) and error rate. Unlike the Wald
    interval it keeps its coverage near 0 and 1, where healthy models live: 0 errors out of
    200 rows gives ``(0.0, 0.0188)``, not ``(0, 0)`` (Brown, Cai and DasGupta 2001).

    Parameters
    ----------
    successes : int
        Number of successes, ``0 <= successes <= n``.
    n : int
        Number of trials (rows), ``n >= 0``.
    confidence : float, default 0.95
        Two-sided confidence level, in (0, 1).

    Returns
    -------
    tuple of float
        ``(low, high)`` as proportions in [0, 1]; ``(nan, nan)`` when ``n == 0``.

    Notes
    -----
    With ``p = successes / n`` and ``z`` the ``(1 + confidence) / 2`` standard normal
    quantile (Wilson 1927)::

        centre    = (2 n p + z²) / (2 (n + z²))
        halfwidth = z · sqrt(4 n p (1 − p) + z²) / (2 (n + z²))

    This is the uncorrected score interval, the same as
    ``scipy.stats.binomtest(k, n).proportion_ci(method="wilson")``.
    """
    from scipy import special

    _check_confidence(confidence)
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n, got successes={successes!r}, n={n!r}")
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    z = float(special.ndtri(0.5 + 0.5 * confidence))
    denom = 2.0 * (n + z * z)
    centre = (2.0 * n * p + z * z) / denom
    half = z * math.sqrt(4.0 * n * p * (1.0 - p) + z * z) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(
    total: float, total_sq: float, n: int, *, confidence: float = 0.95
) -> tuple[float, float]:
    """Student-t confidence interval for the mean of a graded quality score in [0, 1].

    Parameters
    ----------
    total : float
        Sum of the scores, ``Σ x``.
    total_sq : float
        Sum of the squared scores, ``Σ x²``.
    n : int
        Number of scores.
    confidence : float, default 0.95
        Two-sided confidence level, in (0, 1).

    Returns
    -------
    tuple of float
        ``(low, high)`` in score units, clipped to [0, 1]; ``(nan, nan)`` when ``n < 2``.

    Notes
    -----
    ``mean ± t_{n−1} · s / sqrt(n)`` with the sample variance
    ``s² = (Σx² − (Σx)²/n) / (n − 1)`` (floored at 0 against rounding). The normal
    approximation behind it is adequate for the window sizes the monitor judges (hundreds
    of rows and more); for a score piled up at 0 or 1 prefer a rate and
    :func:`wilson_interval`. When every score is equal the interval collapses to a point.
    """
    from monitor.stats import tails

    _check_confidence(confidence)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n!r}")
    if n < 2:
        return (math.nan, math.nan)
    mean = total / n
    variance = max(0.0, (total_sq - total * mean) / (n - 1))
    t = tails.t_ppf(0.5 + 0.5 * confidence, n - 1)
    half = t * math.sqrt(variance / n)
    return (max(0.0, mean - half), min(1.0, mean + half))


def quantile_interval(n: int, q: float, confidence: float) -> tuple[int, int]:
    """Ranks bracketing the ``q``-quantile with the given confidence (distribution-free).

    The number of observations below the true q-quantile is Binomial(n, q), so the
    order statistics at the binomial's ``(1±confidence)/2`` quantiles bracket it
    (Hahn & Meeker, *Statistical Intervals*, 1991, §5.2).
    """
    from monitor.stats import tails

    alpha = 1 - confidence
    low = int(tails.binom_ppf(alpha / 2, n, q))
    high = int(tails.binom_ppf(1 - alpha / 2, n, q))
    return max(0, low - 1), min(n - 1, high)


def sketch_quantile_interval(
    sketch: QuantileSketch, q: float, confidence: float
) -> tuple[float, float]:
    """Distribution-free interval of the ``q``-quantile, read off a sketch (its ranks are
    :func:`quantile_interval`'s)."""
    n = sketch.count
    if n == 0:
        return math.nan, math.nan
    low_rank, high_rank = quantile_interval(n, q, confidence)
    return (
        sketch.quantile(low_rank / max(1, n - 1)),
        sketch.quantile(high_rank / max(1, n - 1)),
    )


def rate_per_hour_interval(count: int, hours: float, confidence: float) -> tuple[float, float]:
    """Exact Poisson interval of an hourly rate from ``count`` events in ``hours``.

    Garwood (1936), via the chi-square distribution.
    """
    from monitor.stats import tails

    alpha = 1 - confidence
    low = 0.0 if count == 0 else tails.chi2_ppf(alpha / 2, 2 * count) / 2
    high = tails.chi2_ppf(1 - alpha / 2, 2 * count + 2) / 2
    return float(low) / hours, float(high) / hours


def ece_interval(table: ReliabilityTable, confidence: float) -> tuple[float, float]:
    """Normal-approximation interval of the equal-width ECE.

    Each bin's gap |acc_b − conf_b| has standard error sqrt(acc_b(1−acc_b)/n_b); the
    ECE's is the weighted root-sum-square (delta method). Conservative enough to
    keep a 200-row night from breaching on noise alone.
    """
    from monitor.stats import tails

    value = ece(table, n_bins=N_BINS)
    if not math.isfinite(value):
        return math.nan, math.nan
    total = sum(b.n for b in reliability_bins(table, n_bins=N_BINS))
    variance = 0.0
    for b in reliability_bins(table, n_bins=N_BINS):
        if b.n == 0:
            continue
        p = min(max(b.accuracy, 1.0 / (b.n + 2)), 1 - 1.0 / (b.n + 2))
        variance += (b.n / total) ** 2 * p * (1 - p) / b.n
    z = tails.norm_ppf(0.5 + confidence / 2)
    half = z * math.sqrt(variance)
    return max(0.0, value - half), value + half
