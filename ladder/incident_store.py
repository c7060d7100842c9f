"""Reading and writing the process records — stakeholder briefs and post-incident
reviews — in the state store. Every insert and update is recorded in the caller's audit
row (:func:`ladder.audit.record_insert`), so ``ladder audit verify`` proves these tables
like every other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Row

from ladder import audit
from ladder.incident import (
    INCIDENT_KINDS,
    BriefRecord,
    FollowUp,
    IncidentFacts,
    RecordsState,
    ReviewRecord,
)
from ladder.pins import current_pin
from ladder.state import TRIGGER_LEVELS
from ladder.store import StaleWrite, escalation_by_id, escalation_policy, list_escalations
from ladder.tables import briefs, nights, reviews
from ladder.tuning import NightOutcome

__all__ = [
    "briefs_of",
    "facts_of",
    "incident_facts",
    "insert_brief",
    "insert_review",
    "load_records",
    "night_outcomes",
    "review_for",
    "update_review",
]


def _brief(row: Row[Any]) -> BriefRecord:
    return BriefRecord(
        id=row.id,
        escalation_id=row.escalation_id,
        model_id=row.model_id,
        version=row.version,
        digest=row.digest,
        tier=row.tier,
        content=dict(row.content),
        sent_at=row.sent_at,
        sent_by=row.sent_by,
        next_update_due=row.next_update_due,
    )


def _review(row: Row[Any]) -> ReviewRecord:
    return ReviewRecord(
        id=row.id,
        escalation_id=row.escalation_id,
        model_id=row.model_id,
        tier=row.tier,
        status=row.status,
        due_at=row.due_at,
        opened_at=row.opened_at,
        opened_by=row.opened_by,
        went_well=row.went_well,
        improve=row.improve,
        actions=tuple(FollowUp.from_json(a) for a in row.actions or ()),
        repeat_of=row.repeat_of,
        record=dict(row.record) if row.record is not None else None,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
        version=row.version,
    )


def briefs_of(conn: Connection, escalation_id: int) -> tuple[BriefRecord, ...]:
    """Every brief sent about one escalation, first version first."""
    rows = conn.execute(
        select(briefs).where(briefs.c.escalation_id == escalation_id).order_by(briefs.c.version)
    )
    return tuple(_brief(r) for r in rows)


def insert_brief(conn: Connection, **values: Any) -> int:
    """Record a sent brief; the unique (escalation, version) key stops a double send."""
    result = conn.execute(insert(briefs).values(**values))
    key = result.inserted_primary_key
    assert key is not None
    brief_id = int(key[0])
    audit.record_insert(conn, briefs, brief_id)
    return brief_id


def review_for(conn: Connection, escalation_id: int) -> ReviewRecord | None:
    """The post-incident review of one escalation, if it was opened."""
    row = conn.execute(select(reviews).where(reviews.c.escalation_id == escalation_id)).first()
    return None if row is None else _review(row)


def insert_review(conn: Connection, *, actions: Iterable[FollowUp] = (), **values: Any) -> int:
    """Open a review (one per escalation: a second insert fails on its unique key)."""
    result = conn.execute(
        insert(reviews).values(version=0, actions=[a.as_json() for a in actions], **values)
    )
    key = result.inserted_primary_key
    assert key is not None
    review_id = int(key[0])
    audit.record_insert(conn, reviews, review_id)
    return review_id


def update_review(conn: Connection, review: ReviewRecord, **values: Any) -> None:
    """Change ``review`` if nobody changed it since it was read (compare-and-set)."""
    if "actions" in values:
        values["actions"] = [a.as_json() for a in values["actions"]]
    result = conn.execute(
        update(reviews)
        .where(reviews.c.id == review.id, reviews.c.version == review.version)
        .values(version=review.version + 1, **values)
    )
    if result.rowcount != 1:
        raise StaleWrite(f"the review of esc-{review.escalation_id} changed since it was read")
    audit.record_update(conn, reviews, review.id, {**values, "version": review.version + 1})


def incident_facts(
    conn: Connection,
    *,
    model_id: str | None = None,
    people: Mapping[str, Iterable[str]] | None = None,
) -> tuple[IncidentFacts, ...]:
    """Every incident (remediation or mitigation escalation), oldest first, with its
    policy snapshot (role membership from ``people``, else the pinned people, else the
    snapshot's), its first brief and its review."""
    if people is None:
        pin = current_pin(conn)
        people = pin.people if pin is not None else None
    first_brief: dict[int, Any] = {}
    for row in conn.execute(
        select(briefs.c.escalation_id, briefs.c.sent_at).order_by(briefs.c.sent_at)
    ):
        first_brief.setdefault(row.escalation_id, row.sent_at)
    closed_review = {
        r.escalation_id: r.closed_at
        for r in conn.execute(select(reviews.c.escalation_id, reviews.c.closed_at))
    }
    out = []
    for esc in list_escalations(conn, model_id=model_id):
        if esc.kind not in INCIDENT_KINDS:
            continue
        policy = escalation_policy(conn, esc.id)
        if people is not None:
            policy = policy.with_people(people)
        out.append(IncidentFacts(esc, policy, first_brief.get(esc.id), closed_review.get(esc.id)))
    return tuple(out)


def load_records(conn: Connection, *, model_id: str | None = None) -> RecordsState:
    """The incidents with their briefs and reviews, as the store stands."""
    facts = incident_facts(conn, model_id=model_id)
    ids = [f.escalation.id for f in facts]
    sent: dict[int, list[BriefRecord]] = {}
    if ids:
        for row in conn.execute(
            select(briefs)
            .where(briefs.c.escalation_id.in_(ids))
            .order_by(briefs.c.escalation_id, briefs.c.version)
        ):
            sent.setdefault(row.escalation_id, []).append(_brief(row))
    found = {}
    if ids:
        found = {
            r.escalation_id: _review(r)
            for r in conn.execute(select(reviews).where(reviews.c.escalation_id.in_(ids)))
        }
    return RecordsState(facts, {k: tuple(v) for k, v in sent.items()}, found)


def facts_of(conn: Connection, escalation_id: int) -> IncidentFacts:
    """The facts of one escalation (an incident or not); raises
    :class:`~ladder.errors.NotFound`."""
    esc = escalation_by_id(conn, escalation_id)
    policy = escalation_policy(conn, esc.id)
    pin = current_pin(conn)
    if pin is not None:
        policy = policy.with_people(pin.people)
    sent = briefs_of(conn, esc.id)
    review = review_for(conn, esc.id)
    return IncidentFacts(
        esc,
        policy,
        sent[0].sent_at if sent else None,
        review.closed_at if review is not None else None,
    )


def night_outcomes(conn: Connection, *, since: date) -> list[NightOutcome]:
    """Every model's nights since ``since``: the checks that fired and the decision."""
    rows = conn.execute(
        select(
            nights.c.model_id,
            nights.c.night,
            nights.c.triggers,
            nights.c.decision_kind,
            nights.c.escalation_id,
        )
        .where(nights.c.night >= since)
        .order_by(nights.c.model_id, nights.c.night)
    )
    return [
        NightOutcome(
            model_id=r.model_id,
            night=r.night,
            triggered=tuple(
                sorted({str(t["name"]) for t in r.triggers if t.get("level") in TRIGGER_LEVELS})
            ),
            decision=r.decision_kind,
            escalation_id=r.escalation_id,
        )
        for r in rows
    ]
