"""Pages are Jinja2 templates over view models; this module is the one place that renders
them, with what every page shows (who is signed in, the CSRF token its forms carry, the
pinned-register banner, a one-time message) and the headers every page is sent with.

Autoescaping is on for every template; nothing from the store or the register is ever
marked safe. The Content-Security-Policy allows the desk's own stylesheet and its one
small script (countdowns) and nothing else: no inline script, no CDN.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cache
from typing import Any, Final

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, PackageLoader, StrictUndefined

from ladder.sla import TIER_NAMES
from modelhealth.outputs.html.format import money, ms, num, pct, status_style, title, utc
from modelhealth.serve.desk import Pinned
from modelhealth.serve.identity import COOKIE, Authenticated, desk_of

__all__ = ["FLASH_COOKIE", "SECURITY_HEADERS", "countdown", "page", "set_flash", "set_session"]

#: A one-time message shown on the next page (after a POST → redirect).
FLASH_COOKIE: Final = "modelhealth_flash"
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def countdown(due: datetime | None, now: datetime) -> str:
    """``in 2 h 05 min`` or ``overdue by 3 d 4 h``: what the countdown script keeps
    updating (the page reads the same without it)."""
    if due is None:
        return "—"
    seconds = int((due - now).total_seconds())
    late, seconds = seconds < 0, abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days} d {hours} h"
    elif hours:
        text = f"{hours} h {minutes:02d} min"
    else:
        text = f"{minutes} min"
    return f"overdue by {text}" if late else f"in {text}"


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(timezone.utc).isoformat()


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("modelhealth.serve", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(utc=utc, pct=pct, ms=ms, num=num, title=title, iso=_iso)
    env.globals.update(money=money, status=status_style, countdown=countdown, tier_names=TIER_NAMES)
    return env


def _flash_codec(request: Request) -> URLSafeSerializer:
    return URLSafeSerializer(desk_of(request).settings.secret, salt="modelhealth-desk-flash")


def _cookie_path(request: Request) -> str:
    return desk_of(request).settings.root_path or "/"


def set_flash(request: Request, response: Response, message: str) -> None:
    """Show ``message`` once, on the next page this browser loads."""
    response.set_cookie(
        FLASH_COOKIE,
        str(_flash_codec(request).dumps(message)),
        max_age=120,
        path=_cookie_path(request),
        httponly=True,
        samesite="lax",
        secure=desk_of(request).settings.secure_cookies,
    )


def set_session(request: Request, response: Response, value: str, expires: float) -> None:
    """Set the session cookie (signed; see :mod:`modelhealth.serve.identity`)."""
    now = desk_of(request).now().timestamp()
    response.set_cookie(
        COOKIE,
        value,
        max_age=max(int(expires - now), 1),
        path=_cookie_path(request),
        httponly=True,
        samesite="lax",
        secure=desk_of(request).settings.secure_cookies,
    )


def page(
    request: Request,
    name: str,
    *,
    auth: Authenticated | None = None,
    pinned: Pinned | None = None,
    status: int = 200,
    csrf: str | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render template ``name`` for this request."""
    desk = desk_of(request)
    flash = None
    raw = request.cookies.get(FLASH_COOKIE)
    if raw:
        try:
            flash = str(_flash_codec(request).loads(raw))
        except BadSignature:
            flash = None
    now = desk.now()
    html = (
        _environment()
        .get_template(name)
        .render(
            request=request,
            root=desk.settings.root_path,
            person=auth,
            csrf=csrf or (auth.session.csrf if auth is not None and auth.session else ""),
            banner=pinned.banner if pinned is not None else None,
            flash=flash,
            now=now,
            store=desk.store.safe_url,
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
    if raw:
        response.delete_cookie(FLASH_COOKIE, path=_cookie_path(request))
    if auth is not None and auth.new_cookie is not None and auth.session is not None:
        set_session(request, response, auth.new_cookie, auth.session.expires)
    return response
