"""`modelhealth demo`: a month of nightly checks on the shipped data, told as a story.

Every night of October 2026 runs the real nightly job — ingest, metrics, failure
modes, drift, the ladder decision, report.html, an MLflow run — on the embedded
defaults: SQLite state and a local MLflow store under the output folder. When the
ladder recommends a step, the example owners act on it the way a team would: a
second owner approves the next morning (separation of duties), engineering applies
the rung when it is built, and the evaluation period decides whether it worked.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ladder.actions import apply_step, approve
from ladder.errors import Refused
from ladder.stats import compute_stats
from ladder.store import LadderStore, list_escalations
from modelhealth.nightly import run_job
from monitor.check import CheckOptions
from monitor.report import Report
from thresholds.loader import LoadedRegister

__all__ = ["DEMO_MARKER", "DemoFolderRefused", "DemoResult", "run_demo"]

#: The file that marks a folder as the demo's own: only such a folder (or an empty one)
#: is emptied without ``force``.
DEMO_MARKER = ".modelhealth-demo"


class DemoFolderRefused(Exception):
    """The output folder holds files the demo did not write."""

FIRST_NIGHT = date(2026, 10, 1)
LAST_NIGHT = date(2026, 10, 30)
#: When the nightly job runs: 06:00 UTC the morning after the night it checks.
RUN_AT = time(6, 0)
#: The retrieval index is rebuilt and switched on at midnight before the 24th.
APPLY_AT = datetime(2026, 10, 24, 0, 0, tzinfo=timezone.utc)

COLOURS = {
    "healthy": "green",
    "warning": "yellow",
    "breach": "red",
    "blind": "red",
    "insufficient_data": "blue",
}


@dataclass
class DemoResult:
    """What the month produced."""

    out_dir: Path
    last_report: Report
    html: Path
    state_url: str
    tracking_uri: str
    story: list[str] = field(default_factory=list)


def _approver(report: Report, model_id: str, requester: str) -> str | None:
    model = next(m for m in report.models if m.model_id == model_id)
    rec = model.recommendation
    if rec is None:
        return None
    others = [p for p in rec.approvers if p != requester]
    return others[0] if others else None


def run_demo(
    loaded: LoadedRegister,
    logs: Path,
    out_dir: Path,
    *,
    console: Console | None = None,
    nights: int | None = None,
    on_night: Callable[[Report], None] | None = None,
    force: bool = False,
) -> DemoResult:
    """Run the demo month into ``out_dir`` and return where things are.

    ``out_dir`` is emptied first when it is empty, or a folder an earlier demo wrote
    (it holds :data:`DEMO_MARKER`), or ``force`` is given; any other folder is refused
    with :class:`DemoFolderRefused`, so a mistyped ``--out`` never deletes someone's files.
    """
    console = console or Console()
    if out_dir.exists():
        if not out_dir.is_dir():
            raise DemoFolderRefused(f"{out_dir} is a file, not a folder")
        ours = (out_dir / DEMO_MARKER).is_file()
        if not force and not ours and any(out_dir.iterdir()):
            raise DemoFolderRefused(
                f"{out_dir} is not empty and was not written by modelhealth demo; give an "
                "empty or new folder with --out, or --force to empty it"
            )
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    (out_dir / DEMO_MARKER).write_text(
        "Written by `modelhealth demo`: the next demo run may empty this folder.\n",
        encoding="utf-8",
    )
    state_url = f"sqlite:///{(out_dir / 'state.db').resolve()}"
    tracking_uri = f"sqlite:///{(out_dir / 'mlflow.db').resolve()}"
    register = loaded.register
    last = LAST_NIGHT if nights is None else FIRST_NIGHT + timedelta(days=nights - 1)
    story: list[str] = []
    pending_approval: dict[str, str] = {}  # step id -> model
    approved: dict[str, str] = {}
    evaluating: dict[str, str] = {}  # model -> rung under evaluation
    report: Report | None = None

    def say(line: str) -> None:
        story.append(line)
        console.print(line, highlight=False)

    night = FIRST_NIGHT
    while night <= last:
        now = datetime.combine(night + timedelta(days=1), RUN_AT, tzinfo=timezone.utc)
        with LadderStore(state_url) as store:
            # Engineering switches the approved rung on at midnight before the 24th.
            for step, model_id in list(approved.items()):
                if now >= APPLY_AT:
                    owner = register.model(model_id).owner
                    done = apply_step(store, step, person=owner, register=register, now=APPLY_AT)
                    say(
                        f"  [cyan]{APPLY_AT:%m-%d %H:%M}[/] {escape(owner)} applies "
                        f"{step}: {escape(done.message)}"
                    )
                    del approved[step]
        options = CheckOptions(
            logs=[logs],
            as_of=night,
            out_dir=out_dir / "nights" / night.isoformat(),
            now=now,
            drift_html=night == last,
        )
        result = run_job(loaded, options, state_url=state_url, tracking_uri=tracking_uri)
        report = result.report
        if on_night is not None:
            on_night(report)
        cells = []
        for model in report.models:
            colour = COLOURS[model.status]
            cells.append(f"{escape(model.model_id)} [{colour}]{model.status}[/]")
        say(f"night [bold]{night}[/]  " + "  ".join(cells))
        for model in report.models:
            rec = model.recommendation
            if rec is None or rec.id in pending_approval or rec.id in approved:
                continue
            if rec.status.startswith("pending") and rec.rung:
                breaches = ", ".join(b.threshold for b in model.breaches if b.level != "warning")
                say(
                    f"  [red]escalation[/] {escape(model.model_id)}: {escape(breaches)} → "
                    f"dominant mode [bold]{escape(model.dominant_failure_mode or '-')}[/]; "
                    f"ladder recommends [bold]{escape(rec.rung)}[/] ({rec.id}, tier {rec.tier}, "
                    f"{rec.currency} {rec.estimated_cost or 0:,.0f})"
                )
                pending_approval[rec.id] = model.model_id
        # The morning after a recommendation, a second owner approves it.
        for step, model_id in list(pending_approval.items()):
            requester = register.model(model_id).owner
            person = _approver(report, model_id, requester)
            if person is None:
                continue
            when = now + timedelta(hours=3)
            with LadderStore(state_url) as store:
                try:
                    done = approve(
                        store,
                        step,
                        person=person,
                        register=register,
                        now=when,
                        reason="the hallucinations match the missing policy index",
                    )
                except Refused as exc:
                    say(f"  approval by {escape(person)} refused: {escape(str(exc))}")
                    continue
            say(
                f"  [cyan]{when:%m-%d %H:%M}[/] {escape(person)} approves {step}: "
                f"{escape(done.message)}"
            )
            del pending_approval[step]
            approved[step] = model_id
        for model in report.models:
            rec = model.recommendation
            if rec is not None and rec.status == "evaluating":
                evaluating[model.model_id] = rec.rung or ""
            elif model.model_id in evaluating and (rec is None or rec.status != "evaluating"):
                rung = evaluating.pop(model.model_id)
                verdict = (
                    f"recovery held through the evaluation period; {escape(rung)} is now in force"
                    if model.ladder_position == rung
                    else f"evaluation of {escape(rung)} ended: {escape(rec.summary if rec else '')}"
                )
                say(f"  [green]resolved[/] {escape(model.model_id)}: {verdict}")
        night += timedelta(days=1)

    assert report is not None
    with LadderStore(state_url) as store:
        stats = compute_stats(store.read(lambda conn: list_escalations(conn)))
    final = out_dir / "nights" / last.isoformat()
    html = out_dir / "report.html"
    shutil.copyfile(final / "report.html", html)
    for page in final.glob("drift-*.html"):
        shutil.copyfile(page, out_dir / page.name)
    say("")
    say(
        f"[bold]{(last - FIRST_NIGHT).days + 1} nights checked.[/] Ladder: "
        f"{stats.escalations} escalation(s); median time to detection "
        f"{_hours(stats.detection.median)}, to decision {_hours(stats.decision.median)}, "
        f"to resolution {_hours(stats.resolution.median)}."
    )
    return DemoResult(
        out_dir=out_dir,
        last_report=report,
        html=html,
        state_url=state_url,
        tracking_uri=tracking_uri,
        story=story,
    )


def _hours(value: timedelta | None) -> str:
    return "—" if value is None else f"{value.total_seconds() / 3600:.0f} h"
