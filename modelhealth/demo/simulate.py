"""Synthetic prediction logs: one simulator for tests, the demo, benchmarks and signal studies.

:func:`simulate_day` turns a :class:`~modelhealth.demo.profiles.ModelProfile` and a day
into a table that follows the prediction-log contract of ``DESIGN.md`` (with the
profile's column mapping applied); :func:`simulate_logs` and :func:`write_logs` do that
for several models and nights, and :func:`late_labels` gives the outcomes that arrive
after the logs. How rows are drawn, healthy and degraded, is :mod:`modelhealth.demo.draw`;
:func:`modelhealth.demo.bulk.fast_table` is a vectorised bulk generator for benchmarks.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from modelhealth.demo.draw import Rows, draw_day
from modelhealth.demo.profiles import ModelProfile, contract_columns, log_names

__all__ = [
    "PARQUET_OPTIONS",
    "LogFormat",
    "category_array",
    "late_labels",
    "simulate_day",
    "simulate_logs",
    "write_logs",
    "write_table",
]

LogFormat = Literal["parquet", "csv", "jsonl"]

#: Parquet writer settings that make the same table produce the same bytes (for a given
#: pyarrow version): fixed compression and level, explicit format and page versions.
PARQUET_OPTIONS: Mapping[str, object] = {
    "compression": "zstd",
    "compression_level": 9,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
}


def _schema(profile: ModelProfile) -> pa.Schema:
    names = log_names(profile)
    return pa.schema([pa.field(names[c], t) for c, t in contract_columns(profile)])


def category_array(
    codes: np.ndarray, names: Sequence[str], null: np.ndarray | None = None
) -> pa.Array:
    """Strings from integer ``codes`` into ``names`` (null where ``null``), built in bulk."""
    indices = pa.array(codes.astype(np.int8 if len(names) <= 127 else np.int32), mask=null)
    dictionary = pa.array(list(names), type=pa.string())
    return pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()


def id_array(prefix: str, index: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``index`` as a string array, built without Python loops."""
    head = np.frombuffer(prefix.encode("utf-8"), dtype=np.uint8)
    n, size = len(index), len(head) + width
    buf = np.empty((n, size), dtype=np.uint8)
    buf[:, : len(head)] = head
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    buf[:, len(head) :] = (index[:, None] // powers) % 10 + ord("0")
    offsets = np.arange(n + 1, dtype=np.int32) * size
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf.tobytes())]
    )


def _table(profile: ModelProfile, day: date, rows: Rows) -> pa.Table:
    n = len(rows.ts_ms)
    unlabeled = ~rows.labeled
    values: dict[str, pa.Array] = {
        "prediction_id": id_array(f"{profile.model_id}-{day:%Y%m%d}-", rows.index, 7),
        "model_id": pa.array(np.full(n, profile.model_id, dtype=object), type=pa.string()),
        "timestamp": pa.array(rows.ts_ms, type=pa.timestamp("ms", tz="UTC")),
        "confidence": pa.array(np.round(rows.confidence, 4)),
        "latency_ms": pa.array(np.round(rows.latency_ms, 1)),
        "output_type": category_array(rows.output_type, list(profile.output_types)),
        "segment": category_array(rows.segment, list(profile.segments)),
        "error": pa.array(rows.error),
        "correct": pa.array(rows.correct, mask=unlabeled),
        "failure_mode": pa.array(rows.annotation, type=pa.string()),
    }
    if rows.quality is not None:
        values["quality_score"] = pa.array(np.round(rows.quality, 3), mask=unlabeled)
    if rows.format_invalid is not None:
        values["format_valid"] = pa.array(~rows.format_invalid, mask=rows.error)
    if rows.label_churn is not None:
        predicted_churn = rows.label_churn == rows.correct
        classes = ["retain", "churn"]
        values["prediction"] = category_array(predicted_churn, classes, null=rows.error)
        values["label"] = category_array(rows.label_churn, classes, null=unlabeled)
    for name, column in rows.features.items():
        values[f"feature.{name}"] = pa.array(column)
    schema = _schema(profile)
    arrays = [values[c].cast(t) for c, t in contract_columns(profile)]
    return pa.Table.from_arrays(arrays, schema=schema)


def simulate_day(profile: ModelProfile, day: date, *, seed: int) -> pa.Table:
    """One model's prediction log for one UTC day.

    Parameters
    ----------
    profile
        The model's healthy behaviour and injected degradations.
    day
        The UTC day; timestamps fall in ``[day 00:00, day+1 00:00)`` UTC.
    seed
        Run seed; the model's stream for the day is seeded by ``(seed, model_id, day)``.

    Returns
    -------
    pyarrow.Table
        Rows in time order, named per ``profile.columns``; prediction ids are
        ``f"{model_id}-{day:%Y%m%d}-{i:07d}"``. The schema is the same for every day,
        even when an outage leaves no rows.
    """
    return _table(profile, day, draw_day(profile, day, seed))


def _union_schema(profiles: Sequence[ModelProfile]) -> pa.Schema:
    fields: dict[str, pa.Field] = {}
    for profile in profiles:
        for f in _schema(profile):
            seen = fields.setdefault(f.name, f)
            if seen.type != f.type:
                raise ValueError(f"column {f.name!r} has types {seen.type} and {f.type}")
    return pa.schema(list(fields.values()))


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    n = table.num_rows
    arrays = [
        table.column(f.name) if f.name in table.column_names else pa.nulls(n, type=f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _day_tables(
    profiles: Sequence[ModelProfile], day: date, seed: int
) -> list[tuple[ModelProfile, pa.Table, np.ndarray]]:
    out = []
    for profile in profiles:
        rows = draw_day(profile, day, seed)
        out.append((profile, _table(profile, day, rows), rows.ts_ms))
    return out


def _merge_order(parts: Sequence[tuple[ModelProfile, pa.Table, np.ndarray]]) -> np.ndarray:
    """Row order of the concatenated parts: by time, ties by model order then row."""
    ts = np.concatenate([p[2] for p in parts]) if parts else np.empty(0, np.int64)
    model = np.concatenate([np.full(len(p[2]), i) for i, p in enumerate(parts)]) if parts else ts
    row = np.concatenate([np.arange(len(p[2])) for p in parts]) if parts else ts
    return np.lexsort((row, model, ts))


def simulate_logs(
    profiles: Sequence[ModelProfile], start: date, days: int, *, seed: int
) -> Iterator[tuple[date, pa.Table]]:
    """Every model's log, one table per UTC day, rows of all models interleaved in time.

    Each day's table has the union of the profiles' columns (a column another model
    does not log is null on its rows), the same for every day.
    """
    schema = _union_schema(profiles)
    for offset in range(days):
        day = start + timedelta(days=offset)
        parts = _day_tables(profiles, day, seed)
        table = pa.concat_tables([_conform(t, schema) for _, t, _ in parts])
        yield day, table.take(pa.array(_merge_order(parts)))


# --------------------------------------------------------------------------- files
def _iso(ts_ms: np.ndarray, offset_minutes: int) -> np.ndarray:
    """ISO 8601 with millisecond precision and an explicit offset, e.g. ``…T09:30:00.000+01:00``."""
    local = (ts_ms + offset_minutes * 60_000).astype("datetime64[ms]")
    sign = "-" if offset_minutes < 0 else "+"
    hh, mm = divmod(abs(offset_minutes), 60)
    return np.char.add(np.datetime_as_string(local, unit="ms"), f"{sign}{hh:02d}:{mm:02d}")


def _textual(profile: ModelProfile, table: pa.Table, ts_ms: np.ndarray) -> pa.Table:
    """Timestamps as ISO strings with the profile's offset, for CSV and JSON Lines."""
    name = log_names(profile)["timestamp"]
    at = table.column_names.index(name)
    iso = pa.array(_iso(ts_ms, profile.utc_offset_minutes).astype(object), type=pa.string())
    return table.set_column(at, pa.field(name, pa.string()), iso)


def write_table(table: pa.Table, path: Path, *, fmt: LogFormat = "parquet") -> Path:
    """Write one table with stable bytes: Parquet with :data:`PARQUET_OPTIONS`, CSV with a
    header, or JSON Lines (one object per row, nulls explicit)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(table, path, **PARQUET_OPTIONS)
    elif fmt == "csv":
        pacsv.write_csv(table, path)
    elif fmt == "jsonl":
        with path.open("w", encoding="utf-8", newline="\n") as out:
            for row in table.to_pylist():
                out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    else:
        raise ValueError(f"unknown log format {fmt!r}")
    return path


def write_logs(
    profiles: Sequence[ModelProfile],
    start: date,
    days: int,
    out_dir: Path,
    *,
    seed: int,
    fmt: LogFormat = "parquet",
    partition_by_day: bool = True,
) -> list[Path]:
    """Write ``days`` days of logs for ``profiles`` under ``out_dir``.

    With ``partition_by_day`` each day goes to ``out_dir/date=YYYY-MM-DD/part-0.<ext>``
    (Hive-style, one file per day even when empty); otherwise everything goes to
    ``out_dir/predictions.<ext>``. Parquet keeps typed UTC timestamps; CSV and JSON Lines
    write ISO 8601 strings with each model's ``utc_offset_minutes``. In JSON Lines each
    row carries only its own model's keys.

    Returns
    -------
    list of Path
        The files written, in day order.
    """
    ext = {"parquet": "parquet", "csv": "csv", "jsonl": "jsonl"}[fmt]
    schema = _union_schema(profiles)
    if fmt == "csv":
        schema = pa.schema(
            [pa.field(f.name, pa.string()) if pa.types.is_timestamp(f.type) else f for f in schema]
        )
    written: list[Path] = []
    single = out_dir / f"predictions.{ext}"
    writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
    try:
        for offset in range(days):
            day = start + timedelta(days=offset)
            parts = _day_tables(profiles, day, seed)
            if fmt != "parquet":
                parts = [(p, _textual(p, t, ts), ts) for p, t, ts in parts]
            path = out_dir / f"date={day.isoformat()}" / f"part-0.{ext}"
            if not partition_by_day:
                path = single
            order = pa.array(_merge_order(parts))
            tables = [t for _, t, _ in parts]
            if fmt == "jsonl":
                lines = [json.dumps(r, ensure_ascii=False) for t in tables for r in t.to_pylist()]
                mode = "w" if partition_by_day or offset == 0 else "a"
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open(mode, encoding="utf-8", newline="\n") as out:
                    out.writelines(lines[i] + "\n" for i in order.to_numpy())
            else:
                table = pa.concat_tables([_conform(t, schema) for _, t, _ in parts]).take(order)
                if partition_by_day:
                    write_table(table, path, fmt=fmt)
                else:
                    if writer is None:
                        out_dir.mkdir(parents=True, exist_ok=True)
                        writer = (
                            pq.ParquetWriter(single, schema, **PARQUET_OPTIONS)
                            if fmt == "parquet"
                            else pacsv.CSVWriter(single, schema)
                        )
                    writer.write_table(table)
            if not written or written[-1] != path:
                written.append(path)
    finally:
        if writer is not None:
            writer.close()
    return written


def late_labels(
    profiles: Sequence[ModelProfile], start: date, days: int, *, seed: int, share: float = 0.5
) -> pa.Table:
    """Labels that arrive after the logs were written: ``prediction_id`` + ``correct``.

    A share ``share`` of each day's *unlabeled*, non-error rows gets its true outcome
    (the same latent outcome the simulator drew, so late labels agree with the log's
    accuracy). Rows are in prediction-id order.
    """
    ids: list[pa.Array] = []
    outcomes: list[np.ndarray] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        for profile in profiles:
            rows = draw_day(profile, day, seed)
            pick_rng = np.random.default_rng(
                np.random.SeedSequence(
                    [seed, zlib.crc32(profile.model_id.encode()), day.toordinal(), 1]
                )
            )
            late = ~rows.labeled & ~rows.error & (pick_rng.random(len(rows.index)) < share)
            ids.append(id_array(f"{profile.model_id}-{day:%Y%m%d}-", rows.index[late], 7))
            outcomes.append(rows.correct[late])
    table = pa.table(
        {
            "prediction_id": pa.concat_arrays(ids) if ids else pa.array([], pa.string()),
            "correct": pa.array(np.concatenate(outcomes) if outcomes else np.empty(0, bool)),
        }
    )
    return table.sort_by("prediction_id")
