"""Small prediction logs for the ingest tests, written as Parquet, CSV or JSON Lines.

Rows are plain dicts in contract terms (``None`` = missing cell); the writers turn
them into each format the way real producers do: Parquet with native types (bool,
float, UTC timestamps when asked), CSV via pandas (empty cell for None), JSON Lines
with ``null``. :func:`collect` drains ``read_logs`` and concatenates each model's
chunks into comparable Python values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monitor.chunk import Categorical, ModelChunk, WindowBounds
from monitor.ingest import IngestStats, read_logs
from thresholds.schema import ColumnMapping, ModelEntry, Register

__all__ = [
    "AS_OF",
    "DAY_NS",
    "T0",
    "Collected",
    "collect",
    "iso",
    "make_register",
    "ns",
    "row",
    "windows_for",
    "write_csv",
    "write_jsonl",
    "write_log",
    "write_parquet",
]

DAY_NS = 86_400_000_000_000
#: Start of the current window (the as-of day), 2026-11-01T00:00:00Z.
AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
T0 = int(AS_OF.timestamp()) * 1_000_000_000


def ns(text: str) -> int:
    """UTC nanoseconds of an ISO 8601 time (naive = UTC)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def iso(offset_ns: int) -> str:
    """``T0 + offset_ns`` as ISO 8601 text with ``Z``."""
    moment = datetime.fromtimestamp((T0 + offset_ns) / 1e9, tz=timezone.utc)
    return moment.isoformat().replace("+00:00", "Z")


def make_register(
    *models: str | tuple[str, Mapping[str, str]], name: str = "test-register"
) -> Register:
    """A register of ``models``; a model given as ``(id, {field: column})`` is remapped."""
    entries = []
    for model in models:
        model_id, columns = (model, {}) if isinstance(model, str) else model
        entries.append(ModelEntry(id=model_id, owner="alice", columns=ColumnMapping(**columns)))
    return Register(name=name, models=entries)


def windows_for(register: Register, *, reference_days: int = 28) -> dict[str, WindowBounds]:
    """Every model: reference = the 28 days before T0, current = the day from T0."""
    return {
        m.id: WindowBounds(T0 - reference_days * DAY_NS, T0, T0 + DAY_NS) for m in register.models
    }


def row(
    prediction_id: str | int | None, model_id: str | None = "support-assistant", **values: Any
) -> dict[str, Any]:
    """One valid row at T0 + 1 h unless ``values`` say otherwise."""
    base: dict[str, Any] = {
        "prediction_id": prediction_id,
        "model_id": model_id,
        "timestamp": iso(3_600_000_000_000),
        "confidence": 0.9,
        "latency_ms": 250.0,
    }
    base.update(values)
    return base


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for r in rows:
        names.update(dict.fromkeys(r))
    return list(names)


def write_parquet(
    path: Path,
    rows: Sequence[Mapping[str, Any]],
    *,
    types: Mapping[str, pa.DataType] | None = None,
    row_group_size: int | None = None,
) -> Path:
    """Parquet with types inferred from the values, or given per column in ``types``.

    A ``timestamp`` given a timestamp type is parsed from the rows' ISO text.
    """
    types = dict(types or {})
    arrays = {}
    for name in _columns(rows):
        values = [r.get(name) for r in rows]
        kind = types.get(name)
        if kind is not None and pa.types.is_timestamp(kind):
            parsed = [None if v is None else ns(v) for v in values]
            arrays[name] = pa.array(parsed, pa.timestamp("ns", "UTC")).cast(kind)
        else:
            arrays[name] = pa.array(values, kind)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(arrays), path, row_group_size=row_group_size)
    return path


def _csv_cell(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def write_csv(path: Path, rows: Sequence[Mapping[str, Any]], *, sep: str = ",") -> Path:
    """CSV as pandas writes it: None is an empty cell."""
    frame = pd.DataFrame(
        [{k: _csv_cell(r.get(k)) for k in _columns(rows)} for r in rows], dtype=object
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, sep=sep, compression="infer")
    return path


def write_jsonl(
    path: Path, rows: Sequence[Mapping[str, Any] | str], *, drop_none: bool = False
) -> Path:
    """One JSON object per line; a ``str`` item is written verbatim (e.g. a broken line)."""
    lines = []
    for r in rows:
        if isinstance(r, str):
            lines.append(r)
        else:
            lines.append(json.dumps({k: v for k, v in r.items() if not (drop_none and v is None)}))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_log(fmt: str, directory: Path, rows: Sequence[Mapping[str, Any]], **kw: Any) -> Path:
    """Write ``rows`` as ``fmt`` ('parquet', 'csv' or 'jsonl') in ``directory``."""
    if fmt == "parquet":
        return write_parquet(directory / "log.parquet", rows, **kw)
    if fmt == "csv":
        return write_csv(directory / "log.csv", rows, **kw)
    return write_jsonl(directory / "log.jsonl", rows, **kw)


def _values(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Categorical):
        return value.to_list()
    if isinstance(value, dict):
        return {k: _values(v) for k, v in value.items()}
    return np.asarray(value).tolist()


@dataclass
class Collected:
    """Every model's rows as Python lists, in arrival order, plus the run's stats."""

    stats: IngestStats
    chunks: list[ModelChunk]
    models: dict[str, dict[str, Any]] = field(default_factory=dict)

    def column(self, model: str, name: str) -> Any:
        return self.models[model][name]

    def n(self, model: str) -> int:
        return len(self.models.get(model, {}).get("timestamp_ns", []))


_FIELDS = (
    "id_hash",
    "timestamp_ns",
    "confidence",
    "latency_ms",
    "error",
    "correct",
    "quality_score",
    "output_type",
    "failure_mode",
    "format_valid",
    "segment",
    "prediction",
)


def collect(paths: Iterable[Path | str], register: Register, **options: Any) -> Collected:
    """Drain ``read_logs`` (windows default to :func:`windows_for`) and gather per model."""
    stats = options.pop("stats", None) or IngestStats()
    windows = options.pop("windows", None) or windows_for(register)
    chunks = list(read_logs(list(paths), register, windows, stats=stats, **options))
    out = Collected(stats, chunks)
    for chunk in chunks:
        model = out.models.setdefault(chunk.model_id, {"features": {}})
        for name in _FIELDS:
            value = _values(getattr(chunk, name))
            if value is None:
                model.setdefault(name, None)
                continue
            if model.get(name) is None:
                model[name] = []
            model[name].extend(value)
        for key, values in chunk.features.items():
            model["features"].setdefault(key, []).extend(_values(values))
    return out
