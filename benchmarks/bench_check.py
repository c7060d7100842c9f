"""End-to-end speed and memory of the nightly check (issue #3's benchmark).

Generates N rows of a three-model log to Parquet on disk (outside the timed part),
then runs the check in a fresh process — ingest, aggregates, metrics, judgement,
failure modes, report.json — and prints rows/s and the child's peak RSS.
Drift (Evidently on bounded samples) is timed separately because its cost does not
grow with N.

    python benchmarks/bench_check.py --rows 1000000 10000000
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
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modelhealth.demo.bulk import fast_table  # noqa: E402
from modelhealth.demo.simulate import PARQUET_OPTIONS  # noqa: E402

NIGHT = "2026-11-21"
#: Rows span the night and the 28 days before it, like a month of logs.
START = datetime(2026, 10, 25, tzinfo=timezone.utc)
SPAN = timedelta(days=28)
CHUNK = 2_000_000

REGISTER = textwrap.dedent(
    """\
    name: benchmark
    defaults:
      owner: bench
      windows: {current: 1d, reference: 28d}
      thresholds:
        quality: {metric: accuracy, min: 0.7}
        error_rate: {max: 0.05}
        latency_ms: {p50: 2000, p95: 5000, p99: 9000}
    models:
      - id: model-00
      - id: model-01
      - id: model-02
    """
)


def generate(rows: int, folder: Path) -> Path:
    """N rows over 28 days in one Parquet file (row groups of 256k), not timed."""
    path = folder / f"logs-{rows}.parquet"
    if path.exists():
        return path
    writer = None
    for first in range(0, rows, CHUNK):
        n = min(CHUNK, rows - first)
        table = fast_table(n, n_models=3, seed=first, start=START, span=SPAN, first_id=first)
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, **PARQUET_OPTIONS)
        writer.write_table(table, row_group_size=262_144)
    assert writer is not None
    writer.close()
    return path


CHILD = textwrap.dedent(
    """\
    import json, resource, sys, time
    from datetime import date, datetime, timezone
    from pathlib import Path
    from monitor.check import CheckOptions, run_check
    from thresholds.loader import load_register
    loaded = load_register(sys.argv[1])
    options = CheckOptions(logs=[Path(sys.argv[2])], as_of=date.fromisoformat(sys.argv[3]),
                           out_dir=Path(sys.argv[4]), now=datetime.now(timezone.utc),
                           drift=sys.argv[5] == "drift", drift_html=False)
    t0 = time.perf_counter()
    report = run_check(loaded, options)
    seconds = time.perf_counter() - t0
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": seconds, "rows": report.ingest.rows_read, "rss_mb": rss_kb / 1024,
                      "statuses": [m.status for m in report.models]}))
    """
)


def run_child(register: Path, logs: Path, out: Path, *, drift: bool) -> dict[str, float]:
    """Run the check in a fresh interpreter so peak RSS is the check's own."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(register),
            str(logs),
            NIGHT,
            str(out),
            "drift" if drift else "nodrift",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def baseline_rss_mb() -> float:
    """Peak RSS of an interpreter that only imports the check (the fixed cost)."""
    code = (
        "import resource, monitor.check, thresholds.loader; "
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return float(done.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "mh-bench")
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    register = args.data / "register.yaml"
    register.write_text(REGISTER)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {platform.platform()}"
    )
    print(f"baseline RSS (imports only): {baseline_rss_mb():.0f} MB")
    print(f"{'rows':>12} {'seconds':>9} {'rows/s':>12} {'peak RSS MB':>12}  (check without drift)")
    for rows in args.rows:
        t0 = time.perf_counter()
        logs = generate(rows, args.data)
        generated = time.perf_counter() - t0
        best = None
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as out:
                result = run_child(register, logs, Path(out), drift=False)
            if best is None or result["seconds"] < best["seconds"]:
                best = result
        assert best is not None and best["rows"] == rows, best
        print(
            f"{rows:>12,} {best['seconds']:>9.2f} {rows / best['seconds']:>12,.0f} "
            f"{best['rss_mb']:>12.0f}  (data generated in {generated:.1f} s)"
        )
    with tempfile.TemporaryDirectory() as out:
        small = generate(args.rows[0], args.data)
        plain = run_child(register, small, Path(out), drift=False)
        drifted = run_child(register, small, Path(out), drift=True)
    extra = drifted["seconds"] - plain["seconds"]
    print(
        f"drift (Evidently on bounded samples, 3 models): +{extra:.2f} s"
        f" at {args.rows[0]:,} rows; peak RSS {drifted['rss_mb']:.0f} MB"
    )
    print(
        f"this process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
