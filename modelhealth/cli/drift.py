"""``modelhealth drift report``: one model's drift for one night, with Evidently's page.

The nightly check measures drift over every row (``monitor.drift``) and renders
Evidently's drill-down page only for the models whose columns drifted, and only for
those columns. This command does the same for any model and night on demand: it reads
the logs for that model alone (one streaming pass, the check's own ingest and
summaries), prints the night's per-column drift as ``check`` computes it, and writes
Evidently's page for every compared column (``--drifted-only``: the drifted ones),
drawn from the windows' bounded samples (``thresholds.drift.sample_size`` rows each).

Exit codes: 0 ran (drifted or not), 2 bad input (register, model, night, logs), 3 a bug.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelhealth.cli.common import (
    LogsOpt,
    RegisterOpt,
    fail,
    load_or_exit,
    out,
    print_listing,
)

if TYPE_CHECKING:
    from monitor.report import DriftSummary
    from monitor.stats.aggregates import ModelAggregate
    from thresholds.loader import LoadedRegister
    from thresholds.schema import DriftLimits

__all__ = ["app", "drift_report"]

app = typer.Typer(
    help="Drift drill-down: a model's per-column drift for one night and Evidently's page.",
    no_args_is_help=True,
)

_COLUMNS = (
    "column",
    "kind",
    "method",
    "statistic",
    "statistic_low",
    "statistic_high",
    "threshold",
    "drifted",
    "n_current",
    "n_reference",
)


@app.command("report")
def drift_report(
    model: Annotated[str, typer.Option("--model", "-m", help="Model id in the register.")],
    register: RegisterOpt,
    logs: LogsOpt,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Night (YYYY-MM-DD, UTC). Default: yesterday."),
    ] = None,
    labels: Annotated[
        Path | None, typer.Option(help="Late-arriving labels joined by prediction_id.")
    ] = None,
    out_dir: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Folder for the page (drift-<model>.html, as `check` names it)."
        ),
    ] = Path("out"),
    drifted_only: Annotated[
        bool,
        typer.Option(
            "--drifted-only",
            help="Put only the drifted columns on the page, as the nightly check does.",
        ),
    ] = False,
    output: Annotated[
        str, typer.Option("--format", help="table, json or csv (the per-column drift).")
    ] = "table",
) -> None:
    """Compute MODEL's drift for the night over every row (as `check` does), print it per
    column, and write Evidently's interactive page, drawn from bounded samples.

    Example: modelhealth drift report --model churn-classifier --as-of 2026-10-30
    --register register.yaml --logs logs/ --out drift-pages/
    """
    from monitor.check import drift_page_path
    from monitor.drift import compute_drift
    from monitor.windows import default_as_of, parse_as_of

    try:
        night = parse_as_of(as_of) if as_of else default_as_of(datetime.now(timezone.utc))
    except ValueError as exc:
        fail(str(exc))
    loaded = load_or_exit(register)
    try:
        entry = loaded.register.model(model)
    except KeyError as exc:
        fail(str(exc.args[0]))
    if out_dir.exists() and not out_dir.is_dir():
        fail(f"--out {out_dir} is a file; give a folder for the drift page")
    aggregate = _summarize(loaded, logs, model, night, labels)
    limits = entry.thresholds.drift.model_copy(update={"enabled": True})
    summary = compute_drift(aggregate.current, aggregate.reference, limits, model_id=model)
    columns = [c.column for c in summary.columns if c.drifted] if drifted_only else None
    page: Path | None = None
    if summary.skipped_reason is None and (columns is None or columns):
        from monitor.drift_evidently import drift_page

        page = drift_page(
            aggregate.current,
            aggregate.reference,
            limits,
            path=drift_page_path(out_dir, model),
            model_id=model,
            columns=columns,
        )
    _print(summary, output)
    _say(summary, page, output, drifted_only=drifted_only, limits=entry.thresholds.drift)


def _summarize(
    loaded: LoadedRegister, logs: list[str], model: str, night: date, labels: Path | None
) -> ModelAggregate:
    """One streaming pass over the logs, folding only ``model``'s rows."""
    from monitor.chunk import WindowBounds
    from monitor.engines.base import fold_chunks, new_aggregates
    from monitor.errors import MonitorError
    from monitor.ingest import IngestStats, read_logs
    from monitor.ingest.sources import is_url
    from monitor.windows import window_bounds

    for path in logs:
        if not is_url(path) and not Path(path).exists():
            fail(f"logs not found: {path}")
    if labels is not None and not labels.exists():
        fail(f"labels file not found: {labels}")
    register = loaded.register
    nothing = WindowBounds(0, 0, 0)  # other models' rows are dropped as they are read
    bounds = {e.id: window_bounds(e, night) if e.id == model else nothing for e in register.models}
    try:
        chunks = read_logs(
            [p if is_url(p) else Path(p) for p in logs],
            register,
            bounds,
            labels=labels,
            stats=IngestStats(),
        )
        return fold_chunks(chunks, new_aggregates(register, bounds))[model]
    except MonitorError as exc:
        fail(str(exc))


def _print(summary: DriftSummary, output: str) -> None:
    rows = [{name: getattr(c, name) for name in _COLUMNS} for c in summary.columns]

    def table() -> object:
        from rich.table import Table

        grid = Table(title="drift over every row (Evidently's methods and thresholds)")
        for name in ("column", "method", "statistic", "threshold", "drifted", "rows cur/ref"):
            grid.add_column(name, justify="right" if name in ("statistic", "threshold") else "left")
        for c in summary.columns:
            grid.add_row(
                c.column,
                c.method,
                "" if c.statistic is None else f"{c.statistic:.4g}",
                "" if c.threshold is None else f"{c.threshold:g}",
                "DRIFTED" if c.drifted else "no",
                "" if c.n_current is None else f"{c.n_current:,} / {c.n_reference or 0:,}",
            )
        return grid

    print_listing(output, _COLUMNS, rows, table)


def _say(
    summary: DriftSummary,
    page: Path | None,
    output: str,
    *,
    drifted_only: bool,
    limits: DriftLimits,
) -> None:
    """What was (not) done, for people; on stderr when stdout carries JSON or CSV."""
    from modelhealth.cli.common import err

    console = out if output == "table" else err
    if not limits.enabled:
        console.print(
            "note: drift is disabled for this model in the register; computed anyway.",
            markup=False,
        )
    if summary.skipped_reason:
        console.print(f"drift not computed: {summary.skipped_reason}", markup=False)
    if summary.note:
        console.print(summary.note, markup=False)
    if page is not None:
        console.print(
            f"Evidently's page ({'drifted columns' if drifted_only else 'every compared column'}"
            f", on samples of at most {limits.sample_size:,} rows a window): {page}",
            markup=False,
        )
    elif drifted_only and summary.skipped_reason is None:
        console.print("no column drifted: no page written (--drifted-only)", markup=False)
