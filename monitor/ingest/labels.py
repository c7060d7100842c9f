"""Late labels: outcomes that arrive after the predictions, joined by ``prediction_id``.

A labels file holds ``prediction_id`` plus ``correct``, ``label`` and/or
``quality_score`` (contract names), and optionally ``model_id`` (then the join is per
model, with the duplicate keys' salts). A non-null label value fills or overrides the
log's; for an id labelled twice, the later row wins. ``correct`` is judged from
``prediction == label`` where only a label is given.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from monitor.chunk import F64, I8, U64, Bool, Idx
from monitor.errors import LabelsError
from monitor.ingest import coerce
from monitor.ingest.batch import BatchColumns
from monitor.ingest.dedup import hash_ids
from monitor.ingest.plan import ColumnSelection, IngestPlan
from monitor.ingest.readers import jsonl_batches, open_binary
from monitor.ingest.sources import LogFile, log_format
from thresholds.schema import ColumnMapping

__all__ = ["LateLabels"]


#: A labels file is read whole, every column of it as JSON (no register involved).
_SELECTION = ColumnSelection(
    contract=frozenset({"prediction_id", "model_id", "correct", "label", "quality_score"}),
    json_text=frozenset({"model_id"}),
)


@dataclass
class LateLabels:
    """Late labels, sorted by key for ``searchsorted`` look-ups."""

    keys: U64
    per_model: bool
    correct: I8 | None
    label: pa.Array | None
    quality: F64 | None

    @classmethod
    def load(cls, path: str | Path, plan: IngestPlan) -> LateLabels:
        """Read and index a labels file; every problem is a :class:`LabelsError`."""
        name = str(path)
        file = Path(path)
        kind = log_format(file.name)
        if not file.is_file():
            raise LabelsError(name, "no such file")
        if kind is None:
            raise LabelsError(name, "unknown format; use .parquet, .csv or .jsonl")
        table = _read_labels_table(file, kind)
        names = table.schema.names
        if "prediction_id" not in names:
            raise LabelsError(
                name, f"has no 'prediction_id' column; found: {', '.join(names) or '(none)'}"
            )
        values = [c for c in ("correct", "label", "quality_score") if c in names]
        if not values:
            raise LabelsError(
                name,
                "needs at least one of the columns 'correct', 'label', 'quality_score';"
                f" found: {', '.join(names)}",
            )
        ids = coerce.chunked(table["prediction_id"])
        keep = ~coerce.missing_text(ids)
        per_model = "model_id" in names
        if per_model:
            models = coerce.as_text(coerce.chunked(table["model_id"])).to_pylist()
            ordinal = np.array([plan.ordinal.get(m, -1) if m else -1 for m in models], np.int64)
            keep &= ordinal >= 0
        rows = np.flatnonzero(keep)
        table = table.take(pa.array(rows))
        keys = hash_ids(coerce.as_text(coerce.chunked(table["prediction_id"])))
        if per_model:
            keys ^= plan.salt[ordinal[rows]]
        correct = label = quality = None
        if "correct" in names:
            correct, _ = coerce.booleans(coerce.chunked(table["correct"]), table.num_rows)
        if "label" in names:
            label = coerce.as_text(coerce.chunked(table["label"]))
        if "quality_score" in names:
            quality, unreadable = coerce.floats(
                coerce.chunked(table["quality_score"]), table.num_rows
            )
            bad = unreadable | (quality < 0) | (quality > 1)
            if bad.any():
                first = int(np.flatnonzero(bad)[0])
                raise LabelsError(
                    name,
                    f"{int(bad.sum())} quality_score value(s) are not numbers in [0, 1]"
                    f" (first: row {int(rows[first])}); fix or drop them",
                )
        # Later rows win: the newest label for an id is the one that counts.
        order = np.argsort(keys, kind="stable")
        sorted_keys = keys[order]
        last = np.ones(len(order), bool)
        last[:-1] = sorted_keys[1:] != sorted_keys[:-1]
        order = order[last]
        return cls(
            keys=sorted_keys[last],
            per_model=per_model,
            correct=None if correct is None else correct[order],
            label=None if label is None else label.take(pa.array(order)),
            quality=None if quality is None else quality[order],
        )

    def lookup(self, keys: U64) -> tuple[Bool, Idx]:
        """Which keys have labels, and their positions in this index."""
        if len(self.keys) == 0:
            return np.zeros(len(keys), bool), np.zeros(len(keys), np.intp)
        at = np.searchsorted(self.keys, keys)
        np.minimum(at, len(self.keys) - 1, out=at)
        return self.keys[at] == keys, at

    def join(
        self,
        columns: BatchColumns,
        mapping: ColumnMapping,
        rows: Idx,
        salts: Callable[[], U64],
        correct: I8 | None,
        quality: F64 | None,
    ) -> tuple[I8 | None, F64 | None, int]:
        """Late labels fill or override the log's values on ``rows`` of the batch.

        ``salts`` gives the rows' model salts (needed only when labels are per model).
        Returns the new ``correct`` and ``quality`` columns (copies: the batch's cached
        arrays are shared with other groups) and how many rows found a label.
        """
        keys = columns.id_hash(mapping.prediction_id)[rows]
        if self.per_model:
            keys = keys ^ salts()
        found, where = self.lookup(keys)
        joined = int(np.count_nonzero(found))
        rows, where = rows[found], where[found]
        has_prediction = columns.has(mapping.prediction)
        if self.correct is not None or (self.label is not None and has_prediction):
            correct = np.full(columns.n, -1, np.int8) if correct is None else correct.copy()
            if self.label is not None and has_prediction and len(rows):
                judged = coerce.equal_text(
                    columns.text(mapping.prediction).take(pa.array(rows)),
                    self.label.take(pa.array(where)),
                )
                given = judged >= 0
                correct[rows[given]] = judged[given]
            if self.correct is not None and len(rows):
                value = self.correct[where]
                given = value >= 0
                correct[rows[given]] = value[given]
        if self.quality is not None:
            quality = np.full(columns.n, np.nan) if quality is None else quality.copy()
            score = self.quality[where]
            graded = ~np.isnan(score)
            quality[rows[graded]] = score[graded]
        return correct, quality, joined


def _read_labels_table(file: Path, kind: str) -> pa.Table:
    name = str(file)
    try:
        if kind == "parquet":
            return pq.read_table(file)
        if kind == "csv":
            text = {c: pa.string() for c in ("prediction_id", "model_id", "correct", "label")}
            return pcsv.read_csv(
                file,
                convert_options=pcsv.ConvertOptions(
                    column_types={**text, "quality_score": pa.string()},
                    strings_can_be_null=True,
                    null_values=[""],
                ),
            )
        with open_binary(file) as handle:
            tables = []
            for batch in jsonl_batches(handle, LogFile(name, name, 0), _SELECTION, 1 << 20):
                if batch.malformed:
                    number, _ = batch.malformed[0]
                    raise LabelsError(name, f"line {number + 1} is not a JSON object")
                if batch.refused:
                    number, _, reason = batch.refused[0]
                    raise LabelsError(name, f"line {number + 1} is refused: {reason}")
                tables.append(pa.table(batch.columns))
            if not tables:
                return pa.table({})
            return pa.concat_tables(tables, promote_options="permissive")
    except LabelsError:
        raise
    except (pa.ArrowException, OSError, EOFError) as exc:
        raise LabelsError(name, f"cannot be read ({exc})") from None
