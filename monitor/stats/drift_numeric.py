"""Mergeable distribution of a numeric column in one window, exact or with known bounds.

An adaptive-resolution histogram keyed on the bits of the values. A finite ``x`` is
keyed ``sign(x) · (bits(|x|) >> s)``, where ``bits`` is the IEEE-754 pattern of the
magnitude, read as an integer (monotone in the value). At shift ``s = 0`` a key *is*
a value, so the histogram is exact. Each extra bit of shift halves the resolution and
joins two neighbouring buckets into one, so the buckets at ``s + 1`` are unions of
those at ``s`` (they nest, as in the uniform collapse of UDDSketch [2]_). A bucket at
``s <= 52`` spans values within a relative width ``2^-(52 - s)`` of each other, the
DDSketch kind of accuracy [1]_, but here chosen by the data.

The shift kept is the smallest that satisfies both (a) every value stays exact while
the window holds at most :data:`EXACT_VALUES` finite values, and (b) otherwise at most
``max_bins`` buckets are occupied. That shift is a function of the *set* of values
only: a part of the window never needs a coarser shift than the whole (it occupies
no more buckets), so merging two parts at the coarser of their shifts and collapsing
further while the union is too fine reaches exactly the one-pass summary. Counts,
keys, shift, minimum and maximum are equal bit for bit (a mergeable summary in the
sense of [4]_); the mean and variance (kept with Chan's update [3]_) equal to rounding.

Consequences: a window of at most 10 000 values, or one with at most ``max_bins``
distinct values (integer codes, ties, rounded amounts), is summarised *exactly*, so
every Evidently statistic on it is exact too. Otherwise each bucket carries its value
range (clamped to the window's exact minimum and maximum), from which
:mod:`monitor.stats.drift_methods` derives a guaranteed interval for every statistic.

Why not fixed bins derived from the reference window? Ingest reads the two windows
interleaved (each chunk is one model's rows, split between the windows by
timestamp), so reference-derived bins would need the whole reference before the
first current row: a second pass over the logs, or buffering. Here the two windows
are summarised independently, and bins are never shared or negotiated.

References
----------
.. [1] C. Masson, J. E. Rim and H. K. Lee, "DDSketch: a fast and fully-mergeable quantile
   sketch with relative-error guarantees", PVLDB 12(12), 2195-2205, 2019.
.. [2] I. Epicoco, C. Melle, M. Cafaro, M. Pulimeno and G. Morleo, "UDDSketch: accurate
   tracking of quantiles in data streams", IEEE Access 8, 147604-147617, 2020.
.. [3] T. F. Chan, G. H. Golub and R. J. LeVeque, "Updating formulae and a pairwise
   algorithm for computing sample variances", COMPSTAT 1982.
.. [4] P. K. Agarwal, G. Cormode, Z. Huang, J. M. Phillips, Z. Wei and K. Yi, "Mergeable
   summaries", ACM Transactions on Database Systems 38(4), 2013.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from typing import Self

__all__ = ["EXACT_VALUES", "MIN_BINS", "Bins", "NumericDistribution"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: A window holding at most this many finite values keeps every value exactly. It is
#: scipy's limit for the exact two-sample K-S p-value (``ks_2samp``'s ``MAX_AUTO_N``):
#: whenever Evidently's K-S test is computed exactly, both windows are exact here.
EXACT_VALUES = 10_000
#: Fewest buckets a numeric summary may be limited to (more than Evidently's 5 "few
#: values", so a bucketed window always has too many values for the few-values tests).
MIN_BINS = 64

_MAGNITUDE = np.int64(0x7FFF_FFFF_FFFF_FFFF)
_MAX_FINITE = np.uint64(0x7FEF_FFFF_FFFF_FFFF)  # bits of the largest finite float64
_MAX_SHIFT = 63  # every magnitude >> 63 is 0: one bucket holds everything
_DENSE_SPAN = 1 << 16  # bincount over a key span up to 4·n + this; sort or search beyond


@dataclass(frozen=True, slots=True)
class Bins:
    """A numeric window as disjoint value ranges, ascending, each with its row count.

    Every value of bucket ``i`` lies in ``[low[i], high[i]]``; ``high[i] < low[i + 1]``.
    For an exact summary ``low == high`` are the distinct values themselves.
    """

    low: F64
    high: F64
    counts: I64

    @property
    def n(self) -> int:
        return int(self.counts.sum())

    @property
    def midpoints(self) -> F64:
        mid: F64 = self.low + (self.high - self.low) / 2.0  # == low when the bin is exact
        return mid

    @property
    def half_widths(self) -> F64:
        half: F64 = (self.high - self.low) / 2.0
        return half


class NumericDistribution:
    """Mergeable distribution of one numeric column in one window (see the module notes).

    Parameters
    ----------
    max_bins : int, default 8192
        Occupied buckets kept once the window holds more than :data:`EXACT_VALUES`
        finite values; at least :data:`MIN_BINS`. Memory is at most
        ``16 · max(max_bins, EXACT_VALUES)`` bytes (160 kB with the default: the
        default costs nothing over the exact phase), whatever the number of rows.

    Notes
    -----
    NaN and ±inf are counted in :attr:`n_missing` and otherwise ignored, as Evidently
    drops them before any drift test. Integers and booleans are read as float64.
    """

    __slots__ = (
        "_counts",
        "_keys",
        "_m2",
        "_max",
        "_mean",
        "_min",
        "_n",
        "_n_missing",
        "_shift",
        "max_bins",
    )

    def __init__(self, *, max_bins: int = 8192) -> None:
        if max_bins < MIN_BINS:
            raise ValueError(f"max_bins must be at least {MIN_BINS}, got {max_bins!r}")
        self.max_bins = int(max_bins)
        self._shift = 0
        self._keys: I64 = np.empty(0, dtype=np.int64)
        self._counts: I64 = np.empty(0, dtype=np.int64)
        self._n = 0
        self._n_missing = 0
        self._mean = 0.0
        self._m2 = 0.0
        self._min = math.inf
        self._max = -math.inf

    # ---------------------------------------------------------------- aggregate protocol

    def update(self, values: npt.ArrayLike) -> Self:
        """Add a chunk of values (any shape; integer, boolean or float).

        Raises
        ------
        TypeError
            If the values are not numbers (text belongs in a CategoryDistribution).
        """
        x = np.asarray(values)
        if x.dtype.kind not in "biuf":
            raise TypeError(f"numeric values expected, got dtype {x.dtype}")
        x = x.astype(np.float64, copy=False).reshape(-1)
        finite = np.isfinite(x)
        n = int(np.count_nonzero(finite))
        self._n_missing += x.size - n
        if n == 0:
            return self
        if n < x.size:
            x = x[finite]
        mean = float(x.mean())
        # one scratch buffer for the deviations, then (as int64) the keys: large chunks
        # cost a page-faulting allocation per temporary otherwise
        scratch = np.subtract(x, mean)
        # not np.dot: OpenBLAS threads a long dot product and its idle threads spin,
        # 3 ms of CPU per 131 072 values on a busy two-core machine against 0.05 ms
        self._add_moments(n, mean, float(np.square(scratch, out=scratch).sum()))
        low, high = float(x.min()), float(x.max())
        self._min, self._max = min(self._min, low), max(self._max, high)
        keys, counts = self._count_keys(x, low, high, scratch.view(np.int64))
        self._absorb(keys, counts)
        return self

    def merge(self, other: NumericDistribution) -> Self:
        """Fold ``other`` (same ``max_bins``) into this distribution and return it."""
        if not isinstance(other, NumericDistribution):
            raise TypeError(f"cannot merge NumericDistribution with {type(other).__name__}")
        if other.max_bins != self.max_bins:
            raise ValueError(
                f"cannot merge distributions with max_bins {self.max_bins} and {other.max_bins}"
            )
        self._n_missing += other._n_missing
        if other._n == 0:
            return self
        self._add_moments(other._n, other._mean, other._m2)
        self._min, self._max = min(self._min, other._min), max(self._max, other._max)
        shift = max(self._shift, other._shift)
        self._keys, self._counts = _coarsen(self._keys, self._counts, shift - self._shift)
        keys, counts = _coarsen(other._keys, other._counts, shift - other._shift)
        self._shift = shift
        self._absorb(keys, counts)
        return self

    # ---------------------------------------------------------------- results

    @property
    def n(self) -> int:
        """Number of finite values."""
        return self._n

    @property
    def n_missing(self) -> int:
        """Number of NaN or infinite values (left out of every statistic)."""
        return self._n_missing

    @property
    def mean(self) -> float:
        """Mean of the finite values; NaN when there are none."""
        return self._mean if self._n else math.nan

    @property
    def std(self) -> float:
        """Population standard deviation (``ddof=0``, as ``numpy.std``); NaN when empty."""
        return math.sqrt(max(self._m2, 0.0) / self._n) if self._n else math.nan

    @property
    def min(self) -> float:
        """Smallest finite value; NaN when empty."""
        return self._min if self._n else math.nan

    @property
    def max(self) -> float:
        """Largest finite value; NaN when empty."""
        return self._max if self._n else math.nan

    @property
    def shift(self) -> int:
        """Bits dropped from each value's key: 0 = exact, 52 - shift mantissa bits kept."""
        return self._shift

    @property
    def is_exact(self) -> bool:
        """True when every distinct value is kept with its exact count."""
        return self._shift == 0

    @property
    def n_bins(self) -> int:
        """Occupied buckets (distinct values when exact)."""
        return int(self._keys.size)

    @property
    def nbytes(self) -> int:
        """Bytes held by the buckets (the scalars add a few dozen)."""
        return int(self._keys.nbytes + self._counts.nbytes)

    def bins(self) -> Bins:
        """The occupied buckets as value ranges with counts, ascending."""
        mag = np.abs(self._keys).astype(np.uint64)
        shift = np.uint64(self._shift)
        low_mag = np.minimum(mag << shift, _MAX_FINITE)
        if self._shift:
            high_mag = np.minimum(((mag + np.uint64(1)) << shift) - np.uint64(1), _MAX_FINITE)
        else:
            high_mag = low_mag
        low_abs, high_abs = low_mag.view(np.float64), high_mag.view(np.float64)
        negative = self._keys < 0
        low = np.where(negative | (self._keys == 0), -high_abs, low_abs)
        high = np.where(negative, -low_abs, high_abs)
        if self._shift == 0:
            low = np.where(self._keys == 0, 0.0, low)  # the key 0 is the value 0 itself
        # a bucket only holds values that were seen: clamp to the exact extremes
        low = np.clip(low, self._min, self._max)
        high = np.clip(high, self._min, self._max)
        return Bins(low=low, high=high, counts=self._counts.copy())

    def values(self) -> tuple[F64, I64]:
        """The distinct values and their counts, ascending; only for an exact summary.

        Raises
        ------
        ValueError
            If the summary is not exact (:attr:`is_exact` is False).
        """
        if not self.is_exact:
            raise ValueError(
                f"the distribution holds {self.n_bins} buckets of several values each, "
                "not exact values"
            )
        bins = self.bins()
        return bins.low, bins.counts

    def __repr__(self) -> str:
        return (
            f"NumericDistribution(n={self._n}, n_missing={self._n_missing}, "
            f"n_bins={self.n_bins}, shift={self._shift})"
        )

    # ---------------------------------------------------------------- internals

    def _add_moments(self, n: int, mean: float, m2: float) -> None:
        """Chan et al.'s pairwise update of the count, mean and sum of squared deviations."""
        total = self._n + n
        delta = mean - self._mean
        self._mean += delta * n / total
        self._m2 += m2 + delta * delta * self._n * n / total
        self._n = total

    def _count_keys(self, x: F64, low: float, high: float, scratch: I64) -> tuple[I64, I64]:
        """Distinct keys of ``x`` at the current shift, with counts (keys ascending).

        ``scratch`` (as long as ``x``) is overwritten.
        """
        dense_limit = 4 * x.size + _DENSE_SPAN
        # worth a try when the window has just outgrown the exact phase (a later chunk
        # rarely needs more than a bit or two, which the collapse in _absorb finds)
        if self._n - x.size <= EXACT_VALUES < self._n:
            skipped = self._skip_ahead(x, dense_limit, scratch)
            if skipped is not None:
                return skipped
        keys = _keys(x, self._shift, out=scratch)
        bounds = _keys(np.array([low, high]), self._shift)
        first, span = int(bounds[0]), int(bounds[1]) - int(bounds[0]) + 1
        if span <= dense_limit:  # a coarse shift: one linear pass
            dense = np.bincount(np.subtract(keys, first, out=keys), minlength=span)
            occupied = np.flatnonzero(dense)
            return occupied.astype(np.int64) + first, dense[occupied].astype(np.int64)
        if self._keys.size == 0:
            distinct, counts = np.unique(keys, return_counts=True)
            return distinct, counts.astype(np.int64)
        # exact values far apart (codes, flags, amounts): mostly keys already held
        known_keys = self._keys
        index = np.minimum(np.searchsorted(known_keys, keys), known_keys.size - 1)
        known = known_keys[index] == keys
        tally = np.bincount(index[known], minlength=known_keys.size)
        held = np.flatnonzero(tally)
        if known.all():
            return known_keys[held], tally[held].astype(np.int64)
        new, new_counts = np.unique(keys[~known], return_counts=True)  # disjoint from held
        merged = np.concatenate([known_keys[held], new])
        order = np.argsort(merged, kind="stable")
        return merged[order], np.concatenate([tally[held], new_counts]).astype(np.int64)[order]

    def _skip_ahead(self, x: F64, dense_limit: int, scratch: I64) -> tuple[I64, I64] | None:
        """Coarsen at once to a shift the window certainly needs, without sorting.

        At the first shift whose key span (over the window's extremes) fits a dense
        count, count the occupied buckets of everything seen so far. If more than
        ``max_bins`` are occupied there, the final shift lies beyond it: coarsen the
        held keys to it and return the chunk's keys and counts at it. Otherwise (the
        values are few or far apart) return None and count at the current shift.
        """
        extremes = _keys(np.array([self._min, self._max]), 0)
        low, high = int(extremes[0]), int(extremes[1])
        shift = self._shift
        while _shifted(high, shift) - _shifted(low, shift) + 1 > dense_limit:
            shift += 1
        if shift == self._shift:
            return None
        first = _shifted(low, shift)
        keys = np.subtract(_keys(x, shift, out=scratch), first, out=scratch)
        dense = np.bincount(keys, minlength=_shifted(high, shift) - first + 1)
        held = np.unique(_rekey(self._keys, shift - self._shift)) - first
        occupied = int(np.count_nonzero(dense)) + int(np.count_nonzero(dense[held] == 0))
        if occupied <= self.max_bins:
            return None
        self._keys, self._counts = _coarsen(self._keys, self._counts, shift - self._shift)
        self._shift = shift
        nonzero = np.flatnonzero(dense)
        return nonzero.astype(np.int64) + first, dense[nonzero].astype(np.int64)

    def _absorb(self, keys: I64, counts: I64) -> None:
        """Add sorted distinct keys (at the current shift), then collapse if too fine."""
        if self._keys.size:
            keys = np.concatenate([self._keys, keys])
            counts = np.concatenate([self._counts, counts])
            order = np.argsort(keys, kind="stable")  # two sorted runs: a linear merge
            keys, counts = _combine(keys[order], counts[order])
        self._keys, self._counts = keys, counts
        if self._n > EXACT_VALUES and self._keys.size > self.max_bins:
            # the smallest extra shift that fits; occupancy only falls as the shift grows
            lo, hi = 1, _MAX_SHIFT - self._shift
            while lo < hi:
                mid = (lo + hi) // 2
                if _occupancy(self._keys, mid) <= self.max_bins:
                    hi = mid
                else:
                    lo = mid + 1
            self._keys, self._counts = _coarsen(self._keys, self._counts, lo)
            self._shift += lo


def _keys(x: F64, shift: int, *, out: I64 | None = None) -> I64:
    """``sign(x) · (bits(|x|) >> shift)``: monotone in ``x``; -0.0 and 0.0 share key 0."""
    bits = x.view(np.int64)
    keys: I64 = np.bitwise_and(bits, _MAGNITUDE, out=out)
    if shift:
        np.right_shift(keys, shift, out=keys)
    np.negative(keys, out=keys, where=bits < 0)
    return keys


def _shifted(key: int, by: int) -> int:
    """One key (a Python int, any size) coarsened by ``by`` more bits, like :func:`_rekey`."""
    return -(-key >> by) if key < 0 else key >> by


def _rekey(keys: I64, by: int) -> I64:
    magnitude = np.abs(keys) >> by
    coarse: I64 = np.where(keys < 0, -magnitude, magnitude)
    return coarse


def _occupancy(keys: I64, by: int) -> int:
    """Distinct keys after shifting ``by`` more bits (``keys`` ascending and non-empty)."""
    return 1 + int(np.count_nonzero(np.diff(_rekey(keys, by))))


def _coarsen(keys: I64, counts: I64, by: int) -> tuple[I64, I64]:
    if by == 0 or keys.size == 0:
        return keys, counts
    return _combine(_rekey(keys, by), counts)


def _combine(keys: I64, counts: I64) -> tuple[I64, I64]:
    """Sum the counts of equal keys (``keys`` ascending)."""
    if keys.size == 0:
        return keys, counts
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    return keys[starts], np.add.reduceat(counts, starts)
