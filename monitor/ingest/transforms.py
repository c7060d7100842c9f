"""Per-model ingest transforms: the register's ``ingest:`` section applied to a batch.

A model whose logs differ from the contract in more than column names declares how in
its register entry (:class:`~thresholds.schema.IngestTransforms`):

* ``latency_unit: s | ms | us`` — latency is converted to milliseconds;
* ``timezone: Europe/Berlin`` — timestamps without an offset are local time in that
  zone (without it they are taken as UTC and counted);
* ``error_from_status: {column: status, failing: [error, timeout]}`` — ``error`` is
  true where the status is one of the failing values;
* ``correct_from_prediction: true`` — ``correct`` is ``prediction == label`` on every
  row, whatever a ``correct`` column says.

A transform does not rewrite the column it reads. It adds a *derived* column under a
private name (:func:`derived_name`), and the model group reads the contract through a
mapping that points at it (:func:`read_mapping`). The rest of ingest — validation,
quarantine, the chunks — is unchanged and shared by every engine, the quarantine file
keeps the cells as logged, and two models that read one column differently each get
their own derived column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from monitor.chunk import F64, I64, Bool
from monitor.ingest import coerce
from thresholds.schema import LATENCY_UNITS_MS, ColumnMapping, IngestTransforms

__all__ = [
    "DerivedColumn",
    "derived_columns",
    "derived_name",
    "localize_naive",
    "read_mapping",
    "status_errors",
    "to_milliseconds",
]

#: Derived columns are named with a NUL, which no log column name holds.
_PREFIX = "\0"
#: A name no log has: ``correct`` read from it is absent, so only ``prediction == label``
#: judges the row.
_NO_CORRECT = f"{_PREFIX}correct:from-prediction"


def derived_name(kind: str, source: str, detail: str) -> str:
    """The private name of a derived column (never a name a log can hold)."""
    return f"{_PREFIX}{kind}:{detail}:{source}"


def is_derived(name: str) -> bool:
    return name.startswith(_PREFIX)


# --------------------------------------------------------------- pure transforms


def to_milliseconds(values: F64, unit: str) -> F64:
    """Latency in ``unit`` (``s``, ``ms``, ``us``) as milliseconds; NaN stays NaN."""
    factor = LATENCY_UNITS_MS[unit]
    return values if factor == 1.0 else values * factor


def localize_naive(ns: I64, naive: Bool, zone: str) -> tuple[I64, Bool]:
    """Naive wall-clock times (ns, read as if UTC) re-read as local times in ``zone``.

    Returns the UTC instants and which rows could be placed. In the hour a clock is
    set back, a time happens twice: the first (summer-time) instant is taken. In the
    hour a clock skips, a time never happens: it is moved to the first moment after the
    gap (02:30 on the night Berlin springs forward is read as 03:00), as ``pandas`` does
    with ``nonexistent="shift_forward"``.
    """
    out = ns.copy()
    ok = np.ones(len(ns), bool)
    if not naive.any():
        return out, ok
    import pandas as pd  # here: only registers with a time zone pay its import

    local = pd.DatetimeIndex(ns[naive].astype("datetime64[ns]"))
    placed = local.tz_localize(
        zone, ambiguous=np.ones(len(local), bool), nonexistent="shift_forward"
    ).tz_convert("UTC")
    values = placed.asi8
    out[naive] = values
    ok[naive] = ~np.asarray(placed.isna())
    return out, ok


def status_errors(status: pa.Array, failing: Sequence[str]) -> Bool:
    """Rows whose status is one of ``failing`` (text compared without case or padding);
    a null status is no error."""
    words = pa.array(sorted({value.strip().lower() for value in failing}), pa.string())
    text = pc.utf8_lower(pc.utf8_trim_whitespace(coerce.as_text(status)))
    return coerce.flags(pc.is_in(text, words))


# ------------------------------------------------------ mappings and derived columns


@dataclass(frozen=True)
class DerivedColumn:
    """A column made from a logged one: ``make(logged values)`` → Arrow values."""

    name: str
    source: str
    make: Callable[[pa.Array], pa.Array]


def read_mapping(mapping: ColumnMapping, transforms: IngestTransforms) -> ColumnMapping:
    """The mapping a model group reads the contract through: logged names, or the
    derived columns its transforms make."""
    changes: dict[str, str] = {}
    if transforms.latency_unit != "ms":
        changes["latency_ms"] = derived_name("ms", mapping.latency_ms, transforms.latency_unit)
    if transforms.timezone is not None:
        changes["timestamp"] = derived_name("utc", mapping.timestamp, transforms.timezone)
    if transforms.error_from_status is not None:
        status = transforms.error_from_status
        changes["error"] = derived_name("error", status.column, "|".join(status.failing))
    if transforms.correct_from_prediction:
        changes["correct"] = _NO_CORRECT
    return mapping.model_copy(update=changes) if changes else mapping


def derived_columns(mapping: ColumnMapping, transforms: IngestTransforms) -> list[DerivedColumn]:
    """The derived columns a group's transforms add to each batch."""
    read = read_mapping(mapping, transforms)
    out: list[DerivedColumn] = []
    if read.latency_ms != mapping.latency_ms:
        unit = transforms.latency_unit

        def latency(values: pa.Array, unit: str = unit) -> pa.Array:
            # Unreadable text is NaN, and stays a latency that is not a number.
            number, _ = coerce.floats(values, len(values))
            return pa.array(to_milliseconds(number, unit), pa.float64())

        out.append(DerivedColumn(read.latency_ms, mapping.latency_ms, latency))
    if read.timestamp != mapping.timestamp and transforms.timezone is not None:
        zone = transforms.timezone

        def utc(values: pa.Array, zone: str = zone) -> pa.Array:
            ns, ok, naive = coerce.timestamps(values)
            placed, fine = localize_naive(ns, naive & ok, zone)
            return pa.array(placed, pa.timestamp("ns", "UTC"), mask=~(ok & fine))

        out.append(DerivedColumn(read.timestamp, mapping.timestamp, utc))
    if transforms.error_from_status is not None:
        status = transforms.error_from_status

        def error(values: pa.Array, failing: Sequence[str] = tuple(status.failing)) -> pa.Array:
            return pa.array(status_errors(values, failing), pa.bool_())

        out.append(DerivedColumn(read.error, status.column, error))
    return out


def add_derived(
    columns: Mapping[str, pa.Array], derived: Sequence[DerivedColumn]
) -> dict[str, pa.Array]:
    """The derived columns whose source this batch has, computed once each."""
    made: dict[str, pa.Array] = {}
    for column in derived:
        if column.name in made:
            continue
        values = columns.get(column.source)
        if values is not None:
            made[column.name] = column.make(values)
    return made
