"""The desk's pages: sign-in, inbox, step, model, audit, ladder, matrix, stats.

Server-rendered and readable without JavaScript. Each page route authenticates with
:func:`~modelhealth.serve.identity.page_person` (unauthenticated: to the login page),
builds a view model (:mod:`modelhealth.serve.views`, :mod:`modelhealth.serve.records`)
and renders it. Every form carries the session's CSRF token, checked before anything
else; a decision goes to the same ladder function as the CLI, recorded with channel
``web`` and the client's address, and the browser is sent back to the step page.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ladder.actions import parse_step_ref
from ladder.audit import Origin
from ladder.errors import NotFound
from ladder.tokens import AuthRefusal, authenticate, list_tokens
from modelhealth.serve.desk import Action
from modelhealth.serve.identity import (
    COOKIE,
    Authenticated,
    SessionCodec,
    check_csrf,
    client_address,
    desk_of,
    new_session,
    page_person,
)
from modelhealth.serve.records import (
    anchors_of,
    audit_page,
    ladder_page,
    matrix_page,
    model_page,
    stats_page,
)
from modelhealth.serve.render import SECURITY_HEADERS, page, set_flash, set_session
from modelhealth.serve.views import inbox, step_page

__all__ = ["router"]

router = APIRouter()

Viewer = Annotated[Authenticated, Depends(page_person)]
CsrfField = Annotated[str | None, Form()]


def _see_other(request: Request, path: str) -> RedirectResponse:
    root = desk_of(request).settings.root_path
    return RedirectResponse(root + path, status_code=303, headers=SECURITY_HEADERS)


def _safe_next(target: str | None) -> str:
    """Only a path on this desk: never another site (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/inbox"
    return target


# ------------------------------------------------------------------ sign in


@router.get("/", include_in_schema=False)
def home(request: Request) -> Response:
    return _see_other(request, "/inbox")


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(
    request: Request, next_page: Annotated[str | None, Query(alias="next")] = None
) -> Response:
    """The sign-in form (it sets a session that holds only the form's CSRF token)."""
    desk = desk_of(request)
    codec: SessionCodec = request.app.state.sessions
    session = codec.load(request.cookies.get(COOKIE), desk.now())
    if session is None:
        session = new_session(desk.now(), 1.0)
    pinned = desk.read(lambda _c, p: p)
    response = page(
        request,
        "login.html.j2",
        pinned=pinned,
        csrf=session.csrf,
        next=_safe_next(next_page),
        problem=None,
    )
    set_session(request, response, codec.dump(session), session.expires)
    return response


@router.post("/login", response_class=HTMLResponse, include_in_schema=False)
def login(
    request: Request,
    token: Annotated[str, Form()] = "",
    csrf: CsrfField = None,
    next_page: Annotated[str | None, Form(alias="next")] = None,
) -> Response:
    """Check the token, then start a session for its person (a fresh CSRF token)."""
    desk = desk_of(request)
    codec: SessionCodec = request.app.state.sessions
    now = desk.now()
    check_csrf(csrf, codec.load(request.cookies.get(COOKIE), now))
    address = client_address(request, desk.settings)
    request.app.state.throttle.check(address, now)
    found = authenticate(desk.store, token.strip(), now)
    if isinstance(found, AuthRefusal):
        request.app.state.throttle.fail(address, now, found.reason)
        session = new_session(now, 1.0)
        pinned = desk.read(lambda _c, p: p)
        response = page(
            request,
            "login.html.j2",
            pinned=pinned,
            csrf=session.csrf,
            next=_safe_next(next_page),
            problem=found.reason,
            status=401,
        )
        set_session(request, response, codec.dump(session), session.expires)
        return response
    expiry = next(
        (t.expires_at for t in desk.store.read(list_tokens) if t.id == found.token_id), None
    )
    session = new_session(
        now,
        desk.settings.session_hours,
        person=found.name,
        via="token",
        token_id=found.token_id,
        until=expiry,
    )
    redirect = _see_other(request, _safe_next(next_page))
    set_session(request, redirect, codec.dump(session), session.expires)
    return redirect


@router.post("/logout", include_in_schema=False)
def logout(request: Request, viewer: Viewer, csrf: CsrfField = None) -> Response:
    check_csrf(csrf, viewer.session)
    response = _see_other(request, "/login")
    response.delete_cookie(COOKIE, path=desk_of(request).settings.root_path or "/")
    return response


# -------------------------------------------------------------------- inbox


@router.get("/inbox", response_class=HTMLResponse, include_in_schema=False)
def inbox_view(request: Request, viewer: Viewer) -> Response:
    desk = desk_of(request)
    now = desk.now()
    cache = request.app.state.waiting
    box, pinned = desk.read(lambda conn, p: (inbox(conn, p, viewer.name, now, cache=cache), p))
    return page(request, "inbox.html.j2", auth=viewer, pinned=pinned, box=box)


# --------------------------------------------------------------------- step


@router.get("/steps/{ref}", response_class=HTMLResponse, name="step_view", include_in_schema=False)
def step_view(request: Request, ref: str, viewer: Viewer) -> Response:
    desk = desk_of(request)
    number, now = parse_step_ref(ref), desk.now()
    view, pinned = desk.read(lambda conn, p: (step_page(conn, p, number, viewer.name, now), p))
    return page(request, "step.html.j2", auth=viewer, pinned=pinned, view=view, card=view.card)


def _decide(
    request: Request, action: Action, ref: str, viewer: Authenticated, csrf: str | None, reason: str
) -> Response:
    check_csrf(csrf, viewer.session)
    result = desk_of(request).decide(
        action, ref, person=viewer.name, origin=Origin("web", viewer.address), reason=reason
    )
    response = _see_other(request, f"/steps/step-{result.step_id}")
    set_flash(request, response, result.message)
    return response


Reason = Annotated[str, Form(max_length=4000)]


@router.post("/steps/{ref}/approve", include_in_schema=False)
def approve_form(
    request: Request, ref: str, viewer: Viewer, csrf: CsrfField = None, reason: Reason = ""
) -> Response:
    return _decide(request, "approve", ref, viewer, csrf, reason)


@router.post("/steps/{ref}/reject", include_in_schema=False)
def reject_form(
    request: Request, ref: str, viewer: Viewer, csrf: CsrfField = None, reason: Reason = ""
) -> Response:
    return _decide(request, "reject", ref, viewer, csrf, reason)


@router.post("/steps/{ref}/ack", include_in_schema=False)
def ack_form(
    request: Request, ref: str, viewer: Viewer, csrf: CsrfField = None, reason: Reason = ""
) -> Response:
    return _decide(request, "ack", ref, viewer, csrf, reason)


# ------------------------------------------------------------------ records


@router.get("/models/{model_id}", response_class=HTMLResponse, include_in_schema=False)
def model_view(request: Request, model_id: str, viewer: Viewer) -> Response:
    desk = desk_of(request)
    today = desk.now().date()
    view, pinned = desk.read(lambda conn, p: (model_page(conn, p, model_id, today), p))
    if view is None:
        raise NotFound(f"no model {model_id!r} in the register or the state store")
    return page(request, "model.html.j2", auth=viewer, pinned=pinned, view=view)


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_view(
    request: Request, viewer: Viewer, limit: Annotated[int, Query(ge=1, le=5000)] = 200
) -> Response:
    """The log, verified in full on every load (the page says which anchor was used)."""
    desk = desk_of(request)
    verdict = desk.checkpoint.prove(full=True)
    view = audit_page(desk.store, verdict, limit=limit)
    pinned = desk.read(lambda _c, p: p)
    return page(
        request,
        "audit.html.j2",
        auth=viewer,
        pinned=pinned,
        view=view,
        head_lines=anchors_of(desk.store),
        keyed=desk.store.audit_key is not None,
    )


@router.get("/ladder", response_class=HTMLResponse, include_in_schema=False)
def ladder_view(request: Request, viewer: Viewer, model: str | None = None) -> Response:
    desk = desk_of(request)
    view, pinned = desk.read(lambda conn, p: (ladder_page(conn, p, model or None), p))
    return page(request, "ladder.html.j2", auth=viewer, pinned=pinned, view=view)


@router.get("/matrix", response_class=HTMLResponse, include_in_schema=False)
def matrix_view(request: Request, viewer: Viewer, model: str | None = None) -> Response:
    desk = desk_of(request)
    pinned = desk.read(lambda _c, p: p)
    return page(
        request,
        "matrix.html.j2",
        auth=viewer,
        pinned=pinned,
        view=matrix_page(pinned, model or None),
    )


@router.get("/stats", response_class=HTMLResponse, include_in_schema=False)
def stats_view(
    request: Request, viewer: Viewer, model: str | None = None, since: str | None = None
) -> Response:
    desk = desk_of(request)
    start = None
    if since:
        try:
            start = datetime.fromisoformat(since)
        except ValueError:
            return _see_other(request, "/stats" + (f"?model={quote(model)}" if model else ""))
        start = start if start.tzinfo else start.replace(tzinfo=timezone.utc)
    now = desk.now()
    view, pinned = desk.read(
        lambda conn, p: (stats_page(conn, p, model or None, start, now=now), p)
    )
    return page(request, "stats.html.j2", auth=viewer, pinned=pinned, view=view)
