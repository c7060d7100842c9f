"""How well the ladder works: time to detection, acknowledgement, communication, decision
and resolution; escalations by tier and per week with their trend; SLA misses by tier; the
repeat-escalation rate. Pure functions over stored escalations; the clock is passed in.

Definitions
-----------
time to detection
    From the start of the window of the first night a rule counted to the moment the
    escalation opened: what persistence costs in latency.
time to acknowledgement
    From a step that needs approval being requested (or unblocked) to the first sign a
    person saw it: ``ladder ack``, or the first approval or rejection.
time to communication
    From an escalation of tier ≥ ``brief_min_tier`` opening to its first stakeholder brief
    being sent (escalations that sent one).
time to decision
    From a step being requested (or unblocked) to the approval that completed it, or the
    rejection; steps that need no approval are not counted.
time to resolution
    From an escalation opening to its resolution (resolved escalations only).
SLA misses by tier
    Clocks that ran out (:mod:`ladder.misses`: acknowledgement, decision, communication,
    post-incident review) of the counted escalations, by tier, as they stand at ``now``.
escalation frequency
    Escalations opened per ISO week (UTC), by tier, from the first counted week to the
    week of ``now``; its **trend** is the least-squares slope of the weekly counts over the
    last ``trend_weeks`` weeks, in escalations per week per week.
repeat-escalation rate
    Share of escalations opened within ``repeat_window_days`` (each escalation's
    ``incident.repeat_within_days`` when its facts are given) after an earlier escalation
    of the same model and failure mode closed: fixes that did not last.
SLA misses
    What the SLA clocks recorded on steps waiting for people (:mod:`ladder.sla`):
    ``acknowledgement`` (reminded: not acknowledged in time), ``decision`` (re-notified:
    not decided in time), ``escalated`` (still undecided after the reminder) and
    ``expired`` (no decision by the cap).

Only ``remediation`` and ``mitigation`` escalations count; reviews and step-downs are
the review cycle, not incidents.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ladder.incident import INCIDENT_KINDS as _INCIDENT_KINDS
from ladder.incident import IncidentFacts
from ladder.misses import CLOCKS, acknowledged_at, sla_misses
from ladder.state import Escalation

__all__ = [
    "DurationStats",
    "LadderStats",
    "WeekCount",
    "compute_stats",
    "least_squares_slope",
    "stats_dict",
]


@dataclass(frozen=True)
class DurationStats:
    """Count, median, 90th percentile (nearest rank) and mean of some durations."""

    count: int = 0
    median: timedelta | None = None
    p90: timedelta | None = None
    mean: timedelta | None = None

    @classmethod
    def of(cls, values: Sequence[timedelta]) -> DurationStats:
        """Summarise ``values`` (empty gives a count of 0 and no figures)."""
        if not values:
            return cls()
        ordered = sorted(values)
        n = len(ordered)
        mid = n // 2
        median = ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2
        p90 = ordered[max(math.ceil(0.9 * n) - 1, 0)]
        mean = sum(ordered, timedelta()) / n
        return cls(n, median, p90, mean)


@dataclass(frozen=True)
class WeekCount:
    """Escalations opened in one ISO week, by tier."""

    week: str
    start: date
    by_tier: Mapping[int, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """All tiers."""
        return sum(self.by_tier.values())


@dataclass(frozen=True)
class LadderStats:
    """The ladder's performance over some escalations."""

    escalations: int
    by_tier: dict[int, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    detection: DurationStats = field(default_factory=DurationStats)
    acknowledgement: DurationStats = field(default_factory=DurationStats)
    communication: DurationStats = field(default_factory=DurationStats)
    decision: DurationStats = field(default_factory=DurationStats)
    resolution: DurationStats = field(default_factory=DurationStats)
    repeats: int = 0
    repeat_window_days: int = 90
    misses_by_tier: dict[int, int] = field(default_factory=dict)
    misses_by_clock: dict[str, int] = field(default_factory=dict)
    weekly: tuple[WeekCount, ...] = ()
    trend_weeks: int = 8
    #: Slope of the weekly counts over the last ``trend_weeks`` weeks (escalations per
    #: week, per week), overall (key 0) and by tier; ``None`` with fewer than two weeks.
    trend: dict[int, float | None] = field(default_factory=dict)

    @property
    def repeat_rate(self) -> float | None:
        """Repeats over escalations (``None`` when there were none)."""
        return self.repeats / self.escalations if self.escalations else None

    @property
    def misses(self) -> int:
        """Every clock that ran out."""
        return sum(self.misses_by_tier.values())

    @property
    def trend_direction(self) -> str:
        """``rising``, ``falling`` or ``flat`` (|slope| < 0.05 a week), or ``unknown``."""
        slope = self.trend.get(0)
        if slope is None:
            return "unknown"
        return "flat" if abs(slope) < 0.05 else "rising" if slope > 0 else "falling"


def least_squares_slope(values: Sequence[float]) -> float | None:
    """Slope of the ordinary least-squares line through ``(i, values[i])``; ``None`` for
    fewer than two values."""
    n = len(values)
    if n < 2:
        return None
    mean_x = (n - 1) / 2
    mean_y = sum(values) / n
    sxx = sum((i - mean_x) ** 2 for i in range(n))
    sxy = sum((i - mean_x) * (y - mean_y) for i, y in enumerate(values))
    return sxy / sxx


def _weekly(
    counted: Sequence[Escalation], since: datetime | None, now: datetime | None, trend_weeks: int
) -> tuple[WeekCount, ...]:
    """Weekly counts from ``since`` (else from the earlier of the first escalation and the
    start of the trend window, so quiet weeks before it count) to the week of ``now``."""
    if not counted and since is None and now is None:
        return ()
    last = (now or max(e.opened_at for e in counted)).date()
    if since is not None:
        first = since.date()
    else:
        window = last - timedelta(weeks=trend_weeks - 1)
        first = min([window, *(e.opened_at.date() for e in counted)])
    monday = first - timedelta(days=first.weekday())
    weeks: list[WeekCount] = []
    while monday <= last:
        end = monday + timedelta(days=7)
        tiers = Counter(e.tier for e in counted if monday <= e.opened_at.date() < end)
        iso = monday.isocalendar()
        weeks.append(WeekCount(f"{iso.year}-W{iso.week:02d}", monday, dict(sorted(tiers.items()))))
        monday = end
    return tuple(weeks)


def _trend(weeks: Sequence[WeekCount], last: int) -> dict[int, float | None]:
    recent = list(weeks)[-last:]
    tiers = sorted({t for w in weeks for t in w.by_tier})
    out: dict[int, float | None] = {0: least_squares_slope([w.total for w in recent])}
    for tier in tiers:
        out[tier] = least_squares_slope([w.by_tier.get(tier, 0) for w in recent])
    return out


def compute_stats(
    escalations: Sequence[Escalation],
    *,
    since: datetime | None = None,
    repeat_window_days: int = 90,
    facts: Sequence[IncidentFacts] = (),
    now: datetime | None = None,
    trend_weeks: int = 8,
) -> LadderStats:
    """Ladder statistics over ``escalations`` opened at or after ``since``.

    ``facts`` (:func:`ladder.incident_store.incident_facts`) add time to communication,
    the SLA misses (as they stand at ``now``, which they need) and each escalation's own
    repeat window; ``now`` ends the weekly counts (default: the last escalation's week).
    """
    kinds = Counter(e.kind for e in escalations if since is None or e.opened_at >= since)
    incidents = sorted(
        (e for e in escalations if e.kind in _INCIDENT_KINDS),
        key=lambda e: e.opened_at,
    )
    counted = [e for e in incidents if since is None or e.opened_at >= since]
    detection = [
        e.opened_at - e.first_trigger_at for e in counted if e.first_trigger_at is not None
    ]
    by_id = {f.escalation.id: f for f in facts}
    acknowledgement: list[timedelta] = []
    decision: list[timedelta] = []
    acknowledged: list[timedelta] = []
    misses: Counter[str] = Counter()
    for esc in counted:
        for step in esc.steps:
            if step.acked_at is not None:
                acknowledged.append(step.acked_at - step.requested_at)
            misses["acknowledgement"] += step.ack_reminded_at is not None
            misses["decision"] += step.decision_reminded_at is not None
            misses["escalated"] += step.escalated_at is not None
            misses["expired"] += step.status == "expired"
            if step.approvals_required == 0 or step.direction != "up":
                continue
            seen = acknowledged_at(step)
            if seen is not None and step.status != "blocked_by_budget":
                acknowledgement.append(seen - step.requested_at)
            if step.approved_at is not None:
                decision.append(step.approved_at - step.requested_at)
            elif step.status == "rejected" and step.closed_at is not None:
                decision.append(step.closed_at - step.requested_at)
    resolution = [
        e.closed_at - e.opened_at
        for e in counted
        if e.status == "resolved" and e.closed_at is not None
    ]
    communication: list[timedelta] = []
    for esc in counted:
        sent = by_id[esc.id].first_brief_at if esc.id in by_id else None
        if sent is not None:
            communication.append(sent - esc.opened_at)
    repeats = 0
    for esc in counted:
        window = timedelta(
            days=by_id[esc.id].settings.repeat_within_days
            if esc.id in by_id
            else repeat_window_days
        )
        earlier = [
            p
            for p in incidents
            if p.id != esc.id
            and p.model_id == esc.model_id
            and p.dominant_mode == esc.dominant_mode
            and p.closed_at is not None
            and p.closed_at <= esc.opened_at <= p.closed_at + window
        ]
        repeats += bool(earlier)
    counted_ids = {e.id for e in counted}
    missed = (
        [o for o in sla_misses(facts, now) if o.escalation_id in counted_ids]
        if now is not None
        else []
    )
    weekly = _weekly(counted, since, now, trend_weeks)
    return LadderStats(
        escalations=len(counted),
        by_tier=dict(sorted(Counter(e.tier for e in counted).items())),
        by_status=dict(sorted(Counter(e.status for e in counted).items())),
        by_kind=dict(sorted(kinds.items())),
        detection=DurationStats.of(detection),
        acknowledgement=DurationStats.of(acknowledgement),
        communication=DurationStats.of(communication),
        decision=DurationStats.of(decision),
        resolution=DurationStats.of(resolution),
        repeats=repeats,
        repeat_window_days=repeat_window_days,
        misses_by_tier=dict(sorted(Counter(o.tier for o in missed).items())),
        misses_by_clock={c: n for c in CLOCKS if (n := sum(o.clock == c for o in missed))},
        weekly=weekly,
        trend_weeks=trend_weeks,
        trend=_trend(weekly, trend_weeks),
    )


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


def stats_dict(stats: LadderStats) -> dict[str, Any]:
    """JSON-ready statistics (durations in hours)."""

    def durations(d: DurationStats) -> dict[str, Any]:
        return {
            "count": d.count,
            "median_hours": _hours(d.median),
            "p90_hours": _hours(d.p90),
            "mean_hours": _hours(d.mean),
        }

    return {
        "escalations": stats.escalations,
        "by_tier": {str(k): v for k, v in stats.by_tier.items()},
        "by_status": stats.by_status,
        "by_kind": stats.by_kind,
        "time_to_detection": durations(stats.detection),
        "time_to_acknowledgement": durations(stats.acknowledgement),
        "time_to_communication": durations(stats.communication),
        "time_to_decision": durations(stats.decision),
        "time_to_resolution": durations(stats.resolution),
        "sla_misses": stats.misses,
        "sla_misses_by_tier": {str(k): v for k, v in stats.misses_by_tier.items()},
        "sla_misses_by_clock": stats.misses_by_clock,
        "weekly": [
            {
                "week": w.week,
                "start": w.start.isoformat(),
                "total": w.total,
                "by_tier": {str(k): v for k, v in w.by_tier.items()},
            }
            for w in stats.weekly
        ],
        "trend_weeks": stats.trend_weeks,
        "trend_per_week": {
            ("total" if k == 0 else str(k)): None if v is None else round(v, 4)
            for k, v in stats.trend.items()
        },
        "trend": stats.trend_direction,
        "repeat_escalations": stats.repeats,
        "repeat_escalation_rate": stats.repeat_rate,
        "repeat_window_days": stats.repeat_window_days,
    }
