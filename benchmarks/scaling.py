"""Rows per second and peak memory as the logs grow: local engine and Dask (issue #8).

For each size N (default 1M, 10M; 50M on request) the script writes N rows of a
three-model log to Parquet under ``--data`` (default ``/tmp/mh-scaling``), as files of
half a million rows (``rows-N/part-0000.parquet`` …), once: later runs reuse them. Then it
runs the nightly check without drift (ingest, aggregates, metrics, judgement, failure
modes, ``report.json``; drift works on bounded samples and costs the same at any N)
in a fresh interpreter per run:

* **local**: ``run_check`` with the local engine; peak RSS is the process's
  ``ru_maxrss``.
* **dask**: a ``distributed.LocalCluster`` of 2 worker processes × 1 thread, started
  and warmed (workers import ``monitor``) before the clock (that start-up time is
  printed apart), then ``run_check`` with the
  Dask engine. Peak RSS is the client's ``ru_maxrss`` plus the largest worker's
  (each worker reports its own ``ru_maxrss``; workers are fresh for every run).

Memory that stays flat as N grows is the point: summaries are bounded; only the
duplicate check's id hashes (8 bytes per in-window row) grow with N.

    python benchmarks/scaling.py --rows 1000000 10000000 50000000
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
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modelhealth.demo.bulk import fast_table  # noqa: E402
from modelhealth.demo.simulate import PARQUET_OPTIONS  # noqa: E402

__all__ = ["generate", "main"]

NIGHT = date(2026, 11, 21)
#: Rows span the night and the 28 days before it, like a month of logs.
START = datetime(2026, 10, 25, tzinfo=timezone.utc)
SPAN = timedelta(days=28)
FILE_ROWS = 500_000

REGISTER = textwrap.dedent(
    """\
    name: scaling
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


def generate(rows: int, data: Path) -> Path:
    """N rows over 28 days as Parquet files of 500k rows each; reused when present."""
    folder = data / f"rows-{rows}"
    done = folder / "_COMPLETE"  # "_" names are skipped by ingest
    if done.exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for k, first in enumerate(range(0, rows, FILE_ROWS)):
        n = min(FILE_ROWS, rows - first)
        table = fast_table(
            n,
            n_models=3,
            seed=first,
            start=START + SPAN * (first / rows),
            span=SPAN * (n / rows),
            first_id=first,
        )
        pq.write_table(
            table, folder / f"part-{k:04d}.parquet", row_group_size=262_144, **PARQUET_OPTIONS
        )
    done.write_text(f"{rows}\n")
    return folder


# --------------------------------------------------------------------------- the children


def _check(logs: Path, register: Path, engine: Any) -> tuple[float, int]:
    from monitor.check import CheckOptions, run_check
    from thresholds.loader import load_register

    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        options = CheckOptions(
            logs=[logs],
            as_of=NIGHT,
            out_dir=Path(out),
            now=datetime.now(timezone.utc),
            drift=False,
            drift_html=False,
        )
        report = run_check(load_register(register), options, engine=engine)
        return time.perf_counter() - t0, report.ingest.rows_read


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, logs: Path, register: Path) -> None:
    """Run one check and print its result as JSON on the last line."""
    if kind == "local":
        seconds, rows = _check(logs, register, None)
        print(json.dumps({"seconds": seconds, "rows": rows, "rss_mb": _peak_rss_mb()}))
        return
    import importlib
    import logging

    from distributed import Client, LocalCluster

    from monitor.engines.dask import DaskEngine

    t0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": ":0"},
            silence_logs=logging.ERROR,
        ) as cluster,
        Client(cluster) as client,
    ):
        # Workers import the check's modules once; a long-lived cluster pays this once.
        client.run(importlib.import_module, "monitor.engines.dask")
        startup = time.perf_counter() - t0
        seconds, rows = _check(logs, register, DaskEngine(client=client))
        workers = client.run(_peak_rss_mb)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "rows": rows,
                "startup": startup,
                "rss_mb": _peak_rss_mb(),
                "worker_rss_mb": max(workers.values()),
            }
        )
    )


def run_child(kind: str, logs: Path, register: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(logs), str(register)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "mh-scaling")
    parser.add_argument(
        "--engines", nargs="+", default=["local", "dask"], choices=["local", "dask"]
    )
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs")
    parser.add_argument(
        "--child", nargs=3, metavar=("KIND", "LOGS", "REGISTER"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.child:
        kind, logs, register = args.child
        child(kind, Path(logs), Path(register))
        return
    args.data.mkdir(parents=True, exist_ok=True)
    register = args.data / "register.yaml"
    register.write_text(REGISTER)
    print(f"machine: {machine()}")
    print(
        "check without drift; dask = LocalCluster, 2 workers x 1 thread, started before the "
        "clock; dask peak RSS = client + largest worker"
    )
    print(f"{'rows':>12} {'engine':>7} {'seconds':>8} {'rows/s':>11} {'peak RSS MB':>12}  detail")
    for rows in args.rows:
        t0 = time.perf_counter()
        logs = generate(rows, args.data)
        made = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in logs.glob("*.parquet")) / 2**20
        print(
            f"{rows:>12,} {'':>7} data: {size:,.0f} MB on disk"
            + (f", generated in {made:.0f} s" if made > 1 else ", reused"),
            flush=True,
        )
        for engine in args.engines:
            runs = [run_child(engine, logs, register) for _ in range(args.repeat)]
            best = min(runs, key=lambda r: float(r["seconds"]))
            assert best["rows"] == rows, best
            if engine == "local":
                rss, detail = best["rss_mb"], ""
            else:
                rss = best["rss_mb"] + best["worker_rss_mb"]
                detail = (
                    f"client {best['rss_mb']:.0f} MB + worker {best['worker_rss_mb']:.0f}"
                    f" MB; cluster start {best['startup']:.1f} s"
                )
            print(
                f"{rows:>12,} {engine:>7} {best['seconds']:>8.2f} "
                f"{rows / best['seconds']:>11,.0f} {rss:>12.0f}  {detail}",
                flush=True,
            )
    print(f"machine after the runs: {machine()}")


if __name__ == "__main__":
    main()
