"""``modelhealth ladder brief | pir | sla-review``: the process records from the command line.

Mounted on the ``ladder`` app (:mod:`modelhealth.cli.ladder` imports this module last).
The records are built by :mod:`ladder.incident_actions` and laid out by
:mod:`modelhealth.outputs.records`, the same functions the desk calls. Exit codes as the
other ladder commands: 0 done, 2 bad input or refused, 4 the audit log does not prove
the state.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated

import click
import typer
from rich.table import Table
from sqlalchemy.engine import Connection

from ladder.incident_actions import (
    current_brief,
    current_review,
    parse_escalation_ref,
    queue_sla_review,
    record_review,
    send_brief,
    weekly_sla_review,
)
from ladder.incident_store import load_records
from ladder.pins import current_pin
from ladder.post_incident import due_reviews, parse_follow_up
from ladder.store import LadderStore
from ladder.weekly import parse_week
from modelhealth.cli.common import fail, parse_moment
from modelhealth.cli.common import out as wide
from modelhealth.cli.ladder import (
    AsOpt,
    RegisterOpt,
    StateOpt,
    _actor,
    _refusals,
    _register,
    _store,
    app,
    out,
)
from modelhealth.outputs.notify.outbox import deliver_due
from modelhealth.outputs.records import (
    parse_review_edit,
    render_brief_html,
    render_brief_markdown,
    render_review_html,
    render_review_json,
    render_review_markdown,
    render_sla_review_html,
    render_sla_review_markdown,
)
from thresholds.schema import Register

__all__ = ["brief_command", "pir_command", "sla_review_command"]

ClockOpt = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="The time to act at (ISO 8601; default: now). For replaying a "
        "timeline, tests and demos.",
    ),
]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Write the page to this file.")]
NotifyOpt = Annotated[
    str | None,
    typer.Option(
        "--notify",
        envvar="MODELHEALTH_NOTIFY_URL",
        help="Deliver what is due in the outbox to this webhook now.",
    ),
]


def _emit(text: str, path: Path | None) -> None:
    if path is None:
        out.print(
            text,
            end="" if text.endswith("\n") else "\n",
            markup=False,
            soft_wrap=True,
            highlight=False,
        )
        return
    path.write_text(text, encoding="utf-8")
    out.print(f"wrote {path}", markup=False)


def _format(value: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        fail(f"--format must be {' or '.join(allowed)}, not {value!r}")
    return value


def _deliver(store: LadderStore, url: str | None, now: datetime) -> None:
    if url is None:
        return
    run = deliver_due(store, url=url, now=now)
    out.print(f"delivered {run.sent} notification{'s' if run.sent != 1 else ''}", markup=False)
    for failure in run.failed:
        out.print(f"not delivered, kept for the next run: {failure}", markup=False, soft_wrap=True)


# -------------------------------------------------------------------- brief


@app.command("brief")
def brief_command(
    escalation: Annotated[str, typer.Argument(help="Escalation id, e.g. esc-3.")],
    output: Annotated[str, typer.Option("--format", "-f", help="md or html.")] = "md",
    out_file: OutOpt = None,
    send: Annotated[
        bool, typer.Option("--send", help="Send it through the outbox (only if it changed).")
    ] = False,
    notify: NotifyOpt = None,
    as_user: AsOpt = None,
    register: RegisterOpt = None,
    state: StateOpt = None,
    now: ClockOpt = None,
) -> None:
    """The stakeholder brief of an escalation (tier ≥ 2), in five steps.

    Impact, owner, what we know and do not, the action plan with owners and times, next update.

    With --send it is recorded and queued for delivery, once per content.

    "Time to communication" counts from the escalation opening to the first send.
    """
    fmt = _format(output, ("md", "html"))
    reg, clock = _register(register), parse_moment(now)
    store = _store(state, reg)
    try:
        with _refusals():
            escalation_id = parse_escalation_ref(escalation)
            if send:
                person = _actor(store, reg, as_user, subject=f"esc-{escalation_id}", now=clock)
                result = send_brief(
                    store,
                    escalation,
                    person=person,
                    register=reg,
                    now=clock,
                    render=render_brief_markdown,
                )
                brief, version = result.brief, result.version
            else:
                brief = store.read(
                    lambda c: current_brief(c, escalation_id, now=clock, register=reg)
                )
                version = None
        _deliver(store, notify if send else None, clock)
    finally:
        store.close()
    render: Callable[..., str] = render_brief_html if fmt == "html" else render_brief_markdown
    _emit(render(brief, version=version), out_file)
    if send:
        if result.sent:
            out.print(
                f"sent version {result.version} of the brief for esc-{escalation_id} to "
                f"{', '.join(result.recipients)} (outbox #{result.notification_id})",
                markup=False,
                soft_wrap=True,
            )
        else:
            out.print(
                f"unchanged since version {result.version}, sent "
                f"{result.previous_sent_at:%Y-%m-%d %H:%M} UTC: not sent again",
                markup=False,
                soft_wrap=True,
            )


# ---------------------------------------------------------------------- pir


def _people(store: LadderStore, reg: Register) -> list[str]:
    pin = store.read(current_pin)
    return sorted(pin.people if pin is not None else reg.people)


@app.command("pir")
def pir_command(
    escalation: Annotated[
        str | None, typer.Argument(help="Escalation id, e.g. esc-3 (omit with --list).")
    ] = None,
    output: Annotated[str, typer.Option("--format", "-f", help="md, html or json.")] = "md",
    out_file: OutOpt = None,
    went_well: Annotated[
        list[str] | None, typer.Option("--went-well", help="Add a line to what went well.")
    ] = None,
    improve: Annotated[
        list[str] | None, typer.Option("--improve", help="Add a line to what to improve.")
    ] = None,
    action: Annotated[
        list[str] | None,
        typer.Option("--action", help='Add a follow-up action: "OWNER|YYYY-MM-DD|what".'),
    ] = None,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Take the three editable sections from this file (one "
            "written with --format md, then edited).",
        ),
    ] = None,
    edit: Annotated[
        bool, typer.Option("--edit", help="Edit the three sections in $EDITOR.")
    ] = False,
    close: Annotated[bool, typer.Option("--close", help="Close the review.")] = False,
    list_: Annotated[
        bool, typer.Option("--list", help="List reviews: due, open and closed.")
    ] = False,
    as_user: AsOpt = None,
    register: RegisterOpt = None,
    state: StateOpt = None,
    now: ClockOpt = None,
) -> None:
    """The post-incident review of a closed escalation of tier ≥ 3; --list lists them.

    Opened prefilled: timeline, SLA misses, what the rung changed, the incident it repeats.

    Complete it with --went-well, --improve and --action, then --close.

    Or round-trip a file: `ladder pir esc-3 -o pir.md`, edit, `ladder pir esc-3 --from pir.md`.
    """
    fmt = _format(output, ("md", "html", "json"))
    reg, clock = _register(register), parse_moment(now)
    if list_:
        _list_reviews(reg, state, clock, fmt)
        return
    if escalation is None:
        fail("name the escalation (esc-3), or list reviews with --list")
    store = _store(state, reg)
    try:
        with _refusals():
            escalation_id = parse_escalation_ref(escalation)
            person = _actor(store, reg, as_user, subject=f"esc-{escalation_id}", now=clock)
            people = _people(store, reg)
            try:
                follow = [parse_follow_up(a, people) for a in action or []]
                replace = None
                if from_file is not None or edit:
                    text = _edited(store, escalation_id, clock, from_file)
                    if text is not None:
                        replace = parse_review_edit(text, people).as_replacement()
            except ValueError as exc:
                fail(str(exc))
            result = record_review(
                store,
                escalation,
                person=person,
                register=reg,
                now=clock,
                went_well=went_well or [],
                improve=improve or [],
                actions=follow,
                replace=replace,
                close=close,
            )
    finally:
        store.close()
    renderers = {
        "md": render_review_markdown,
        "html": render_review_html,
        "json": render_review_json,
    }
    _emit(renderers[fmt](result.review), out_file)
    for change in result.changes:
        out.print(change, markup=False, soft_wrap=True)


def _edited(
    store: LadderStore, escalation_id: int, clock: datetime, path: Path | None
) -> str | None:
    if path is not None:
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"cannot read {path}: {exc.strerror or exc}")
    review = store.read(lambda c: current_review(c, escalation_id, now=clock))
    edited: str | None = click.edit(render_review_markdown(review), extension=".md")
    return edited


def _list_reviews(reg: Register, state: str | None, clock: datetime, fmt: str) -> None:
    store = _store(state, reg)
    try:

        def gather(conn: Connection) -> list[dict[str, object]]:
            records = load_records(conn)
            due = {d.escalation_id: d for d in due_reviews(records, clock)}
            rows = []
            for facts in records.facts:
                esc = facts.escalation
                review = records.reviews.get(esc.id)
                if review is None and esc.id not in due:
                    continue
                item = due.get(esc.id)
                rows.append(
                    {
                        "escalation": f"esc-{esc.id}",
                        "model_id": esc.model_id,
                        "tier": esc.tier,
                        "failure_mode": esc.dominant_mode,
                        "status": review.status if review is not None else "not opened",
                        "due_at": (
                            review.due_at
                            if review is not None
                            else item.due_at
                            if item is not None
                            else None
                        ),
                        "overdue": bool(item is not None and item.overdue),
                        "closed_at": review.closed_at if review is not None else None,
                        "closed_by": review.closed_by if review is not None else None,
                        "actions": len(review.actions) if review is not None else 0,
                        "repeat_of": (
                            f"esc-{review.repeat_of}"
                            if review is not None and review.repeat_of is not None
                            else None
                        ),
                    }
                )
            return rows

        with _refusals():
            rows = store.read(gather)
    finally:
        store.close()
    if fmt == "json":
        out.print_json(json.dumps(rows, default=str))
        return
    table = Table(title="Post-incident reviews")
    for column in (
        "Escalation",
        "Model",
        "Tier",
        "Mode",
        "Status",
        "Due (UTC)",
        "Closed",
        "Actions",
        "Repeats",
    ):
        table.add_column(column)
    for r in rows:
        due_at = r["due_at"]
        status = str(r["status"]) + (" (OVERDUE)" if r["overdue"] else "")
        closed = r["closed_at"]
        table.add_row(
            str(r["escalation"]),
            str(r["model_id"]),
            str(r["tier"]),
            str(r["failure_mode"] or "—"),
            status,
            due_at.strftime("%Y-%m-%d %H:%M") if isinstance(due_at, datetime) else "—",
            f"{closed:%Y-%m-%d} by {r['closed_by']}" if isinstance(closed, datetime) else "—",
            str(r["actions"]),
            str(r["repeat_of"] or "—"),
        )
    if not rows:
        out.print("no post-incident review is due, open or closed", markup=False)
        return
    # Off a terminal the shared console is 140 columns wide: the table stays readable in logs.
    wide.print(table, markup=False)


# --------------------------------------------------------------- sla-review


@app.command("sla-review")
def sla_review_command(
    week: Annotated[
        str, typer.Option("--week", help="ISO week (2026-W43), last or this.")
    ] = "last",
    output: Annotated[str, typer.Option("--format", "-f", help="md or html.")] = "md",
    out_file: OutOpt = None,
    send: Annotated[
        bool, typer.Option("--send", help="Queue it in the outbox (once per week and content).")
    ] = False,
    notify: NotifyOpt = None,
    register: RegisterOpt = None,
    state: StateOpt = None,
    now: ClockOpt = None,
) -> None:
    """The weekly SLA-miss review: every clock that ran out, and what to tune.

    Acknowledgement, decision, communication and review clocks by tier, owner and model.

    Next to the week before, with where a threshold or window should change.

    Schedule it weekly: `0 8 * * MON modelhealth ladder sla-review --send`.
    """
    fmt = _format(output, ("md", "html"))
    clock = parse_moment(now)
    reg = _register(register) if register is not None else None
    try:
        chosen = parse_week(week, now=clock)
    except ValueError as exc:
        fail(str(exc))
    store = _store(state, reg)
    try:
        with _refusals():
            review = store.read(
                lambda c: weekly_sla_review(c, week=chosen, now=clock, register=reg)
            )
            text = render_sla_review_markdown(review)
            queued = False
            if send:
                leads = sorted(
                    p for p, roles in (reg.people if reg else {}).items() if "ml_lead" in roles
                )
                queued = queue_sla_review(store, review, text=text, now=clock, recipients=leads)
            _deliver(store, notify if send else None, clock)
    finally:
        store.close()
    _emit(render_sla_review_html(review) if fmt == "html" else text, out_file)
    if send:
        out.print(
            f"queued the review of {review.week}"
            if queued
            else f"the review of {review.week} was already queued with this content",
            markup=False,
        )
