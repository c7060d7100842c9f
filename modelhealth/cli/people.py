"""``modelhealth people token …`` and ``modelhealth people away …``: personal tokens for
the escalation desk, and absences with their delegates.

Only parsing and printing live here; the rules are :mod:`ladder.tokens` and
:mod:`ladder.absences`. Creating and revoking tokens are decisions of an admin of the
pinned register (``identity.admin_roles``); an absence is recorded by the person
themself or an admin. Both are identified like every CLI decision (the real OS account,
or ``--as`` where the pinned register allows it). Exit codes: 0 done, 2 refused or bad
input, 4 the audit log does not prove the state.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Annotated, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import typer
from rich.markup import escape
from rich.table import Table

from ladder.absences import clear_absence, list_absences, record_absence
from ladder.actions import audit_refusal, ensure_proven
from ladder.audit import Origin
from ladder.errors import LadderError, Refused, Tampered
from ladder.identity import cli_origin, resolve_actor
from ladder.keys import open_store
from ladder.store import LadderStore, default_state_url
from ladder.tokens import create_token, list_tokens, revoke_tokens
from modelhealth.cli.common import NowOpt, parse_moment, print_listing, wide_console
from modelhealth.cli.terminal import SafeConsole
from thresholds.errors import RegisterError
from thresholds.loader import load_register
from thresholds.schema import Register, parse_duration

__all__ = ["people_app"]

T = TypeVar("T")

people_app = typer.Typer(
    help="People of the pinned register: desk tokens, absences and delegates.",
    no_args_is_help=True,
)
token_app = typer.Typer(help="Personal tokens for the escalation desk.", no_args_is_help=True)
people_app.add_typer(token_app, name="token")

out = wide_console(highlight=False, soft_wrap=True)
err = SafeConsole(stderr=True, highlight=False, soft_wrap=True)

RegisterOpt = Annotated[
    Path,
    typer.Option("--register", "-r", envvar="MODELHEALTH_REGISTER", help="Threshold register."),
]
StateOpt = Annotated[
    str | None,
    typer.Option(
        "--state",
        envvar="MODELHEALTH_STATE",
        show_default=False,
        help="SQLAlchemy URL of the state store [default: ./modelhealth-state.db].",
    ),
]
AsOpt = Annotated[
    str | None, typer.Option("--as", help="Act as this admin (only if the register allows it).")
]


def _fail(message: str, code: int = 2) -> NoReturn:
    err.print(f"[bold red]error:[/] {escape(message)}")
    raise typer.Exit(code)


def _now(text: str | None) -> datetime:
    return parse_moment(text)


def _open(register: Path, state: str | None) -> tuple[Register, LadderStore]:
    try:
        reg = load_register(register).register
    except RegisterError as exc:
        _fail(f"{len(exc.problems)} problem(s) in the register: {exc.problems[0]}")
    try:
        return reg, open_store(state or default_state_url(), reg)
    except LadderError as exc:
        _fail(str(exc))


def _run_decision(
    store: LadderStore,
    reg: Register,
    as_user: str | None,
    subject: str,
    now: datetime,
    work: Callable[[str, Origin], T],
) -> T:
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
        audit_refusal(
            store,
            actor=admin,
            action=subject,
            subject=subject,
            reason=str(exc),
            now=now,
            origin=origin,
        )
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
            store,
            reg,
            as_user,
            "token.create",
            clock,
            lambda admin, origin: create_token(
                store,
                person=name,
                register=reg,
                admin=admin,
                now=clock,
                lifetime=lifetime,
                origin=origin,
            ),
        )
    finally:
        store.close()
    out.print(
        f"token-{issued.id} for {issued.person}, valid until "
        f"{issued.expires_at:%Y-%m-%d %H:%M} UTC. Shown once, keep it secret:",
        markup=False,
    )
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
            store,
            reg,
            as_user,
            "token.revoke",
            clock,
            lambda admin, origin: revoke_tokens(
                store, ref, register=reg, admin=admin, now=clock, origin=origin
            ),
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
        for column in ("id", "person", "ends in", "created (UTC)", "by", "expires (UTC)", "status"):
            shown.add_column(column)
        for t in rows:
            shown.add_row(
                f"token-{t.id}",
                t.person,
                f"…{t.hint}",
                f"{t.created_at:%Y-%m-%d %H:%M}",
                t.created_by,
                f"{t.expires_at:%Y-%m-%d %H:%M}",
                t.status(clock),
            )
        return shown

    listing = [
        {
            "id": f"token-{t.id}",
            "person": t.person,
            "ends_in": t.hint,
            "created_at": t.created_at.isoformat(),
            "created_by": t.created_by,
            "expires_at": t.expires_at.isoformat(),
            "status": t.status(clock),
        }
        for t in rows
    ]
    columns = ["id", "person", "ends_in", "created_at", "created_by", "expires_at", "status"]
    print_listing(output, columns, listing, table, console=out)


# -------------------------------------------------------------------- absences


def _moment(text: str, option: str, *, zone: str, now: datetime) -> datetime:
    """``--until``/``--from``: a duration from now (``3d``), a date (midnight at its start
    in ``zone``) or an ISO 8601 time (UTC without an offset)."""
    try:
        return now + parse_duration(text)
    except ValueError:
        pass
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return parse_moment(text, option=option)
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


@people_app.command("away")
def away(
    name: Annotated[
        str | None, typer.Argument(help="The person away (pinned people).", show_default=False)
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(
            "--until",
            help="When they are back: a date (midnight at its start in "
            "their team's timezone), a time (ISO 8601) or a duration (3d, 2w).",
            show_default=False,
        ),
    ] = None,
    delegate: Annotated[
        str | None,
        typer.Option(
            "--delegate",
            help="Who stands in: must hold a role NAME decides with.",
            show_default=False,
        ),
    ] = None,
    starts: Annotated[
        str | None,
        typer.Option("--from", help="When the absence starts (default: now).", show_default=False),
    ] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    clear: Annotated[
        bool, typer.Option("--clear", help="NAME is back: end their absences.")
    ] = False,
    listing: Annotated[
        bool, typer.Option("--list", help="List current and planned absences.")
    ] = False,
    register: RegisterOpt = ...,  # type: ignore[assignment]
    state: StateOpt = None,
    as_user: Annotated[
        str | None,
        typer.Option("--as", help="Act as this person (only if the register allows it)."),
    ] = None,
    now: NowOpt = None,
) -> None:
    """Record that NAME is away until a time, and who stands in (audited).

    While they are away, the ladder's requests and reminders for them go to the delegate
    (when the delegate holds a role the step needs), else to the on-call role. The person
    themself or an admin records it; `--clear` ends it, `--list` shows them all.
    """
    clock = _now(now)
    if listing:
        if name or until or delegate or clear:
            _fail("--list takes no NAME, --until, --delegate or --clear")
        _list_absences(register, state, clock)
        return
    if name is None:
        _fail("give the person away (NAME), or --list")
    reg, store = _open(register, state)
    try:
        if clear:
            if until or delegate or starts:
                _fail("--clear takes no --until, --delegate or --from")
            ids = _run_decision(
                store,
                reg,
                as_user,
                "absence.clear",
                clock,
                lambda actor, origin: clear_absence(
                    store, person=name, register=reg, actor=actor, now=clock, origin=origin
                ),
            )
            out.print(
                f"{name} is back: ended absence {', '.join(f'#{i}' for i in ids)}", markup=False
            )
            return
        if until is None:
            _fail("give --until (a date, a time or a duration), or --clear / --list")
        found = reg.routing.team_of(name)
        zone = found[1].timezone if found else "UTC"
        back = _moment(until, "--until", zone=zone, now=clock)
        begin = _moment(starts, "--from", zone=zone, now=clock) if starts else None
        done = _run_decision(
            store,
            reg,
            as_user,
            "absence.record",
            clock,
            lambda actor, origin: record_absence(
                store,
                person=name,
                until=back,
                starts_at=begin,
                delegate=delegate,
                reason=reason,
                register=reg,
                actor=actor,
                now=clock,
                origin=origin,
            ),
        )
    finally:
        store.close()
    a = done.absence
    stand_in = (
        f"{a.delegate} stands in"
        if a.delegate
        else f"no delegate: the {reg.routing.on_call_role} role stands in"
    )
    out.print(
        f"absence #{a.id}: {a.person} is away from {a.starts_at:%Y-%m-%d %H:%M} UTC "
        f"until {a.until:%Y-%m-%d %H:%M} UTC; {stand_in}",
        markup=False,
    )
    if done.uncovered:
        out.print(
            f"  {a.delegate} does not hold {', '.join(done.uncovered)}: steps that need "
            f"only that go to the {reg.routing.on_call_role} role",
            markup=False,
        )
    if done.replaced:
        out.print(f"  replaces absence {', '.join(f'#{i}' for i in done.replaced)}", markup=False)


def _list_absences(register: Path, state: str | None, clock: datetime) -> None:
    _reg, store = _open(register, state)
    try:
        rows = store.read(lambda c: list_absences(c, clock))
    finally:
        store.close()
    table = Table(title="Absences (current and planned)")
    for column in (
        "id",
        "person",
        "from (UTC)",
        "until (UTC)",
        "delegate",
        "reason",
        "recorded by",
        "now",
    ):
        table.add_column(column)
    for a in rows:
        table.add_row(
            f"#{a.id}",
            a.person,
            f"{a.starts_at:%Y-%m-%d %H:%M}",
            f"{a.until:%Y-%m-%d %H:%M}",
            a.delegate or "— (on call)",
            a.reason,
            a.created_by,
            "away" if a.covers(clock) else "planned",
        )
    out.print(table, markup=False)
