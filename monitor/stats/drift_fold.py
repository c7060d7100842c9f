"""A model's drift columns in one window, folded chunk by chunk with the other aggregates.

:class:`DriftFold` is the part of a :class:`~monitor.stats.aggregates.WindowAggregate`
that drift is computed from (:func:`monitor.drift.compute_drift`): a mergeable
:class:`~monitor.stats.drift_summary.WindowDistributions` of the ``confidence``, the
``prediction`` and the ``feature.*`` columns over *every* row of the window, in the same
pass as the other aggregates (no second read, no sample).

Each window is summarised on its own: the reference window defines nothing the current
window's summary needs (ingest reads the two windows interleaved, so reference-derived
bins would need a second pass). The numeric summary is an adaptive-resolution histogram
whose buckets nest, so the two windows are compared at whatever resolution each kept,
with a guaranteed error bound on every statistic (see
:mod:`monitor.stats.drift_numeric` and :mod:`monitor.stats.drift_methods`).

Memory is bounded by the register's ``thresholds.drift.max_columns``: a window keeps
distributions for the first ``max_features`` feature columns *by name* that hold a
value in it (the same columns :func:`~monitor.stats.drift_columns.choose_drift_columns`
compares: a column among the first ``max_features`` of both windows together is among
the first of each window that holds it), and only the *names* of the others, to say
what was left out. Which columns are kept depends on the set of names only, so the
fold is the same however the rows were chunked, and merging is exact.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from monitor.chunk import Categorical, ModelChunk
from monitor.stats.drift_summary import WindowDistributions

if TYPE_CHECKING:
    from typing import Self

__all__ = ["FEATURE_PREFIX", "DriftFold"]

#: Feature columns are named ``feature.<name>`` in drift results and reports.
FEATURE_PREFIX = "feature."


class DriftFold:
    """Mergeable drift distributions of one model's columns in one window.

    Parameters
    ----------
    max_features : int
        Feature columns whose distributions are kept: the first by name among those
        that hold a value (``thresholds.drift.max_columns``). Prediction and confidence
        are always kept.

    Attributes
    ----------
    distributions : WindowDistributions
        Per column (``confidence``, ``prediction``, ``feature.*``), its distribution.
    seen : set of str
        Every drift column named in a chunk of this window, with values or not.
    valued : set of str
        The columns that held at least one non-missing value.
    """

    __slots__ = ("_index", "_kept", "distributions", "max_features", "seen", "valued")

    def __init__(self, *, max_features: int) -> None:
        if max_features < 1:
            raise ValueError(f"max_features must be at least 1, not {max_features}")
        self.max_features = int(max_features)
        self.distributions = WindowDistributions()
        self.seen: set[str] = set()
        self.valued: set[str] = set()
        self._kept: list[str] = []  # feature columns with a distribution, sorted
        self._index: set[str] = set()  # the same, for lookups

    def update(self, chunk: ModelChunk) -> Self:
        """Add one chunk's drift columns (rows already split to this window)."""
        if chunk.n == 0:
            return self
        self.seen.add("confidence")
        self.distributions.update({"confidence": chunk.confidence})
        self._note_values("confidence")
        if chunk.prediction is not None:
            self.seen.add("prediction")
            self.distributions.update_codes(
                "prediction", chunk.prediction.codes, chunk.prediction.categories
            )
            self._note_values("prediction")
        for name in sorted(chunk.features):
            column = FEATURE_PREFIX + name
            values = chunk.features[name]
            self.seen.add(column)
            if column in self._index:
                self._update(column, values)
            elif not _has_values(values):
                continue
            elif self._fits(column):
                # kept from its first value on: a column that fits now fitted before
                # (the kept names only get smaller), so its distribution is whole
                self.valued.add(column)
                self._update(column, values)
                bisect.insort(self._kept, column)
                self._index.add(column)
                self._trim()
            else:
                self.valued.add(column)
        return self

    def _update(self, column: str, values: npt.NDArray[Any] | Categorical) -> None:
        if isinstance(values, Categorical):  # counted by code, never as Python strings
            self.distributions.update_codes(column, values.codes, values.categories)
        else:
            self.distributions.update({column: values})

    def merge(self, other: DriftFold) -> Self:
        """Fold ``other`` (same ``max_features``) into this window's fold and return it.

        Exact: the first ``max_features`` names of both parts' kept columns are the first
        of every column with values in either part, and each of those was kept, whole,
        in every part where it has values.
        """
        if other.max_features != self.max_features:
            raise ValueError(
                f"cannot merge drift folds of {self.max_features} and {other.max_features} features"
            )
        self.distributions.merge(other.distributions)
        self.seen |= other.seen
        self.valued |= other.valued
        self._kept = sorted(self._index | other._index)
        self._index = set(self._kept)
        self._trim()
        return self

    @property
    def nbytes(self) -> int:
        """Bytes held by the distributions (the name sets add a few per column)."""
        return self.distributions.nbytes

    @property
    def feature_columns(self) -> tuple[str, ...]:
        """The feature columns whose distributions are kept, by name."""
        return tuple(self._kept)

    def _fits(self, column: str) -> bool:
        """Whether a new feature column would be among the first ``max_features``."""
        return len(self._kept) < self.max_features or column < self._kept[-1]

    def _note_values(self, column: str) -> None:
        numeric = self.distributions.numeric(column)
        text = self.distributions.categorical(column)
        if (numeric is not None and numeric.n) or (text is not None and text.n):
            self.valued.add(column)

    def _trim(self) -> None:
        """Drop the distributions of feature columns beyond the first ``max_features``."""
        while len(self._kept) > self.max_features:
            column = self._kept.pop()
            self._index.discard(column)
            self.distributions.discard(column)

    def __repr__(self) -> str:
        return (
            f"DriftFold(columns={len(self.distributions.columns)}, seen={len(self.seen)}, "
            f"max_features={self.max_features})"
        )


def _has_values(values: npt.NDArray[Any] | Categorical) -> bool:
    if isinstance(values, Categorical):
        return bool((values.codes >= 0).any())
    if values.dtype.kind in "biuf":
        return bool(np.isfinite(values).any())
    import pandas as pd  # here: a check without drift never imports it

    return bool(pd.notna(values).any())
