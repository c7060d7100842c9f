"""Mergeable quantile sketch with relative accuracy, for latency percentiles.

A DDSketch (Masson, Rim and Lee 2019) with a dense, fixed bucket array: value ``x`` falls
in bucket ``i`` with ``γ^(i−1) <= x < γ^i``, ``γ = (1 + α) / (1 − α)``, and a bucket is
reported as ``2γ^i / (γ + 1)``, which is within relative error ``α`` of every value in
it. With the default ``α = 0.005`` every reported quantile of in-range data is within
0.5 % of the true order statistic, inside the product requirement of 1 %.

The fixed range (default 1e-3 ms to 1e8 ms, i.e. 1 µs to about 28 hours) needs about
2 500 buckets (20 kB) whatever the number of rows, and makes merging an element-wise
addition of two arrays, so a merge of any split is bit-for-bit equal to one pass.

References
----------
.. [1] C. Masson, J. E. Rim and H. K. Lee, "DDSketch: a fast and fully-mergeable quantile
   sketch with relative-error guarantees", Proceedings of the VLDB Endowment 12(12),
   2195-2205, 2019.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from typing import Self

__all__ = ["QuantileSketch"]

_BLOCK = 1 << 16  # values per vectorised step: buffers stay in L2, ~4x faster than one pass


class QuantileSketch:
    """DDSketch-style quantile sketch for non-negative values such as latency in ms.

    Parameters
    ----------
    relative_accuracy : float, default 0.005
        ``α``: reported quantiles of in-range values are within relative error ``α`` of
        the exact order statistic.
    min_value : float, default 1e-3
        Smallest value, in the caller's unit (ms), kept with relative accuracy. Smaller
        values, including exact zeros, are counted in a separate low bucket and reported
        as ``0.0`` (absolute error below ``min_value``).
    max_value : float, default 1e8
        Largest value kept with relative accuracy. Larger values (including ``inf``) are
        clamped into the top bucket and counted in :attr:`n_clamped`.

    Notes
    -----
    Memory is a dense ``int64`` array of ``log_γ(max_value / min_value) + 2`` slots,
    independent of the number of rows. Quantiles follow the DDSketch rank convention:
    ``quantile(q)`` reports the bucket of the order statistic of 0-based rank
    ``floor(q · (n − 1))``, i.e. ``numpy.quantile(..., method="lower")`` up to ``α``.

    References
    ----------
    Masson, Rim and Lee, "DDSketch: a fast and fully-mergeable quantile sketch with
    relative-error guarantees", VLDB 2019.
    """

    __slots__ = (
        "_counts",
        "_gamma",
        "_inv_log_gamma",
        "_key_hi",
        "_key_lo",
        "_n_clamped",
        "max_value",
        "min_value",
        "relative_accuracy",
    )

    def __init__(
        self,
        *,
        relative_accuracy: float = 0.005,
        min_value: float = 1e-3,
        max_value: float = 1e8,
    ) -> None:
        if not 0.0 < relative_accuracy < 1.0:
            raise ValueError(f"relative_accuracy must be in (0, 1), got {relative_accuracy!r}")
        if not (0.0 < min_value < max_value < math.inf):
            raise ValueError(
                f"need 0 < min_value < max_value < inf, got {min_value!r}, {max_value!r}"
            )
        self.relative_accuracy = float(relative_accuracy)
        self.min_value = float(min_value)
        self.max_value = float(max_value)
        self._gamma = (1.0 + self.relative_accuracy) / (1.0 - self.relative_accuracy)
        self._inv_log_gamma = 1.0 / math.log(self._gamma)
        self._key_lo = self._key(self.min_value)
        self._key_hi = self._key(self.max_value)
        n_slots = self._key_hi - self._key_lo + 2  # slot 0 = below min_value
        if n_slots > 10_000_000:
            raise ValueError("relative_accuracy too small for the value range: sketch too large")
        self._counts = np.zeros(n_slots, dtype=np.int64)
        self._n_clamped = 0

    def _key(self, value: float) -> int:
        # the same float arithmetic as the vectorised path in update()
        return math.floor(float(np.log(value)) * self._inv_log_gamma) + 1

    # ---------------------------------------------------------------- aggregate protocol

    def update(self, values: npt.ArrayLike) -> Self:
        """Add values (any shape, integer or float, ``>= 0``, no NaN) to the sketch.

        Raises
        ------
        ValueError
            If any value is negative or NaN; nothing is added then.
        """
        arr = np.asarray(values)
        if arr.dtype.kind not in "iuf":
            raise ValueError(f"values must be a real numeric array, got dtype {arr.dtype}")
        arr = arr.reshape(-1)
        if arr.size == 0:
            return self
        smallest = arr.min()  # NaN propagates, so one pass checks both
        if not smallest >= 0:
            raise ValueError("values must be >= 0 and not NaN")
        n_slots = self._counts.size
        overflow = n_slots  # extra slot, folded into the top bucket below
        shift = float(self._key_lo - 2)
        counts = np.zeros(n_slots + 1, dtype=np.int64)
        buf = np.empty(min(arr.size, _BLOCK), dtype=np.float64)
        for start in range(0, arr.size, _BLOCK):
            block = arr[start : start + _BLOCK]
            out = buf[: block.size]
            with np.errstate(divide="ignore"):  # log(0) = -inf lands in the low slot
                np.log(block, out=out, dtype=np.float64)
            out *= self._inv_log_gamma
            out -= shift  # now floor(out) = key - key_lo + 1 = slot
            np.clip(out, 0.0, float(overflow), out=out)
            counts += np.bincount(out.astype(np.intp), minlength=n_slots + 1)
        clamped = int(counts[overflow])
        counts[overflow - 1] += clamped
        self._counts += counts[:overflow]
        self._n_clamped += clamped
        return self

    def merge(self, other: QuantileSketch) -> Self:
        """Add ``other``'s counts into this sketch and return it.

        Raises
        ------
        ValueError
            If the sketches were built with different parameters.
        """
        if not isinstance(other, QuantileSketch):
            raise TypeError(f"cannot merge QuantileSketch with {type(other).__name__}")
        if self._params() != other._params():
            raise ValueError(
                f"cannot merge sketches with different parameters: "
                f"{self._params()} vs {other._params()}"
            )
        self._counts += other._counts
        self._n_clamped += other._n_clamped
        return self

    def _params(self) -> tuple[float, float, float]:
        return (self.relative_accuracy, self.min_value, self.max_value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state: parameters plus the non-empty slots (slot 0 = below range)."""
        nonzero = np.flatnonzero(self._counts)
        return {
            "kind": "QuantileSketch",
            "version": 1,
            "relative_accuracy": self.relative_accuracy,
            "min_value": self.min_value,
            "max_value": self.max_value,
            "slots": nonzero.tolist(),
            "counts": self._counts[nonzero].tolist(),
            "n_clamped": self._n_clamped,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuantileSketch:
        """Rebuild a sketch from :meth:`to_dict` output."""
        if data.get("kind") != "QuantileSketch" or data.get("version") != 1:
            raise ValueError("not a version-1 QuantileSketch state")
        sketch = cls(
            relative_accuracy=float(data["relative_accuracy"]),
            min_value=float(data["min_value"]),
            max_value=float(data["max_value"]),
        )
        slots = np.asarray(data["slots"], dtype=np.intp)
        counts = np.asarray(data["counts"], dtype=np.int64)
        if slots.shape != counts.shape or slots.ndim != 1:
            raise ValueError("slots and counts must be lists of equal length")
        if slots.size and (slots.min() < 0 or slots.max() >= sketch._counts.size):
            raise ValueError("slot index out of range")
        if slots.size > 1 and np.any(np.diff(slots) <= 0):
            raise ValueError("slots must be strictly increasing")
        if counts.size and counts.min() < 0:
            raise ValueError("counts must be >= 0")
        sketch._counts[slots] = counts
        n_clamped = int(data["n_clamped"])
        if not 0 <= n_clamped <= int(sketch._counts[-1]):
            raise ValueError("n_clamped inconsistent with the top bucket")
        sketch._n_clamped = n_clamped
        return sketch

    # ---------------------------------------------------------------- results

    @property
    def count(self) -> int:
        """Number of values added."""
        return int(self._counts.sum())

    @property
    def n_below(self) -> int:
        """Number of values below the accurate range (reported as 0.0), including zeros."""
        return int(self._counts[0])

    @property
    def n_clamped(self) -> int:
        """Number of values above ``max_value``, clamped into the top bucket."""
        return self._n_clamped

    @property
    def bucket_counts(self) -> npt.NDArray[np.int64]:
        """Copy of the slot counts: slot 0 below range, slot ``s`` the ``s``-th bucket."""
        return self._counts.copy()

    def _representatives(self, slots: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        keys = slots.astype(np.float64) + (self._key_lo - 1)
        reps = 2.0 * np.power(self._gamma, keys) / (self._gamma + 1.0)
        return np.where(slots == 0, 0.0, reps)

    def quantiles(self, qs: Sequence[float] | npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Quantiles ``qs`` (each in [0, 1]) in the values' unit; all NaN when empty.

        Each is the representative of the bucket holding the value of 0-based rank
        ``floor(q · (n − 1))`` (DDSketch convention), within relative error
        ``relative_accuracy`` of that order statistic when it lies in
        ``[min_value, max_value]``.
        """
        q = np.asarray(qs, dtype=np.float64)
        if np.any(np.isnan(q)) or np.any((q < 0.0) | (q > 1.0)):
            raise ValueError("quantiles must be in [0, 1]")
        n = self.count
        if n == 0:
            return np.full(q.shape, np.nan)
        cumulative = np.cumsum(self._counts)
        rank = q * (n - 1)
        slots = np.searchsorted(cumulative, rank, side="right")  # first slot with cum > rank
        return self._representatives(slots.astype(np.intp))

    def quantile(self, q: float) -> float:
        """Single quantile, see :meth:`quantiles`; NaN for an empty sketch."""
        return float(self.quantiles(np.asarray([q]))[0])

    def histogram(
        self, *, n_bins: int = 50
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """Counts on log-spaced bins spanning the non-empty buckets, for plotting.

        Parameters
        ----------
        n_bins : int, default 50
            Maximum number of bins. Bins are whole runs of sketch buckets, so the counts
            are exact and there may be fewer than ``n_bins`` of them.

        Returns
        -------
        edges : ndarray of float
            Bin edges in the values' unit (powers of ``γ``), length ``len(counts) + 1``;
            equal width on a log axis. Empty when no in-range value was added.
        counts : ndarray of int64
            Values per bin. Values below ``min_value`` (:attr:`n_below`) have no place on
            a log axis and are left out; clamped values are in the last bin.
        """
        if n_bins < 1:
            raise ValueError(f"n_bins must be >= 1, got {n_bins!r}")
        nonzero = np.flatnonzero(self._counts[1:]) + 1
        if nonzero.size == 0:
            return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.int64)
        first, last = int(nonzero[0]), int(nonzero[-1])
        width = -(-(last - first + 1) // n_bins)  # buckets per bin, ceil division
        starts = np.arange(first, last + 1, width)
        counts = np.add.reduceat(self._counts[: last + 1], starts).astype(np.int64)
        # slot s holds [γ^(key−1), γ^key) with key = s + key_lo − 1
        lower_keys = np.append(starts, starts[-1] + width).astype(np.float64) + self._key_lo - 2
        edges = np.power(self._gamma, lower_keys)
        return edges, counts

    def __repr__(self) -> str:
        return (
            f"QuantileSketch(relative_accuracy={self.relative_accuracy}, "
            f"min_value={self.min_value}, max_value={self.max_value}, count={self.count})"
        )
