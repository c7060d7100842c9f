"""The on-disk half of exact de-duplication: sorted key runs, the id arena, their merge.

:class:`~monitor.ingest.dedup_exact.ExactSeen` keeps what fits its memory budget and moves the
rest here, into one private folder (:class:`SpillFolder`) that it deletes when done:

* a **run** (:class:`DiskRun`) is a file of ``count`` entries sorted by key: the keys
  (``uint64``) first, then each entry's :data:`PAYLOAD` (where its id bytes are in the
  arena, their length, the model). Only every :data:`BLOCK`-th key (a *fence*) stays in
  memory: looking keys up reads just the 4 KiB blocks that can hold them;
* the **arena** (:class:`Arena`) is every distinct id's bytes, appended once, never
  rewritten. Runs point into it, so merging runs moves 24 bytes per entry whatever the
  length of the ids, and a duplicate is confirmed by comparing bytes read from it;
* :func:`merge_runs` merges sorted sources (disk runs or in-memory runs) into one new
  run, streaming through buffers of a fixed size: the memory of a merge does not depend
  on the size of the runs.

Every read and write goes through ``os.pread``/``os.pwrite`` into NumPy buffers: no
memory maps, whose touched pages would count in the process's resident memory (on
Linux 6.18, 59 keys searched in a mapped 32 MiB run mapped all 32 MiB).
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import shutil
import stat
import tempfile
import time
import weakref
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

__all__ = [
    "BLOCK",
    "PAYLOAD",
    "SPILL_PREFIX",
    "Arena",
    "DiskRun",
    "Matches",
    "SpillFolder",
    "binary",
    "concat_payload",
    "merge_runs",
    "merged",
    "pick",
    "ranges",
    "read_exactly",
    "search_equal",
    "sweep_abandoned",
    "write_all",
]

U64 = npt.NDArray[np.uint64]
U8 = npt.NDArray[np.uint8]
Idx = npt.NDArray[np.intp]

#: Where a distinct id's bytes are (``off`` into the arena, ``len``) and its model ordinal.
PAYLOAD = np.dtype([("off", "<u8"), ("len", "<u4"), ("model", "<u4")])
_KEY = np.dtype("<u8")
#: Keys per fence: 512 keys are one 4 KiB block, the unit of a look-up read.
BLOCK = 512
#: Reads closer than this are coalesced into one (a syscall costs more than 16 KiB).
_GAP_BYTES = 16_384
#: A look-up with fewer keys than one per this many blocks of a run reads one block per
#: key without planning coalesced reads (they would seldom coalesce).
_SPARSE_BLOCKS = 8

#: (needle index, payload) for every stored entry whose key equals a needle.
Matches = tuple[Idx, npt.NDArray[np.void]]


def read_exactly(fd: int, size: int, offset: int, path: Path) -> bytes:
    """``size`` bytes at ``offset`` (``os.pread`` until done); errors name ``path``."""
    parts = []
    while size > 0:
        try:
            chunk = os.pread(fd, size, offset)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        if not chunk:
            raise OSError(f"{path} ended {size} bytes early (truncated while in use?)")
        parts.append(chunk)
        size -= len(chunk)
        offset += len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def write_all(fd: int, data: npt.NDArray[np.generic], offset: int, path: Path) -> None:
    """All of ``data`` at ``offset`` (``os.pwrite`` until done); errors name ``path``."""
    view = memoryview(np.ascontiguousarray(data).view(np.uint8).data)
    while len(view):
        try:
            written = os.pwrite(fd, view, offset)
        except OSError as exc:  # a full disk names the spill file, so the CLI can say which
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        view = view[written:]
        offset += written


def read_ranges(
    fd: int, path: Path, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64], limit: int
) -> Iterator[tuple[U8, npt.NDArray[np.int64], slice]]:
    """Read the byte ranges ``[starts[i], ends[i])`` (sorted by start) of a file.

    Ranges closer than :data:`_GAP_BYTES` share one read (the bytes between are read
    too), reads are grouped into about ``limit`` bytes, and each group is yielded as
    ``(joined bytes, where each of its ranges starts in them, which ranges)``.
    """
    n = len(starts)
    if n == 0:
        return
    reach = np.maximum.accumulate(ends)
    new_span = np.ones(n, bool)
    new_span[1:] = starts[1:] - reach[:-1] > _GAP_BYTES
    # A long run of close ranges is cut every ``limit`` bytes.
    first = np.flatnonzero(new_span)
    span_start = starts[first][np.cumsum(new_span) - 1]
    new_span[1:] |= (starts[1:] - span_start[1:]) // limit != (
        starts[:-1] - span_start[:-1]
    ) // limit
    first = np.flatnonzero(new_span)
    last = np.r_[first[1:], n]
    span_lo, span_hi = starts[first], reach[last - 1]
    group = np.cumsum(span_hi - span_lo) // limit
    cuts = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1, len(first)]
    for a, b in itertools.pairwise(cuts.tolist()):
        reads = [
            read_exactly(fd, int(hi - lo), int(lo), path)
            for lo, hi in zip(span_lo[a:b].tolist(), span_hi[a:b].tolist(), strict=True)
        ]
        joined = np.frombuffer(b"".join(reads) if len(reads) > 1 else reads[0], np.uint8)
        shift = np.cumsum(np.r_[0, span_hi[a : b - 1] - span_lo[a : b - 1]]) - span_lo[a:b]
        mine = slice(int(first[a]), int(last[b - 1]))
        span_of = np.repeat(np.arange(b - a), last[a:b] - first[a:b])
        yield joined, starts[mine] + shift[span_of], mine


def concat_payload(parts: Sequence[npt.NDArray[np.void]]) -> npt.NDArray[np.void]:
    """``np.concatenate`` of payload arrays, as raw 16-byte records (five times faster
    than concatenating the structured dtype, which promotes its fields on every call)."""
    raw = np.concatenate([part.view("V16") for part in parts])
    return raw.view(PAYLOAD)


def ranges(starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The indices ``start, start + 1, …, start + length - 1`` of each range, concatenated."""
    total = int(lengths.sum())
    if total == 0:
        return np.empty(0, np.int64)
    ends = np.cumsum(lengths)
    index = np.repeat(starts - (ends - lengths), lengths)
    index += np.arange(total)
    return index


def binary(offsets: npt.NDArray[np.int64], data: U8) -> pa.Array:
    """A ``large_binary`` Arrow array over ``data`` cut at ``offsets`` (no copy)."""
    return pa.Array.from_buffers(
        pa.large_binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def pick(buffer: U8, starts: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]) -> pa.Array:
    """The byte ranges ``buffer[start : start + length]`` as a ``large_binary`` array, in
    the order given. Ranges may repeat but must not overlap otherwise.

    The ranges, sorted, and the gaps between them cut ``buffer`` into one array (no
    copy); Arrow's ``take`` then copies just the ranges, without an index per byte.
    """
    full = lengths > 0
    unique, inverse = np.unique(starts[full], return_inverse=True)
    sizes = np.zeros(len(unique), np.int64)
    sizes[inverse] = lengths[full]
    # Value 0 is empty, then (gap, range) pairs: range k is value 2k + 2.
    cuts = np.zeros(2 * len(unique) + 2, np.int64)
    cuts[2::2] = unique
    cuts[3::2] = unique + sizes
    whole = binary(cuts, buffer[: int(cuts[-1])])
    index = np.zeros(len(starts), np.int64)
    index[full] = 2 * inverse + 2
    return whole.take(pa.array(index))


#: Name prefix of spill folders; :func:`sweep_abandoned` removes only these.
SPILL_PREFIX = "modelhealth-dedup-"
#: The file each live spill folder's owner holds an exclusive ``flock`` on.
_OWNER = ".owner"
#: A spill folder without an owner's lock file this old was left between ``mkdtemp`` and
#: the lock (microseconds apart): abandoned.
_UNLOCKED_SECONDS = 60


class SpillFolder:
    """A private folder for spilled runs and the arena, made on first use, deleted on
    :meth:`remove` (or when the owner is garbage-collected or the interpreter exits).

    The owner holds an exclusive ``flock`` on a file in it for as long as it lives, and
    the kernel drops that lock when the process dies, however it dies. Before making a
    folder, the folders of owners that are gone (a check that was killed) are removed
    from the same parent (:func:`sweep_abandoned`): a killed run's spill never piles up
    and is never mistaken for another run's.

    Parameters
    ----------
    parent
        Where to make it; ``None`` is the system temp folder (``TMPDIR``).
    """

    def __init__(self, parent: Path | None = None) -> None:
        self.parent = parent
        self._path: Path | None = None
        self._finalizer: weakref.finalize[..., SpillFolder] | None = None
        self._serial = 0
        #: Bytes written to files here so far (runs, merges and arena).
        self.bytes_written = 0
        #: Abandoned spill folders removed when this one was made.
        self.swept = 0

    @property
    def path(self) -> Path:
        if self._path is None:
            parent = Path(tempfile.gettempdir()) if self.parent is None else self.parent
            parent.mkdir(parents=True, exist_ok=True)
            self.swept = sweep_abandoned(parent)
            path = Path(tempfile.mkdtemp(prefix=SPILL_PREFIX, dir=parent))
            try:
                fd = os.open(path / _OWNER, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:
                shutil.rmtree(path, ignore_errors=True)
                raise
            self._path = path
            self._finalizer = weakref.finalize(self, _remove_owned, path, fd)
        return self._path

    @property
    def used(self) -> bool:
        return self._path is not None

    def new_file(self, stem: str) -> tuple[int, Path]:
        """A new file, open for reading and writing."""
        self._serial += 1
        path = self.path / f"{stem}-{self._serial:06d}.bin"
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600), path

    def disk_bytes(self) -> int:
        """Bytes the folder's files take now."""
        if self._path is None:
            return 0
        return sum(p.stat().st_size for p in self._path.iterdir())

    def remove(self) -> None:
        if self._finalizer is not None:
            self._finalizer()


def _remove_owned(path: Path, fd: int) -> None:
    """Delete a spill folder, then let go of its lock (a sweeper finds nothing to do)."""
    shutil.rmtree(path, ignore_errors=True)
    with contextlib.suppress(OSError):
        os.close(fd)


def sweep_abandoned(parent: Path, *, now: float | None = None) -> int:
    """Remove the spill folders in ``parent`` whose owner is gone; return how many.

    A folder is abandoned when nobody holds the lock on its owner file (the process that
    made it ended without removing it: killed, or out of power), or when it has no owner
    file and is older than a minute. Only this user's ``modelhealth-dedup-*`` folders
    are looked at; links are never followed.
    """
    moment = time.time() if now is None else now
    removed = 0
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.startswith(SPILL_PREFIX):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        folder = Path(entry.path)
        try:
            fd = os.open(folder / _OWNER, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            if moment - info.st_mtime > _UNLOCKED_SECONDS:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
            continue
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # its owner is alive
            os.close(fd)
            continue
        shutil.rmtree(folder, ignore_errors=True)
        os.close(fd)
        removed += 1
    return removed


class Arena:
    """Every distinct id's bytes, appended once: a memory buffer that moves to a file
    whenever it fills.

    Parameters
    ----------
    folder
        Where the file goes (made only if the buffer ever fills).
    buffer_bytes
        Bytes kept in memory before they are written out.
    """

    def __init__(self, folder: SpillFolder, buffer_bytes: int) -> None:
        self.folder = folder
        self.capacity = max(1, buffer_bytes)
        self._buffer = np.empty(0, np.uint8)
        self._used = 0
        #: Offset of the first byte still in memory; everything before it is in the file.
        self._base = 0
        self._fd = -1
        self._path = Path()

    @property
    def size(self) -> int:
        return self._base + self._used

    @property
    def nbytes(self) -> int:
        return self._buffer.nbytes

    def append(self, data: U8) -> int:
        """Append ``data``; returns the offset of its first byte."""
        at = self.size
        if self._used + len(data) > self.capacity:
            self._flush()
        if len(data) > self.capacity:
            self._write(data)
            self._base += len(data)
            return at
        if len(self._buffer) < self._used + len(data):
            grown = np.empty(
                min(self.capacity, max(2 * len(self._buffer), self._used + len(data))), np.uint8
            )
            grown[: self._used] = self._buffer[: self._used]
            self._buffer = grown
        self._buffer[self._used : self._used + len(data)] = data
        self._used += len(data)
        return at

    def _write(self, data: U8) -> None:
        if self._fd < 0:
            self._fd, self._path = self.folder.new_file("arena")
        write_all(self._fd, data, self._base, self._path)
        self.folder.bytes_written += len(data)

    def _flush(self) -> None:
        if self._used:
            self._write(self._buffer[: self._used])
            self._base += self._used
            self._used = 0

    def read(self, offsets: U64, lengths: npt.NDArray[np.uint32], limit: int) -> pa.Array:
        """The entries at ``offsets`` (``lengths`` bytes each), as a ``large_binary``
        array in the order given; file reads are coalesced into reads of about ``limit``
        bytes."""
        starts = offsets.astype(np.int64)
        sizes = lengths.astype(np.int64)
        in_file = starts < self._base
        if not in_file.any():
            return pick(self._buffer[: self._used], starts - self._base, sizes)
        parts: list[pa.Array] = []
        rows: list[Idx] = []
        memory = np.flatnonzero(~in_file)
        if len(memory):
            parts.append(
                pick(self._buffer[: self._used], starts[memory] - self._base, sizes[memory])
            )
            rows.append(memory)
        wanted = np.flatnonzero(in_file)
        wanted = wanted[np.argsort(starts[wanted], kind="stable")]
        file_starts = starts[wanted]
        for joined, where, mine in read_ranges(
            self._fd, self._path, file_starts, file_starts + sizes[wanted], limit
        ):
            parts.append(pick(joined, where, sizes[wanted[mine]]))
            rows.append(wanted[mine])
        order = np.argsort(np.concatenate(rows), kind="stable")
        return pa.concat_arrays(parts).take(pa.array(order))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def search_equal(stored: U64, needles: U64) -> tuple[Idx, Idx]:
    """For sorted ``needles``: each one's ``[left, right)`` range of equal keys in sorted
    ``stored``, expanded to (needle index, stored index) pairs."""
    left = np.searchsorted(stored, needles, side="left")
    right = np.searchsorted(stored, needles, side="right")
    return equal_pairs(left, right)


def equal_pairs(left: Idx, right: Idx) -> tuple[Idx, Idx]:
    """Needle ``i``'s equal keys at ``left[i] .. right[i] - 1``, as (needle index, stored
    index) pairs."""
    counts = right - left
    hit = np.flatnonzero(counts)
    if len(hit) == 0:
        empty = np.empty(0, np.intp)
        return empty, empty
    if (counts[hit] == 1).all():
        return hit, left[hit]
    # Several stored entries share a key (distinct ids whose hashes collide): all of them.
    per = counts[hit]
    needle = np.repeat(hit, per)
    first = np.repeat(left[hit] - (np.cumsum(per) - per), per)
    return needle, first + np.arange(len(needle))


class DiskRun:
    """A sorted run of (key, payload) entries in its own file, with its fences in memory."""

    def __init__(self, fd: int, path: Path, count: int, fences: U64, last: int) -> None:
        self.fd = fd
        self.path = path
        self.count = count
        self.fences = fences
        self.last = last
        self.tier = 0

    @property
    def nbytes(self) -> int:
        """Memory it holds (its fences)."""
        return self.fences.nbytes

    @property
    def file_bytes(self) -> int:
        return self.count * (_KEY.itemsize + PAYLOAD.itemsize)

    @classmethod
    def create(cls, folder: SpillFolder, count: int) -> _RunWriter:
        fd, path = folder.new_file("run")
        return _RunWriter(folder, fd, path, count)

    @classmethod
    def write(cls, folder: SpillFolder, keys: U64, payload: npt.NDArray[np.void]) -> DiskRun:
        writer = cls.create(folder, len(keys))
        writer.append(keys, payload)
        return writer.finish()

    def _keys(self, lo: int, hi: int) -> U64:
        raw = read_exactly(self.fd, (hi - lo) * 8, lo * 8, self.path)
        return np.frombuffer(raw, _KEY).astype(np.uint64, copy=False)

    def _payload(self, lo: int, hi: int) -> npt.NDArray[np.void]:
        at = self.count * 8 + lo * PAYLOAD.itemsize
        raw = read_exactly(self.fd, (hi - lo) * PAYLOAD.itemsize, at, self.path)
        return np.frombuffer(raw, PAYLOAD)

    def chunks(
        self, entries: int, *, payload: bool = True
    ) -> Iterator[tuple[U64, npt.NDArray[np.void] | None]]:
        """The whole run in order, ``entries`` at a time (keys only unless ``payload``)."""
        for lo in range(0, self.count, entries):
            hi = min(self.count, lo + entries)
            yield self._keys(lo, hi), self._payload(lo, hi) if payload else None

    def lookup(self, needles: U64, limit: int, *, sparse: bool | None = None) -> Matches:
        """Every entry whose key equals one of the sorted ``needles``, reading only the
        blocks that can hold them.

        Needles far apart (``sparse`` None: fewer than one per :data:`_SPARSE_BLOCKS`
        blocks of the run) cost a block read each, searched all at once; dense ones are
        read in coalesced reads of at most ``limit`` bytes, which are then sequential.
        Both give the same entries (``sparse`` forces one way).
        """
        empty: Matches = (np.empty(0, np.intp), np.empty(0, PAYLOAD))
        inside = np.flatnonzero((needles >= self.fences[0]) & (needles <= np.uint64(self.last)))
        if len(inside) == 0 or self.count == 0:
            return empty
        keys = needles[inside]
        first = np.maximum(np.searchsorted(self.fences, keys, side="left") - 1, 0)
        final = np.searchsorted(self.fences, keys, side="right") - 1
        if sparse is None:
            sparse = len(keys) * _SPARSE_BLOCKS * BLOCK <= self.count
        search = self._search_blocks if sparse else self._search_read
        needle, index = search(keys, first, final, limit)
        if len(needle) == 0:
            return empty
        return inside[needle], self._payload_at(index, limit)

    def _search_blocks(self, keys: U64, first: Idx, final: Idx, limit: int) -> tuple[Idx, Idx]:
        """(key index, entry index) pairs of equal keys, for keys far apart: each whole
        block that can hold a key (nearly always one per key) is read with one
        ``os.pread`` and compared with its keys at once, with no coalescing to plan; the
        keys whose entries may span blocks (equal to a fence) or that fall in the last,
        partial block go through :meth:`_search_read`."""
        whole = self.count // BLOCK
        one = np.flatnonzero((first == final) & (first < whole))
        other = np.flatnonzero((first != final) | (first >= whole))
        needles: list[Idx] = [np.empty(0, np.intp)]
        indices: list[Idx] = [np.empty(0, np.intp)]
        if len(one):
            block = first[one]
            wanted, row = np.unique(block, return_inverse=True)
            size = BLOCK * _KEY.itemsize
            raw = b"".join(
                [read_exactly(self.fd, size, b * size, self.path) for b in wanted.tolist()]
            )
            rows = np.frombuffer(raw, _KEY).reshape(len(wanted), BLOCK)[row]
            column = keys[one, np.newaxis]
            left = block.astype(np.intp) * BLOCK + np.count_nonzero(rows < column, axis=1)
            right = left + np.count_nonzero(rows == column, axis=1)
            needle, index = equal_pairs(left, right)
            needles.append(one[needle])
            indices.append(index)
        if len(other):
            needle, index = self._search_read(keys[other], first[other], final[other], limit)
            needles.append(other[needle])
            indices.append(index)
        return np.concatenate(needles), np.concatenate(indices)

    def _search_read(self, keys: U64, first: Idx, final: Idx, limit: int) -> tuple[Idx, Idx]:
        """(key index, entry index) pairs of equal keys: the blocks ``first..final`` of
        each key read with ``os.pread``, coalesced, and searched a read group at a time."""
        wanted = np.zeros(len(self.fences), bool)
        wanted[first] = True
        wanted[final] = True
        wide = np.flatnonzero(final - first > 1)
        if len(wide):  # a key repeated over whole blocks: every block in between too
            span = final[wide] - first[wide] + 1
            wanted[ranges(first[wide], span)] = True
        blocks = np.flatnonzero(wanted).astype(np.int64)
        lo_entry = blocks * BLOCK
        hi_entry = np.minimum(lo_entry + BLOCK, self.count)
        needle_parts: list[Idx] = [np.empty(0, np.intp)]
        index_parts: list[Idx] = [np.empty(0, np.intp)]
        # The blocks of one read group, joined in file order, are sorted (gaps read in
        # between are keys of the run too), so one vectorised search serves the group.
        for joined, where, mine in read_ranges(
            self.fd, self.path, lo_entry * 8, hi_entry * 8, limit
        ):
            stored = joined.view(_KEY).astype(np.uint64, copy=False)
            # Entry index of each stored key: a span is read whole, gaps included.
            span_start = lo_entry[mine] - where // 8
            index_of = np.arange(len(stored)) + np.repeat(
                span_start, np.diff(np.r_[where // 8, len(stored)])
            )
            first_needle = np.searchsorted(keys, stored[0], side="left")
            last_needle = np.searchsorted(keys, stored[-1], side="right")
            needle, index = search_equal(stored, keys[first_needle:last_needle])
            if len(needle):
                needle_parts.append(first_needle + needle)
                index_parts.append(index_of[index])
        return np.concatenate(needle_parts), np.concatenate(index_parts)

    def _payload_at(self, index: Idx, limit: int) -> npt.NDArray[np.void]:
        order = np.argsort(index, kind="stable")
        ordered = index[order].astype(np.int64)
        size = PAYLOAD.itemsize
        at = self.count * 8 + ordered * size
        out = np.empty(len(index), PAYLOAD)
        for joined, where, mine in read_ranges(self.fd, self.path, at, at + size, limit):
            out[order[mine]] = joined.view(PAYLOAD)[where // size]
        return out

    def delete(self) -> None:
        os.close(self.fd)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class _RunWriter:
    """Writes ``count`` entries, in sorted order, appended a slice at a time."""

    def __init__(self, folder: SpillFolder, fd: int, path: Path, count: int) -> None:
        self.folder = folder
        self.fd = fd
        self.path = path
        self.count = count
        self.done = 0
        self.fences: list[U64] = []
        self.last = 0

    def append(self, keys: U64, payload: npt.NDArray[np.void]) -> None:
        n = len(keys)
        if n == 0:
            return
        write_all(self.fd, keys, self.done * 8, self.path)
        write_all(self.fd, payload, self.count * 8 + self.done * PAYLOAD.itemsize, self.path)
        first_fence = -self.done % BLOCK
        self.fences.append(keys[first_fence::BLOCK].copy())
        self.last = int(keys[-1])
        self.done += n
        self.folder.bytes_written += n * (8 + PAYLOAD.itemsize)

    def finish(self) -> DiskRun:
        if self.done != self.count:
            raise RuntimeError(f"run {self.path} got {self.done} of {self.count} entries")
        fences = np.concatenate(self.fences) if self.fences else np.empty(0, np.uint64)
        return DiskRun(self.fd, self.path, self.count, fences, self.last)


#: A sorted source for :func:`merge_runs`: its entry count and its chunks in order
#: (keys, and their payload or ``None`` when only the keys are wanted).
Source = tuple[int, Iterator[tuple[U64, npt.NDArray[np.void] | None]]]


def merged(sources: Sequence[Source]) -> Iterator[tuple[U64, npt.NDArray[np.void] | None]]:
    """The entries of sorted sources, merged, a chunk at a time.

    Each round takes, from every source's current chunk, the entries up to the smallest
    *last key* among the sources that have more to come, so everything taken precedes
    everything still unread; a stable sort of those concatenated sorted pieces (Timsort
    merges them) is yielded. Memory is a chunk of each source at a time.
    """
    iterators = [chunks for _, chunks in sources]
    keys: list[U64] = []
    payloads: list[npt.NDArray[np.void] | None] = []
    more: list[bool] = []
    for chunks in iterators:
        chunk = next(chunks, None)
        keys.append(chunk[0] if chunk else np.empty(0, np.uint64))
        payloads.append(chunk[1] if chunk else None)
        more.append(chunk is not None)
    while any(len(k) for k in keys):
        pending = [k[-1] for k, m in zip(keys, more, strict=True) if m and len(k)]
        cut = min(pending) if pending else None
        take_keys, take_payload = [], []
        for i, k in enumerate(keys):
            upto = len(k) if cut is None else int(np.searchsorted(k, cut, side="right"))
            take_keys.append(k[:upto])
            payload = payloads[i]
            if payload is not None:
                take_payload.append(payload[:upto])
                payloads[i] = payload[upto:]
            keys[i] = k[upto:]
            if not len(keys[i]) and more[i]:
                chunk = next(iterators[i], None)
                more[i] = chunk is not None
                if chunk is not None:
                    keys[i], payloads[i] = chunk
        joined = np.concatenate(take_keys)
        order = np.argsort(joined, kind="stable")
        yield joined[order], concat_payload(take_payload)[order] if take_payload else None


def merge_runs(folder: SpillFolder, sources: Sequence[Source]) -> DiskRun:
    """Merge sorted sources (with their payloads) into one new run, streaming."""
    writer = DiskRun.create(folder, sum(count for count, _ in sources))
    for keys, payload in merged(sources):
        assert payload is not None, "a run needs the payload of every entry"
        writer.append(keys, payload)
    return writer.finish()
