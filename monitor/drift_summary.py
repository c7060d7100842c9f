"""Mergeable summaries of a window's drift columns, over every row and in bounded memory.

Drift used to be measured on 5 000-row samples of each window. These summaries see every
row of the window, take a fixed amount of memory whatever the number of rows, and merge
*exactly*: the summary of any partition of the rows (chunks, files, Dask partitions),
merged in any order, is identical to the summary built in one pass. The drift statistics
are computed from them in :mod:`monitor.drift_methods`.

Numeric columns: :class:`NumericDistribution`
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
    keys, shift, minimum and maximum are equal bit for bit; the mean and variance (kept
    with Chan's update) equal to rounding.

    Consequences: a window of at most 10 000 values, or one with at most ``max_bins``
    distinct values (integer codes, ties, rounded amounts), is summarised *exactly*, so
    every Evidently statistic on it is exact too. Otherwise each bucket carries its value
    range (clamped to the window's exact minimum and maximum), from which
    :mod:`monitor.drift_methods` derives a guaranteed interval for every statistic.

    Why not fixed bins derived from the reference window? Ingest reads the two windows
    interleaved (each chunk is one model's rows, split between the windows by
    timestamp), so reference-derived bins would need the whole reference before the
    first current row: a second pass over the logs, or buffering. Here the two windows
    are summarised independently, and bins are never shared or negotiated.

Categorical columns: :class:`CategoryDistribution`
    Exact counts per category, keyed by a 64-bit BLAKE2b hash of its name (16 bytes a
    category), up to ``max_categories`` distinct values. Beyond that, the categories kept
    are the ``max_categories`` with the smallest hash (a bottom-k sketch of the category
    *names* [3]_), and the rows of the others are counted together as "other". A
    category kept in the whole window is kept in every part of it, so each kept count is
    exact and merging is, again, exact and order-free. Keeping the *most frequent*
    categories instead cannot be exact under merging in bounded memory, and would not
    help the statistic: on a long-tailed column, Evidently's Jensen-Shannon distance is
    made by the rare categories (each seen in one window only), which a top-k folds
    away. :meth:`CategoryDistribution.top` presents the top ``k`` plus "other".

References
----------
.. [1] C. Masson, J. E. Rim and H. K. Lee, "DDSketch: a fast and fully-mergeable quantile
   sketch with relative-error guarantees", PVLDB 12(12), 2195-2205, 2019.
.. [2] I. Epicoco, C. Melle, M. Cafaro, M. Pulimeno and G. Morleo, "UDDSketch: accurate
   tracking of quantiles in data streams", IEEE Access 8, 147604-147617, 2020.
.. [3] E. Cohen and H. Kaplan, "Summarizing data using bottom-k sketches", PODC 2007.
.. [4] T. F. Chan, G. H. Golub and R. J. LeVeque, "Updating formulae and a pairwise
   algorithm for computing sample variances", COMPSTAT 1982.
.. [5] P. K. Agarwal, G. Cormode, Z. Huang, J. M. Phillips, Z. Wei and K. Yi, "Mergeable
   summaries", ACM Transactions on Database Systems 38(4), 2013.
"""

from __future__ import annotations

import hashlib
import math
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "EXACT_VALUES",
    "OTHER",
    "Bins",
    "CategoryDistribution",
    "NumericDistribution",
    "WindowDistributions",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: A window holding at most this many finite values keeps every value exactly. It is
#: scipy's limit for the exact two-sample K-S p-value (``ks_2samp``'s ``MAX_AUTO_N``):
#: whenever Evidently's K-S test is computed exactly, both windows are exact here.
EXACT_VALUES = 10_000
#: Fewest buckets a numeric summary may be limited to (more than Evidently's 5 "few
#: values", so a bucketed window always has too many values for the few-values tests).
MIN_BINS = 64
#: Evidently picks its small-sample tests for a reference of at most 1 000 rows; a
#: categorical cap above that keeps those tests exact (see CategoryDistribution).
MIN_CATEGORIES = 1001
#: The label under which folded categories are presented by :meth:`CategoryDistribution.top`.
OTHER = "(other)"

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


# ------------------------------------------------------------------------- categories

U64 = npt.NDArray[np.uint64]


def category_hash(name: str) -> int:
    """64-bit BLAKE2b of the category's UTF-8 name: its identity and its keeping order.

    A function of the name alone, identical in every process and on every platform
    (Python's ``hash`` is salted per process). Two names collide with probability
    ``2^-64``; with ``k`` categories the chance of any collision is about ``k² / 2^65``
    (1e-11 for 16 384), and colliding categories would be counted as one.
    """
    digest = hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


class CategoryDistribution:
    """Mergeable counts of one categorical column in one window.

    Parameters
    ----------
    max_categories : int, default 16384
        Distinct categories counted exactly, keyed by :func:`category_hash` (16 bytes
        each: 256 kB at most with the default); at least :data:`MIN_CATEGORIES`. Beyond
        it, the categories with the smallest hashes are kept and the others' rows are
        counted together as "other" (:attr:`n_other`).
    max_names : int, default 2000
        Names remembered for presentation (:meth:`counts`, :meth:`top`): those of the
        ``max_names`` categories with the smallest hashes, so every name while the
        column has no more distinct values. Cut to ``max_categories``.

    Notes
    -----
    The cap is above Evidently's 1 000-row small-sample limit on purpose: a reference of
    at most 1 000 rows, which gets the chi-square or Z test, is never folded, and a
    folded current window then certainly holds categories the reference lacks (chi-square
    p-value 0 in Evidently, and here). Only the Jensen-Shannon distance of large windows
    sees "other", and :mod:`monitor.drift_methods` bounds its effect.

    None and NaN are counted in :attr:`n_missing`. Values that are not text are named
    with ``str()`` (a float ``1.0`` becomes ``"1.0"``).
    """

    __slots__ = (
        "_counts",
        "_hashes",
        "_limit",
        "_n",
        "_n_missing",
        "_names",
        "max_categories",
        "max_names",
    )

    def __init__(self, *, max_categories: int = 16_384, max_names: int = 2000) -> None:
        if max_categories < MIN_CATEGORIES:
            raise ValueError(
                f"max_categories must be at least {MIN_CATEGORIES}, got {max_categories!r}"
            )
        if max_names < 0:
            raise ValueError(f"max_names must be >= 0, got {max_names!r}")
        self.max_categories = int(max_categories)
        self.max_names = min(int(max_names), self.max_categories)
        self._hashes: U64 = np.empty(0, dtype=np.uint64)  # ascending
        self._counts: I64 = np.empty(0, dtype=np.int64)
        self._limit: int | None = None  # largest hash kept, once categories are folded
        self._names: dict[int, str] = {}
        self._n = 0
        self._n_missing = 0

    # ---------------------------------------------------------------- aggregate protocol

    def update(self, values: npt.ArrayLike) -> Self:
        """Add a chunk of values (text, or anything with a ``str()``; None/NaN = missing)."""
        array = np.asarray(values, dtype=object).reshape(-1)
        codes, uniques = pd.factorize(array, use_na_sentinel=True)
        return self.update_codes(codes, [u if isinstance(u, str) else str(u) for u in uniques])

    def update_codes(self, codes: npt.ArrayLike, categories: Iterable[str]) -> Self:
        """Add a dictionary-encoded chunk: row ``i`` is ``categories[codes[i]]``, -1 = null."""
        code = np.asarray(codes).reshape(-1)
        present = code[code >= 0]
        self._n_missing += code.size - present.size
        names = list(categories)
        per_code = np.bincount(present, minlength=len(names))[: len(names)]
        return self._add_named(names, per_code.astype(np.int64))

    def update_counts(self, counts: Mapping[str, int]) -> Self:
        """Add rows already counted per category."""
        names = list(counts)
        tally = np.array([counts[name] for name in names], dtype=np.int64)
        if tally.size and tally.min() < 0:
            raise ValueError("counts must be >= 0")
        return self._add_named(names, tally)

    def merge(self, other: CategoryDistribution) -> Self:
        """Fold ``other`` (same caps) into this distribution and return it."""
        if not isinstance(other, CategoryDistribution):
            raise TypeError(f"cannot merge CategoryDistribution with {type(other).__name__}")
        if (other.max_categories, other.max_names) != (self.max_categories, self.max_names):
            raise ValueError(
                f"cannot merge distributions with caps {(self.max_categories, self.max_names)} "
                f"and {(other.max_categories, other.max_names)}"
            )
        self._n += other._n
        self._n_missing += other._n_missing
        self._absorb(other._hashes, other._counts, other._limit, other._names)
        return self

    # ---------------------------------------------------------------- results

    @property
    def n(self) -> int:
        """Number of non-missing values."""
        return self._n

    @property
    def n_missing(self) -> int:
        return self._n_missing

    @property
    def n_other(self) -> int:
        """Values of the folded categories, counted together."""
        return self._n - int(self._counts.sum())

    @property
    def limit(self) -> int | None:
        """Largest :func:`category_hash` kept; None when nothing is folded.

        Every category hashed at or below the limit is counted exactly; every other one
        is in "other".
        """
        return self._limit

    @property
    def is_exact(self) -> bool:
        """True when no category is folded into "other"."""
        return self._limit is None

    @property
    def n_categories(self) -> int:
        """Categories counted exactly (all of them when :attr:`is_exact`)."""
        return int(self._hashes.size)

    @property
    def nbytes(self) -> int:
        """Bytes held by the counts and the remembered names (Python's own sizes)."""
        names = sum(sys.getsizeof(name) + 8 for name in self._names.values())
        return int(self._hashes.nbytes + self._counts.nbytes) + names

    def hashed_counts(self) -> tuple[U64, I64]:
        """The kept categories' hashes (ascending) and counts, copies."""
        return self._hashes.copy(), self._counts.copy()

    def counts(self) -> dict[str, int]:
        """Counts of the categories whose names are remembered, in name order."""
        position = {int(h): i for i, h in enumerate(self._hashes.tolist())}
        return {
            name: int(self._counts[position[h]])
            for h, name in sorted(self._names.items(), key=lambda item: item[1])
            if h in position
        }

    def top(self, k: int) -> tuple[list[tuple[str, int]], int]:
        """The ``k`` most frequent kept categories and the count of all the rest.

        Ties go by hash. A category whose name is not remembered is shown as ``#`` and
        its hash in hex. The rest (every other kept category plus :attr:`n_other`) is
        meant to be presented as :data:`OTHER`.
        """
        if k < 0:
            raise ValueError(f"k must be >= 0, got {k!r}")
        order = np.lexsort((self._hashes, -self._counts))[:k]
        head = [
            (self._names.get(int(h), f"#{int(h):016x}"), int(c))
            for h, c in zip(self._hashes[order].tolist(), self._counts[order].tolist(), strict=True)
        ]
        return head, self._n - sum(count for _, count in head)

    def __repr__(self) -> str:
        return (
            f"CategoryDistribution(n={self._n}, n_missing={self._n_missing}, "
            f"categories={self.n_categories}, n_other={self.n_other})"
        )

    # ---------------------------------------------------------------- internals

    def _add_named(self, names: list[str], counts: I64) -> Self:
        seen = counts > 0
        if not seen.any():
            return self
        names = [name for name, keep in zip(names, seen.tolist(), strict=True) if keep]
        hashes = np.array([category_hash(name) for name in names], dtype=np.uint64)
        order = np.argsort(hashes, kind="stable")
        keys, tally = _combine_hashes(hashes[order], counts[seen][order])
        self._n += int(tally.sum())
        self._absorb(keys, tally, None, dict(zip(hashes.tolist(), names, strict=True)))
        return self

    def _absorb(self, hashes: U64, counts: I64, limit: int | None, names: dict[int, str]) -> None:
        """Fold in another part's kept categories (ascending hashes) and its limit.

        A category at or below both parts' limits was kept wherever it occurred, so its
        summed count is exact; anything above either limit may hide rows in that part's
        "other" and is folded. Then the ``max_categories`` smallest hashes are kept.
        """
        limits = [lim for lim in (self._limit, limit) if lim is not None]
        new_limit = min(limits) if limits else None
        keys = np.concatenate([self._hashes, hashes])
        tally = np.concatenate([self._counts, counts])
        order = np.argsort(keys, kind="stable")
        keys, tally = _combine_hashes(keys[order], tally[order])
        if new_limit is not None:
            keep = keys <= np.uint64(new_limit)
            keys, tally = keys[keep], tally[keep]
        if keys.size > self.max_categories:
            keys, tally = keys[: self.max_categories], tally[: self.max_categories]
            new_limit = int(keys[-1])
        self._hashes, self._counts, self._limit = keys, tally, new_limit
        # names: those of the max_names smallest hashes of every category seen
        self._names.update(names)
        if len(self._names) > self.max_names:
            kept_names = sorted(self._names)[: self.max_names]
            self._names = {h: self._names[h] for h in kept_names}


def _combine_hashes(keys: U64, counts: I64) -> tuple[U64, I64]:
    """Sum the counts of equal hashes (``keys`` ascending)."""
    if keys.size == 0:
        return keys, counts
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    return keys[starts], np.add.reduceat(counts, starts)


# ------------------------------------------------------------------------- one window


class WindowDistributions:
    """Every drift column of one model in one window: a distribution per column.

    Numeric arrays (float, integer, boolean) go to a :class:`NumericDistribution`, any
    other array to a :class:`CategoryDistribution`. A column whose type changes between
    chunks (a CSV chunk whose codes all parse as numbers, say) keeps both, and
    :func:`monitor.drift_methods.window_drift` decides how to compare it.

    Parameters
    ----------
    max_bins : int, default 8192
        Passed to every :class:`NumericDistribution`.
    max_categories, max_names : int, default 16384 and 2000
        Passed to every :class:`CategoryDistribution`.
    """

    __slots__ = ("_categorical", "_numeric", "max_bins", "max_categories", "max_names")

    def __init__(
        self, *, max_bins: int = 8192, max_categories: int = 16_384, max_names: int = 2000
    ) -> None:
        # validate once, here, rather than at the first column
        NumericDistribution(max_bins=max_bins)
        CategoryDistribution(max_categories=max_categories, max_names=max_names)
        self.max_bins = max_bins
        self.max_categories = max_categories
        self.max_names = max_names
        self._numeric: dict[str, NumericDistribution] = {}
        self._categorical: dict[str, CategoryDistribution] = {}

    def update(self, columns: Mapping[str, npt.ArrayLike]) -> Self:
        """Add one chunk: column name → values (one array per column, same rows)."""
        for name, values in columns.items():
            array = np.asarray(values)
            if array.dtype.kind in "biuf":
                self._numeric_column(name).update(array)
            else:
                self._categorical_column(name).update(array)
        return self

    def update_codes(self, name: str, codes: npt.ArrayLike, categories: Iterable[str]) -> Self:
        """Add a dictionary-encoded categorical column (the ``prediction``, say)."""
        self._categorical_column(name).update_codes(codes, categories)
        return self

    def merge(self, other: WindowDistributions) -> Self:
        """Fold ``other`` (same caps) into this window's distributions and return it."""
        caps = (self.max_bins, self.max_categories, self.max_names)
        if (other.max_bins, other.max_categories, other.max_names) != caps:
            raise ValueError("cannot merge window distributions with different caps")
        for name in sorted(other._numeric):
            self._numeric_column(name).merge(other._numeric[name])
        for name in sorted(other._categorical):
            self._categorical_column(name).merge(other._categorical[name])
        return self

    @property
    def nbytes(self) -> int:
        """Bytes held by every column's distribution."""
        numeric = sum(dist.nbytes for dist in self._numeric.values())
        return numeric + sum(dist.nbytes for dist in self._categorical.values())

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column seen, sorted by name."""
        return tuple(sorted(set(self._numeric) | set(self._categorical)))

    def numeric(self, name: str) -> NumericDistribution | None:
        """The column's numeric values, if any chunk held numbers."""
        return self._numeric.get(name)

    def categorical(self, name: str) -> CategoryDistribution | None:
        """The column's text values, if any chunk held text."""
        return self._categorical.get(name)

    def _numeric_column(self, name: str) -> NumericDistribution:
        column = self._numeric.get(name)
        if column is None:
            column = self._numeric[name] = NumericDistribution(max_bins=self.max_bins)
        return column

    def _categorical_column(self, name: str) -> CategoryDistribution:
        column = self._categorical.get(name)
        if column is None:
            column = self._categorical[name] = CategoryDistribution(
                max_categories=self.max_categories, max_names=self.max_names
            )
        return column

    def __repr__(self) -> str:
        return f"WindowDistributions(columns={list(self.columns)!r})"
