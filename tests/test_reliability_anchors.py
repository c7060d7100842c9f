"""Cutting the audit log's tail shows, because every night anchors its head outside the DB.

Issue 17, section 1: deleting the newest audit rows passed ``ladder audit verify``. A
nightly check now writes the head after its decisions (``seq`` and ``hash``) into
``report.json`` (``audit_head``), into its MLflow run's tags (``modelhealth.audit_head``)
and into the notification it sends (``audit_head``).

The story, all through ``python -m modelhealth`` in real processes: three nights are
checked with a SQLite state store, a SQLite MLflow store and a real webhook receiver
(the nights are warnings, so ``--notify-level warning`` sends a message each night).
Then someone with write access to the database removes the last night: its audit rows
*and* the rows they recorded in ``ladder_nights``, and the head file beside the
database, so the state and the shortened log agree. Without an anchor that is
invisible (``audit verify`` exits 0); with any of the outside anchors ``audit verify``
exits 4 and names the anchor it used.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from reliability_corpus import REGISTER_YAML, CliProcesses, night_rows, shared_cli, write_parquet

NIGHTS = ("2026-10-07", "2026-10-08", "2026-10-09")


@pytest.fixture(scope="module")
def cli() -> CliProcesses:
    return shared_cli()


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A real webhook receiver on localhost that keeps every payload it is sent."""
    payloads: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            payloads.append(json.loads(body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", payloads
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def home(
    tmp_path_factory: pytest.TempPathFactory,
    cli: CliProcesses,
    webhook: tuple[str, list[dict[str, Any]]],
) -> Path:
    """Three nights checked; the notification payloads saved as the receiver got them."""
    home = tmp_path_factory.mktemp("anchored")
    (home / "register.yaml").write_text(REGISTER_YAML)
    write_parquet(home / "logs.parquet", night_rows())
    url, payloads = webhook
    for night in NIGHTS:
        morning = f"{night[:-2]}{int(night[-2:]) + 1:02d}T06:00:00+00:00"
        result = cli.run(
            [
                "check",
                "--register",
                str(home / "register.yaml"),
                "--logs",
                str(home / "logs.parquet"),
                "--as-of",
                night,
                "--now",
                morning,
                "--no-drift",
                "--out",
                str(home / "reports" / night),
                "--state",
                f"sqlite:///{home / 'state.db'}",
                "--tracking-uri",
                f"sqlite:///{home / 'mlflow.db'}",
                "--notify",
                url,
                "--notify-level",
                "warning",
            ]
        )
        assert result.code == 0, result.stderr
    assert len(payloads) == len(NIGHTS)
    for night, payload in zip(NIGHTS, payloads, strict=True):
        (home / f"notification-{night}.json").write_text(json.dumps(payload))
    return home


def _mlflow_run(home: Path, night: str) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("reliability")
    assert experiment is not None
    [run] = client.search_runs(
        [experiment.experiment_id], filter_string=f"params.as_of = '{night}'"
    )
    return str(run.info.run_id)


def test_each_night_anchors_the_same_head_in_the_report_mlflow_and_the_notification(
    home: Path,
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    with sqlite3.connect(home / "state.db") as conn:
        rows = dict(conn.execute("SELECT seq, hash FROM ladder_audit").fetchall())
    heads = []
    for night in NIGHTS:
        report = json.loads((home / "reports" / night / "report.json").read_text())
        head = report["audit_head"]
        assert rows[head["seq"]] == head["hash"]  # the real row, not a copy of a field
        tags = client.get_run(_mlflow_run(home, night)).data.tags
        assert tags["modelhealth.audit_head"] == f"{head['seq']}:{head['hash']}"
        payload = json.loads((home / f"notification-{night}.json").read_text())
        assert payload["audit_head"] == head
        heads.append(head["seq"])
    assert heads == sorted(heads) and len(set(heads)) == len(NIGHTS)
    assert heads[-1] == max(rows)  # the last night's anchor is the log's head


def test_cutting_the_last_night_from_log_and_state_is_caught_by_every_anchor(
    home: Path, cli: CliProcesses, tmp_path: Path
) -> None:
    cut = tmp_path / "cut.db"
    cut.write_bytes((home / "state.db").read_bytes())
    last = json.loads((home / "reports" / NIGHTS[-1] / "report.json").read_text())
    previous = json.loads((home / "reports" / NIGHTS[-2] / "report.json").read_text())
    with sqlite3.connect(cut) as conn:
        # The attacker removes the last night consistently: its audit rows and the state
        # rows they recorded. No head file travels with the copy.
        conn.execute("DELETE FROM ladder_audit WHERE seq > ?", (previous["audit_head"]["seq"],))
        conn.execute("DELETE FROM ladder_nights WHERE night = ?", (NIGHTS[-1],))
    state = ["--state", f"sqlite:///{cut}"]
    blind = cli.run(["ladder", "audit", "verify", *state])
    assert blind.code == 0, blind.stdout + blind.stderr  # without an anchor, invisible
    assert "no anchor found" in blind.stdout

    run_id = _mlflow_run(home, NIGHTS[-1])
    report = home / "reports" / NIGHTS[-1] / "report.json"
    anchors = {
        "report.json": ["--anchor", str(report)],
        "a folder of reports": ["--anchor", str(home / "reports")],
        "the notification": ["--anchor", str(home / f"notification-{NIGHTS[-1]}.json")],
        "the MLflow run": [
            "--mlflow-run",
            run_id,
            "--tracking-uri",
            f"sqlite:///{home / 'mlflow.db'}",
        ],
    }
    results = cli.run_together(
        [["ladder", "audit", "verify", *state, *extra] for extra in anchors.values()]
    )
    for (what, _), result in zip(anchors.items(), results, strict=True):
        said = result.stdout + result.stderr
        assert result.code == 4, (what, said)
        assert "Traceback" not in said
        assert f"row {last['audit_head']['seq']}" in said, (what, said)
    assert str(report) in results[0].stderr
    assert NIGHTS[-1] in results[1].stderr  # the newest report in the folder
    assert f"notification-{NIGHTS[-1]}.json" in results[2].stderr
    assert f"MLflow run {run_id}" in results[3].stderr
    # The untouched store verifies against the same anchors.
    intact = cli.run(
        [
            "ladder",
            "audit",
            "verify",
            "--state",
            f"sqlite:///{home / 'state.db'}",
            "--anchor",
            str(home / "reports"),
        ]
    )
    assert intact.code == 0, intact.stdout + intact.stderr
    print(
        f"\naudit anchors: a cut of {last['audit_head']['seq'] - previous['audit_head']['seq']}"
        f" rows caught by {len(anchors)} of {len(anchors)} outside anchors"
    )


def test_a_dropped_audit_table_is_refused_with_a_reason_not_a_crash(
    home: Path, cli: CliProcesses, tmp_path: Path
) -> None:
    """Found while attacking: ``audit verify`` on a store whose log table was dropped
    ended in a traceback (exit 1, read by cron as a finding)."""
    dropped = tmp_path / "dropped.db"
    dropped.write_bytes((home / "state.db").read_bytes())
    with sqlite3.connect(dropped) as conn:
        conn.execute("DROP TABLE ladder_audit")
    result = cli.run(["ladder", "audit", "verify", "--state", f"sqlite:///{dropped}"])
    assert result.code == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    assert "dropped.db" in result.stderr and "ladder_audit" in result.stderr
