"""``modelhealth ladder outbox``: the notifications waiting, sent, and given up.

Only parsing and printing live here; the rows and the rules are :mod:`ladder.outbox`
and :mod:`ladder.delivery`. Nothing disappears silently: a message that could not be
delivered within the maximum age (72 hours) is a **dead letter**, listed here (and in the
report and its HTML banner) until someone sends it again with ``resend``. Exit codes:
0 done, 2 bad input (an id that is not a dead letter, an unusable store).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from ladder.delivery import MAX_AGE
from ladder.errors import LadderError
from ladder.identity import cli_origin, os_account, resolve_actor
from ladder.keys import open_store
from ladder.outbox import STATUSES, QueuedNotification, list_notifications, resend
from ladder.store import LadderStore, default_state_url
from modelhealth.cli.common import NowOpt, fail, load_or_exit, parse_moment
from thresholds.schema import Register

__all__ = ["outbox_app"]

outbox_app = typer.Typer(
    help=(
        "Notifications, newest first: what waits, what was sent, and the dead letters. A "
        "message not delivered within "
        f"{MAX_AGE.total_seconds() / 3600:g} hours is given up (a dead letter) and stays "
        "listed until `modelhealth ladder outbox resend` sends it again."
    ),
    invoke_without_command=True,
)

out = Console(highlight=False, soft_wrap=False, width=160)

StateOpt = Annotated[
    str | None,
    typer.Option(
        "--state",
        envvar="MODELHEALTH_STATE",
        show_default=False,
        help="SQLAlchemy URL of the state store (default: ./modelhealth-state.db).",
    ),
]


def _store(url: str | None, register: Register | None = None) -> LadderStore:
    """The store, with the audit key a register names (a resend writes an audit row)."""
    try:
        return open_store(url or default_state_url(), register)
    except LadderError as exc:
        fail(str(exc))


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _as_json(item: QueuedNotification) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "model_id": item.model_id,
        "step": None if item.step_id is None else f"step-{item.step_id}",
        "status": item.status,
        "recipients": list(item.recipients),
        "attempts": item.attempts,
        "resends": item.resends,
        "created_at": item.created_at,
        "queued_at": item.series_started,
        "next_attempt_at": item.next_attempt_at if item.status == "pending" else None,
        "sent_at": item.sent_at,
        "dead_at": item.dead_at,
        "last_error": item.last_error,
        "unroutable": bool(item.payload.get("unroutable")),
    }


@outbox_app.callback()
def outbox_list(
    ctx: typer.Context,
    status: Annotated[
        str, typer.Option("--status", help=f"Only these: {', '.join(STATUSES)} or all.")
    ] = "all",
    limit: Annotated[int, typer.Option("--limit", "-n", help="Newest N rows.")] = 50,
    output: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    state: StateOpt = None,
) -> None:
    """List the outbox: every notification with its status, attempts, next attempt and
    last error."""
    if ctx.invoked_subcommand is not None:
        return
    if status not in (*STATUSES, "all"):
        fail(f"--status must be one of {', '.join(STATUSES)} or all, not {status!r}")
    if output not in ("table", "json"):
        fail(f"--format must be table or json, not {output!r}")
    store = _store(state)
    try:
        rows = store.read(
            lambda c: list_notifications(
                c, status=None if status == "all" else status, limit=limit if limit > 0 else None
            )
        )
    finally:
        store.close()
    if output == "json":
        out.print_json(json.dumps([_as_json(r) for r in rows], default=_iso))
        return
    table = Table(title="Notification outbox")
    for column in (
        "id",
        "kind",
        "model",
        "step",
        "status",
        "tries",
        "queued (UTC)",
        "next / sent / dead (UTC)",
        "to",
        "last error",
    ):
        table.add_column(column)
    for r in rows:
        when = {"pending": r.next_attempt_at, "sent": r.sent_at, "dead": r.dead_at}.get(r.status)
        table.add_row(
            str(r.id),
            r.kind,
            r.model_id,
            "—" if r.step_id is None else f"step-{r.step_id}",
            r.status.upper() if r.status == "dead" else r.status,
            str(r.attempts),
            _when(r.series_started),
            _when(when),
            ", ".join(r.recipients) or "channel",
            (r.last_error[:80] + "…") if len(r.last_error) > 80 else r.last_error,
        )
    dead = sum(1 for r in rows if r.status == "dead")
    if dead:
        table.caption = (
            f"{dead} dead letter(s): `modelhealth ladder outbox resend ID` or "
            "`--all` sends them again"
        )
    out.print(table, markup=False)


@outbox_app.command("resend")
def outbox_resend(
    ids: Annotated[
        list[int] | None, typer.Argument(help="Dead letters to send again (ids from the list).")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every dead letter.")] = False,
    register: Annotated[
        Path | None,
        typer.Option(
            "--register",
            "-r",
            envvar="MODELHEALTH_REGISTER",
            show_default=False,
            help="Register: its audit key and identity settings (--as).",
        ),
    ] = None,
    as_user: Annotated[
        str | None, typer.Option("--as", help="Act as this person (if the register allows).")
    ] = None,
    state: StateOpt = None,
    now: NowOpt = None,
) -> None:
    """Queue dead letters again, due at once with a fresh maximum age (audited). The next
    `ladder tick --notify` or `check --notify` sends them."""
    if bool(ids) == every:
        fail("give the ids of the dead letters to resend, or --all")
    clock = parse_moment(now)
    person = os_account()
    reg = load_or_exit(register).register if register is not None else None
    if reg is not None:
        try:
            person = resolve_actor(reg, as_user=as_user)
        except LadderError as exc:
            fail(str(exc))
    elif as_user is not None:
        fail("--as needs --register (whose identity.allow_as decides whether it is allowed)")
    store = _store(state, reg)
    try:
        try:
            done = store.write(
                lambda c: resend(c, None if every else ids, now=clock, actor=person),
                origin=cli_origin(),
                actor=person,
            )
        except LadderError as exc:
            fail(str(exc))
    finally:
        store.close()
    if not done:
        out.print("no dead letter to resend", markup=False)
        return
    out.print(f"queued again: {', '.join(f'#{i}' for i in done)}", markup=False)
