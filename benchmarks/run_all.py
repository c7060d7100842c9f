"""Every benchmark, at sizes that take about 30 minutes on two quiet cores (``make benchmarks``).

1. ``bench_e2e.py``: in one run, on realistic logs (4.5 M rows, UUID ids, 34 features),
   the whole-process time of the check with and without drift, of a raw pyarrow scan
   (``bench_scan.py``) and of Evidently's presets, and their ratios; then rows/s of the
   check on 50 M rows of the simulator's compact logs;
2. ``bench_check.py``: the local engine end to end, rows/s and peak RSS;
3. ``compare_evidently.py``: Evidently's classification and drift reports vs
   ``modelhealth check`` on the same logs, time ratio and both peak RSS;
4. ``scaling.py``: rows/s and peak RSS as the logs grow, local engine and Dask;
5. ``bench_drift.py``: drift over every row from mergeable summaries vs Evidently on
   the same full windows (35 features), time, peak RSS and agreement.
6. ``bench_tick.py``: a tick of the ladder's clocks with N open steps, idle and with N
   reminders, and the outbox's messages/s (``--rows`` is N there).
7. ``bench_memory.py``: whole-process peak RSS of ``modelhealth check`` at 5 M and 50 M
   rows under the default ``--memory-budget`` (memory flat in the rows), and rows/s.
8. ``bench_imports.py``: what the check imports before and after reading, in fresh
   interpreters (``--rows`` is the number of interpreters per line there).

``--rows`` replaces every script's default sizes; other options go to the scripts
unchanged. Generated data is kept under the system temp folder and reused. The load
average is printed before each script: benchmark on a quiet machine.

    python benchmarks/run_all.py
    python benchmarks/run_all.py --rows 1000000 10000000 50000000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["DEFAULT_ROWS", "main"]

HERE = Path(__file__).resolve().parent

#: Each script and its rows for ``make benchmarks``.
DEFAULT_ROWS: dict[str, list[int]] = {
    "bench_e2e.py": [4_500_000],
    "bench_check.py": [1_000_000],
    "compare_evidently.py": [100_000, 1_000_000],
    "scaling.py": [1_000_000, 10_000_000],
    "bench_drift.py": [1_000_000],  # rows per window
    "bench_tick.py": [100, 400],
    "bench_memory.py": [5_000_000, 50_000_000],
    "bench_imports.py": [7],  # fresh interpreters per line
}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", help="sizes for every script")
    args = parser.parse_args()
    started = time.perf_counter()
    for script, rows in DEFAULT_ROWS.items():
        sizes = args.rows or rows
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
        print(
            f"\n=== {script} --rows {' '.join(map(str, sizes))}   (load average {load})", flush=True
        )
        t0 = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(HERE / script), "--rows", *map(str, sizes)], check=False
        )
        if done.returncode != 0:
            print(f"{script} failed with exit code {done.returncode}", file=sys.stderr)
            return done.returncode
        print(f"=== {script}: {time.perf_counter() - t0:.0f} s", flush=True)
    print(f"\nall benchmarks: {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
