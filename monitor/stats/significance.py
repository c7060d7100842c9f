"""Significance: one-sided p-values of the checks, and Benjamini–Hochberg across a family.

Every check that can be phrased as a test gets a one-sided p-value: the exact binomial
test for rates against a register limit, the binomial order statistic for latency
quantiles (the number of rows above a limit is binomial when the quantile sits at the
limit; Hahn & Meeker 1991), the exact Poisson test for throughput, Student's t for a
mean quality score, and Fisher's exact test for "worse than the reference window".
:func:`benjamini_hochberg` corrects a night's family of them (Benjamini & Hochberg 1995).

Everything here is pure: numbers in, numbers out.

References
----------
.. [1] Y. Benjamini and Y. Hochberg, "Controlling the false discovery rate: a practical
   and powerful approach to multiple testing", JRSS B 57(1), 289-300, 1995.
.. [2] G. J. Hahn and W. Q. Meeker, *Statistical Intervals*, Wiley, 1991, §5.2.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt

from monitor.stats.sketch import QuantileSketch

__all__ = [
    "benjamini_hochberg",
    "binomial_p_value",
    "exceedances",
    "mean_below_p_value",
    "normal_p_value",
    "poisson_p_value",
    "quantile_ceiling_p_value",
    "rate_increase_p_value",
]

Alternative = Literal["greater", "less"]
FloatArray = npt.NDArray[np.float64]


def binomial_p_value(k: int, n: int, p0: float, *, alternative: Alternative) -> float:
    """Exact one-sided binomial p-value: ``P(X ≥ k)`` or ``P(X ≤ k)`` for X ~ Bin(n, p0).

    The same number as ``scipy.stats.binomtest(k, n, p0, alternative=...).pvalue``,
    computed from the distribution function so it costs nothing at 50 000 rows.
    NaN when ``n == 0``.
    """
    from monitor.stats import tails

    if n <= 0:
        return math.nan
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k!r}, n={n!r}")
    if alternative == "greater":
        return tails.binom_sf(k - 1, n, p0)
    return tails.binom_cdf(k, n, p0)


def poisson_p_value(k: int, mu: float, *, alternative: Alternative) -> float:
    """Exact one-sided Poisson p-value: ``P(X ≥ k)`` or ``P(X ≤ k)`` for X ~ Poisson(mu)."""
    from monitor.stats import tails

    if mu < 0 or k < 0:
        raise ValueError(f"need mu >= 0 and k >= 0, got mu={mu!r}, k={k!r}")
    if alternative == "greater":
        return tails.poisson_sf(k - 1, mu)
    return tails.poisson_cdf(k, mu)


def normal_p_value(z: float) -> float:
    """Upper-tail probability of a standard normal score: ``1 − Φ(z)``."""
    from monitor.stats import tails

    return tails.norm_sf(z)


def rate_increase_p_value(x1: int, n1: int, x0: int, n0: int) -> float:
    """One-sided Fisher exact p-value that the current rate ``x1/n1`` exceeds ``x0/n0``.

    Conditional on the total ``x1 + x0`` the current count is hypergeometric when the two
    rates are equal; the p-value is its upper tail — the same number as
    ``scipy.stats.fisher_exact([[x1, n1 − x1], [x0, n0 − x0]], alternative="greater")``.
    NaN when either window is empty.
    """
    from monitor.stats import tails

    if n1 <= 0 or n0 <= 0:
        return math.nan
    if not (0 <= x1 <= n1 and 0 <= x0 <= n0):
        raise ValueError(f"need 0 <= x <= n, got {x1}/{n1} and {x0}/{n0}")
    return min(1.0, tails.hypergeom_sf(x1 - 1, n1 + n0, x1 + x0, n1))


def mean_below_p_value(total: float, total_sq: float, n: int, limit: float) -> float:
    """One-sided Student-t p-value that a mean (from its running sums) lies below ``limit``.

    NaN for fewer than two values; 0 or 1 when every value is equal.
    """
    from monitor.stats import tails

    if n < 2:
        return math.nan
    mean = total / n
    variance = max(0.0, (total_sq - total * mean) / (n - 1))
    if variance == 0.0:
        return 0.0 if mean < limit else 1.0
    t = (mean - limit) / math.sqrt(variance / n)
    return tails.t_cdf(t, n - 1)


def exceedances(sketch: QuantileSketch, limit: float) -> float:
    """Values above ``limit`` counted from the sketch's buckets.

    The bucket that straddles ``limit`` is split log-linearly; buckets are about 1 % wide,
    so the count is exact up to the sketch's relative accuracy.
    """
    edges, counts = sketch.histogram(n_bins=max(1, sketch.bucket_counts.size))
    if counts.size == 0 or not math.isfinite(limit) or limit <= 0:
        return 0.0
    lower, upper = edges[:-1], edges[1:]
    above = float(counts[lower >= limit].sum())
    straddle = (lower < limit) & (upper > limit)
    for lo, hi, c in zip(lower[straddle], upper[straddle], counts[straddle], strict=True):
        above += float(c) * (math.log(hi) - math.log(limit)) / (math.log(hi) - math.log(lo))
    return above


def quantile_ceiling_p_value(n_above: float, n: int, q: float) -> float:
    """p-value that the ``q``-quantile lies above a ceiling, from the rows above it.

    If the true ``q``-quantile were at the ceiling, the number of rows above it would be
    Binomial(n, 1 − q) — the binomial order-statistic argument behind distribution-free
    quantile intervals (Hahn & Meeker 1991, §5.2); more rows above is evidence against.
    """
    if n <= 0:
        return math.nan
    k = min(n, max(0, round(n_above)))
    return binomial_p_value(k, n, 1.0 - q, alternative="greater")


def benjamini_hochberg(
    p_values: Sequence[float] | FloatArray, q: float
) -> tuple[FloatArray, npt.NDArray[np.bool_]]:
    """Benjamini–Hochberg step-up procedure: adjusted p-values and rejections at level ``q``.

    Parameters
    ----------
    p_values : sequence of float
        One p-value per hypothesis, in [0, 1] (NaN is not allowed).
    q : float
        False-discovery-rate level, in (0, 1].

    Returns
    -------
    adjusted : ndarray of float
        ``min_{j ≥ i} m·p_(j)/j`` mapped back to the input order and capped at 1 — the
        same as ``statsmodels.stats.multitest.multipletests(p, method="fdr_bh")[1]``.
    rejected : ndarray of bool
        ``adjusted ≤ q``: exactly the hypotheses the step-up rule rejects (the largest
        ``i`` with ``p_(i) ≤ i·q/m`` and every smaller p-value).

    References
    ----------
    Benjamini and Hochberg (1995), JRSS B 57(1), 289-300.
    """
    if not 0.0 < q <= 1.0:
        raise ValueError(f"q must be in (0, 1], got {q!r}")
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError("p_values must be one-dimensional")
    if np.any(np.isnan(p)) or np.any((p < 0.0) | (p > 1.0)):
        raise ValueError("p-values must be in [0, 1]")
    m = p.size
    if m == 0:
        return np.empty(0, dtype=np.float64), np.empty(0, dtype=bool)
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1, dtype=np.float64)
    monotone = np.minimum.accumulate(scaled[::-1])[::-1]
    adjusted = np.empty(m, dtype=np.float64)
    adjusted[order] = np.minimum(monotone, 1.0)
    return adjusted, adjusted <= q
