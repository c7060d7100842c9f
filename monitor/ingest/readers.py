"""Readers: log files as record batches of the columns ingest needs, a few at a time.

Parquet is read row group by row group; CSV as text (one bad cell quarantines one row,
not the file), block by block, retrying with larger blocks when a row is longer than a
block; JSON Lines in blocks parsed by Arrow, and line by line with :func:`json.loads`
when a block fails, so a broken line is quarantined alone. :func:`prefetch` runs a
reader in a background thread so reading overlaps with validation.

What one file may cost is bounded by the register's ``ingest`` settings, whoever wrote
the file: a JSON Lines line longer than ``max_line_bytes`` is quarantined as
``line_too_long`` and skipped without being held; a CSV row that long makes the file
unreadable; a ``.gz`` file that inflates past ``max_decompressed_bytes`` is unreadable.
Two columns with one name are refused: which copy holds the values cannot be told.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import queue
import threading
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.json as pj
import pyarrow.parquet as pq

from monitor.errors import UnreadableLogError
from monitor.ingest import coerce
from monitor.ingest.batch import RawBatch
from monitor.ingest.plan import ColumnSelection, IngestPlan
from monitor.ingest.sources import LogFile
from thresholds.schema import IngestSettings

__all__ = ["jsonl_batches", "open_binary", "open_source", "prefetch", "read_batches"]

T = TypeVar("T")

_CSV_BLOCK_BYTES = 4 << 20
#: Rows longer than a block are read by retrying with blocks four times larger, up to
#: the register's ``ingest.max_line_bytes``.
_JSONL_READ_BYTES = 8 << 20
_PREFETCH_DEPTH = 2
#: How much of a line too long to keep is shown in the quarantine.
_PREVIEW_BYTES = 1000
_DEFAULT_LIMITS = IngestSettings()


def _size(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):g} {unit}"
    return f"{n} bytes"


class _CappedStream(io.RawIOBase):
    """A decompressed stream that refuses to inflate past ``limit`` bytes.

    A gzip file can inflate a thousandfold: a few megabytes on disk can hold gigabytes
    of lines. Counting what comes out bounds the time and disk a bomb can take.
    """

    def __init__(self, raw: io.BufferedIOBase, limit: int, path: str) -> None:
        super().__init__()
        self._raw = raw
        self._limit = limit
        self._path = path
        self.total = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(len(view))
        self.total += len(data)
        if self.total > self._limit:
            raise UnreadableLogError(
                self._path,
                f"decompresses to more than {_size(self._limit)} "
                "(the register's ingest.max_decompressed_bytes); raise that limit if the "
                "file is genuine, or split it",
            )
        view[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._raw.close()
        super().close()


def open_binary(path: Path, *, max_decompressed_bytes: int | None = None) -> IO[bytes]:
    """The file's bytes, gunzipped when its name ends in ``.gz`` (refusing to inflate past
    ``max_decompressed_bytes``, default the register's default); the caller closes it."""
    if path.name.lower().endswith(".gz"):
        limit = max_decompressed_bytes or _DEFAULT_LIMITS.max_decompressed_bytes
        capped = _CappedStream(gzip.GzipFile(path, "rb"), limit, str(path))
        return io.BufferedReader(capped, buffer_size=1 << 20)
    return open(path, "rb")  # the caller closes it


def _refuse_duplicates(path: str, names: Sequence[str], wanted: Sequence[str]) -> None:
    """Two columns with one name: Parquet readers take the last copy, CSV readers the
    first, so which values a check used would depend on the format."""
    counts = Counter(names)
    twice = [name for name in dict.fromkeys(wanted) if counts[name] > 1]
    if twice:
        listed = ", ".join(f"{name!r} ({counts[name]} times)" for name in twice)
        raise UnreadableLogError(
            path,
            f"has more than one column named {listed}: which copy holds the values cannot "
            "be told; rename or drop the copies",
        )


def open_source(
    source: LogFile, *, decompress: bool = True, max_decompressed_bytes: int | None = None
) -> IO[bytes]:
    """A log file's bytes, local or through fsspec (a URL), gunzipped when its name ends
    in ``.gz`` and ``decompress`` (refusing to inflate past ``max_decompressed_bytes``,
    default the register's default); the caller closes it."""
    if not source.remote:
        path = Path(source.name)
        if decompress:
            return open_binary(path, max_decompressed_bytes=max_decompressed_bytes)
        return open(path, "rb")
    import fsspec

    raw: IO[bytes] = fsspec.open(source.location, "rb").open()
    if not (decompress and source.name.lower().endswith(".gz")):
        return raw
    limit = max_decompressed_bytes or _DEFAULT_LIMITS.max_decompressed_bytes
    capped = _CappedStream(gzip.GzipFile(fileobj=raw, mode="rb"), limit, source.name)
    return io.BufferedReader(capped, buffer_size=1 << 20)


@contextmanager
def _readable(source: LogFile) -> Iterator[Any]:
    """What Arrow's readers take: the local path (they decompress ``.gz`` themselves), or
    an open fsspec file for a URL, gunzipped by fsspec."""
    if not source.remote:
        yield source.name
        return
    with open_source(source) as handle:
        yield handle


def _empty(source: LogFile) -> bool:
    if source.remote:
        return source.size == 0
    return Path(source.name).stat().st_size == 0


def _with_partitions(
    columns: dict[str, pa.Array], n: int, source: LogFile, selection: ColumnSelection
) -> dict[str, pa.Array]:
    """Hive partition keys that name a contract column fill it when the file lacks it."""
    for key, value in source.partitions:
        if key not in columns and key in selection.contract:
            columns[key] = pa.DictionaryArray.from_arrays(
                pa.array(np.zeros(n, np.int32)), pa.array([value], pa.string())
            )
    return columns


def _found(names: Sequence[str], source: LogFile) -> list[str]:
    return [*names, *(k for k, _ in source.partitions if k not in names)]


def _read_parquet(
    source: LogFile, plan: IngestPlan, batch_rows: int
) -> Generator[RawBatch, None, None]:
    path = source.name
    if _empty(source):
        return
    try:
        with _readable(source) as where, pq.ParquetFile(where) as probe:
            schema = probe.schema_arrow
            rows = probe.metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableLogError(path, f"not a readable Parquet file ({exc})") from None
    found = _found(schema.names, source)
    if rows == 0:
        return
    wanted = plan.selection.wanted(schema.names)
    _refuse_duplicates(path, schema.names, wanted)
    plan.check_schema(path, found)
    # Text features too: a categorical feature then costs one Python string per
    # category, not one per row (``coerce.feature``).
    as_dictionary = [
        name
        for name in wanted
        if (name in plan.selection.dictionary or name not in plan.selection.contract)
        and coerce.is_text(schema.field(name).type)
    ]
    try:
        # pre_buffer coalesces reads ahead across row groups: for a front-to-back scan it
        # only holds more memory (381 vs 233 MB at 10M rows) and was slower (1.32 vs 0.96 s).
        with (
            _readable(source) as where,
            pq.ParquetFile(where, read_dictionary=as_dictionary, pre_buffer=False) as handle,
        ):
            row = 0
            for batch in handle.iter_batches(
                batch_size=batch_rows, columns=wanted, use_threads=True
            ):
                n = batch.num_rows
                columns = dict(zip(batch.schema.names, batch.columns, strict=True))
                yield RawBatch(
                    _with_partitions(columns, n, source, plan.selection),
                    found,
                    np.arange(row, row + n, dtype=np.int64),
                    file_rows=rows if row == 0 else 0,
                )
                row += n
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableLogError(path, f"corrupt or truncated Parquet data ({exc})") from None


def _csv_problem(exc: BaseException, limits: IngestSettings) -> str:
    text = str(exc)
    if "invalid UTF8" in text:
        return f"is not UTF-8 text ({text}); save it as UTF-8"
    if "straddl" in text:
        return (
            f"a row is longer than {_size(limits.max_line_bytes)} (the register's "
            "ingest.max_line_bytes); write such rows as Parquet or JSON Lines, or raise "
            "that limit"
        )
    return f"not readable as CSV ({exc})"


def _straddles(exc: BaseException, block: int, limits: IngestSettings) -> bool:
    # Arrow parses a CSV block by block and refuses a row longer than a block.
    return "straddl" in str(exc) and block < limits.max_line_bytes


@contextlib.contextmanager
def _csv_input(source: LogFile, limits: IngestSettings) -> Iterator[Any]:
    """What Arrow's CSV reader opens: the local path, or a stream for a URL and for a
    ``.gz`` file (which Arrow would inflate without a bound) that stops at
    ``max_decompressed_bytes``."""
    if not source.remote and not source.name.lower().endswith(".gz"):
        yield source.name
        return
    with open_source(source, max_decompressed_bytes=limits.max_decompressed_bytes) as handle:
        yield handle


def _read_csv(
    source: LogFile, plan: IngestPlan, batch_rows: int
) -> Generator[RawBatch, None, None]:
    path = source.name
    if _empty(source):
        return
    limits = plan.limits
    block = int(min(_CSV_BLOCK_BYTES, limits.max_line_bytes))
    while True:
        try:
            # The header alone tells which columns to read as text; the probe parses one block.
            with (
                _csv_input(source, limits) as where,
                pcsv.open_csv(
                    where,
                    read_options=pcsv.ReadOptions(block_size=block),
                    parse_options=pcsv.ParseOptions(
                        newlines_in_values=True, invalid_row_handler=lambda row: "skip"
                    ),
                ) as probe,
            ):
                names = probe.schema.names
            break
        except (pa.ArrowException, OSError) as exc:
            if "Empty CSV file" in str(exc):
                return
            if _straddles(exc, block, limits):
                block = int(min(block * 4, limits.max_line_bytes))
                continue
            raise UnreadableLogError(path, _csv_problem(exc, limits)) from None
    found = _found(names, source)
    wanted = plan.selection.wanted(names)
    _refuse_duplicates(path, names, wanted)
    plan.check_schema(path, found)
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
            with _csv_input(source, limits) as where:
                reader = pcsv.open_csv(
                    where,
                    read_options=pcsv.ReadOptions(block_size=block),
                    parse_options=pcsv.ParseOptions(
                        newlines_in_values=True, invalid_row_handler=on_invalid
                    ),
                    convert_options=pcsv.ConvertOptions(
                        column_types={
                            n: codes if n in plan.selection.dictionary else text for n in wanted
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
                            yield RawBatch(
                                _with_partitions(columns, n, source, plan.selection),
                                found,
                                np.arange(row - n, row, dtype=np.int64),
                                untyped=True,
                                malformed=malformed if start == 0 else [],
                            )
                    if invalid:
                        handed += len(invalid)
                        yield RawBatch({}, found, np.empty(0, np.int64), True, list(invalid))
            return
        except (pa.ArrowException, OSError) as exc:
            if _straddles(exc, block, limits):
                block = int(min(block * 4, limits.max_line_bytes))
                invalid.clear()
                continue
            raise UnreadableLogError(path, _csv_problem(exc, limits)) from None


def _read_jsonl(
    source: LogFile, plan: IngestPlan, batch_rows: int
) -> Generator[RawBatch, None, None]:
    path = source.name
    limits = plan.limits
    inflate = limits.max_decompressed_bytes
    try:
        with open_source(source, max_decompressed_bytes=inflate) as handle:
            start = handle.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
        if start.startswith(b"["):
            raise UnreadableLogError(
                path, "is one JSON array, not JSON Lines; write one JSON object per line"
            )
        with open_source(source, max_decompressed_bytes=inflate) as handle:
            yield from jsonl_batches(
                handle, source, plan.selection, batch_rows, max_line_bytes=limits.max_line_bytes
            )
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UnreadableLogError(path, f"cannot read ({exc})") from None


def _preview(line: bytes) -> str:
    """The start of a line too long to keep, and how long it was."""
    head = line[:_PREVIEW_BYTES].decode("utf-8", errors="replace")
    return f"{head}…[line of {len(line):,}+ bytes]"


def jsonl_batches(
    handle: IO[bytes],
    source: LogFile,
    selection: ColumnSelection,
    batch_rows: int,
    *,
    max_line_bytes: int = _DEFAULT_LIMITS.max_line_bytes,
) -> Iterator[RawBatch]:
    """JSON Lines as batches of ``batch_rows`` non-blank lines; ``row_number`` is the
    0-based line number and a line that is not a JSON object is ``malformed``.

    A line longer than ``max_line_bytes`` is ``refused`` as ``line_too_long`` and skipped
    up to its newline without being held: memory stays within about twice that limit
    plus one read, however long the line.
    """
    pending = b""
    line_number = 0
    lines: list[bytes] = []
    numbers: list[int] = []
    refused: list[tuple[int, str, str]] = []
    first = True
    skipping = False  # inside a line too long to keep: drop bytes up to its newline
    while True:
        block = handle.read(_JSONL_READ_BYTES)
        eof = not block
        if first and block.startswith(b"\xef\xbb\xbf"):
            block = block[3:]
        first = False
        if skipping:
            end = block.find(b"\n")
            if end < 0:
                if eof:
                    break
                continue
            block, skipping = block[end + 1 :], False
            line_number += 1
        data = pending + block
        if not eof:
            cut = data.rfind(b"\n") + 1
            data, pending = data[:cut], data[cut:]
        else:
            pending = b""
        for line in data.split(b"\n") if data else []:
            if len(line) > max_line_bytes:
                refused.append((line_number, _preview(line), "line_too_long"))
            elif line.strip():
                lines.append(line)
                numbers.append(line_number)
            line_number += 1
            if len(lines) >= batch_rows:
                yield _parse_json_lines(lines, numbers, source, selection, refused)
                lines, numbers, refused = [], [], []
        if not eof and data.endswith(b"\n"):
            line_number -= 1  # split() produced an empty tail that is not a line
        if len(pending) > max_line_bytes:
            refused.append((line_number, _preview(pending), "line_too_long"))
            pending, skipping = b"", True
        if eof:
            break
    if lines or refused:
        yield _parse_json_lines(lines, numbers, source, selection, refused)


class _DuplicateKey(Exception):
    """A JSON object that names one key twice (``json.loads`` would keep the last)."""


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _DuplicateKey
    return out


def _encodable(value: Any) -> bool:
    """False when a decoded JSON value holds a lone surrogate (``"\\ud800"``): text that
    no UTF-8 file, Arrow array or report can hold."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _parse_json_lines(
    lines: list[bytes],
    numbers: list[int],
    source: LogFile,
    selection: ColumnSelection,
    refused: list[tuple[int, str, str]],
) -> RawBatch:
    if not lines:
        return RawBatch({}, _found([], source), np.empty(0, np.int64), refused=list(refused))
    payload = b"\n".join(lines)
    table: pa.Table | None = None
    try:
        table = pj.read_json(
            io.BytesIO(payload),
            read_options=pj.ReadOptions(block_size=max(len(payload) + 1, 1 << 16)),
            parse_options=pj.ParseOptions(
                explicit_schema=pa.schema([(n, pa.string()) for n in selection.json_text]),
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
            if n not in selection.json_text or not _all_null(table[n]) or _key_seen(lines, n)
        ]
        batch = _json_batch(table, found, np.array(numbers, np.int64), source, selection, [])
        batch.refused = list(refused)
        return batch
    records: list[dict[str, Any]] = []
    good: list[int] = []
    malformed: list[tuple[int, str]] = []
    refused = list(refused)
    for number, line in zip(numbers, lines, strict=True):
        text = line.decode("utf-8", errors="replace")
        try:
            value = json.loads(line, object_pairs_hook=_unique_keys)
        except _DuplicateKey:
            refused.append((number, text, "duplicate_key"))
            continue
        except UnicodeDecodeError:
            refused.append((number, text, "invalid_text"))
            continue
        except ValueError:
            value = None
        if not isinstance(value, dict):
            malformed.append((number, text))
        elif not _encodable(value):
            refused.append((number, text, "invalid_text"))
        else:
            records.append(value)
            good.append(number)
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record))
    columns = {
        key: _column_from_python([r.get(key) for r in records], key in selection.json_text)
        for key in keys
    }
    table = pa.table(columns) if columns else pa.table({})
    batch = _json_batch(table, list(keys), np.array(good, np.int64), source, selection, malformed)
    batch.refused = refused
    return batch


def _all_null(column: pa.ChunkedArray) -> bool:
    return bool(column.null_count == len(column))


def _key_seen(lines: list[bytes], key: str) -> bool:
    needle = json.dumps(key).encode()
    return any(needle in line for line in lines)


def _json_batch(
    table: pa.Table,
    found: list[str],
    numbers: npt.NDArray[np.int64],
    source: LogFile,
    selection: ColumnSelection,
    malformed: list[tuple[int, str]],
) -> RawBatch:
    columns = {n: table[n].combine_chunks() for n in selection.wanted(found)}
    return RawBatch(
        _with_partitions(columns, len(numbers), source, selection),
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


_READERS: dict[str, Callable[[LogFile, IngestPlan, int], Generator[RawBatch, None, None]]] = {
    "parquet": _read_parquet,
    "csv": _read_csv,
    "jsonl": _read_jsonl,
}


def read_batches(
    source: LogFile, plan: IngestPlan, batch_rows: int
) -> Generator[RawBatch, None, None]:
    """The file's batches of at most ``batch_rows`` rows, read by its format's reader.

    Raises :class:`UnreadableLogError` or :class:`MissingColumnError` (from the plan's
    schema check) as the file is read.
    """
    kind = source.format
    assert kind is not None, "sources only lists files of a log format"
    return _READERS[kind](source, plan, batch_rows)


def prefetch(items: Iterator[T], depth: int = _PREFETCH_DEPTH) -> Generator[T, None, None]:
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
