"""The post-incident review of an escalation of tier ≥ 3: due within a week of it closing,
opened prefilled, closed by a person. Pure: the clock is passed in.

:func:`build_review` prefills the record from what the store knows — the timeline
(detected, communicated, acknowledged, decided, applied, resolved), the SLA clocks that
ran out (:mod:`ladder.misses`), what the rung changed (the stored nights before and after
it was applied), and the earlier incident this one repeats — and adds what people wrote:
what went well, what to improve, follow-up actions with owners and dates.

:func:`due_reviews` is the reminder: every review that is due or overdue at ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from ladder.incident import (
    FollowUp,
    IncidentFacts,
    RecordsState,
    ReviewRecord,
    earlier_incident,
    needs_review,
    review_due_at,
)
from ladder.misses import clock_outcomes
from ladder.state import Escalation, Step
from ladder.store import NightTrend

__all__ = [
    "METRICS",
    "MetricChange",
    "PostIncidentReview",
    "ReviewDue",
    "TimelineEntry",
    "build_review",
    "due_reviews",
    "parse_follow_up",
]

#: The nightly headline metrics compared before and after the rung: (key, label, n key).
METRICS: Final[tuple[tuple[str, str, str | None], ...]] = (
    ("quality", "quality", "quality_n"),
    ("error_rate", "error rate", "error_rate_n"),
    ("latency_p95", "latency p95 (ms)", None),
    ("ece", "calibration ECE", None),
)
_AFFECTED: Final = frozenset({"breach", "blind"})


def parse_follow_up(text: str, people: Iterable[str]) -> FollowUp:
    """``"OWNER|YYYY-MM-DD|what"`` → :class:`FollowUp`.

    Raises
    ------
    ValueError
        With what is wrong: the shape, an owner who is not a pinned person, a date that
        is not ISO 8601, an empty text.
    """
    parts = [p.strip() for p in text.split("|", 2)]
    if len(parts) != 3:
        raise ValueError(f"a follow-up action is OWNER|YYYY-MM-DD|TEXT, not {text!r}")
    owner, when, what = parts
    known = sorted(people)
    if owner not in known:
        raise ValueError(
            f"follow-up owner {owner!r} is not one of the register's people ({', '.join(known)})"
        )
    try:
        due = date.fromisoformat(when)
    except ValueError:
        raise ValueError(f"follow-up date {when!r} is not a date (YYYY-MM-DD)") from None
    if not what:
        raise ValueError(f"follow-up action {text!r} says nothing to do")
    return FollowUp(owner, due, what)


class TimelineEntry(BaseModel):
    """One moment of an incident."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: str
    at: datetime | None
    note: str = ""


class MetricChange(BaseModel):
    """One headline metric over the nights before the rung was applied and after it.

    Quality and error rate pool the nights (weighted by their rows); latency p95 and ECE
    are the mean of the nightly values.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: str
    before: float | None
    after: float | None
    nights_before: int
    nights_after: int


class PostIncidentReview(BaseModel):
    """A post-incident review: prefilled from the store, completed by people."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    escalation_id: int
    model_id: str
    tier: int
    failure_mode: str | None
    owner: str
    #: ``not opened``, ``open``, ``closed``.
    status: str
    due_at: datetime | None
    overdue: bool = False
    outcome: str = ""
    timeline: list[TimelineEntry] = Field(default_factory=list)
    sla_misses: list[str] = Field(default_factory=list)
    rung: str | None = None
    rung_applied_at: datetime | None = None
    changes: list[MetricChange] = Field(default_factory=list)
    went_well: str = ""
    improve: str = ""
    actions: list[dict[str, str]] = Field(default_factory=list)
    repeat_of: int | None = None
    repeated_by: list[int] = Field(default_factory=list)
    opened_at: datetime | None = None
    opened_by: str | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _applied_step(esc: Escalation) -> Step | None:
    climbs = [s for s in esc.steps if s.direction == "up"]
    applied = [s for s in climbs if s.applied_at is not None]
    return applied[-1] if applied else (climbs[-1] if climbs else None)


def _timeline(facts: IncidentFacts) -> list[TimelineEntry]:
    esc = facts.escalation
    step = _applied_step(esc)
    entries = [
        TimelineEntry(
            label="detected",
            at=esc.opened_at,
            note=f"esc-{esc.id} opened by the {esc.rule or 'ladder'} rule"
            + (
                f"; the first night it counted began {_when(esc.first_trigger_at)}"
                if esc.first_trigger_at is not None
                else ""
            ),
        ),
        TimelineEntry(
            label="communicated",
            at=facts.first_brief_at,
            note="first stakeholder brief sent"
            if facts.first_brief_at
            else "no stakeholder brief was sent",
        ),
    ]
    if step is not None:
        approvals = sorted(step.approvals, key=lambda a: a.at)
        acked = min(
            [m for m in (step.acked_at, approvals[0].at if approvals else None) if m is not None],
            default=None,
        )
        who = (
            step.acked_by
            if step.acked_at is not None and step.acked_at == acked
            else (approvals[0].person if approvals else None)
        )
        entries.append(
            TimelineEntry(
                label="acknowledged",
                at=acked,
                note=f"step-{step.id} by {who}"
                if who
                else (
                    "no approval needed" if not step.approvals_required else "never acknowledged"
                ),
            )
        )
        decided = step.approved_at or (step.closed_at if step.status == "rejected" else None)
        deciders = ", ".join(a.person for a in approvals) or "no approval needed"
        verdict = "rejected" if step.status == "rejected" else "approved"
        entries.append(
            TimelineEntry(
                label="decided",
                at=decided,
                note=f"{step.rung} {verdict} ({deciders})" if decided else "no decision",
            )
        )
        entries.append(
            TimelineEntry(
                label="applied",
                at=step.applied_at,
                note=f"{step.rung} applied" if step.applied_at else f"{step.rung} was not applied",
            )
        )
    entries.append(
        TimelineEntry(
            label="resolved", at=esc.closed_at, note=esc.outcome if esc.closed_at else "still open"
        )
    )
    return entries


def _pooled(nights: Sequence[NightTrend], key: str, n_key: str | None) -> float | None:
    pairs = [(n.summary.get(key), n.summary.get(n_key) if n_key else 1.0) for n in nights]
    usable = [(v, w) for v, w in pairs if v is not None and w]
    if not usable:
        return None
    total = sum(w for _, w in usable)
    return sum(v * w for v, w in usable) / total


def _changes(
    esc: Escalation, step: Step | None, nights: Sequence[NightTrend]
) -> list[MetricChange]:
    if step is None or step.applied_at is None:
        return []
    start = esc.first_trigger_at.date() if esc.first_trigger_at else esc.opened_night
    applied = step.applied_at.date()
    end = (esc.closed_at or step.evaluation_ends_at or step.applied_at).date()
    before = [n for n in nights if (start is None or n.night >= start) and n.night < applied]
    after = [n for n in nights if applied <= n.night < end]
    return [
        MetricChange(
            metric=label,
            before=_pooled(before, key, n_key),
            after=_pooled(after, key, n_key),
            nights_before=len(before),
            nights_after=len(after),
        )
        for key, label, n_key in METRICS
    ]


def _miss_lines(facts: IncidentFacts, now: datetime) -> list[str]:
    lines = []
    for o in clock_outcomes(facts, now):
        if not o.missed:
            continue
        late = o.late_by.total_seconds() / 3600 if o.late_by is not None else 0.0
        met = f"met {_when(o.done_at)}" if o.done_at is not None else "never met"
        lines.append(
            f"{o.clock.replace('_', ' ')} ({o.subject}, tier {o.tier}): due "
            f"{_when(o.due_at)}, {met}, {late:.1f} h late"
        )
    return lines


def build_review(
    facts: IncidentFacts,
    *,
    review: ReviewRecord | None,
    nights: Sequence[NightTrend],
    escalations: Sequence[Escalation],
    now: datetime,
) -> PostIncidentReview:
    """The review of one escalation at ``now``: the prefilled part, computed afresh
    until the review is closed (then as it was recorded at closing), and what people
    wrote.

    ``escalations`` are the model's other escalations, for repeats: the incident this
    one repeats, and those that repeated it, within ``repeat_within_days``.
    """
    esc = facts.escalation
    settings = facts.settings
    due = review_due_at(esc, settings) if review is None else review.due_at
    step = _applied_step(esc)
    earlier = earlier_incident(esc, escalations, within_days=settings.repeat_within_days)
    later = [
        e.id
        for e in escalations
        if e.id != esc.id
        and (found := earlier_incident(e, escalations, within_days=settings.repeat_within_days))
        is not None
        and found.id == esc.id
    ]
    prefilled: dict[str, object] = {
        "timeline": _timeline(facts),
        "sla_misses": _miss_lines(facts, now),
        "rung": step.rung if step is not None else None,
        "rung_applied_at": step.applied_at if step is not None else None,
        "changes": _changes(esc, step, nights),
    }
    if review is not None and review.status == "closed" and review.record is not None:
        prefilled = dict(
            PostIncidentReview.model_validate(
                {
                    **review.record,
                    "escalation_id": esc.id,
                    "model_id": esc.model_id,
                    "tier": esc.tier,
                    "failure_mode": esc.dominant_mode,
                    "owner": facts.owner,
                    "status": "closed",
                    "due_at": due,
                }
            ).model_dump(include=set(prefilled))
        )
    closed = review is not None and review.status == "closed"
    return PostIncidentReview(
        escalation_id=esc.id,
        model_id=esc.model_id,
        tier=esc.tier,
        failure_mode=esc.dominant_mode,
        owner=facts.owner,
        status="not opened" if review is None else review.status,
        due_at=due,
        overdue=due is not None and not closed and now > due,
        outcome=esc.outcome,
        went_well=review.went_well if review is not None else "",
        improve=review.improve if review is not None else "",
        actions=[a.as_json() for a in review.actions] if review is not None else [],
        repeat_of=(
            review.repeat_of
            if review is not None and review.repeat_of is not None
            else earlier.id
            if earlier is not None
            else None
        ),
        repeated_by=later,
        opened_at=review.opened_at if review is not None else None,
        opened_by=review.opened_by if review is not None else None,
        closed_at=review.closed_at if review is not None else None,
        closed_by=review.closed_by if review is not None else None,
        **prefilled,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class ReviewDue:
    """A post-incident review waiting for people at ``now``, and why."""

    escalation_id: int
    model_id: str
    tier: int
    owner: str
    due_at: datetime
    overdue: bool
    status: str
    reason: str

    def reminder_key(self, day: date) -> str:
        """Deduplication key of its reminder on ``day``: one reminder a day at most."""
        return f"pir-due:esc-{self.escalation_id}:{day.isoformat()}"


def due_reviews(state: RecordsState, now: datetime) -> list[ReviewDue]:
    """Every post-incident review that is due and not closed at ``now``, most overdue
    first. A review counts as due from the moment its escalation closed; ``overdue`` once
    its due time has passed."""
    out = []
    for facts in state.facts:
        esc = facts.escalation
        if not needs_review(esc, facts.settings):
            continue
        due = review_due_at(esc, facts.settings)
        review = state.reviews.get(esc.id)
        if due is None or (review is not None and review.status == "closed"):
            continue
        status = "not opened" if review is None else review.status
        overdue = now > due
        reason = (
            f"post-incident review of esc-{esc.id} ({esc.model_id}, tier {esc.tier}, "
            f"{esc.dominant_mode or 'unclassified'}) "
            + (f"overdue since {_when(due)}" if overdue else f"due by {_when(due)}")
            + f"; {status}: run `modelhealth ladder pir esc-{esc.id}`"
        )
        out.append(
            ReviewDue(esc.id, esc.model_id, esc.tier, facts.owner, due, overdue, status, reason)
        )
    return sorted(out, key=lambda d: (d.due_at, d.escalation_id))
