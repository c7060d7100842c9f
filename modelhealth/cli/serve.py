"""``modelhealth serve``: the escalation desk, a web service over the state store.

Only parsing and checking the options lives here; the desk is :mod:`modelhealth.serve`.
Exit codes: 0 stopped cleanly, 2 bad options, register or state store.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelhealth.cli.common import err, fail, load_or_exit, parse_moment

__all__ = ["serve"]


def serve(
    register: Annotated[
        Path,
        typer.Option(
            "--register",
            "-r",
            envvar="MODELHEALTH_REGISTER",
            help="Threshold register (YAML); people and roles come from the pin.",
        ),
    ],
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            envvar="MODELHEALTH_STATE",
            show_default=False,
            help="SQLAlchemy URL of the state store the nightly check writes "
            "[default: sqlite:///<cwd>/modelhealth-state.db].",
        ),
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8080,
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            envvar="MODELHEALTH_PUBLIC_URL",
            help="How people reach the desk (https://ops.example.com/modelhealth): "
            "links in notifications, Secure cookies, the path prefix.",
        ),
    ] = None,
    trusted_proxy: Annotated[
        list[str] | None,
        typer.Option(
            "--trusted-proxy",
            help="Address or network of a reverse proxy whose X-Forwarded-For (and "
            "SSO header) is believed. Repeat for several.",
        ),
    ] = None,
    sso_header: Annotated[
        str | None,
        typer.Option(
            "--sso-header",
            help="Header naming the signed-in person, set by an authenticating proxy "
            "(e.g. X-Forwarded-User); believed only from --trusted-proxy. Off by "
            "default.",
        ),
    ] = None,
    session_key_file: Annotated[
        Path | None,
        typer.Option(
            "--session-key-file",
            help="Key that signs session cookies (≥ 32 bytes); else "
            "$MODELHEALTH_DESK_SECRET; else random (sessions end at restart).",
        ),
    ] = None,
    session_hours: Annotated[
        float, typer.Option("--session-hours", help="How long a page session lasts.")
    ] = 12.0,
    tick_every: Annotated[
        float,
        typer.Option(
            "--tick-every",
            help="Seconds between runs of the SLA clocks (0: never; run `ladder "
            "tick` from cron instead).",
        ),
    ] = 60.0,
    notify: Annotated[
        str | None,
        typer.Option(
            "--notify",
            envvar="MODELHEALTH_NOTIFY_URL",
            help="Slack-compatible webhook the outbox is delivered to after each "
            "run of the clocks.",
        ),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="Start the desk's clock at this moment (ISO 8601) instead of the "
            "real time; it runs on from there. For demos and replays.",
        ),
    ] = None,
) -> None:
    """Serve the escalation desk: inbox, step pages, decisions, audit, stats and an API."""
    from ladder.errors import LadderError
    from ladder.store import default_state_url
    from modelhealth.serve import DeskSettings, create_app, run
    from modelhealth.serve.settings import (
        parse_proxies,
        public_base,
        running_clock,
        session_secret,
        utc_now,
    )

    if not 0 < port < 65536:
        fail(f"--port must be between 1 and 65535, not {port}")
    if session_hours <= 0 or tick_every < 0:
        fail("--session-hours must be positive and --tick-every at least 0")
    try:
        proxies = parse_proxies(trusted_proxy or [])
        base = public_base(public_url)
        secret, secret_source = session_secret(session_key_file)
    except ValueError as exc:
        fail(str(exc))
    if sso_header is not None and not proxies:
        fail(
            "--sso-header needs --trusted-proxy: the header is believed only from the "
            "proxy that authenticates people"
        )
    loaded = load_or_exit(register)
    settings = DeskSettings(
        register_path=register,
        state_url=state or default_state_url(),
        secret=secret,
        public_url=base,
        trusted_proxies=proxies,
        sso_header=sso_header,
        session_hours=session_hours,
        tick_seconds=tick_every,
        notify_url=notify,
        clock=running_clock(parse_moment(now)) if now else utc_now,
    )
    try:
        app = create_app(settings, loaded.register)
    except LadderError as exc:
        fail(str(exc))
    where = base or f"http://{host}:{port}"
    err.print(
        f"modelhealth desk on {where} over {app.state.desk.store.safe_url}; session key: "
        f"{secret_source}",
        markup=False,
        highlight=False,
    )
    run(app, host=host, port=port)
