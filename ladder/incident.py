"""What an escalation owes the people around it once it is open: a stakeholder brief
(tier ≥ 2 by default), updates, and a post-incident review after it closes (tier ≥ 3).
Pure: the clock is passed in.

The facts these records are judged on are gathered once per escalation as
:class:`IncidentFacts` (the escalation with its steps, its policy snapshot, when the first
brief went out, when its review closed), so the SLA misses (:mod:`ladder.misses`), the
statistics (:mod:`ladder.stats`) and the weekly review (:mod:`ladder.weekly`) agree.

Defaults (overridable per tier in the register, ``ladder.incident``):

======  ==================  ============  ==========================
tier    first brief within  update every  post-incident review
======  ==================  ============  ==========================
1       no brief            —             no review
2       24 h                24 h          no review
3       4 h                 8 h           within 7 days of closing
4       1 h                 2 h           within 7 days of closing
======  ==================  ============  ==========================

Tier 2 follows the communication form the framework's seeds ask for: a mitigation plan
communicated within a day.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final

from ladder.policy import Policy
from ladder.state import Escalation
from thresholds.schema import IncidentSettings

__all__ = [
    "DEFAULT_COMMUNICATE_HOURS",
    "DEFAULT_UPDATE_HOURS",
    "INCIDENT_KINDS",
    "BriefRecord",
    "FollowUp",
    "IncidentFacts",
    "RecordsState",
    "ReviewRecord",
    "communicate_within",
    "earlier_incident",
    "needs_brief",
    "needs_review",
    "review_due_at",
    "update_every",
]

#: Escalation kinds that are incidents; reviews and step-downs are the review cycle.
INCIDENT_KINDS: Final = ("remediation", "mitigation")
#: Hours from an escalation opening to its first stakeholder brief, per tier.
DEFAULT_COMMUNICATE_HOURS: Final[Mapping[int, float]] = {1: 72.0, 2: 24.0, 3: 4.0, 4: 1.0}
#: Hours between stakeholder updates while an escalation is open, per tier.
DEFAULT_UPDATE_HOURS: Final[Mapping[int, float]] = {1: 72.0, 2: 24.0, 3: 8.0, 4: 2.0}


def _tier(tier: int) -> int:
    return min(max(tier, 1), 4)


def communicate_within(settings: IncidentSettings, tier: int) -> timedelta:
    """How long after opening the first brief of a ``tier`` escalation is due."""
    hours = {**DEFAULT_COMMUNICATE_HOURS, **settings.communicate_hours}[_tier(tier)]
    return timedelta(hours=hours)


def update_every(settings: IncidentSettings, tier: int) -> timedelta:
    """How often stakeholders of a ``tier`` escalation hear from the owner."""
    hours = {**DEFAULT_UPDATE_HOURS, **settings.update_hours}[_tier(tier)]
    return timedelta(hours=hours)


def needs_brief(esc: Escalation, settings: IncidentSettings) -> bool:
    """An incident at or above ``brief_min_tier``."""
    return esc.kind in INCIDENT_KINDS and esc.tier >= settings.brief_min_tier


def needs_review(esc: Escalation, settings: IncidentSettings) -> bool:
    """An incident at or above ``review_min_tier``; its review is due once it closes."""
    return esc.kind in INCIDENT_KINDS and esc.tier >= settings.review_min_tier


def review_due_at(esc: Escalation, settings: IncidentSettings) -> datetime | None:
    """When the post-incident review of a closed escalation is due (``None``: none is
    needed, or the escalation is still open)."""
    if not needs_review(esc, settings) or esc.status == "open" or esc.closed_at is None:
        return None
    return esc.closed_at + timedelta(days=settings.review_within_days)


def earlier_incident(
    esc: Escalation, escalations: Sequence[Escalation], *, within_days: int
) -> Escalation | None:
    """The incident ``esc`` repeats: the latest escalation of the same model and failure
    mode that closed at most ``within_days`` days before ``esc`` opened, if any."""
    if esc.kind not in INCIDENT_KINDS:
        return None
    window = timedelta(days=within_days)
    earlier = [
        e
        for e in escalations
        if e.id != esc.id
        and e.kind in INCIDENT_KINDS
        and e.model_id == esc.model_id
        and e.dominant_mode == esc.dominant_mode
        and e.closed_at is not None
        and e.closed_at <= esc.opened_at <= e.closed_at + window
    ]
    return max(earlier, key=lambda e: (e.closed_at, e.id)) if earlier else None


@dataclass(frozen=True)
class IncidentFacts:
    """One escalation with everything its process clocks are judged on.

    Attributes
    ----------
    escalation
        The escalation with its steps.
    policy
        Its policy snapshot (owner, SLA clocks, incident settings, people).
    first_brief_at
        When the first stakeholder brief was sent, if one was.
    review_closed_at
        When its post-incident review was closed, if it was.
    """

    escalation: Escalation
    policy: Policy
    first_brief_at: datetime | None = None
    review_closed_at: datetime | None = None

    @property
    def owner(self) -> str:
        """The model's owner when the escalation opened."""
        return self.policy.owner

    @property
    def settings(self) -> IncidentSettings:
        """Brief, review and repeat settings in force for this escalation."""
        return self.policy.incident


@dataclass(frozen=True)
class BriefRecord:
    """One version of a stakeholder brief, as sent."""

    id: int
    escalation_id: int
    model_id: str
    version: int
    digest: str
    tier: int
    content: Mapping[str, Any]
    sent_at: datetime
    sent_by: str
    next_update_due: datetime | None = None


@dataclass(frozen=True)
class FollowUp:
    """A follow-up action of a post-incident review: who does what by when."""

    owner: str
    due: date
    text: str

    def as_json(self) -> dict[str, str]:
        """How the review row stores it."""
        return {"owner": self.owner, "due": self.due.isoformat(), "text": self.text}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> FollowUp:
        """Read back what :meth:`as_json` stored."""
        return cls(str(raw["owner"]), date.fromisoformat(str(raw["due"])), str(raw["text"]))


@dataclass(frozen=True)
class ReviewRecord:
    """A post-incident review as stored: ``open`` until a person closes it."""

    id: int
    escalation_id: int
    model_id: str
    tier: int
    status: str
    due_at: datetime
    opened_at: datetime
    opened_by: str
    went_well: str = ""
    improve: str = ""
    actions: tuple[FollowUp, ...] = ()
    repeat_of: int | None = None
    record: Mapping[str, Any] | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    version: int = 0


@dataclass(frozen=True)
class RecordsState:
    """Everything the process records are judged on: the incidents with their facts, and
    the briefs and reviews recorded so far, by escalation id."""

    facts: tuple[IncidentFacts, ...] = ()
    briefs: Mapping[int, tuple[BriefRecord, ...]] = field(default_factory=dict)
    reviews: Mapping[int, ReviewRecord] = field(default_factory=dict)

    def of(self, escalation_id: int) -> IncidentFacts | None:
        """The facts of one escalation, if it is an incident in this state."""
        return next((f for f in self.facts if f.escalation.id == escalation_id), None)
