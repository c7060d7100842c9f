"""Per-category counts (output types, segments) against pandas' group-by sums."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from monitor.chunk import Categorical
from monitor.stats.aggregates import _WIDTH, CategoryCounts, CountColumn


def expected(cat: Categorical, columns: list[np.ndarray | None]) -> dict[str, list[int]]:
    frame = pd.DataFrame({"code": cat.codes})
    for j, weights in enumerate(columns):
        frame[j] = 0 if weights is None else weights.astype(np.int64)
    frame[CountColumn.N] = 1  # every row counts once
    sums = frame[frame.code >= 0].groupby("code").sum()
    out = {}
    for code, row in sums.iterrows():
        values = [int(row[j]) for j in range(_WIDTH)]
        if values[CountColumn.N]:
            out[cat.categories[int(code)]] = values
    return out


@pytest.mark.parametrize("seed", range(6))
def test_counts_per_category_equal_a_group_by(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5_000))
    k = int(rng.integers(1, 40))
    codes = rng.integers(-1 if seed % 2 else 0, k, n).astype(np.int32)
    used = sorted(set(codes[codes >= 0].tolist()))
    remap = np.full(k + 1, -1, np.int32)
    remap[used] = np.arange(len(used))
    cat = Categorical(
        np.where(codes >= 0, remap[codes], -1).astype(np.int32), [f"c{u}" for u in used]
    )
    flags = [rng.random(n) < rng.random() for _ in range(_WIDTH - 1)]
    columns: list[np.ndarray | None] = [None, *flags]  # N: the rows, always counted
    if seed % 3 == 0:
        columns[CountColumn.FORMAT_CHECKED] = columns[CountColumn.FORMAT_INVALID] = None
    if seed == 5:  # a weight that is not 0/1 still counts by its value
        columns[CountColumn.WRONG] = rng.integers(0, 4, n)
    counts = CategoryCounts()
    counts.add(cat, columns)
    assert {name: row.tolist() for name, row in counts.rows.items()} == expected(cat, columns)


def test_chunks_add_up_to_the_whole() -> None:
    rng = np.random.default_rng(11)
    codes = rng.integers(0, 3, 900).astype(np.int32)
    cat = Categorical(codes, ["a", "b", "c"])
    columns: list[np.ndarray | None] = [None, rng.random(900) < 0.2]
    columns += [None] * (_WIDTH - 2)
    whole, parts = CategoryCounts(), CategoryCounts()
    whole.add(cat, columns)
    for lo in range(0, 900, 250):
        part = Categorical(codes[lo : lo + 250], ["a", "b", "c"])
        parts.add(part, [None if c is None else c[lo : lo + 250] for c in columns])
    assert {k: v.tolist() for k, v in parts.rows.items()} == {
        k: v.tolist() for k, v in whole.rows.items()
    }
    assert whole.rows["a"][CountColumn.N] == np.count_nonzero(codes == 0)
