"""``modelhealth check``: the nightly health check, from the command line.

Writes report.json, report.html and the quarantine into ``--out``; with the ladder (the
default) it also records the night in the state store, logs an MLflow run and sends
notifications (:mod:`modelhealth.nightly`). Exit 1 when a finding reaches ``--fail-on``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from modelhealth.cli.common import (
    EXIT_FINDING,
    LogsOpt,
    NowOpt,
    RegisterOpt,
    err,
    fail,
    load_or_exit,
    out,
    parse_moment,
    progress_bar,
)
from modelhealth.cli.crash import remember_output_folder
from thresholds.loader import LoadedRegister

if TYPE_CHECKING:
    from monitor.check import CheckOptions
    from monitor.engines import Engine
    from monitor.report import Report

__all__ = ["FAIL_ON_LEVELS", "check", "findings_at_or_above"]


FAIL_ON_LEVELS = ("none", "warning", "breach", "tier3")


def findings_at_or_above(report: Report, level: str) -> list[str]:
    """Models whose findings reach ``--fail-on`` (the same rule notifications use)."""
    from modelhealth.outputs.notify import models_at_or_above

    return [model.model_id for model in models_at_or_above(report, level)]


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
            step = f"{r.rung or 'on-call'}: {r.status}" + (" (UNROUTABLE)" if r.unroutable else "")
        table.add_row(
            escape(m.model_id),
            f"[{colour[m.status]}]{m.status}[/]",
            f"{m.n_rows:,}",
            escape(findings),
            escape(m.dominant_failure_mode or "-"),
            escape(step),
        )
    out.print(table)
    # Notes come first from ingest (naive timestamps, the top quarantine reasons with an
    # example cell each), then from the judgement: a cron log keeps them all.
    for m in report.models:
        for note in m.notes:
            out.print(f"note: {m.model_id}: {note}", highlight=False, markup=False, soft_wrap=True)
    ing = report.ingest
    out.print(
        f"rows read {ing.rows_read:,}: used {ing.rows_used:,}, quarantined "
        f"{ing.rows_quarantined:,}, duplicates {ing.rows_duplicate:,}, outside the windows "
        f"{ing.rows_out_of_window:,}",
        highlight=False,
    )
    out.print(f"report: {out_dir / 'report.json'}", highlight=False, markup=False)


def check(
    register: RegisterOpt,
    logs: LogsOpt,
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
            envvar="MODELHEALTH_STATE",
            help="Ladder state database (SQLAlchemy URL); or $MODELHEALTH_STATE. Default: "
            "sqlite file modelhealth-state.db in the current folder.",
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
    mlflow_drift_pages: Annotated[
        bool,
        typer.Option(
            "--mlflow-drift-pages",
            help="Also log Evidently's drift pages (megabytes per model) to the MLflow run; "
            "they are always in --out.",
        ),
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
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            envvar="MODELHEALTH_PUBLIC_URL",
            help="The escalation desk's address (modelhealth serve): notifications link "
            "each step to its page there.",
        ),
    ] = None,
    metrics_file: Annotated[
        Path | None,
        typer.Option(
            "--metrics-file",
            help="Write the night's metrics and statuses here in the Prometheus text format "
            "(for node_exporter's textfile collector: a *.prom file in its folder).",
        ),
    ] = None,
    pushgateway: Annotated[
        str | None,
        typer.Option("--pushgateway", help="Push the same metrics to this Prometheus Pushgateway."),
    ] = None,
    engine: Annotated[
        str, typer.Option("--engine", help="local, or dask (a LocalCluster, or --scheduler).")
    ] = "local",
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="Dask scheduler address (with --engine dask).")
    ] = None,
    no_drift: Annotated[
        bool,
        typer.Option(
            "--no-drift",
            help="Skip data and prediction drift (measured over every row; Evidently's "
            "drill-down page is written only for models that drifted).",
        ),
    ] = False,
    memory_budget: Annotated[
        str | None,
        typer.Option(
            "--memory-budget",
            metavar="SIZE",
            help="Memory for de-duplicating prediction ids (per worker with --engine dask): "
            "256MiB, 1GiB, 512MB…; beyond it, sorted runs of id keys spill to the temp "
            "folder (TMPDIR) and the answer stays exact. Default: the register's "
            "ingest.memory_budget, else 256MiB.",
        ),
    ] = None,
    log_format: Annotated[
        str | None,
        typer.Option(
            "--log-format",
            help="text (default) or json: one JSON event per line "
            "on stderr (also MODELHEALTH_LOG_FORMAT).",
        ),
    ] = None,
    no_ladder: Annotated[
        bool,
        typer.Option(
            "--no-ladder",
            help="Check only, nothing recorded: report.json, report.html and the quarantine "
            "in --out; no state store, ladder decision, MLflow run or notification.",
        ),
    ] = False,
    partial: Annotated[
        bool,
        typer.Option(
            "--partial",
            help="Check a night that has not ended yet: the report is marked partial and "
            "nothing is recorded as the night's decision (no ladder, MLflow or notifications).",
        ),
    ] = False,
    redecide: Annotated[
        bool,
        typer.Option(
            "--redecide",
            help="Supersede the decision of a night already decided from a report that "
            "differs (audited under your OS account); without it the decision stands.",
        ),
    ] = False,
    now: NowOpt = None,
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
    if public_url is not None and not public_url.startswith(("http://", "https://")):
        fail(f"--public-url must be an http(s) URL, not {public_url!r}")
    budget = _memory_budget(memory_budget)
    clock = parse_moment(now)
    try:
        night = parse_as_of(as_of) if as_of else default_as_of(clock)
    except ValueError as exc:
        fail(str(exc))
    from monitor.ingest.sources import is_url

    for path in logs:
        if not is_url(path) and not Path(path).exists():
            fail(f"logs not found: {path}")
    if out_dir.exists() and not out_dir.is_dir():
        fail(
            f"--out {out_dir} is a file; give a folder for report.json, report.html and "
            "the quarantine"
        )
    if labels is not None and not labels.exists():
        fail(f"labels file not found: {labels}")
    remember_output_folder(out_dir)
    if partial and redecide:
        fail("--partial records nothing, so there is nothing to --redecide; give one of them")
    loaded = load_or_exit(register)
    _refuse_unfinished_night(loaded, night, clock, partial=partial)
    options = CheckOptions(
        logs=[p if is_url(p) else Path(p) for p in logs],
        labels=labels,
        as_of=night,
        out_dir=out_dir,
        now=clock,
        drift=not no_drift,
        partial=partial,
        memory_budget=budget,
    )
    chosen = _engine(engine, scheduler)
    advance, stop = progress_bar()
    try:
        if no_ladder:
            # Check only, nothing recorded: report.json, report.html and the quarantine in
            # --out, and nothing else (no state store, MLflow run or notification).
            report = run_check(loaded, options, engine=chosen, progress=advance, render=_plain_page)
        else:
            report = _run_job(
                loaded,
                options,
                state=state,
                no_tracking=no_tracking,
                tracking_uri=tracking_uri,
                mlflow_drift_pages=mlflow_drift_pages,
                notify=notify,
                notify_level=notify_level,
                public_url=public_url,
                engine=chosen,
                progress=advance,
                redecide=redecide,
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
    _say_reruns(report)
    if metrics_file is not None or pushgateway is not None:
        from modelhealth.outputs.metrics import publish_metrics

        for failure in publish_metrics(report, metrics_file=metrics_file, pushgateway=pushgateway):
            err.print(f"warning: {failure}", markup=False, soft_wrap=True)
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


def _refuse_unfinished_night(
    loaded: LoadedRegister, night: date, clock: datetime, *, partial: bool
) -> None:
    """A night is checked once it has ended; before that only with ``--partial``."""
    from monitor.check import plan_windows
    from monitor.windows import to_datetime

    ends = max(
        (to_datetime(b.current_end) for b in plan_windows(loaded.register, night).values()),
        default=None,
    )
    if ends is None or clock >= ends or partial:
        return
    fail(
        f"night {night} has not ended yet (it ends {ends:%Y-%m-%d %H:%M} UTC, now "
        f"{clock:%Y-%m-%d %H:%M} UTC): check it once it has ended, or pass --partial to look "
        "at it so far (marked partial, never recorded as the night's decision)"
    )


def _plain_page(report: Report) -> str:
    from modelhealth.outputs.html import render_html

    return render_html(report)


def _say_reruns(report: Report) -> None:
    """Loudly: a rerun differs from the night already decided."""
    for model in report.models:
        note = model.rerun
        if note is None:
            continue
        head = (
            "RERUN DIFFERS, DECISION STANDS"
            if note.outcome == "stands"
            else "NIGHT REDECIDED, OLD DECISION SUPERSEDED"
        )
        err.print(f"[bold red]{head}[/] {escape(model.model_id)}: {escape(note.message)}")
    if report.partial:
        err.print(
            f"[bold yellow]PARTIAL NIGHT[/] {report.as_of} had not ended: this report is "
            "marked partial and nothing was recorded as the night's decision"
        )


def _run_job(
    loaded: LoadedRegister,
    options: CheckOptions,
    *,
    state: str | None,
    no_tracking: bool,
    tracking_uri: str | None,
    mlflow_drift_pages: bool,
    notify: str | None,
    notify_level: str,
    public_url: str | None,
    engine: Engine | None,
    progress: Callable[[int], None],
    redecide: bool = False,
) -> Report:
    from ladder.errors import LadderError
    from ladder.identity import os_account
    from ladder.store import default_state_url
    from modelhealth.nightly import run_job
    from modelhealth.outputs.tracking import default_tracking_uri

    try:
        result = run_job(
            loaded,
            options,
            state_url=state or default_state_url(),
            tracking_uri=None if no_tracking else (tracking_uri or default_tracking_uri()),
            notify_url=notify,
            notify_level=notify_level,
            public_url=public_url,
            engine=engine,
            progress=progress,
            redecide_by=os_account() if redecide else None,
            mlflow_drift_pages=mlflow_drift_pages,
        )
    except LadderError as exc:
        fail(f"ladder state: {exc}")
    for failure in result.notifications_failed:
        err.print(f"warning: {failure} (queued for the next run)", markup=False)
    for failure in result.notifications_dead:
        err.print(f"warning: {failure}", markup=False)
    dead = result.report.outbox.dead if result.report.outbox else 0
    if dead:
        err.print(
            f"warning: {dead} notification(s) were given up (dead letters): `modelhealth "
            "ladder outbox --status dead` lists them, `modelhealth ladder outbox resend "
            "--all` sends them again",
            markup=False,
        )
    return result.report


def _memory_budget(text: str | None) -> int | None:
    """``--memory-budget`` in bytes; a size that is not one exits 2 saying what would do."""
    if text is None:
        return None
    from monitor.ingest.dedup_exact import parse_memory_budget

    try:
        return parse_memory_budget(text)
    except ValueError as exc:
        fail(f"--memory-budget: {exc}")


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
