"""Prediction-id hashing and the seen-set that drops duplicates."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.ingest.dedup import SeenIds, hash_ids

IDS = [
    "",
    "a",
    "ab",
    "pred-0001",
    "pred-00010",
    "0123456789abcdef",
    "x" * 17,
    "é-ünïcødé",
    "z" * 64,
]


def one_by_one(values: list[str]) -> list[int]:
    return [int(hash_ids(pa.array([v]))[0]) for v in values]


def test_equal_strings_hash_equal_whatever_the_batch_around_them() -> None:
    alone = one_by_one(IDS)
    assert len(set(alone)) == len(IDS)
    together = hash_ids(pa.array(IDS)).tolist()
    assert together == alone
    # Other neighbours, slices, chunking, large offsets and dictionary encoding.
    shuffled = IDS[::-1] + ["other"] * 3
    assert hash_ids(pa.array(shuffled)).tolist()[: len(IDS)] == alone[::-1]
    assert hash_ids(pa.array(["pad", *IDS]).slice(1)).tolist() == alone
    assert hash_ids(pa.chunked_array([IDS[:4], IDS[4:]])).tolist() == alone
    assert hash_ids(pa.array(IDS, pa.large_string())).tolist() == alone
    assert hash_ids(pa.array(IDS, pa.string_view())).tolist() == alone
    assert hash_ids(pa.array(IDS * 2).dictionary_encode()).tolist() == alone * 2


def test_the_length_grouping_paths_agree() -> None:
    same_length = [f"{i:016d}" for i in range(50)]  # one length: no gathering by group
    few_lengths = [*same_length, "a", "bb"]  # a handful of lengths: one mask each
    many_lengths = few_lengths + ["c" * n for n in range(3, 40)]  # many: radix-sorted groups
    expected = one_by_one(many_lengths)
    assert hash_ids(pa.array(same_length)).tolist() == expected[:50]
    assert hash_ids(pa.array(few_lengths)).tolist() == expected[:52]
    assert hash_ids(pa.array(many_lengths)).tolist() == expected


_MASK = (1 << 64) - 1


def reference_hash(text: str) -> int:
    """The definition, one string at a time in plain Python: length-seeded state, each
    little-endian 8-byte word (zero-padded) xored in, multiplied and xorshifted, then
    MurmurHash3's fmix64."""
    data = text.encode("utf-8")
    h = (0x9E3779B97F4A7C15 + len(data) * 0x100000001B3) & _MASK
    for start in range(0, len(data), 8):
        h ^= int.from_bytes(data[start : start + 8].ljust(8, b"\0"), "little")
        h = h * 0xFF51AFD7ED558CCD & _MASK
        h ^= h >> 29
    for multiplier in (0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53):
        h ^= h >> 33
        h = h * multiplier & _MASK
    return h ^ (h >> 33)


def test_the_hash_follows_its_definition_and_is_pinned_across_platforms() -> None:
    assert hash_ids(pa.array(IDS)).tolist() == [reference_hash(v) for v in IDS]
    # Pinned: a change of the function would silently break joins with stored hashes.
    assert hash_ids(pa.array(["abc", "", "pred-0001"])).tolist() == [
        8602040849384181045,
        11286133854226296554,
        14501239100976197420,
    ]


def test_integer_ids_hash_like_their_text_and_nulls_do_not_break_it() -> None:
    assert hash_ids(pa.array([42, 7])).tolist() == one_by_one(["42", "7"])
    assert len(hash_ids(pa.array(["a", None, "b"]))) == 3
    assert len(hash_ids(pa.array([], pa.string()))) == 0
    assert len(hash_ids(pa.nulls(3))) == 3


def test_two_million_distinct_ids_do_not_collide() -> None:
    ids = pa.array([f"req-{i:x}-{i * 7919 % 1000003}" for i in range(2_000_000)])
    hashed = hash_ids(ids)
    assert len(np.unique(hashed)) == 2_000_000


# --------------------------------------------------------------------------- SeenIds


def test_the_first_occurrence_wins_within_and_across_batches() -> None:
    seen = SeenIds()
    assert seen.add(np.array([5, 9, 5, 1, 9], np.uint64)).tolist() == [0, 0, 1, 0, 1]
    assert seen.add(np.array([2, 1, 2, 7], np.uint64)).tolist() == [0, 1, 1, 0]
    assert seen.add(np.array([], np.uint64)).tolist() == []
    assert len(seen) == 5
    assert 7 in seen and 8 not in seen


@settings(max_examples=40, deadline=None)
@given(
    values=st.lists(st.integers(0, 40), max_size=300),
    cuts=st.lists(st.integers(0, 300), max_size=8),
)
def test_the_seen_set_agrees_with_pandas_duplicated(values: list[int], cuts: list[int]) -> None:
    keys = np.array(values, np.uint64) * np.uint64(0x9E3779B97F4A7C15)  # spread over 64 bits
    bounds = sorted({0, len(keys), *(c for c in cuts if c < len(keys))})
    seen = SeenIds()
    got = np.concatenate(
        [seen.add(keys[a:b]) for a, b in itertools.pairwise(bounds)] or [np.zeros(0, bool)]
    )
    assert got.tolist() == pd.Series(keys).duplicated(keep="first").tolist()
    assert len(seen) == len(set(values))


def test_many_batches_stay_exact_and_compact() -> None:
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 2**64, 600_000, dtype=np.uint64)
    keys[100_000:100_500] = keys[:500]  # a re-delivered slice, far away
    keys[::97] = keys[1::97][: len(keys[::97])]  # near neighbours logged twice
    seen = SeenIds()
    got = np.concatenate([seen.add(keys[i : i + 9_000]) for i in range(0, len(keys), 9_000)])
    assert got.tolist() == pd.Series(keys).duplicated(keep="first").tolist()
    # Eight bytes per distinct key, plus the fixed 32 MiB filter in front of the runs.
    assert len(seen) == len(set(keys.tolist()))
    assert seen.nbytes == 8 * len(seen) + 2 ** (SeenIds.FILTER_BITS - 3)


@pytest.mark.parametrize("ratio", [2, 4])
def test_the_merge_policy_does_not_change_answers(
    ratio: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SeenIds, "MERGE_RATIO", ratio)
    keys = np.arange(1, 5001, dtype=np.uint64) % np.uint64(3001) * np.uint64(2654435761)
    seen = SeenIds()
    got = np.concatenate([seen.add(keys[i : i + 333]) for i in range(0, len(keys), 333)])
    assert got.tolist() == pd.Series(keys).duplicated(keep="first").tolist()
