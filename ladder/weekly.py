"""The weekly SLA-miss review: every clock that ran out in one ISO week — acknowledgement,
decision, communication, post-incident review — by tier, owner and model, next to the
week before, with the tuning rules' suggestions (:mod:`ladder.tuning`). Pure.

A miss belongs to the week in which its clock ran out (its due time, UTC), whether it was
met late afterwards or not at all; a clock still unmet at ``now`` counts as missed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from pydantic import BaseModel, ConfigDict, Field

from ladder.incident import RecordsState
from ladder.misses import CLOCKS, ClockOutcome, clock_outcomes
from ladder.tuning import NightOutcome, suggest
from thresholds.schema import RuleSettings

__all__ = [
    "MissRow",
    "Tally",
    "Week",
    "WeeklySlaReview",
    "parse_week",
    "weekly_review",
]

_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


@dataclass(frozen=True)
class Week:
    """An ISO 8601 week, Monday 00:00 UTC to the next Monday."""

    year: int
    number: int

    @classmethod
    def of(cls, day: date) -> Week:
        """The week ``day`` falls in."""
        iso = day.isocalendar()
        return cls(iso.year, iso.week)

    @property
    def label(self) -> str:
        """``2026-W43``."""
        return f"{self.year}-W{self.number:02d}"

    @property
    def start(self) -> datetime:
        """Monday 00:00 UTC."""
        monday = date.fromisocalendar(self.year, self.number, 1)
        return datetime.combine(monday, time(0), tzinfo=timezone.utc)

    @property
    def end(self) -> datetime:
        """The next Monday 00:00 UTC (exclusive)."""
        return self.start + timedelta(days=7)

    def previous(self) -> Week:
        """The week before."""
        return Week.of(self.start.date() - timedelta(days=7))


def parse_week(text: str, *, now: datetime) -> Week:
    """``2026-W43``, ``last`` (the last complete week before ``now``) or ``this``.

    Raises
    ------
    ValueError
        When ``text`` is none of these, or names a week that does not exist.
    """
    if text == "last":
        return Week.of(now.date()).previous()
    if text == "this":
        return Week.of(now.date())
    match = _WEEK.match(text.strip())
    if match is None:
        raise ValueError(f"a week is written 2026-W43 (ISO 8601), last or this, not {text!r}")
    year, number = int(match.group(1)), int(match.group(2))
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError:
        raise ValueError(f"{text} is not a week of {year}") from None
    return Week(year, number)


class MissRow(BaseModel):
    """One clock that ran out."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    clock: str
    subject: str
    escalation_id: int
    model_id: str
    owner: str
    tier: int
    due_at: datetime
    done_at: datetime | None
    late_hours: float


class Tally(BaseModel):
    """Misses counted one way (by clock, tier, owner or model): this week and the one
    before."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: str
    key: str
    this_week: int
    week_before: int


class WeeklySlaReview(BaseModel):
    """The review of one week."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    week: str
    start: datetime
    end: datetime
    week_before: str
    generated_at: datetime
    misses: list[MissRow] = Field(default_factory=list)
    misses_before: int = 0
    tallies: list[Tally] = Field(default_factory=list)
    suggestions: list[dict[str, str]] = Field(default_factory=list)

    @property
    def total(self) -> int:
        """Clocks that ran out this week."""
        return len(self.misses)


def _row(o: ClockOutcome) -> MissRow:
    late = o.late_by.total_seconds() / 3600 if o.late_by is not None else 0.0
    return MissRow(
        clock=o.clock,
        subject=o.subject,
        escalation_id=o.escalation_id,
        model_id=o.model_id,
        owner=o.owner,
        tier=o.tier,
        due_at=o.due_at,
        done_at=o.done_at,
        late_hours=round(late, 2),
    )


def _tallies(this: Sequence[ClockOutcome], before: Sequence[ClockOutcome]) -> list[Tally]:
    out: list[Tally] = []
    dimensions: tuple[tuple[str, Iterable[str]], ...] = (
        ("clock", CLOCKS),
        ("tier", ()),
        ("owner", ()),
        ("model", ()),
    )
    for by, fixed in dimensions:

        def key(o: ClockOutcome, by: str = by) -> str:
            return {"clock": o.clock, "tier": str(o.tier), "owner": o.owner, "model": o.model_id}[
                by
            ]

        now_counts = Counter(key(o) for o in this)
        then_counts = Counter(key(o) for o in before)
        keys = list(fixed) if fixed else sorted(now_counts.keys() | then_counts.keys())
        out += [
            Tally(by=by, key=k, this_week=now_counts[k], week_before=then_counts[k]) for k in keys
        ]
    return out


def weekly_review(
    state: RecordsState,
    *,
    week: Week,
    now: datetime,
    nights: Iterable[NightOutcome] = (),
    rules: Mapping[str, RuleSettings] | None = None,
) -> WeeklySlaReview:
    """The SLA-miss review of ``week`` as the store stands at ``now``.

    ``nights`` (the recorded nights with their triggers and decisions) and ``rules`` (each
    model's rule settings in the register now) feed the tuning suggestions.
    """
    outcomes = [o for f in state.facts for o in clock_outcomes(f, now)]
    before_week = week.previous()
    this = sorted(
        (o for o in outcomes if o.missed and week.start <= o.due_at < week.end),
        key=lambda o: (o.due_at, o.escalation_id),
    )
    before = [o for o in outcomes if o.missed and before_week.start <= o.due_at < before_week.end]
    found = suggest(
        nights=nights,
        outcomes=outcomes,
        facts=state.facts,
        rules=rules or {},
        week_start=week.start,
        week_end=week.end,
    )
    return WeeklySlaReview(
        week=week.label,
        start=week.start,
        end=week.end,
        week_before=before_week.label,
        generated_at=now,
        misses=[_row(o) for o in this],
        misses_before=len(before),
        tallies=_tallies(this, before),
        suggestions=[
            {
                "rule": s.rule,
                "model_id": s.model_id,
                "setting": s.setting,
                "current": s.current,
                "suggested": s.suggested,
                "direction": s.direction,
                "evidence": s.evidence,
                "text": s.describe(),
            }
            for s in found
        ],
    )
