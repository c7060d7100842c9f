"""The distribution of confidence, labeled or not, and its shift between windows.

:class:`ConfidenceHistogram` is a mergeable aggregate over *all* rows: a fine histogram on
the calibration grid (``FINE_BINS`` equal-width bins of [0, 1]), the count, sum and sum of
squares, and exact counts below a few cut points (the routing thresholds). Two windows
are compared with :func:`psi` and :func:`ks_test`.

References
----------
.. [1] B. Yurdakul, "Statistical properties of population stability index", PhD thesis,
   Western Michigan University, 2018.
.. [2] N. Smirnov, "Table for estimating the goodness of fit of empirical distributions",
   Annals of Mathematical Statistics 19(2), 279-281, 1948.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from monitor.stats.calibration import (
    _EDGES,
    FINE_BINS,
    BinnedConfidence,
    _binned,
)

if TYPE_CHECKING:
    from typing import Self

__all__ = ["ConfidenceHistogram", "KSTestResult", "ks_test", "psi"]


class ConfidenceHistogram:
    """Mergeable histogram of confidences in [0, 1] on ``FINE_BINS`` equal-width bins.

    Parameters
    ----------
    cut_points : tuple of float, default (0.60, 0.85)
        Thresholds below which rows are counted exactly (``c < t``) during
        :meth:`update`, e.g. the routing bands (< 0.60 general queue, 0.60-0.85 review,
        >= 0.85 automatic). Strictly increasing, each in [0, 1].

    Notes
    -----
    Fine bin ``k`` holds ``k/1500 <= c < (k+1)/1500`` (the last also ``c = 1``). Memory is
    fixed: 1 500 counts plus a few scalars. Counts merge exactly, sums up to rounding.
    """

    __slots__ = ("_below", "_counts", "_sum", "_sum_sq", "cut_points")

    def __init__(self, *, cut_points: Iterable[float] = (0.60, 0.85)) -> None:
        cuts = tuple(float(t) for t in cut_points)
        if any(not 0.0 <= t <= 1.0 for t in cuts):
            raise ValueError(f"cut_points must lie in [0, 1], got {cuts!r}")
        if any(lo >= hi for lo, hi in pairwise(cuts)):
            raise ValueError(f"cut_points must be strictly increasing, got {cuts!r}")
        self.cut_points: tuple[float, ...] = cuts
        self._counts = np.zeros(FINE_BINS, dtype=np.int64)
        self._below = np.zeros(len(cuts), dtype=np.int64)
        self._sum = 0.0
        self._sum_sq = 0.0

    def update(self, confidence: npt.ArrayLike | BinnedConfidence) -> Self:
        """Add confidences (any shape, each in [0, 1], no NaN; or binned already).

        Raises
        ------
        ValueError
            If a value is outside [0, 1] or NaN; nothing is added then.
        """
        c, fine = _binned(confidence)
        if c.size == 0:
            return self
        self._counts += np.bincount(fine, minlength=FINE_BINS)
        for i, t in enumerate(self.cut_points):
            self._below[i] += np.count_nonzero(c < t)
        self._sum += float(c.sum())
        self._sum_sq += float(np.dot(c, c))
        return self

    def merge(self, other: ConfidenceHistogram) -> Self:
        """Add ``other`` into this histogram and return it.

        Raises
        ------
        ValueError
            If the two histograms have different ``cut_points``.
        """
        if not isinstance(other, ConfidenceHistogram):
            raise TypeError(f"cannot merge ConfidenceHistogram with {type(other).__name__}")
        if self.cut_points != other.cut_points:
            raise ValueError(
                f"cannot merge histograms with different cut_points: "
                f"{self.cut_points} vs {other.cut_points}"
            )
        self._counts += other._counts
        self._below += other._below
        self._sum += other._sum
        self._sum_sq += other._sum_sq
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state; only non-empty fine bins are listed."""
        nz = np.flatnonzero(self._counts)
        return {
            "kind": "ConfidenceHistogram",
            "version": 1,
            "fine_bins": FINE_BINS,
            "cut_points": list(self.cut_points),
            "below": self._below.tolist(),
            "bins": nz.tolist(),
            "counts": self._counts[nz].tolist(),
            "sum": self._sum,
            "sum_sq": self._sum_sq,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConfidenceHistogram:
        """Rebuild a histogram from :meth:`to_dict` output."""
        if data.get("kind") != "ConfidenceHistogram" or data.get("version") != 1:
            raise ValueError("not a version-1 ConfidenceHistogram state")
        if data.get("fine_bins") != FINE_BINS:
            raise ValueError(f"fine_bins must be {FINE_BINS}, got {data.get('fine_bins')!r}")
        hist = cls(cut_points=tuple(data["cut_points"]))
        bins = np.asarray(data["bins"], dtype=np.intp).reshape(-1)
        counts = np.asarray(data["counts"], dtype=np.int64).reshape(-1)
        below = np.asarray(data["below"], dtype=np.int64).reshape(-1)
        if bins.shape != counts.shape or below.shape != hist._below.shape:
            raise ValueError("bins/counts or below/cut_points differ in length")
        if bins.size and (bins.min() < 0 or bins.max() >= FINE_BINS or np.any(np.diff(bins) <= 0)):
            raise ValueError(f"bin indices must be strictly increasing in [0, {FINE_BINS})")
        if np.any(counts < 0) or np.any(np.diff(below, prepend=0, append=counts.sum()) < 0):
            raise ValueError("need counts >= 0 and 0 <= below[0] <= below[1] <= ... <= total")
        hist._counts[bins] = counts
        hist._below[:] = below
        hist._sum = float(data["sum"])
        hist._sum_sq = float(data["sum_sq"])
        return hist

    # ---------------------------------------------------------------- read access

    @property
    def n(self) -> int:
        """Number of rows."""
        return int(self._counts.sum())

    @property
    def mean(self) -> float:
        """Mean confidence; NaN when empty."""
        n = self.n
        return self._sum / n if n else math.nan

    @property
    def std(self) -> float:
        """Sample standard deviation of confidence (``ddof=1``); NaN for fewer than 2 rows."""
        n = self.n
        if n < 2:
            return math.nan
        return math.sqrt(max(0.0, (self._sum_sq - self._sum * self._sum / n) / (n - 1)))

    @property
    def counts(self) -> npt.NDArray[np.int64]:
        """Copy of the ``FINE_BINS`` fine-bin counts."""
        return self._counts.copy()

    def coarse_counts(self, *, n_bins: int) -> npt.NDArray[np.int64]:
        """Counts on ``n_bins`` equal-width bins; ``n_bins`` must divide ``FINE_BINS``."""
        if n_bins < 1 or FINE_BINS % n_bins:
            raise ValueError(f"n_bins must divide {FINE_BINS}, got {n_bins!r}")
        counts: npt.NDArray[np.int64] = self._counts.reshape(n_bins, -1).sum(axis=1)
        return counts

    def count_below(self, x: float) -> float:
        """Number of rows with confidence ``< x``; see :meth:`share_below` for exactness."""
        if math.isnan(x):
            raise ValueError("x must not be NaN")
        if x in self.cut_points:
            return float(self._below[self.cut_points.index(x)])
        if x <= 0.0:
            return 0.0
        if x > 1.0:
            return float(self.n)
        k = int(np.searchsorted(_EDGES, x, side="right")) - 1  # _EDGES[k] <= x
        full = float(self._counts[:k].sum())
        if k >= FINE_BINS or float(_EDGES[k]) == x:
            return full
        # inside fine bin k: assume confidences spread evenly across it
        lower, upper = float(_EDGES[k]), float(_EDGES[k + 1])
        fraction = (x - lower) / (upper - lower)
        return full + fraction * float(self._counts[k])

    def share_below(self, x: float) -> float:
        """Share of rows with confidence ``< x``; NaN when empty.

        Exact when ``x`` is one of :attr:`cut_points` or a multiple of 1/1500 below 1
        (every multiple of 0.01 is). Otherwise it is interpolated linearly inside the fine
        bin that holds ``x``, so off by at most that bin's share of rows. ``x = 1`` is
        only exact as a cut point (the last fine bin also holds ``c = 1``).
        """
        n = self.n
        return self.count_below(x) / n if n else math.nan

    def band_counts(self) -> tuple[int, ...]:
        """Exact row counts between consecutive cut points.

        With the default cut points: ``(c < 0.60, 0.60 <= c < 0.85, c >= 0.85)``.
        """
        edges = [0, *self._below.tolist(), self.n]
        return tuple(int(hi - lo) for lo, hi in pairwise(edges))

    def __repr__(self) -> str:
        return f"ConfidenceHistogram(n={self.n}, cut_points={self.cut_points})"


def psi(
    current: ConfidenceHistogram,
    reference: ConfidenceHistogram,
    *,
    n_bins: int = 10,
    epsilon: float = 1e-4,
) -> float:
    """Population stability index of the confidence distribution.

    ``PSI = Σ_b (p_b − q_b) · ln(p_b / q_b)`` over ``n_bins`` equal-width bins of [0, 1],
    with ``p`` the current and ``q`` the reference shares (Yurdakul 2018). Rule of thumb:
    < 0.1 stable, 0.1-0.25 moderate shift, > 0.25 major shift.

    Parameters
    ----------
    current, reference : ConfidenceHistogram
        The two windows.
    n_bins : int, default 10
        Number of equal-width bins; must divide ``FINE_BINS``.
    epsilon : float, default 1e-4
        Floor for a bin's share, so an empty bin gives a finite term: shares below
        ``epsilon`` are raised to it (the same 0.0001 floor as Evidently; shares are not
        renormalised). An empty bin against a 10 % bin then adds about 0.46.

    Returns
    -------
    float
        PSI, >= 0; NaN when either window is empty.
    """
    if epsilon <= 0.0:
        raise ValueError(f"epsilon must be > 0, got {epsilon!r}")
    cur = current.coarse_counts(n_bins=n_bins)
    ref = reference.coarse_counts(n_bins=n_bins)
    n_cur, n_ref = int(cur.sum()), int(ref.sum())
    if n_cur == 0 or n_ref == 0:
        return math.nan
    p = np.maximum(cur / n_cur, epsilon)
    q = np.maximum(ref / n_ref, epsilon)
    return float(np.sum((p - q) * np.log(p / q)))


@dataclass(frozen=True, slots=True)
class KSTestResult:
    """Two-sample Kolmogorov-Smirnov test on binned confidences.

    Attributes
    ----------
    statistic : float
        ``D = max |F_current − F_reference|`` over the fine-bin edges, in [0, 1].
    p_value : float
        Asymptotic two-sided p-value.
    n_current, n_reference : int
        Rows in each window.
    """

    statistic: float
    p_value: float
    n_current: int
    n_reference: int


def ks_test(current: ConfidenceHistogram, reference: ConfidenceHistogram) -> KSTestResult:
    """Two-sample Kolmogorov-Smirnov test of the confidence distributions.

    The empirical CDFs are compared at the ``FINE_BINS + 1`` fine-bin edges, so the
    statistic is exact up to the 1/1500 resolution: it never exceeds the raw-data
    statistic and falls short of it by at most the largest share of either window in one
    fine bin. For confidences on the 1/1500 grid (two decimals, say) it equals the
    raw-data statistic. The p-value is Smirnov's asymptotic one, as in
    ``scipy.stats.ks_2samp(method="asymp")``: ``kstwo.sf(D, round(n_eff))`` with
    ``n_eff = n₁·n₂ / (n₁ + n₂)``. Like every KS p-value on tied data it is conservative.

    Returns
    -------
    KSTestResult
        Statistic and p-value are NaN when either window is empty.
    """
    from monitor.stats import tails

    n_cur, n_ref = current.n, reference.n
    if n_cur == 0 or n_ref == 0:
        return KSTestResult(math.nan, math.nan, n_cur, n_ref)
    cdf_cur = np.cumsum(current._counts) / n_cur
    cdf_ref = np.cumsum(reference._counts) / n_ref
    statistic = float(np.abs(cdf_cur - cdf_ref).max())
    n_eff = max(1, round(n_cur * n_ref / (n_cur + n_ref)))
    p_value = tails.kstwo_sf(statistic, n_eff)
    return KSTestResult(statistic, p_value, n_cur, n_ref)
