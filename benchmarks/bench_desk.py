"""Response times of the escalation desk under load, per state-store backend.

The harness of ``tests/test_desk_load.py`` (``tests/desk_load.py``): the real
``modelhealth serve`` (one uvicorn process) over a state the nightly path prepared —
``--models`` models, each with a step that needs ``--approvals`` of eight deciders —
with ``--pollers`` people polling their inbox (pausing ``--think`` seconds between
polls) and the eight deciders approving, all at once for ``--seconds``. Prints, per
backend, requests per second and p50/p95/p99 response times of inbox polls and of
decisions, and how many decisions succeeded or lost a race. The test asserts that no
decision is lost or doubled; this script only measures.

    python benchmarks/bench_desk.py                       # SQLite and PostgreSQL, 30 s
    python benchmarks/bench_desk.py --backends sqlite --seconds 60 --think 0
    python benchmarks/bench_desk.py --proof 50 250     # full vs resumed proof of the log
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from desk_load import LoadResult, percentile, prepare_load_state, run_load  # noqa: E402
from desk_server import DeskServer  # noqa: E402
from postgres import PostgresServer, find_bindir  # noqa: E402


def _cpu() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    name = fields.get("Model name", "unknown").strip()
    return f"{name}, {os.cpu_count()} CPUs"


def _row(backend: str, result: LoadResult) -> str:
    polls = [r.seconds * 1000 for r in result.of("inbox")]
    decisions = [r.seconds * 1000 for r in result.of("approve", "again")]
    outcome = Counter((r.kind, r.status) for r in result.requests)
    ok = outcome[("approve", 200)]
    lost = outcome[("approve", 403)]
    errors = sum(n for (_kind, status), n in outcome.items() if status == 0 or status >= 500)
    rate = len(result.requests) / result.seconds

    def ms(values: list[float]) -> str:
        return " / ".join(f"{percentile(values, q):,.0f}" for q in (50, 95, 99))

    return (
        f"| {backend} | {len(result.requests):,} | {rate:,.1f} | {ms(polls)} | "
        f"{ms(decisions)} | {ok} | {lost} | {errors} |"
    )


def proof_costs(models: int) -> str:
    """A store with ``models`` steps, each approved by four deciders through
    ``ladder.actions`` (the log grows ~4 rows per decision), then: the full proof, and a
    proof resumed from a checkpoint after one more decision. Best of three each."""
    import time

    from ladder.actions import approve
    from ladder.checkpoint import ProofCheckpoint
    from ladder.keys import head_anchors
    from ladder.proof import prove
    from ladder.store import LadderStore

    folder = Path(tempfile.mkdtemp(prefix="bench-proof-"))
    url = f"sqlite:///{folder / 'state.db'}"
    prepared = prepare_load_state(url, folder, models=models + 1, pollers=0, approvals=4)
    steps = list(prepared.steps.values())
    with LadderStore(url) as store:
        for step in steps[:-1]:
            for person in ("d1", "d2", "d3", "d4"):
                approve(
                    store,
                    step,
                    person=person,
                    register=prepared.register,
                    now=prepared.now,
                    reason="benchmark",
                )
        anchors = head_anchors(store)
        full = []
        for _ in range(3):
            t0 = time.perf_counter()
            verdict = store.read(lambda c: prove(c, anchors=anchors))
            full.append(time.perf_counter() - t0)
        assert verdict.ok
        checkpoint = ProofCheckpoint(store)
        checkpoint.prove()
        resumed = []
        for person in ("d1", "d2", "d3"):
            approve(
                store,
                steps[-1],
                person=person,
                register=prepared.register,
                now=prepared.now,
                reason="one more",
            )
            t0 = time.perf_counter()
            assert checkpoint.prove().ok
            resumed.append(time.perf_counter() - t0)
    return (
        f"| {verdict.chain.rows:,} | {models * 4:,} | {min(full) * 1000:,.0f} | "
        f"{min(resumed) * 1000:,.1f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"]
    )
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--pollers", type=int, default=50)
    parser.add_argument("--models", type=int, default=90)
    parser.add_argument("--approvals", type=int, default=4)
    parser.add_argument(
        "--think", type=float, default=0.25, help="seconds a poller waits between polls"
    )
    parser.add_argument(
        "--proof",
        type=int,
        nargs="+",
        metavar="STEPS",
        help="instead: the cost of a full and of a resumed proof on SQLite "
        "logs of this many approved steps",
    )
    args = parser.parse_args()
    if args.proof:
        print(f"machine: {_cpu()}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n")
        print("| audit rows | decisions | full proof (ms) | resumed after one decision (ms) |")
        print("|---:|---:|---:|---:|")
        for steps in args.proof:
            print(proof_costs(steps), flush=True)
        return 0
    print(
        f"machine: {_cpu()}; Python {platform.python_version()}; load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    print(
        f"{args.pollers} pollers (think {args.think:g} s) + 8 deciders for {args.seconds:g} s; "
        f"{args.models} models, {args.approvals} approvals per step\n",
        flush=True,
    )
    rows = []
    postgres: PostgresServer | None = None
    try:
        for backend in args.backends:
            folder = Path(tempfile.mkdtemp(prefix=f"bench-desk-{backend}-"))
            if backend == "sqlite":
                url = f"sqlite:///{folder / 'state.db'}"
            else:
                bindir = find_bindir()
                if bindir is None:
                    print(
                        "PostgreSQL is not installed (apt-get install postgresql)", file=sys.stderr
                    )
                    return 2
                postgres = postgres or PostgresServer(bindir).start()
                url = postgres.database("bench")
            prepared = prepare_load_state(
                url, folder, models=args.models, pollers=args.pollers, approvals=args.approvals
            )
            with DeskServer(prepared, folder / "server.log") as server:
                result = run_load(
                    "127.0.0.1",
                    server.port,
                    prepared,
                    seconds=args.seconds,
                    pollers=args.pollers,
                    think=args.think,
                )
            rows.append(_row(backend, result))
            print(
                f"{backend}: done (load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})",
                flush=True,
            )
    finally:
        if postgres is not None:
            postgres.stop()
    print(
        "\n| backend | requests | requests/s | inbox p50 / p95 / p99 (ms) | "
        "decision p50 / p95 / p99 (ms) | approvals ok | lost races | errors |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main())
