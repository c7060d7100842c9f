"""Log columns as NumPy arrays: one vectorised conversion per contract type.

Every function takes an Arrow array as a reader produced it (typed Parquet columns,
CSV text, JSON values, dictionary-encoded text) and returns NumPy arrays plus a mask of
the cells that could not be read, so validation can name the reason row by row. A
dictionary column is converted once per distinct value and spread over the rows.

* **Numbers** (:func:`floats`): any numeric type; text is parsed, and text that is not
  a number is flagged (``nan`` is a number, an empty cell is null).
* **Booleans** (:func:`booleans`) in text accept ``true/false``, ``t/f``, ``yes/no``,
  ``y/n``, ``1/0`` and ``1.0/0.0``, any case; 1 / 0 / -1 (null).
* **Timestamps** (:func:`timestamps`): Parquet timestamps with a zone are UTC instants,
  naive ones are taken as UTC (and flagged as naive). Text must be ISO 8601:
  ``YYYY-MM-DD``, optionally ``[T ]hh[:mm[:ss[.f…]]]`` and, after a time, ``Z`` or
  ``±hh[[:]mm]``. Integer timestamps (integer columns, or text that is only digits)
  are epoch **milliseconds** when they fall in 2000-01-01 … 2100-01-01, and unreadable
  otherwise. Float columns are refused.
* **Categories** (:func:`categorical`, :func:`subset_categorical`): dictionary codes;
  labels longer than :data:`MAX_LABEL_CHARS` are cut with a ``…[+N chars]`` marker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from monitor.chunk import F64, I8, I32, I64, Bool, Categorical, Idx

__all__ = [
    "EPOCH_MS_MAX",
    "EPOCH_MS_MIN",
    "MAX_LABEL_CHARS",
    "as_text",
    "booleans",
    "categorical",
    "chunked",
    "equal_text",
    "feature",
    "flags",
    "floats",
    "is_number",
    "is_text",
    "missing_text",
    "not_null",
    "subset_categorical",
    "timestamps",
]


#: Category labels (output types, segments, annotations, predictions) are names, not
#: payloads: longer ones are cut to this many characters with a marker in the chunks, so
#: one 5 MB cell cannot become a 5 MB key of the report, its HTML and its aggregates.
MAX_LABEL_CHARS = 200

#: Epoch milliseconds accepted for integer timestamps: 2000-01-01 .. 2100-01-01 (UTC).
EPOCH_MS_MIN = 946_684_800_000
EPOCH_MS_MAX = 4_102_444_800_000
_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
_INT64_MAX = np.iinfo(np.int64).max

_TIME = r"[T ]\d{2}(?::\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?"
_ISO_NAIVE = rf"^\d{{4}}-\d{{2}}-\d{{2}}(?:{_TIME})?$"
_ISO_AWARE = rf"^\d{{4}}-\d{{2}}-\d{{2}}{_TIME}(?:Z|[+-]\d{{2}}(?::?\d{{2}})?)$"
_DIGITS = r"^[+-]?\d{1,19}$"
_NAN_TEXT = r"^[+-]?nan$"

_TRUE = ("true", "t", "yes", "y", "1", "1.0")
_FALSE = ("false", "f", "no", "n", "0", "0.0")


def chunked(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    return values


def is_text(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or str(kind) == "string_view"
    )


def is_number(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_boolean(kind)
    )


def flags(values: pa.Array, null: bool = False) -> Bool:
    """An Arrow boolean array as NumPy, nulls as ``null``."""
    return np.asarray(pc.fill_null(values, null).to_numpy(zero_copy_only=False), bool)


def not_null(values: pa.Array) -> Bool:
    if values.null_count == 0:
        return np.ones(len(values), bool)
    return np.asarray(values.is_valid().to_numpy(zero_copy_only=False), bool)


def _through_dictionary(values: pa.Array, convert: Callable[[pa.Array], Any], fill: Any) -> Any:
    """Apply ``convert`` (which returns a tuple of arrays) to a dictionary's values once,
    then spread the results over the rows; null rows get ``fill``."""
    parts = convert(values.dictionary)
    indices = values.indices
    valid = not_null(indices)
    at = indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.intp, copy=False)
    out = []
    for part, empty in zip(parts, fill, strict=True):
        taken = part[at] if len(part) else np.full(len(at), empty, part.dtype)
        if not valid.all():
            taken[~valid] = empty
        out.append(taken)
    return tuple(out)


def as_text(values: pa.Array) -> pa.Array:
    """Any column as plain (non-dictionary) text; numbers become their Arrow text."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if is_text(values.type):
        return values
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), pa.string())
    try:
        return pc.cast(values, pa.string())
    except pa.ArrowException:
        return pa.array([None if v is None else str(v) for v in values.to_pylist()], pa.string())


def missing_text(values: pa.Array) -> Bool:
    """Null or empty."""
    if pa.types.is_dictionary(values.type):
        (missing,) = _through_dictionary(values, lambda d: (missing_text(d),), (True,))
        return np.asarray(missing, bool)
    if not is_text(values.type) and not pa.types.is_binary(values.type):
        return ~not_null(values)
    return flags(pc.equal(pc.binary_length(values), 0), null=True)


def floats(values: pa.Array | None, n: int) -> tuple[F64, Bool]:
    """Numbers as float64 (NaN for null or unreadable) and which non-null cells were not
    numbers at all."""
    if values is None:
        return np.full(n, np.nan), np.zeros(n, bool)
    kind = values.type
    if pa.types.is_dictionary(kind):
        out: tuple[F64, Bool] = _through_dictionary(
            values, lambda d: floats(d, len(d)), (np.nan, False)
        )
        return out
    if is_number(kind):
        # Unsafe: an integer past 2**53 is a (rounded) number, not a reason to stop the run.
        cast = values if pa.types.is_floating(kind) else pc.cast(values, pa.float64(), safe=False)
        return (
            np.asarray(cast.to_numpy(zero_copy_only=False), np.float64),
            np.zeros(len(values), bool),
        )
    if pa.types.is_null(kind):
        return np.full(len(values), np.nan), np.zeros(len(values), bool)
    if not is_text(kind):
        return np.full(len(values), np.nan), not_null(values)
    try:
        parsed = np.asarray(
            pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), np.float64
        )
    except pa.ArrowInvalid:
        # Some cell is not a number: pandas' C parser turns just those into NaN. Imported
        # here: only logs with such cells pay pandas' import (about 0.25 s).
        import pandas as pd

        series = pd.Series(values.to_numpy(zero_copy_only=False), dtype=object)
        parsed = pd.to_numeric(series.str.strip(), errors="coerce").to_numpy(np.float64)
    unreadable = np.isnan(parsed) & not_null(values)
    if unreadable.any():
        nan_text = pc.match_substring_regex(
            pc.utf8_trim_whitespace(values), _NAN_TEXT, ignore_case=True
        )
        unreadable &= ~flags(nan_text)
    return parsed, unreadable


def booleans(values: pa.Array | None, n: int) -> tuple[I8, Bool]:
    """1 / 0 / -1 (null) and which non-null cells were not booleans."""
    if values is None:
        return np.full(n, -1, np.int8), np.zeros(n, bool)
    kind = values.type
    if pa.types.is_dictionary(kind):
        out: tuple[I8, Bool] = _through_dictionary(
            values, lambda d: booleans(d, len(d)), (np.int8(-1), False)
        )
        return out
    if pa.types.is_boolean(kind):
        logged: I8 = flags(values).view(np.int8)
        if values.null_count:
            logged[~not_null(values)] = -1
        return logged, np.zeros(len(values), bool)
    valid = not_null(values)
    result = np.full(len(values), -1, np.int8)
    if is_number(kind):
        number, _ = floats(values, len(values))
        result[number == 1] = 1
        result[number == 0] = 0
        return result, valid & ~np.isnan(number) & (result < 0)
    if pa.types.is_null(kind):
        return result, np.zeros(len(values), bool)
    if not is_text(kind):
        return result, valid
    word = pc.utf8_lower(pc.utf8_trim_whitespace(values))
    truth = flags(pc.is_in(word, pa.array(_TRUE)))
    falsity = flags(pc.is_in(word, pa.array(_FALSE)))
    blank = flags(pc.equal(pc.binary_length(word), 0))
    result[truth] = 1
    result[falsity] = 0
    return result, valid & ~truth & ~falsity & ~blank


def categorical(values: pa.Array | None) -> tuple[I32, list[str]] | None:
    """Dictionary codes over the whole batch (categories may repeat or go unused)."""
    if values is None:
        return None
    if not pa.types.is_dictionary(values.type):
        values = pc.dictionary_encode(as_text(values))
    dictionary = values.dictionary
    if not is_text(dictionary.type):
        dictionary = as_text(dictionary)
    codes = np.asarray(values.indices.fill_null(-1).to_numpy(zero_copy_only=False), np.int32)
    names = dictionary.to_pylist()
    if None in names:
        gone = np.array([name is None for name in names] + [False])
        codes = np.where(gone[codes], -1, codes).astype(np.int32)
    return codes, ["" if name is None else name for name in names]


def _label(name: str) -> str:
    if len(name) <= MAX_LABEL_CHARS:
        return name
    return f"{name[:MAX_LABEL_CHARS]}…[+{len(name) - MAX_LABEL_CHARS} chars]"


def subset_categorical(
    whole: tuple[I32, list[str]], rows: Idx | None, *, cut: bool = True
) -> Categorical:
    """The chunk's own dictionary: unique categories, each used by some row; labels
    longer than :data:`MAX_LABEL_CHARS` are cut (cut labels that coincide merge) unless
    ``cut`` is false (features: drift compares their values whole)."""
    codes, names = whole
    if rows is not None:
        codes = codes[rows]
    if len(names) == 0:
        return Categorical(np.full(len(codes), -1, np.int32), [])
    if cut and max(map(len, names)) > MAX_LABEL_CHARS:
        names = [_label(name) for name in names]
    used = np.bincount(codes + 1, minlength=len(names) + 1)[1:] > 0
    if used.all() and len(set(names)) == len(names):
        return Categorical(np.asarray(codes, np.int32), list(names))
    remap = np.full(len(names) + 1, -1, np.int32)  # last slot: null stays -1
    kept = np.flatnonzero(used)
    kept_names = [names[code] for code in kept.tolist()]
    if len(set(kept_names)) == len(kept_names):
        # The usual case (a model's rows use some of the batch's categories): no name
        # repeats, so the used codes are renumbered in order without a Python loop.
        remap[kept] = np.arange(len(kept), dtype=np.int32)
        return Categorical(remap[codes], kept_names)
    categories: list[str] = []
    position: dict[str, int] = {}
    for code in np.flatnonzero(used).tolist():
        name = names[code]
        if name not in position:
            position[name] = len(categories)
            categories.append(name)
        remap[code] = position[name]
    return Categorical(remap[codes], categories)


def timestamps(values: pa.Array) -> tuple[I64, Bool, Bool]:
    """UTC ns since the epoch, which rows parsed, and which were naive (taken as UTC)."""
    n = len(values)
    kind = values.type
    zeros = np.zeros(n, bool)
    if pa.types.is_dictionary(kind):
        out: tuple[I64, Bool, Bool] = _through_dictionary(
            values, timestamps, (np.int64(0), False, False)
        )
        return out
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        if pa.types.is_date32(kind):
            raw, scale, naive = values.cast(pa.int32()).cast(pa.int64()), 86_400_000_000_000, True
        elif pa.types.is_date64(kind):
            raw, scale, naive = values.cast(pa.int64()), 1_000_000, True
        else:
            raw, scale, naive = values.cast(pa.int64()), _NS_PER_UNIT[kind.unit], kind.tz is None
        number = np.asarray(raw.fill_null(0).to_numpy(zero_copy_only=False), np.int64)
        ok = not_null(values) & (np.abs(number) <= _INT64_MAX // scale)
        ns = np.where(ok, number, 0) * scale
        return ns, ok, (ok.copy() if naive else zeros)
    if pa.types.is_integer(kind):
        number = np.asarray(
            pc.cast(values, pa.int64(), safe=False).fill_null(0).to_numpy(zero_copy_only=False),
            np.int64,
        )
        return _epoch_ms(number, not_null(values))
    if is_text(kind):
        return _parse_iso(values)
    return np.zeros(n, np.int64), zeros, zeros


def _epoch_ms(number: I64, valid: Bool) -> tuple[I64, Bool, Bool]:
    ok = valid & (number >= EPOCH_MS_MIN) & (number < EPOCH_MS_MAX)
    return np.where(ok, number, 0) * 1_000_000, ok, np.zeros(len(number), bool)


def _matches(values: pa.Array, pattern: str) -> Bool:
    return flags(pc.match_substring_regex(values, pattern))


def _parse_iso(values: pa.Array) -> tuple[I64, Bool, Bool]:
    n = len(values)
    text = pc.utf8_trim_whitespace(values)
    aware = _matches(text, _ISO_AWARE)
    naive = _matches(text, _ISO_NAIVE)
    ns = np.zeros(n, np.int64)
    ok = np.zeros(n, bool)
    for mask, target in ((aware, pa.timestamp("ns", "UTC")), (naive, pa.timestamp("ns"))):
        if mask.all():
            ns, ok = _cast_each(text, target)
        elif mask.any():
            part_ns, part_ok = _cast_each(text.filter(pa.array(mask)), target)
            ns[mask] = part_ns
            ok[mask] = part_ok
    digits = ~aware & ~naive
    if digits.any():
        digits &= _matches(text, _DIGITS)
        if digits.any():
            number, parsed = _cast_each(text.filter(pa.array(digits)), pa.int64())
            epoch_ns, epoch_ok, _ = _epoch_ms(number, parsed)
            ns[digits] = epoch_ns
            ok[digits] = epoch_ok
    return ns, ok, naive & ok


def _cast_each(values: pa.Array, target: pa.DataType) -> tuple[I64, Bool]:
    """Cast, and when a cell fails, bisect so only the failing cells become invalid.

    Arrow has no "coerce errors to null" cast; the ISO 8601 pre-check makes failures
    rare (an impossible date, a year past 2262), so bisection costs little.
    """
    try:
        cast = pc.cast(values, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        n = len(values)
        if n == 1:
            return np.zeros(1, np.int64), np.zeros(1, bool)
        half = n // 2
        left = _cast_each(values.slice(0, half), target)
        right = _cast_each(values.slice(half), target)
        return np.concatenate([left[0], right[0]]), np.concatenate([left[1], right[1]])
    number = cast.cast(pa.int64()) if not pa.types.is_int64(target) else cast
    return (
        np.asarray(number.fill_null(0).to_numpy(zero_copy_only=False), np.int64),
        not_null(cast),
    )


def feature(values: pa.Array, untyped: bool) -> npt.NDArray[Any] | tuple[I32, list[str]] | None:
    kind = values.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
        if not (is_text(kind) or is_number(kind)):
            return None
        if is_text(kind) and not untyped:
            # the batch's codes and dictionary: each model's chunk takes its rows' codes
            # (monitor.chunk.Categorical), and no row becomes a Python string
            return categorical(values)
        values = values.dictionary_decode()
    if is_number(kind) or pa.types.is_null(kind):
        return floats(values, len(values))[0]
    if is_text(kind):
        if untyped:
            try:
                return np.asarray(
                    pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), np.float64
                )
            except pa.ArrowInvalid:
                pass
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
    if pa.types.is_temporal(kind):
        return np.asarray(as_text(values).to_numpy(zero_copy_only=False), dtype=object)
    return None  # nested types are not features


def equal_text(left: pa.Array, right: pa.Array) -> I8:
    """1 where equal, 0 where different, -1 where the right side (the label) is null.

    A null prediction against a label counts as wrong: the model gave no answer."""
    if pa.types.is_dictionary(left.type) and pa.types.is_dictionary(right.type):
        # Compare small integer ids instead of text: one id per distinct category name.
        left_codes, left_names = categorical(left) or (np.zeros(0, np.int32), [])
        right_codes, right_names = categorical(right) or (np.zeros(0, np.int32), [])
        ids: dict[str, int] = {}
        left_ids = np.array([ids.setdefault(name, len(ids)) for name in left_names] + [-1])
        right_ids = np.array([ids.get(name, -2) for name in right_names] + [-3])
        same: I8 = (left_ids[left_codes] == right_ids[right_codes]).astype(np.int8)
        same[right_codes < 0] = -1
        return same
    a = as_text(left)
    b = as_text(right)
    out: I8 = flags(pc.equal(a, b)).astype(np.int8)
    out[~not_null(b)] = -1
    return out
