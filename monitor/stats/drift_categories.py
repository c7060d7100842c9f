"""Mergeable counts of a categorical column in one window, exact up to a cap.

Exact counts per category, keyed by a 64-bit BLAKE2b hash of its name (16 bytes a
category), up to ``max_categories`` distinct values. Beyond that, the categories kept
are the ``max_categories`` with the smallest hash (a bottom-k sketch of the category
*names* [1]_), and the rows of the others are counted together as "other". A
category kept in the whole window is kept in every part of it, so each kept count is
exact and merging is exact and order-free [2]_. Keeping the *most frequent*
categories instead cannot be exact under merging in bounded memory, and would not
help the statistic: on a long-tailed column, Evidently's Jensen-Shannon distance is
made by the rare categories (each seen in one window only), which a top-k folds
away. :meth:`CategoryDistribution.top` presents the top ``k`` plus "other".

References
----------
.. [1] E. Cohen and H. Kaplan, "Summarizing data using bottom-k sketches", PODC 2007.
.. [2] P. K. Agarwal, G. Cormode, Z. Huang, J. M. Phillips, Z. Wei and K. Yi, "Mergeable
   summaries", ACM Transactions on Database Systems 38(4), 2013.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from typing import Self

__all__ = ["MIN_CATEGORIES", "OTHER", "CategoryDistribution", "category_hash"]

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]

#: Evidently picks its small-sample tests for a reference of at most 1 000 rows; a
#: categorical cap above that keeps those tests exact (see CategoryDistribution).
MIN_CATEGORIES = 1001
#: The label under which folded categories are presented by :meth:`CategoryDistribution.top`.
OTHER = "(other)"


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
    sees "other", and :mod:`monitor.stats.drift_methods` bounds its effect.

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
        import pandas as pd  # here: a check without drift never imports it

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
