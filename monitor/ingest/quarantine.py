"""The quarantine file: every log row that broke the contract, with the reason.

Rows are never dropped silently. Ingest hands each bad row here with where it came
from (file and 0-based row number), why it was refused, and the row itself as JSON, and
the report counts them. The file is one Parquet file with an all-string schema
(:data:`QUARANTINE_SCHEMA`) so any tool can open it, whatever the logs' types were.

The file is written to ``<path>.tmp`` and renamed into place by :meth:`close`, so a
crashed run never leaves a half-written quarantine that looks complete. A run that
quarantined nothing still writes a valid, empty file with the schema.
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from monitor.chunk import Idx
from monitor.ingest import coerce
from monitor.ingest.accounting import IngestStats
from monitor.ingest.batch import RawBatch

__all__ = [
    "MAX_CELL_CHARS",
    "QUARANTINE_SCHEMA",
    "QuarantineBuffer",
    "QuarantineWriter",
    "row_json",
    "rows_json",
]


#: Longer text cells are cut to this many characters in ``row_json``.
MAX_CELL_CHARS = 10_000

QUARANTINE_SCHEMA = pa.schema(
    [
        ("source_file", pa.string()),
        ("row_number", pa.string()),  # 0-based row in the file; "" when the parser cannot tell
        ("reason", pa.string()),
        ("model_id", pa.string()),
        ("prediction_id", pa.string()),
        ("row_json", pa.string()),
    ]
)

#: Buffered rows written as one Parquet row group.
_FLUSH_ROWS = 65_536


def _cell(value: Any) -> Any:
    kind = type(value)
    # Exact type checks first: this runs for every cell of every quarantined row.
    if kind is str:
        if len(value) > MAX_CELL_CHARS:
            cut = len(value) - MAX_CELL_CHARS
            return f"{value[:MAX_CELL_CHARS]}…[truncated {cut} chars]"
        return value
    if kind is float:
        # JSON has no NaN/Infinity literals; keep the value visible and the JSON strict.
        return value if math.isfinite(value) else repr(value)
    if value is None or kind is int or kind is bool:
        return value
    if not isinstance(value, (bytes, float, str, dict, list, tuple)):
        return value  # dates, times, decimals: json.dumps(default=str) writes them
    if isinstance(value, bytes):
        return _cell(value.decode("utf-8", errors="replace"))
    if isinstance(value, float):
        return _cell(float(value))
    if isinstance(value, str):
        return _cell(str(value))
    if isinstance(value, dict):
        return {str(k): _cell(v) for k, v in value.items()}
    return [_cell(v) for v in value]


def row_json(row: Mapping[str, Any]) -> str:
    """One row as strict JSON: text cells over :data:`MAX_CELL_CHARS` are truncated with a
    marker, non-finite floats become strings, other values use their ``str``."""
    try:
        # Most rows need no cell rewritten: a short strict encoding proves it.
        text = json.dumps(row, ensure_ascii=False, default=str, allow_nan=False)
        if len(text) <= MAX_CELL_CHARS:
            return text
    except ValueError:
        pass
    return json.dumps({str(k): _cell(v) for k, v in row.items()}, ensure_ascii=False, default=str)


_NEEDS_ESCAPE = r'["\\\x00-\x1f]'


def _json_text(values: pa.Array) -> pa.Array:
    """Text cells as JSON strings (truncated past :data:`MAX_CELL_CHARS`); null stays null."""
    longest = pc.max(pc.utf8_length(values)).as_py()
    if longest is not None and longest > MAX_CELL_CHARS:
        length = pc.utf8_length(values)
        cut = pc.cast(pc.subtract(length, MAX_CELL_CHARS), pa.string())
        shortened = pc.binary_join_element_wise(
            pc.utf8_slice_codeunits(values, 0, MAX_CELL_CHARS), "…[truncated ", cut, " chars]", ""
        )
        values = pc.if_else(pc.greater(length, MAX_CELL_CHARS), shortened, values)
    if pc.any(pc.match_substring_regex(values, _NEEDS_ESCAPE)).as_py():
        # Quotes, backslashes, control characters: rare in logs, so let json escape them.
        return pa.array(
            [None if v is None else json.dumps(v, ensure_ascii=False) for v in values.to_pylist()],
            pa.string(),
        )
    return pc.binary_join_element_wise('"', values, '"', "")


def _json_values(values: pa.Array) -> pa.Array:
    """Each cell as JSON value text, ``null`` for nulls, matching :func:`row_json`."""
    kind = values.type
    if pa.types.is_dictionary(kind):
        values = values.dictionary_decode()
        kind = values.type
    if pa.types.is_boolean(kind) or pa.types.is_integer(kind):
        text = pc.cast(values, pa.string())
    elif pa.types.is_floating(kind):
        text = pc.cast(values, pa.string())
        # JSON has no NaN/Infinity: such cells become strings, as in row_json.
        quoted = pc.binary_join_element_wise('"', text, '"', "")
        text = pc.if_else(pc.is_finite(values), text, quoted)
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = _json_text(values)
    elif pa.types.is_temporal(kind) or pa.types.is_decimal(kind):
        text = _json_text(pc.cast(values, pa.string()))
    elif pa.types.is_null(kind):
        text = pa.nulls(len(values), pa.string())
    else:  # nested, binary: rare in logs; let Python encode them
        text = pa.array(
            [json.dumps(_cell(v), ensure_ascii=False, default=str) for v in values.to_pylist()],
            pa.string(),
        )
    return pc.fill_null(text, "null")


def rows_json(table: pa.Table) -> pa.Array:
    """Every row of ``table`` as strict JSON text, built column-wise by Arrow.

    The vectorised twin of :func:`row_json` (same keys, values and truncation): a
    quarantine of many rows costs microseconds per row, not tens of them.
    """
    if table.num_columns == 0:
        return pa.array(["{}"] * table.num_rows, pa.string())
    parts: list[Any] = []
    for i, (name, column) in enumerate(zip(table.schema.names, table.columns, strict=True)):
        parts.append(("{" if i == 0 else ",") + json.dumps(name, ensure_ascii=False) + ":")
        parts.append(_json_values(column.combine_chunks()))
    parts.append("}")
    return pc.binary_join_element_wise(*parts, "")


class QuarantineWriter:
    """Append quarantined rows to one Parquet file, published atomically on close.

    Parameters
    ----------
    path
        The final file. Its parent directory is created if needed; the rows go to
        ``<path>.tmp`` until :meth:`close` renames it over ``path``.

    Examples
    --------
    >>> with QuarantineWriter(out / "quarantine.parquet") as quarantine:  # doctest: +SKIP
    ...     for chunk in read_logs(paths, register, windows, quarantine=quarantine):
    ...         ...
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.tmp_path = self.path.with_name(self.path.name + ".tmp")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
            str(self.tmp_path), QUARANTINE_SCHEMA, compression="zstd"
        )
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self.rows_written = 0
        self._closed = False

    def write(self, rows: pa.Table) -> None:
        """Append rows; ``rows`` must have the columns of :data:`QUARANTINE_SCHEMA`."""
        if self._closed:
            raise ValueError(f"quarantine {self.path} is already closed")
        if rows.num_rows == 0:
            return
        self._pending.append(rows.select(QUARANTINE_SCHEMA.names).cast(QUARANTINE_SCHEMA))
        self._pending_rows += rows.num_rows
        self.rows_written += rows.num_rows
        if self._pending_rows >= _FLUSH_ROWS:
            self._flush()

    def write_rows(
        self,
        *,
        source_file: str,
        row_numbers: Sequence[int],
        reasons: Sequence[str],
        model_ids: Sequence[str | None],
        prediction_ids: Sequence[str | None],
        rows: Sequence[Mapping[str, Any]] | Sequence[str],
    ) -> None:
        """Append rows given column by column; ``rows`` are dicts (encoded with
        :func:`row_json`) or already-encoded JSON strings. Row number ``-1`` = unknown."""
        encoded = [r if isinstance(r, str) else row_json(r) for r in rows]
        self.write(
            pa.table(
                {
                    "source_file": pa.array([source_file] * len(encoded), pa.string()),
                    "row_number": pa.array(
                        [str(int(r)) if r >= 0 else "" for r in row_numbers], pa.string()
                    ),
                    "reason": pa.array(list(reasons), pa.string()),
                    "model_id": pa.array(list(model_ids), pa.string()),
                    "prediction_id": pa.array(list(prediction_ids), pa.string()),
                    "row_json": pa.array(encoded, pa.string()),
                }
            )
        )

    def _flush(self) -> None:
        if not self._pending or self._writer is None:
            return
        self._writer.write_table(pa.concat_tables(self._pending))
        self._pending = []
        self._pending_rows = 0

    def close(self) -> None:
        """Flush, close and atomically rename the file into place. Idempotent."""
        if self._closed:
            return
        self._flush()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        os.replace(self.tmp_path, self.path)
        self._closed = True

    def abort(self) -> None:
        """Discard everything written: the temporary file is removed, ``path`` untouched."""
        if self._closed:
            return
        self._closed = True
        self._pending = []
        if self._writer is not None:
            try:
                self._writer.close()
            finally:
                self._writer = None
                self.tmp_path.unlink(missing_ok=True)

    def __enter__(self) -> QuarantineWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class QuarantineBuffer:
    """One batch's quarantined rows: counted at once, written in file order at its end.

    Encoding the rows as JSON is deferred to :meth:`flush`, so the parts of a batch
    (several model groups, unattributed rows) cost one :func:`rows_json` call. Without
    a writer the rows are only counted.
    """

    def __init__(self, writer: QuarantineWriter | None, stats: IngestStats) -> None:
        self.writer = writer
        self.stats = stats
        self._tables: list[pa.Table] = []
        self._rows: list[tuple[RawBatch, str, Idx, list[str], str, str]] = []

    def _count(self, reasons: Sequence[str], models: Sequence[str]) -> None:
        stats = self.stats
        stats.rows_quarantined += len(reasons)
        for key, count in Counter(reasons).items():
            stats.count(stats.quarantined_by_reason, key, count)
        for key, count in Counter(models).items():
            stats.count(stats.quarantined_by_model, key, count)
        for (model, reason), count in Counter(zip(models, reasons, strict=True)).items():
            stats.count(stats.quarantined_by_model_reason.setdefault(model, {}), reason, count)

    def add(
        self,
        batch: RawBatch,
        source: str,
        rows: Idx,
        reasons: list[str],
        models: Sequence[str],
        *,
        model_column: str,
        id_column: str,
    ) -> None:
        """Quarantine ``rows`` of ``batch`` (read from file ``source``) for ``reasons``,
        counted under ``models``; ``model_column`` and ``id_column`` name the columns the
        quarantine file shows as the row's model and prediction id."""
        self._count(reasons, models)
        if self.writer is not None:
            self._rows.append((batch, source, rows, reasons, model_column, id_column))

    def add_malformed(
        self,
        malformed: list[tuple[int, str]],
        source: str,
        model: str,
        *,
        reasons: Sequence[str] | None = None,
    ) -> None:
        """Quarantine lines the parser could not read as rows: ``malformed_line``, or one
        reason per line (``line_too_long``, ``duplicate_key``, ``invalid_text``)."""
        reasons = list(reasons) if reasons is not None else ["malformed_line"] * len(malformed)
        self._count(reasons, [model] * len(malformed))
        if self.writer is not None:
            self._tables.append(
                _quarantine_table(
                    source,
                    [number for number, _ in malformed],
                    reasons,
                    [None] * len(malformed),
                    [None] * len(malformed),
                    [row_json({"_line": text}) for _, text in malformed],
                )
            )

    def flush(self) -> None:
        """Write the batch's quarantined rows in file order."""
        if self._rows:
            self._encode_rows()
        if not self._tables or self.writer is None:
            return
        table = pa.concat_tables(self._tables)
        self._tables = []
        order = pc.sort_indices(table, sort_keys=[("_order", "ascending")])
        self.writer.write(table.take(order).drop_columns(["_order"]))

    def _encode_rows(self) -> None:
        pieces, self._rows = self._rows, []
        batch, source = pieces[0][0], pieces[0][1]
        every = np.concatenate([rows for _, _, rows, _, _, _ in pieces])
        table = pa.table(
            {name: values.take(pa.array(every)) for name, values in batch.columns.items()}
        )
        cells = rows_json(table)
        start = 0
        for _, _, rows, reasons, model_column, id_column in pieces:
            stop = start + len(rows)

            def text(name: str, start: int = start, stop: int = stop) -> list[str | None]:
                if name not in table.column_names:
                    return [None] * (stop - start)
                values: list[str | None] = coerce.as_text(
                    table[name].slice(start, stop - start).combine_chunks()
                ).to_pylist()
                return values

            self._tables.append(
                _quarantine_table(
                    source,
                    batch.row_numbers[rows].tolist(),
                    reasons,
                    text(model_column),
                    text(id_column),
                    cells.slice(start, stop - start),
                )
            )
            start = stop


def _quarantine_table(
    source: str,
    numbers: list[int],
    reasons: list[str],
    model_ids: list[str | None],
    prediction_ids: list[str | None],
    cells: list[str] | pa.Array,
) -> pa.Table:
    """Quarantine rows plus an ``_order`` key (unknown row numbers sort last)."""
    return pa.table(
        {
            "source_file": pa.array([source] * len(numbers), pa.string()),
            "row_number": pa.array([str(n) if n >= 0 else "" for n in numbers], pa.string()),
            "reason": pa.array(reasons, pa.string()),
            "model_id": pa.array(model_ids, pa.string()),
            "prediction_id": pa.array(prediction_ids, pa.string()),
            "row_json": pa.array(cells, pa.string()),
            "_order": pa.array([n if n >= 0 else 2**62 for n in numbers], pa.int64()),
        }
    )
