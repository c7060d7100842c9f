"""What a tick of the ladder's clocks costs (``modelhealth ladder tick``, the desk's minute
loop), and how fast the outbox delivers.

Opens N escalations (one per model, each with a pending step) in a SQLite store, outside
the timed part, then times, in this process:

1. an idle tick: every clock looked at, nothing due (what the desk pays every minute);
2. the tick 30 minutes later: N reminders decided, routed, queued, and the outbox drained
   to a local webhook (the N approval requests and the N reminders): messages/s;

and prints the peak RSS of the process.

    python benchmarks/bench_tick.py --rows 100 400
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta, timezone
from datetime import time as clock_time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ladder.nightly import decide_night  # noqa: E402
from ladder.store import LadderStore  # noqa: E402
from modelhealth.ticking import run_tick  # noqa: E402
from monitor.report import (  # noqa: E402
    Breach,
    FailureModeShare,
    IngestSummary,
    ModelReport,
    Report,
    TimeWindow,
)
from thresholds.loader import parse_register  # noqa: E402

NIGHT = date(2026, 10, 16)
RUN_AT = datetime(2026, 10, 17, 6, 0, tzinfo=timezone.utc)


def register_text(models: int) -> str:
    lines = [
        "name: tick-benchmark",
        "people: {alice: [model_owner, ml_lead], bob: [model_owner], carol: [ml_lead]}",
        "defaults: {owner: alice}",
        "models:",
    ]
    lines += [f"  - id: model-{i:04d}" for i in range(models)]
    return "\n".join(lines) + "\n"


def breaching_night(models: int) -> Report:
    start = datetime.combine(NIGHT, clock_time(0), tzinfo=timezone.utc)
    window = TimeWindow(start=start, end=start + timedelta(days=1))
    reference = TimeWindow(start=start - timedelta(days=28), end=start)
    quality = Breach(threshold="quality", level="breach", observed=0.7, limit=0.88, tier=3)
    return Report(
        run_id="bench",
        as_of=NIGHT.isoformat(),
        register_name="tick-benchmark",
        register_version="bench",
        generated_at=RUN_AT,
        status="breach",
        ingest=IngestSummary(),
        models=[
            ModelReport(
                model_id=f"model-{i:04d}",
                status="breach",
                window=window,
                reference_window=reference,
                n_rows=1000,
                breaches=[quality],
                failure_modes=[FailureModeShare(mode="hallucination", count=100, share=1.0)],
                dominant_failure_mode="hallucination",
            )
            for i in range(models)
        ],
    )


def receiver() -> tuple[str, list[int], ThreadingHTTPServer]:
    seen: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append(1)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hook", seen, server


def run(models: int) -> None:
    register = parse_register(register_text(models), source="bench").register
    url, seen, server = receiver()
    with tempfile.TemporaryDirectory() as folder:
        store = LadderStore(f"sqlite:///{Path(folder) / 'state.db'}")
        decide_night(store, breaching_night(models), register, now=RUN_AT)

        t0 = time.perf_counter()
        idle = run_tick(store, register, now=RUN_AT + timedelta(minutes=10), notify_url=None)
        idle_s = time.perf_counter() - t0
        assert not idle.actions

        t0 = time.perf_counter()
        due = run_tick(store, register, now=RUN_AT + timedelta(minutes=30), notify_url=url)
        busy_s = time.perf_counter() - t0
        store.close()
    server.shutdown()
    assert due.delivery is not None
    sent = due.delivery.sent
    assert len(due.actions) == models and sent == 2 * models == len(seen), (due, len(seen))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"| {models:,} | {idle_s:.2f} s | {busy_s:.2f} s | {sent:,} | {sent / busy_s:,.0f} | "
        f"{peak_mb:,.0f} MB |",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[100, 400],
        help="open escalations (one pending step per model)",
    )
    args = parser.parse_args()
    print(
        "| open steps | idle tick | tick with reminders + delivery | messages sent | "
        "messages/s | peak RSS |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for models in args.rows:
        run(models)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
