"""People away, and who stands in for them (``modelhealth people away``).

An absence is a decision like an approval: recorded by the person themself or by an
admin of the pinned register, audited, and part of the state the audit log proves
(:mod:`ladder.proof` replays ``ladder_absences``). While it lasts, the ladder's
notifications for that person go to the delegate (when the delegate holds a role the
step needs) or to the on-call role (:mod:`ladder.routing`).

A new absence of a person replaces the ones still current or to come; ``--clear`` ends
them all now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from ladder import audit
from ladder.audit import Origin
from ladder.errors import NotFound, Refused
from ladder.pins import Pin, require_pinned
from ladder.routing import Absence, Directory
from ladder.rungs import effective_rungs
from ladder.state import as_utc
from ladder.store import LadderStore
from ladder.tables import absences
from thresholds.schema import Register

__all__ = [
    "MAX_ABSENCE",
    "AbsenceRecorded",
    "clear_absence",
    "current_absences",
    "deciding_roles",
    "directory_for",
    "list_absences",
    "record_absence",
]

#: The longest absence recorded at once.
MAX_ABSENCE: Final = timedelta(days=366)


def deciding_roles(register: Register) -> frozenset[str]:
    """Roles that decide or are escalated to somewhere in the register, and the on-call
    role: what a delegate may have to hold to stand in."""
    roles: set[str] = {register.routing.on_call_role}
    for entry in register.models:
        roles.update(entry.approver_roles)
        for rung in effective_rungs(entry):
            roles.update(rung.approval.roles)
            roles.update(rung.approval.escalate_to)
    return frozenset(roles)


def _absence(row: Any) -> Absence:
    return Absence(
        id=row.id,
        person=row.person,
        starts_at=row.starts_at,
        until=row.until,
        delegate=row.delegate,
        reason=row.reason,
        created_by=row.created_by,
    )


def current_absences(conn: Connection, now: datetime) -> tuple[Absence, ...]:
    """Absences not cleared that have not ended by ``now`` (current and to come)."""
    rows = conn.execute(
        select(absences)
        .where(absences.c.cleared_at.is_(None), absences.c.until > as_utc(now))
        .order_by(absences.c.id)
    )
    return tuple(_absence(r) for r in rows)


def directory_for(conn: Connection, register: Register, now: datetime) -> Directory:
    """Who can be reached at ``now``: ``register``'s people (pass the register with the
    pinned people), its routing section, and the absences the store holds."""
    return Directory(
        people={p: tuple(r) for p, r in register.people.items()},
        routing=register.routing,
        absences=current_absences(conn, now),
    )


def list_absences(conn: Connection, now: datetime, *, include_past: bool = False) -> list[Absence]:
    """Absences to show: current and to come, or every one ever recorded."""
    if not include_past:
        return list(current_absences(conn, now))
    return [_absence(r) for r in conn.execute(select(absences).order_by(absences.c.id))]


@dataclass(frozen=True)
class AbsenceRecorded:
    """An absence just recorded, what it replaced, and the roles its delegate cannot cover."""

    absence: Absence
    replaced: tuple[int, ...]
    uncovered: tuple[str, ...]


def _may_act_for(pin: Pin, actor: str, person: str) -> None:
    if actor != person and not pin.is_admin(actor):
        raise Refused(
            f"{actor} may not record {person}'s absence: only {person} or a holder "
            f"of {', '.join(sorted(pin.admin_roles))} may"
        )


def _end(
    conn: Connection, rows: Iterable[Absence], *, now: datetime, actor: str, why: str
) -> tuple[int, ...]:
    ended = []
    for old in rows:
        conn.execute(
            update(absences).where(absences.c.id == old.id).values(cleared_at=now, cleared_by=actor)
        )
        audit.record_update(conn, absences, old.id, {"cleared_at": now, "cleared_by": actor})
        audit.append(
            conn,
            at=now,
            actor=actor,
            action="absence.cleared",
            subject=f"person:{old.person}",
            reason=why,
            payload={"absence": old.id},
        )
        ended.append(old.id)
    return tuple(ended)


def record_absence(
    store: LadderStore,
    *,
    person: str,
    until: datetime,
    register: Register,
    actor: str,
    now: datetime,
    starts_at: datetime | None = None,
    delegate: str | None = None,
    reason: str = "",
    origin: Origin | None = None,
) -> AbsenceRecorded:
    """Record that ``person`` is away from ``starts_at`` (default ``now``) until ``until``,
    with ``delegate`` standing in.

    Raises
    ------
    Refused
        ``actor`` is neither ``person`` nor an admin; ``person`` or ``delegate`` is not a
        pinned person; the delegate is the person; the delegate shares none of the roles
        ``person`` decides with; the period is empty, over or longer than a year; the
        register differs from the pin.
    """
    now = as_utc(now)
    start = as_utc(starts_at) if starts_at is not None else now
    until = as_utc(until)
    if until <= start or until <= now:
        raise Refused(
            f"an absence must end after it starts and after now ({now:%Y-%m-%d %H:%M} "
            f"UTC), not at {until:%Y-%m-%d %H:%M} UTC"
        )
    if until - start > MAX_ABSENCE:
        raise Refused(f"an absence is recorded for at most {MAX_ABSENCE.days} days at a time")

    def work(conn: Connection) -> AbsenceRecorded:
        pin = require_pinned(conn, register, actor=actor, now=now)
        known = ", ".join(sorted(pin.people))
        if person not in pin.people:
            raise Refused(f"{person!r} is not among the pinned people ({known})")
        _may_act_for(pin, actor, person)
        uncovered: tuple[str, ...] = ()
        if delegate is not None:
            if delegate not in pin.people:
                raise Refused(f"delegate {delegate!r} is not among the pinned people ({known})")
            if delegate == person:
                raise Refused(f"{person} cannot delegate to themself")
            needed = pin.roles_of(person) & deciding_roles(register)
            shared = needed & pin.roles_of(delegate)
            if needed and not shared:
                raise Refused(
                    f"{delegate} cannot stand in for {person}: {person} decides as "
                    f"{', '.join(sorted(needed))} and {delegate} holds "
                    f"{', '.join(sorted(pin.roles_of(delegate))) or 'no role'}"
                )
            uncovered = tuple(sorted(needed - shared))
        replaced = _end(
            conn,
            (a for a in current_absences(conn, now) if a.person == person),
            now=now,
            actor=actor,
            why=f"replaced by a new absence of {person}",
        )
        key = conn.execute(
            insert(absences).values(
                person=person,
                starts_at=start,
                until=until,
                delegate=delegate,
                reason=reason,
                created_at=now,
                created_by=actor,
            )
        ).inserted_primary_key
        assert key is not None
        absence_id = int(key[0])
        audit.record_insert(conn, absences, absence_id)
        stand_in = f"; {delegate} stands in" if delegate else "; no delegate: the on-call role"
        audit.append(
            conn,
            at=now,
            actor=actor,
            action="absence.recorded",
            subject=f"person:{person}",
            reason=(reason or f"{person} away") + stand_in,
            payload={
                "absence": absence_id,
                "from": start,
                "until": until,
                "delegate": delegate,
                "uncovered": list(uncovered),
            },
        )
        row = conn.execute(select(absences).where(absences.c.id == absence_id)).one()
        return AbsenceRecorded(_absence(row), replaced, uncovered)

    return store.write(work, origin=origin, actor=actor)


def clear_absence(
    store: LadderStore,
    *,
    person: str,
    register: Register,
    actor: str,
    now: datetime,
    origin: Origin | None = None,
) -> tuple[int, ...]:
    """End every current or future absence of ``person`` now; returns their ids.

    Raises
    ------
    NotFound
        ``person`` has no absence to clear.
    Refused
        ``actor`` is neither ``person`` nor an admin.
    """
    now = as_utc(now)

    def work(conn: Connection) -> tuple[int, ...]:
        pin = require_pinned(conn, register, actor=actor, now=now)
        _may_act_for(pin, actor, person)
        mine = [a for a in current_absences(conn, now) if a.person == person]
        if not mine:
            raise NotFound(f"{person} has no current or planned absence to clear")
        return _end(conn, mine, now=now, actor=actor, why=f"{person} is back")

    return store.write(work, origin=origin, actor=actor)
