"""Personal tokens for the escalation desk: issued once, stored as a hash, expiring.

A token is ``mh_`` followed by 43 URL-safe characters (256 random bits from
:mod:`secrets`). Only its SHA-256 is stored (a slow hash buys nothing against 256 bits of
entropy), with four characters as a hint for listings. Issuing and revoking are
audited decisions by an admin of the pinned register; :func:`authenticate` is what the
desk calls on every request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from ladder import audit
from ladder.audit import Origin
from ladder.errors import NotFound, Refused
from ladder.pins import current_pin, require_pinned
from ladder.state import as_utc
from ladder.store import LadderStore
from ladder.tables import tokens
from thresholds.schema import Register

__all__ = [
    "PREFIX",
    "AuthRefusal",
    "IssuedToken",
    "Person",
    "TokenInfo",
    "authenticate",
    "create_token",
    "list_tokens",
    "revoke_tokens",
    "token_digest",
]

PREFIX: Final = "mh_"
#: The longest a token may live.
MAX_LIFETIME: Final = timedelta(days=366)


def token_digest(token: str) -> str:
    """SHA-256 of the token text, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Person:
    """An authenticated person with the roles the pinned register gives them."""

    name: str
    roles: tuple[str, ...]
    token_id: int | None = None


@dataclass(frozen=True)
class AuthRefusal:
    """Why a token does not authenticate anyone (the desk answers 401 with it)."""

    reason: str


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: ``token`` is shown once and never stored."""

    id: int
    person: str
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class TokenInfo:
    """A stored token, as listed (never the token itself)."""

    id: int
    person: str
    hint: str
    created_at: datetime
    created_by: str
    expires_at: datetime
    revoked_at: datetime | None
    revoked_by: str | None

    def status(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= as_utc(now) else "active"


def _require_admin(conn: Connection, register: Register, *, admin: str, now: datetime) -> None:
    pin = require_pinned(conn, register, actor=admin, now=now)
    if not pin.is_admin(admin):
        raise Refused(
            f"{admin} holds none of {', '.join(sorted(pin.admin_roles))}; only an "
            "admin issues or revokes desk tokens"
        )


def create_token(
    store: LadderStore,
    *,
    person: str,
    register: Register,
    admin: str,
    now: datetime,
    lifetime: timedelta,
    origin: Origin,
) -> IssuedToken:
    """Issue a token for ``person`` (who must be in the pinned people), by ``admin``.

    Raises
    ------
    Refused
        ``admin`` is no admin, ``person`` is unknown, the register differs from the pin,
        or the lifetime is not within (0, 366 days].
    """
    now = as_utc(now)
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise Refused(
            f"a token lives between 1 second and {MAX_LIFETIME.days} days, not {lifetime}"
        )
    token = PREFIX + secrets.token_urlsafe(32)

    def work(conn: Connection) -> IssuedToken:
        _require_admin(conn, register, admin=admin, now=now)
        pin = current_pin(conn)
        assert pin is not None
        if person not in pin.people:
            raise Refused(
                f"{person!r} is not among the pinned people; known: {', '.join(sorted(pin.people))}"
            )
        expires = now + lifetime
        key = conn.execute(
            insert(tokens).values(
                person=person,
                digest=token_digest(token),
                hint=token[-4:],
                created_at=now,
                created_by=admin,
                expires_at=expires,
            )
        ).inserted_primary_key
        assert key is not None
        token_id = int(key[0])
        audit.record_insert(conn, tokens, token_id)
        audit.append(
            conn,
            at=now,
            actor=admin,
            action="token.created",
            subject=f"token-{token_id}",
            reason=f"desk token for {person}",
            payload={"person": person, "expires_at": expires},
        )
        return IssuedToken(token_id, person, token, expires)

    return store.write(work, origin=origin)


def _info(row: Any) -> TokenInfo:  # a Row of ladder_tokens
    return TokenInfo(
        id=row.id,
        person=row.person,
        hint=row.hint,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )


def list_tokens(conn: Connection) -> list[TokenInfo]:
    """Every token ever issued, oldest first."""
    return [_info(r) for r in conn.execute(select(tokens).order_by(tokens.c.id))]


def revoke_tokens(
    store: LadderStore,
    ref: str,
    *,
    register: Register,
    admin: str,
    now: datetime,
    origin: Origin,
) -> list[int]:
    """Revoke one token (``ID`` or ``token-ID``) or every live token of a person.

    Raises
    ------
    NotFound
        No live token matches ``ref``.
    """
    now = as_utc(now)
    text = ref.strip().removeprefix("token-")

    def work(conn: Connection) -> list[int]:
        _require_admin(conn, register, admin=admin, now=now)
        live = select(tokens.c.id).where(tokens.c.revoked_at.is_(None))
        query = (
            live.where(tokens.c.id == int(text))
            if text.isdigit()
            else live.where(tokens.c.person == text)
        )
        ids = [int(r[0]) for r in conn.execute(query.order_by(tokens.c.id))]
        if not ids:
            raise NotFound(f"no live token matches {ref!r} (give a token id or a person)")
        for token_id in ids:
            conn.execute(
                update(tokens)
                .where(tokens.c.id == token_id)
                .values(revoked_at=now, revoked_by=admin)
            )
            audit.record_update(conn, tokens, token_id, {"revoked_at": now, "revoked_by": admin})
            audit.append(
                conn,
                at=now,
                actor=admin,
                action="token.revoked",
                subject=f"token-{token_id}",
                reason=f"revoked by {admin}",
            )
        return ids

    return store.write(work, origin=origin)


def authenticate(store: LadderStore, token: str, now: datetime) -> Person | AuthRefusal:
    """The person a desk token belongs to, with their pinned roles, or why not.

    Pure of side effects: a failed attempt is not written (the desk rate-limits and
    logs). The stored digest is compared in constant time.
    """
    now = as_utc(now)
    if not token.startswith(PREFIX) or len(token) > 200:
        return AuthRefusal("not a modelhealth token")
    digest = token_digest(token)

    def read(conn: Connection) -> Person | AuthRefusal:
        row = conn.execute(select(tokens).where(tokens.c.digest == digest)).first()
        if row is None or not hmac.compare_digest(row.digest, digest):
            return AuthRefusal("unknown token")
        if row.revoked_at is not None:
            return AuthRefusal(
                f"token-{row.id} was revoked on "
                f"{row.revoked_at:%Y-%m-%d %H:%M} UTC by {row.revoked_by}"
            )
        if row.expires_at <= now:
            return AuthRefusal(f"token-{row.id} expired on {row.expires_at:%Y-%m-%d %H:%M} UTC")
        pin = current_pin(conn)
        if pin is None or row.person not in pin.people:
            return AuthRefusal(f"{row.person} is no longer among the pinned people")
        return Person(row.person, tuple(sorted(pin.roles_of(row.person))), row.id)

    return store.read(read)
