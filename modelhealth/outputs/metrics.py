"""The night's metrics and statuses for Prometheus: a textfile-collector file, or a push.

:func:`night_registry` turns a :class:`~monitor.report.Report` into gauges, written by
``prometheus_client`` in the text exposition format:

* ``modelhealth_<measure>{model_id}`` — one family per measure the MLflow run records
  (``quality``, ``error_rate``, ``latency_p95``, ``ece``, ``n_rows``, ``status_code`` …;
  the same list, :func:`modelhealth.outputs.tracking.model_measures`);
* ``modelhealth_check_status{model_id, check}`` — 0 ok, 1 insufficient_data, 2 warning,
  3 breach, and ``modelhealth_check_observed`` / ``modelhealth_check_limit`` beside it;
* ``modelhealth_status_code{model_id}`` — 0 healthy … 3 breach, 4 blind (see
  :data:`~modelhealth.outputs.tracking.STATUS_CODES`);
* ``modelhealth_night_timestamp_seconds`` (end of the night checked) and
  ``modelhealth_last_check_timestamp_seconds`` (when the check ran), so an alert can
  fire when the nightly job stops running — a monitor that cannot see must not look
  healthy on a dashboard either.

:func:`write_metrics_file` writes atomically (node_exporter's textfile collector reads a
``*.prom`` file at any moment); :func:`push_metrics` sends the same registry to a
Pushgateway, grouped by register so each register replaces only its own series.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway, write_to_textfile

from modelhealth.outputs.tracking import model_measures
from monitor.report import Report

__all__ = [
    "CHECK_STATUS_CODES",
    "night_registry",
    "publish_metrics",
    "push_metrics",
    "write_metrics_file",
]

#: A check's status as a number (higher is worse).
CHECK_STATUS_CODES: dict[str, int] = {"ok": 0, "insufficient_data": 1, "warning": 2, "breach": 3}
JOB = "modelhealth"
_HELP = {
    "status_code": "Model status: 0 healthy, 1 insufficient_data, 2 warning, 3 breach, 4 blind",
    "n_rows": "Rows used in the night's window",
    "n_labeled": "Labeled rows in the night's window",
    "n_quarantined": "Rows quarantined (broke the log contract)",
    "breaches": "Entries of the report's breaches list (warnings included)",
    "quality": "Accuracy of correct, or mean quality_score",
    "error_rate": "Share of rows with a hard error",
    "latency_p50": "Latency p50 in milliseconds",
    "latency_p95": "Latency p95 in milliseconds",
    "latency_p99": "Latency p99 in milliseconds",
    "ece": "Expected calibration error (15 equal-width bins)",
}


def night_registry(report: Report) -> CollectorRegistry:
    """A fresh registry holding the night's gauges (see the module docs)."""
    registry = CollectorRegistry()
    families: dict[str, Gauge] = {}
    for model in report.models:
        for measure, value in model_measures(model):
            if value is None or not math.isfinite(value):
                continue
            if measure not in families:
                families[measure] = Gauge(
                    f"modelhealth_{measure}",
                    _HELP.get(measure, f"{measure.replace('_', ' ')} (see report.json)"),
                    ["model_id"],
                    registry=registry,
                )
            families[measure].labels(model_id=model.model_id).set(float(value))
    status = Gauge(
        "modelhealth_check_status",
        "Check status: 0 ok, 1 insufficient_data, 2 warning, 3 breach",
        ["model_id", "check"],
        registry=registry,
    )
    observed = Gauge(
        "modelhealth_check_observed", "The check's observed value", ["model_id", "check"],
        registry=registry,
    )  # fmt: skip
    limit = Gauge(
        "modelhealth_check_limit", "The check's limit", ["model_id", "check"], registry=registry
    )
    for model in report.models:
        for check in model.checks:
            labels = {"model_id": model.model_id, "check": check.threshold}
            status.labels(**labels).set(CHECK_STATUS_CODES[check.status])
            if check.observed is not None and math.isfinite(check.observed):
                observed.labels(**labels).set(check.observed)
            if math.isfinite(check.limit):
                limit.labels(**labels).set(check.limit)
    night_end = datetime.fromisoformat(report.as_of).replace(tzinfo=timezone.utc)
    Gauge(
        "modelhealth_night_timestamp_seconds",
        "End of the night checked (UTC), in seconds since the epoch",
        registry=registry,
    ).set((night_end + timedelta(days=1)).timestamp())
    Gauge(
        "modelhealth_last_check_timestamp_seconds",
        "When the check ran, in seconds since the epoch",
        registry=registry,
    ).set(report.generated_at.timestamp())
    return registry


def write_metrics_file(report: Report, path: Path) -> Path:
    """The night's metrics as a Prometheus text file at ``path``, replaced atomically
    (point node_exporter's ``--collector.textfile.directory`` at its folder)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), night_registry(report))
    return path


def push_metrics(report: Report, url: str, *, timeout: float = 10.0) -> None:
    """Push the night's metrics to the Pushgateway at ``url`` (job ``modelhealth``,
    grouped by ``register``: a push replaces that register's series only).

    Raises ``OSError`` (``urllib.error.URLError``) when the gateway cannot be reached or
    refuses the push.
    """
    push_to_gateway(
        url,
        job=JOB,
        registry=night_registry(report),
        grouping_key={"register": report.register_name},
        timeout=timeout,
    )


def publish_metrics(
    report: Report, *, metrics_file: Path | None = None, pushgateway: str | None = None
) -> list[str]:
    """Write and/or push the night's metrics; returns what failed, in words (a failure
    never loses the report, which is already written)."""
    failed: list[str] = []
    if metrics_file is not None:
        try:
            write_metrics_file(report, metrics_file)
        except OSError as exc:
            failed.append(f"metrics file {metrics_file} not written: {exc}")
    if pushgateway is not None:
        try:
            push_metrics(report, pushgateway)
        except OSError as exc:
            failed.append(f"metrics not pushed to {pushgateway}: {exc}")
    return failed
