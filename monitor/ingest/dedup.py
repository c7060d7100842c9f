"""64-bit id hashes and the per-model salt; :class:`SeenIds`, the former seen-set.

A 64-bit hash of a ``prediction_id`` costs eight bytes and compares in one instruction.
With ``n`` distinct ids the chance that any two collide by accident is about
``n² / 2⁶⁵`` (3·10⁻⁶ for ten million ids); ids crafted to collide are another matter,
which is why duplicates are decided by comparing the ids themselves
(:mod:`monitor.ingest.dedup_exact`), never by this hash alone.

:func:`hash_ids` reads the Arrow buffers directly: strings are grouped by byte length,
each group is read eight bytes at a time as little-endian words (the last word
zero-padded), and the words are folded with a multiply–xorshift step; a MurmurHash3
``fmix64`` finaliser seeded with the length ends it. The hash is a function of the
string's bytes alone, so it is the same whatever batch, file or format a string comes
from, on every platform. ``pandas.util.hash_array`` does the same job at roughly a
tenth of the speed.

:class:`SeenIds` is a log-structured set of sorted ``uint64`` runs: each batch adds
one sorted run, runs of similar size are merged, and membership is a ``searchsorted`` per
run, at eight bytes per distinct id. Ingest no longer uses it: duplicates are decided by
:class:`~monitor.ingest.dedup_exact.ExactSeen` (ids compared, under a memory budget), and
the Dask engine's exchange by :mod:`monitor.engines.dedup_partitions`. It stays as the
reference that ``benchmarks/bench_dedup.py`` (mode ``seenids``) and the collision test
(``tests/test_dedup_exact.py``) measure the exact path against.

A hash key is the id hash XOR the model's salt (:func:`model_salts`), so that the same
``prediction_id`` of two models is two keys; the late-label join and the chunks'
``id_hash`` (the drift sample's order) use these keys.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["SeenIds", "hash_ids", "model_salts"]

U64 = npt.NDArray[np.uint64]

_MASK64 = (1 << 64) - 1
_SEED = 0x9E3779B97F4A7C15  # golden-ratio constant: the empty string does not hash to 0
_MIX = np.uint64(0xFF51AFD7ED558CCD)
_FMIX1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX2 = np.uint64(0xC4CEB9FE1A85EC53)
_S29 = np.uint64(29)
_S33 = np.uint64(33)
_S48 = np.uint64(48)
#: Above this many distinct lengths, one radix argsort beats a mask pass per length.
_MANY_LENGTHS = 8
#: Strings longer than this many bytes, when fewer than ``_FEW_STRINGS`` share a length,
#: are hashed one at a time (:func:`_hash_each`): a hostile log's huge ids stay linear.
_LONG_BYTES = 256
_FEW_STRINGS = 64
_MIX_INT = 0xFF51AFD7ED558CCD


def model_salts(n_models: int) -> U64:
    """The salt of each model, by its position in the register: ``i · 0x9E3779B97F4A7C15``.

    A duplicate key is ``hash_ids(prediction_id) ^ salt``; the golden-ratio multiples
    spread the models' keys apart (model 0's keys are the id hashes themselves).
    """
    salts = np.arange(n_models, dtype=np.uint64)
    salts *= np.uint64(_SEED)
    return salts


def hash_ids(values: pa.Array | pa.ChunkedArray) -> U64:
    """Hash each value of an Arrow array to a ``uint64``.

    Parameters
    ----------
    values
        ``string``, ``large_string``, ``string_view``, ``binary`` or a dictionary of
        those; any other type (integer ids, say) is cast to ``string`` first, so the
        integer ``42`` and the text ``"42"`` hash equal.

    Returns
    -------
    numpy.ndarray
        ``uint64``, one hash per value. Equal strings always hash equal. The hash at a
        null slot is unspecified: callers filter nulls out.
    """
    if isinstance(values, pa.ChunkedArray):
        parts = [hash_ids(chunk) for chunk in values.chunks]
        return np.concatenate(parts) if parts else np.empty(0, np.uint64)
    if pa.types.is_dictionary(values.type):
        dictionary_hashes = hash_ids(values.dictionary)
        indices = values.indices.fill_null(0).to_numpy()
        if len(dictionary_hashes) == 0:
            return np.zeros(len(values), np.uint64)
        hashed: U64 = dictionary_hashes[indices]
        return hashed
    kind = values.type
    if pa.types.is_large_string(kind) or pa.types.is_large_binary(kind):
        offset_type: type[np.signedinteger[Any]] = np.int64
    elif pa.types.is_string(kind) or pa.types.is_binary(kind):
        offset_type = np.int32
    elif pa.types.is_null(kind):
        return np.full(len(values), _finalise_scalar(0), np.uint64)
    else:
        return hash_ids(pc.cast(values, pa.large_string() if _is_view(kind) else pa.string()))
    n = len(values)
    if n == 0:
        return np.empty(0, np.uint64)
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=offset_type)[values.offset : values.offset + n + 1]
    data = (
        np.frombuffer(buffers[2], dtype=np.uint8)
        if buffers[2] is not None
        else np.empty(0, np.uint8)
    )
    return _hash_buffers(offsets.astype(np.int64, copy=False), data)


def _is_view(kind: pa.DataType) -> bool:
    return str(kind) in ("string_view", "binary_view")


def _finalise_scalar(length: int) -> np.uint64:
    h = np.full(1, _initial(length), np.uint64)
    _fmix64(h)
    return np.uint64(h[0])


def _initial(length: int) -> np.uint64:
    return np.uint64((_SEED + length * 0x100000001B3) & _MASK64)


def _hash_buffers(offsets: npt.NDArray[np.int64], data: npt.NDArray[np.uint8]) -> U64:
    n = len(offsets) - 1
    base = int(offsets[0])
    end = int(offsets[-1])
    # A copy with eight zero bytes after the end lets every word load stay in bounds.
    padded = np.zeros(end - base + 8, np.uint8)
    padded[: end - base] = data[base:end]
    # Little-endian words starting at *every* byte: word loads at arbitrary offsets.
    words = np.ndarray((end - base + 1,), dtype="<u8", buffer=padded, strides=(1,))
    starts = offsets[:-1] - base
    lengths = np.diff(offsets)
    out = np.empty(n, np.uint64)
    low, high = int(lengths.min()), int(lengths.max())
    if low == high:
        _hash_group(words, starts, low, out, None)
        return out
    present = np.flatnonzero(np.bincount(lengths - low)) + low if high - low < 4096 else None
    if present is not None and len(present) <= _MANY_LENGTHS:
        for length in present:
            rows = np.flatnonzero(lengths == length)
            _hash_group(words, starts[rows], int(length), out, rows)
        return out
    # Many distinct lengths: one stable radix sort by length gives contiguous groups.
    key = lengths.astype(np.uint16) if high < 65536 else lengths
    order = np.argsort(key, kind="stable")
    sorted_lengths = lengths[order]
    cuts = np.flatnonzero(sorted_lengths[1:] != sorted_lengths[:-1]) + 1
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, n], strict=True):
        rows = order[lo:hi]
        _hash_group(words, starts[rows], int(sorted_lengths[lo]), out, rows)
    return out


def _hash_group(
    words: U64,
    starts: npt.NDArray[np.int64],
    length: int,
    out: U64,
    rows: npt.NDArray[np.intp] | None,
) -> None:
    """Hash strings of one byte ``length`` starting at ``starts`` into ``out[rows]``."""
    if length > _LONG_BYTES and len(starts) < _FEW_STRINGS:
        _hash_each(words, starts, length, out, rows)
        return
    h = np.full(len(starts), _initial(length), np.uint64)
    tmp = np.empty_like(h)
    for word_start in range(0, length, 8):
        word = words[starts + word_start] if word_start else words[starts]
        remaining = length - word_start
        if remaining < 8:
            word &= np.uint64((1 << (8 * remaining)) - 1)
        h ^= word
        h *= _MIX
        np.right_shift(h, _S29, out=tmp)
        h ^= tmp
    _fmix64(h, tmp)
    if rows is None:
        out[:] = h
    else:
        out[rows] = h


def _hash_each(
    words: U64,
    starts: npt.NDArray[np.int64],
    length: int,
    out: U64,
    rows: npt.NDArray[np.intp] | None,
) -> None:
    """:func:`_hash_group` for a few long strings: the same function, one string at a time
    on Python integers. The vectorised loop costs a NumPy call per word *position*, which
    for one 5 MB id is 650 k calls on one-element arrays (seconds); this is linear in bytes."""
    h = np.empty(len(starts), np.uint64)
    tail = length % 8
    last_mask = (1 << (8 * tail)) - 1 if tail else _MASK64
    for i, start in enumerate(starts.tolist()):
        state = int(_initial(length))
        string_words = words[start : start + length : 8].tolist()
        string_words[-1] &= last_mask
        for word in string_words:
            state ^= word
            state = (state * _MIX_INT) & _MASK64
            state ^= state >> 29
        h[i] = state
    _fmix64(h)
    if rows is None:
        out[:] = h
    else:
        out[rows] = h


def _fmix64(h: U64, tmp: U64 | None = None) -> None:
    """MurmurHash3's 64-bit finaliser, in place: every input bit affects every output bit."""
    if tmp is None:
        tmp = np.empty_like(h)
    np.right_shift(h, _S33, out=tmp)
    h ^= tmp
    h *= _FMIX1
    np.right_shift(h, _S33, out=tmp)
    h ^= tmp
    h *= _FMIX2
    np.right_shift(h, _S33, out=tmp)
    h ^= tmp


class SeenIds:
    """The set of ``uint64`` keys seen so far, as sorted runs merged LSM-style.

    Notes
    -----
    Each :meth:`add` sorts its batch into a new run and looks the sorted batch up in
    every older run with ``searchsorted`` (sorted needles walk a run front to back, so
    the look-up is cache friendly: about 20 ns per key and run). A run is merged with
    the one before it while that one is at most :attr:`MERGE_RATIO` times its size
    (Timsort merges two sorted runs in linear time), so there are O(log n) runs and
    O(n log n) work in all. Memory: 8 bytes per distinct key, plus a transient copy
    while two runs merge.

    In front of the runs sits a one-hash Bloom filter: a bit per value of the key's top
    :attr:`FILTER_BITS` bits (32 MiB). Almost every id is new, so almost every key is
    answered by one bit instead of a binary search in each run; at 10 M ids only ~4 %
    of keys reach the runs. It is maintained with one ``bitwise_or.reduceat`` over each
    new run (already sorted, so its bytes are grouped), which keeps it cheap — a
    ``bitwise_or.at`` version cost as much as it saved. Measured on 10 M keys in
    140 k batches: 2.7–3.9 s with the filter against 4.4–7.7 s without (shared,
    loaded machine).
    """

    MERGE_RATIO = 2
    FILTER_BITS = 28

    def __init__(self) -> None:
        self._runs: list[U64] = []
        self._count = 0
        self._filter = np.zeros(1 << (self.FILTER_BITS - 3), np.uint8)

    def __len__(self) -> int:
        return self._count

    @property
    def nbytes(self) -> int:
        """Memory held by the runs and the filter, in bytes."""
        return sum(run.nbytes for run in self._runs) + self._filter.nbytes

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, (int, np.integer)):
            return False
        return bool(self._contains(np.array([key], np.uint64))[0])

    def add(self, keys: U64) -> npt.NDArray[np.bool_]:
        """Record ``keys`` (in order) and return which of them were already seen.

        A key is *already seen* when an earlier call added it or when it occurs
        earlier in ``keys``: the first occurrence wins, later ones are duplicates.
        """
        keys = np.asarray(keys, np.uint64)
        n = len(keys)
        if n == 0:
            return np.zeros(0, bool)
        ordered = keys.copy()
        ordered.sort()
        repeats = ordered[1:] == ordered[:-1]
        has_repeats = bool(repeats.any())
        earlier = self._contains(ordered)
        has_earlier = bool(earlier.any())
        fresh = ordered
        if has_repeats or has_earlier:
            keep = ~earlier
            keep[1:] &= ~repeats
            fresh = ordered[keep]
        if len(fresh):
            self._count += len(fresh)
            self._push(fresh)
        if not has_repeats and not has_earlier:
            return np.zeros(n, bool)
        # Rare path: map the duplicates found in sorted order back to batch positions.
        duplicate = np.zeros(n, bool)
        if has_repeats:
            duplicate = _later_occurrences(keys, np.unique(ordered[1:][repeats]))
        if has_earlier:
            duplicate[_occurrences(keys, ordered[earlier])] = True
        return duplicate

    def _filter_slots(self, keys: U64) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
        slot = (keys >> np.uint64(64 - self.FILTER_BITS)).astype(np.int64)
        return slot >> 3, (np.uint8(1) << (slot & 7).astype(np.uint8))

    def _contains(self, ordered: U64) -> npt.NDArray[np.bool_]:
        found = np.zeros(len(ordered), bool)
        if not self._runs:
            return found
        byte, bit = self._filter_slots(ordered)
        maybe = np.flatnonzero(self._filter[byte] & bit)
        if len(maybe) == 0:
            return found
        found[maybe] = self._contains_in_runs(ordered[maybe])
        return found

    def _contains_in_runs(self, ordered: U64) -> npt.NDArray[np.bool_]:
        found = np.zeros(len(ordered), bool)
        for run in self._runs:
            at = _search_sorted(run, ordered)
            np.minimum(at, len(run) - 1, out=at)
            found |= run[at] == ordered
        return found

    def _push(self, run: U64) -> None:
        # `run` is sorted, so equal filter bytes are adjacent: OR each group once.
        byte, bit = self._filter_slots(run)
        starts = np.flatnonzero(np.r_[True, byte[1:] != byte[:-1]])
        self._filter[byte[starts]] |= np.bitwise_or.reduceat(bit, starts)
        runs = self._runs
        runs.append(run)
        while len(runs) > 1 and len(runs[-2]) <= self.MERGE_RATIO * len(runs[-1]):
            newer = runs.pop()
            older = runs.pop()
            merged = np.concatenate((older, newer))
            merged.sort(kind="stable")  # Timsort: finds the two runs and merges them
            runs.append(merged)


#: Sorted needles are searched in slices of about this many, each within its own part of
#: the run: the part fits in cache and the binary search is shorter (15–25 % faster).
_SLICE = 4096


def _search_sorted(run: U64, ordered: U64) -> npt.NDArray[np.intp]:
    """``np.searchsorted(run, ordered)`` for sorted ``ordered``."""
    if len(ordered) < 4 * _SLICE or len(run) < 4 * len(ordered):
        return np.searchsorted(run, ordered)
    edges = np.arange(0, len(ordered) + _SLICE, _SLICE)
    edges[-1] = len(ordered)
    starts = np.searchsorted(run, ordered[edges[:-1]])
    ends = np.searchsorted(run, ordered[edges[1:] - 1], side="right")
    at = np.empty(len(ordered), np.intp)
    for a, b, lo, hi in zip(
        edges[:-1].tolist(), edges[1:].tolist(), starts.tolist(), ends.tolist(), strict=True
    ):
        at[a:b] = np.searchsorted(run[lo:hi], ordered[a:b])
        at[a:b] += lo
    return at


def _occurrences(keys: U64, members: U64) -> npt.NDArray[np.intp]:
    """Positions in ``keys`` of values in ``members`` (sorted, typically few)."""
    # A 64 Ki-entry table on the top bits skips the exact look-up for almost every row.
    top = (keys >> _S48).view(np.int64)
    marked = np.zeros(1 << 16, bool)
    marked[(members >> _S48).view(np.int64)] = True
    rows = np.flatnonzero(marked[top])
    at = np.searchsorted(members, keys[rows])
    np.minimum(at, len(members) - 1, out=at)
    found: npt.NDArray[np.intp] = rows[members[at] == keys[rows]]
    return found


def _later_occurrences(keys: U64, repeated: U64) -> npt.NDArray[np.bool_]:
    """Mark every occurrence of a ``repeated`` key after its first one in ``keys``."""
    rows = _occurrences(keys, repeated)
    # Rows are in batch order, so a stable sort by key puts each key's first row first.
    order = rows[np.argsort(keys[rows], kind="stable")]
    grouped = keys[order]
    later = np.zeros(len(keys), bool)
    later[order[1:][grouped[1:] == grouped[:-1]]] = True
    return later
