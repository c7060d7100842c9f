"""Text cells that are not UTF-8: found per row, so one bad cell refuses one row.

Parquet has a plain ``BYTE_ARRAY`` type beside its UTF-8 string type, and some writers
put model ids and segments there; others write string columns whose bytes are not
UTF-8 at all. Arrow reads both without complaint, and the first conversion that needs
text (a model-id look-up, a category, the quarantine's JSON) would then fail for the
whole batch, or, for binary ids, match no model. :func:`with_valid_text` decodes every
binary column as UTF-8 and checks every text column's bytes, per cell: the batch's
columns come back as text, a cell that is not UTF-8 is shown with its bad bytes escaped
(``support-bot\\xff``), and its row is listed in ``invalid_text`` for the quarantine.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from monitor.chunk import I64, Bool
from monitor.ingest.batch import RawBatch

__all__ = ["with_valid_text"]


def _is_binary(kind: pa.DataType) -> bool:
    return bool(pa.types.is_binary(kind) or pa.types.is_large_binary(kind))


def _is_string(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _decoded(values: pa.Array) -> tuple[pa.Array, Bool]:
    """``values`` (binary or text) as text, and which cells were not UTF-8."""
    target = (
        pa.large_string()
        if values.type in (pa.large_binary(), pa.large_string())
        else (pa.string())
    )
    if _is_string(values.type):
        try:
            values.validate(full=True)
            return values, np.zeros(len(values), bool)
        except pa.ArrowInvalid:
            values = values.view(pa.large_binary() if target == pa.large_string() else pa.binary())
    else:
        try:
            return values.cast(target), np.zeros(len(values), bool)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    # Rare: some cell is not UTF-8. Decode cell by cell, escaping the bad bytes.
    cells = values.to_pylist()
    bad = np.zeros(len(cells), bool)
    texts: list[str | None] = []
    for i, cell in enumerate(cells):
        if cell is None:
            texts.append(None)
            continue
        try:
            texts.append(cell.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(cell.decode("utf-8", errors="backslashreplace"))
            bad[i] = True
    return pa.array(texts, target), bad


def _checked(values: pa.Array) -> tuple[pa.Array, Bool] | None:
    """The column as valid text and its bad rows, or ``None`` when it holds no text."""
    kind = values.type
    if pa.types.is_dictionary(kind):
        if not (_is_binary(kind.value_type) or _is_string(kind.value_type)):
            return None
        dictionary, bad_entry = _decoded(values.dictionary)
        if not bad_entry.any() and dictionary.type == kind.value_type:
            return values, np.zeros(len(values), bool)
        indices = values.indices
        at = np.asarray(indices.fill_null(0).to_numpy(zero_copy_only=False), np.intp)
        bad = bad_entry[at] if len(bad_entry) else np.zeros(len(values), bool)
        if indices.null_count:
            bad &= np.asarray(indices.is_valid().to_numpy(zero_copy_only=False), bool)
        return pa.DictionaryArray.from_arrays(indices, dictionary), bad
    if _is_binary(kind) or _is_string(kind):
        return _decoded(values)
    return None


def with_valid_text(batch: RawBatch) -> RawBatch:
    """``batch`` with every binary column as text and ``invalid_text`` set to the rows
    that hold a cell that is not UTF-8 (``None`` when there are none)."""
    rows: Bool | None = None
    columns = dict(batch.columns)
    for name, values in batch.columns.items():
        checked = _checked(values)
        if checked is None:
            continue
        columns[name], bad = checked
        if bad.any():
            rows = bad if rows is None else rows | bad
    batch.columns = columns
    invalid: I64 | None = None if rows is None else np.flatnonzero(rows).astype(np.int64)
    batch.invalid_text = invalid
    return batch
