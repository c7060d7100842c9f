"""The on-disk half of exact de-duplication, checked against plain slicing and sorting."""

from __future__ import annotations

import gc
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from monitor.ingest import dedup_store
from monitor.ingest.dedup_exact import ExactSeen
from monitor.ingest.dedup_store import (
    BLOCK,
    PAYLOAD,
    Arena,
    DiskRun,
    SpillFolder,
    merge_runs,
    pick,
    read_exactly,
    read_ranges,
)


def payload_for(keys: np.ndarray) -> np.ndarray:
    """A payload that names its entry: ``off`` is a serial number, ``model`` a key digest."""
    payload = np.zeros(len(keys), PAYLOAD)
    payload["off"] = np.arange(len(keys), dtype=np.uint64)
    payload["model"] = (keys % np.uint64(2**32)).astype(np.uint32)
    return payload


@pytest.mark.parametrize("limit", [100, 5_000, 1 << 20])
def test_ranges_read_in_groups_are_the_bytes_of_the_file(tmp_path: Path, limit: int) -> None:
    rng = np.random.default_rng(limit)
    content = rng.integers(0, 256, 2_000_000, dtype=np.uint8)
    path = tmp_path / "file.bin"
    path.write_bytes(content.tobytes())
    # Clusters of close ranges (one read) far apart (separate reads), some repeated.
    starts = np.sort(
        np.concatenate(
            [rng.integers(0, 1_990_000, 40), rng.integers(500_000, 503_000, 60), [7, 7, 7]]
        )
    ).astype(np.int64)
    ends = starts + rng.integers(0, 300, len(starts))
    fd = os.open(path, os.O_RDONLY)
    try:
        seen = np.zeros(len(starts), int)
        for joined, where, mine in read_ranges(fd, path, starts, ends, limit):
            for k, i in enumerate(range(mine.start, mine.stop)):
                got = joined[where[k] : where[k] + ends[i] - starts[i]]
                assert got.tobytes() == content[starts[i] : ends[i]].tobytes()
                seen[i] += 1
    finally:
        os.close(fd)
    assert (seen == 1).all()  # every range once


def test_pick_cuts_ranges_out_of_a_buffer_in_any_order() -> None:
    buffer = np.frombuffer(b"0123456789abcdef", np.uint8)
    starts = np.array([10, 0, 10, 4, 3], np.int64)
    lengths = np.array([3, 2, 3, 0, 1], np.int64)
    assert pick(buffer, starts, lengths).to_pylist() == [b"abc", b"01", b"abc", b"", b"3"]


def test_the_arena_returns_what_was_appended_from_memory_or_file(tmp_path: Path) -> None:
    folder = SpillFolder(tmp_path)
    arena = Arena(folder, buffer_bytes=1_000)
    rng = np.random.default_rng(1)
    pieces = [bytes(rng.integers(0, 256, int(n), dtype=np.uint8)) for n in rng.integers(0, 700, 80)]
    offsets = [arena.append(np.frombuffer(p, np.uint8)) for p in pieces]
    assert arena.size == sum(map(len, pieces))
    assert arena.nbytes <= 1_000 and folder.bytes_written > 0  # most of it is on disk
    order = rng.permutation(len(pieces))
    got = arena.read(
        np.array(offsets, np.uint64)[order],
        np.array([len(p) for p in pieces], np.uint32)[order],
        limit=2_000,
    )
    assert got.to_pylist() == [pieces[i] for i in order]
    arena.close()
    folder.remove()
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("limit", "sparse"), [(4_096, False), (1 << 20, False), (4_096, True)])
def test_a_run_finds_every_entry_with_a_needles_key(
    tmp_path: Path, limit: int, sparse: bool
) -> None:
    rng = np.random.default_rng(2)
    # Few distinct keys: equal keys fill whole blocks, so a key's entries span blocks.
    keys = np.sort(rng.choice(np.array([3, 5, 8, 13, 2**63], np.uint64), 5 * BLOCK))
    keys = np.sort(np.concatenate([keys, rng.integers(0, 2**64 - 1, 20_000, dtype=np.uint64)]))
    assert len(keys) % BLOCK  # a partial last block, searched apart from the whole ones
    keys[-1] = 2**64 - 1  # the last key there is
    run = DiskRun.write(SpillFolder(tmp_path), keys, payload_for(keys))
    absent = np.array([1, 4, 9, 2**62], np.uint64)
    # Some needles are a block's first key (a fence): the previous block may hold it too.
    fences = keys[::BLOCK][1:][rng.integers(0, len(keys) // BLOCK - 1, 20)]
    needles = np.sort(
        np.concatenate([keys[rng.integers(0, len(keys), 300)], absent, fences, keys[-3:]])
    )
    assert needles.dtype == np.uint64
    needle, found = run.lookup(needles, limit, sparse=sparse)
    got = sorted(zip(needle.tolist(), found["off"].tolist(), strict=True))
    expected = sorted(
        (i, int(j)) for i, k in enumerate(needles.tolist()) for j in np.flatnonzero(keys == k)
    )
    assert got == expected
    run.delete()


def test_a_sparse_lookup_reads_one_block_per_key_and_nothing_else_of_the_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(4)
    keys = np.sort(rng.integers(0, 2**64 - 1, 400 * BLOCK, dtype=np.uint64))
    run = DiskRun.write(SpillFolder(tmp_path), keys, payload_for(keys))
    key_bytes = len(keys) * 8  # the file holds the keys, then the payloads
    reads: list[tuple[int, int]] = []

    def counted(fd: int, size: int, offset: int, path: Path) -> bytes:
        reads.append((offset, size))
        return read_exactly(fd, size, offset, path)

    monkeypatch.setattr(dedup_store, "read_exactly", counted)
    # 300 keys in 400 blocks: dense, read in coalesced spans of several blocks.
    needles = np.sort(keys[rng.integers(0, len(keys), 300)])
    needle, found = run.lookup(needles, 1 << 20)
    assert found["off"].tolist() == np.searchsorted(keys, needles[needle]).tolist()
    assert max(size for offset, size in reads if offset < key_bytes) > BLOCK * 8
    reads.clear()
    # 40 keys in 400 blocks, none a block's first key: one 4 KiB read per block.
    few = np.setdiff1d(np.sort(keys[rng.integers(0, len(keys), 40)]), keys[::BLOCK])
    needle, found = run.lookup(few, 1 << 20)
    assert found["off"].tolist() == np.searchsorted(keys, few[needle]).tolist()
    assert len(needle) == len(few)
    key_reads = sorted(offset for offset, size in reads if offset < key_bytes)
    blocks = np.unique(np.searchsorted(keys, few) // BLOCK)
    assert key_reads == (blocks * BLOCK * 8).tolist()
    assert all(size == BLOCK * 8 for offset, size in reads if offset < key_bytes)
    run.delete()


def test_merged_runs_are_sorted_and_keep_each_entrys_payload(tmp_path: Path) -> None:
    folder = SpillFolder(tmp_path)
    rng = np.random.default_rng(3)
    runs = []
    for n in (5_000, 1, 12_345, 700):
        keys = np.sort(rng.integers(0, 1_000, n).astype(np.uint64))  # many equal keys
        runs.append(DiskRun.write(folder, keys, payload_for(keys)))
    merged = merge_runs(folder, [(r.count, r.chunks(333)) for r in runs])
    keys, payload = next(merged.chunks(merged.count))
    assert payload is not None
    assert merged.count == 5_000 + 1 + 12_345 + 700
    assert (np.diff(keys.astype(np.int64)) >= 0).all()
    assert (payload["model"] == keys.astype(np.uint32)).all()  # the payload moved with it
    expected = np.sort(np.concatenate([next(r.chunks(r.count))[0] for r in runs]))
    assert keys.tolist() == expected.tolist()
    assert merged.fences.tolist() == keys[::BLOCK].tolist()
    folder.remove()


def test_a_dropped_dedup_removes_its_spill_folder(tmp_path: Path) -> None:
    seen = ExactSeen(memory_budget=256 * 1024, spill_dir=tmp_path, table_limit=100)
    seen.add(pa.array([f"id-{i}" for i in range(5_000)]), 0)
    folder = seen.spill_path
    assert folder is not None and any(folder.iterdir())
    del seen
    gc.collect()
    assert not folder.exists()
