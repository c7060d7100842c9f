"""How well the ladder works: time to detection, decision and resolution; escalations by
tier; the repeat-escalation rate. Pure functions over stored escalations.

Definitions
-----------
time to detection
    From the start of the window of the first night a rule counted to the moment the
    escalation opened: what persistence costs in latency.
time to acknowledgement
    From a step being requested (or unblocked) to its acknowledgement, for steps that
    were acknowledged.
time to decision
    From a step being requested (or unblocked) to the approval that completed it, or the
    rejection; steps that need no approval are not counted.
time to resolution
    From an escalation opening to its resolution (resolved escalations only).
repeat-escalation rate
    Share of escalations opened within ``repeat_window_days`` after an earlier escalation
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
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ladder.state import Escalation

__all__ = ["DurationStats", "LadderStats", "compute_stats", "stats_dict"]

_INCIDENT_KINDS = ("remediation", "mitigation")


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
class LadderStats:
    """The ladder's performance over some escalations."""

    escalations: int
    by_tier: dict[int, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    detection: DurationStats = field(default_factory=DurationStats)
    acknowledgement: DurationStats = field(default_factory=DurationStats)
    decision: DurationStats = field(default_factory=DurationStats)
    resolution: DurationStats = field(default_factory=DurationStats)
    repeats: int = 0
    repeat_window_days: int = 90
    sla_misses: dict[str, int] = field(default_factory=dict)

    @property
    def repeat_rate(self) -> float | None:
        """Repeats over escalations (``None`` when there were none)."""
        return self.repeats / self.escalations if self.escalations else None


def compute_stats(
    escalations: Sequence[Escalation],
    *,
    since: datetime | None = None,
    repeat_window_days: int = 90,
) -> LadderStats:
    """Ladder statistics over ``escalations`` opened at or after ``since``."""
    kinds = Counter(e.kind for e in escalations if since is None or e.opened_at >= since)
    incidents = sorted(
        (e for e in escalations if e.kind in _INCIDENT_KINDS),
        key=lambda e: e.opened_at,
    )
    counted = [e for e in incidents if since is None or e.opened_at >= since]
    detection = [
        e.opened_at - e.first_trigger_at for e in counted if e.first_trigger_at is not None
    ]
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
            if step.approved_at is not None:
                decision.append(step.approved_at - step.requested_at)
            elif step.status == "rejected" and step.closed_at is not None:
                decision.append(step.closed_at - step.requested_at)
    resolution = [
        e.closed_at - e.opened_at
        for e in counted
        if e.status == "resolved" and e.closed_at is not None
    ]
    window = timedelta(days=repeat_window_days)
    repeats = 0
    for esc in counted:
        earlier = [
            p for p in incidents
            if p.id != esc.id
            and p.model_id == esc.model_id
            and p.dominant_mode == esc.dominant_mode
            and p.closed_at is not None
            and p.closed_at <= esc.opened_at <= p.closed_at + window
        ]
        repeats += bool(earlier)
    return LadderStats(
        escalations=len(counted),
        by_tier=dict(sorted(Counter(e.tier for e in counted).items())),
        by_status=dict(sorted(Counter(e.status for e in counted).items())),
        by_kind=dict(sorted(kinds.items())),
        detection=DurationStats.of(detection),
        acknowledgement=DurationStats.of(acknowledged),
        decision=DurationStats.of(decision),
        resolution=DurationStats.of(resolution),
        repeats=repeats,
        repeat_window_days=repeat_window_days,
        sla_misses={k: misses[k] for k in ("acknowledgement", "decision", "escalated", "expired")},
    )


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


def stats_dict(stats: LadderStats) -> dict[str, Any]:
    """JSON-ready statistics (durations in hours)."""

    def durations(d: DurationStats) -> dict[str, Any]:
        return {"count": d.count, "median_hours": _hours(d.median), "p90_hours": _hours(d.p90),
                "mean_hours": _hours(d.mean)}

    return {
        "escalations": stats.escalations,
        "by_tier": {str(k): v for k, v in stats.by_tier.items()},
        "by_status": stats.by_status,
        "by_kind": stats.by_kind,
        "time_to_detection": durations(stats.detection),
        "time_to_acknowledgement": durations(stats.acknowledgement),
        "time_to_decision": durations(stats.decision),
        "time_to_resolution": durations(stats.resolution),
        "repeat_escalations": stats.repeats,
        "repeat_escalation_rate": stats.repeat_rate,
        "repeat_window_days": stats.repeat_window_days,
        "sla_misses": stats.sla_misses,
    }
