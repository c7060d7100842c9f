"""Cross-partition duplicates on a real two-worker LocalCluster, with keys kept on disk.

The oracle is a plain walk over the partitions in order with a Python dict: the first
partition holding each key, and for every later holder, that first one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from components import import_component

distributed = import_component("distributed", "pip install -e '.[dask]'")

from monitor.dedup_partitions import (  # noqa: E402
    PartitionKeys,
    claimants,
    find_claimants,
    load_range,
    range_count,
    remove_keys,
    save_keys,
    save_keys_on_worker,
)


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


def partitions_with_repeats(seed: int) -> list[np.ndarray]:
    """Eight partitions of unique keys; some re-use keys of earlier partitions (a file
    re-sent the next hour, retries that landed in the next file)."""
    rng = np.random.default_rng(seed)
    parts = [np.unique(rng.integers(0, 2**64 - 1, 3_000, dtype=np.uint64)) for _ in range(8)]
    parts[3] = np.unique(np.concatenate([parts[3], parts[0][:40], parts[1][-5:]]))
    parts[5] = np.unique(np.concatenate([parts[5], parts[3][:10]]))  # some first seen in 0
    parts[7] = np.unique(np.concatenate([parts[7], parts[6][100:101]]))
    return parts


def oracle(parts: list[np.ndarray]) -> dict[int, set[int]]:
    first: dict[int, int] = {}
    out: dict[int, set[int]] = {}
    for index, keys in enumerate(parts):
        for key in keys.tolist():
            if key in first:
                out.setdefault(index, set()).add(first[key])
            else:
                first[key] = index
    return out


def test_partitions_repeating_earlier_ones_are_found_with_a_small_budget(client: Any) -> None:
    parts = partitions_with_repeats(seed=1)
    workers = sorted(client.scheduler_info(n_workers=-1)["workers"])
    # Split each partition's keys the way chunks arrive: several arrays, any order. Tasks
    # alternate between the workers, so every range needs files from both.
    saved: list[PartitionKeys] = client.gather(
        [
            client.submit(
                save_keys_on_worker,
                i,
                np.array_split(keys[::-1], 3),
                workers=[workers[i % 2]],
                pure=False,
            )
            for i, keys in enumerate(parts)
        ]
    )
    assert [p.worker for p in saved] == [workers[i % 2] for i in range(8)]
    assert [p.count for p in saved] == [len(k) for k in parts]
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
    keys = np.sort(np.random.default_rng(2).integers(0, 2**64 - 1, 5_000, dtype=np.uint64))
    edge = np.array([0, 2**62 - 1, 2**62, 2**63, 2**64 - 1], np.uint64)  # on the bounds
    part = save_keys(4, [keys[2_000:], edge, keys[:2_000]], tmp_path)
    assert part.count == 5_005
    for ranges in (1, 4, 64):
        pieces = [load_range(part, r, ranges) for r in range(ranges)]
        assert all(index == 4 for index, _ in pieces)
        width = 2**64 // ranges
        for r, (_, piece) in enumerate(pieces):
            assert ((piece // np.uint64(width)) == r).all() if ranges > 1 else True
        together = np.concatenate([piece for _, piece in pieces])
        assert together.tolist() == np.sort(np.concatenate([keys, edge])).tolist()


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
