"""Who is asking: desk tokens, page sessions, the SSO header, CSRF and source addresses.

Three ways in, all ending at a person pinned in the state store:

* **API** — ``Authorization: Bearer <token>``, checked by
  :func:`ladder.tokens.authenticate` on every request; cookies are never accepted there,
  so the API needs no CSRF defence.
* **pages** — the login page takes the token once and sets a signed session cookie
  (``HttpOnly``, ``SameSite=Lax``, ``Secure`` behind https) that names the person, the
  token it came from (re-checked on every request: a revoked token ends its sessions)
  and a random CSRF secret that every form carries back.
* **SSO** — with ``--sso-header`` (off by default), a header such as
  ``X-Forwarded-User`` set by an authenticating proxy (oauth2-proxy) names the person,
  believed **only** on connections from ``--trusted-proxy`` addresses; the name must be
  a pinned person.

The source address recorded with a decision is the connection's peer, or, when the
peer is a trusted proxy, the nearest untrusted address in ``X-Forwarded-For``.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from fastapi import Request
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.engine import Connection

from ladder.tokens import AuthRefusal, Person, authenticate, list_tokens
from modelhealth.serve.desk import Desk, Pinned
from modelhealth.serve.settings import DeskSettings

__all__ = [
    "COOKIE",
    "AuthRequired",
    "Authenticated",
    "Forbidden",
    "Session",
    "SessionCodec",
    "Throttle",
    "api_person",
    "check_csrf",
    "client_address",
    "desk_of",
    "page_person",
]

log = logging.getLogger("modelhealth.serve")

#: The session cookie's name.
COOKIE: Final = "modelhealth_desk"
Via = Literal["token", "session", "sso"]


class AuthRequired(Exception):
    """No one is authenticated: the API answers 401, pages go to the login page."""

    def __init__(self, reason: str, *, api: bool) -> None:
        super().__init__(reason)
        self.reason, self.api = reason, api


class Forbidden(Exception):
    """Authenticated (or not) but refused by the desk itself: CSRF, an unknown SSO name,
    too many failed sign-ins. Domain refusals are :class:`ladder.errors.Refused`."""

    def __init__(self, reason: str, *, status: int = 403) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


@dataclass(frozen=True)
class Session:
    """What a session cookie carries (signed; nothing in it is secret but ``csrf``)."""

    csrf: str
    expires: float
    person: str | None = None
    via: Via | None = None
    token_id: int | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "c": self.csrf,
            "e": self.expires,
            "p": self.person,
            "v": self.via,
            "t": self.token_id,
        }


class SessionCodec:
    """Signs and reads session cookies with the desk's key (itsdangerous, HMAC-SHA1 over
    a derived key, as Flask and Starlette sessions do)."""

    def __init__(self, secret: bytes) -> None:
        self._serializer = URLSafeSerializer(secret, salt="modelhealth-desk-session")

    def dump(self, session: Session) -> str:
        return str(self._serializer.dumps(session.payload()))

    def load(self, value: str | None, now: datetime) -> Session | None:
        """The session in ``value``, or ``None`` when it is absent, forged or expired."""
        if not value:
            return None
        try:
            data = self._serializer.loads(value)
        except BadSignature:
            return None
        if not isinstance(data, dict) or float(data.get("e", 0)) <= now.timestamp():
            return None
        return Session(
            csrf=str(data["c"]),
            expires=float(data["e"]),
            person=data.get("p"),
            via=data.get("v"),
            token_id=data.get("t"),
        )


def new_session(
    now: datetime,
    hours: float,
    *,
    person: str | None = None,
    via: Via | None = None,
    token_id: int | None = None,
    until: datetime | None = None,
) -> Session:
    """A fresh session (a new CSRF secret every time: signing in rotates it)."""
    expires = now + timedelta(hours=hours)
    if until is not None:
        expires = min(expires, until)
    return Session(secrets.token_urlsafe(32), expires.timestamp(), person, via, token_id)


class Throttle:
    """At most ``limit`` failed sign-ins per address in ``window``; then 429 until the
    oldest failure leaves the window. (A token has 256 random bits: this keeps logs and
    the database quiet, it is not what makes guessing hopeless.)"""

    def __init__(self, limit: int = 10, window: timedelta = timedelta(minutes=5)) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def check(self, address: str, now: datetime) -> None:
        """Raise :class:`Forbidden` (429) while ``address`` is over the limit."""
        with self._lock:
            recent = self._failures.get(address)
            while recent and recent[0] <= now - self.window:
                recent.popleft()
            if recent is not None and len(recent) >= self.limit:
                wait = int((recent[0] + self.window - now).total_seconds()) + 1
                raise Forbidden(
                    f"too many failed sign-ins from {address}; try again in {wait} s", status=429
                )

    def fail(self, address: str, now: datetime, reason: str) -> None:
        log.warning("desk sign-in refused from %s: %s", address, reason)
        with self._lock:
            self._failures.setdefault(address, deque()).append(now)


@dataclass(frozen=True)
class Authenticated:
    """The person behind a request, how they proved it, and from where."""

    name: str
    roles: tuple[str, ...]
    via: Via
    address: str
    session: Session | None = None
    new_cookie: str | None = None


# --------------------------------------------------------------------- helpers


def desk_of(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


def client_address(request: Request, settings: DeskSettings) -> str:
    """The address a decision is recorded with (see the module docs)."""
    peer = request.client.host if request.client else "unknown"
    if not settings.trusts(peer):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not settings.trusts(hop):
            return hop
    return hops[0] if hops else peer


def _sso_name(request: Request, settings: DeskSettings) -> str | None:
    if settings.sso_header is None:
        return None
    name = request.headers.get(settings.sso_header)
    if name is None:
        return None
    peer = request.client.host if request.client else None
    if not settings.trusts(peer):
        log.warning("ignored %s from %s: not a trusted proxy", settings.sso_header, peer)
        return None
    return name.strip()


def _pinned_person(name: str, pinned: Pinned, header: str) -> Person:
    if pinned.pin is None or name not in pinned.pin.people:
        raise Forbidden(
            f"{header} names {name!r}, who is not among the people pinned in the state store"
        )
    return Person(name, tuple(sorted(pinned.pin.roles_of(name))))


def _token_live(conn: Connection, token_id: int, person: str, now: datetime) -> str | None:
    """Why a session's token no longer holds (revoked, expired, gone), or ``None``."""
    for token in list_tokens(conn):
        if token.id == token_id and token.person == person:
            status = token.status(now)
            return None if status == "active" else f"token-{token_id} is {status}"
    return f"token-{token_id} does not exist"


# ---------------------------------------------------------------- dependencies


def api_person(request: Request) -> Authenticated:
    """The person behind an API request: SSO header (trusted proxies only) or bearer
    token. Raises :class:`AuthRequired` (401) otherwise."""
    desk = desk_of(request)
    settings, now = desk.settings, desk.now()
    address = client_address(request, settings)
    sso = _sso_name(request, settings)
    if sso is not None:
        person = desk.read(
            lambda _c, pinned: _pinned_person(sso, pinned, settings.sso_header or "the SSO header")
        )
        return Authenticated(person.name, person.roles, "sso", address)
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthRequired(
            "authentication required: send `Authorization: Bearer <token>` "
            "(an admin issues one with `modelhealth people token create`)",
            api=True,
        )
    request.app.state.throttle.check(address, now)
    found = authenticate(desk.store, token.strip(), now)
    if isinstance(found, AuthRefusal):
        request.app.state.throttle.fail(address, now, found.reason)
        raise AuthRequired(found.reason, api=True)
    return Authenticated(found.name, found.roles, "token", address)


def page_person(request: Request) -> Authenticated:
    """The person behind a page request: SSO header (trusted proxies only) or a valid
    session cookie. Raises :class:`AuthRequired` (to the login page) otherwise."""
    desk = desk_of(request)
    settings, now = desk.settings, desk.now()
    address = client_address(request, settings)
    codec: SessionCodec = request.app.state.sessions
    session = codec.load(request.cookies.get(COOKIE), now)
    sso = _sso_name(request, settings)
    if sso is not None:
        person = desk.read(
            lambda _c, pinned: _pinned_person(sso, pinned, settings.sso_header or "the SSO header")
        )
        if session is not None and session.person == person.name and session.via == "sso":
            return Authenticated(person.name, person.roles, "sso", address, session)
        fresh = new_session(now, settings.session_hours, person=person.name, via="sso")
        return Authenticated(person.name, person.roles, "sso", address, fresh, codec.dump(fresh))
    if session is None or session.person is None or session.token_id is None:
        raise AuthRequired("sign in with your desk token", api=False)
    name, token_id = session.person, session.token_id

    def check(conn: Connection, pinned: Pinned) -> tuple[str | None, tuple[str, ...]]:
        if pinned.pin is None or name not in pinned.pin.people:
            return f"{name} is no longer among the pinned people", ()
        return _token_live(conn, token_id, name, now), tuple(sorted(pinned.pin.roles_of(name)))

    problem, roles = desk.read(check)
    if problem is not None:
        raise AuthRequired(f"your session ended: {problem}; sign in again", api=False)
    return Authenticated(name, roles, "session", address, session)


def check_csrf(sent: str | None, session: Session | None) -> None:
    """Refuse (403) a form whose CSRF token is missing or not this session's."""
    if session is None or not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise Forbidden(
            "this form's CSRF token is missing or does not belong to your session; "
            "nothing was done. Reload the page and submit it again"
        )
