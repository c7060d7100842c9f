"""``modelhealth people token …``: personal tokens for the escalation desk.

Only parsing and printing live here; the rules are :mod:`ladder.tokens`. Creating and
revoking are decisions of an admin of the pinned register (``identity.admin_roles``),
identified like every CLI decision (the real OS account, or ``--as`` where the pinned
register allows it). Exit codes: 0 done, 2 refused or bad input, 4 the audit log does
not prove the state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ladder.actions import audit_refusal, ensure_proven
from ladder.audit import Origin
from ladder.errors import LadderError, Refused, Tampered
from ladder.identity import cli_origin, resolve_actor
from ladder.keys import open_store
from ladder.store import LadderStore, default_state_url
from ladder.tokens import create_token, list_tokens, revoke_tokens
from modelhealth.cli.common import print_listing, wide_console
from thresholds.errors import RegisterError
from thresholds.loader import load_register
from thresholds.schema import Register, parse_duration

__all__ = ["people_app"]

T = TypeVar("T")

people_app = typer.Typer(
    help="People of the pinned register: desk tokens.", no_args_is_help=True
)
token_app = typer.Typer(help="Personal tokens for the escalation desk.", no_args_is_help=True)
people_app.add_typer(token_app, name="token")

out = wide_console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

RegisterOpt = Annotated[
    Path,
    typer.Option("--register", "-r", envvar="MODELHEALTH_REGISTER", help="Threshold register."),
]
StateOpt = Annotated[
    str | None,
    typer.Option("--state", envvar="MODELHEALTH_STATE", show_default=False,
                 help="SQLAlchemy URL of the state store [default: ./modelhealth-state.db]."),
]
AsOpt = Annotated[
    str | None, typer.Option("--as", help="Act as this admin (only if the register allows it).")
]
NowOpt = Annotated[str | None, typer.Option("--now", hidden=True, help="Fake clock (ISO 8601).")]


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _now(text: str | None) -> datetime:
    if text is None:
        return datetime.now(timezone.utc)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        _fail(f"--now must be ISO 8601, not {text!r}")
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _open(register: Path, state: str | None) -> tuple[Register, LadderStore]:
    try:
        reg = load_register(register).register
    except RegisterError as exc:
        _fail(f"{len(exc.problems)} problem(s) in the register: {exc.problems[0]}")
    try:
        return reg, open_store(state or default_state_url(), reg)
    except LadderError as exc:
        _fail(str(exc))


def _run_decision(store: LadderStore, reg: Register, as_user: str | None, subject: str,
                  now: datetime, work: Callable[[str, Origin], T]) -> T:
    origin = cli_origin()
    try:
        ensure_proven(store)
        admin = resolve_actor(reg, as_user=as_user)
    except Tampered as exc:
        _fail(str(exc), 4)
    except LadderError as exc:
        _fail(str(exc))
    try:
        return work(admin, origin)
    except Refused as exc:
        audit_refusal(store, actor=admin, action=subject, subject=subject, reason=str(exc),
                      now=now, origin=origin)
        _fail(str(exc))
    except LadderError as exc:
        _fail(str(exc))


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Argument(help="The person the token is for (pinned people).")],
    register: RegisterOpt,
    state: StateOpt = None,
    expires: Annotated[
        str, typer.Option("--expires", help="Lifetime: 90d, 12w, 36h … (at most 366d).")
    ] = "90d",
    as_user: AsOpt = None,
    now: NowOpt = None,
) -> None:
    """Issue a personal desk token for NAME; it is printed once and only its hash is kept."""
    try:
        lifetime = parse_duration(expires)
    except ValueError as exc:
        _fail(f"--expires: {exc}")
    clock = _now(now)
    reg, store = _open(register, state)
    try:
        issued = _run_decision(
            store, reg, as_user, "token.create", clock,
            lambda admin, origin: create_token(
                store, person=name, register=reg, admin=admin, now=clock, lifetime=lifetime,
                origin=origin,
            ),
        )
    finally:
        store.close()
    out.print(f"token-{issued.id} for {issued.person}, valid until "
              f"{issued.expires_at:%Y-%m-%d %H:%M} UTC. Shown once, keep it secret:",
              markup=False)
    out.print(issued.token, markup=False)


@token_app.command("revoke")
def token_revoke(
    ref: Annotated[str, typer.Argument(help="A token id (token-3 or 3) or a person's name.")],
    register: RegisterOpt,
    state: StateOpt = None,
    as_user: AsOpt = None,
    now: NowOpt = None,
) -> None:
    """Revoke one token, or every live token of a person."""
    clock = _now(now)
    reg, store = _open(register, state)
    try:
        ids = _run_decision(
            store, reg, as_user, "token.revoke", clock,
            lambda admin, origin: revoke_tokens(store, ref, register=reg, admin=admin,
                                                now=clock, origin=origin),
        )
    finally:
        store.close()
    out.print("revoked " + ", ".join(f"token-{i}" for i in ids), markup=False)


@token_app.command("list")
def token_list(
    register: RegisterOpt,
    state: StateOpt = None,
    output: Annotated[str, typer.Option("--format", "-f", help="table, json or csv.")] = "table",
    now: NowOpt = None,
) -> None:
    """Every token issued: whose, its last four characters, expiry and status."""
    clock = _now(now)
    _reg, store = _open(register, state)
    try:
        rows = store.read(list_tokens)
    finally:
        store.close()

    def table() -> Table:
        shown = Table(title="Desk tokens")
        for column in ("id", "person", "ends in", "created (UTC)", "by", "expires (UTC)",
                       "status"):
            shown.add_column(column)
        for t in rows:
            shown.add_row(f"token-{t.id}", t.person, f"…{t.hint}",
                          f"{t.created_at:%Y-%m-%d %H:%M}", t.created_by,
                          f"{t.expires_at:%Y-%m-%d %H:%M}", t.status(clock))
        return shown

    listing = [
        {"id": f"token-{t.id}", "person": t.person, "ends_in": t.hint,
         "created_at": t.created_at.isoformat(), "created_by": t.created_by,
         "expires_at": t.expires_at.isoformat(), "status": t.status(clock)}
        for t in rows
    ]
    columns = ["id", "person", "ends_in", "created_at", "created_by", "expires_at", "status"]
    print_listing(output, columns, listing, table, console=out)
