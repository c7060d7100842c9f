"""The one place that turns a refusal into an HTTP response.

* :class:`ladder.errors.Refused` (role, separation of duties, budget, state) and
  :class:`ladder.errors.Tampered` (the log does not prove the state): 403;
* :class:`ladder.errors.NotFound`: 404; :class:`ladder.errors.StoreError`: 503;
* :class:`~modelhealth.serve.identity.AuthRequired`: 401 with ``WWW-Authenticate`` from
  the API, a 303 to the login page from a page;
* :class:`~modelhealth.serve.identity.Forbidden` (CSRF, an unknown SSO name, too many
  failed sign-ins): 403 or 429.

The API answers ``{"detail": reason, "refusal": kind}``; a page shows the reason.
The reason is the ladder's own text, the same one the CLI prints.
"""

from __future__ import annotations

import logging
from typing import Final
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException

from ladder.errors import LadderError, NotFound, Refused, StoreError, Tampered
from modelhealth.serve.identity import AuthRequired, Forbidden, desk_of
from modelhealth.serve.render import SECURITY_HEADERS, page

__all__ = ["install_handlers", "is_api", "route_path"]

log = logging.getLogger("modelhealth.serve")

_TITLES: Final = {
    401: "Sign in required",
    403: "Refused",
    404: "Not found",
    405: "Method not allowed",
    429: "Too many attempts",
    503: "State store unavailable",
}


def route_path(request: Request) -> str:
    """The path within the desk, without the ``--public-url`` prefix (whether or not the
    proxy stripped it before the request arrived)."""
    path = request.url.path
    root = desk_of(request).settings.root_path
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root) :] or "/"
    return path


def is_api(request: Request) -> bool:
    """Whether the request is for the JSON API (or the health check) rather than a page."""
    path = route_path(request)
    return path.startswith("/api/") or path == "/healthz"


def _refusal(exc: LadderError) -> tuple[int, str]:
    if isinstance(exc, Tampered):
        return 403, "tampered"
    if isinstance(exc, Refused):
        return 403, "refused"
    if isinstance(exc, NotFound):
        return 404, "not_found"
    if isinstance(exc, StoreError):
        return 503, "store"
    return 400, "bad_request"


def _respond(request: Request, status: int, reason: str, kind: str) -> Response:
    if is_api(request):
        headers = dict(SECURITY_HEADERS)
        if status == 401:
            headers["WWW-Authenticate"] = (
                'Bearer realm="modelhealth", error="invalid_token", error_description='
                + '"'
                + reason.replace('"', "'").replace("\\", "/")
                + '"'
            )
        return JSONResponse(
            {"detail": reason, "refusal": kind}, status_code=status, headers=headers
        )
    path = route_path(request)
    # A refused decision links back to its step.
    root = desk_of(request).settings.root_path
    back = (
        root + path.rsplit("/", 1)[0]
        if request.method == "POST" and path.startswith("/steps/")
        else None
    )
    return page(
        request,
        "error.html.j2",
        status=status,
        title=_TITLES.get(status, "Error"),
        reason=reason,
        code=status,
        back=back,
    )


def install_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(LadderError)
    async def ladder_error(request: Request, exc: LadderError) -> Response:
        status, kind = _refusal(exc)
        log.info("refused %s %s: %s", request.method, request.url.path, exc)
        return _respond(request, status, str(exc), kind)

    @app.exception_handler(AuthRequired)
    async def auth_required(request: Request, exc: AuthRequired) -> Response:
        if exc.api or is_api(request):
            return _respond(request, 401, exc.reason, "unauthenticated")
        root = desk_of(request).settings.root_path
        target = route_path(request) + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(
            f"{root}/login?next={quote(target, safe='/')}",
            status_code=303,
            headers=SECURITY_HEADERS,
        )

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        return _respond(request, exc.status, exc.reason, "forbidden")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        return _respond(request, exc.status_code, str(exc.detail), "http")
