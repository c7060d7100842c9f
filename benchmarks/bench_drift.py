"""Drift over every row: mergeable summaries vs Evidently on the same full windows (#21).

One model's inputs: 30 numeric features (normal, log-normal, heavy-tailed, gamma, amounts
rounded to cents, epoch seconds, small integer counts, binary flags; a third of them
shifted in the current window) and 5 categorical ones (4 plans, 3 devices, 12
channels, 300 countries, 5 000 products), N rows in the reference window and N in the
current one. The data is generated chunk by chunk from fixed seeds, so both sides see
the same values. Each side runs in a fresh interpreter (its own peak memory):

* **native**: the nightly check's own fold (``monitor.stats.drift_fold.DriftFold``, what
  ``WindowAggregate.drift`` runs) folds the chunks as the nightly pass does (reference and
  current chunks interleaved, 131 072 rows each), then
  ``monitor.stats.drift_methods.window_drift`` computes Evidently's default test per column
  (what ``monitor.drift.compute_drift`` reports);
* **Evidently**: the same chunks concatenated into two pandas frames (its model: data
  in memory), one ``Report`` with a ``ValueDrift`` per column (what ``monitor.drift``
  runs), results materialised with ``snapshot.dict()``.

Times exclude imports and data generation (the native side's clock runs only inside
``update`` and the comparison). Peak RSS is the child's ``ru_maxrss``, imports and data
included; "base" is the RSS after imports, before any data. Printed: rows/s (both
windows' rows), wall time, peak RSS, and the agreement: methods and verdicts equal on
every column, the largest difference of a distance and of a p-value, and whether every
Evidently score lies inside the interval the summaries guarantee.

    python benchmarks/bench_drift.py                 # N = 1 000 000 per window
    python benchmarks/bench_drift.py --rows 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from compare_evidently import machine  # noqa: E402  # the same machine line as the others

__all__ = ["chunks", "main"]

CHUNK = 131_072
N_NUMERIC = 30
PLANS = np.array(["free", "pro", "team", "enterprise"], dtype=object)
DEVICES = np.array(["ios", "android", "web"], dtype=object)
CHANNELS = np.array([f"channel-{i:02d}" for i in range(12)], dtype=object)
COUNTRIES = np.array([f"country-{i:03d}" for i in range(300)], dtype=object)
PRODUCTS = np.array([f"sku-{i:05d}" for i in range(5_000)], dtype=object)


def _numeric(j: int, n: int, rng: np.random.Generator, shifted: bool) -> np.ndarray:
    """Feature ``j``: one of eight shapes; features with j % 3 == 0 shift when ``shifted``."""
    s = 0.25 if shifted and j % 3 == 0 else 0.0
    kind = j % 8
    if kind == 0:
        return rng.normal(50.0 + 10.0 * s, 10.0, n)
    if kind == 1:
        return rng.lognormal(3.0 + s, 0.8, n)
    if kind == 2:
        return rng.standard_t(2.0, n) * 5.0 + s * 5.0
    if kind == 3:
        return rng.gamma(2.0 + s, 12.0, n)
    if kind == 4:
        return np.round(rng.gamma(3.0, 20.0 * (1 + s), n), 2)  # amounts: many ties
    if kind == 5:
        return 1.7e9 + rng.uniform(0.0, 86_400.0 * (1 + s), n)  # epoch seconds
    if kind == 6:
        return rng.poisson(1.2 + s, n).astype(np.float64)  # small counts
    return (rng.random(n) < 0.2 + s / 5).astype(np.float64)  # a flag: two values


def chunks(rows: int, *, current: bool) -> Iterator[dict[str, np.ndarray]]:
    """One window's columns in chunks of :data:`CHUNK` rows, the same on every call."""
    for index, start in enumerate(range(0, rows, CHUNK)):
        n = min(CHUNK, rows - start)
        rng = np.random.default_rng([int(current), index])
        columns = {f"feature.num_{j:02d}": _numeric(j, n, rng, current) for j in range(N_NUMERIC)}
        plan_p = [0.3, 0.3, 0.25, 0.15] if current else [0.4, 0.3, 0.2, 0.1]
        columns["feature.plan"] = rng.choice(PLANS, n, p=plan_p)
        columns["feature.device"] = rng.choice(DEVICES, n)
        columns["feature.channel"] = CHANNELS[rng.integers(0, 12, n)]
        columns["feature.country"] = COUNTRIES[np.minimum(rng.zipf(1.6, n), 300) - 1]
        columns["feature.product"] = PRODUCTS[np.minimum(rng.zipf(1.2, n), 5_000) - 1]
        yield columns


# --------------------------------------------------------------------------- the children


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _chunk(columns: dict[str, np.ndarray]) -> Any:
    """The columns as the chunk ingest hands to the aggregates (features unprefixed)."""
    from monitor.chunk import ModelChunk

    n = len(next(iter(columns.values())))
    nothing = np.zeros(n, dtype=np.int64)
    return ModelChunk(
        model_id="bench",
        id_hash=nothing.view(np.uint64),
        timestamp_ns=nothing,
        confidence=np.full(n, np.nan),
        latency_ms=np.full(n, np.nan),
        error=None,
        correct=None,
        quality_score=None,
        output_type=None,
        failure_mode=None,
        format_valid=None,
        segment=None,
        prediction=None,
        features={name.removeprefix("feature."): values for name, values in columns.items()},
    )


def _native(rows: int) -> dict[str, Any]:
    from monitor.stats.drift_fold import DriftFold
    from monitor.stats.drift_methods import ColumnDrift, window_drift

    base = _rss_mb()
    # the nightly check's own fold (WindowAggregate.drift), every feature kept
    folds = {True: DriftFold(max_features=100), False: DriftFold(max_features=100)}
    streams = {flag: chunks(rows, current=flag) for flag in folds}
    seconds = cpu = 0.0
    pending = set(streams)
    while pending:  # interleaved, as ingest reads the two windows
        for flag in sorted(pending):
            chunk = next(streams[flag], None)
            if chunk is None:
                pending.discard(flag)
                continue
            batch = _chunk(chunk)
            t0, c0 = time.perf_counter(), time.process_time()
            folds[flag].update(batch)
            seconds += time.perf_counter() - t0
            cpu += time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    features = [c for c in folds[True].distributions.columns if c != "confidence"]
    results = window_drift(folds[True].distributions, folds[False].distributions, columns=features)
    compare_seconds = time.perf_counter() - t0
    cpu += time.process_time() - c0
    columns = {}
    for name, r in results.items():
        assert isinstance(r, ColumnDrift), r
        columns[name] = {
            "method": r.method.display_name,
            "score": r.statistic,
            "low": r.statistic_low,
            "high": r.statistic_high,
            "drifted": r.drifted,
            "p_value": r.method.p_value,
        }
    return {
        "seconds": seconds + compare_seconds,
        "cpu_seconds": cpu,
        "compare_seconds": compare_seconds,
        "summary_mb": sum(f.nbytes for f in folds.values()) / 2**20,
        "base_mb": base,
        "columns": columns,
    }


def _evidently(rows: int) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")  # Evidently's own deprecation noise
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    base = _rss_mb()
    frames = {
        flag: pd.concat([pd.DataFrame(c) for c in chunks(rows, current=flag)], ignore_index=True)
        for flag in (True, False)
    }
    numeric = [c for c in frames[True].columns if frames[True][c].dtype.kind == "f"]
    definition = DataDefinition(
        numerical_columns=numeric,
        categorical_columns=[c for c in frames[True].columns if c not in numeric],
    )
    t0, c0 = time.perf_counter(), time.process_time()
    report = Report([ValueDrift(column=c) for c in frames[True].columns], include_tests=True)
    snapshot = report.run(
        Dataset.from_pandas(frames[True], data_definition=definition),
        Dataset.from_pandas(frames[False], data_definition=definition),
    )
    data = snapshot.dict()
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - c0
    failed = {
        t["metric_config"]["metric_id"]: str(t["status"]).upper().endswith("FAIL")
        for t in data["tests"]
    }
    columns = {
        m["config"]["column"]: {
            "method": m["config"]["method"],
            "score": float(m["value"]),
            "drifted": failed[m["id"]],
        }
        for m in data["metrics"]
    }
    return {"seconds": seconds, "cpu_seconds": cpu, "base_mb": base, "columns": columns}


def child(kind: str, rows: int) -> None:
    """Run one side and print its result as JSON (with peak RSS) on the last line."""
    result = _native(rows) if kind == "native" else _evidently(rows)
    result["rss_mb"] = _rss_mb()
    print(json.dumps(result))


def run_child(kind: str, rows: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(rows)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# ----------------------------------------------------------------------------- report


def agreement(native: dict[str, Any], evidently: dict[str, Any]) -> str:
    """Methods, verdicts, largest differences and bound coverage over every column."""
    ours, theirs = native["columns"], evidently["columns"]
    assert set(ours) == set(theirs), (sorted(ours), sorted(theirs))
    methods = verdicts = inside = exact = 0
    distances: list[tuple[float, str, float]] = []  # difference, column, half-width
    p_values: list[float] = []
    for name, mine in ours.items():
        other = theirs[name]
        methods += mine["method"] == other["method"]
        verdicts += mine["drifted"] == other["drifted"]
        exact += mine["low"] == mine["high"]
        slack = 1e-9 * max(1.0, abs(other["score"]))
        inside += mine["low"] - slack <= other["score"] <= mine["high"] + slack
        diff = abs(mine["score"] - other["score"])
        if mine["p_value"]:
            p_values.append(diff)
        else:
            distances.append((diff, name, (mine["high"] - mine["low"]) / 2))
    parts = []
    if distances:
        diff, name, _ = max(distances)
        widest = max(half for _, _, half in distances)
        parts.append(
            f"distance {diff:.2e} ({name}), widest guaranteed distance interval ±{widest:.2e}"
        )
    if p_values:
        parts.append(f"p-value {max(p_values):.2e}")
    return (
        f"agreement on {len(ours)} columns: methods {methods}, verdicts {verdicts}, "
        f"Evidently's score inside the guaranteed interval {inside}, exact {exact}; "
        f"largest difference: {'; '.join(parts)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[1_000_000], help="rows in EACH window"
    )
    parser.add_argument(
        "--evidently-max-rows",
        type=int,
        default=2_000_000,
        help="run Evidently only up to this many rows per window (it holds both windows "
        "in pandas: about 5 GB at 2 000 000); native only above (default: %(default)s)",
    )
    parser.add_argument("--child", nargs=2, metavar=("KIND", "ROWS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    print(f"machine: {machine()}")
    print(
        f"{N_NUMERIC} numeric + 5 categorical features; rows/s counts both windows' rows; "
        "times after imports and without data generation; CPU s is the process's CPU time "
        "(all threads), a check on the wall time of a loaded machine"
    )
    print(
        f"{'rows/window':>12} {'side':>9} {'seconds':>8} {'CPU s':>7} {'rows/s':>12} "
        f"{'peak MB':>8} {'base MB':>8}"
    )
    for rows in args.rows:
        sides = {"native": run_child("native", rows)}
        if rows <= args.evidently_max_rows:
            sides["evidently"] = run_child("evidently", rows)
        for name, side in sides.items():
            print(
                f"{rows:>12,} {name:>9} {side['seconds']:>8.2f} {side['cpu_seconds']:>7.2f} "
                f"{2 * rows / side['seconds']:>12,.0f} {side['rss_mb']:>8.0f} "
                f"{side['base_mb']:>8.0f}",
                flush=True,
            )
        native = sides["native"]
        evidently = sides.get("evidently")
        if evidently is None:
            print(f"{'':>12} Evidently not run above --evidently-max-rows", flush=True)
            continue
        print(
            f"{'':>12} native is {evidently['seconds'] / native['seconds']:.0f}x faster "
            f"(of its {native['seconds']:.2f} s, {native['compare_seconds']:.2f} s computing "
            f"the statistics from the merged summaries); the summaries of both windows "
            f"hold {native['summary_mb']:.1f} MB"
        )
        print(f"{'':>12} {agreement(native, evidently)}", flush=True)
    print(f"machine after the runs: {machine()}")


if __name__ == "__main__":
    main()
