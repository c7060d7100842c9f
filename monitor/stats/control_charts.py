"""Control charts: EWMA and CUSUM statistics of nightly scores, with proper p-values.

An EWMA (Roberts 1959) or CUSUM (Page 1954) over the last nights' standard-normal
scores catches slow drifts that no single night shows. The statistic's null law
(normal for the EWMA, a Markov-chain approximation for the CUSUM; Brook & Evans 1972)
gives a p-value, so a sequential check joins the same multiple-testing family as the
others.

References
----------
.. [1] E. S. Page, "Continuous inspection schemes", Biometrika 41(1/2), 100-115, 1954.
.. [2] S. W. Roberts, "Control chart tests based on geometric moving averages",
   Technometrics 1(3), 239-250, 1959.
.. [3] D. Brook and D. A. Evans, "An approach to the probability distribution of cusum
   run length", Biometrika 59(3), 539-549, 1972.
.. [4] D. Siegmund, *Sequential Analysis: Tests and Confidence Intervals*, Springer, 1985
   (the ARL approximation of the CUSUM, §X.2).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from monitor.stats.significance import normal_p_value

__all__ = [
    "cusum_arl",
    "cusum_p_value",
    "cusum_path",
    "cusum_threshold",
    "ewma_path",
    "ewma_test",
    "ewma_weights",
]

FloatArray = npt.NDArray[np.float64]


def ewma_path(z: Sequence[float] | FloatArray, lam: float) -> FloatArray:
    """The EWMA ``E_t = λ z_t + (1 − λ) E_{t−1}``, started at ``E_0 = 0`` (Roberts 1959)."""
    if not 0.0 < lam <= 1.0:
        raise ValueError(f"lambda must be in (0, 1], got {lam!r}")
    out = np.empty(len(z), dtype=np.float64)
    e = 0.0
    for i, value in enumerate(z):
        e = lam * float(value) + (1.0 - lam) * e
        out[i] = e
    return out


def ewma_weights(n: int, lam: float) -> FloatArray:
    """Weights ``λ (1 − λ)^(n−1−i)`` of ``z_0 … z_{n−1}`` in the EWMA's last value."""
    if not 0.0 < lam <= 1.0:
        raise ValueError(f"lambda must be in (0, 1], got {lam!r}")
    return lam * (1.0 - lam) ** np.arange(n - 1, -1, -1, dtype=np.float64)


def ewma_test(
    z: Sequence[float] | FloatArray,
    lam: float,
    *,
    common: Sequence[float] | FloatArray | None = None,
) -> tuple[float, float]:
    """Standardised last EWMA value and its one-sided p-value.

    Parameters
    ----------
    z : sequence of float
        Independent standard-normal scores under the null, oldest first, tonight last.
    lam : float
        Smoothing constant λ in (0, 1].
    common : sequence of float, optional
        Loading of each score on one shared standard-normal error — the sampling error
        of the reference value every score is measured against. Adds ``(Σ w_i c_i)²`` to
        the variance.

    Returns
    -------
    tuple of float
        ``(E / sd(E), 1 − Φ(E / sd(E)))`` with ``E = Σ w_i z_i`` and
        ``var(E) = Σ w_i² + (Σ w_i c_i)²``.
    """
    values = np.asarray(z, dtype=np.float64)
    if values.size == 0:
        return math.nan, math.nan
    w = ewma_weights(values.size, lam)
    variance = float(np.dot(w, w))
    if common is not None:
        c = np.asarray(common, dtype=np.float64)
        variance += float(np.dot(w, c)) ** 2
    statistic = float(np.dot(w, values)) / math.sqrt(variance)
    return statistic, normal_p_value(statistic)


def cusum_path(z: Sequence[float] | FloatArray, k: float) -> FloatArray:
    """Page's one-sided CUSUM ``S_t = max(0, S_{t−1} + z_t − k)``, ``S_0 = 0`` (Page 1954)."""
    out = np.empty(len(z), dtype=np.float64)
    s = 0.0
    for i, value in enumerate(z):
        s = max(0.0, s + float(value) - k)
        out[i] = s
    return out


def cusum_p_value(s: float, n_steps: int, k: float, *, cells: int = 600) -> float:
    """``P(S_n ≥ s)`` for the CUSUM started at 0 after ``n_steps`` standard-normal scores.

    The law of ``S_n`` is propagated on a grid — an atom at 0 plus ``cells`` cells — as in
    Brook & Evans (1972)'s Markov-chain treatment of the CUSUM; the result is accurate to
    about 1e-3 in absolute terms, which is all a decision at level 1e-2…1e-5 needs once
    the p-value is small (the error there is relative to the cell width, far below it).
    """
    from scipy import special

    if n_steps < 1:
        raise ValueError(f"n_steps must be >= 1, got {n_steps!r}")
    if s <= 0.0:
        return 1.0
    top = s + 8.0  # mass beyond s + 8 is below 1e-15 per step and is lumped at the top
    width = top / cells
    edges = np.arange(cells + 1, dtype=np.float64) * width
    mids = (edges[:-1] + edges[1:]) / 2.0
    # From a value x, the next value lands in cell i with P(edge_i ≤ x + Z − k < edge_i+1).
    sources = np.concatenate([[0.0], mids])
    shifted = edges[None, :] - sources[:, None] + k
    cdf = special.ndtr(shifted)  # scipy.stats.norm.cdf
    to_cells = np.diff(cdf, axis=1)
    to_cells[:, -1] += 1.0 - cdf[:, -1]  # beyond the top stays in the top cell
    to_zero = cdf[:, 0]  # max(0, ·) puts everything below 0 in the atom
    transition = np.hstack([to_zero[:, None], to_cells])
    law = np.zeros(cells + 1, dtype=np.float64)
    law[0] = 1.0
    for _ in range(n_steps):
        law = law @ transition
    values = np.concatenate([[0.0], mids])
    # The cell holding s is split in proportion to where s falls inside it.
    inside = np.clip((values + width / 2.0 - s) / width, 0.0, 1.0)
    inside[0] = 1.0 if s <= 0.0 else 0.0
    return float(min(1.0, max(0.0, np.dot(law, inside))))


def cusum_arl(h: float, k: float) -> float:
    """Siegmund's approximation of the in-control average run length of a CUSUM.

    ``ARL₀ ≈ (exp(2kb) − 2kb − 1) / (2k²)`` with ``b = h + 1.166`` for standard-normal
    scores (Siegmund 1985); ``(h + 1.166)²`` when ``k = 0``.
    """
    b = h + 1.166
    if k == 0:
        return b * b
    return (math.exp(2 * k * b) - 2 * k * b - 1) / (2 * k * k)


def cusum_threshold(arl: float, k: float) -> float:
    """The decision limit ``h`` whose in-control ARL is ``arl`` (inverts :func:`cusum_arl`).

    With a false-alarm budget of ``B`` healthy nights and ``m`` CUSUMs per model,
    ``cusum_threshold(B · m, k)`` is the classic chart's limit for that budget.
    """
    from scipy import optimize

    if arl <= cusum_arl(0.0, k):
        return 0.0
    return float(optimize.brentq(lambda h: cusum_arl(h, k) - arl, 0.0, 200.0))
