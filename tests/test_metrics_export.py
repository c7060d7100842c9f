"""`check --metrics-file` and `--pushgateway`: the night in Prometheus' text format, read
back with prometheus_client's own parser; the push received by a real local HTTP server."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from modelhealth.cli import app

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ROOT / "data" / "register.yaml"
LOGS = ROOT / "data" / "demo" / "logs"
runner = CliRunner()


def check(out: Path, *extra: str) -> tuple[int, str, dict]:  # type: ignore[type-arg]
    done = runner.invoke(
        app,
        ["check", "--register", str(REGISTER), "--logs", str(LOGS), "--as-of", "2026-10-16",
         "--out", str(out), "--no-ladder", "--no-drift", "--now", "2026-10-17T06:00:00+00:00",
         *extra],
    )  # fmt: skip
    return done.exit_code, done.output, json.loads((out / "report.json").read_text())


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_the_metrics_file_holds_every_model_and_check_as_the_report_says(tmp_path: Path) -> None:
    path = tmp_path / "textfile" / "modelhealth.prom"

    code, output, report = check(tmp_path / "out", "--metrics-file", str(path))

    assert code == 0, output
    got = samples(path.read_text())
    statuses = {"ok": 0, "insufficient_data": 1, "warning": 2, "breach": 3}
    codes = {"healthy": 0, "insufficient_data": 1, "warning": 2, "breach": 3, "blind": 4}
    n_checks = 0
    for model in report["models"]:
        mid = model["model_id"]
        assert got[("modelhealth_status_code", (("model_id", mid),))] == codes[model["status"]]
        assert got[("modelhealth_n_rows", (("model_id", mid),))] == model["n_rows"]
        quality = model["metrics"]["quality"]["value"]
        assert got[("modelhealth_quality", (("model_id", mid),))] == pytest.approx(quality)
        p95 = model["metrics"]["latency_ms"]["p95"]
        assert got[("modelhealth_latency_p95", (("model_id", mid),))] == pytest.approx(p95)
        for c in model["checks"]:
            labels = (("check", c["threshold"]), ("model_id", mid))
            assert got[("modelhealth_check_status", labels)] == statuses[c["status"]]
            assert got[("modelhealth_check_limit", labels)] == pytest.approx(c["limit"])
            n_checks += 1
    assert n_checks == sum(1 for key in got if key[0] == "modelhealth_check_status")
    # The night the assistant starts hallucinating: its quality check breaches.
    quality_check = (("check", "quality"), ("model_id", "support-assistant"))
    assert got[("modelhealth_check_status", quality_check)] == 3
    assert got[("modelhealth_status_code", (("model_id", "support-assistant"),))] == 3
    # Freshness: alerts fire when the nightly job stops running.
    assert got[("modelhealth_last_check_timestamp_seconds", ())] == 1792216800.0  # 10-17 06:00
    assert got[("modelhealth_night_timestamp_seconds", ())] == 1792195200.0  # 10-17 00:00


class Recorder(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, bytes]]] = []

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Recorder.received.append(("PUT", self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[str]:
    Recorder.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_pushgateway_receives_the_same_metrics_grouped_by_register(
    gateway: str, tmp_path: Path
) -> None:
    path = tmp_path / "night.prom"

    code, output, _ = check(tmp_path / "out", "--metrics-file", str(path), "--pushgateway", gateway)

    assert code == 0, output
    ((method, where, body),) = Recorder.received
    assert (method, where) == ("PUT", "/metrics/job/modelhealth/register/acme-support")
    assert samples(body.decode()) == samples(path.read_text())


def test_an_unreachable_pushgateway_warns_and_loses_nothing(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nobody listens

    code, output, report = check(tmp_path / "out", "--pushgateway", f"http://127.0.0.1:{port}")

    assert code == 0
    assert "warning: metrics not pushed" in output
    assert report["status"] == "breach"


def test_the_shipped_alert_rules_and_dashboard_use_metrics_the_export_writes(
    tmp_path: Path,
) -> None:
    import re

    import yaml

    path = tmp_path / "night.prom"
    check(tmp_path / "out", "--metrics-file", str(path))
    written = {family.name for family in text_string_to_metric_families(path.read_text())}
    docs = ROOT / "docs" / "prometheus"
    rules = yaml.safe_load((docs / "alerts.yml").read_text())
    dashboard = json.loads((docs / "grafana-dashboard.json").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]

    used = {name for expr in exprs for name in re.findall(r"modelhealth_[a-z0-9_]+", expr)}
    assert used and used <= written, used - written
    assert {r["alert"] for g in rules["groups"] for r in g["rules"]} >= {
        "ModelHealthBreach", "ModelHealthCheckNotRunning"
    }  # fmt: skip
