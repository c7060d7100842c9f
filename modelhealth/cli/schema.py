"""``modelhealth schema …``: the JSON Schemas of the files modelhealth reads and writes."""

from __future__ import annotations

import json

import typer

from modelhealth.cli.terminal import write_stdout
from modelhealth.cli.thresholds import print_register_schema

__all__ = ["app"]

app = typer.Typer(
    help="Print JSON Schemas of the files modelhealth reads and writes.", no_args_is_help=True
)


@app.command("register")
def schema_register() -> None:
    """JSON Schema of the threshold register."""
    print_register_schema()


@app.command("report")
def schema_report() -> None:
    """JSON Schema of report.json (validate reports in downstream pipelines with it)."""
    from monitor.report import report_json_schema

    write_stdout(json.dumps(report_json_schema(), indent=2) + "\n")


@app.command("logs")
def schema_logs() -> None:
    """JSON Schema of one prediction-log row (the log contract: docs/log-contract.md)."""
    from monitor.ingest.contract import log_row_json_schema

    write_stdout(json.dumps(log_row_json_schema(), indent=2) + "\n")
