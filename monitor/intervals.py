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

from scipy import special, stats

__all__ = ["mean_interval", "wilson_interval"]


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
    _check_confidence(confidence)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n!r}")
    if n < 2:
        return (math.nan, math.nan)
    mean = total / n
    variance = max(0.0, (total_sq - total * mean) / (n - 1))
    t = float(stats.t.ppf(0.5 + 0.5 * confidence, n - 1))
    half = t * math.sqrt(variance / n)
    return (max(0.0, mean - half), min(1.0, mean + half))
