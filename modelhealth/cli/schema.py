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
