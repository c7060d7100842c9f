"""Mergeable summaries of a window's drift columns, over every row and in bounded memory.

Drift used to be measured on 5 000-row samples of each window. These summaries see every
row, take a bounded amount of memory whatever the number of rows, and merge *exactly*
(mergeable summaries in the sense of Agarwal et al. [1]_): the summary of any partition
of the rows (chunks, files, Dask partitions), merged in any order, is identical to the
summary built in one pass. Neither needs the reference window before the current one,
so the chunk pass, which reads the two windows interleaved, folds them without a
second read.

- :class:`~monitor.stats.drift_numeric.NumericDistribution`: an adaptive-resolution
  histogram on the values' bits, exact up to 10 000 values or ``max_bins`` distinct
  values, with each bucket's value range beyond;
- :class:`~monitor.stats.drift_categories.CategoryDistribution`: exact counts per category up
  to a cap, a bottom-k (by hash) fold into "other" beyond;
- :class:`WindowDistributions`: one of those per column of a model's window.

The drift statistics are computed from them in :mod:`monitor.stats.drift_methods`.

References
----------
.. [1] P. K. Agarwal, G. Cormode, Z. Huang, J. M. Phillips, Z. Wei and K. Yi, "Mergeable
   summaries", ACM Transactions on Database Systems 38(4), 2013.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from monitor.stats.drift_categories import OTHER, CategoryDistribution
from monitor.stats.drift_numeric import EXACT_VALUES, Bins, NumericDistribution

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


class WindowDistributions:
    """Every drift column of one model in one window: a distribution per column.

    Numeric arrays (float, integer, boolean) go to a :class:`NumericDistribution`, any
    other array to a :class:`CategoryDistribution`. A column whose type changes between
    chunks (a CSV chunk whose codes all parse as numbers, say) keeps both, and
    :func:`monitor.stats.drift_methods.window_drift` decides how to compare it.

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

    def discard(self, name: str) -> Self:
        """Forget the column ``name`` (its distributions, numeric and text), if held."""
        self._numeric.pop(name, None)
        self._categorical.pop(name, None)
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
