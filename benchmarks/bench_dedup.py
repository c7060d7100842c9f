"""De-duplication alone: rows/s and peak memory of today's ``SeenIds`` and ``ExactSeen``.

For each size N (default 5M and 50M rows) and each mode, a fresh interpreter generates
N prediction ids batch by batch (262,144 rows, like ingest's batches), feeds them to the
de-duplicator, checks the number of duplicates it found against the number planted,
and prints:

* ``rows/s`` and ``CPU ns/row`` of the de-duplication calls only (generating the ids is
  not timed);
* the child's peak RSS, next to the peak RSS of a child that generates the same ids
  without de-duplicating (``baseline``): the difference is what de-duplication costs;
* for ``ExactSeen``: bytes written to its spill folder, the most it held on disk,
  spills, merges, and the rows its filter could not clear (``candidates``).

Modes:

* ``seenids``: today's ingest path, ``hash_ids`` (64-bit, unkeyed) and ``SeenIds``
  (every hash in memory, trusted without comparing ids);
* ``exact``: ``ExactSeen`` under ``--memory-budget`` (default 256 MiB), spilling to disk
  when the state outgrows it;
* ``exact-memory``: ``ExactSeen`` with a budget large enough that nothing spills;
* ``exchange``: the Dask engine's de-duplication without a cluster (the CPU and disk work
  a cluster spreads over its workers): N rows in partitions of 4 M, each de-duplicated by
  its own ``ExactSeen`` under one shared key and its keys kept in a file, then every key
  range read from every file and checked for repeats, with ranges sized by the budget
  (``monitor.engines.dedup_partitions``). Network transfer (8 bytes per row) is not included.

The log: ids ``p`` + 15 digits (``--id-bytes 16``) or 64-byte ids like
``tenant-0042/2026-11-21/req-<48 hex digits>`` (``--id-bytes 64``); three models;
0.5 % of rows re-log an id from up to 5,000 rows earlier (retries), and 0.1 % of the
rows in the second half repeat an id from the first half (a re-sent file), so the
spilled runs are probed for real.

    python benchmarks/bench_dedup.py
    python benchmarks/bench_dedup.py --rows 5000000 50000000 --modes seenids exact
    python benchmarks/bench_dedup.py --rows 50000000 --memory-budget 64MiB --id-bytes 64
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

__all__ = ["expected_duplicates", "id_batch", "main"]

BATCH = 262_144
MODES = ("seenids", "exact", "exact-memory", "exchange")
#: Rows per partition in ``exchange`` mode: a 128 MB partition of compact Parquet.
PARTITION_ROWS = 4_000_000


def _planted(rows: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Which rows repeat an earlier id (retries, a re-sent file), and the row they repeat."""
    retry = rows % 200 == 199
    resent = (rows % 1000 == 500) & (rows >= total // 2)
    repeat = retry | resent
    source = rows.copy()
    source[retry] = rows[retry] - 1 - (rows[retry] // 200 * 7919) % 5000
    half = max(1, total // 2)
    source[resent] = (rows[resent] * 2654435761) % half
    source = np.maximum(source, 0)
    # A source is an original row: step back past rows that are repeats themselves.
    for _ in range(3):
        again = (source % 200 == 199) | ((source % 1000 == 500) & (source >= total // 2))
        source[again & repeat] -= 1
    return repeat, source


def expected_duplicates(total: int) -> int:
    """Rows planted as repeats of an earlier id."""
    count = 0
    for lo in range(0, total, BATCH):
        rows = np.arange(lo, min(total, lo + BATCH), dtype=np.int64)
        count += int(_planted(rows, total)[0].sum())
    return count


def id_batch(lo: int, total: int, id_bytes: int) -> tuple[pa.Array, np.ndarray]:
    """Rows ``lo …`` of the log: their ids (built straight into Arrow buffers) and model."""
    rows = np.arange(lo, min(total, lo + BATCH), dtype=np.int64)
    repeat, source = _planted(rows, total)
    number = np.where(repeat, source, rows)
    n = len(rows)
    if id_bytes == 16:
        matrix = np.empty((n, 16), np.uint8)
        matrix[:, 0] = ord("p")
        rest = number.copy()
        for col in range(15, 0, -1):
            matrix[:, col] = ord("0") + rest % 10
            rest //= 10
    else:
        prefix = np.frombuffer(b"tenant-0000/2026-11-21/req-", np.uint8)
        matrix = np.empty((n, 64), np.uint8)
        matrix[:, : len(prefix)] = prefix
        tenant = number % 97
        for col, div in ((10, 1), (9, 10)):
            matrix[:, col] = ord("0") + tenant // div % 10
        mixed = (number.astype(np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        hexdigits = np.frombuffer(b"0123456789abcdef", np.uint8)
        for col in range(len(prefix), 64):
            shift = np.uint64(4 * ((col - len(prefix)) % 16))
            matrix[:, col] = hexdigits[((mixed >> shift) & np.uint64(15)).astype(np.intp)]
            if (col - len(prefix)) % 16 == 15:
                mixed = (mixed ^ (mixed >> np.uint64(29))) * np.uint64(0xBF58476D1CE4E5B9)
    offsets = np.arange(0, (n + 1) * matrix.shape[1], matrix.shape[1], dtype=np.int32)
    ids = pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(matrix.tobytes())]
    )
    return ids, (number % 3).astype(np.int32)


# --------------------------------------------------------------------------- the child


def child(mode: str, total: int, id_bytes: int, budget: int, spill: str) -> dict[str, Any]:
    """Run one mode over ``total`` rows; the result as a dict."""
    import pyarrow.compute as pc

    from monitor.ingest.dedup import SeenIds, hash_ids
    from monitor.ingest.dedup_exact import ExactSeen

    # Arrow's compute kernels initialise on first use (~0.2 s); ingest has paid that
    # already by the time it de-duplicates, so every mode starts warm.
    pc.equal(pa.array([b"x"]), pa.array([b"x"]))
    salts = np.arange(3, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    seen: Any = None
    if mode == "seenids":
        seen = SeenIds()
    elif mode == "exact":
        seen = ExactSeen(memory_budget=budget, spill_dir=spill)
    elif mode == "exact-memory":
        seen = ExactSeen(memory_budget=1 << 40, spill_dir=spill)
    if mode == "exchange":
        return _exchange(total, budget, spill)
    duplicates = 0
    wall = cpu = 0.0
    for lo in range(0, total, BATCH):
        ids, model = id_batch(lo, total, id_bytes)
        if seen is None:  # baseline: generate only
            continue
        w, c = time.perf_counter(), time.process_time()
        if mode == "seenids":
            found = seen.add(hash_ids(ids) ^ salts[model])
        else:
            found = seen.add(ids, model)
        wall += time.perf_counter() - w
        cpu += time.process_time() - c
        duplicates += int(np.count_nonzero(found))
    result: dict[str, Any] = {
        "wall": wall,
        "cpu": cpu,
        "duplicates": duplicates,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if isinstance(seen, ExactSeen):
        s = seen.stats
        result.update(
            spills=s.spills,
            merges=s.merges,
            candidates=s.candidates,
            written_mb=s.bytes_written / 2**20,
            disk_mb=s.peak_disk_bytes / 2**20,
            state_mb=s.peak_state_bytes / 2**20,
        )
        seen.close()
    return result


def _exchange(total: int, budget: int, spill: str) -> dict[str, Any]:
    """Phase 1 of the Dask engine per partition (de-duplicate, keep the keys), then the
    exchange that finds the partitions repeating earlier ones, all in this process."""
    from monitor.engines.dedup_partitions import claimants, keep_keys, load_range, range_count
    from monitor.ingest.dedup_exact import ExactSeen
    from monitor.ingest.keyed_hash import new_key

    key = new_key()
    folder = Path(tempfile.mkdtemp(dir=spill, prefix="bench-exchange-"))
    parts = []
    dedup = keep = 0.0
    for index, first in enumerate(range(0, total, PARTITION_ROWS)):
        with ExactSeen(memory_budget=budget, spill_dir=spill, key=key) as seen:
            for lo in range(first, min(total, first + PARTITION_ROWS), BATCH):
                ids, model = id_batch(lo, total, 16)
                c = time.process_time()
                seen.add(ids, model)
                dedup += time.process_time() - c
            c = time.process_time()
            parts.append(keep_keys(index, seen, folder))
            keep += time.process_time() - c
    ranges = range_count(total, 1, budget)
    w, c = time.perf_counter(), time.process_time()
    found: dict[int, set[int]] = {}
    for r in range(ranges):
        for index, earlier in claimants(*(load_range(p, r, ranges) for p in parts)).items():
            found.setdefault(index, set()).update(earlier)
    wall, exchange = time.perf_counter() - w, time.process_time() - c
    for part in parts:
        os.unlink(part.path)
    folder.rmdir()
    return {
        "wall": wall,
        "cpu": dedup + keep + exchange,
        "duplicates": -1,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "detail": (
            f"{len(parts)} partitions, {ranges} ranges; CPU per key: phase-1 dedup "
            f"{dedup / total * 1e9:.0f} ns, keeping the keys {keep / total * 1e9:.0f} ns, "
            f"exchange {exchange / total * 1e9:.0f} ns; {len(found)} partitions repeat"
            f" earlier ones; {8 * total / 2**20:,.0f} MB of key files (rows/s: exchange only)"
        ),
    }


def run_child(mode: str, total: int, args: argparse.Namespace) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            "--rows",
            str(total),
            "--id-bytes",
            str(args.id_bytes),
            "--memory-budget",
            str(args.memory_budget),
            "--spill-dir",
            str(args.spill_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[5_000_000, 50_000_000])
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES[:3]))
    parser.add_argument("--id-bytes", type=int, choices=(16, 64), default=16)
    parser.add_argument(
        "--memory-budget", default="256MiB", help="ExactSeen's budget (default 256MiB)"
    )
    parser.add_argument(
        "--spill-dir", type=Path, default=Path(tempfile.gettempdir()), help="where it spills"
    )
    parser.add_argument("--child", choices=(*MODES, "baseline"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    from monitor.ingest.dedup_exact import parse_memory_budget

    budget = parse_memory_budget(args.memory_budget)
    if args.child:
        result = child(args.child, args.rows[0], args.id_bytes, budget, str(args.spill_dir))
        print(json.dumps(result))
        return
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; load average {load}"
    )
    print(
        f"ids of {args.id_bytes} bytes, batches of {BATCH:,} rows, ExactSeen budget "
        f"{args.memory_budget} ({budget:,} bytes), spilling under {args.spill_dir}"
    )
    header = (
        f"{'rows':>12} {'mode':<13} {'rows/s':>11} {'CPU ns/row':>10} {'peak RSS':>9}"
        f" {'baseline':>9} {'dedup RSS':>9}  detail"
    )
    print(header)
    for total in args.rows:
        expected = expected_duplicates(total)
        baseline = run_child("baseline", total, args)["rss_mb"]
        for mode in args.modes:
            r = run_child(mode, total, args)
            if mode == "exchange":
                print(
                    f"{total:>12,} {mode:<13} {total / r['wall']:>11,.0f} "
                    f"{r['cpu'] / total * 1e9:>10.0f} {r['rss_mb']:>6.0f} MB {baseline:>6.0f} MB"
                    f" {r['rss_mb'] - baseline:>6.0f} MB  {r['detail']}",
                    flush=True,
                )
                continue
            if r["duplicates"] != expected:
                raise SystemExit(
                    f"{mode} at {total:,} rows found {r['duplicates']:,} duplicates, "
                    f"{expected:,} planted"
                )
            detail = f"{r['duplicates']:,} duplicates (all planted)"
            if "spills" in r:
                detail += (
                    f"; state {r['state_mb']:.0f} MB, {r['spills']} spills, {r['merges']} merges,"
                    f" {r['written_mb']:,.0f} MB written, {r['disk_mb']:,.0f} MB on disk at"
                    f" most, {r['candidates']:,} candidates"
                )
            print(
                f"{total:>12,} {mode:<13} {total / r['wall']:>11,.0f} "
                f"{r['cpu'] / total * 1e9:>10.0f} {r['rss_mb']:>6.0f} MB {baseline:>6.0f} MB"
                f" {r['rss_mb'] - baseline:>6.0f} MB  {detail}",
                flush=True,
            )
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
