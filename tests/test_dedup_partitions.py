"""Cross-partition duplicates on a real two-worker LocalCluster, with keys kept on disk.

Each task de-duplicates its partition's ids with its own ``ExactSeen`` (a small budget,
so it spills), keeps its keys in a file on its worker, and the exchange names the
partitions that repeat earlier ones. The oracle is a plain walk over the partitions in
order with a Python dict of (model, id): the first partition holding each, and for every
later holder, that first one.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pyarrow as pa
import pytest
from components import import_component

distributed = import_component("distributed", "pip install -e '.[dask]'")

from monitor.engines.dedup_partitions import (  # noqa: E402
    PartitionKeys,
    claimants,
    find_claimants,
    keep_keys,
    load_range,
    range_count,
    remove_keys,
)
from monitor.ingest.dedup_exact import MIN_MEMORY_BUDGET, ExactSeen  # noqa: E402
from monitor.ingest.keyed_hash import new_key  # noqa: E402

# The tasks below are defined here: ship them to the workers by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

Partition = list[tuple[int, str]]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"},
            silence_logs=logging.CRITICAL,
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        yield client


def partitions_with_repeats(seed: int) -> list[Partition]:
    """Eight partitions of (model, id); some repeat rows of earlier partitions (a file
    re-sent the next hour, retries that landed in the next file), and one id is logged
    by another model later (a different prediction, not a repeat)."""
    rng = np.random.default_rng(seed)
    parts: list[Partition] = [
        [(int(rng.integers(0, 3)), f"p{p}-{i:05d}") for i in range(3_000)] for p in range(8)
    ]
    parts[3] += parts[0][:40] + parts[1][-5:]
    parts[5] += parts[3][:5] + parts[0][100:103]
    parts[7] += parts[6][100:101]
    parts[4] += [((parts[2][7][0] + 1) % 3, parts[2][7][1])]
    return parts


def oracle(parts: list[Partition]) -> dict[int, set[int]]:
    first: dict[tuple[int, str], int] = {}
    out: dict[int, set[int]] = {}
    for index, rows in enumerate(parts):
        for row in rows:
            if row in first and first[row] != index:
                out.setdefault(index, set()).add(first[row])
            first.setdefault(row, index)
    return out


def phase_one(index: int, rows: Partition, key: bytes) -> PartitionKeys:
    """What a Dask task does for its partition: de-duplicate, then keep its keys."""
    with ExactSeen(memory_budget=MIN_MEMORY_BUDGET, key=key, table_limit=500) as seen:
        seen.add(pa.array([i for _, i in rows]), [m for m, _ in rows])
        assert seen.spilled
        return keep_keys(index, seen)


def test_partitions_repeating_earlier_ones_are_found_with_a_small_budget(client: Any) -> None:
    parts = partitions_with_repeats(seed=1)
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    key = new_key()  # one per run, shared by every task: keys mean the same everywhere
    # Tasks alternate between the workers, so every range needs files from both.
    saved: list[PartitionKeys] = client.gather(
        [
            client.submit(phase_one, i, rows, key, workers=[workers[i % 2]], pure=False)
            for i, rows in enumerate(parts)
        ]
    )
    assert [p.worker for p in saved] == [workers[i % 2] for i in range(8)]
    assert [p.count for p in saved] == [len(set(rows)) for rows in parts]
    total = sum(p.count for p in saved)
    budget = 64 * 1024  # ~4,000 keys of 16 bytes per range task: 8 ranges or more
    assert range_count(total, 2, budget) >= 8
    try:
        found = find_claimants(client, saved, budget=budget, workers=2)
        assert found == oracle(parts) == {3: {0, 1}, 5: {0, 3}, 7: {6}}
    finally:
        assert remove_keys(client, saved) == len(saved)
    assert not any(Path(p.path).exists() for p in saved)


def test_a_range_of_a_partition_is_exactly_its_keys_in_that_range(tmp_path: Path) -> None:
    keys = np.random.default_rng(2).integers(0, 2**64 - 1, 5_000, dtype=np.uint64)
    edge = np.array([0, 2**62 - 1, 2**62, 2**63, 2**64 - 1], np.uint64)  # on the bounds
    stored = np.sort(np.concatenate([keys, edge]))
    path = tmp_path / "keys.bin"
    stored.astype("<u8").tofile(path)  # the file format: sorted little-endian uint64
    part = PartitionKeys(4, "", str(path), len(stored))
    for ranges in (1, 4, 64):
        pieces = [load_range(part, r, ranges) for r in range(ranges)]
        assert all(index == 4 for index, _ in pieces)
        shift = np.uint64(64 - (ranges.bit_length() - 1))
        for r, (_, piece) in enumerate(pieces):
            assert ranges == 1 or ((piece >> shift) == r).all()
        together = np.concatenate([piece for _, piece in pieces])
        assert together.tolist() == stored.tolist()


def test_the_keys_kept_are_the_sorted_keys_of_the_distinct_ids(tmp_path: Path) -> None:
    rows = [(i % 3, f"id-{i % 7_000}") for i in range(10_000)]
    with ExactSeen(memory_budget=MIN_MEMORY_BUDGET, spill_dir=tmp_path, table_limit=300) as seen:
        seen.add(pa.array([i for _, i in rows]), [m for m, _ in rows])
        part = keep_keys(0, seen, tmp_path / "kept")
        expected = np.sort(seen.keys(pa.array([i for _, i in rows]), [m for m, _ in rows]))
    stored = np.fromfile(part.path, "<u8")
    assert part.count == len(stored) == len(set(rows))
    assert stored.tolist() == np.unique(expected).tolist()


def test_ranges_grow_with_the_rows_and_shrink_with_the_budget() -> None:
    assert range_count(0, 1, 2**20) == 1
    assert range_count(10, 3, 2**20) == 4  # at least one per worker, a power of two
    assert range_count(1_000_000_000, 8, 256 * 2**20) == 128  # 16 GB / 128 MB
    assert range_count(1_000_000_000, 8, 2**33) == 8


def test_claimants_name_the_first_holder_not_every_earlier_one() -> None:
    a = np.array([1, 5, 9], np.uint64)
    b = np.array([5, 7], np.uint64)
    c = np.array([5, 7, 9, 11], np.uint64)
    assert claimants((2, c), (0, a), (1, b)) == {1: {0}, 2: {0, 1}}
    assert claimants((0, a)) == {}
