"""Exact de-duplication of prediction ids in bounded memory.

The problem
-----------
Ingest drops a repeated ``prediction_id`` of a model and keeps its first occurrence in
log order, batch by batch, before the rows reach the aggregates
(``read_logs``'s ``_drop_duplicates`` calls :meth:`ExactSeen.add`). The earlier
:class:`~monitor.ingest.dedup.SeenIds` kept a 64-bit hash of every id in memory (8 bytes
per id, about 20 per row at peak with its merges: 1.3 GB at 50 M rows) and trusts the
hash: two ids with the same hash are one id, and anyone who writes ids can make that
happen (issue 17 found a collision in 270 tries). :class:`ExactSeen` answers the same
question, for every batch as it comes, with two promises instead:

* **exact**: a row is dropped only when an earlier row of the *same model* has the
  *same id bytes*. Hashes pick the candidates, the bytes decide;
* **bounded**: its state stays within ``memory_budget`` bytes (256 MiB by default)
  however many rows come; what does not fit goes to disk.

Design
------
A log-structured merge set (the design of LevelDB and RocksDB: a sorted in-memory
table, flushed as sorted runs, runs merged by size tier), with three choices made for
this job:

1. **Keys are keyed hashes, payloads point at the bytes.** A row's key is the SipHash-1-3
   (:mod:`monitor.ingest.keyed_hash`) of its id under a key drawn for the run, xored with a
   secret per-model salt. A public hash would let whoever writes ids pile them onto one
   key and make every look-up compare thousands of ids; a multiply–xorshift fold with a
   secret seed is not enough (a flip of an id's top bits passes through its multiply
   the same way whatever the seed). Each distinct id is stored once, as (key, payload):
   where its bytes sit in an append-only *arena*, their length and the model. Sorting,
   merging and spilling move 24 bytes per id whatever the id's length; the id bytes are
   written once, to the arena, and read back only to confirm a candidate duplicate.
2. **A filter in front of everything.** A blocked Bloom filter (5 bits in one 64-bit word
   per key; Putze, Sanders and Singler 2007) answers "certainly new" for nearly every
   row of a healthy log without touching the runs: about 0.4 % of new ids get through
   at 16 bits per id, 0.2 % at 21. It is sized from the distinct ids (at least 128
   bits each, rebuilt from the runs when it grows) up to half the budget, which it
   reaches at budget/128 ids; from there the state's memory no longer grows. Told how
   many ids come (a Parquet footer's row count, :meth:`ExactSeen.expect`), it is built
   once for them and does not grow until they are passed; smaller than growing would
   make it (down to 64 bits per id, 0.008 % through) when that keeps them all in the
   in-memory table: a 4.5 M-row file then never spills, where at 256 bits it did.
3. **Runs are read by block.** A spilled run keeps one key in 512 in memory (its
   fences); a candidate costs one 4 KiB read per run. Candidates far apart (what the
   filter lets through) read their blocks one by one and are compared with them all at
   once; closer ones share reads (reads closer than 16 KiB are coalesced and searched as
   one vector), and a dense set of candidates (a log read twice) becomes sequential
   reads. Spilled runs are merged eight at a time when eight of one size tier exist,
   streaming through fixed buffers: O(log n) runs, each id rewritten O(log n) times
   (once up to 8 spills' worth, about 30 M ids at 256 MiB).

Per batch: hash; sort the batch's keys (two radix passes); resolve repeats inside the
batch by comparing bytes (rows equal to the first row of their key are duplicates;
distinct ids that share a key are told apart one by one); ask the filter; look the
candidates up in the in-memory runs, then in the spilled runs, and compare the bytes of
every stored id with an equal key; append the new ids to the arena and their keys to
the in-memory table. Decisions are made in log order on the calling thread, one batch
after another, so the result is the same whatever the budget, whether anything spilled,
and however the rows are cut into batches: the duplicates are exactly the rows whose
(model, id) occurred earlier in the sequence of calls. Nothing depends on the key but
the work: the answer is identical run to run and engine to engine.

Where the memory goes
---------------------
Of ``memory_budget``: the filter up to 1/2, the arena's write buffer 1/16, read and
merge buffers 1/16, and the rest for the in-memory table (24 bytes per id); the table
spills before the filter grows if both filters would not fit beside it while the new
one is built. Not counted: the fences (8 bytes per 512 spilled ids: 16 MB at a
billion), merges of small in-memory runs (at most 2**18 ids) and the working arrays of
the batch being added (about 60 bytes per row of one batch). Disk: 24 bytes per distinct
id in runs (transiently twice that for the largest merge) plus the id bytes in the
arena.

Why not partition by hash range instead: every batch would have to probe every
partition it touches, which is all of them, or its rows would have to wait until their
partitions are read, which breaks "decided in log order, batch by batch" (the Dask
engine does partition by range, across workers, where it has the whole night's keys at
once: :mod:`monitor.engines.dedup_partitions`).

References
----------
P. O'Neil, E. Cheng, D. Gawlick and E. O'Neil, "The log-structured merge-tree (LSM-tree)",
Acta Informatica 33 (1996) 351–385.
F. Putze, P. Sanders and J. Singler, "Cache-, hash- and space-efficient Bloom filters",
WEA 2007, LNCS 4525, pp. 108–121.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from monitor.ingest.dedup_memory import BloomFilter, MemoryRuns, sort_keys
from monitor.ingest.dedup_store import (
    BLOCK,
    PAYLOAD,
    Arena,
    DiskRun,
    SpillFolder,
    binary,
    merge_runs,
    merged,
    write_all,
)
from monitor.ingest.keyed_hash import id_buffers, new_key, siphash13_buffers, siphash13_bytes

__all__ = [
    "DEFAULT_MEMORY_BUDGET",
    "MIN_MEMORY_BUDGET",
    "DedupStats",
    "ExactSeen",
    "Hasher",
    "parse_memory_budget",
]

U64 = npt.NDArray[np.uint64]
U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
Bool = npt.NDArray[np.bool_]
Idx = npt.NDArray[np.intp]
Payload = npt.NDArray[np.void]

#: ``--memory-budget`` when none is given: the dedup state of one ``read_logs`` call.
DEFAULT_MEMORY_BUDGET = 256 * 2**20
#: Below this the fixed parts (filter floor, buffers) would not leave room for a table.
MIN_MEMORY_BUDGET = 256 * 2**10

#: ``(offsets, data) -> uint64`` keys; the default is SipHash-1-3 under the run's key.
Hasher = Callable[[I64, U8], U64]

_ENTRY = 8 + PAYLOAD.itemsize
#: Spilled runs of one size tier merged together. A merge rewrites 24 bytes per id
#: (about 40 ns); a run more costs a 4 KiB read per candidate the filter lets through
#: (about 1 µs of I/O; 3 µs with the Python around it, below). With the filter's
#: 0.1–0.4 % candidates, merging 8 at a time is cheaper than 4: at 50 M ids one merge of
#: 8 runs instead of three of 4.
_DISK_FANOUT = 8
#: Told how many ids come (:meth:`ExactSeen.expect`), a merge is skipped when the
#: look-ups it would save before they are all in cost less than the merge; never more
#: than ``_MAX_RUNS`` runs, whatever the estimate. A look-up of one candidate in one run
#: measured 3 µs at 50 M ids (0.85 s for 273 k reads, Python included): there, with 0.05 %
#: candidates, 0.16 s of look-ups against 1.3 s to rewrite 32 M ids, so no merge; at a
#: billion ids with 0.4 % it pays, and runs merge as before.
_MERGE_NS_PER_ID, _PROBE_NS, _MAX_RUNS = 40, 3_000, 32
#: In-memory bytes per id of the table.
_TABLE_COST = _ENTRY
#: Rows decided at once (longer batches are cut): bounds the working arrays.
_ROW_BITS = 18
#: In-memory runs smaller than this are merged as they come (tiny batches, many runs).
_SMALL_RUN = 1 << 18
_FILTER_MIN = 64 * 2**10
#: Filter bits per distinct id: grown to at least ``_GROW_TO`` when below ``_GROW_AT``.
#: Generous while the log is small (fewer probes), it reaches half the budget at
#: budget/128 ids (2 M for 256 MiB); from there on the state's memory is flat.
_GROW_AT, _GROW_TO = 128, 256
#: Fewest filter bits per id :meth:`ExactSeen.expect` accepts to keep every expected id
#: in the in-memory table (0.008 % false positives; a 4.5 M-row file then never spills).
_EXPECT_BITS = 64


@dataclass
class DedupStats:
    """What one :class:`ExactSeen` did; every count is cumulative."""

    rows: int = 0
    duplicates: int = 0
    distinct: int = 0
    #: Rows the filter could not clear, so were looked up in the runs.
    candidates: int = 0
    #: Stored ids whose bytes were compared with a row's (their keys were equal).
    compared: int = 0
    #: Of those, different ids with equal keys: kept, never dropped.
    collisions: int = 0
    spills: int = 0
    merges: int = 0
    filter_rebuilds: int = 0
    #: Bytes written to the spill folder in all (runs, merged runs, arena).
    bytes_written: int = 0
    peak_disk_bytes: int = 0
    #: Largest state held in memory after a batch (filter, tables, buffers, fences).
    peak_state_bytes: int = 0


class ExactSeen:
    """The (model, id) pairs seen so far, exact, in at most ``memory_budget`` bytes.

    Parameters
    ----------
    memory_budget
        Bytes of de-duplication state to hold in memory (default 256 MiB, at least
        :data:`MIN_MEMORY_BUDGET`). Beyond it, sorted runs of keys and the id bytes go to
        a private folder under ``spill_dir``.
    spill_dir
        Parent folder for spilled files; ``None`` is the system temp folder. Nothing is
        written there unless the state outgrows the budget. The folder is deleted by
        :meth:`close` (or with this object).
    key
        16-byte SipHash key. ``None`` draws one (:func:`~monitor.ingest.keyed_hash.new_key`);
        processes that must agree on keys (Dask workers) share one.
    hasher
        Replaces the keyed hash, for tests that force collisions: ``(offsets, data)``
        as :func:`~monitor.ingest.keyed_hash.id_buffers` gives them, to ``uint64`` keys.
    table_limit
        Most ids held in the in-memory table before it spills; ``None`` (the default)
        is what the budget allows. Tests set it small to cross spill boundaries often.

    Notes
    -----
    Not thread-safe: one ingest thread calls :meth:`add` batch after batch. The module
    docstring argues the design; ``benchmarks/bench_dedup.py`` measures it.
    """

    def __init__(
        self,
        *,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        spill_dir: Path | str | None = None,
        key: bytes | None = None,
        hasher: Hasher | None = None,
        table_limit: int | None = None,
    ) -> None:
        if memory_budget < MIN_MEMORY_BUDGET:
            raise ValueError(
                f"memory budget {memory_budget} bytes is below the minimum "
                f"{MIN_MEMORY_BUDGET} ({MIN_MEMORY_BUDGET // 1024} KiB)"
            )
        self.memory_budget = memory_budget
        self._key = new_key() if key is None else key
        self._hasher = hasher
        self._table_limit = table_limit
        self._folder = SpillFolder(None if spill_dir is None else Path(spill_dir))
        self._io_bytes = max(64 * 2**10, memory_budget // 16)
        self._arena = Arena(self._folder, memory_budget // 16)
        #: Held apart from the filter and the table: the arena's buffer and I/O buffers.
        self._reserve = self._arena.capacity + self._io_bytes
        self._filter_max = BloomFilter.size_for(memory_budget // 2)
        self._filter = BloomFilter(_FILTER_MIN)
        self._table = MemoryRuns()
        self._runs: list[DiskRun] = []
        self._salts = np.empty(0, np.uint64)
        #: Distinct ids the filter was sized for by :meth:`expect`; it grows past them.
        self._expected = 0
        self._closed = False
        self.stats = DedupStats()

    # ------------------------------------------------------------------ public surface

    def __len__(self) -> int:
        """Distinct (model, id) pairs seen."""
        return self.stats.distinct

    @property
    def nbytes(self) -> int:
        """Memory the state holds now: filter, in-memory table, arena buffer, fences."""
        return (
            self._filter.nbytes
            + self._table.nbytes
            + self._arena.nbytes
            + sum(run.nbytes for run in self._runs)
        )

    @property
    def spilled(self) -> bool:
        """Whether anything has gone to disk."""
        return self._folder.used

    @property
    def spill_path(self) -> Path | None:
        """The private spill folder, once made."""
        return self._folder.path if self._folder.used else None

    def keys(self, ids: pa.Array | pa.ChunkedArray, models: int | npt.ArrayLike) -> U64:
        """The ``uint64`` key of each (model, id): equal pairs, equal keys, in this run."""
        offsets, data = id_buffers(ids)
        model = self._models(models, len(offsets) - 1)
        return self._salted(self._hash(offsets, data), model)

    def hashes(self, ids: pa.Array | pa.ChunkedArray) -> U64:
        """The keyed hash of each id, before the model's salt: :meth:`add`'s ``hashes``.

        Reads nothing but the run's key, so another thread may compute them ahead of
        :meth:`add` (ingest's reader thread does, while the previous batch is decided).
        """
        return self._hash(*id_buffers(ids))

    def expect(self, ids: int) -> None:
        """About ``ids`` more ids are coming (a Parquet footer's row count): size the
        filter for them now, once, instead of rebuilding it each time it doubles; it
        grows again only once more distinct ids than that have come.

        The size is what growing would reach (256 bits per id, at most half the budget),
        unless that leaves the table too little room for them all: then the largest
        filter that does, if it has at least 64 bits per id (0.008 % false positives),
        so that they never spill. Only the filter's size changes; the answers do not.
        """
        if self._closed:
            raise RuntimeError("this ExactSeen is closed: its ids are gone")
        if ids <= 0:
            return
        self._expected = self.stats.distinct + ids
        wanted = self._expected * _GROW_TO // 8
        # The largest filter (a power of two) beside which all of them fit in the table,
        # if it gives them at least _EXPECT_BITS each: then nothing spills.
        room = self.memory_budget - self._reserve - self._expected * _TABLE_COST
        if room >= self._expected * _EXPECT_BITS // 8:
            wanted = min(wanted, 1 << (room.bit_length() - 1))
        self._grow_filter(wanted)

    def add(
        self,
        ids: pa.Array | pa.ChunkedArray,
        models: int | npt.ArrayLike,
        *,
        keys: U64 | None = None,
        hashes: U64 | None = None,
    ) -> Bool:
        """Record a batch of ids, in log order, and say which rows are duplicates.

        Parameters
        ----------
        ids
            The ids of the batch's rows (any type :func:`~monitor.ingest.keyed_hash.id_buffers`
            reads; no nulls: ingest quarantines those first).
        models
            The model ordinal of every row, or one ordinal for the whole batch.
        keys
            The rows' :meth:`keys`, when the caller has them already (saves hashing).
        hashes
            The rows' :meth:`hashes`, when the caller has them (saves hashing; the
            models' salts are applied here). Ignored when ``keys`` are given.

        Returns
        -------
        numpy.ndarray
            ``bool``, one per row: ``True`` where an earlier row (in an earlier call, or
            earlier in this batch) had the same model and the same id bytes.
        """
        if self._closed:
            raise RuntimeError("this ExactSeen is closed: its ids are gone")
        if ids.null_count:
            raise ValueError("null prediction ids cannot be de-duplicated; quarantine them")
        offsets, data = id_buffers(ids)
        n = len(offsets) - 1
        model = self._models(models, n)
        if keys is None:
            if hashes is None:
                hashes = self._hash(offsets, data)
            elif len(hashes) != n:
                raise ValueError(f"{len(hashes)} hashes for {n} ids")
            keys = self._salted(np.array(hashes, np.uint64), model)
        elif len(keys) != n:
            raise ValueError(f"{len(keys)} keys for {n} ids")
        duplicate = np.zeros(n, bool)
        # Slices of 2**18 rows, one after the other: the same answer as one batch.
        for lo in range(0, n, 1 << _ROW_BITS):
            hi = min(n, lo + (1 << _ROW_BITS))
            base, end = int(offsets[lo]), int(offsets[hi])
            duplicate[lo:hi] = self._add(
                offsets[lo : hi + 1] - base, data[base:end], model[lo:hi], keys[lo:hi]
            )
        stats = self.stats
        stats.rows += n
        stats.duplicates += int(np.count_nonzero(duplicate))
        stats.peak_state_bytes = max(stats.peak_state_bytes, self.nbytes)
        stats.bytes_written = self._folder.bytes_written
        disk = self._arena.size - self._arena.nbytes + sum(r.file_bytes for r in self._runs)
        stats.peak_disk_bytes = max(stats.peak_disk_bytes, disk)
        return duplicate

    def _add(self, offsets: I64, data: U8, model: npt.NDArray[np.uint32], keys: U64) -> Bool:
        n = len(keys)
        duplicate = np.zeros(n, bool)
        if n == 0:
            return duplicate
        order, ordered = sort_keys(keys)
        first = np.ones(n, bool)  # per sorted position: the first row of its (model, id)
        same = ordered[1:] == ordered[:-1]
        if same.any():
            self._within_batch(ordered, order, same, first, duplicate, model, offsets, data)
        if not first.all():
            keep = np.flatnonzero(first)
            ordered, order = ordered[keep], order[keep]
        word, mask = self._filter.locate(ordered)
        current = self._filter.words[word]
        maybe = np.flatnonzero((current & mask) == mask)
        if len(maybe):
            seen = maybe[self._seen_before(ordered[maybe], order[maybe], model, offsets, data)]
            duplicate[order[seen]] = True
            if len(seen):
                fresh = np.ones(len(ordered), bool)
                fresh[seen] = False
                ordered, order = ordered[fresh], order[fresh]
                word, mask, current = word[fresh], mask[fresh], current[fresh]
        self._insert(ordered, order, word, mask, current, model, offsets, data)
        return duplicate

    def save_keys(self, path: Path) -> int:
        """Write the sorted keys of every (model, id) seen to ``path``; return how many.

        Little-endian ``uint64``, one per distinct (model, id) (two distinct ids sharing a
        key give it twice). The Dask engine exchanges these between partitions
        (:mod:`monitor.engines.dedup_partitions`); keys mean the same only under the same
        ``key``. Streams: memory is a chunk of each run at a time.
        """
        sources = self._table.sources(self._chunk_entries(1), payload=False)
        entries = self._chunk_entries(len(self._runs) + len(sources))
        sources += [(run.count, run.chunks(entries, payload=False)) for run in self._runs]
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        written = 0
        try:
            for keys, _ in merged(sources):
                write_all(fd, keys, 8 * written, path)
                written += len(keys)
        finally:
            os.close(fd)
        return written

    def close(self) -> None:
        """Delete the spill folder and release the memory. Further use is an error."""
        for run in self._runs:
            run.delete()
        self._runs = []
        self._arena.close()
        self._folder.remove()
        self._table.clear()
        self._filter = BloomFilter(0)
        self._closed = True

    def __enter__(self) -> ExactSeen:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ keys

    def _models(self, models: int | npt.ArrayLike, n: int) -> npt.NDArray[np.uint32]:
        array = np.asarray(models)
        if array.ndim == 0:
            array = np.full(n, int(array), np.int64)
        if array.shape != (n,) or not np.issubdtype(array.dtype, np.integer):
            raise ValueError(f"need one integer model ordinal or {n} of them")
        if n and (int(array.min()) < 0 or int(array.max()) >= 2**32):
            raise ValueError("model ordinals must be in [0, 2**32)")
        return array.astype(np.uint32, copy=False)

    def _hash(self, offsets: I64, data: U8) -> U64:
        if self._hasher is None:
            return siphash13_buffers(offsets, data, self._key)
        return np.asarray(self._hasher(offsets, data), np.uint64).copy()

    def _salted(self, keys: U64, model: npt.NDArray[np.uint32]) -> U64:
        """``keys`` (owned, changed in place) xored with each row's model salt."""
        top = int(model.max()) if len(model) else -1
        if top >= len(self._salts):
            # A secret salt per model: pairs of different models collide only by chance.
            salts = [
                siphash13_bytes(b"model:%d" % m, self._key)
                for m in range(len(self._salts), top + 1)
            ]
            self._salts = np.concatenate((self._salts, np.array(salts, np.uint64)))
        keys ^= self._salts[model]
        return keys

    # ------------------------------------------------------------------ one batch

    def _within_batch(
        self,
        ordered: U64,
        order: Idx,
        same: Bool,
        first: Bool,
        duplicate: Bool,
        model: npt.NDArray[np.uint32],
        offsets: I64,
        data: U8,
    ) -> None:
        """Rows of the batch that share a key, in row order (the sort is stable): a later
        row equal to an earlier one is a duplicate."""
        member = np.zeros(len(ordered), bool)
        member[1:] |= same
        member[:-1] |= same
        at = np.flatnonzero(member)  # sorted positions in a group of equal keys
        is_head = np.ones(len(at), bool)
        inner = at > 0
        is_head[inner] = ~same[at[inner] - 1]
        heads_at = np.flatnonzero(is_head)
        sizes = np.diff(np.r_[heads_at, len(at)])
        later = ~is_head
        rows, heads = order[at[later]], order[np.repeat(at[heads_at], sizes)[later]]
        equal = _same_ids(rows, heads, model, offsets, data)
        self.stats.compared += len(rows)
        self.stats.collisions += int(np.count_nonzero(~equal))
        duplicate[rows[equal]] = True
        first[at[later][equal]] = False
        if equal.all():
            return
        # Different ids under one key (a collision): tell the group's ids apart by value.
        group = np.repeat(np.arange(len(heads_at)), sizes)
        for g in np.unique(group[later][~equal]).tolist():
            positions = at[heads_at[g] : heads_at[g] + sizes[g]]
            firsts: dict[tuple[int, bytes], int] = {}
            for position in positions.tolist():
                row = int(order[position])
                value = (int(model[row]), data[offsets[row] : offsets[row + 1]].tobytes())
                earlier = value in firsts
                firsts.setdefault(value, row)
                duplicate[row] = earlier
                first[position] = not earlier

    def _seen_before(
        self, keys: U64, rows: Idx, model: npt.NDArray[np.uint32], offsets: I64, data: U8
    ) -> Bool:
        """Which of these rows (sorted ``keys``) have an equal (model, id) stored."""
        self.stats.candidates += len(keys)
        found = self._confirm(*self._table.find(keys), rows, model, offsets, data)
        for run in self._runs:
            rest = np.flatnonzero(~found)
            if len(rest) == 0:
                break
            needle, payload = run.lookup(keys[rest], self._io_bytes)
            if len(needle):
                found[rest] |= self._confirm(needle, payload, rows[rest], model, offsets, data)
        return found

    def _confirm(
        self,
        needle: Idx,
        payload: Payload,
        rows: Idx,
        model: npt.NDArray[np.uint32],
        offsets: I64,
        data: U8,
    ) -> Bool:
        """``found[i]``: some stored entry paired with needle ``i`` is the same (model, id)
        as row ``rows[i]``: same model, same length, same bytes."""
        found = np.zeros(len(rows), bool)
        if len(needle) == 0:
            return found
        row = rows[needle]
        lengths = offsets[row + 1] - offsets[row]
        same = (payload["model"] == model[row]) & (payload["len"] == lengths)
        check = np.flatnonzero(same)
        ids = binary(offsets, data)
        # A slice at a time, so the bytes read and copied stay within the I/O buffer.
        for lo, hi in _slices(lengths[check], self._io_bytes):
            part = check[lo:hi]
            stored = self._arena.read(payload["off"][part], payload["len"][part], self._io_bytes)
            mine = ids.take(pa.array(row[part]))
            same[part] = _true(pc.equal(mine, stored))
        self.stats.compared += len(needle)
        self.stats.collisions += int(np.count_nonzero(~same))
        found[needle[same]] = True
        return found

    def _insert(
        self,
        keys: U64,
        rows: Idx,
        word: Idx,
        mask: U64,
        current: U64,
        model: npt.NDArray[np.uint32],
        offsets: I64,
        data: U8,
    ) -> None:
        """Store the batch's new ids: bytes to the arena in log order, keys to the table."""
        m = len(rows)
        if m == 0:
            return
        n = len(offsets) - 1
        lengths = np.diff(offsets)
        start = np.empty(n, np.uint64)
        if m == n:  # every row new: the batch's bytes go as they are
            start[:] = self._arena.append(data)
            start += offsets[:-1].astype(np.uint64)
        else:
            new = np.zeros(n, bool)
            new[rows] = True
            in_log_order = np.flatnonzero(new)
            new_offsets, new_data = id_buffers(binary(offsets, data).take(pa.array(in_log_order)))
            start[in_log_order] = np.uint64(self._arena.append(new_data))
            start[in_log_order] += new_offsets[:-1].astype(np.uint64)
        payload = np.empty(m, PAYLOAD)
        payload["off"] = start[rows]
        payload["len"] = lengths[rows]
        payload["model"] = model[rows]
        self._table.add(keys, payload, _SMALL_RUN)
        self._filter.add(word, mask, current)
        self.stats.distinct += m
        if (
            self.stats.distinct > self._expected
            and self.stats.distinct * _GROW_AT > self._filter.nbytes * 8
            and self._filter.nbytes < self._filter_max
        ):
            self._grow_filter(self.stats.distinct * _GROW_TO // 8)
        if self._table.count > self._table_cap():
            self._spill()

    # ------------------------------------------------------------------ memory and disk

    def _table_cap(self) -> int:
        """Ids the in-memory table may hold before it spills."""
        allowed = max(
            1024, (self.memory_budget - self._filter.nbytes - self._reserve) // _TABLE_COST
        )
        return allowed if self._table_limit is None else min(allowed, self._table_limit)

    def _chunk_entries(self, sources: int) -> int:
        return max(BLOCK, self._io_bytes // (2 * _ENTRY * max(1, sources)))

    def _grow_filter(self, wanted: int) -> None:
        """Rebuild the filter at ``wanted`` bytes (rounded up to a power of two, at most
        half the budget), if that is larger than it is."""
        size = BloomFilter.size_for(min(self._filter_max, 1 << (wanted - 1).bit_length()))
        if size <= self._filter.nbytes:
            return
        # Old and new filters coexist while it is rebuilt: make room by spilling first.
        after = self._table.nbytes + self._filter.nbytes + size + self._reserve
        if self._table.count and after > self.memory_budget:
            self._spill()
        grown = BloomFilter(size)
        step = self._chunk_entries(1)  # a slice at a time: locate's arrays stay small
        for keys, _ in self._table.runs:
            for lo in range(0, len(keys), step):
                grown.add(*grown.locate(keys[lo : lo + step]))
        for run in self._runs:
            for keys, _ in run.chunks(step, payload=False):
                grown.add(*grown.locate(keys))
        self._filter = grown
        self.stats.filter_rebuilds += 1

    def _spill(self) -> None:
        table = self._table
        if len(table.runs) == 1:
            run = DiskRun.write(self._folder, *table.runs[0])
        else:
            run = merge_runs(self._folder, table.sources(self._chunk_entries(len(table.runs))))
        table.clear()
        self._runs.append(run)
        self.stats.spills += 1
        runs = self._runs
        while len(runs) >= _DISK_FANOUT and len({r.tier for r in runs[-_DISK_FANOUT:]}) == 1:
            group = runs[-_DISK_FANOUT:]
            if len(runs) < _MAX_RUNS and not self._merge_pays(group):
                break
            entries = self._chunk_entries(_DISK_FANOUT)
            merged = merge_runs(self._folder, [(r.count, r.chunks(entries)) for r in group])
            merged.tier = group[0].tier + 1
            for old in group:
                old.delete()
            del runs[-_DISK_FANOUT:]
            runs.append(merged)
            self.stats.merges += 1

    def _merge_pays(self, group: list[DiskRun]) -> bool:
        """Whether merging ``group`` costs less than the look-ups it would save until the
        ids :meth:`expect` announced are all in (always, when none are announced)."""
        remaining = self._expected - self.stats.distinct
        if self._expected == 0 or remaining < 0:  # nothing announced, or more came
            return True
        rate = self.stats.candidates / max(1, self.stats.rows)
        saved = rate * remaining * (len(group) - 1) * _PROBE_NS
        return saved > sum(run.count for run in group) * _MERGE_NS_PER_ID


def _slices(sizes: I64, limit: int) -> list[tuple[int, int]]:
    """Consecutive ``[lo, hi)`` slices of items whose ``sizes`` add up to about ``limit``
    (an item larger than ``limit`` is a slice of its own)."""
    if len(sizes) == 0:
        return []
    ends = np.cumsum(sizes)
    cuts = np.searchsorted(ends, np.arange(limit, int(ends[-1]), limit), side="right")
    edges = np.unique(np.r_[0, cuts, len(sizes)]).tolist()
    return list(itertools.pairwise(edges))


def _same_ids(
    rows: Idx, others: Idx, model: npt.NDArray[np.uint32], offsets: I64, data: U8
) -> Bool:
    """Row by row: do ``rows`` and ``others`` hold the same model and id bytes?"""
    same: Bool = model[rows] == model[others]
    ids = binary(offsets, data)
    for lo, hi in _slices(np.diff(offsets)[rows], 1 << 24):
        a, b = ids.take(pa.array(rows[lo:hi])), ids.take(pa.array(others[lo:hi]))
        same[lo:hi] &= _true(pc.equal(a, b))
    return same


def _true(values: pa.Array) -> Bool:
    """A boolean Arrow array (no nulls) as NumPy."""
    return np.asarray(values.to_numpy(zero_copy_only=False), bool)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?)(b?)\s*$", re.IGNORECASE)


def parse_memory_budget(text: str) -> int:
    """``"256MiB"``, ``"1GB"``, ``"512M"``, ``"268435456"`` → bytes (``--memory-budget``).

    Units as Dask's ``parse_bytes``: ``KB``/``MB``/``GB``/``TB`` and ``K``/``M``/``G``/``T``
    are powers of 1000; ``KiB``/``MiB``/``GiB``/``TiB`` are powers of 1024.
    """
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (examples: 256MiB, 1GB, 512M)")
    number, prefix, binary, _ = match.groups()
    power = " kmgt".index(prefix.lower() or " ")
    value = int(float(number) * (1024 if binary else 1000) ** power)
    if value < MIN_MEMORY_BUDGET:
        raise ValueError(
            f"memory budget {text!r} is below the minimum of {MIN_MEMORY_BUDGET // 1024} KiB"
        )
    return value
