"""Exact de-duplication of prediction ids in bounded memory (issues 17 §3 and 21 §2).

Every answer is checked against an independent oracle: pandas' ``duplicated`` (first
occurrence kept) or a Python set over (model, id) in log order; the keyed hash against
CPython's own SipHash-1-3.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import poisson

from monitor.ingest.dedup import SeenIds, hash_ids
from monitor.ingest.dedup_exact import (
    MIN_MEMORY_BUDGET,
    ExactSeen,
    parse_memory_budget,
)
from monitor.ingest.dedup_memory import BloomFilter
from monitor.ingest.keyed_hash import KEY_BYTES, new_key, siphash13, siphash13_bytes

Log = list[tuple[int, str]]


def expected_duplicates(log: Log) -> list[bool]:
    """The oracle: a row is a duplicate when its (model, id) occurred earlier."""
    frame = pd.DataFrame({"model": [m for m, _ in log], "id": [i for _, i in log]})
    duplicated: list[bool] = frame.duplicated(keep="first").tolist()
    return duplicated


def run(seen: ExactSeen, log: Log, cuts: Sequence[int] = ()) -> list[bool]:
    """Feed ``log`` to ``seen`` in batches cut at ``cuts``; the duplicate mask."""
    bounds = sorted({0, len(log), *(c for c in cuts if 0 < c < len(log))})
    masks = []
    for a, b in itertools.pairwise(bounds):
        batch = log[a:b]
        masks.append(seen.add(pa.array([i for _, i in batch]), [m for m, _ in batch]))
    return np.concatenate(masks).tolist() if masks else []


def retries_and_a_resent_file(n: int, seed: int) -> Log:
    """A night's log: mostly new ids, 2 % retries of a recent id, and a tail that re-sends
    ids from the start of the night (so duplicates sit far behind, on disk)."""
    rng = np.random.default_rng(seed)
    log: Log = []
    for row in range(n):
        model = int(rng.integers(0, 3))
        if row > 50 and rng.random() < 0.02:
            log.append(log[row - int(rng.integers(1, 50))])
        elif row > 0.8 * n and rng.random() < 0.3:
            log.append(log[int(rng.integers(0, n // 5))])
        else:
            log.append((model, f"req-{seed}-{row:08d}"))
    return log


# --------------------------------------------------------------------------- the hash


def test_the_keyed_hash_is_siphash13_as_cpython_computes_it() -> None:
    # CPython hashes bytes with SipHash-1-3; PYTHONHASHSEED=0 makes its key all zeros.
    rng = np.random.default_rng(7)
    values = [bytes(rng.integers(0, 256, n, dtype=np.uint8)) for n in range(1, 80)]
    values += [b"pred-0001", "é-ünïcødé".encode(), b"x" * 600, b"y" * 4000]
    code = (
        "import json, sys; print(json.dumps([hash(bytes.fromhex(v)) "
        "for v in json.loads(sys.stdin.read())]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps([v.hex() for v in values]),
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    cpython = [h % 2**64 for h in json.loads(done.stdout)]
    ours = siphash13(pa.array(values, pa.binary()), bytes(KEY_BYTES)).tolist()
    # CPython maps a hash of -1 to -2 (its error value); no value here hashes to -1.
    assert ours == cpython


def test_the_vectorised_hash_follows_the_definition_for_any_key_and_arrow_type() -> None:
    key = new_key()
    texts = ["", "a", "pred-0001", "é", "z" * 17, "w" * 513, "q" * 64, *map(str, range(200))]
    defined = [siphash13_bytes(t.encode(), key) for t in texts]
    assert siphash13(pa.array(texts), key).tolist() == defined
    assert siphash13(pa.array(texts, pa.large_string()), key).tolist() == defined
    assert siphash13(pa.array(texts, pa.string_view()), key).tolist() == defined
    assert siphash13(pa.array(texts).dictionary_encode(), key).tolist() == defined
    assert siphash13(pa.chunked_array([texts[:3], texts[3:]]), key).tolist() == defined
    assert siphash13(pa.array(["pad", *texts]).slice(1), key).tolist() == defined
    integers = [siphash13_bytes(b"42", key), siphash13_bytes(b"7", key)]
    assert siphash13(pa.array([42, 7]), key).tolist() == integers
    assert siphash13(pa.array(texts), new_key()).tolist() != defined  # the key matters


@pytest.mark.parametrize("length", [0, 5, 8, 16, 36, 64, 512, 513])
def test_ids_of_one_length_hash_as_defined_across_slices(length: int) -> None:
    # Ids of one length lie back to back and are hashed through strided views, 16,384
    # at a time: every slice, the boundaries between them and an offset array must
    # give what the definition gives.
    key = new_key()
    rng = np.random.default_rng(length)
    count = 40_000 if length <= 64 else 600
    raw = rng.integers(0, 256, (count + 3, length), dtype=np.uint8)
    values = [row.tobytes() for row in raw]
    array = pa.array(values, pa.binary()).slice(3)  # offsets that do not start at 0
    hashed = siphash13(array, key)
    picks = sorted({0, 1, 16_383, 16_384, 16_385, 32_767, 32_768, len(array) - 1})
    picks = [i for i in picks if i < len(array)] + rng.integers(0, len(array), 300).tolist()
    assert [int(hashed[i]) for i in picks] == [siphash13_bytes(values[3 + i], key) for i in picks]
    assert len(set(hashed.tolist())) == len(set(values[3:]))


def colliding_pairs_for_todays_hash(count: int, seed: int) -> tuple[list[tuple[str, str]], int]:
    """Pairs of distinct 16-character ids with equal :func:`monitor.ingest.dedup.hash_ids`.

    The unkeyed fold is ``h = xorshift29((h ^ word) * M)`` per 8-byte word, every step a
    bijection of ``h``. Two ids agreeing after their second word collide, and the second
    word can be solved for: ``w2' = w2 ^ s1 ^ s1'`` where ``s1``, ``s1'`` are the states
    after the first words. It must be printable: this works when every byte of
    ``s1 ^ s1'`` is below 0x80, one try in 256, as issue 17 found (270 tries).
    """
    mask, mix = 2**64 - 1, 0xFF51AFD7ED558CCD
    start = (0x9E3779B97F4A7C15 + 16 * 0x100000001B3) & mask
    printable = [c for c in range(0x21, 0x7F)]
    rng = np.random.default_rng(seed)

    def after(word: int) -> int:
        state = ((start ^ word) * mix) & mask
        return state ^ (state >> 29)

    pairs: list[tuple[str, str]] = []
    tries = 0
    while len(pairs) < count:
        tries += 1
        first, other = (bytes(rng.choice(printable, 8).tolist()) for _ in range(2))
        if first == other:
            continue
        difference = after(int.from_bytes(first, "little")) ^ after(int.from_bytes(other, "little"))
        second, second_other = [], []
        for d in difference.to_bytes(8, "little"):
            options = [c for c in printable if c ^ d in printable]
            if not options:
                break
            c = int(rng.choice(options))
            second.append(c)
            second_other.append(c ^ d)
        else:
            pairs.append(((first + bytes(second)).decode(), (other + bytes(second_other)).decode()))
    return pairs, tries


def test_crafted_collisions_of_todays_hash_no_longer_hide_rows() -> None:
    pairs, tries = colliding_pairs_for_todays_hash(20, seed=17)
    assert tries < 40 * 256  # a few hundred tries per pair: cheap for anyone
    originals, impostors = zip(*pairs, strict=True)
    assert len(set(originals) | set(impostors)) == 40
    assert hash_ids(pa.array(originals)).tolist() == hash_ids(pa.array(impostors)).tolist()
    # Tonight's log: each original, then its impostor (a different prediction with a wrong
    # answer), then a genuine retry of the original.
    log: Log = [(0, text) for pair in pairs for text in (*pair, pair[0])]
    expected = [False, False, True] * 20
    today = SeenIds().add(hash_ids(pa.array([i for _, i in log])))
    assert today.tolist() == [False, True, True] * 20  # 20 impostors silently dropped
    # Even under that same unkeyed hash, comparing the ids keeps every impostor.
    with ExactSeen(hasher=lambda o, d: hash_ids(_binary(o, d))) as exact:
        assert run(exact, log) == expected
        assert exact.stats.collisions == 20
    # The keyed hash: ids precomputed against any fixed function do not collide under a
    # key drawn at run time.
    for _ in range(5):
        with ExactSeen() as keyed:
            different = keyed.keys(pa.array(originals), 0) != keyed.keys(pa.array(impostors), 0)
            assert different.all()
            assert run(keyed, log) == expected
            assert keyed.stats.collisions == 0


def _binary(offsets: np.ndarray, data: np.ndarray) -> pa.Array:
    return pa.Array.from_buffers(
        pa.large_binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


# --------------------------------------------------------------------------- semantics


def test_the_first_occurrence_in_log_order_wins_per_model() -> None:
    with ExactSeen() as seen:
        first = seen.add(pa.array(["a", "b", "a", "c", "b"]), [0, 0, 0, 0, 1])
        assert first.tolist() == [False, False, True, False, False]  # b in model 1 is new
        second = seen.add(pa.array(["b", "c", "d", "d"]), 1)
        assert second.tolist() == [True, False, False, True]
        assert seen.add(pa.array([], pa.string()), 0).tolist() == []
        assert len(seen) == 6
        keys = seen.keys(pa.array(["a", "a"]), [0, 1])
        assert keys[0] != keys[1]  # the same id in two models is two keys


def test_hashes_computed_ahead_by_another_thread_give_the_same_answer() -> None:
    log = retries_and_a_resent_file(3_000, 11)
    ids = pa.array([i for _, i in log])
    models = [m for m, _ in log]
    key = new_key()
    with ExactSeen(key=key) as inline, ExactSeen(key=key) as ahead:
        with ThreadPoolExecutor(1) as reader:  # as ingest's reader thread hashes
            hashes = reader.submit(ahead.hashes, ids).result()
        got = ahead.add(ids, models, hashes=hashes)
        assert got.tolist() == inline.add(ids, models).tolist() == expected_duplicates(log)
        # hashes are the id's alone; the model's salt is applied in add
        twice = pa.array(["x", "x"])
        assert len(set(ahead.hashes(twice).tolist())) == 1
        assert len(set(ahead.keys(twice, [0, 1]).tolist())) == 2
        with pytest.raises(ValueError, match="2 hashes for 3 ids"):
            ahead.add(pa.array(["a", "b", "c"]), 0, hashes=hashes[:2])


def test_integer_and_dictionary_ids_are_the_same_ids_as_their_text() -> None:
    with ExactSeen() as seen:
        assert seen.add(pa.array([42, 7]), 0).tolist() == [False, False]
        assert seen.add(pa.array(["7", "42", "8"]).dictionary_encode(), 0).tolist() == [
            True,
            True,
            False,
        ]


def test_null_ids_and_mismatched_models_are_refused() -> None:
    with ExactSeen() as seen:
        with pytest.raises(ValueError, match="null prediction ids"):
            seen.add(pa.array(["a", None]), 0)
        with pytest.raises(ValueError, match="model ordinal"):
            seen.add(pa.array(["a", "b"]), [0])
        with pytest.raises(ValueError, match=r"2\*\*32"):
            seen.add(pa.array(["a"]), [-1])
    with pytest.raises(RuntimeError, match="closed"):  # a closed set forgot every id
        seen.add(pa.array(["a"]), 0)


def test_a_batch_longer_than_the_sort_window_is_cut_without_changing_the_answer() -> None:
    n = 300_000  # above 2**18: decided as two slices, one after the other
    ids = [f"id-{i % 200_000}" for i in range(n)]  # rows past 200,000 repeat earlier ones
    with ExactSeen() as seen:
        got = seen.add(pa.array(ids), 0)
    assert got.tolist() == [i >= 200_000 for i in range(n)]


def test_ids_longer_than_the_vector_path_are_compared_whole() -> None:
    long = "x" * 600
    ids = [long, long[:-1] + "y", "short", long]
    with ExactSeen() as seen:
        assert seen.add(pa.array(ids), 0).tolist() == [False, False, False, True]


# --------------------------------------------------------------------------- spilling


def test_a_tiny_budget_spills_merges_and_still_finds_every_duplicate(tmp_path: Path) -> None:
    log = retries_and_a_resent_file(120_000, seed=3)
    rng = np.random.default_rng(3)
    cuts = np.cumsum(rng.integers(1, 9_000, 60)).tolist()
    with ExactSeen(memory_budget=MIN_MEMORY_BUDGET, spill_dir=tmp_path) as seen:
        got = run(seen, log, cuts)
        folder = seen.spill_path
        assert folder is not None and folder.parent == tmp_path
        files = sorted(p.name for p in folder.iterdir())
        stats = seen.stats
    assert got == expected_duplicates(log)
    assert sum(got[:96_000]) > 1_500  # retries of recent ids
    assert sum(got[96_000:]) > 6_000  # the re-sent tail: ids from spilled runs
    assert stats.spills >= 10 and stats.merges >= 2  # runs written, then merged
    assert any(name.startswith("arena") for name in files)
    assert sum(name.startswith("run") for name in files) >= 2
    assert stats.bytes_written > 3 * 1024 * 1024
    assert stats.peak_state_bytes <= MIN_MEMORY_BUDGET
    assert not folder.exists()  # close() deletes what it wrote, and only that
    assert list(tmp_path.iterdir()) == []


def test_nothing_is_written_while_the_state_fits_the_budget(tmp_path: Path) -> None:
    log = retries_and_a_resent_file(20_000, seed=4)
    with ExactSeen(spill_dir=tmp_path) as seen:
        assert run(seen, log, [7_000, 14_000]) == expected_duplicates(log)
        assert not seen.spilled and seen.spill_path is None
    assert list(tmp_path.iterdir()) == []


def test_the_answer_does_not_depend_on_the_budget_or_the_key(tmp_path: Path) -> None:
    log = retries_and_a_resent_file(30_000, seed=5)
    answers = []
    for budget, limit in ((MIN_MEMORY_BUDGET, 500), (MIN_MEMORY_BUDGET, None), (2**30, None)):
        with ExactSeen(memory_budget=budget, spill_dir=tmp_path, table_limit=limit) as seen:
            answers.append(run(seen, log, range(0, 30_000, 4_096)))
    assert answers[0] == answers[1] == answers[2] == expected_duplicates(log)


def test_forced_collisions_across_spilled_runs_never_drop_a_distinct_id(tmp_path: Path) -> None:
    # Four keys for every id: thousands of distinct ids share each key, across blocks,
    # runs and merges; only comparing the bytes can tell them apart.
    def four_keys(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
        return (np.diff(offsets) % 4).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)

    log = retries_and_a_resent_file(6_000, seed=6)
    with ExactSeen(spill_dir=tmp_path, hasher=four_keys, table_limit=300) as seen:
        got = run(seen, log, range(0, 6_000, 700))
        assert seen.stats.spills >= 8 and seen.stats.merges >= 1
        assert seen.stats.collisions > 100_000
    assert got == expected_duplicates(log)


# --------------------------------------------------------------------------- properties

ids = st.text(alphabet="ab", max_size=3)
rows = st.lists(st.tuples(st.integers(0, 2), ids), max_size=250)
cut_lists = st.lists(st.integers(0, 250), max_size=10)


def weak(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """A hash with two values: every key is shared by many distinct ids."""
    return (np.diff(offsets) % 2).astype(np.uint64)


@settings(max_examples=60, deadline=None)
@given(log=rows, cuts=cut_lists, other_cuts=cut_lists, limit=st.integers(1, 40))
def test_any_batch_split_and_spill_schedule_gives_the_oracles_answer(
    tmp_path_factory: pytest.TempPathFactory,
    log: Log,
    cuts: list[int],
    other_cuts: list[int],
    limit: int,
) -> None:
    folder = tmp_path_factory.mktemp("spill")
    with ExactSeen(spill_dir=folder, table_limit=limit) as spilling:
        split = run(spilling, log, cuts)
    with ExactSeen(spill_dir=folder) as in_memory:
        whole = run(in_memory, log, other_cuts)
    assert split == whole == expected_duplicates(log)


@settings(max_examples=60, deadline=None)
@given(log=rows, cuts=cut_lists, limit=st.integers(1, 40))
def test_distinct_ids_sharing_a_key_are_never_dropped(
    tmp_path_factory: pytest.TempPathFactory, log: Log, cuts: list[int], limit: int
) -> None:
    folder = tmp_path_factory.mktemp("spill")
    with ExactSeen(spill_dir=folder, hasher=weak, table_limit=limit) as seen:
        assert run(seen, log, cuts) == expected_duplicates(log)


# --------------------------------------------------------------------------- the filter


@pytest.mark.parametrize("bits_per_key", [16, 21])
def test_the_filters_false_positive_rate_is_what_its_docstring_says(bits_per_key: int) -> None:
    words = 100_003  # any number of words: the range reduction is not a bit mask
    n = words * 64 // bits_per_key
    rng = np.random.default_rng(bits_per_key)
    bloom = BloomFilter(words * 8)
    stored = np.sort(rng.integers(0, 2**64 - 1, n, dtype=np.uint64))
    bloom.add(*bloom.locate(stored))
    fresh = rng.integers(0, 2**64 - 1, 2_000_000, dtype=np.uint64)
    word, mask = bloom.locate(fresh)
    measured = float(((bloom.words[word] & mask) == mask).mean())
    assert ((bloom.words[bloom.locate(stored)[0]] & bloom.locate(stored)[1]) != 0).all()
    # Independent: keys per word ~ Poisson(64 / bits); a word with c keys has each of its
    # 64 bits set with probability 1 - (63/64)^(5c); a query needs its 5 bits set.
    c = np.arange(200)
    fill = 1 - (63 / 64) ** (BloomFilter.BITS * c)
    predicted = float((poisson.pmf(c, 64 / bits_per_key) * fill**BloomFilter.BITS).sum())
    assert measured == pytest.approx(predicted, rel=0.1)
    assert measured < {16: 0.005, 21: 0.0025}[bits_per_key]


# --------------------------------------------------------------------------- the option


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("256MiB", 256 * 2**20),
        ("1GB", 10**9),
        ("512M", 512 * 10**6),
        ("1.5GiB", 3 * 2**29),
        ("268435456", 268_435_456),
        (" 512 kib ", 512 * 1024),
    ],
)
def test_memory_budgets_are_read_like_dask_reads_sizes(text: str, expected: int) -> None:
    assert parse_memory_budget(text) == expected


@pytest.mark.parametrize(("text", "message"), [("lots", "not a size"), ("1KB", "minimum")])
def test_a_bad_memory_budget_says_what_would_do(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_memory_budget(text)
    with pytest.raises(ValueError, match="minimum"):
        ExactSeen(memory_budget=1024)


def test_told_how_many_ids_come_the_filter_is_built_once_and_the_answer_is_unchanged() -> None:
    log = retries_and_a_resent_file(40_000, seed=9)
    cuts = range(0, 40_000, 3_000)
    with ExactSeen() as growing, ExactSeen() as told:
        told.expect(len(log))
        assert told.stats.filter_rebuilds == 1
        sized = told._filter.nbytes  # 256 bits per expected id, to a power of two
        assert sized == 1 << (len(log) * 256 // 8 - 1).bit_length()
        assert run(told, log, cuts) == run(growing, log, cuts) == expected_duplicates(log)
        assert told.stats.filter_rebuilds == 1 and told._filter.nbytes == sized
        # grown past 4,096 and past 16,384 distinct ids (128 bits each fill it)
        assert growing.stats.filter_rebuilds == 2


def test_an_expectation_never_takes_the_filter_past_half_the_budget() -> None:
    with ExactSeen(memory_budget=MIN_MEMORY_BUDGET) as seen:
        seen.expect(10**9)
        assert seen._filter.nbytes == MIN_MEMORY_BUDGET // 2
        seen.expect(0)
        assert seen.stats.filter_rebuilds == 1


def test_told_how_many_ids_come_the_filter_leaves_the_table_room_for_them_all(
    tmp_path: Path,
) -> None:
    # 32 MiB: 4 MiB of buffers, a 16 MiB filter at most. Growing, the filter reaches
    # 16 MiB and leaves the table room for 524,288 ids, so 600,000 spill. Told, it stops
    # at 8 MiB (over 100 bits per id), the table holds all 600,000: no run spills.
    ids = pa.array([f"request-{i:09d}" for i in range(600_000)])
    with (
        ExactSeen(memory_budget=32 * 2**20, spill_dir=tmp_path) as growing,
        ExactSeen(memory_budget=32 * 2**20, spill_dir=tmp_path) as told,
    ):
        told.expect(len(ids))
        assert told._filter.nbytes == 8 * 2**20
        for lo in range(0, len(ids), 100_000):
            for seen in (growing, told):
                assert not seen.add(ids[lo : lo + 100_000], 0).any()
        for seen in (growing, told):  # and every one of them is found again
            assert seen.add(ids[::50_000], 0).all()
        # (the ids' bytes go to disk in both: the arena keeps 2 MiB of them in memory)
        assert growing.stats.spills >= 1 and growing._filter.nbytes == 16 * 2**20
        assert told.stats.spills == 0 and told._filter.nbytes == 8 * 2**20
        assert told.stats.distinct == growing.stats.distinct == 600_000


def test_runs_are_merged_only_when_the_lookups_saved_would_cost_more(tmp_path: Path) -> None:
    # 1,000-id tables: 15 spilled runs. Told nothing, eight are merged. Told how many
    # ids come, a merge happens only if it pays: not for a log of new ids (candidates
    # only from the filter), yes for one with 8 % duplicates. 300-id tables (56 runs)
    # reach the 32-run cap, which merges all the same.
    fresh: Log = [(0, f"new-{i:06d}") for i in range(28_000)]
    repeats = retries_and_a_resent_file(30_000, seed=12)
    cuts = range(0, 30_000, 1_000)
    for log, merges in ((fresh, 0), (repeats, 1)):
        with (
            ExactSeen(spill_dir=tmp_path, table_limit=1_000) as tiered,
            ExactSeen(spill_dir=tmp_path, table_limit=1_000) as told,
        ):
            told.expect(len(log))
            assert run(tiered, log, cuts) == run(told, log, cuts) == expected_duplicates(log)
            assert tiered.stats.spills == told.stats.spills >= 14
            assert tiered.stats.merges == 1
            assert told.stats.merges == merges
    with ExactSeen(spill_dir=tmp_path, table_limit=300) as capped:
        capped.expect(len(fresh))
        assert run(capped, fresh, range(0, 28_000, 250)) == expected_duplicates(fresh)
        assert capped.stats.spills > 32 and capped.stats.merges >= 1
        assert len(capped._runs) < 32
