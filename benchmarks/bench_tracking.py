"""What MLflow tracking adds to one nightly check (issue #19's benchmark).

Writes a 3,000-row night (three models × 1,000 rows, plus a 7-day reference) once, then
runs ``modelhealth check`` in fresh processes, as cron does, and prints wall times:

1. without tracking (``--no-tracking``);
2. with tracking on a **new** store: the first run creates the MLflow database;
3. with tracking on the **existing** store, ``--repeat`` more nights;
4. the same with Evidently's drift pages logged too (``--mlflow-drift-pages``).

The tracking cost is the difference between (3) and (1) (and the mean of the repeats);
the artifacts logged per run are listed with their size. Drift runs in every case, so
that the comparison is the same check with and without MLflow. The machine's load
average is printed: benchmark on a quiet machine.

    python benchmarks/bench_tracking.py
    python benchmarks/bench_tracking.py --repeat 5
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modelhealth.demo import demo_profiles, write_logs  # noqa: E402

START = date(2026, 10, 1)
NIGHTS = 12
ROWS_PER_MODEL = 1000

REGISTER = textwrap.dedent(
    """\
    name: tracking-benchmark
    defaults:
      owner: bench
      windows: {current: 1d, reference: 7d}
    models:
      - id: support-assistant
      - id: invoice-extractor
        columns: {confidence: score, latency_ms: duration_ms}
      - id: churn-classifier
    """
)


def prepare(folder: Path) -> tuple[Path, Path]:
    """1,000 rows per model and day for NIGHTS days, and the register (not timed)."""
    logs, register = folder / "logs", folder / "register.yaml"
    if not logs.exists():
        profiles = [
            dataclasses.replace(p, rows_per_day=ROWS_PER_MODEL, degradations=())
            for p in demo_profiles(START)
        ]
        write_logs(profiles, START, NIGHTS, logs, seed=19)
    register.write_text(REGISTER)
    return logs, register


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def check(register: Path, logs: Path, night: date, out: Path, *extra: str) -> tuple[float, float]:
    """Wall and CPU seconds of one ``modelhealth check`` in a fresh process.

    CPU time (user + system of the child) hardly moves with the machine's load; wall
    time does, and a disk sync counts only in wall time."""
    started, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(
        [str(Path(sys.executable).with_name("modelhealth")), "check", "--register",
         str(register), "--logs", str(logs), "--as-of", night.isoformat(), "--out", str(out),
         "--state", f"sqlite:///{out.parent / 'state.db'}", *extra],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return time.perf_counter() - started, _children_cpu() - cpu


def _mean(runs: list[tuple[float, float]]) -> tuple[float, float]:
    return sum(r[0] for r in runs) / len(runs), sum(r[1] for r in runs) / len(runs)


_DECOMPOSE = textwrap.dedent(
    """\
    import resource, sys, time
    from pathlib import Path
    def cpu():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime
    from monitor.report import Report
    out, store, suffix = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    report = Report.model_validate_json((out / "report.json").read_text())
    report = report.model_copy(update={"run_id": report.run_id + suffix})
    c0, w0 = cpu(), time.perf_counter()
    import mlflow.store.tracking.sqlalchemy_store
    from mlflow import MlflowClient
    c1, w1 = cpu(), time.perf_counter()
    from modelhealth.outputs.tracking import log_check
    names = ("report.json", "report.html", "quarantine.parquet")
    log_check(report, tracking_uri=store, artifacts=[out / n for n in names])
    c2, w2 = cpu(), time.perf_counter()
    print(f"{w1 - w0:.3f} {c1 - c0:.3f} {w2 - w1:.3f} {c2 - c1:.3f}")
    """
)


def decompose(out: Path, store: str, runs: int) -> list[list[float]]:
    """In fresh processes on the existing store: (import wall, import CPU, log wall, log
    CPU) of MLflow's import and of one :func:`log_check` after it, per run."""
    found = []
    for k in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", _DECOMPOSE, str(out), store, f"-decompose-{k}"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        found.append([float(x) for x in done.stdout.split()[-4:]])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="checks on the existing store")
    args = parser.parse_args()
    base = Path(tempfile.gettempdir()) / "modelhealth-bench-tracking"
    logs, register = prepare(base)
    print(f"python {platform.python_version()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}; {3 * ROWS_PER_MODEL:,} rows a night")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        store = f"sqlite:///{work / 'mlflow.db'}"
        # Each run a different night: a rerun of a night is recognised and logs nothing.
        nights = [START + timedelta(days=NIGHTS - 1 - k) for k in range(args.repeat + 2)]
        plain = [
            check(register, logs, night, work / f"plain-{night}", "--no-tracking")
            for night in nights[1:-1]
        ]
        first = check(register, logs, nights[0], work / "first", "--tracking-uri", store)
        tracked = [
            check(register, logs, night, work / f"tracked-{night}", "--tracking-uri", store)
            for night in nights[1:-1]
        ]
        try:
            pages: tuple[float, float] | None = check(
                register, logs, nights[-1], work / "pages", "--tracking-uri", store,
                "--mlflow-drift-pages",
            )  # fmt: skip
        except subprocess.CalledProcessError:  # a modelhealth without the option
            pages = None
        parts = decompose(work / f"tracked-{nights[1]}", store, args.repeat)
        logged = [p for p in (work / "mlflow-artifacts").rglob("*") if p.is_file()]
        sizes = {str(p): p.stat().st_size for p in logged}
        runs = {p.parent for p in logged}
    base = _mean(plain)

    def line(label: str, value: tuple[float, float], extra: str = "") -> None:
        added = "" if value is base else (
            f"  (+{value[0] - base[0]:.1f} s wall, +{value[1] - base[1]:.1f} s CPU{extra})"
        )  # fmt: skip
        print(f"{label:<38} {value[0]:6.1f} s wall {value[1]:6.1f} s CPU{added}")

    line(f"check without tracking (mean of {len(plain)})", base)
    line("check, first run (creates the store)", first)
    line(f"check, existing store (mean of {len(tracked)})", _mean(tracked))
    if pages is not None:
        line("check, existing store + drift pages", pages)
    n = len(parts)
    mean = [sum(p[i] for p in parts) / n for i in range(4)]
    print(f"  of which, in a fresh process on the existing store (mean of {n}):")
    print(f"    import mlflow and its SQL store     {mean[0]:6.2f} s wall {mean[1]:6.2f} s CPU")
    print(f"    log_check (run, metrics, artifacts) {mean[2]:6.2f} s wall {mean[3]:6.2f} s CPU")
    print(f"artifacts logged: {len(sizes)} files, {sum(sizes.values()) / 1e6:.1f} MB over "
          f"{len(runs)} runs")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
