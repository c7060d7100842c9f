"""``modelhealth ladder …``: the escalation ladder from the command line.

The top-level CLI mounts :data:`app` under ``ladder``. Exit codes: 0 done, 2 bad input
or refused (unknown id, missing role, separation of duties, ``--as`` not allowed, a
register that differs from the pinned one …) with a one-line reason and no traceback,
4 the audit log does not prove the state (``audit verify``, and any decision on such a
store). The commands call the same :mod:`ladder` functions as the nightly job and the
desk; the tables they print are laid out in :mod:`modelhealth.cli.ladder_views`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from ladder import audit
from ladder.actions import (
    ActionResult,
    acknowledge,
    add_event,
    apply_step,
    approve,
    audit_refusal,
    parse_step_ref,
    reject,
)
from ladder.anchors import Anchor, HeadFile, anchor_from_tags, anchors_in
from ladder.diagram import ladder_mermaid
from ladder.errors import LadderError, Refused, Tampered
from ladder.identity import cli_origin, current_user, resolve_actor
from ladder.incident_store import incident_facts
from ladder.keys import head_anchors, open_store
from ladder.matrix import effective_matrix, matrix_markdown
from ladder.pins import pin_register
from ladder.proof import prove
from ladder.review import EVENT_KINDS
from ladder.rungs import default_ladder, effective_rungs
from ladder.schema import upgrade_store
from ladder.sla import sla_clocks
from ladder.standing import CommandContext, model_mark, recommendation_for
from ladder.stats import compute_stats, stats_dict
from ladder.store import (
    LadderStore,
    default_state_url,
    list_escalations,
    load_state,
    step_packet,
)
from modelhealth.cli.common import (
    LISTING_FORMATS,
    NowOpt,
    err,
    fail,
    load_or_exit,
    parse_moment,
    print_listing,
    wide_console,
)
from modelhealth.cli.ladder_views import (
    history_table,
    ladder_table,
    matrix_table,
    print_packet,
    stats_table,
    status_table,
    windows_table,
)
from modelhealth.cli.outbox import outbox_app
from modelhealth.cli.remote import decide_through_desk
from thresholds.schema import Register

__all__ = ["app"]

app = typer.Typer(
    name="ladder",
    help="The escalation ladder: status, approvals, history, events and the audit log.",
    no_args_is_help=True,
    add_completion=False,
)
event_app = typer.Typer(
    help="External events that reopen cost-benefit decisions.", no_args_is_help=True
)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
db_app = typer.Typer(help="The state store's schema (Alembic revisions).", no_args_is_help=True)
register_app = typer.Typer(
    help="The people, roles and identity pinned in the state store.", no_args_is_help=True
)
app.add_typer(event_app, name="event")
app.add_typer(audit_app, name="audit")
app.add_typer(db_app, name="db")
app.add_typer(register_app, name="register")
app.add_typer(outbox_app, name="outbox")

#: Exit code when the audit log does not prove the state (README's table).
EXIT_TAMPERED = 4

# Off a terminal (a pipe, a cron log) tables keep full names: no 80-column cut.
out = wide_console(highlight=False, soft_wrap=False)

RegisterOpt = Annotated[
    Path | None,
    typer.Option(
        "--register",
        "-r",
        envvar="MODELHEALTH_REGISTER",
        help="Threshold register (YAML).",
        show_default=False,
    ),
]
StateOpt = Annotated[
    str | None,
    typer.Option(
        "--state",
        envvar="MODELHEALTH_STATE",
        show_default=False,
        help="SQLAlchemy URL of the state store [default: sqlite:///<cwd>/modelhealth-state.db].",
    ),
]
AsOpt = Annotated[
    str | None,
    typer.Option("--as", help="Act as this person (only if the register allows it)."),
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help=f"{', '.join(LISTING_FORMATS)}.")]
ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server",
        help="Decide through the escalation desk at this URL (modelhealth serve), "
        "authenticated by your desk token; --register and --state are then not needed.",
    ),
]
TokenFileOpt = Annotated[
    Path | None,
    typer.Option("--token-file", help="File holding your desk token (else $MODELHEALTH_TOKEN)."),
]


@contextmanager
def _refusals() -> Iterator[None]:
    """Expected failures become a message and exit code 2, never a traceback."""
    try:
        yield
    except Tampered as exc:
        fail(str(exc), EXIT_TAMPERED)
    except LadderError as exc:
        fail(str(exc))


def _register(path: Path | None) -> Register:
    if path is None:
        fail("give the register with --register PATH (or $MODELHEALTH_REGISTER)")
    return load_or_exit(path).register


def _store(url: str | None, register: Register | None = None) -> LadderStore:
    """The store, with the audit key and head file ``register`` names."""
    try:
        return open_store(url or default_state_url(), register)
    except LadderError as exc:
        fail(str(exc))


def _actor(
    store: LadderStore, register: Register, as_user: str | None, *, subject: str, now: datetime
) -> str:
    try:
        return resolve_actor(register, as_user=as_user)
    except Refused as exc:
        try:
            real = current_user(register)
        except Refused:
            real = "unknown"
        audit_refusal(
            store, actor=real, action="identity", subject=subject, reason=str(exc), now=now
        )
        fail(str(exc))


# ------------------------------------------------------------------- status


@app.command()
def status(
    model: Annotated[str | None, typer.Argument(help="Show one model in detail.")] = None,
    register: RegisterOpt = None,
    state: StateOpt = None,
    output: FormatOpt = "table",
    now: NowOpt = None,
) -> None:
    """Where every model stands: the rung in force, the open escalation, the step in play,
    and how its notifications reach people now (delegates, after hours, unroutable).

    With MODEL, also the step's handoff packet (rule, evidence, failure modes, fixes,
    cost, budget, approvals). The commands it prints name --register and --state.
    """
    if output not in LISTING_FORMATS:
        fail(f"--format must be one of {', '.join(LISTING_FORMATS)}, not {output!r}")
    reg, clock = _register(register), parse_moment(now)
    models = [m.id for m in reg.models]
    if model is not None and model not in models:
        fail(f"model {model!r} is not in register {reg.name!r} (known: {', '.join(models)})")
    store = _store(state)
    context = CommandContext.of(register, store.url)
    try:
        rows = store.read(
            lambda c: [
                (
                    m,
                    load_state(c, m, with_nights=False),
                    context.apply(recommendation_for(c, reg, m, now=clock)),
                )
                for m in ([model] if model else models)
            ]
        )
        packet = None
        if model is not None and rows[0][2] is not None and rows[0][2].id.startswith("step-"):
            step_id = parse_step_ref(rows[0][2].id)
            packet = store.read(lambda c: step_packet(c, step_id))
    finally:
        store.close()
    if output != "table":
        listing = [
            {
                "model_id": m,
                "position": st.position,
                "escalation": None
                if st.open_escalation is None
                else f"esc-{st.open_escalation.id} {st.open_escalation.kind}",
                "item": None if rec is None else rec.id,
                "rung": None if rec is None else rec.rung,
                "status": None if rec is None else rec.status,
                "tier": None if rec is None else rec.tier,
                "due_at": None if rec is None or rec.due_at is None else rec.due_at.isoformat(),
                "recommendation": None if rec is None else rec.model_dump(mode="json"),
                "packet": packet if model else None,
            }
            for m, st, rec in rows
        ]
        columns = ["model_id", "position", "escalation", "item", "rung", "status", "tier",
                   "due_at"]  # fmt: skip
        print_listing(output, columns, listing, lambda: None)
        return
    table = status_table(reg.name, rows)
    out.print(table, markup=False)
    for m, _st, rec in rows:
        if rec is not None:
            out.print(f"[bold]{escape(m)}[/]: {escape(rec.summary)}", soft_wrap=True)
            if rec.unroutable:
                out.print(f"  [bold red]UNROUTABLE[/] {escape(rec.routing)}", soft_wrap=True)
            elif rec.routing:
                out.print(f"  routing: {escape(rec.routing)}", soft_wrap=True)
            for command in rec.commands:
                out.print(f"  $ {command}", soft_wrap=True, markup=False)
    if packet is not None:
        print_packet(out, packet)


# ---------------------------------------------------------------- decisions


def _act(
    step: str,
    as_user: str | None,
    register: Path | None,
    state: str | None,
    now: str | None,
    action: Callable[[LadderStore, str, Register, datetime], ActionResult],
) -> None:
    """Resolve who is acting, run one guarded action on a step, print its outcome."""
    reg, clock = _register(register), parse_moment(now)
    store = _store(state, reg)
    try:
        person = _actor(store, reg, as_user, subject=step, now=clock)
        with _refusals():
            result = action(store, person, reg, clock)
    finally:
        store.close()
    out.print(result.message, soft_wrap=True, markup=False)


@app.command("approve")
def approve_command(
    step: Annotated[str, typer.Argument(help="Step id, e.g. step-12.")],
    as_user: AsOpt = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    register: RegisterOpt = None,
    state: StateOpt = None,
    now: NowOpt = None,
    server: ServerOpt = None,
    token_file: TokenFileOpt = None,
) -> None:
    """Approve a step (counts once per person; roles and separation of duties checked)."""
    if server is not None:
        decide_through_desk(
            server, "approve", step, reason=reason, token_file=token_file, as_user=as_user
        )
        return
    _act(
        step,
        as_user,
        register,
        state,
        now,
        lambda store, person, reg, clock: approve(
            store, step, person=person, register=reg, now=clock, reason=reason
        ),
    )


@app.command("reject")
def reject_command(
    step: Annotated[str, typer.Argument(help="Step id, e.g. step-12.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required, recorded).")],
    as_user: AsOpt = None,
    register: RegisterOpt = None,
    state: StateOpt = None,
    now: NowOpt = None,
    server: ServerOpt = None,
    token_file: TokenFileOpt = None,
) -> None:
    """Reject a step. For a review, rejecting retires the rung in force."""
    if server is not None:
        decide_through_desk(
            server, "reject", step, reason=reason, token_file=token_file, as_user=as_user
        )
        return
    _act(
        step,
        as_user,
        register,
        state,
        now,
        lambda store, person, reg, clock: reject(
            store, step, person=person, register=reg, now=clock, reason=reason
        ),
    )


@app.command("ack")
def ack_command(
    step: Annotated[
        str, typer.Argument(help="Step id (step-12), or an open mitigation's escalation (esc-7).")
    ],
    as_user: AsOpt = None,
    reason: Annotated[str, typer.Option("--reason", help="A note (recorded).")] = "",
    register: RegisterOpt = None,
    state: StateOpt = None,
    now: NowOpt = None,
    server: ServerOpt = None,
    token_file: TokenFileOpt = None,
) -> None:
    """Acknowledge a waiting step (reminders stop; the decision clock keeps running) or an
    open mitigation such as a blind model (its reminders and escalation stop)."""
    if server is not None:
        decide_through_desk(
            server, "ack", step, reason=reason, token_file=token_file, as_user=as_user
        )
        return
    _act(
        step,
        as_user,
        register,
        state,
        now,
        lambda store, person, reg, clock: acknowledge(
            store, step, person=person, register=reg, now=clock, reason=reason
        ),
    )


@app.command("apply")
def apply_command(
    step: Annotated[str, typer.Argument(help="Step id, e.g. step-12.")],
    as_user: AsOpt = None,
    note: Annotated[str, typer.Option("--note", help="What was done (recorded).")] = "",
    register: RegisterOpt = None,
    state: StateOpt = None,
    now: NowOpt = None,
) -> None:
    """Record that an approved step was carried out; its evaluation period starts."""
    _act(
        step,
        as_user,
        register,
        state,
        now,
        lambda store, person, reg, clock: apply_step(
            store, step, person=person, register=reg, now=clock, note=note
        ),
    )


@app.command("tick")
def tick_command(
    register: RegisterOpt = None,
    state: StateOpt = None,
    notify: Annotated[
        str | None,
        typer.Option(
            "--notify",
            envvar="MODELHEALTH_NOTIFY_URL",
            show_default=False,
            help="Slack-compatible webhook: send what is due now (reminders, escalations, "
            "messages an earlier run could not deliver). Without it they wait in the outbox.",
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            envvar="MODELHEALTH_PUBLIC_URL",
            show_default=False,
            help="The escalation desk's base URL, for step links in messages.",
        ),
    ] = None,
    output: FormatOpt = "table",
    now: NowOpt = None,
) -> None:
    """Run the SLA clocks between nightly runs and send what is due.

    Reminders (30 min unacknowledged), the next level (2 h), decision reminders,
    escalations and expiries, routed by business hours, absences and on-call; then the
    outbox delivers everything due. Run it from cron every few minutes (the desk runs it
    every minute). Exit 0 even when a webhook is down: undelivered messages stay queued
    and are retried; see `modelhealth ladder outbox`.
    """
    from modelhealth.ticking import run_tick

    if output not in ("table", "json"):
        fail(f"--format must be table or json, not {output!r}")
    reg, clock = _register(register), parse_moment(now)
    store = _store(state, reg)
    try:
        with _refusals():
            result = run_tick(store, reg, now=clock, notify_url=notify, public_url=public_url)
    finally:
        store.close()
    delivery = result.delivery
    if output == "json":
        out.print_json(
            json.dumps(
                {
                    "now": result.now.isoformat(),
                    "actions": dict(result.actions),
                    "sent": delivery.sent if delivery else 0,
                    "retrying": list(delivery.failed) if delivery else [],
                    "dead": list(delivery.dead) if delivery else [],
                    "left": delivery.left if delivery else 0,
                    "pending": result.outbox.pending,
                    "dead_letters": result.outbox.dead,
                }
            )
        )
        return
    if not result.actions:
        out.print("no clock ran out")
    for model_id, kind in result.actions.items():
        out.print(f"{model_id}: {kind}", markup=False)
    if delivery is not None and (delivery.sent or delivery.failed or delivery.dead):
        out.print(
            f"sent {delivery.sent}, retrying {len(delivery.failed)}, given up {len(delivery.dead)}",
            markup=False,
        )
    elif delivery is None and result.outbox.pending:
        out.print(
            f"{result.outbox.pending} notification(s) wait in the outbox (give --notify "
            "to send them)",
            markup=False,
        )
    for line in (delivery.failed + delivery.dead) if delivery else []:
        err.print(f"  {line}", markup=False, soft_wrap=True)
    if result.outbox.dead:
        err.print(
            f"{result.outbox.dead} dead letter(s): `modelhealth ladder outbox --status "
            "dead` lists them, `modelhealth ladder outbox resend` sends them again",
            markup=False,
            soft_wrap=True,
        )


# ------------------------------------------------------------------ history


@app.command()
def history(
    model: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="Newest N entries.")] = 50,
    state: StateOpt = None,
    register: RegisterOpt = None,
    output: FormatOpt = "table",
) -> None:
    """The audit trail: who decided what, when, about which model, and why."""
    del register  # accepted for symmetry with the other commands; history needs no register
    if output not in LISTING_FORMATS:
        fail(f"--format must be one of {', '.join(LISTING_FORMATS)}, not {output!r}")
    store = _store(state)
    try:
        rows = store.read(lambda c: audit.entries(c))
        owners = store.read(
            lambda c: {
                ref: esc.model_id
                for esc in list_escalations(c)
                for ref in [f"esc-{esc.id}", *(f"step-{s.id}" for s in esc.steps)]
            }
        )
    finally:
        store.close()
    entries = [(e, _entry_model(e, owners)) for e in rows]
    if model is not None:
        entries = [(e, m) for e, m in entries if m == model]
    entries = entries[-limit:] if limit > 0 else entries
    listing = [
        {
            "seq": e.seq,
            "at": e.at,
            "model": m,
            "actor": e.actor,
            "action": e.action,
            "subject": e.subject,
            "reason": e.reason,
            "payload": e.payload,
        }
        for e, m in entries
    ]
    columns = ["seq", "at", "model", "actor", "action", "subject", "reason"]
    print_listing(output, columns, listing, lambda: history_table(entries, model=model),
                  console=out)  # fmt: skip


def _entry_model(entry: audit.AuditEntry, owners: dict[str, str]) -> str | None:
    """The model an audit entry is about: its subject (``model:X``, an escalation or a
    step of X) or its payload's ``model``; ``None`` for entries about no one model."""
    if entry.subject.startswith("model:"):
        return entry.subject[len("model:") :]
    if entry.subject in owners:
        return owners[entry.subject]
    model = entry.payload.get("model")
    return str(model) if model is not None else None


# --------------------------------------------------------- diagram, matrix


@app.command()
def diagram(
    output: Annotated[str, typer.Option("--format", "-f", help="mermaid or text.")] = "mermaid",
    model: Annotated[
        str | None,
        typer.Option("--model", help="This model's rungs and costs (default: the shipped ladder)."),
    ] = None,
    register: RegisterOpt = None,
    state: StateOpt = None,
) -> None:
    """Draw the ladder with entry criteria, approvers and costs, and each tier's response
    windows; mark where models stand."""
    if output not in ("mermaid", "text"):
        fail(f"--format must be mermaid or text, not {output!r}")
    reg = _register(register)
    if model is not None:
        try:
            entry = reg.model(model)
        except KeyError as exc:
            fail(str(exc.args[0]))
        rungs = effective_rungs(entry)
        currency = entry.ladder.budget.currency
        clocks = sla_clocks(entry.ladder.sla)
        title = f"Escalation ladder — {model}"
    else:
        rungs = default_ladder()
        currency = reg.models[0].ladder.budget.currency if reg.models else "USD"
        clocks = sla_clocks()
        title = f"Escalation ladder — {reg.name} (shipped defaults)"
    store = _store(state)
    try:
        marks = store.read(lambda c: [model_mark(c, m.id) for m in reg.models])
    finally:
        store.close()
    if model is not None:
        marks = [m for m in marks if m.model_id == model]
    people = {p: list(r) for p, r in reg.people.items()}
    if output == "mermaid":
        out.print(
            ladder_mermaid(
                rungs, marks, people=people, currency=currency, title=title, clocks=clocks
            ),
            end="",
            markup=False,
            soft_wrap=True,
        )
    else:
        out.print(
            ladder_table(rungs, marks, people=people, currency=currency, title=escape(title)),
            markup=False,
        )
        out.print(windows_table(clocks), markup=False)


@app.command()
def matrix(
    model: Annotated[
        str | None, typer.Option("--model", help="With this model's overrides.")
    ] = None,
    output: Annotated[
        str, typer.Option("--format", "-f", help="table, markdown, json or csv.")
    ] = "table",
    register: RegisterOpt = None,
) -> None:
    """The failure-mode response matrix: rung, mitigation, long-term fix, owner."""
    if output not in ("table", "markdown", "json", "csv"):
        fail(f"--format must be table, markdown, json or csv, not {output!r}")
    reg = _register(register) if register is not None else None
    entry = None
    if model is not None:
        if reg is None:
            fail("--model needs --register")
        try:
            entry = reg.model(model)
        except KeyError as exc:
            fail(str(exc.args[0]))
    rows = effective_matrix(entry, reg)
    title = "Failure-mode response matrix" + (f" — {model}" if model else "")
    if output == "markdown":
        out.print(matrix_markdown(rows, title=title), end="", markup=False, soft_wrap=True)
        return
    listing = [row.model_dump(mode="json") for row in rows.values()]
    columns = ["mode", "rung", "mitigation", "long_term_fix", "owner", "source"]
    print_listing(output, columns, listing, lambda: matrix_table(rows, title=escape(title)),
                  console=out)  # fmt: skip


# -------------------------------------------------------------------- stats


@app.command()
def stats(
    model: Annotated[str | None, typer.Option("--model", help="Only this model.")] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Only escalations opened since this date (ISO 8601)."),
    ] = None,
    output: FormatOpt = "table",
    state: StateOpt = None,
    register: RegisterOpt = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Judge SLA clocks and count weeks up to this time (ISO 8601; default: now).",
        ),
    ] = None,
) -> None:
    """Times to detection, acknowledgement, communication, decision and resolution; more.

    Escalations by tier and per week with their trend, SLA misses by tier, the repeat rate.
    """
    del register  # accepted for symmetry; statistics come from the state store alone
    start = parse_moment(since, option="--since") if since else None
    clock = parse_moment(now)
    store = _store(state)
    try:
        escalations = store.read(lambda c: list_escalations(c, model_id=model))
        facts = store.read(lambda c: incident_facts(c, model_id=model))
    finally:
        store.close()
    figures = compute_stats(escalations, since=start, facts=facts, now=clock)
    if output == "json":
        sys.stdout.write(json.dumps(stats_dict(figures), indent=2) + "\n")
        return
    flat = [{"measure": k, "value": v} for k, v in _flatten(stats_dict(figures)).items()]
    print_listing(output, ["measure", "value"], flat, lambda: stats_table(figures), console=out)


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


# ------------------------------------------------------------------- events


@event_app.command("add")
def event_add(
    kind: Annotated[str, typer.Argument(help=f"One of: {', '.join(EVENT_KINDS)}.")],
    model: Annotated[
        list[str] | None,
        typer.Option("--model", "-m", help="Model affected (repeat; default: every model)."),
    ] = None,
    note: Annotated[str, typer.Option("--note", help="What happened.")] = "",
    at: Annotated[
        str | None, typer.Option("--at", help="When it happened (ISO 8601; default: now).")
    ] = None,
    as_user: AsOpt = None,
    register: RegisterOpt = None,
    state: StateOpt = None,
    now: NowOpt = None,
) -> None:
    """Record an external event; the next nightly run reopens the affected decisions."""
    reg, clock = _register(register), parse_moment(now)
    occurred = parse_moment(at, option="--at") if at else None
    store = _store(state, reg)
    try:
        person = _actor(store, reg, as_user, subject=f"event:{kind}", now=clock)
        with _refusals():
            ids = add_event(
                store,
                kind=kind,
                register=reg,
                person=person,
                now=clock,
                models=model or (),
                occurred_at=occurred,
                note=note,
            )
    finally:
        store.close()
    out.print(f"recorded {kind} as event {', '.join(f'#{i}' for i in ids)}", markup=False)


# -------------------------------------------------------------------- audit


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        list[Path] | None,
        typer.Option(
            "--anchor",
            help="report.json, a saved notification, a head file, or a folder of them "
            "(searched recursively). Repeat for several.",
        ),
    ] = None,
    head_file: Annotated[
        Path | None,
        typer.Option("--head-file", help="A head file (default: the one beside a SQLite store)."),
    ] = None,
    mlflow_run: Annotated[
        str | None,
        typer.Option("--mlflow-run", help="An MLflow run id whose tags anchor the head."),
    ] = None,
    tracking_uri: Annotated[
        str | None, typer.Option("--tracking-uri", help="MLflow tracking URI for --mlflow-run.")
    ] = None,
    expect_head: Annotated[
        str | None,
        typer.Option("--expect-head", help="SEQ:HASH recorded earlier (a ticket, a chat)."),
    ] = None,
    state: StateOpt = None,
    register: RegisterOpt = None,
) -> None:
    """Check that the audit log proves the state; exit 4 if it does not.

    Walks the hash chain (and the keyed chain, with the key the register names), checks
    the head against every anchor found (the head file, --anchor, --mlflow-run,
    --expect-head), replays the log and compares it with every state table.
    """
    reg = _register(register) if register is not None else None
    store = _store(state, reg)
    try:
        anchors = _anchors(store, anchor, head_file, mlflow_run, tracking_uri, expect_head)
        # A store whose tables were dropped or mangled cannot be read: exit 2 naming it,
        # never a traceback.
        with _refusals():
            verdict = store.read(lambda c: prove(c, key=store.audit_key, anchors=anchors))
    finally:
        store.close()
    chain = verdict.chain
    newest = verdict.anchor
    where = (
        f"checked against {verdict.anchors_checked} anchor"
        f"{'s' if verdict.anchors_checked != 1 else ''}, the newest {newest.source} "
        f"(row {newest.seq})"
        if newest is not None
        else "no anchor found: deleted newest rows show only through the state they changed "
        "(keep the head: report.json, MLflow tags, a head file)"
    )
    if not verdict.ok:
        err.print(
            f"[bold red]the audit log does not prove the state of {escape(store.url)}:[/]",
            soft_wrap=True,
        )
        for problem in verdict.problems[:20]:
            err.print(f"  - {problem}", soft_wrap=True, markup=False)
        if len(verdict.problems) > 20:
            err.print(f"  … and {len(verdict.problems) - 20} more", markup=False)
        if newest is not None:
            err.print(
                f"newest anchor: {newest.source} (row {newest.seq})", soft_wrap=True, markup=False
            )
        raise typer.Exit(EXIT_TAMPERED)
    out.print(
        f"the audit log proves the state: {chain.rows} rows; head {chain.head}",
        soft_wrap=True,
        markup=False,
    )
    out.print(where, soft_wrap=True, markup=False)
    if chain.keyed_rows and not chain.mac_checked:
        out.print(
            f"{chain.keyed_rows} rows are keyed; their keyed hashes were not checked: give "
            "--register with the register that names audit.key_file or audit.key_env",
            soft_wrap=True,
            markup=False,
        )


def _anchors(
    store: LadderStore,
    paths: list[Path] | None,
    head_file: Path | None,
    mlflow_run: str | None,
    tracking_uri: str | None,
    expect_head: str | None,
) -> list[Anchor]:
    found = head_anchors(store)
    try:
        if head_file is not None:
            if not head_file.exists():
                raise FileNotFoundError(head_file)
            found += HeadFile(head_file).anchors()
        found += anchors_in(paths or [])
    except FileNotFoundError as exc:
        fail(f"anchor not found: {exc.args[0]}")
    try:
        if expect_head is not None:
            seq, digest = audit.parse_head(expect_head)
            found.append(Anchor(seq, digest, "--expect-head"))
        if mlflow_run is not None:
            from mlflow.exceptions import MlflowException
            from mlflow.tracking import MlflowClient

            try:
                tags = MlflowClient(tracking_uri).get_run(mlflow_run).data.tags
            except MlflowException as exc:
                fail(f"cannot read MLflow run {mlflow_run}: {exc.message}")
            tagged = anchor_from_tags(tags, source=f"MLflow run {mlflow_run}")
            if tagged is None:
                fail(f"MLflow run {mlflow_run} has no modelhealth.audit_head tag")
            found.append(tagged)
    except ValueError as exc:
        fail(str(exc))
    return found


# -------------------------------------------------------------- db, register


@db_app.command("upgrade")
def db_upgrade(
    state: StateOpt = None,
    now: NowOpt = None,
) -> None:
    """Upgrade the state store's schema to this modelhealth's (back it up first)."""
    from ladder.identity import os_account

    clock, url = parse_moment(now), state or default_state_url()
    store: LadderStore | None = None
    try:
        # Opening refuses an old schema, so the upgrade runs on a bare engine.
        from sqlalchemy import create_engine

        from ladder.store import state_url

        engine = create_engine(state_url(url))
        with _refusals(), engine.begin() as conn:
            result = upgrade_store(conn, url, now=clock, actor=os_account())
        engine.dispose()
        with _refusals():
            store = LadderStore(url)
    finally:
        if store is not None:
            store.close()
    if not result.changed:
        out.print(f"{url} is already at {result.to_revision}", markup=False)
        return
    out.print(
        f"upgraded {url} from {result.from_revision} to {result.to_revision}",
        markup=False,
        soft_wrap=True,
    )
    if result.baseline_seq is not None:
        out.print(
            f"audit row {result.baseline_seq} holds the state as it was: the log proves "
            "it from there on",
            markup=False,
            soft_wrap=True,
        )


@register_app.command("pin")
def register_pin(
    register: RegisterOpt = None,
    as_user: AsOpt = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")] = "",
    state: StateOpt = None,
    now: NowOpt = None,
) -> None:
    """Adopt this register's people, roles and identity section (an admin's decision)."""
    reg, clock = _register(register), parse_moment(now)
    store = _store(state, reg)
    try:
        person = _actor(store, reg, as_user, subject=f"register:{reg.name}", now=clock)
        with _refusals():
            _ensure(store)
            try:
                pin, adopted = store.write(
                    lambda c: pin_register(c, reg, person=person, now=clock, reason=reason),
                    origin=cli_origin(),
                    actor=person,
                )
            except Refused as exc:
                audit_refusal(
                    store,
                    actor=person,
                    action="register.pin",
                    subject=f"register:{reg.name}",
                    reason=str(exc),
                    now=clock,
                    origin=cli_origin(),
                )
                raise
    finally:
        store.close()
    out.print(f"pinned {pin.describe()}", markup=False, soft_wrap=True)
    for change in adopted:
        out.print(f"  {change}", markup=False, soft_wrap=True)


def _ensure(store: LadderStore) -> None:
    from ladder.actions import ensure_proven

    ensure_proven(store)


# The process records (brief, pir, sla-review) register themselves on this app.
from modelhealth.cli import ladder_records as _records  # noqa: E402

del _records
