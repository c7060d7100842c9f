"""``modelhealth thresholds …``: validate, show and render the threshold register."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from modelhealth.cli.common import LISTING_FORMATS, fail, load_or_exit, out, print_listing
from modelhealth.cli.terminal import write_stdout
from thresholds.schema import ModelEntry

__all__ = ["RegisterPath", "app", "print_register_schema"]

app = typer.Typer(help="Validate, show and render the threshold register.", no_args_is_help=True)

RegisterPath = Annotated[Path, typer.Argument(help="Path to the threshold register (YAML).")]


@app.command("validate")
def thresholds_validate(path: RegisterPath) -> None:
    """Check a register; list every problem with file, line and field (exit 2 if any)."""
    loaded = load_or_exit(path)
    names = ", ".join(m.id for m in loaded.register.models)
    out.print(
        f"[green]ok[/] {escape(str(path))}: register {escape(repr(loaded.register.name))} "
        f"version {loaded.version}, {len(loaded.register.models)} models ({escape(names)})",
        highlight=False,
    )


@app.command("show")
def thresholds_show(
    path: RegisterPath,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Only this model.")] = None,
    output: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
) -> None:
    """Show the effective thresholds of each model after inheriting the defaults."""
    from thresholds.render import effective_thresholds_table

    if output not in LISTING_FORMATS:
        fail(f"--format must be one of {', '.join(LISTING_FORMATS)}, not {output!r}")
    loaded = load_or_exit(path)
    entries = loaded.register.models
    if model is not None:
        try:
            entries = [loaded.register.model(model)]
        except KeyError as exc:
            fail(str(exc.args[0]))
    if output != "table":
        rows = [
            {"model_id": entry.id, "setting": setting, "value": value, "unit": unit}
            for entry in entries
            for setting, value, unit in effective_thresholds_table(entry)
        ]
        print_listing(output, ["model_id", "setting", "value", "unit"], rows, lambda: None)
        return
    for entry in entries:
        table = Table(
            title=escape(f"{entry.id} (owner {entry.owner}, criticality {entry.criticality})"),
            title_justify="left",
        )
        table.add_column("setting")
        table.add_column("value", justify="right")
        table.add_column("unit")
        for setting, value, unit in effective_thresholds_table(entry):
            table.add_row(escape(setting), escape(value), escape(unit))
        out.print(table)


@app.command("render")
def thresholds_render(
    path: RegisterPath,
    format: Annotated[str, typer.Option("--format", "-f", help="md or json.")] = "md",
    output: Annotated[Path | None, typer.Option("--out", "-o", help="Write to a file.")] = None,
) -> None:
    """Render the register as the sign-off document (Markdown) or as effective JSON.

    The document gives each model's thresholds, approvers, ladder settings and review
    cadence protocol (review frequency, drift and alert triggers, events, sunset criteria).
    """
    from ladder.cadence import protocol_markdown, review_protocol
    from thresholds.render import render_json, render_markdown

    loaded = load_or_exit(path)
    if format not in ("md", "json"):
        fail(f"--format must be md or json, not {format!r}")

    def protocol(entry: ModelEntry) -> list[str]:
        return protocol_markdown(review_protocol(entry, loaded.register))

    text = render_markdown(loaded, appendix=protocol) if format == "md" else render_json(loaded)
    if output is None:
        write_stdout(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {output}", markup=False)


@app.command("schema")
def print_register_schema() -> None:
    """Print the register's JSON Schema (point your editor's YAML plugin at it)."""
    from thresholds.render import register_json_schema

    write_stdout(json.dumps(register_json_schema(), indent=2) + "\n")
