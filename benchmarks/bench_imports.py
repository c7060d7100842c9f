"""What a check pays in imports before and after it reads, in fresh interpreters (issue #21).

Each line is measured in ``--rows`` fresh interpreters (default 7; the median and the
fastest are printed), timed inside the process from before the first import to after the
last, so interpreter start-up is not counted. "after …" lines import their modules on top
of what is named there, which is what a check pays when it first uses them:

* the raw scan's imports (NumPy and pyarrow, ``bench_scan.py``);
* what ``modelhealth check`` imports before it reads: the CLI, the check and the HTML
  renderer; and which of the heavy modules that leaves loaded (none, by design);
* what it imports later, where they are used: ``scipy.stats`` (judging, every night) over
  ``scipy.special``, pandas (pyarrow imports it on its first ``pa.array``), Evidently
  (a drifted model's drill-down page), and the ``ladder`` command group (SQLAlchemy).

    python benchmarks/bench_imports.py
    python benchmarks/bench_imports.py --rows 15
    python benchmarks/bench_imports.py --source /tmp/main-src   # an older tree, before/after
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

__all__ = ["main", "seconds"]

ROOT = Path(__file__).resolve().parents[1]

CHECK = "modelhealth.cli.app, monitor.check, modelhealth.outputs.html"
HEAVY = ("scipy.stats", "pandas", "ladder", "sqlalchemy", "mlflow", "evidently")

#: (label, imported first and not timed, timed)
LINES: list[tuple[str, str, str]] = [
    ("raw scan: numpy, pyarrow", "", "numpy, pyarrow"),
    ("check before reading: CLI, check, HTML page", "", CHECK),
    ("after numpy, pyarrow: scipy.special", "numpy, pyarrow", "scipy.special"),
    ("after numpy, pyarrow: scipy.stats", "numpy, pyarrow", "scipy.stats"),
    ("after numpy, pyarrow: pandas", "numpy, pyarrow", "pandas"),
    ("after the check's imports: Evidently", CHECK, "evidently"),
    ("after the check's imports: the ladder CLI group", CHECK, "modelhealth.cli.ladder"),
]


#: The modelhealth source tree imported (``--source``: another checkout, for before/after).
SOURCE = ROOT


def seconds(before: str, timed: str, runs: int) -> list[float]:
    """Seconds to import ``timed`` once ``before`` is imported, in ``runs`` fresh processes."""
    code = (
        "import time, warnings\n"
        "warnings.simplefilter('ignore')\n"
        + (f"import {before}\n" if before else "")
        + f"t = time.perf_counter()\nimport {timed}\nprint(time.perf_counter() - t)\n"
    )
    return [float(_run(code)) for _ in range(runs)]


def loaded_by(imports: str) -> list[str]:
    """Which of :data:`HEAVY` a fresh interpreter holds after ``imports``."""
    code = (
        f"import sys\nimport {imports}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    return [name for name in _run(code).split(",") if name]


def _run(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(SOURCE)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env, cwd="/"
    )
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[7], help="fresh interpreters per line"
    )
    parser.add_argument(
        "--source", type=Path, default=ROOT, help="another source tree of modelhealth"
    )
    args = parser.parse_args()
    runs = max(1, args.rows[0])
    global SOURCE
    SOURCE = args.source
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"imports of {SOURCE}, {runs} fresh interpreters per line; load average {load}")
    print(f"  {'':52} {'median':>8} {'fastest':>8}")
    for label, before, timed in LINES:
        times = seconds(before, timed, runs)
        print(f"  {label:52} {statistics.median(times):7.3f}s {min(times):7.3f}s")
    heavy = loaded_by(CHECK)
    print(f"  heavy modules loaded before reading: {', '.join(heavy) if heavy else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
