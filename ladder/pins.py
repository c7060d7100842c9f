"""People, roles and the identity section, pinned in the state store.

Who may approve must not depend on whichever register file a caller names: a copy that
makes dave a ``model_owner`` would otherwise be believed. The store keeps the register's
people, roles and identity section (with a SHA-256 of them) the first time it is used,
and from then on:

* a decision made with a register whose pinned part differs is **refused**, naming each
  difference (:func:`require_pinned`);
* ``modelhealth ladder register pin`` adopts a new version (:func:`pin_register`): an
  audited decision by a holder of a pinned admin role (``identity.admin_roles``, default
  ``ml_lead``), who may not grant themselves a role or make themselves an admin;
* the nightly check pins on first use too, and when the register's people changed it
  keeps routing by the pinned ones and audits the difference once per version
  (:func:`people_for_nightly`): it never adopts silently.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from ladder import audit
from ladder.audit import canonical_json
from ladder.errors import Refused
from ladder.tables import meta, pins
from thresholds.schema import Register

__all__ = [
    "Pin",
    "current_pin",
    "differences",
    "people_for_nightly",
    "pin_body",
    "pin_register",
    "require_pinned",
]

_NOTED: Final = "unpinned_register_noted"


def pin_body(register: Register) -> dict[str, Any]:
    """The pinned part of a register: people with sorted roles, and the identity section."""
    return {
        "people": {p: sorted(set(roles)) for p, roles in sorted(register.people.items())},
        "identity": register.identity.model_dump(mode="json"),
    }


def _digest(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(dict(body)).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Pin:
    """One adopted version of the people, roles and identity section."""

    version: int
    people: Mapping[str, tuple[str, ...]]
    identity: Mapping[str, Any]
    digest: str
    register_name: str
    pinned_at: datetime
    pinned_by: str

    def roles_of(self, person: str) -> frozenset[str]:
        """Roles ``person`` holds in this pin."""
        return frozenset(self.people.get(person, ()))

    @property
    def admin_roles(self) -> frozenset[str]:
        """Roles that may pin a new version and issue desk tokens."""
        return frozenset(self.identity.get("admin_roles") or ("ml_lead",))

    def is_admin(self, person: str) -> bool:
        """Whether ``person`` holds an admin role."""
        return bool(self.roles_of(person) & self.admin_roles)

    def describe(self) -> str:
        """``pin 2 (register 'acme', 2026-10-17 09:00 UTC by carol)``."""
        return (
            f"pin {self.version} (register {self.register_name!r}, "
            f"{self.pinned_at:%Y-%m-%d %H:%M} UTC by {self.pinned_by})"
        )


def current_pin(conn: Connection) -> Pin | None:
    """The pin in force (the newest), if the store has one."""
    row = conn.execute(select(pins).order_by(pins.c.version.desc()).limit(1)).first()
    if row is None:
        return None
    return Pin(
        version=row.version,
        people={p: tuple(r) for p, r in row.people.items()},
        identity=dict(row.identity),
        digest=row.digest,
        register_name=row.register_name,
        pinned_at=row.pinned_at,
        pinned_by=row.pinned_by,
    )


def differences(pin: Pin, register: Register) -> list[str]:
    """What ``register`` says differently from ``pin``, one phrase per difference."""
    body = pin_body(register)
    out: list[str] = []
    old_people = {p: sorted(r) for p, r in pin.people.items()}
    new_people: dict[str, list[str]] = body["people"]
    for person in sorted(old_people.keys() | new_people.keys()):
        before, after = old_people.get(person), new_people.get(person)
        if before == after:
            continue
        if before is None:
            out.append(f"{person} added ({', '.join(after or []) or 'no role'})")
        elif after is None:
            out.append(f"{person} removed (was {', '.join(before) or 'no role'})")
        else:
            out.append(
                f"{person}: {', '.join(before) or 'no role'} → {', '.join(after) or 'no role'}"
            )
    new_identity: dict[str, Any] = body["identity"]
    for field in sorted(pin.identity.keys() | new_identity.keys()):
        if pin.identity.get(field) != new_identity.get(field):
            out.append(
                f"identity.{field}: {pin.identity.get(field)!r} → {new_identity.get(field)!r}"
            )
    return out


def _insert(
    conn: Connection, register: Register, *, version: int, actor: str, now: datetime, reason: str
) -> Pin:
    body = pin_body(register)
    pin_id = conn.execute(
        insert(pins).values(
            version=version,
            people=body["people"],
            identity=body["identity"],
            digest=_digest(body),
            register_name=register.name,
            pinned_at=now,
            pinned_by=actor,
            reason=reason,
        )
    ).inserted_primary_key
    assert pin_id is not None
    audit.record_insert(conn, pins, int(pin_id[0]))
    audit.append(
        conn,
        at=now,
        actor=actor,
        action="register.pinned",
        subject=f"register:{register.name}",
        reason=reason,
        payload={"version": version, "digest": _digest(body)},
    )
    pin = current_pin(conn)
    assert pin is not None
    return pin


def require_pinned(conn: Connection, register: Register, *, actor: str, now: datetime) -> Pin:
    """The pin in force, taken from ``register`` on first use; refused when ``register``'s
    people, roles or identity section differ from it.

    Raises
    ------
    Refused
        Naming every difference and how to adopt the new version.
    """
    pin = current_pin(conn)
    if pin is None:
        return _insert(
            conn,
            register,
            version=1,
            actor=actor,
            now=now,
            reason="first use: the register's people, roles and identity pinned",
        )
    if pin.digest == _digest(pin_body(register)):
        return pin
    raise Refused(
        f"register {register.name!r} differs from the people, roles and identity pinned in "
        f"the state store ({pin.describe()}): {'; '.join(differences(pin, register))}. "
        f"If the change is intended, a holder of {', '.join(sorted(pin.admin_roles))} adopts "
        "it with `modelhealth ladder register pin --register REGISTER`"
    )


def pin_register(
    conn: Connection, register: Register, *, person: str, now: datetime, reason: str
) -> tuple[Pin, list[str]]:
    """Adopt ``register``'s people, roles and identity as a new pin; returns it and the
    differences it adopted.

    Raises
    ------
    Refused
        ``person`` holds no admin role in the pin in force (or, for the very first pin,
        in ``register``), would grant themselves a role or admin rights, or nothing
        changed.
    """
    pin = current_pin(conn)
    body = pin_body(register)
    if pin is None:
        admins = set(register.identity.admin_roles)
        if not set(register.people.get(person, ())) & admins:
            raise Refused(
                f"{person} holds none of {', '.join(sorted(admins))} in register "
                f"{register.name!r}; only an admin pins it"
            )
        return _insert(
            conn, register, version=1, actor=person, now=now, reason=reason or "first pin"
        ), []
    if not pin.is_admin(person):
        raise Refused(
            f"{person} holds none of {', '.join(sorted(pin.admin_roles))} in "
            f"{pin.describe()}; only an admin adopts a new register version"
        )
    found = differences(pin, register)
    if not found:
        raise Refused(f"register {register.name!r} matches {pin.describe()}; nothing to pin")
    gained = set(body["people"].get(person, ())) - set(pin.roles_of(person))
    new_admins = set(body["identity"].get("admin_roles") or ())
    if gained:
        raise Refused(
            f"self-promotion: {person} may not pin a register that grants "
            f"themselves {', '.join(sorted(gained))}; another admin must"
        )
    if set(body["people"].get(person, ())) & (new_admins - pin.admin_roles):
        raise Refused(
            f"self-promotion: {person} may not make a role they hold an admin role; "
            "another admin must"
        )
    adopted = _insert(
        conn,
        register,
        version=pin.version + 1,
        actor=person,
        now=now,
        reason=reason or "; ".join(found),
    )
    return adopted, found


def people_for_nightly(
    conn: Connection, register: Register, *, now: datetime, actor: str
) -> Mapping[str, tuple[str, ...]]:
    """The people the nightly job routes and requests by: the pinned ones (pinning on
    first use). A register that differs is audited once per version, never adopted."""
    pin = current_pin(conn)
    if pin is None:
        pin = _insert(
            conn, register, version=1, actor=actor, now=now, reason="first use by the nightly check"
        )
        return pin.people
    digest = _digest(pin_body(register))
    if pin.digest != digest:
        noted = conn.execute(select(meta.c.value).where(meta.c.key == _NOTED)).scalar()
        if noted != digest:
            audit.append(
                conn,
                at=now,
                actor=actor,
                action="register.differs",
                subject=f"register:{register.name}",
                reason=(
                    f"the register differs from {pin.describe()}: "
                    f"{'; '.join(differences(pin, register))}; the pinned people stay in "
                    "force until an admin runs `modelhealth ladder register pin`"
                ),
                payload={"pinned": pin.digest, "register": digest},
            )
            if noted is None:
                conn.execute(insert(meta).values(key=_NOTED, value=digest))
            else:
                from sqlalchemy import update

                conn.execute(update(meta).where(meta.c.key == _NOTED).values(value=digest))
    return pin.people
