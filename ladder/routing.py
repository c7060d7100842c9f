"""Who a ladder notification reaches, and when a person will act on it. Pure: the clock,
the people, the register's routing section and the absences are passed in.

The dispatch stage between a decision (which names the people it concerns) and the
outbox (which delivers), as Alertmanager's router sits between alerts and receivers:

1. **away** — a person away (``modelhealth people away``) is replaced by their delegate
   when the delegate holds a role the step needs and is not away too; else dropped;
2. **business hours** — a person outside their team's working hours still gets the
   message, but the escalation is routed to the on-call role as well, and the message
   says when an approver's working day begins ("an approver will pick this up before
   09:00 Europe/Berlin");
3. **next level** — an unacknowledged escalation goes to each approver's manager
   (``routing.escalate_to``), else to the holders of the rung's ``escalate_to`` roles,
   else to the on-call role;
4. **on call** — tier ≥ 3 always pages the on-call role, whatever the hour;
5. **unroutable** — when no configured person can be reached at all, the notification
   goes at the highest priority to everyone it concerns (away or not), flagged
   ``unroutable``: never to an empty queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property
from typing import Final, Literal
from zoneinfo import ZoneInfo

from thresholds.schema import WEEKDAYS, RoutingSettings, TeamSettings

__all__ = [
    "Absence",
    "Directory",
    "Priority",
    "Route",
    "WorkingHours",
    "route",
]

Priority = Literal["normal", "high", "highest"]

#: How far ahead a working day is looked for (a team on a year of holidays has none).
_HORIZON_DAYS: Final = 400


@dataclass(frozen=True)
class Absence:
    """A person away from ``starts_at`` until ``until``, and who stands in for them."""

    id: int
    person: str
    starts_at: datetime
    until: datetime
    delegate: str | None = None
    reason: str = ""
    created_by: str = ""

    def covers(self, moment: datetime) -> bool:
        """Whether the person is away at ``moment``."""
        return self.starts_at <= moment < self.until


@dataclass(frozen=True)
class WorkingHours:
    """A team's working time: local days, hours and holidays in one timezone."""

    zone: str
    days: frozenset[int]
    start_minute: int
    end_minute: int
    holidays: frozenset[date] = frozenset()

    @classmethod
    def of(cls, team: TeamSettings) -> WorkingHours:
        """The working time a register's team declares."""
        start, end = team.minutes
        return cls(
            zone=team.timezone,
            days=frozenset(WEEKDAYS.index(d) for d in team.working_days),
            start_minute=start,
            end_minute=end,
            holidays=frozenset(team.holidays),
        )

    @cached_property
    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def _bounds(self, day: date) -> tuple[datetime, datetime]:
        midnight = datetime.combine(day, time(0), tzinfo=self._tz)
        # Wall-clock hours: add local minutes, then read back through the zone (DST).
        start = midnight.replace(tzinfo=None) + timedelta(minutes=self.start_minute)
        end = midnight.replace(tzinfo=None) + timedelta(minutes=self.end_minute)
        return start.replace(tzinfo=self._tz), end.replace(tzinfo=self._tz)

    def _works(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def is_open(self, moment: datetime) -> bool:
        """Whether ``moment`` falls in the working hours of a working day."""
        local = moment.astimezone(self._tz)
        if not self._works(local.date()):
            return False
        start, end = self._bounds(local.date())
        return start <= local < end

    def next_opening(self, moment: datetime) -> datetime | None:
        """``moment`` itself when open, else the start of the next working day (UTC);
        ``None`` when no working day falls within a year."""
        local = moment.astimezone(self._tz)
        for offset in range(_HORIZON_DAYS):
            day = local.date() + timedelta(days=offset)
            if not self._works(day):
                continue
            start, end = self._bounds(day)
            if local < start:
                return start.astimezone(timezone.utc)
            if local < end:
                return moment.astimezone(timezone.utc)
        return None

    def after_working(self, start: datetime, delta: timedelta) -> datetime | None:
        """The moment ``delta`` of working time has passed since ``start`` (UTC): the
        clock stops outside working hours. ``None`` when no working day falls within a
        year."""
        remaining = delta
        moment = start
        for _ in range(_HORIZON_DAYS):
            opening = self.next_opening(moment)
            if opening is None:
                return None
            _, end = self._bounds(opening.astimezone(self._tz).date())
            available = end.astimezone(timezone.utc) - opening
            if remaining <= available:
                return opening + remaining
            remaining -= available
            moment = end.astimezone(timezone.utc)
        return None

    def local_text(self, moment: datetime, *, relative_to: datetime) -> str:
        """``09:00 Europe/Berlin``, with the local date when it is not ``relative_to``'s."""
        local = moment.astimezone(self._tz)
        text = f"{local:%H:%M} {self.zone}"
        if local.date() != relative_to.astimezone(self._tz).date():
            text += f" on {local:%A %Y-%m-%d}"
        return text


@dataclass(frozen=True)
class Directory:
    """Everything routing needs to know about people: their roles (pinned), the
    register's routing section (teams, managers, on-call role) and the absences."""

    people: Mapping[str, Sequence[str]]
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    absences: tuple[Absence, ...] = ()

    def roles_of(self, person: str) -> frozenset[str]:
        """Roles ``person`` holds."""
        return frozenset(self.people.get(person, ()))

    def hours_of(self, person: str) -> WorkingHours | None:
        """The working time of ``person``'s team; ``None``: reachable at any hour."""
        if self.on_call_role in self.roles_of(person):
            return None  # on call means reachable whatever the hour
        found = self.routing.team_of(person)
        return None if found is None else WorkingHours.of(found[1])

    @property
    def on_call_role(self) -> str:
        """The role paged out of hours and for tier ≥ 3."""
        return self.routing.on_call_role

    def away(self, person: str, now: datetime) -> Absence | None:
        """The absence covering ``now`` for ``person`` (the newest if several)."""
        found = [a for a in self.absences if a.person == person and a.covers(now)]
        return max(found, key=lambda a: a.id) if found else None

    def manager_of(self, person: str) -> str | None:
        """``person``'s next level (``routing.escalate_to``)."""
        return self.routing.escalate_to.get(person)

    def on_call(self, now: datetime) -> tuple[str, ...]:
        """Holders of the on-call role who are not away (or their on-call delegates)."""
        holders = sorted(p for p, roles in self.people.items() if self.on_call_role in roles)
        out: list[str] = []
        for person in holders:
            stand_in = self.stand_in(person, now, needs=(self.on_call_role,))
            if stand_in is not None and stand_in not in out:
                out.append(stand_in)
        return tuple(out)

    def stand_in(self, person: str, now: datetime, *, needs: Iterable[str] = ()) -> str | None:
        """Who acts for ``person`` at ``now``: themself, else their delegate when the
        delegate holds one of the roles ``needs`` names (any, when it names none) and is
        not away too; ``None`` when nobody does."""
        absence = self.away(person, now)
        if absence is None:
            return person
        delegate = absence.delegate
        if delegate is None or self.away(delegate, now) is not None:
            return None
        wanted = set(needs)
        if wanted and not wanted & self.roles_of(delegate):
            return None
        return delegate

    def working_time(self, people: Iterable[str], moment: datetime) -> WorkingHours | None:
        """The working hours the reminders of ``people`` count in: those of the one who
        is at work soonest after ``moment``; ``None`` (around the clock) when one of them
        is reachable at any hour or none has working time."""
        soonest: tuple[datetime, WorkingHours] | None = None
        for person in people:
            target = self.stand_in(person, moment) or person
            hours = self.hours_of(target)
            if hours is None:
                return None
            opening = hours.next_opening(moment)
            if opening is not None and (soonest is None or opening < soonest[0]):
                soonest = (opening, hours)
        return None if soonest is None else soonest[1]


@dataclass(frozen=True)
class Route:
    """Where one notification goes and why.

    ``recipients`` never is empty when there was anyone to tell; ``acts_by`` is when an
    approver's working day begins if none is working now (``acts_by_text`` says it in
    their timezone); ``unroutable`` means no configured person could be reached, so it
    went to everyone it concerns at the highest priority.
    """

    recipients: tuple[str, ...]
    intended: tuple[str, ...]
    notes: tuple[str, ...] = ()
    acts_by: datetime | None = None
    acts_by_text: str = ""
    unroutable: bool = False
    priority: Priority = "normal"
    on_call: tuple[str, ...] = ()

    @property
    def plain(self) -> bool:
        """Nothing to say about the route: the people it concerns, all reachable now."""
        return (
            not self.notes
            and not self.unroutable
            and self.acts_by is None
            and self.recipients == self.intended
        )

    def describe(self) -> str:
        """One sentence for the audit log, the message and ``ladder status``."""
        parts = list(self.notes)
        if self.acts_by_text:
            parts.append(self.acts_by_text)
        if self.unroutable:
            parts.append(
                "UNROUTABLE: no configured person can be reached; sent at the highest "
                f"priority to {', '.join(self.recipients) or 'the channel'}"
            )
        return "; ".join(parts)

    def payload(self) -> dict[str, object]:
        """The routing fields a queued notification carries."""
        return {
            "intended": list(self.intended),
            "route": self.describe(),
            "acts_by": self.acts_by,
            "unroutable": self.unroutable,
            "priority": self.priority,
        }


def _when(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def route(
    intended: Sequence[str],
    *,
    directory: Directory,
    now: datetime,
    tier: int,
    needs: Sequence[str] = (),
    next_level: bool = False,
    chain: Sequence[str] = (),
    owner: str | None = None,
) -> Route:
    """Route a notification meant for ``intended`` at ``now``.

    Parameters
    ----------
    intended
        The people the decision concerns (the approvers, the owner …).
    directory
        People, roles, teams, managers, on-call role and absences.
    now
        The clock (aware).
    tier
        The escalation's severity: tier ≥ 3 always pages the on-call role; tier 4 and an
        unroutable escalation go at the highest priority.
    needs
        Roles a delegate must hold one of to stand in (the step's approval roles); empty
        for notices that ask no decision.
    next_level
        The escalation goes to the next level: each intended person's manager, else
        ``chain`` (holders of the rung's ``escalate_to`` roles), else the on-call role.
    chain
        Holders of the rung's ``escalate_to`` roles.
    owner
        The model's owner: told, with everyone else, when nobody can be reached.
    """
    notes: list[str] = []
    wanted = list(dict.fromkeys(intended))
    if next_level:
        managers = [m for p in wanted if (m := directory.manager_of(p)) is not None]
        level = managers or list(chain) or list(directory.on_call(now))
        who = (
            "their managers"
            if managers
            else "the escalate_to roles"
            if chain
            else f"the {directory.on_call_role} role"
        )
        if level:
            notes.append(f"next level: {who} ({', '.join(dict.fromkeys(level))})")
        wanted += [p for p in level if p not in wanted]

    reachable: list[str] = []
    later: list[str] = []
    for person in wanted:
        target = person
        absence = directory.away(person, now)
        if absence is not None:
            stand_in = directory.stand_in(person, now, needs=needs)
            if stand_in is None:
                why = (
                    f"{absence.delegate}, their delegate, cannot stand in"
                    if absence.delegate
                    else "no delegate"
                )
                notes.append(f"{person} is away until {_when(absence.until)} ({why})")
                continue
            target = stand_in
            notes.append(f"{person} is away until {_when(absence.until)}: delegated to {target}")
        if target in reachable or target in later:
            continue
        hours = directory.hours_of(target)
        if hours is None or hours.is_open(now):
            reachable.append(target)
        else:
            later.append(target)

    on_call = directory.on_call(now)
    paged: tuple[str, ...] = ()
    acts_by: datetime | None = None
    acts_by_text = ""
    if later and not reachable:
        openings = {
            p: (hours, opening)
            for p in later
            if (hours := directory.hours_of(p)) is not None
            and (opening := hours.next_opening(now)) is not None
        }
        if openings:
            hours, acts_by = min(openings.values(), key=lambda pair: pair[1])
            acts_by_text = (
                "outside business hours: an approver will pick this up before "
                f"{hours.local_text(acts_by, relative_to=now)}"
            )
        paged = on_call
    if tier >= 3:
        paged = on_call
        if on_call:
            notes.append(
                f"tier {tier} pages the {directory.on_call_role} role ({', '.join(on_call)})"
            )
    elif paged:
        notes.append(f"routed to the {directory.on_call_role} role ({', '.join(paged)})")
    elif not reachable and not later and on_call:
        paged = on_call
        notes.append(
            f"nobody it concerns can act: routed to the {directory.on_call_role} "
            f"role ({', '.join(on_call)})"
        )

    recipients = list(dict.fromkeys([*reachable, *later, *paged]))
    priority: Priority = "highest" if tier >= 4 else "high" if tier == 3 else "normal"
    if not recipients:
        everyone = list(dict.fromkeys([*wanted, *([owner] if owner else [])]))
        return Route(
            recipients=tuple(everyone),
            intended=tuple(intended),
            notes=tuple(notes),
            unroutable=True,
            priority="highest",
        )
    return Route(
        recipients=tuple(recipients),
        intended=tuple(intended),
        notes=tuple(notes),
        acts_by=acts_by,
        acts_by_text=acts_by_text,
        priority=priority,
        on_call=paged,
    )
