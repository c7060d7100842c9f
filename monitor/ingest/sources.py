"""Which log files a check reads, in which order: the one listing every engine uses.

:func:`list_log_files` turns what the user named (files, directories, fsspec URLs such
as ``s3://bucket/logs/``) into :class:`LogFile` values in read order. The local engine
reads them, the Dask engine cuts them into partitions, and the run id hashes their
names, sizes and modification times, so the three can never disagree about what the
logs are.

Rules
-----
* A directory is walked top-down, files before subdirectories, each sorted by name;
  names starting with ``.`` or ``_`` are skipped (``_SUCCESS``, ``.crc`` files, hidden
  folders), and so are files whose extension is not a log format.
* A file named directly must have a log format's extension (``.parquet``, ``.pq``,
  ``.parq``, ``.csv``, ``.csv.gz``, ``.jsonl``, ``.ndjson``, ``.json``, each JSON one
  optionally ``.gz``); anything else is refused with :class:`UnreadableLogError`.
* A file reached twice (named twice, or inside two named directories) is read once,
  where it first appears.
* Hive partition folders (``date=2026-11-01/``, ``model_id=…/``) below a named
  directory become :attr:`LogFile.partitions`.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.errors import UnreadableLogError

__all__ = ["LogFile", "is_url", "list_log_files", "log_format"]

_FORMATS = {
    "parquet": (".parquet", ".pq", ".parq"),
    "csv": (".csv", ".csv.gz"),
    "jsonl": (".jsonl", ".ndjson", ".json", ".jsonl.gz", ".ndjson.gz", ".json.gz"),
}
_UNKNOWN_FORMAT = (
    "unknown log format; name it .parquet, .csv, .csv.gz, .jsonl, .ndjson or .json (optionally .gz)"
)
#: Keys of an fsspec ``info``/``ls`` entry that hold a modification time, by backend
#: (local and most: ``mtime``; S3: ``LastModified``; GCS: ``updated``).
_MODIFIED_KEYS = ("mtime", "LastModified", "updated", "last_modified", "modified")


def log_format(name: str) -> str | None:
    """``"parquet"``, ``"csv"`` or ``"jsonl"`` from a file name's extension, else None."""
    lowered = name.lower()
    for kind, suffixes in _FORMATS.items():
        if lowered.endswith(suffixes):
            return kind
    return None


def is_url(text: str) -> bool:
    """Whether ``text`` is a URL (``scheme://…``) rather than a local path."""
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.replace("+", "").replace("-", "").isalnum() and len(scheme) > 1


def _skipped(name: str) -> bool:
    return name.startswith((".", "_"))


@dataclass(frozen=True)
class LogFile:
    """One log file to read.

    Attributes
    ----------
    name
        How reports and the quarantine name it: the path as found below what the user
        named (not resolved), or the URL.
    location
        Where it is: the resolved local path, or the URL. Two names with one location
        are one file.
    size
        Bytes as stored (0 when it cannot be told, e.g. a dangling link).
    modified
        Its modification time as text (nanoseconds for local files, the store's own
        format for URLs; ``""`` when unknown): with ``size``, what tells a changed file.
    root, relative
        For a file found inside a directory the user named: that directory's position
        among the inputs, and the file's path below it (``/``-separated). ``None`` for
        a file named directly.
    """

    name: str
    location: str
    size: int
    modified: str = ""
    root: int | None = None
    relative: str | None = None

    @property
    def remote(self) -> bool:
        """Whether the file is read through fsspec (a URL) rather than the local filesystem."""
        return is_url(self.location)

    @property
    def direct(self) -> bool:
        """Named directly by the user (an unreadable one stops the run) rather than found
        inside a directory (an unreadable one is skipped and listed)."""
        return self.root is None

    @property
    def format(self) -> str | None:
        """The log format (see :func:`log_format`)."""
        return log_format(self.name)

    @property
    def partitions(self) -> tuple[tuple[str, str], ...]:
        """Hive partition keys of the folders between the named directory and the file."""
        if self.relative is None:
            return ()
        folders = self.relative.split("/")[:-1]
        return tuple(
            (key, urllib.parse.unquote(value))
            for key, sep, value in (folder.partition("=") for folder in folders)
            if sep
        )


def list_log_files(paths: str | Path | Sequence[str | Path]) -> list[LogFile]:
    """Every log file of ``paths``, in read order, each once.

    Parameters
    ----------
    paths
        Files and directories, local paths or fsspec URLs (``s3://…``, ``gs://…``,
        ``file://…``; reading a URL needs the matching fsspec backend installed).

    Returns
    -------
    list of LogFile

    Raises
    ------
    UnreadableLogError
        A path does not exist, or a file named directly has no log format's extension.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files: list[LogFile] = []
    seen: set[str] = set()
    for root, raw in enumerate(paths):
        text = str(raw)
        found = _remote_files(text, root) if is_url(text) else _local_files(Path(raw), root)
        for file in found:
            if file.location not in seen:
                seen.add(file.location)
                files.append(file)
    return files


def _local_file(path: Path, root: int | None = None, relative: str | None = None) -> LogFile:
    try:
        stat = path.stat()
        size, modified = stat.st_size, str(stat.st_mtime_ns)
    except OSError:  # a dangling link: the reader reports it, the listing just carries it
        size, modified = 0, ""
    return LogFile(str(path), str(path.resolve()), size, modified, root, relative)


def _local_files(path: Path, root: int) -> Iterator[LogFile]:
    if path.is_dir():
        for directory, subdirs, names in os.walk(path):
            subdirs[:] = sorted(d for d in subdirs if not _skipped(d))
            base = Path(directory)
            for name in sorted(names):
                if not _skipped(name) and log_format(name) is not None:
                    file = base / name
                    yield _local_file(file, root, file.relative_to(path).as_posix())
    elif path.is_file():
        if log_format(path.name) is None:
            raise UnreadableLogError(str(path), _UNKNOWN_FORMAT)
        yield _local_file(path)
    else:
        raise UnreadableLogError(str(path), "no such file or directory")


def _modified(entry: dict[str, Any]) -> str:
    for key in _MODIFIED_KEYS:
        if entry.get(key) is not None:
            return str(entry[key])
    return ""


def _remote_files(url: str, root: int) -> Iterator[LogFile]:
    import fsspec

    try:
        fs, top = fsspec.core.url_to_fs(url)
    except ImportError as exc:  # s3fs, gcsfs, adlfs … not installed
        raise UnreadableLogError(url, f"needs its fsspec backend installed ({exc})") from None
    except ValueError as exc:  # an unknown protocol
        raise UnreadableLogError(url, f"is not a URL fsspec can read ({exc})") from None
    try:
        yield from _walk_remote(fs, url, top, root)
    except (OSError, ValueError) as exc:  # credentials refused, bucket gone …
        if isinstance(exc, FileNotFoundError):
            raise UnreadableLogError(url, "no such file or directory") from None
        raise UnreadableLogError(url, f"cannot list it ({exc})") from None


def _walk_remote(fs: Any, url: str, top: str, root: int) -> Iterator[LogFile]:
    if fs.isfile(top):
        if log_format(url.rsplit("/", 1)[-1]) is None:
            raise UnreadableLogError(url, _UNKNOWN_FORMAT)
        info = fs.info(top)
        yield LogFile(url, url, int(info.get("size") or 0), _modified(info))
        return
    if not fs.isdir(top):
        raise UnreadableLogError(url, "no such file or directory")
    base = url.rstrip("/")
    top = top.rstrip("/")

    def walk(folder: str) -> Iterator[LogFile]:
        entries = fs.ls(folder, detail=True)
        name_of = {e["name"].rstrip("/"): e for e in entries}
        files = sorted(n for n, e in name_of.items() if e["type"] == "file")
        subdirs = sorted(n for n, e in name_of.items() if e["type"] == "directory")
        for name in files:
            leaf = name.rsplit("/", 1)[-1]
            if _skipped(leaf) or log_format(leaf) is None:
                continue
            relative = name[len(top) + 1 :]
            entry = name_of[name]
            yield LogFile(
                f"{base}/{relative}",
                f"{base}/{relative}",
                int(entry.get("size") or 0),
                _modified(entry),
                root,
                relative,
            )
        for name in subdirs:
            if name != folder and not _skipped(name.rsplit("/", 1)[-1]):
                yield from walk(name)

    yield from walk(top)
