"""The ``modelhealth`` command line: the composition root of thresholds, monitor and ladder.

Exit codes (documented in README.md):

* 0 — the command ran (for ``check``: no finding at or above ``--fail-on``);
* 1 — ``check`` found something at or above ``--fail-on``;
* 2 — bad input or configuration, with a message that says what to fix.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ladder.commands import app as ladder_app
from thresholds.errors import RegisterError
from thresholds.loader import LoadedRegister, load_register

if TYPE_CHECKING:
    from monitor.check import CheckOptions
    from monitor.engines import Engine
    from monitor.report import Report

__all__ = ["app", "main"]

app = typer.Typer(
    name="modelhealth",
    help="Nightly health checks for production ML and LLM models, and the escalation ladder "
    "that turns a breach into an accountable, budgeted decision.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
thresholds_app = typer.Typer(
    help="Validate, show and render the threshold register.", no_args_is_help=True
)
schema_app = typer.Typer(
    help="Print JSON Schemas of the files modelhealth reads and writes.", no_args_is_help=True
)
app.add_typer(thresholds_app, name="thresholds")
app.add_typer(
    ladder_app,
    name="ladder",
    help="Escalation ladder: status, approvals, history, diagram, stats, events, audit.",
)
app.add_typer(schema_app, name="schema")

# Off a terminal (cron, CI logs) rich would wrap at 80 columns; logs are wider than that.
out = Console(width=None if sys.stdout.isatty() else 140)
err = Console(stderr=True, soft_wrap=True)  # file:line: field lines stay whole for grep

EXIT_OK = 0
EXIT_FINDING = 1
EXIT_BAD_INPUT = 2

RegisterPath = Annotated[Path, typer.Argument(help="Path to the threshold register (YAML).")]


def fail(message: str) -> NoReturn:
    """Print a user error and exit 2 (bad input or configuration)."""
    # Messages quote file names, columns and cell values: never let them be read as markup.
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(EXIT_BAD_INPUT)


def load_or_exit(path: Path) -> LoadedRegister:
    """Load a register or print every problem (file:line: field: reason) and exit 2."""
    try:
        return load_register(path)
    except RegisterError as exc:
        count = len(exc.problems)
        err.print(
            f"[bold red]error:[/] {count} problem{'s' if count != 1 else ''} in register "
            f"{escape(str(path))}:",
            highlight=False,
        )
        for problem in exc.problems:
            err.print(f"  {problem}", highlight=False, markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None


@thresholds_app.command("validate")
def thresholds_validate(path: RegisterPath) -> None:
    """Check a register; list every problem with file, line and field (exit 2 if any)."""
    loaded = load_or_exit(path)
    names = ", ".join(m.id for m in loaded.register.models)
    out.print(
        f"[green]ok[/] {escape(str(path))}: register {escape(repr(loaded.register.name))} "
        f"version {loaded.version}, {len(loaded.register.models)} models ({escape(names)})",
        highlight=False,
    )


@thresholds_app.command("show")
def thresholds_show(
    path: RegisterPath,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Only this model.")] = None,
) -> None:
    """Show the effective thresholds of each model after inheriting the defaults."""
    from thresholds.render import effective_thresholds_table

    loaded = load_or_exit(path)
    entries = loaded.register.models
    if model is not None:
        try:
            entries = [loaded.register.model(model)]
        except KeyError as exc:
            fail(str(exc.args[0]))
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


@thresholds_app.command("render")
def thresholds_render(
    path: RegisterPath,
    format: Annotated[str, typer.Option("--format", "-f", help="md or json.")] = "md",
    output: Annotated[Path | None, typer.Option("--out", "-o", help="Write to a file.")] = None,
) -> None:
    """Render the register as the sign-off document (Markdown) or as effective JSON."""
    from thresholds.render import render_json, render_markdown

    loaded = load_or_exit(path)
    if format not in ("md", "json"):
        fail(f"--format must be md or json, not {format!r}")
    text = render_markdown(loaded) if format == "md" else render_json(loaded)
    if output is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    else:
        output.write_text(text, encoding="utf-8")
        out.print(f"wrote {output}", markup=False)


@thresholds_app.command("schema")
def thresholds_schema() -> None:
    """Print the register's JSON Schema (point your editor's YAML plugin at it)."""
    from thresholds.render import register_json_schema

    sys.stdout.write(json.dumps(register_json_schema(), indent=2) + "\n")


@schema_app.command("register")
def schema_register() -> None:
    """JSON Schema of the threshold register."""
    thresholds_schema()


FAIL_ON_LEVELS = ("none", "warning", "breach", "tier3")


def findings_at_or_above(report: Report, level: str) -> list[str]:
    """Models whose findings reach ``--fail-on`` (the same rule notifications use)."""
    from monitor.notify import models_at_or_above

    return [model.model_id for model in models_at_or_above(report, level)]


def _progress_bar() -> tuple[Callable[[int], None], Callable[[], None]]:
    """A rich progress bar on a terminal; silent otherwise (cron, CI, Airflow logs)."""
    if not err.is_terminal:
        return (lambda _n: None), (lambda: None)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold]checking[/]"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("rows", total=None)
    bar.start()
    return (lambda n: bar.advance(task, n)), bar.stop


def _print_summary(report: Report, out_dir: Path) -> None:
    colour = {
        "healthy": "green",
        "warning": "yellow",
        "breach": "red",
        "blind": "red",
        "insufficient_data": "blue",
    }
    table = Table(
        title=escape(f"modelhealth check — {report.register_name} — night {report.as_of}"),
        title_justify="left",
    )
    for column in ("model", "status", "rows", "breaches", "dominant failure mode", "next step"):
        table.add_column(column)
    for m in report.models:
        findings = ", ".join(f"{b.threshold} ({b.level}, tier {b.tier})" for b in m.breaches) or "-"
        step = "-"
        if m.recommendation is not None:
            r = m.recommendation
            step = f"{r.rung or 'on-call'}: {r.status}"
        table.add_row(
            escape(m.model_id),
            f"[{colour[m.status]}]{m.status}[/]",
            f"{m.n_rows:,}",
            escape(findings),
            escape(m.dominant_failure_mode or "-"),
            escape(step),
        )
    out.print(table)
    ing = report.ingest
    out.print(
        f"rows read {ing.rows_read:,}: used {ing.rows_used:,}, quarantined "
        f"{ing.rows_quarantined:,}, duplicates {ing.rows_duplicate:,}, outside the windows "
        f"{ing.rows_out_of_window:,}",
        highlight=False,
    )
    out.print(f"report: {out_dir / 'report.json'}", highlight=False, markup=False)


@app.command("check")
def check(
    register: Annotated[Path, typer.Option("--register", "-r", help="Threshold register (YAML).")],
    logs: Annotated[
        list[Path],
        typer.Option(
            "--logs",
            "-l",
            help="Prediction logs: Parquet file or directory, CSV or "
            "JSON Lines. Repeat for several.",
        ),
    ],
    labels: Annotated[
        Path | None, typer.Option(help="Late-arriving labels joined by prediction_id.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Night to check (YYYY-MM-DD, UTC). Default: yesterday."),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out"),
    state: Annotated[
        str | None,
        typer.Option(
            help="Ladder state database (SQLAlchemy URL). Default: "
            "sqlite file modelhealth-state.db in the current folder."
        ),
    ] = None,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri",
            help="MLflow tracking URI. Default: sqlite file "
            "mlflow.db in the current folder (absolute sqlite:/// URI).",
        ),
    ] = None,
    no_tracking: Annotated[
        bool, typer.Option("--no-tracking", help="Do not record an MLflow run.")
    ] = False,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a finding reaches this level: none, "
            "warning, breach (breach or blind), tier3.",
        ),
    ] = "none",
    notify: Annotated[
        str | None,
        typer.Option("--notify", help="Slack-compatible webhook URL for findings."),
    ] = None,
    notify_level: Annotated[
        str, typer.Option("--notify-level", help="warning, breach or tier3.")
    ] = "breach",
    engine: Annotated[
        str, typer.Option("--engine", help="local, or dask (a LocalCluster, or --scheduler).")
    ] = "local",
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address (with --engine dask).")
    ] = None,
    no_drift: Annotated[bool, typer.Option("--no-drift", help="Skip Evidently drift.")] = False,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            help="text (default) or json: one JSON event per line "
            "on stderr (also MODELHEALTH_LOG_FORMAT).",
        ),
    ] = None,
    no_ladder: Annotated[
        bool, typer.Option("--no-ladder", help="Check only: no ladder, MLflow or notifications.")
    ] = False,
    now: Annotated[
        str | None, typer.Option(hidden=True, help="Fake clock (ISO 8601) for tests.")
    ] = None,
) -> None:
    """Run the nightly health check: report.json, report.html, quarantine, ladder, MLflow."""
    from monitor.check import CheckOptions, run_check
    from monitor.errors import MonitorError
    from monitor.windows import default_as_of, parse_as_of

    if fail_on not in FAIL_ON_LEVELS:
        fail(f"--fail-on must be one of {', '.join(FAIL_ON_LEVELS)}, not {fail_on!r}")
    if log_format not in (None, "text", "json"):
        fail(f"--log-format must be text or json, not {log_format!r}")
    if log_format is not None:
        from modelhealth.logs import configure_logging

        configure_logging(log_format)
    if notify_level not in FAIL_ON_LEVELS[1:]:
        fail(f"--notify-level must be one of warning, breach, tier3, not {notify_level!r}")
    clock = _parse_now(now)
    try:
        night = parse_as_of(as_of) if as_of else default_as_of(clock)
    except ValueError as exc:
        fail(str(exc))
    for path in logs:
        if not path.exists():
            fail(f"logs not found: {path}")
    if out_dir.exists() and not out_dir.is_dir():
        fail(
            f"--out {out_dir} is a file; give a folder for report.json, report.html and "
            "the quarantine"
        )
    if labels is not None and not labels.exists():
        fail(f"labels file not found: {labels}")
    loaded = load_or_exit(register)
    options = CheckOptions(
        logs=logs, labels=labels, as_of=night, out_dir=out_dir, now=clock, drift=not no_drift
    )
    chosen = _engine(engine, scheduler)
    advance, stop = _progress_bar()
    try:
        if no_ladder:
            report = run_check(loaded, options, engine=chosen, progress=advance)
        else:
            report = _run_nightly(
                loaded,
                options,
                state=state,
                no_tracking=no_tracking,
                tracking_uri=tracking_uri,
                notify=notify,
                notify_level=notify_level,
                engine=chosen,
                progress=advance,
            )
    except MonitorError as exc:
        stop()
        fail(str(exc))
    except OSError as exc:  # the output folder or a database file: full disk, permissions
        stop()
        where = f" {exc.filename}" if exc.filename else ""
        fail(f"cannot use{where}: {exc.strerror or exc}")
    finally:
        stop()
    _print_summary(report, out_dir)
    skipped = report.ingest.unreadable
    if skipped:
        # Exit 0 is still right (the rest was checked), but cron logs must say what was lost.
        err.print(
            f"warning: {len(skipped)} log file(s) could not be read and were skipped; their "
            f"models are reported as warning at best (report.json ingest.unreadable): "
            f"{', '.join(skipped)}",
            markup=False,
        )
    hits = findings_at_or_above(report, fail_on) if fail_on != "none" else []
    if hits:
        err.print(f"findings at or above --fail-on {fail_on}: {', '.join(hits)}", markup=False)
        raise typer.Exit(EXIT_FINDING)


def _run_nightly(
    loaded: LoadedRegister,
    options: CheckOptions,
    *,
    state: str | None,
    no_tracking: bool,
    tracking_uri: str | None,
    notify: str | None,
    notify_level: str,
    engine: Engine | None,
    progress: Callable[[int], None],
) -> Report:
    from ladder.errors import LadderError
    from ladder.store import default_state_url
    from modelhealth.nightly import run_nightly
    from monitor.tracking import default_tracking_uri

    try:
        result = run_nightly(
            loaded,
            options,
            state_url=state or default_state_url(),
            tracking_uri=None if no_tracking else (tracking_uri or default_tracking_uri()),
            notify_url=notify,
            notify_level=notify_level,
            engine=engine,
            progress=progress,
        )
    except LadderError as exc:
        fail(f"ladder state: {exc}")
    for failure in result.notifications_failed:
        err.print(f"warning: {failure} (queued for the next run)", markup=False)
    return result.report


def _engine(name: str, scheduler: str | None) -> Engine | None:
    if name == "local":
        if scheduler:
            fail("--scheduler goes with --engine dask")
        return None
    if name == "dask":
        try:
            from monitor.engines.dask import DaskEngine
        except ImportError:
            fail("the dask engine needs the extra: pip install 'modelhealth[dask]'")
        engine: Engine = DaskEngine(scheduler=scheduler)
        return engine
    fail(f"--engine must be local or dask, not {name!r}")


def _parse_now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--now must be ISO 8601, not {text!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


@schema_app.command("report")
def schema_report() -> None:
    """JSON Schema of report.json (validate reports in downstream pipelines with it)."""
    from monitor.report import report_json_schema

    sys.stdout.write(json.dumps(report_json_schema(), indent=2) + "\n")


@app.command("demo")
def demo(
    data: Annotated[Path, typer.Option(help="Folder with register.yaml and demo/logs.")] = Path(
        "data"
    ),
    out_dir: Annotated[Path, typer.Option("--out", "-o", help="Output folder (emptied).")] = Path(
        "demo-out"
    ),
    nights: Annotated[
        int | None, typer.Option(help="Only the first N nights (default: the whole month).")
    ] = None,
) -> None:
    """Run a month of nightly checks on the shipped data and tell the ladder's story."""
    import time

    from modelhealth.demo import run_demo

    register, logs = data / "register.yaml", data / "demo" / "logs"
    if not logs.is_dir():
        fail(f"demo logs not found at {logs}: run from the repository root, or pass --data")
    loaded = load_or_exit(register)
    out.print(
        f"[bold]modelhealth demo[/] — register {escape(repr(loaded.register.name))} "
        f"({loaded.version}), logs {escape(str(logs))}",
        highlight=False,
    )
    started = time.perf_counter()
    result = run_demo(loaded, logs, out_dir, console=out, nights=nights)
    elapsed = time.perf_counter() - started
    out.print(
        f"\nHTML report of the last night: [bold]{escape(str(result.html))}[/]", highlight=False
    )
    out.print(
        f"Ladder state: {result.state_url}  (try: modelhealth ladder history "
        f"--register {register} --state {result.state_url})",
        highlight=False,
        markup=False,
    )
    out.print(
        f"MLflow runs: {result.tracking_uri}  (mlflow ui --backend-store-uri "
        f"{result.tracking_uri})",
        highlight=False,
        markup=False,
    )
    out.print(f"Done in {elapsed:.0f} s.", highlight=False)


def main() -> None:
    """Console-script entry point."""
    from modelhealth.logs import configure_logging

    configure_logging()
    app()


if __name__ == "__main__":
    main()
