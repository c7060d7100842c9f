"""`modelhealth demo`: a month of nightly checks on the shipped data, told as a story.

Every night of October 2026 runs the real nightly job — ingest, metrics, failure
modes, drift, the ladder decision, report.html, an MLflow run — on the embedded
defaults: SQLite state and a local MLflow store under the output folder. When the
ladder recommends a step, the example owners act on it the way a team would: a
second owner approves the next morning (separation of duties), after the reminders
the clocks send (30 minutes: the approvers; 2 hours: the next level), engineering
applies the rung when it is built, and the evaluation period decides whether it worked.
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
from ladder.identity import cli_origin
from ladder.incident_actions import BriefSent, current_review, record_review, send_brief
from ladder.incident_store import incident_facts
from ladder.outbox import list_notifications
from ladder.pins import current_pin
from ladder.post_incident import parse_follow_up
from ladder.stats import compute_stats
from ladder.store import LadderStore, list_escalations, load_state
from ladder.tokens import IssuedToken, create_token
from modelhealth.nightly import run_job
from modelhealth.outputs.records import render_brief_markdown, render_review_markdown
from modelhealth.ticking import run_tick
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
#: The owner briefs the stakeholders 90 minutes after the morning run that escalated.
BRIEF_AFTER = timedelta(minutes=90)
#: A post-incident review is opened the morning its incident resolves, closed a day later.
REVIEW_AFTER = timedelta(hours=4)
#: How long the desk token the demo issues for its approver lives (from the real clock).
DESK_TOKEN_DAYS = 30

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
    #: The process records written along the way (briefs, post-incident reviews).
    records: list[Path] = field(default_factory=list)
    #: A desk token for the demo's approver (``modelhealth serve`` on ``state_url``).
    desk_token: IssuedToken | None = None


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
    approvers: list[str] = []
    approved: dict[str, str] = {}
    evaluating: dict[str, str] = {}  # model -> rung under evaluation
    briefed: dict[str, int] = {}  # model -> escalation id its owner briefed about
    reviewing: dict[str, int] = {}  # model -> escalation id whose review is open
    records: list[Path] = []
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
                # In time order, so the audit log reads as the morning went: the first
                # reminder, the brief, the next level.
                (remind_at, remind_what), (next_at, next_what) = REMINDERS
                _remind(state_url, loaded, now + remind_at, rec.id, remind_what, say)
                briefing = _brief(state_url, loaded, model.model_id, now + BRIEF_AFTER, out_dir)
                if briefing is not None:
                    briefed[model.model_id], path = briefing
                    records.append(path)
                    say(
                        f"  [cyan]{now + BRIEF_AFTER:%m-%d %H:%M}[/] "
                        f"{escape(register.model(model.model_id).owner)} sends the stakeholder "
                        f"brief: {escape(str(path))}"
                    )
                _remind(state_url, loaded, now + next_at, rec.id, next_what, say)
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
            approvers.append(person)
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
                if model.model_id in briefed:
                    escalation_id = briefed.pop(model.model_id)
                    copies, opened = _after_resolution(
                        state_url, loaded, model.model_id, escalation_id, now, out_dir, say
                    )
                    records += copies
                    if opened:
                        reviewing[model.model_id] = escalation_id
                    continue
            if model.model_id in reviewing:
                records.append(
                    _close_review(
                        state_url,
                        loaded,
                        model.model_id,
                        reviewing.pop(model.model_id),
                        now,
                        out_dir,
                        say,
                    )
                )
        night += timedelta(days=1)

    assert report is not None
    end = datetime.combine(last + timedelta(days=1), RUN_AT, tzinfo=timezone.utc)
    with LadderStore(state_url) as store:
        stats = compute_stats(
            store.read(lambda conn: list_escalations(conn)),
            facts=store.read(incident_facts),
            now=end,
        )
    final = out_dir / "nights" / last.isoformat()
    html = out_dir / "report.html"
    shutil.copyfile(final / "report.html", html)
    for page in final.glob("drift-*.html"):
        shutil.copyfile(page, out_dir / page.name)
    desk_token = _issue_desk_token(state_url, loaded, approvers)
    if desk_token is not None:
        say(
            f"  [cyan]desk[/] {escape(desk_token.person)} gets a desk token to see the month on "
            f"the escalation desk (token-{desk_token.id}, valid {DESK_TOKEN_DAYS} days)"
        )
    say("")
    say(
        f"[bold]{(last - FIRST_NIGHT).days + 1} nights checked.[/] Ladder: "
        f"{stats.escalations} escalation(s); median time to detection "
        f"{_hours(stats.detection.median)}, to acknowledgement "
        f"{_hours(stats.acknowledgement.median)}, to communication "
        f"{_hours(stats.communication.median)}, to decision {_hours(stats.decision.median)}, "
        f"to resolution {_hours(stats.resolution.median)}; {stats.misses} SLA clock(s) ran out."
    )
    return DemoResult(
        out_dir=out_dir,
        last_report=report,
        html=html,
        state_url=state_url,
        tracking_uri=tracking_uri,
        story=story,
        records=records,
        desk_token=desk_token,
    )


#: The clocks tick (cron, or the desk) while nobody acknowledges the request: the
#: approvers are reminded after 30 minutes and the next level hears after 2 hours.
REMINDERS = (
    (timedelta(minutes=30), "nobody has acknowledged {step}: reminder to {who}"),
    (timedelta(hours=2), "{step} still unacknowledged: it goes to the next level ({who})"),
)


def _remind(
    state_url: str,
    loaded: LoadedRegister,
    when: datetime,
    step: str,
    what: str,
    say: Callable[[str], None],
) -> None:
    """Run the clocks at ``when`` and tell what they sent (queued in the outbox: the demo
    has no webhook)."""
    with LadderStore(state_url) as store:
        ticked = run_tick(store, loaded.register, now=when, notify_url=None)
        newest = store.read(lambda conn: list_notifications(conn, limit=1))
    if ticked.actions and newest:
        who = escape(", ".join(newest[0].recipients))
        say(f"  [cyan]{when:%m-%d %H:%M}[/] " + what.format(step=step, who=who))


def _issue_desk_token(
    state_url: str, loaded: LoadedRegister, approvers: list[str]
) -> IssuedToken | None:
    """A desk token for the person who approved in the story, issued through the real
    token path by an admin of the pinned register (the demo acts as named people), valid
    from the real clock so ``modelhealth serve`` accepts it now."""
    register = loaded.register
    with LadderStore(state_url) as store:
        pin = store.read(current_pin)
        if pin is None or not approvers:
            return None
        person = approvers[-1]
        admins = [p for p in sorted(pin.people) if pin.is_admin(p) and p != person]
        if not admins:
            return None
        return create_token(
            store,
            person=person,
            register=register,
            admin=admins[0],
            now=datetime.now(timezone.utc),
            lifetime=timedelta(days=DESK_TOKEN_DAYS),
            origin=cli_origin(),
        )


def _hours(value: timedelta | None) -> str:
    if value is None:
        return "—"
    hours = value.total_seconds() / 3600
    return f"{hours:.0f} h" if hours >= 10 else f"{hours:.1f} h"


def _write_brief(out_dir: Path, escalation_id: int, sent: BriefSent) -> Path:
    path = out_dir / f"brief-esc-{escalation_id}-v{sent.version}.md"
    path.write_text(render_brief_markdown(sent.brief, version=sent.version), encoding="utf-8")
    return path


def _brief(
    state_url: str, loaded: LoadedRegister, model_id: str, when: datetime, out_dir: Path
) -> tuple[int, Path] | None:
    """The owner sends the stakeholder brief of the model's open escalation (tier ≥ 2) and
    keeps a copy next to the reports; returns the escalation id and the copy."""
    register = loaded.register
    with LadderStore(state_url) as store:
        esc = store.read(lambda c: load_state(c, model_id, with_nights=False).open_escalation)
        if esc is None or esc.tier < register.model(model_id).ladder.incident.brief_min_tier:
            return None
        sent = send_brief(
            store,
            f"esc-{esc.id}",
            person=register.model(model_id).owner,
            register=register,
            now=when,
            render=render_brief_markdown,
        )
    return esc.id, _write_brief(out_dir, esc.id, sent)


def _after_resolution(
    state_url: str,
    loaded: LoadedRegister,
    model_id: str,
    escalation_id: int,
    now: datetime,
    out_dir: Path,
    say: Callable[[str], None],
) -> tuple[list[Path], bool]:
    """The morning an incident resolves its owner sends the closing brief and, for a
    tier-3 incident, opens its post-incident review. Returns the copies written and
    whether a review was opened."""
    register = loaded.register
    owner = register.model(model_id).owner
    ref = f"esc-{escalation_id}"
    with LadderStore(state_url) as store:
        final = send_brief(
            store,
            ref,
            person=owner,
            register=register,
            now=now + BRIEF_AFTER,
            render=render_brief_markdown,
        )
        written = [_write_brief(out_dir, escalation_id, final)]
        say(
            f"  [cyan]{now + BRIEF_AFTER:%m-%d %H:%M}[/] {escape(owner)} sends the closing "
            f"brief: {escape(str(written[0]))}"
        )
        if final.brief.tier < register.model(model_id).ladder.incident.review_min_tier:
            return written, False
        opened = now + REVIEW_AFTER
        review = record_review(store, ref, person=owner, register=register, now=opened).review
    say(
        f"  [cyan]{opened:%m-%d %H:%M}[/] {escape(owner)} opens the post-incident review of "
        f"{ref} (due {review.due_at:%m-%d %H:%M}): {len(review.sla_misses)} SLA miss(es) "
        "prefilled"
    )
    return written, True


def _close_review(
    state_url: str,
    loaded: LoadedRegister,
    model_id: str,
    escalation_id: int,
    now: datetime,
    out_dir: Path,
    say: Callable[[str], None],
) -> Path:
    """The day after, the owner writes up what went well and what to improve, adds a
    follow-up action and closes the review."""
    register = loaded.register
    owner = register.model(model_id).owner
    ref = f"esc-{escalation_id}"
    when = now + REVIEW_AFTER
    with LadderStore(state_url) as store:
        review = store.read(lambda c: current_review(c, escalation_id, now=when))
        follow = parse_follow_up(
            f"carol|{(when + timedelta(days=14)).date()}|page the on-call ML lead when a "
            "tier 3 step waits an hour unacknowledged",
            register.people,
        )
        closed = record_review(
            store,
            ref,
            person=owner,
            register=register,
            now=when,
            went_well=[
                f"{review.rung} recovered quality from the night it went live",
                "the stakeholders were briefed within two hours of the escalation",
            ],
            improve=[f"SLA: {miss}" for miss in review.sla_misses] or ["nothing ran late"],
            actions=[follow],
            close=True,
        ).review
    path = out_dir / f"post-incident-review-{ref}.md"
    path.write_text(render_review_markdown(closed), encoding="utf-8")
    say(
        f"  [cyan]{when:%m-%d %H:%M}[/] {escape(owner)} closes the post-incident review of "
        f"{ref} with {len(closed.actions)} follow-up action: {escape(str(path))}"
    )
    return path
