"""Duplicates across Dask partitions, found exactly with bounded memory on every worker.

How the Dask engine resolves them (:mod:`monitor.engines.dask`)
---------------------------------------------------------------
A task reads one partition (consecutive files) with ``read_logs``, whose seen-set drops
repeats *inside* the partition. Across partitions, in two phases:

1. each task keeps the sorted 64-bit keys of its kept rows in a file on its worker; the
   keys are exchanged by ranges of their top bits, and one task per range names each
   partition holding a key that an earlier partition holds (a *claimant*), with those
   earlier partitions;
2. each claimant is read again right after the partitions it repeats, in one
   ``read_logs`` call, so ingest itself drops exactly the repeated rows; its phase-1
   summary is replaced.

Exactness rests on phase 2: ingest decides, and :class:`~monitor.ingest.dedup_exact.ExactSeen`
compares id bytes. The keys only choose which partitions to read again, so a collision
of keys costs a second read, never a row.

What grows, and the bound
-------------------------
Keeping every partition's keys in memory until the last range is checked cost a worker
8 bytes per row it read (834 MB for a worker at 50 M rows), and a range task all rows /
``R`` keys. Here:

* a partition's keys go to a file in the worker's local directory
  (:func:`keep_keys`), streamed out of the task's own ``ExactSeen``, which holds them
  anyway (within its budget, spilling beyond): no key list in memory, then or after;
* ``R`` is chosen after phase 1 from the total count (:func:`range_count`), so one range
  of every partition, with its sort, fits half the budget: ``16 × rows / R ≤ budget / 2``;
* a range of a partition is read by a task pinned to the worker that holds the file
  (:func:`load_range`), and ranges go in waves of one per worker, so slices waiting for
  their range task never pile up (:func:`find_claimants`);
* the files are deleted at the end (:func:`remove_keys`).

Memory per worker is then the budget, for any number of rows: ``ExactSeen`` inside
each task (budget ÷ threads per worker) in phase 1, one range task in the exchange.
Disk per worker is 8 bytes per row it read, plus ``ExactSeen``'s spill.

The keys must mean the same on every worker: the client draws one SipHash key per run
(:func:`~monitor.ingest.keyed_hash.new_key`) and ships it with the job, and every task's
``ExactSeen`` uses it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from monitor.ingest.dedup_store import read_exactly

if TYPE_CHECKING:
    from distributed import Client

    from monitor.ingest.dedup_exact import ExactSeen

__all__ = [
    "PartitionKeys",
    "claimants",
    "find_claimants",
    "keep_keys",
    "load_range",
    "range_count",
    "remove_keys",
]

U64 = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class PartitionKeys:
    """Where a partition's sorted keys are: a file on the worker that read it."""

    index: int
    worker: str
    path: str
    count: int


def keep_keys(index: int, seen: ExactSeen, folder: Path | None = None) -> PartitionKeys:
    """Write the keys a partition's ``read_logs`` kept (its ``seen``) to a file.

    ``folder`` defaults to the local directory of the Dask worker running the task; the
    handle names that worker, so only tasks pinned there read the file.
    """
    worker = ""
    if folder is None:
        from distributed import get_worker

        current = get_worker()
        folder, worker = Path(current.local_directory), current.address
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"modelhealth-keys-{os.getpid()}-{index:06d}-{os.urandom(4).hex()}.bin"
    return PartitionKeys(index, worker, str(path), seen.save_keys(path))


def range_count(total: int, workers: int, budget: int) -> int:
    """Key ranges for the exchange: a power of two, at least one per worker, and enough
    that one range of every partition and its sorted copy (16 bytes a key) fit half the
    ``budget``."""
    needed = max(1, workers, -(-16 * total // max(1, budget // 2)))
    return min(1 << 20, 1 << (needed - 1).bit_length())


def _bounds(r: int, ranges: int) -> tuple[int, int]:
    """Range ``r`` of ``ranges`` (a power of two): keys whose top bits are ``r``."""
    bits = ranges.bit_length() - 1
    return r << (64 - bits), (r + 1) << (64 - bits)


def _position(fd: int, path: Path, count: int, key: int) -> int:
    """How many stored keys are below ``key``: a binary search with 8-byte reads."""
    lo, hi = 0, count
    while lo < hi:
        mid = (lo + hi) // 2
        if int.from_bytes(read_exactly(fd, 8, 8 * mid, path), "little") < key:
            lo = mid + 1
        else:
            hi = mid
    return lo


def load_range(part: PartitionKeys, r: int, ranges: int) -> tuple[int, U64]:
    """The partition's keys in range ``r`` of ``ranges``, with its index (on its worker)."""
    _check_worker(part)
    path = Path(part.path)
    lo_key, hi_key = _bounds(r, ranges)
    fd = os.open(path, os.O_RDONLY)
    try:
        lo = _position(fd, path, part.count, lo_key)
        hi = _position(fd, path, part.count, hi_key) if hi_key < 1 << 64 else part.count
        raw = read_exactly(fd, 8 * (hi - lo), 8 * lo, path) if hi > lo else b""
    finally:
        os.close(fd)
    return part.index, np.frombuffer(raw, "<u8").astype(np.uint64)


def _check_worker(part: PartitionKeys) -> None:
    """The file is on ``part.worker``'s disk: reading it elsewhere would read nothing, or
    another run's file of the same name."""
    if not part.worker:
        return
    from distributed import get_worker

    try:
        here = get_worker().address
    except ValueError:  # not in a Dask task: a caller reading its own files
        return
    if here != part.worker:
        raise RuntimeError(f"keys of partition {part.index} are on {part.worker}, not {here}")


def claimants(*ranges: tuple[int, U64]) -> dict[int, set[int]]:
    """For one key range: the partitions holding a key some earlier partition holds,
    each with the partitions where those keys first occur."""
    arrays = [keys for _, keys in ranges if len(keys)]
    if len(arrays) < 2:
        return {}
    every = np.concatenate(arrays)
    every.sort()
    repeated = np.unique(every[1:][every[1:] == every[:-1]])
    del every
    if not len(repeated):
        return {}
    out: dict[int, set[int]] = {}
    first = np.full(len(repeated), -1, np.int64)
    for index, keys in sorted(ranges, key=lambda pair: pair[0]):
        if not len(keys):
            continue
        at = np.minimum(np.searchsorted(keys, repeated), len(keys) - 1)
        here = keys[at] == repeated
        later = here & (first >= 0)
        if later.any():
            out.setdefault(index, set()).update(np.unique(first[later]).tolist())
        first[here & (first < 0)] = index
    return out


def find_claimants(
    client: Client, parts: Sequence[PartitionKeys], *, budget: int, workers: int
) -> dict[int, set[int]]:
    """Every claimant of every key range, in waves of ``workers`` ranges.

    Each range's slices are read on the workers holding the files and sent to one task;
    a wave is gathered before the next starts, so a worker holds the slices of at most
    one wave besides the range task it runs.
    """
    ranges = range_count(sum(p.count for p in parts), workers, budget)
    found: dict[int, set[int]] = {}
    holders = [p for p in parts if p.count]
    for start in range(0, ranges, max(1, workers)):
        wave: list[Any] = []
        for r in range(start, min(ranges, start + max(1, workers))):
            slices = [
                client.submit(
                    load_range,
                    part,
                    r,
                    ranges,
                    workers=[part.worker] if part.worker else None,
                    allow_other_workers=not part.worker,
                    pure=False,
                )
                for part in holders
            ]
            wave.append(client.submit(claimants, *slices, pure=False))
        for result in client.gather(wave):  # type: ignore[no-untyped-call]
            for index, earlier in result.items():
                found.setdefault(index, set()).update(earlier)
        del wave
    return found


def _remove(paths: Sequence[str]) -> int:
    removed = 0
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
            removed += 1
    return removed


def remove_keys(client: Client, parts: Sequence[PartitionKeys]) -> int:
    """Delete the key files, each on its worker; returns how many were removed."""
    by_worker: dict[str, list[str]] = {}
    for part in parts:
        by_worker.setdefault(part.worker, []).append(part.path)
    futures = [
        client.submit(
            _remove, paths, workers=[w] if w else None, allow_other_workers=not w, pure=False
        )
        for w, paths in by_worker.items()
    ]
    return sum(client.gather(futures))  # type: ignore[no-untyped-call]
