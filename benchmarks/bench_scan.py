"""The physical-limit reference: a raw pyarrow scan with the core statistics (issue #21).

What any tool must at least do to check a night: read the columns the check reads from
Parquet (its own ingest plan names them) and compute, per model and window (the night,
the seven days before), the row count, the error rate, exact latency p50/p95/p99, mean
confidence and accuracy. No validation, no quarantine, no de-duplication, no
calibration, no judgement: Arrow's multi-threaded reader, record batch by record
batch, and NumPy, nothing else.

``scan(logs)`` is what the child process runs; :func:`timed_scan` runs it in a fresh
interpreter and returns the whole process's wall time (interpreter start and pyarrow's
import included, as for ``modelhealth check``) and its peak RSS.

    python benchmarks/bench_scan.py --rows 4500000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

__all__ = ["check_columns", "scan", "timed_scan"]


def check_columns(logs: Path) -> list[str]:
    """The columns ``modelhealth check --no-drift`` reads from ``logs`` (its ingest plan
    for the realistic register: the contract's columns, no features)."""
    import pyarrow.parquet as pq
    from realistic_logs import NIGHT, REGISTER

    from monitor.check import _without_drift, plan_windows
    from monitor.ingest.plan import IngestPlan
    from thresholds.loader import load_register

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "register.yaml"
        path.write_text(REGISTER)
        register = _without_drift(load_register(path).register)
    plan = IngestPlan(register, plan_windows(register, NIGHT))
    return plan.selection.wanted(pq.read_schema(logs).names)


def scan(logs: Path, columns: list[str], night_start_ms: int, reference_start_ms: int) -> Any:
    """Stream the columns batch by batch; core statistics per (model, window).

    Streaming (not ``read_table``) because it is the faster of the two here and holds a
    quarter of the memory: the reference should be the best a plain scan can do.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    models: dict[str, int] = {}
    slots = 16  # (model, window) groups; the last one collects rows before the reference
    n, errors, conf_sum, conf_n, right, labeled = (np.zeros(slots) for _ in range(6))
    latency: list[list[Any]] = [[] for _ in range(slots)]
    parquet = pq.ParquetFile(logs, read_dictionary=["model_id"], pre_buffer=False)
    for batch in parquet.iter_batches(batch_size=262_144, columns=columns, use_threads=True):
        model = batch.column("model_id")
        codes = np.array([models.setdefault(m, len(models)) for m in model.dictionary.to_pylist()])
        ts = batch.column("timestamp").cast(pa.int64()).to_numpy()
        group = codes[model.indices.to_numpy()] * 2 + (ts >= night_start_ms)
        group[ts < reference_start_ms] = slots - 1
        n += np.bincount(group, minlength=slots)
        errors += np.bincount(group, weights=batch.column("error").to_numpy(False), minlength=slots)
        c = batch.column("confidence").to_numpy(zero_copy_only=False)
        has = ~np.isnan(c)
        conf_sum += np.bincount(group[has], weights=c[has], minlength=slots)
        conf_n += np.bincount(group[has], minlength=slots)
        correct = batch.column("correct")
        known = pc.is_valid(correct).to_numpy(zero_copy_only=False)
        ok = pc.fill_null(correct, False).to_numpy(zero_copy_only=False)
        right += np.bincount(group, weights=ok & known, minlength=slots)
        labeled += np.bincount(group, weights=known, minlength=slots)
        lat = batch.column("latency_ms").to_numpy(zero_copy_only=False)
        timed = ~np.isnan(lat)
        for g in np.unique(group).tolist():
            latency[g].append(lat[(group == g) & timed])
    out = []
    for name, code in models.items():
        for current in (0, 1):
            g = code * 2 + current
            if n[g]:
                p50, p95, p99 = np.percentile(np.concatenate(latency[g]), [50, 95, 99])
                out.append(
                    {
                        "model": name,
                        "current": bool(current),
                        "rows": int(n[g]),
                        "error_rate": errors[g] / n[g],
                        "mean_confidence": conf_sum[g] / max(conf_n[g], 1),
                        "accuracy": right[g] / max(labeled[g], 1),
                        "latency_p50_p95_p99": [p50, p95, p99],
                    }
                )
    return out


def _child(argv: list[str]) -> None:
    t0 = time.perf_counter()
    rows = scan(Path(argv[0]), argv[1].split(","), int(argv[2]), int(argv[3]))
    print(
        json.dumps(
            {
                "inside_seconds": time.perf_counter() - t0,
                "groups": len(rows),
                "rows": sum(r["rows"] for r in rows),
                "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def timed_scan(logs: Path) -> dict[str, Any]:
    """The scan in a fresh interpreter: whole-process wall time and peak RSS."""
    from realistic_logs import NIGHT_START, REFERENCE_START

    t0 = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            str(logs),
            ",".join(check_columns(logs)),
            str(int(NIGHT_START.timestamp() * 1000)),
            str(int(REFERENCE_START.timestamp() * 1000)),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - t0
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["seconds"] = seconds
    return result


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[4_500_000])
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "mh-bench")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(args.child)
        return 0
    from realistic_logs import generate

    print(f"{'rows':>12} {'seconds':>8} {'rows/s':>12} {'peak RSS MB':>12}  (whole process)")
    for rows in args.rows:
        logs = generate(rows, args.data)
        result = timed_scan(logs)
        assert result["rows"] == rows, result
        print(
            f"{rows:>12,} {result['seconds']:>8.2f} {rows / result['seconds']:>12,.0f} "
            f"{result['rss_mb']:>12.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
