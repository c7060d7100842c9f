"""Where a threshold rule or an SLA window should be tightened or loosened, and the
evidence for it. Pure rules over recorded nights and clock outcomes; the weekly SLA-miss
review (:mod:`ladder.weekly`) lists what they find.

Each rule returns :class:`Suggestion` values naming the register setting, its value now,
the value suggested and the evidence in one sentence. They are suggestions for the
people at the review, never applied by the ladder.

* :func:`late_to_act` — a check breached in three or more ISO weeks running while the
  ladder only watched: the persistence window is too narrow for how the breaches are
  spaced (tighten: act sooner).
* :func:`clock_too_tight` — the same clock ran out two or more times in two weeks for one
  model and tier. Met a little late: loosen the window to what people achieve; never met
  or met very late: route it to someone reachable instead.
* :func:`clock_too_loose` — a clock met every time in four weeks, with at most a quarter
  of its window used: tighten it.
* :func:`false_alarms` — two or more escalations in two weeks that closed within two
  nights with no rung applied: require one more breaching night (loosen).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final, Literal

from ladder.incident import IncidentFacts
from ladder.misses import Clock, ClockOutcome
from thresholds.schema import RuleSettings

__all__ = [
    "CLOCK_SETTINGS",
    "NightOutcome",
    "Suggestion",
    "clock_too_loose",
    "clock_too_tight",
    "false_alarms",
    "late_to_act",
    "suggest",
]

#: The register setting behind each clock, and its unit.
CLOCK_SETTINGS: Final[Mapping[str, tuple[str, str]]] = {
    "acknowledgement": ("ladder.sla.ack_hours", "h"),
    "decision": ("ladder.sla.decide_hours", "h"),
    "communication": ("ladder.incident.communicate_hours", "h"),
    "post_incident_review": ("ladder.incident.review_within_days", "d"),
}
#: Decision kinds that mean the ladder only watched a breaching night.
_WATCHING: Final = frozenset({"watch", "no_action", "hold"})
#: The widest persistence window suggested, in nights.
MAX_PERSISTENCE_N: Final = 14


@dataclass(frozen=True)
class NightOutcome:
    """A recorded night as the tuning rules see it: which checks fired (breach or blind)
    and what the ladder decided."""

    model_id: str
    night: date
    triggered: tuple[str, ...]
    decision: str
    escalation_id: int | None = None


@dataclass(frozen=True)
class Suggestion:
    """Change ``setting`` of ``model_id`` from ``current`` to ``suggested``, because
    ``evidence``. ``direction`` is ``tighten``, ``loosen`` or ``route``."""

    rule: str
    model_id: str
    setting: str
    current: str
    suggested: str
    direction: Literal["tighten", "loosen", "route"]
    evidence: str

    def describe(self) -> str:
        """``support-assistant: … consider persistence_n: 8 (now 3)``."""
        return (
            f"{self.model_id}: {self.evidence}: consider {self.setting}: {self.suggested} "
            f"(now {self.current})"
        )


def _week(day: date) -> tuple[int, int]:
    iso = day.isocalendar()
    return iso.year, iso.week


def _week_label(week: tuple[int, int]) -> str:
    return f"{week[0]}-W{week[1]:02d}"


def _next_week(week: tuple[int, int]) -> tuple[int, int]:
    return _week(date.fromisocalendar(week[0], week[1], 1) + timedelta(days=7))


def _narrowest_window(nights: Sequence[date], k: int) -> int | None:
    """The fewest consecutive nights that hold ``k`` of ``nights``."""
    ordered = sorted(set(nights))
    if len(ordered) < k:
        return None
    return min((ordered[i + k - 1] - ordered[i]).days + 1 for i in range(len(ordered) - k + 1))


def late_to_act(
    nights: Iterable[NightOutcome], rules: Mapping[str, RuleSettings], *, week: date
) -> list[Suggestion]:
    """Checks that breached in ≥ 3 ISO weeks running, up to the week of ``week``, on
    nights the ladder only watched."""
    by_check: dict[tuple[str, str], list[NightOutcome]] = {}
    for n in nights:
        if n.night >= date.fromisocalendar(*_week(week), 1) + timedelta(days=7):
            continue
        for name in n.triggered:
            by_check.setdefault((n.model_id, name), []).append(n)
    out = []
    last = _week(week)
    for (model_id, check), seen in sorted(by_check.items()):
        quiet = {_week(n.night) for n in seen if n.decision in _WATCHING}
        acted = {_week(n.night) for n in seen if n.decision not in _WATCHING}
        run: list[tuple[int, int]] = []
        for w in sorted(quiet):
            run = [*run, w] if run and _next_week(run[-1]) == w else [w]
            ended_here = w == last or (_next_week(w) == last and last in acted)
            if len(run) >= 3 and ended_here and run[-1] not in acted:
                out.append(_persistence(model_id, check, run, seen, rules.get(model_id)))
                break
    return out


def _persistence(
    model_id: str,
    check: str,
    run: Sequence[tuple[int, int]],
    seen: Sequence[NightOutcome],
    rules: RuleSettings | None,
) -> Suggestion:
    settings = rules or RuleSettings()
    k, n = settings.persistence_k, settings.persistence_n
    dates = [x.night for x in seen if _week(x.night) in run and x.decision in _WATCHING]
    needed = _narrowest_window(dates, k)
    weeks = f"{len(run)} weeks running ({_week_label(run[0])} to {_week_label(run[-1])})"
    evidence = (
        f"{check} breached on {len(dates)} nights in {weeks} while the ladder only "
        f"watched: {k} of {n} nights never came together"
    )
    if needed is not None and n < needed <= MAX_PERSISTENCE_N:
        return Suggestion(
            "late_to_act", model_id, "persistence_n", str(n), str(needed), "tighten", evidence
        )
    return Suggestion("late_to_act", model_id, "persistence_k", str(k), "1", "tighten", evidence)


def _hours(value: timedelta) -> float:
    return value.total_seconds() / 3600


def _in_unit(hours: float, unit: str) -> str:
    if unit == "d":
        return f"{math.ceil(hours / 24):g}"
    return f"{math.ceil(hours):g}"


def _grouped(
    outcomes: Iterable[ClockOutcome], start: datetime, end: datetime, *, missed_only: bool
) -> dict[tuple[str, Clock, int], list[ClockOutcome]]:
    groups: dict[tuple[str, Clock, int], list[ClockOutcome]] = {}
    for o in outcomes:
        judged = o.missed if missed_only else o.status in ("met", "missed")
        if judged and start <= o.due_at < end:
            groups.setdefault((o.model_id, o.clock, o.tier), []).append(o)
    return groups


def clock_too_tight(
    outcomes: Iterable[ClockOutcome], *, start: datetime, end: datetime
) -> list[Suggestion]:
    """Clocks that ran out twice or more in ``[start, end)`` for one model, clock and tier."""
    out = []
    for (model_id, clock, tier), missed in sorted(
        _grouped(outcomes, start, end, missed_only=True).items()
    ):
        if len(missed) < 2:
            continue
        setting, unit = CLOCK_SETTINGS[clock]
        window = _hours(missed[0].window)
        taken = sorted(_hours(o.taken) for o in missed if o.taken is not None)
        never = len(missed) - len(taken)
        current = _in_unit(window, unit)
        name = f"{setting}[{tier}]"
        what = clock.replace("_", " ")
        if never or (taken and taken[-1] > 1.5 * window):
            late = f"{never} never met" if never else f"the latest met after {taken[-1]:.1f} h"
            out.append(
                Suggestion(
                    "clock_too_tight",
                    model_id,
                    name,
                    f"{current} {unit}",
                    "route to a reachable role (escalate_to, on-call)",
                    "route",
                    f"tier {tier} {what} ran out {len(missed)} times ({late}, window {window:g} h)",
                )
            )
            continue
        needed = taken[-1]
        out.append(
            Suggestion(
                "clock_too_tight",
                model_id,
                name,
                f"{current} {unit}",
                f"{_in_unit(needed, unit)} {unit}",
                "loosen",
                f"tier {tier} {what} ran out {len(missed)} times, met within {needed:.1f} h "
                f"every time (window {window:g} h)",
            )
        )
    return out


def clock_too_loose(
    outcomes: Iterable[ClockOutcome],
    *,
    start: datetime,
    end: datetime,
    min_count: int = 4,
) -> list[Suggestion]:
    """Clocks met every time in ``[start, end)`` (at least ``min_count`` times for one
    model, clock and tier), none using more than a quarter of the window."""
    out = []
    for (model_id, clock, tier), seen in sorted(
        _grouped(outcomes, start, end, missed_only=False).items()
    ):
        if len(seen) < min_count or any(o.missed for o in seen):
            continue
        window = _hours(seen[0].window)
        used = max(_hours(o.taken) for o in seen if o.taken is not None)
        if used > window / 4:
            continue
        setting, unit = CLOCK_SETTINGS[clock]
        suggested = max(2 * used, 1.0)
        if math.ceil(suggested) >= window:
            continue
        out.append(
            Suggestion(
                "clock_too_loose",
                model_id,
                f"{setting}[{tier}]",
                f"{_in_unit(window, unit)} {unit}",
                f"{_in_unit(suggested, unit)} {unit}",
                "tighten",
                f"tier {tier} {clock.replace('_', ' ')} met all {len(seen)} times within "
                f"{used:.1f} h of a {window:g} h window",
            )
        )
    return out


def false_alarms(
    facts: Iterable[IncidentFacts],
    rules: Mapping[str, RuleSettings],
    *,
    start: datetime,
    end: datetime,
) -> list[Suggestion]:
    """Models with ≥ 2 escalations opened in ``[start, end)`` that closed within two
    nights without a rung applied."""
    quick: dict[str, list[int]] = {}
    for f in facts:
        esc = f.escalation
        if not start <= esc.opened_at < end or esc.closed_at is None:
            continue
        applied = any(s.applied_at is not None for s in esc.steps)
        if not applied and esc.closed_at - esc.opened_at <= timedelta(days=2):
            quick.setdefault(esc.model_id, []).append(esc.id)
    out = []
    for model_id, ids in sorted(quick.items()):
        if len(ids) < 2:
            continue
        settings = rules.get(model_id) or RuleSettings()
        k, n = settings.persistence_k, settings.persistence_n
        listed = ", ".join(f"esc-{i}" for i in ids)
        widen = f" (with persistence_n: {k + 1})" if k + 1 > n else ""
        out.append(
            Suggestion(
                "false_alarms",
                model_id,
                "persistence_k",
                str(k),
                f"{k + 1}{widen}",
                "loosen",
                f"{len(ids)} escalations ({listed}) closed within two nights with no rung applied",
            )
        )
    return out


def suggest(
    *,
    nights: Iterable[NightOutcome],
    outcomes: Sequence[ClockOutcome],
    facts: Sequence[IncidentFacts],
    rules: Mapping[str, RuleSettings],
    week_start: datetime,
    week_end: datetime,
) -> list[Suggestion]:
    """Every rule over the reviewed week: misses and false alarms over it and the week
    before, loose windows over the four weeks up to its end."""
    two_weeks = week_start - timedelta(days=7)
    four_weeks = week_end - timedelta(days=28)
    found = (
        late_to_act(nights, rules, week=week_start.date())
        + clock_too_tight(outcomes, start=two_weeks, end=week_end)
        + clock_too_loose(outcomes, start=four_weeks, end=week_end)
        + false_alarms(facts, rules, start=two_weeks, end=week_end)
    )
    return sorted(found, key=lambda s: (s.model_id, s.rule, s.setting))
