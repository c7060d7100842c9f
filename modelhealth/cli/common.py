"""What every ``modelhealth`` command shares: the consoles, the exit codes, one way to fail
with a message, one register loader, one clock parser and one progress bar.

Exit codes (documented in README.md):

* 0 — the command ran (for ``check``: no finding at or above ``--fail-on``);
* 1 — a finding (``check`` at or above ``--fail-on``), and nothing else;
* 2 — bad input or configuration, with a message that says what to fix;
* 3 — an internal error, a bug (:mod:`modelhealth.cli.crash`: one line and a log file);
* 4 — the audit log does not prove the ladder's state (``ladder audit verify``).

Every console here is a :class:`~modelhealth.cli.terminal.SafeConsole`: ids and values
from logs and registers are printed with their control characters escaped.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.markup import escape

from modelhealth.cli.crash import EXIT_INTERNAL
from modelhealth.cli.terminal import SafeConsole, printable, write_stdout
from thresholds.errors import RegisterError
from thresholds.loader import LoadedRegister, load_register

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_FINDING",
    "EXIT_INTERNAL",
    "EXIT_OK",
    "LISTING_FORMATS",
    "NOW_HELP",
    "LogsOpt",
    "NowOpt",
    "RegisterOpt",
    "err",
    "fail",
    "load_or_exit",
    "out",
    "parse_moment",
    "print_listing",
    "progress_bar",
    "wide_console",
]

EXIT_OK = 0
EXIT_FINDING = 1
EXIT_BAD_INPUT = 2

#: What ``--now`` means, the same words on every command that takes it.
NOW_HELP = (
    "Act as if it were this moment (ISO 8601, e.g. 2026-10-19T09:30:00+02:00; without an "
    "offset, UTC) instead of the current time: for replays, backfills, demos and tests. "
    "Clocks, deadlines and the audit log use it."
)
NowOpt = Annotated[
    str | None, typer.Option("--now", help=NOW_HELP, show_default="the current time")
]

#: ``--register`` of the commands that read logs against a register.
RegisterOpt = Annotated[
    Path,
    typer.Option(
        "--register",
        "-r",
        envvar="MODELHEALTH_REGISTER",
        help="Threshold register (YAML); or $MODELHEALTH_REGISTER.",
    ),
]
#: ``--logs`` of the commands that read prediction logs.
LogsOpt = Annotated[
    list[str],
    typer.Option(
        "--logs",
        "-l",
        help="Prediction logs: Parquet file or directory, CSV or JSON Lines; a local "
        "path or an fsspec URL (s3://, gs://, abfs://, file://). Repeat for several.",
    ),
]

#: Columns of console output off a terminal (a pipe, a cron or CI log): wide enough that
#: no table is cut and no name shortened with "…"; rich would otherwise use 80.
OFF_TERMINAL_WIDTH = 400
#: ``--format`` of every listing command: a table for people, JSON or CSV for tools.
LISTING_FORMATS = ("table", "json", "csv")


def wide_console(**options: Any) -> SafeConsole:
    """A console for stdout that escapes control characters from data: the terminal's
    width, or :data:`OFF_TERMINAL_WIDTH` off one."""
    return SafeConsole(width=None if sys.stdout.isatty() else OFF_TERMINAL_WIDTH, **options)


out = wide_console()
# file:line: field lines stay whole for grep; messages quote names, never highlight them.
err = SafeConsole(stderr=True, soft_wrap=True, highlight=False)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code`` (2: bad input)."""
    # Messages quote file names, columns, ids and reasons people typed: never markup, and
    # one line whatever a quoted value holds.
    err.print(f"[bold red]error:[/] {escape(printable(message, keep_newlines=False))}")
    raise typer.Exit(code)


def print_listing(
    output: str,
    columns: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    table: Callable[[], Any],
    *,
    console: SafeConsole | None = None,
) -> None:
    """One listing as ``--format`` asks: ``table`` (``table()`` rendered by rich), ``json``
    (a list of objects) or ``csv`` (a header of ``columns``, then one line per row;
    nested values as JSON). Exits 2 for another format."""
    if output not in LISTING_FORMATS:
        fail(f"--format must be one of {', '.join(LISTING_FORMATS)}, not {output!r}")
    if output == "json":
        write_stdout(json.dumps(list(rows), indent=2, default=str) + "\n")
    elif output == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    key: json.dumps(value, default=str)
                    if isinstance(value, (dict, list))
                    else ("" if value is None else value)
                    for key, value in row.items()
                    if key in columns
                }
            )
        write_stdout(buffer.getvalue())
    else:
        (console or out).print(table(), markup=False)


def load_or_exit(path: Path) -> LoadedRegister:
    """Load a register or print every problem (file:line: field: reason) and exit 2."""
    try:
        return load_register(path)
    except RegisterError as exc:
        count = len(exc.problems)
        err.print(
            f"[bold red]error:[/] {count} problem{'s' if count != 1 else ''} in register "
            f"{escape(str(path))}:"
        )
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False)
        raise typer.Exit(EXIT_BAD_INPUT) from None


def parse_moment(text: str | None, *, option: str = "--now") -> datetime:
    """An aware UTC moment from ISO 8601 ``text`` (naive means UTC); now when ``None``.

    Exits 2 naming ``option`` when ``text`` is not ISO 8601.
    """
    if text is None:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option} must be ISO 8601, not {text!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def progress_bar() -> tuple[Callable[[int], None], Callable[[], None]]:
    """``(advance, stop)``: a rich bar of rows read on a terminal; silent otherwise (cron,
    CI, Airflow logs)."""
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
