"""Read prediction logs into clean, validated per-model chunks.

:func:`read_logs` streams record batches from Parquet files or partitioned directories,
CSV (``.csv``, ``.csv.gz``) and JSON Lines (``.jsonl``, ``.ndjson``, ``.json``, each
optionally ``.gz``), never holding more than a few batches in memory. For every batch it

1. finds each row's model through the register's column mappings (models with the same
   mapping are read together; a row whose ``model_id`` is not registered is quarantined
   as ``unknown_model``);
2. converts the contract columns with vectorised Arrow/NumPy code and validates every
   row; a bad row goes to the quarantine file with the *first* failing reason of
   :data:`QUARANTINE_REASONS`;
3. drops valid rows outside the model's reference and current windows (counted as
   ``rows_out_of_window``) and then duplicate ``prediction_id`` values (counted as
   ``rows_duplicate``; the first occurrence wins);
4. joins late labels, and yields one :class:`ModelChunk` per model present.

Every row read is accounted for once:
``rows_read == rows_used + rows_quarantined + rows_duplicate + rows_out_of_window``.

Decisions worth knowing
-----------------------
* **Order of judgement**: validation first (a row that breaks the contract is
  quarantined even when it is older than the windows), then the windows, then
  duplicates. ``error_not_boolean`` ranks after ``latency_negative``; text that is not
  a number in ``quality_score`` is ``quality_score_out_of_range`` (an empty cell is
  "not graded"); an empty ``prediction_id`` counts as missing.
* **Duplicates** are detected per model among rows inside the model's windows only:
  the seen-set then holds eight bytes per in-window row, however much old traffic the
  logs carry. The same ``prediction_id`` logged by two *different* models is two
  predictions (a shared request id), not a duplicate. Rows that were quarantined or
  fell outside the windows do not claim their id.
* **Timestamps**: Parquet timestamps with a zone are UTC instants; naive ones (Parquet
  without a zone, text without ``Z`` or an offset) are taken as UTC and counted in
  ``naive_timestamps`` (rows used). Text must be ISO 8601: ``YYYY-MM-DD``, optionally
  ``[T ]hh[:mm[:ss[.f…]]]`` and, after a time, ``Z`` or ``±hh[[:]mm]``; zones may differ
  row by row. *Integer* timestamps (integer columns, or text that is only digits) are
  epoch **milliseconds** when they fall in 2000-01-01 … 2100-01-01, and
  ``bad_timestamp`` otherwise: seconds, microseconds and nanoseconds since the epoch
  are refused rather than guessed. Float columns are refused.
* **Booleans** in text accept ``true/false``, ``t/f``, ``yes/no``, ``y/n``, ``1/0`` and
  ``1.0/0.0`` (what pandas writes for a float column), any case. An unreadable
  ``correct`` or ``format_valid`` is null; an unreadable ``error`` is quarantined as
  ``error_not_boolean``, and a null ``error`` means no error.
* **CSV** is read as text and converted here, so one bad cell quarantines one row.
  A CSV feature column is numeric in a chunk when every non-empty cell of that batch is
  a number. Rows with the wrong number of fields are quarantined as ``malformed_line``
  (their ``row_number`` is unknown: the parser allows quoted newlines). A row longer
  than the 4 MB parse block (a huge cell) makes the file be read again with larger
  blocks, up to 256 MB, skipping the rows already handed on.
* **JSON Lines** are parsed in blocks by Arrow; a block that fails is re-parsed line by
  line with :func:`json.loads`, so a broken line is quarantined as ``malformed_line``
  and its neighbours survive. ``row_number`` is the 0-based *line* number.
* **Labels** in the chunks' categories (``output_type``, ``segment``, ``failure_mode``,
  ``prediction``) longer than :data:`MAX_LABEL_CHARS` characters are cut, with a
  ``…[+N chars]`` marker; ``correct`` is judged on the full text before that.
* ``row_json`` in the quarantine holds the cells of the columns ingest reads (contract,
  mapped, label and feature columns), not unrelated columns such as prompt text.
* **Unreadable files** inside a directory are skipped and listed; rows read from such a
  file before it failed (a Parquet file truncated after its first row groups) stay used
  and counted.

Performance: reading and column conversion run in a background thread (Arrow and NumPy
release the GIL), validation, duplicate look-up and chunk assembly on the caller's
thread; see ``benchmarks/bench_ingest.py``.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import queue
import threading
import urllib.parse
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.json as pj
import pyarrow.parquet as pq

from monitor.errors import LabelsError, MissingColumnError, UnreadableLogError
from monitor.idhash import SeenIds, hash_ids
from monitor.quarantine import QuarantineWriter, row_json, rows_json
from thresholds.schema import ColumnMapping, Register

__all__ = [
    "MAX_LABEL_CHARS",
    "QUARANTINE_REASONS",
    "UNATTRIBUTED",
    "Categorical",
    "IngestStats",
    "ModelChunk",
    "QuarantineWriter",
    "WindowBounds",
    "read_logs",
]

Bool = npt.NDArray[np.bool_]
I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
Idx = npt.NDArray[np.intp]
T = TypeVar("T")

#: Quarantine reasons, in priority order: a row gets the first one it fails.
QUARANTINE_REASONS: tuple[str, ...] = (
    "missing_prediction_id",
    "missing_model_id",
    "unknown_model",
    "bad_timestamp",
    "confidence_not_a_number",
    "confidence_out_of_range",
    "latency_not_a_number",
    "latency_negative",
    "error_not_boolean",
    "quality_score_out_of_range",
    "malformed_line",
)
_CODE = {reason: code for code, reason in enumerate(QUARANTINE_REASONS, start=1)}

#: Key of ``quarantined_by_model`` for rows that belong to no registered model.
UNATTRIBUTED = "(unattributed)"

_PARQUET = (".parquet", ".pq", ".parq")
_CSV = (".csv", ".csv.gz")
_JSONL = (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz")

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

#: Contract fields a model's rows cannot do without.
_REQUIRED = ("prediction_id", "model_id", "timestamp", "confidence", "latency_ms")
_OPTIONAL = (
    "output_type",
    "correct",
    "quality_score",
    "error",
    "failure_mode",
    "format_valid",
    "segment",
    "prediction",
    "label",
)
#: Low-cardinality text read dictionary-encoded (cheap to convert, cheap to hold).
_DICTIONARY_FIELDS = (
    "model_id",
    "output_type",
    "failure_mode",
    "segment",
    "prediction",
    "label",
    "correct",
    "error",
    "format_valid",
)
_JSON_TEXT_FIELDS = ("timestamp", "model_id", "output_type", "segment", "failure_mode")

_CSV_BLOCK_BYTES = 4 << 20
#: Rows longer than a block are read by retrying with blocks four times larger, up to this.
_CSV_MAX_BLOCK_BYTES = 256 << 20
_JSONL_READ_BYTES = 8 << 20
_PREFETCH_DEPTH = 2


# --------------------------------------------------------------------------- public types


@dataclass(frozen=True)
class WindowBounds:
    """A model's windows, in UTC nanoseconds since the epoch.

    The reference window is ``[reference_start, current_start)`` and the current window
    ``[current_start, current_end)``.
    """

    reference_start: int
    current_start: int
    current_end: int

    def __post_init__(self) -> None:
        if not self.reference_start <= self.current_start <= self.current_end:
            raise ValueError(
                "window bounds must satisfy reference_start <= current_start <= current_end"
            )


@dataclass
class Categorical:
    """Text dictionary-encoded within one chunk: ``categories[codes[i]]``, ``-1`` = null.

    Categories are unique and each is used by at least one row of the chunk.
    """

    codes: I32
    categories: list[str]

    def __len__(self) -> int:
        return len(self.codes)

    def to_list(self) -> list[str | None]:
        """The values as Python strings, ``None`` for nulls."""
        names = [*self.categories, None]
        return [names[c] for c in self.codes.tolist()]


@dataclass
class ModelChunk:
    """Clean, validated rows of one model from one record batch.

    Optional fields are ``None`` when the log has no such column for this model.
    """

    model_id: str
    id_hash: U64  # hash of prediction_id (monitor.idhash.hash_ids)
    timestamp_ns: I64  # UTC nanoseconds since the epoch
    confidence: F64  # finite, in [0, 1]
    latency_ms: F64  # finite, >= 0
    error: Bool | None  # null in the log = no error
    correct: I8 | None  # 1, 0, -1 = unlabeled
    quality_score: F64 | None  # NaN = not graded
    output_type: Categorical | None
    failure_mode: Categorical | None  # annotations as logged
    format_valid: I8 | None  # 1, 0, -1 = null
    segment: Categorical | None
    prediction: Categorical | None  # classic classifiers: predicted label as text
    # Keyed without the prefix: float64 for numeric columns, object arrays of str for text.
    features: dict[str, npt.NDArray[Any]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.timestamp_ns)


@dataclass
class IngestStats:
    """What ingest read and what became of it; mergeable across files and workers.

    ``rows_read == rows_used + rows_quarantined + rows_duplicate + rows_out_of_window``.
    ``naive_timestamps`` counts used rows whose time had no zone and was taken as UTC.
    ``unreadable`` lists files inside a directory that could not be read (with the
    reason in ``unreadable_reasons``); they were skipped. ``labels_joined`` counts used
    rows that found their prediction id in the labels file.
    """

    rows_read: int = 0
    rows_used: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_out_of_window: int = 0
    naive_timestamps: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    quarantined_by_model: dict[str, int] = field(default_factory=dict)
    duplicates_by_model: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    unreadable_reasons: dict[str, str] = field(default_factory=dict)
    labels_joined: int = 0

    def merge(self, other: IngestStats) -> IngestStats:
        """Add ``other`` into this one (in place) and return it."""
        self.rows_read += other.rows_read
        self.rows_used += other.rows_used
        self.rows_quarantined += other.rows_quarantined
        self.rows_duplicate += other.rows_duplicate
        self.rows_out_of_window += other.rows_out_of_window
        self.naive_timestamps += other.naive_timestamps
        for mine, theirs in (
            (self.quarantined_by_reason, other.quarantined_by_reason),
            (self.quarantined_by_model, other.quarantined_by_model),
            (self.duplicates_by_model, other.duplicates_by_model),
        ):
            for key, count in theirs.items():
                mine[key] = mine.get(key, 0) + count
        self.files.extend(other.files)
        self.unreadable.extend(other.unreadable)
        self.unreadable_reasons.update(other.unreadable_reasons)
        self.labels_joined += other.labels_joined
        return self

    def _count(self, table: dict[str, int], key: str, n: int) -> None:
        if n:
            table[key] = table.get(key, 0) + n


# --------------------------------------------------------------------------- the plan


@dataclass
class _Group:
    """Registered models that share one column mapping."""

    mapping: ColumnMapping
    ordinals: list[int]
    models: list[str]

    def required(self) -> list[str]:
        return [getattr(self.mapping, name) for name in _REQUIRED]

    def columns(self) -> list[str]:
        return [getattr(self.mapping, name) for name in (*_REQUIRED, *_OPTIONAL)]


class _Plan:
    """The register and windows turned into lookup tables for vectorised reading."""

    def __init__(self, register: Register, windows: Mapping[str, WindowBounds]) -> None:
        self.models = [entry.id for entry in register.models]
        missing = [m for m in self.models if m not in windows]
        if missing:
            raise ValueError(f"no window bounds for registered model(s): {', '.join(missing)}")
        self.ordinal = {m: i for i, m in enumerate(self.models)}
        groups: dict[str, _Group] = {}
        for entry in register.models:
            key = entry.columns.model_dump_json()
            if key not in groups:
                groups[key] = _Group(entry.columns, [], [])
            groups[key].ordinals.append(self.ordinal[entry.id])
            groups[key].models.append(entry.id)
        self.groups = list(groups.values())
        self.group_of = np.zeros(len(self.models), np.int32)
        for g, group in enumerate(self.groups):
            self.group_of[group.ordinals] = g
        # Rows are attributed through each distinct model_id column, first group first.
        self.model_id_columns: dict[str, dict[str, int]] = {}
        for group in self.groups:
            ids = self.model_id_columns.setdefault(group.mapping.model_id, {})
            for model, ordinal in zip(group.models, group.ordinals, strict=True):
                ids.setdefault(model, ordinal)
        self.lo = np.array([windows[m].reference_start for m in self.models], np.int64)
        self.hi = np.array([windows[m].current_end for m in self.models], np.int64)
        # Per-model salt: duplicates are per model, in one seen-set.
        salts = np.arange(len(self.models), dtype=np.uint64)
        salts *= np.uint64(0x9E3779B97F4A7C15)
        self.salt = salts
        self.contract = {name for g in self.groups for name in g.columns()}
        self.prefixes = sorted({g.mapping.feature_prefix for g in self.groups})
        self.dictionary_columns = {
            getattr(g.mapping, name) for g in self.groups for name in _DICTIONARY_FIELDS
        }
        self.json_text_columns = {
            getattr(g.mapping, name) for g in self.groups for name in _JSON_TEXT_FIELDS
        }

    def wanted(self, names: Iterable[str]) -> list[str]:
        """The columns of a file that ingest reads, in file order."""
        return [
            n
            for n in names
            if n in self.contract or any(n.startswith(p) and n != p for p in self.prefixes)
        ]

    def check_schema(self, path: str, names: Sequence[str]) -> None:
        """Refuse a file whose columns cannot serve *any* registered model."""
        present = set(names)
        best: _Group | None = None
        best_missing: list[str] = []
        for group in self.groups:
            missing = [c for c in group.required() if c not in present]
            if not missing:
                return
            if best is None or len(missing) < len(best_missing):
                best, best_missing = group, missing
        assert best is not None
        models = best.models if len(self.groups) > 1 else []
        raise MissingColumnError(path, best_missing, list(names), models)


# --------------------------------------------------------------------------- entry point


def read_logs(
    paths: Sequence[str | Path],
    register: Register,
    windows: Mapping[str, WindowBounds],
    *,
    labels: str | Path | None = None,
    quarantine: QuarantineWriter | None = None,
    batch_rows: int = 262_144,
    stats: IngestStats | None = None,
) -> Generator[ModelChunk, None, None]:
    """Stream clean per-model chunks from prediction logs.

    Parameters
    ----------
    paths
        Log files and directories (searched recursively; hive partitions such as
        ``date=2026-11-01/`` are fine, and a partition key that names a contract column,
        e.g. ``model_id=…``, fills that column when the files lack it). Files are
        recognised by extension; names starting with ``.`` or ``_`` are skipped.
    register
        The threshold register; ``models[].columns`` maps log columns to the contract.
    windows
        Window bounds of every registered model; rows outside
        ``[reference_start, current_end)`` are counted and dropped.
    labels
        Optional late labels: ``prediction_id`` plus ``correct``, ``label`` and/or
        ``quality_score`` (contract names; with a ``model_id`` column the join is per
        model). A non-null label value fills or overrides the log's.
    quarantine
        Where rows that break the contract go; without one they are only counted.
    batch_rows
        Rows per record batch: bounds memory (a few batches are in flight).
    stats
        Filled in as chunks are produced.

    Returns
    -------
    Generator[ModelChunk, None, None]
        One chunk per model present in each batch, in file order. Validation of the
        arguments happens on the call; files are read as the generator is consumed.
        ``close()`` it to stop early (the background reader thread stops too).

    Raises
    ------
    ValueError
        When a registered model has no window bounds or ``batch_rows < 1``.
    UnreadableLogError
        A path given directly is missing, of unknown format or unreadable.
    MissingColumnError
        A file given directly lacks required columns (files inside a directory are
        listed in ``stats.unreadable`` instead).
    LabelsError
        The labels file is unusable.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, not {batch_rows}")
    plan = _Plan(register, windows)
    sources = _resolve(paths)
    label_index = _Labels.load(labels, plan) if labels is not None else None
    stats = stats if stats is not None else IngestStats()
    ingest = _Ingest(plan, label_index, quarantine, batch_rows, stats)
    return ingest.run(sources)


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class _Source:
    path: Path
    direct: bool
    partitions: tuple[tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return str(self.path)


def _format(path: Path) -> str | None:
    name = path.name.lower()
    for kind, suffixes in (("parquet", _PARQUET), ("csv", _CSV), ("jsonl", _JSONL)):
        if name.endswith(suffixes):
            return kind
    return None


def _resolve(paths: Sequence[str | Path]) -> list[_Source]:
    if isinstance(paths, (str, Path)):
        paths = [paths]
    out: list[_Source] = []
    seen: set[Path] = set()

    def add(source: _Source) -> None:
        key = source.path.resolve()
        if key not in seen:
            seen.add(key)
            out.append(source)

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file, parts in _walk(path):
                add(_Source(file, direct=False, partitions=parts))
        elif path.is_file():
            if _format(path) is None:
                raise UnreadableLogError(
                    str(path),
                    "unknown log format; name it .parquet, .csv, .csv.gz, .jsonl, .ndjson"
                    " or .json (optionally .gz)",
                )
            add(_Source(path, direct=True))
        else:
            raise UnreadableLogError(str(path), "no such file or directory")
    return out


def _walk(root: Path) -> Iterator[tuple[Path, tuple[tuple[str, str], ...]]]:
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith((".", "_")))
        base = Path(directory)
        parts = tuple(
            (key, urllib.parse.unquote(value))
            for key, sep, value in (
                segment.partition("=") for segment in base.relative_to(root).parts
            )
            if sep
        )
        for name in sorted(files):
            if not name.startswith((".", "_")) and _format(Path(name)) is not None:
                yield base / name, parts


@dataclass
class _RawBatch:
    """Columns as read (only those ingest needs), with their rows' numbers in the file."""

    columns: dict[str, pa.Array]
    found: list[str]  # every column of the file (or JSON block), for error messages
    row_numbers: I64
    untyped: bool = False  # CSV: every cell is text
    malformed: list[tuple[int, str]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.row_numbers)


def _open_binary(path: Path) -> IO[bytes]:
    if path.name.lower().endswith(".gz"):
        return gzip.GzipFile(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # the caller closes it


def _with_partitions(
    columns: dict[str, pa.Array], n: int, source: _Source, plan: _Plan
) -> dict[str, pa.Array]:
    for key, value in source.partitions:
        if key not in columns and key in plan.contract:
            columns[key] = pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, np.int32)), pa.array([value], pa.string())
            )
    return columns


def _found(names: Sequence[str], source: _Source) -> list[str]:
    return [*names, *(k for k, _ in source.partitions if k not in names)]


def _read_parquet(
    source: _Source, plan: _Plan, batch_rows: int
) -> Generator[_RawBatch, None, None]:
    path = source.name
    if source.path.stat().st_size == 0:
        return
    try:
        with pq.ParquetFile(path) as probe:
            schema = probe.schema_arrow
            rows = probe.metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableLogError(path, f"not a readable Parquet file ({exc})") from None
    found = _found(schema.names, source)
    if rows == 0:
        return
    plan.check_schema(path, found)
    wanted = plan.wanted(schema.names)
    as_dictionary = [
        name
        for name in wanted
        if name in plan.dictionary_columns and _is_text(schema.field(name).type)
    ]
    try:
        # pre_buffer coalesces reads ahead across row groups: for a front-to-back scan it
        # only holds more memory (381 vs 233 MB at 10M rows) and was slower (1.32 vs 0.96 s).
        with pq.ParquetFile(path, read_dictionary=as_dictionary, pre_buffer=False) as handle:
            row = 0
            for batch in handle.iter_batches(
                batch_size=batch_rows, columns=wanted, use_threads=True
            ):
                n = batch.num_rows
                columns = dict(zip(batch.schema.names, batch.columns, strict=True))
                yield _RawBatch(
                    _with_partitions(columns, n, source, plan),
                    found,
                    np.arange(row, row + n, dtype=np.int64),
                )
                row += n
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableLogError(path, f"corrupt or truncated Parquet data ({exc})") from None


def _csv_problem(exc: BaseException) -> str:
    text = str(exc)
    if "invalid UTF8" in text:
        return f"is not UTF-8 text ({text}); save it as UTF-8"
    if "straddl" in text:
        return (
            f"a row is longer than {_CSV_MAX_BLOCK_BYTES >> 20} MB, more than CSV logs may "
            "hold; write such rows as Parquet or JSON Lines"
        )
    return f"not readable as CSV ({exc})"


def _straddles(exc: BaseException, block: int) -> bool:
    # Arrow parses a CSV block by block and refuses a row longer than a block.
    return "straddl" in str(exc) and block < _CSV_MAX_BLOCK_BYTES


def _read_csv(source: _Source, plan: _Plan, batch_rows: int) -> Generator[_RawBatch, None, None]:
    path = source.name
    if source.path.stat().st_size == 0:
        return
    block = _CSV_BLOCK_BYTES
    while True:
        try:
            # The header alone tells which columns to read as text; the probe parses one block.
            with pcsv.open_csv(
                path,
                read_options=pcsv.ReadOptions(block_size=block),
                parse_options=pcsv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=lambda row: "skip"
                ),
            ) as probe:
                names = probe.schema.names
            break
        except (pa.ArrowException, OSError) as exc:
            if "Empty CSV file" in str(exc):
                return
            if _straddles(exc, block):
                block *= 4
                continue
            raise UnreadableLogError(path, _csv_problem(exc)) from None
    found = _found(names, source)
    plan.check_schema(path, found)
    wanted = plan.wanted(names)
    text = pa.string()
    codes = pa.dictionary(pa.int32(), pa.string())
    invalid: list[tuple[int, str]] = []
    # After a row too long for the block, the file is read again with larger blocks; rows
    # (and malformed rows) handed on before are skipped, so each is read once.
    done = handed = seen = 0

    def on_invalid(row: Any) -> str:
        nonlocal seen
        seen += 1
        if seen > handed:
            invalid.append((-1, str(row.text)))
        return "skip"

    while True:
        seen = 0
        try:
            reader = pcsv.open_csv(
                path,
                read_options=pcsv.ReadOptions(block_size=block),
                parse_options=pcsv.ParseOptions(
                    newlines_in_values=True, invalid_row_handler=on_invalid
                ),
                convert_options=pcsv.ConvertOptions(
                    column_types={
                        n: codes if n in plan.dictionary_columns else text for n in wanted
                    },
                    include_columns=wanted,
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=True,
                    null_values=[""],
                ),
            )
            row = 0
            with reader:
                for batch in reader:
                    if row + batch.num_rows <= done:
                        row += batch.num_rows
                        continue
                    if row < done:
                        batch = batch.slice(done - row)
                        row = done
                    malformed, invalid[:] = list(invalid), []
                    handed += len(malformed)
                    for start in range(0, max(batch.num_rows, 1), batch_rows):
                        part = batch.slice(start, batch_rows)
                        n = part.num_rows
                        columns = dict(zip(part.schema.names, part.columns, strict=True))
                        row += n
                        done = row
                        yield _RawBatch(
                            _with_partitions(columns, n, source, plan),
                            found,
                            np.arange(row - n, row, dtype=np.int64),
                            untyped=True,
                            malformed=malformed if start == 0 else [],
                        )
                if invalid:
                    handed += len(invalid)
                    yield _RawBatch({}, found, np.empty(0, np.int64), True, list(invalid))
            return
        except (pa.ArrowException, OSError) as exc:
            if _straddles(exc, block):
                block *= 4
                invalid.clear()
                continue
            raise UnreadableLogError(path, _csv_problem(exc)) from None


def _read_jsonl(source: _Source, plan: _Plan, batch_rows: int) -> Generator[_RawBatch, None, None]:
    path = source.name
    try:
        with _open_binary(source.path) as handle:
            start = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
            if start.startswith(b"["):
                raise UnreadableLogError(
                    path, "is one JSON array, not JSON Lines; write one JSON object per line"
                )
            handle.seek(0)
            yield from _jsonl_batches(handle, source, plan, batch_rows)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UnreadableLogError(path, f"cannot read ({exc})") from None


def _jsonl_batches(
    handle: IO[bytes], source: _Source, plan: _Plan, batch_rows: int
) -> Iterator[_RawBatch]:
    pending = b""
    line_number = 0
    lines: list[bytes] = []
    numbers: list[int] = []
    first = True
    while True:
        block = handle.read(_JSONL_READ_BYTES)
        data = pending + block
        if first and data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        first = False
        if block:
            cut = data.rfind(b"\n") + 1
            data, pending = data[:cut], data[cut:]
        else:
            pending = b""
        for line in data.split(b"\n") if data else []:
            if line.strip():
                lines.append(line)
                numbers.append(line_number)
            line_number += 1
            if len(lines) >= batch_rows:
                yield _parse_json_lines(lines, numbers, source, plan)
                lines, numbers = [], []
        if block and data.endswith(b"\n"):
            line_number -= 1  # split() produced an empty tail that is not a line
        if not block:
            break
    if lines:
        yield _parse_json_lines(lines, numbers, source, plan)


def _parse_json_lines(
    lines: list[bytes], numbers: list[int], source: _Source, plan: _Plan
) -> _RawBatch:
    payload = b"\n".join(lines)
    table: pa.Table | None = None
    try:
        table = pj.read_json(
            io.BytesIO(payload),
            read_options=pj.ReadOptions(block_size=max(len(payload) + 1, 1 << 16)),
            parse_options=pj.ParseOptions(
                explicit_schema=pa.schema([(n, pa.string()) for n in plan.json_text_columns]),
                unexpected_field_behavior="infer",
            ),
        )
        if table.num_rows != len(lines):
            table = None
    except (pa.ArrowException, OSError):
        table = None
    if table is not None:
        # Keys of the explicit schema come back as all-null columns even when no line has
        # them; keep only keys that occur, so a missing column is reported as missing.
        found = [
            n
            for n in table.schema.names
            if n not in plan.json_text_columns or not _all_null(table[n]) or _key_seen(lines, n)
        ]
        return _json_batch(table, found, np.array(numbers, np.int64), source, plan, [])
    records: list[dict[str, Any]] = []
    good: list[int] = []
    malformed: list[tuple[int, str]] = []
    for number, line in zip(numbers, lines, strict=True):
        try:
            value = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            value = None
        if isinstance(value, dict):
            records.append(value)
            good.append(number)
        else:
            malformed.append((number, line.decode("utf-8", errors="replace")))
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    columns = {
        key: _column_from_python([r.get(key) for r in records], key in plan.json_text_columns)
        for key in keys
    }
    table = pa.table(columns) if columns else pa.table({})
    return _json_batch(table, list(keys), np.array(good, np.int64), source, plan, malformed)


def _all_null(column: pa.ChunkedArray) -> bool:
    return bool(column.null_count == len(column))


def _key_seen(lines: list[bytes], key: str) -> bool:
    needle = json.dumps(key).encode()
    return any(needle in line for line in lines)


def _json_batch(
    table: pa.Table,
    found: list[str],
    numbers: I64,
    source: _Source,
    plan: _Plan,
    malformed: list[tuple[int, str]],
) -> _RawBatch:
    columns = {n: table[n].combine_chunks() for n in plan.wanted(found)}
    return _RawBatch(
        _with_partitions(columns, len(numbers), source, plan),
        _found(found, source),
        numbers,
        malformed=malformed,
    )


def _scalar_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False)


def _column_from_python(values: list[Any], text: bool) -> pa.Array:
    if not text:
        try:
            return pa.array(values)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            pass
    return pa.array([_scalar_text(v) for v in values], pa.string())


_READERS: dict[str, Callable[[_Source, _Plan, int], Generator[_RawBatch, None, None]]] = {
    "parquet": _read_parquet,
    "csv": _read_csv,
    "jsonl": _read_jsonl,
}


def _prefetch(items: Iterator[T], depth: int = _PREFETCH_DEPTH) -> Generator[T, None, None]:
    """Run ``items`` in a background thread, ``depth`` items ahead.

    Arrow decodes without the GIL, so reading the next batch overlaps with the NumPy
    work on this one: the two cores are both busy. Exceptions are re-raised here, at
    the position where they happened.
    """
    slots: queue.Queue[tuple[int, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(kind: int, value: Any) -> bool:
        while not stop.is_set():
            try:
                slots.put((kind, value), timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(0, item):
                    return
            put(1, None)
        except BaseException as exc:  # handed to the consumer thread, re-raised there
            put(2, exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="modelhealth-ingest-reader", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == 1:
                return
            if kind == 2:
                raise value
            yield value
    finally:
        stop.set()
        worker.join()


# --------------------------------------------------------------------------- conversions


def _chunked(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks()
    return values


def _is_text(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_string(kind) or pa.types.is_large_string(kind) or str(kind) == "string_view"
    )


def _is_number(kind: pa.DataType) -> bool:
    return bool(
        pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
        or pa.types.is_boolean(kind)
    )


def _flags(values: pa.Array, null: bool = False) -> Bool:
    """An Arrow boolean array as NumPy, nulls as ``null``."""
    return np.asarray(pc.fill_null(values, null).to_numpy(zero_copy_only=False), bool)


def _valid(values: pa.Array) -> Bool:
    if values.null_count == 0:
        return np.ones(len(values), bool)
    return np.asarray(values.is_valid().to_numpy(zero_copy_only=False), bool)


def _through_dictionary(values: pa.Array, convert: Callable[[pa.Array], Any], fill: Any) -> Any:
    """Apply ``convert`` (which returns a tuple of arrays) to a dictionary's values once,
    then spread the results over the rows; null rows get ``fill``."""
    parts = convert(values.dictionary)
    indices = values.indices
    valid = _valid(indices)
    at = indices.fill_null(0).to_numpy(zero_copy_only=False).astype(np.intp, copy=False)
    out = []
    for part, empty in zip(parts, fill, strict=True):
        taken = part[at] if len(part) else np.full(len(at), empty, part.dtype)
        if not valid.all():
            taken[~valid] = empty
        out.append(taken)
    return tuple(out)


def _text(values: pa.Array) -> pa.Array:
    """Any column as plain (non-dictionary) text; numbers become their Arrow text."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    if _is_text(values.type):
        return values
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), pa.string())
    try:
        return pc.cast(values, pa.string())
    except pa.ArrowException:
        return pa.array([None if v is None else str(v) for v in values.to_pylist()], pa.string())


def _missing_text(values: pa.Array) -> Bool:
    """Null or empty."""
    if pa.types.is_dictionary(values.type):
        (missing,) = _through_dictionary(values, lambda d: (_missing_text(d),), (True,))
        return np.asarray(missing, bool)
    if not _is_text(values.type) and not pa.types.is_binary(values.type):
        return ~_valid(values)
    return _flags(pc.equal(pc.binary_length(values), 0), null=True)


def _floats(values: pa.Array | None, n: int) -> tuple[F64, Bool]:
    """Numbers as float64 (NaN for null or unreadable) and which non-null cells were not
    numbers at all."""
    if values is None:
        return np.full(n, np.nan), np.zeros(n, bool)
    kind = values.type
    if pa.types.is_dictionary(kind):
        out: tuple[F64, Bool] = _through_dictionary(
            values, lambda d: _floats(d, len(d)), (np.nan, False)
        )
        return out
    if _is_number(kind):
        # Unsafe: an integer past 2**53 is a (rounded) number, not a reason to stop the run.
        cast = values if pa.types.is_floating(kind) else pc.cast(values, pa.float64(), safe=False)
        return (
            np.asarray(cast.to_numpy(zero_copy_only=False), np.float64),
            np.zeros(len(values), bool),
        )
    if pa.types.is_null(kind):
        return np.full(len(values), np.nan), np.zeros(len(values), bool)
    if not _is_text(kind):
        return np.full(len(values), np.nan), _valid(values)
    try:
        parsed = np.asarray(
            pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), np.float64
        )
    except pa.ArrowInvalid:
        # Some cell is not a number: pandas' C parser turns just those into NaN.
        series = pd.Series(values.to_numpy(zero_copy_only=False), dtype=object)
        parsed = pd.to_numeric(series.str.strip(), errors="coerce").to_numpy(np.float64)
    unreadable = np.isnan(parsed) & _valid(values)
    if unreadable.any():
        nan_text = pc.match_substring_regex(
            pc.utf8_trim_whitespace(values), _NAN_TEXT, ignore_case=True
        )
        unreadable &= ~_flags(nan_text)
    return parsed, unreadable


def _booleans(values: pa.Array | None, n: int) -> tuple[I8, Bool]:
    """1 / 0 / -1 (null) and which non-null cells were not booleans."""
    if values is None:
        return np.full(n, -1, np.int8), np.zeros(n, bool)
    kind = values.type
    if pa.types.is_dictionary(kind):
        out: tuple[I8, Bool] = _through_dictionary(
            values, lambda d: _booleans(d, len(d)), (np.int8(-1), False)
        )
        return out
    if pa.types.is_boolean(kind):
        logged: I8 = _flags(values).view(np.int8)
        if values.null_count:
            logged[~_valid(values)] = -1
        return logged, np.zeros(len(values), bool)
    valid = _valid(values)
    result = np.full(len(values), -1, np.int8)
    if _is_number(kind):
        number, _ = _floats(values, len(values))
        result[number == 1] = 1
        result[number == 0] = 0
        return result, valid & ~np.isnan(number) & (result < 0)
    if pa.types.is_null(kind):
        return result, np.zeros(len(values), bool)
    if not _is_text(kind):
        return result, valid
    word = pc.utf8_lower(pc.utf8_trim_whitespace(values))
    truth = _flags(pc.is_in(word, pa.array(_TRUE)))
    falsity = _flags(pc.is_in(word, pa.array(_FALSE)))
    blank = _flags(pc.equal(pc.binary_length(word), 0))
    result[truth] = 1
    result[falsity] = 0
    return result, valid & ~truth & ~falsity & ~blank


def _categorical(values: pa.Array | None) -> tuple[I32, list[str]] | None:
    """Dictionary codes over the whole batch (categories may repeat or go unused)."""
    if values is None:
        return None
    if not pa.types.is_dictionary(values.type):
        values = pc.dictionary_encode(_text(values))
    dictionary = values.dictionary
    if not _is_text(dictionary.type):
        dictionary = _text(dictionary)
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


def _subset_categorical(whole: tuple[I32, list[str]], rows: Idx | None) -> Categorical:
    """The chunk's own dictionary: unique categories, each used by some row; labels
    longer than :data:`MAX_LABEL_CHARS` are cut (cut labels that coincide merge)."""
    codes, names = whole
    if rows is not None:
        codes = codes[rows]
    if len(names) == 0:
        return Categorical(np.full(len(codes), -1, np.int32), [])
    if max(map(len, names)) > MAX_LABEL_CHARS:
        names = [_label(name) for name in names]
    used = np.bincount(codes + 1, minlength=len(names) + 1)[1:] > 0
    if used.all() and len(set(names)) == len(names):
        return Categorical(np.asarray(codes, np.int32), list(names))
    remap = np.full(len(names) + 1, -1, np.int32)  # last slot: null stays -1
    categories: list[str] = []
    position: dict[str, int] = {}
    for code in np.flatnonzero(used).tolist():
        name = names[code]
        if name not in position:
            position[name] = len(categories)
            categories.append(name)
        remap[code] = position[name]
    return Categorical(remap[codes], categories)


def _timestamps(values: pa.Array) -> tuple[I64, Bool, Bool]:
    """UTC ns since the epoch, which rows parsed, and which were naive (taken as UTC)."""
    n = len(values)
    kind = values.type
    zeros = np.zeros(n, bool)
    if pa.types.is_dictionary(kind):
        out: tuple[I64, Bool, Bool] = _through_dictionary(
            values, _timestamps, (np.int64(0), False, False)
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
        ok = _valid(values) & (np.abs(number) <= _INT64_MAX // scale)
        ns = np.where(ok, number, 0) * scale
        return ns, ok, (ok.copy() if naive else zeros)
    if pa.types.is_integer(kind):
        number = np.asarray(
            pc.cast(values, pa.int64(), safe=False).fill_null(0).to_numpy(zero_copy_only=False),
            np.int64,
        )
        return _epoch_ms(number, _valid(values))
    if _is_text(kind):
        return _parse_iso(values)
    return np.zeros(n, np.int64), zeros, zeros


def _epoch_ms(number: I64, valid: Bool) -> tuple[I64, Bool, Bool]:
    ok = valid & (number >= EPOCH_MS_MIN) & (number < EPOCH_MS_MAX)
    return np.where(ok, number, 0) * 1_000_000, ok, np.zeros(len(number), bool)


def _matches(values: pa.Array, pattern: str) -> Bool:
    return _flags(pc.match_substring_regex(values, pattern))


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
        _valid(cast),
    )


def _feature(values: pa.Array, untyped: bool) -> npt.NDArray[Any] | None:
    kind = values.type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
        if not (_is_text(kind) or _is_number(kind)):
            return None
        values = values.dictionary_decode()
    if _is_number(kind) or pa.types.is_null(kind):
        return _floats(values, len(values))[0]
    if _is_text(kind):
        if untyped:
            try:
                return np.asarray(
                    pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False), np.float64
                )
            except pa.ArrowInvalid:
                pass
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
    if pa.types.is_temporal(kind):
        return np.asarray(_text(values).to_numpy(zero_copy_only=False), dtype=object)
    return None  # nested types are not features


# --------------------------------------------------------------------------- labels


@dataclass
class _Labels:
    """Late labels, sorted by key for ``searchsorted`` look-ups."""

    keys: U64
    per_model: bool
    correct: I8 | None
    label: pa.Array | None
    quality: F64 | None

    @classmethod
    def load(cls, path: str | Path, plan: _Plan) -> _Labels:
        name = str(path)
        file = Path(path)
        kind = _format(file)
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
        ids = _chunked(table["prediction_id"])
        keep = ~_missing_text(ids)
        per_model = "model_id" in names
        if per_model:
            models = _text(_chunked(table["model_id"])).to_pylist()
            ordinal = np.array([plan.ordinal.get(m, -1) if m else -1 for m in models], np.int64)
            keep &= ordinal >= 0
        rows = np.flatnonzero(keep)
        table = table.take(pa.array(rows))
        keys = hash_ids(_text(_chunked(table["prediction_id"])))
        if per_model:
            keys ^= plan.salt[ordinal[rows]]
        correct = label = quality = None
        if "correct" in names:
            correct, _ = _booleans(_chunked(table["correct"]), table.num_rows)
        if "label" in names:
            label = _text(_chunked(table["label"]))
        if "quality_score" in names:
            quality, unreadable = _floats(_chunked(table["quality_score"]), table.num_rows)
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
        with _open_binary(file) as handle:
            tables = []
            for batch in _jsonl_batches(handle, _Source(file, True), _LABELS_PLAN, 1 << 20):
                if batch.malformed:
                    number, _ = batch.malformed[0]
                    raise LabelsError(name, f"line {number + 1} is not a JSON object")
                tables.append(pa.table(batch.columns))
            if not tables:
                return pa.table({})
            return pa.concat_tables(tables, promote_options="permissive")
    except LabelsError:
        raise
    except (pa.ArrowException, OSError, EOFError) as exc:
        raise LabelsError(name, f"cannot be read ({exc})") from None


class _LabelsPlan(_Plan):
    """Reads every column of a labels file as JSON (no register involved)."""

    def __init__(self) -> None:
        self.contract = {"prediction_id", "model_id", "correct", "label", "quality_score"}
        self.prefixes = []
        self.json_text_columns = {"model_id"}


_LABELS_PLAN = _LabelsPlan()


# --------------------------------------------------------------------------- the engine


class _Columns:
    """One batch's columns, each converted at most once, over all rows of the batch.

    Models with different mappings share most columns (``output_type``, ``correct`` …);
    converting whole columns once and indexing NumPy arrays per group is cheaper than
    taking Arrow rows per group and converting each part.
    """

    def __init__(self, batch: _RawBatch) -> None:
        self.batch = batch
        self.n = batch.n
        self._cache: dict[tuple[str, str], Any] = {}

    def has(self, name: str) -> bool:
        return name in self.batch.columns

    def _get(self, kind: str, name: str, make: Callable[[], T]) -> T:
        key = (kind, name)
        if key not in self._cache:
            self._cache[key] = make()
        return cast(T, self._cache[key])

    def text(self, name: str) -> pa.Array:
        values = self.batch.columns.get(name)
        return self._get(
            "text", name, lambda: pa.nulls(self.n, pa.string()) if values is None else _text(values)
        )

    def missing_text(self, name: str) -> Bool:
        values = self.batch.columns.get(name)
        if values is not None and pa.types.is_dictionary(values.type):
            return self._get("missing", name, lambda: _missing_text(values))
        return self._get("missing", name, lambda: _missing_text(self.text(name)))

    def id_hash(self, name: str) -> U64:
        return self._get("hash", name, lambda: hash_ids(self.text(name)))

    def floats(self, name: str) -> tuple[F64, Bool]:
        return self._get("floats", name, lambda: _floats(self.batch.columns.get(name), self.n))

    def booleans(self, name: str) -> tuple[I8, Bool]:
        return self._get("booleans", name, lambda: _booleans(self.batch.columns.get(name), self.n))

    def timestamps(self, name: str) -> tuple[I64, Bool, Bool]:
        values = self.batch.columns.get(name)
        return self._get(
            "timestamps", name, lambda: _timestamps(pa.nulls(self.n) if values is None else values)
        )

    def categorical(self, name: str) -> tuple[I32, list[str]] | None:
        return self._get("categorical", name, lambda: _categorical(self.batch.columns.get(name)))

    def feature(self, name: str) -> npt.NDArray[Any] | None:
        return self._get(
            "feature", name, lambda: _feature(self.batch.columns[name], self.batch.untyped)
        )

    def warm(self, plan: _Plan) -> None:
        """Convert every column the plan may use, ahead of time.

        Runs in the reader thread: Arrow and NumPy release the GIL for the heavy loops,
        so conversion of the next batch overlaps with validation of this one.
        """
        if self.n == 0:
            return
        for column in plan.model_id_columns:
            if self.has(column):
                self.categorical(column)
        for group in plan.groups:
            mapping = group.mapping
            if not self.has(mapping.model_id):
                continue
            self.missing_text(mapping.prediction_id)
            self.id_hash(mapping.prediction_id)
            self.timestamps(mapping.timestamp)
            for name in (mapping.confidence, mapping.latency_ms, mapping.quality_score):
                if self.has(name):
                    self.floats(name)
            for name in (mapping.error, mapping.format_valid):
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
        judged = _equal_text(columns[mapping.prediction], columns[mapping.label])
        fill = (correct < 0) & (judged >= 0)
        correct[fill] = judged[fill]
        return correct


@dataclass
class _Part:
    """The rows of one mapping group in a batch, after validation."""

    group: _Group
    rows: Idx | None  # batch rows of the group; None = every row
    ordinal: I32  # model ordinal per group row
    kept: Idx  # group rows that are valid and inside their model's windows


class _Ingest:
    """One ``read_logs`` call: the files in order, batch by batch, with one seen-set."""

    def __init__(
        self,
        plan: _Plan,
        labels: _Labels | None,
        quarantine: QuarantineWriter | None,
        batch_rows: int,
        stats: IngestStats,
    ) -> None:
        self.plan = plan
        self.labels = labels
        self.quarantine = quarantine
        self.batch_rows = batch_rows
        self.stats = stats
        self.seen = SeenIds()
        # This batch's quarantined rows: encoded tables, and row sets still to encode.
        self._pending: list[pa.Table] = []
        self._pending_rows: list[tuple[_RawBatch, _Source, Idx, list[str], str, str]] = []

    def run(self, sources: list[_Source]) -> Generator[ModelChunk, None, None]:
        for source in sources:
            self.stats.files.append(source.name)
            try:
                yield from self._read(source)
            except (UnreadableLogError, MissingColumnError) as exc:
                if source.direct:
                    raise
                self._flush_quarantine()  # rows it already quarantined stay accounted for
                self.stats.unreadable.append(source.name)
                self.stats.unreadable_reasons[source.name] = str(exc)

    def _read(self, source: _Source) -> Iterator[ModelChunk]:
        kind = _format(source.path)
        assert kind is not None
        reader = _READERS[kind](source, self.plan, self.batch_rows)
        plan = self.plan

        def converted() -> Iterator[_Columns]:
            try:
                for batch in reader:
                    columns = _Columns(batch)
                    columns.warm(plan)
                    yield columns
            finally:
                reader.close()

        checked: set[int] = set()
        batches = _prefetch(converted())
        try:
            for columns in batches:
                yield from self._batch(columns, source, checked)
        finally:
            batches.close()  # stops the reader thread now, even when a batch failed

    # ---------------------------------------------------------------- one batch

    def _batch(self, columns: _Columns, source: _Source, checked: set[int]) -> Iterator[ModelChunk]:
        plan = self.plan
        stats = self.stats
        batch = columns.batch
        if batch.malformed:
            self._quarantine_malformed(batch.malformed, source)
        n = batch.n
        if n == 0:
            self._flush_quarantine()
            return
        ordinal = self._attribute(columns, source)
        group_of = np.where(ordinal >= 0, plan.group_of[np.maximum(ordinal, 0)], -1)
        present = np.flatnonzero(np.bincount(group_of + 1, minlength=len(plan.groups) + 1)[1:])
        for g in present.tolist():
            if g not in checked:
                group = plan.groups[g]
                missing = [c for c in group.required() if c not in batch.columns]
                if missing:
                    models = group.models if len(plan.groups) > 1 else []
                    raise MissingColumnError(source.name, missing, batch.found, models)
                checked.add(g)
        stats.rows_read += n
        unattributed = np.flatnonzero(ordinal < 0)
        if len(unattributed):
            self._quarantine_unattributed(batch, source, ordinal, unattributed)
        whole = len(present) == 1 and not len(unattributed)
        parts = [
            self._validate(
                columns,
                source,
                plan.groups[g],
                ordinal,
                None if whole else np.flatnonzero(group_of == g),
            )
            for g in present.tolist()
        ]
        self._drop_duplicates(columns, parts)
        self._flush_quarantine()
        for part in parts:
            yield from self._chunks(columns, part)

    def _attribute(self, columns: _Columns, source: _Source) -> I32:
        """Model ordinal per row: -1 = unknown model id, -2 = no model id."""
        batch = columns.batch
        n = batch.n
        ordinal = np.full(n, -2, np.int32)
        any_column = False
        for column, ids in self.plan.model_id_columns.items():
            if not columns.has(column):
                continue
            any_column = True
            codes, names = columns.categorical(column) or (np.full(n, -1, np.int32), [])
            lookup = np.array([ids.get(m, -1) if m else -2 for m in names] + [-2], np.int32)
            mine = lookup[codes]
            better = (ordinal < 0) & (mine > ordinal)
            ordinal[better] = mine[better]
        if not any_column:
            self.plan.check_schema(source.name, batch.found)
        return ordinal

    def _validate(
        self,
        columns: _Columns,
        source: _Source,
        group: _Group,
        ordinal_all: I32,
        rows: Idx | None,
    ) -> _Part:
        """Quarantine the group's bad rows, count those outside the windows, keep the rest."""
        plan = self.plan
        mapping = group.mapping

        def pick(values: Any) -> Any:
            return values if rows is None else values[rows]

        ordinal = pick(ordinal_all)
        missing_id = pick(columns.missing_text(mapping.prediction_id))
        ts_all, ts_ok_all, _ = columns.timestamps(mapping.timestamp)
        ts, ts_ok = pick(ts_all), pick(ts_ok_all)
        confidence = pick(columns.floats(mapping.confidence)[0])
        latency = pick(columns.floats(mapping.latency_ms)[0])
        with np.errstate(invalid="ignore"):
            valid = (confidence >= 0.0) & (confidence <= 1.0)
            valid &= (latency >= 0.0) & (latency < np.inf)
            valid &= ts_ok
            valid &= ~missing_id
            error_bad = quality_bad = None
            if columns.has(mapping.error):
                error_bad = pick(columns.booleans(mapping.error)[1])
                valid &= ~error_bad
            if columns.has(mapping.quality_score):
                quality, unreadable = columns.floats(mapping.quality_score)
                quality, quality_bad = pick(quality), pick(unreadable)
                quality_bad = quality_bad | (quality < 0.0) | (quality > 1.0)
                valid &= ~quality_bad
        if not valid.all():
            bad = np.flatnonzero(~valid)
            reason = np.zeros(len(bad), np.uint8)
            # Assigned lowest priority first, so the first failing reason wins.
            checks = (
                ("quality_score_out_of_range", None if quality_bad is None else quality_bad[bad]),
                ("error_not_boolean", None if error_bad is None else error_bad[bad]),
                ("latency_negative", latency[bad] < 0),
                ("latency_not_a_number", ~np.isfinite(latency[bad])),
                ("confidence_out_of_range", (confidence[bad] < 0) | (confidence[bad] > 1)),
                ("confidence_not_a_number", ~np.isfinite(confidence[bad])),
                ("bad_timestamp", ~ts_ok[bad]),
                ("missing_prediction_id", missing_id[bad]),
            )
            for name, failed in checks:
                if failed is not None:
                    reason[failed] = _CODE[name]
            in_batch = bad if rows is None else rows[bad]
            self._quarantine(columns.batch, source, in_batch, reason, ordinal[bad], mapping)
        # Valid rows outside the model's windows are not tonight's business.
        if len(group.ordinals) == 1:
            lo, hi = plan.lo[group.ordinals[0]], plan.hi[group.ordinals[0]]
        else:
            lo, hi = plan.lo[ordinal], plan.hi[ordinal]
        keep = valid & (ts >= lo) & (ts < hi)
        kept = np.flatnonzero(keep)
        self.stats.rows_out_of_window += int(np.count_nonzero(valid)) - len(kept)
        return _Part(group, rows, ordinal, kept)

    def _drop_duplicates(self, columns: _Columns, parts: list[_Part]) -> None:
        """One look-up in the seen-set for the whole batch; per-model keys."""
        plan = self.plan
        stats = self.stats
        if not parts:
            return
        keys = []
        for part in parts:
            hashes = columns.id_hash(part.group.mapping.prediction_id)
            at = part.kept if part.rows is None else part.rows[part.kept]
            if len(part.group.ordinals) == 1:
                keys.append(hashes[at] ^ plan.salt[part.group.ordinals[0]])
            else:
                keys.append(hashes[at] ^ plan.salt[part.ordinal[part.kept]])
        duplicate = self.seen.add(np.concatenate(keys) if len(keys) > 1 else keys[0])
        if not duplicate.any():
            return
        start = 0
        for part in parts:
            mine = duplicate[start : start + len(part.kept)]
            start += len(part.kept)
            if not mine.any():
                continue
            counts = np.bincount(part.ordinal[part.kept[mine]], minlength=len(plan.models))
            for o in np.flatnonzero(counts).tolist():
                stats._count(stats.duplicates_by_model, plan.models[o], int(counts[o]))
            stats.rows_duplicate += int(np.count_nonzero(mine))
            part.kept = part.kept[~mine]

    def _chunks(self, columns: _Columns, part: _Part) -> Iterator[ModelChunk]:
        plan = self.plan
        stats = self.stats
        mapping = part.group.mapping
        kept = part.kept
        if len(kept) == 0:
            return
        at: Idx | None = kept if part.rows is None else part.rows[kept]
        if part.rows is None and len(kept) == columns.n:
            at = None  # every row of the batch: no copies
        stats.rows_used += len(kept)
        naive = columns.timestamps(mapping.timestamp)[2]
        stats.naive_timestamps += int(np.count_nonzero(naive if at is None else naive[at]))
        correct = columns.correct(mapping)
        quality = (
            columns.floats(mapping.quality_score)[0] if columns.has(mapping.quality_score) else None
        )
        if self.labels is not None:
            correct, quality = self._join_labels(columns, part, at, correct, quality)
        error = columns.booleans(mapping.error)[0] == 1 if columns.has(mapping.error) else None
        format_valid = (
            columns.booleans(mapping.format_valid)[0] if columns.has(mapping.format_valid) else None
        )
        prefix = mapping.feature_prefix
        features = {
            name[len(prefix) :]: converted
            for name in columns.batch.columns
            if name.startswith(prefix)
            and name != prefix
            and name not in plan.contract
            and (converted := columns.feature(name)) is not None
        }
        if len(part.group.ordinals) == 1:
            split = [(part.group.ordinals[0], at)]
        else:
            owners = part.ordinal[kept]
            split = [
                (int(o), (kept if part.rows is None else part.rows[kept])[owners == o])
                for o in np.unique(owners).tolist()
            ]
        ts = columns.timestamps(mapping.timestamp)[0]
        for o, rows in split:

            def pick(values: Any, rows: Idx | None = rows) -> Any:
                if values is None or rows is None:
                    return values
                return values[rows]

            def category(name: str, rows: Idx | None = rows) -> Categorical | None:
                whole = columns.categorical(name) if columns.has(name) else None
                return None if whole is None else _subset_categorical(whole, rows)

            yield ModelChunk(
                model_id=plan.models[o],
                id_hash=pick(columns.id_hash(mapping.prediction_id)),
                timestamp_ns=pick(ts),
                confidence=pick(columns.floats(mapping.confidence)[0]),
                latency_ms=pick(columns.floats(mapping.latency_ms)[0]),
                error=pick(error),
                correct=pick(correct),
                quality_score=pick(quality),
                output_type=category(mapping.output_type),
                failure_mode=category(mapping.failure_mode),
                format_valid=pick(format_valid),
                segment=category(mapping.segment),
                prediction=category(mapping.prediction),
                features={k: pick(v) for k, v in features.items()},
            )

    def _join_labels(
        self,
        columns: _Columns,
        part: _Part,
        at: Idx | None,
        correct: I8 | None,
        quality: F64 | None,
    ) -> tuple[I8 | None, F64 | None]:
        """Late labels fill or override the log's values on the kept rows."""
        labels = self.labels
        assert labels is not None
        mapping = part.group.mapping
        rows = np.arange(columns.n) if at is None else at
        keys = columns.id_hash(mapping.prediction_id)[rows]
        if labels.per_model:
            keys = keys ^ self.plan.salt[part.ordinal[part.kept]]
        found, where = labels.lookup(keys)
        self.stats.labels_joined += int(np.count_nonzero(found))
        rows, where = rows[found], where[found]
        has_prediction = columns.has(mapping.prediction)
        if labels.correct is not None or (labels.label is not None and has_prediction):
            # Copies: cached arrays are shared with other groups of the batch.
            correct = np.full(columns.n, -1, np.int8) if correct is None else correct.copy()
            if labels.label is not None and has_prediction and len(rows):
                judged = _equal_text(
                    columns.text(mapping.prediction).take(pa.array(rows)),
                    labels.label.take(pa.array(where)),
                )
                given = judged >= 0
                correct[rows[given]] = judged[given]
            if labels.correct is not None and len(rows):
                value = labels.correct[where]
                given = value >= 0
                correct[rows[given]] = value[given]
        if labels.quality is not None:
            quality = np.full(columns.n, np.nan) if quality is None else quality.copy()
            score = labels.quality[where]
            graded = ~np.isnan(score)
            quality[rows[graded]] = score[graded]
        return correct, quality

    # ---------------------------------------------------------------- quarantine

    def _count_quarantined(self, reasons: Sequence[str], models: Sequence[str]) -> None:
        stats = self.stats
        stats.rows_quarantined += len(reasons)
        for key, count in Counter(reasons).items():
            stats._count(stats.quarantined_by_reason, key, count)
        for key, count in Counter(models).items():
            stats._count(stats.quarantined_by_model, key, count)

    def _quarantine(
        self,
        batch: _RawBatch,
        source: _Source,
        rows: Idx,
        codes: npt.NDArray[np.uint8],
        ordinal: I32,
        mapping: ColumnMapping,
    ) -> None:
        reasons = [QUARANTINE_REASONS[c - 1] for c in codes.tolist()]
        models = [self.plan.models[o] for o in ordinal.tolist()]
        self._count_quarantined(reasons, models)
        self._write(batch, source, rows, reasons, mapping.model_id, mapping.prediction_id)

    def _quarantine_unattributed(
        self, batch: _RawBatch, source: _Source, ordinal: I32, rows: Idx
    ) -> None:
        plan = self.plan
        # Which prediction_id column to judge by when the model is unknown: the first
        # mapping whose model_id column this file has.
        mapping = next(
            (g.mapping for g in plan.groups if g.mapping.model_id in batch.columns),
            plan.groups[0].mapping,
        )
        ids = batch.columns.get(mapping.prediction_id)
        take = pa.array(rows)
        missing_id = np.ones(len(rows), bool) if ids is None else _missing_text(ids.take(take))
        code = np.where(ordinal[rows] == -2, _CODE["missing_model_id"], _CODE["unknown_model"])
        code[missing_id] = _CODE["missing_prediction_id"]
        reasons = [QUARANTINE_REASONS[c - 1] for c in code.tolist()]
        self._count_quarantined(reasons, [UNATTRIBUTED] * len(rows))
        self._write(batch, source, rows, reasons, mapping.model_id, mapping.prediction_id)

    def _quarantine_malformed(self, malformed: list[tuple[int, str]], source: _Source) -> None:
        self.stats.rows_read += len(malformed)
        reasons = ["malformed_line"] * len(malformed)
        self._count_quarantined(reasons, [UNATTRIBUTED] * len(malformed))
        if self.quarantine is not None:
            self._pending.append(
                _quarantine_table(
                    source.name,
                    [number for number, _ in malformed],
                    reasons,
                    [None] * len(malformed),
                    [None] * len(malformed),
                    [row_json({"_line": text}) for _, text in malformed],
                )
            )

    def _write(
        self,
        batch: _RawBatch,
        source: _Source,
        rows: Idx,
        reasons: list[str],
        model_column: str,
        id_column: str,
    ) -> None:
        if self.quarantine is None:
            return
        # Encoding is deferred to the end of the batch: one rows_json call for all parts.
        self._pending_rows.append((batch, source, rows, reasons, model_column, id_column))

    def _flush_quarantine(self) -> None:
        """Write the batch's quarantined rows in file order."""
        if self._pending_rows:
            self._encode_pending_rows()
        if not self._pending or self.quarantine is None:
            return
        table = pa.concat_tables(self._pending)
        self._pending = []
        order = pc.sort_indices(table, sort_keys=[("_order", "ascending")])
        self.quarantine.write(table.take(order).drop_columns(["_order"]))

    def _encode_pending_rows(self) -> None:
        pieces, self._pending_rows = self._pending_rows, []
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
                values: list[str | None] = _text(
                    table[name].slice(start, stop - start).combine_chunks()
                ).to_pylist()
                return values

            self._pending.append(
                _quarantine_table(
                    source.name,
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


def _maybe_subset(whole: tuple[I32, list[str]] | None, rows: Idx | None) -> Categorical | None:
    return None if whole is None else _subset_categorical(whole, rows)


def _equal_text(left: pa.Array, right: pa.Array) -> I8:
    """1 where equal, 0 where different, -1 where the right side (the label) is null.

    A null prediction against a label counts as wrong: the model gave no answer."""
    if pa.types.is_dictionary(left.type) and pa.types.is_dictionary(right.type):
        # Compare small integer ids instead of text: one id per distinct category name.
        left_codes, left_names = _categorical(left) or (np.zeros(0, np.int32), [])
        right_codes, right_names = _categorical(right) or (np.zeros(0, np.int32), [])
        ids: dict[str, int] = {}
        left_ids = np.array([ids.setdefault(name, len(ids)) for name in left_names] + [-1])
        right_ids = np.array([ids.get(name, -2) for name in right_names] + [-3])
        same: I8 = (left_ids[left_codes] == right_ids[right_codes]).astype(np.int8)
        same[right_codes < 0] = -1
        return same
    a = _text(left)
    b = _text(right)
    out: I8 = _flags(pc.equal(a, b)).astype(np.int8)
    out[~_valid(b)] = -1
    return out
