"""Whole-process peak memory of ``modelhealth check`` as the logs grow (issue #21 §2).

For each size N (default 5M and 50M rows) the logs are written once as Parquet under
``--data`` (``benchmarks/scaling.py``'s generator: three models, rows over the night
and the 28 days before it, every row in a window, 16-byte ids, files of 500k rows), and
the real command runs in a fresh process::

    python -m modelhealth check --register … --logs … --no-ladder --no-drift \\
        --memory-budget 256MiB --log-format json

Printed per size: wall seconds and rows/s of the whole command (interpreter start,
imports, ingest, aggregates, judgement, ``report.json``), its CPU time per row (user +
system, all threads: steadier than rows/s on a shared machine), the process's peak RSS (its
``ru_maxrss`` from ``wait4``: everything the process touched, not only dedup), and the
de-duplication's own figures from its ``dedup`` log event (spills, merges, the peak
state it held, bytes it wrote). Then the ratio of the largest size's peak RSS to the
smallest's, against the targets of issue #21: within 15 % and under 1 GB.

``--python`` runs another checkout's interpreter (e.g. ``/work/main/.venv/bin/python``,
whose check has no ``--memory-budget``: pass ``--memory-budget none``) to measure the
previous figure in the same session.

    python benchmarks/bench_memory.py
    python benchmarks/bench_memory.py --rows 5000000 50000000 --memory-budget 128MiB
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from scaling import NIGHT, REGISTER, generate, machine  # noqa: E402

__all__ = ["main", "run_check"]

#: Issue #21: peak RSS at the largest size within this factor of the smallest's…
FLAT = 1.15
#: … and under this many MB.
CEILING_MB = 1024


def run_check(
    python: str, logs: Path, register: Path, budget: str | None, drift: bool
) -> dict[str, Any]:
    """One ``modelhealth check`` in a fresh process; its wall time, peak RSS, report
    counts and dedup event."""
    with tempfile.TemporaryDirectory(prefix="mh-bench-memory-") as tmp:
        out, stdout, stderr = Path(tmp, "out"), Path(tmp, "stdout"), Path(tmp, "stderr")
        command = [
            python,
            "-m",
            "modelhealth",
            "check",
            "--register",
            str(register),
            "--logs",
            str(logs),
            "--as-of",
            NIGHT.isoformat(),
            "--out",
            str(out),
            "--now",
            f"{NIGHT + timedelta(days=1)}T06:00:00+00:00",
            "--no-ladder",
            "--log-format",
            "json",
            *([] if drift else ["--no-drift"]),
            *([] if budget is None else ["--memory-budget", budget]),
        ]
        # Not from this checkout when --python names another: its own package.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        with stdout.open("wb") as o, stderr.open("wb") as e:
            start = time.perf_counter()
            child = subprocess.Popen(command, stdout=o, stderr=e, cwd=tmp, env=env)
            _, status, usage = os.wait4(child.pid, 0)
            seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RuntimeError(f"check exited {child.returncode}:\n{stderr.read_text()[-4000:]}")
        report = json.loads((out / "report.json").read_text())
        dedup: dict[str, Any] = {}
        for line in stderr.read_text().splitlines():
            if line.startswith("{") and '"event": "dedup"' in line:
                dedup = json.loads(line)
    return {
        "seconds": seconds,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "rows": report["ingest"]["rows_read"],
        "duplicates": report["ingest"]["rows_duplicate"],
        "dedup": dedup,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[5_000_000, 50_000_000])
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "mh-scaling")
    parser.add_argument(
        "--memory-budget", default="256MiB", help="--memory-budget of the check, or 'none'"
    )
    parser.add_argument("--python", default=sys.executable, help="interpreter to run")
    parser.add_argument("--drift", action="store_true", help="with drift (Evidently)")
    args = parser.parse_args()
    budget = None if args.memory_budget.lower() == "none" else args.memory_budget
    print(f"machine: {machine()}, nproc {os.cpu_count()}", flush=True)
    print(
        f"modelhealth check --no-ladder {'' if args.drift else '--no-drift '}"
        f"--memory-budget {budget or '(none)'}; interpreter {args.python}",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        register = Path(tmp, "register.yaml")
        register.write_text(REGISTER)
        print(
            f"{'rows':>12} {'seconds':>8} {'rows/s':>11} {'CPU ns/row':>10} {'peak RSS':>9}  dedup",
            flush=True,
        )
        peaks = []
        for total in args.rows:
            logs = generate(total, args.data)
            r = run_check(args.python, logs, register, budget, args.drift)
            if r["rows"] != total:
                raise SystemExit(f"the check read {r['rows']:,} rows of {total:,}")
            peaks.append(r["rss_mb"])
            d = r["dedup"]
            detail = (
                f"{d['distinct']:,} ids, {d['duplicates']:,} duplicates, {d['spills']} spills,"
                f" {d['merges']} merges, state {d['peak_state_bytes'] / 2**20:.0f} MB,"
                f" {d['bytes_written'] / 2**20:,.0f} MB written,"
                f" {d['candidates']:,} candidates"
                if d
                else f"{r['duplicates']:,} duplicates (no dedup event)"
            )
            print(
                f"{total:>12,} {r['seconds']:>8.2f} {total / r['seconds']:>11,.0f}"
                f" {r['cpu'] / total * 1e9:>10.0f} {r['rss_mb']:>6.0f} MB  {detail}",
                flush=True,
            )
    if len(peaks) > 1:
        ratio = peaks[-1] / peaks[0]
        print(
            f"peak RSS {args.rows[-1]:,} / {args.rows[0]:,} rows: {ratio:.3f} "
            f"(target ≤ {FLAT}: {'met' if ratio <= FLAT else 'NOT met'}); largest "
            f"{max(peaks):.0f} MB (target < {CEILING_MB} MB: "
            f"{'met' if max(peaks) < CEILING_MB else 'NOT met'})"
        )
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
