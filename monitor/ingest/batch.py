"""One record batch as read, and its columns converted at most once each."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from monitor.chunk import F64, I8, I32, I64, U64, Bool
from monitor.ingest import coerce
from monitor.ingest.dedup import hash_ids
from monitor.ingest.plan import IngestPlan
from monitor.ingest.transforms import add_derived
from thresholds.schema import ColumnMapping

__all__ = ["BatchColumns", "RawBatch"]

T = TypeVar("T")


@dataclass
class RawBatch:
    """Columns as read (only those ingest needs), with their rows' numbers in the file."""

    columns: dict[str, pa.Array]
    found: list[str]  # every column of the file (or JSON block), for error messages
    row_numbers: I64
    untyped: bool = False  # CSV: every cell is text
    malformed: list[tuple[int, str]] = field(default_factory=list)
    #: Lines refused whole before they became rows: (row number, text, reason), e.g. a
    #: JSON line too long to hold, with a key given twice, or text that is not Unicode.
    refused: list[tuple[int, str, str]] = field(default_factory=list)
    #: Rows (positions in this batch) with a text cell that is not UTF-8.
    invalid_text: I64 | None = None
    #: Columns the register's ingest transforms derived (private names; never quarantined).
    derived: dict[str, pa.Array] = field(default_factory=dict)
    #: On a file's first batch, when the reader knows it (a Parquet footer): the file's
    #: rows. De-duplication sizes its filter for them once (``ExactSeen.expect``).
    file_rows: int = 0

    @property
    def n(self) -> int:
        return len(self.row_numbers)

    @property
    def nbytes(self) -> int:
        """Bytes of its Arrow columns (those read and those derived)."""
        arrays = [*self.columns.values(), *self.derived.values()]
        return sum(int(a.nbytes) for a in arrays)


class BatchColumns:
    """One batch's columns, each converted at most once, over all rows of the batch.

    Models with different mappings share most columns (``output_type``, ``correct`` …);
    converting whole columns once and indexing NumPy arrays per group is cheaper than
    taking Arrow rows per group and converting each part.
    """

    def __init__(self, batch: RawBatch) -> None:
        self.batch = batch
        self.n = batch.n
        self._cache: dict[tuple[str, str], Any] = {}

    def has(self, name: str) -> bool:
        return name in self.batch.columns or name in self.batch.derived

    def column(self, name: str) -> pa.Array | None:
        """A logged or derived column, or None."""
        values = self.batch.columns.get(name)
        return self.batch.derived.get(name) if values is None else values

    def _get(self, kind: str, name: str, make: Callable[[], T]) -> T:
        key = (kind, name)
        if key not in self._cache:
            self._cache[key] = make()
        return cast(T, self._cache[key])

    def text(self, name: str) -> pa.Array:
        values = self.column(name)
        return self._get(
            "text",
            name,
            lambda: pa.nulls(self.n, pa.string()) if values is None else coerce.as_text(values),
        )

    def missing_text(self, name: str) -> Bool:
        values = self.column(name)
        if values is not None and pa.types.is_dictionary(values.type):
            return self._get("missing", name, lambda: coerce.missing_text(values))
        return self._get("missing", name, lambda: coerce.missing_text(self.text(name)))

    def id_hash(self, name: str) -> U64:
        return self._get("hash", name, lambda: hash_ids(self.text(name)))

    def dedup_hashes(self, name: str, hasher: Callable[[pa.Array], U64]) -> U64:
        """The de-duplication hashes of every row's id (``ExactSeen.hashes``)."""
        return self._get("dedup", name, lambda: hasher(self.text(name)))

    def hashed(self, name: str) -> U64 | None:
        """:meth:`dedup_hashes`, if they were computed already (by :meth:`warm`)."""
        found: U64 | None = self._cache.get(("dedup", name))
        return found

    def floats(self, name: str) -> tuple[F64, Bool]:
        return self._get("floats", name, lambda: coerce.floats(self.column(name), self.n))

    def booleans(self, name: str) -> tuple[I8, Bool]:
        return self._get("booleans", name, lambda: coerce.booleans(self.column(name), self.n))

    def timestamps(self, name: str) -> tuple[I64, Bool, Bool]:
        values = self.column(name)
        return self._get(
            "timestamps",
            name,
            lambda: coerce.timestamps(pa.nulls(self.n) if values is None else values),
        )

    def categorical(self, name: str) -> tuple[I32, list[str]] | None:
        return self._get("categorical", name, lambda: coerce.categorical(self.column(name)))

    def feature(self, name: str) -> npt.NDArray[Any] | tuple[I32, list[str]] | None:
        return self._get(
            "feature", name, lambda: coerce.feature(self.batch.columns[name], self.batch.untyped)
        )

    def warm(self, plan: IngestPlan, dedup: Callable[[pa.Array], U64] | None = None) -> None:
        """Convert every column the plan may use, ahead of time, and hash the ids with
        ``dedup`` (the seen-set's :meth:`~monitor.ingest.dedup_exact.ExactSeen.hashes`).

        Runs in the reader thread: Arrow and NumPy release the GIL for the heavy loops,
        so conversion of the next batch overlaps with validation of this one.
        """
        if self.n == 0:
            return
        if plan.derived:
            self.batch.derived.update(add_derived(self.batch.columns, plan.derived))
        for column in plan.model_id_columns:
            if self.has(column):
                self.categorical(column)
        for group in plan.groups:
            mapping = group.mapping
            if not self.has(mapping.model_id):
                continue
            self.missing_text(mapping.prediction_id)
            if plan.samples_drift:
                self.id_hash(mapping.prediction_id)
            if dedup is not None:
                self.dedup_hashes(mapping.prediction_id, dedup)
            self.timestamps(mapping.timestamp)
            for name in (mapping.confidence, mapping.latency_ms, mapping.quality_score):
                if self.has(name):
                    self.floats(name)
            for name in (mapping.error, mapping.format_valid, mapping.followup):
                if self.has(name):
                    self.booleans(name)
            for name in (
                mapping.output_type,
                mapping.failure_mode,
                mapping.segment,
                mapping.prediction,
            ):
                if self.has(name):
                    self.categorical(name)
            self.correct(mapping)
            prefix = mapping.feature_prefix
            for name in self.batch.columns:
                if name.startswith(prefix) and name != prefix and name not in plan.contract:
                    self.feature(name)

    def correct(self, mapping: ColumnMapping) -> I8 | None:
        """``correct`` as logged, filled from ``prediction == label`` where it is null."""
        key = f"{mapping.correct}\0{mapping.prediction}\0{mapping.label}"
        return self._get("correct", key, lambda: self._judge(mapping))

    def _judge(self, mapping: ColumnMapping) -> I8 | None:
        correct = self.booleans(mapping.correct)[0].copy() if self.has(mapping.correct) else None
        if not (self.has(mapping.prediction) and self.has(mapping.label)):
            return correct
        if correct is None:
            correct = np.full(self.n, -1, np.int8)
        columns = self.batch.columns
        judged = coerce.equal_text(columns[mapping.prediction], columns[mapping.label])
        fill = (correct < 0) & (judged >= 0)
        correct[fill] = judged[fill]
        return correct
