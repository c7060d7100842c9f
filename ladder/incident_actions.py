"""What people do with the process records: send a stakeholder brief, open, fill in and
close a post-incident review; and what the clock queues: overdue-review reminders and the
weekly SLA-miss review.

Writes follow :mod:`ladder.actions`: the audit log must prove the state first, the
register must match the pinned people, and one transaction records the change, its audit
row and (for what goes out) the outbox row. A refusal changes nothing and is audited in
its own transaction. Reading functions (:func:`current_brief`, :func:`current_review`,
:func:`weekly_sla_review`) are what the desk links to.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, TypeVar

from sqlalchemy.engine import Connection

from ladder import audit
from ladder.actions import audit_refusal, ensure_proven
from ladder.audit import Origin, canonical_json
from ladder.briefs import Brief, build_brief
from ladder.errors import NotFound, Refused
from ladder.identity import cli_origin
from ladder.incident import (
    FollowUp,
    IncidentFacts,
    earlier_incident,
    needs_brief,
    needs_review,
    review_due_at,
)
from ladder.incident_store import (
    briefs_of,
    facts_of,
    insert_brief,
    insert_review,
    load_records,
    night_outcomes,
    review_for,
    update_review,
)
from ladder.pins import Pin, require_pinned
from ladder.post_incident import PostIncidentReview, ReviewDue, build_review, due_reviews
from ladder.store import (
    LadderStore,
    NightTrend,
    has_notification,
    insert_notification,
    list_escalations,
    night_trends,
    step_packet,
)
from ladder.weekly import Week, WeeklySlaReview, weekly_review
from thresholds.schema import Register

__all__ = [
    "BriefSent",
    "ReviewChange",
    "current_brief",
    "current_review",
    "parse_escalation_ref",
    "quality_metric_of",
    "queue_overdue_reviews",
    "queue_sla_review",
    "record_review",
    "send_brief",
    "weekly_sla_review",
]

T = TypeVar("T")

_ESC_REF = re.compile(r"^(?:esc-)?(\d{1,12})$")
#: Nights of history read for a brief or a review, at most.
_MAX_NIGHTS: Final = 400


def parse_escalation_ref(ref: str) -> int:
    """``esc-3`` or ``3`` → 3.

    Raises
    ------
    NotFound
        When ``ref`` does not name an escalation.
    """
    match = _ESC_REF.match(ref.strip())
    if match is None:
        raise NotFound(
            f"{ref!r} is not an escalation id; use the id shown by `ladder status` "
            "or `ladder history` (esc-3)"
        )
    return int(match.group(1))


def quality_metric_of(register: Register | None, model_id: str) -> str | None:
    """``accuracy``, ``quality_score`` or ``None``: how the model's quality is measured."""
    if register is None:
        return None
    try:
        quality = register.model(model_id).thresholds.quality
    except KeyError:
        return None
    return quality.metric if quality is not None else None


def _nights(conn: Connection, facts: IncidentFacts, now: datetime) -> list[NightTrend]:
    esc = facts.escalation
    start = (esc.first_trigger_at or esc.opened_at).date()
    days = min((now.date() - start).days + 2, _MAX_NIGHTS)
    return night_trends(conn, esc.model_id, until=now.date(), days=days)


def _brief(
    conn: Connection, facts: IncidentFacts, now: datetime, quality_metric: str | None
) -> Brief:
    esc = facts.escalation
    packets = {s.id: step_packet(conn, s.id) for s in esc.steps}
    others = list_escalations(conn, model_id=esc.model_id)
    earlier = earlier_incident(esc, others, within_days=facts.settings.repeat_within_days)
    return build_brief(
        facts,
        packets=packets,
        nights=_nights(conn, facts, now),
        now=now,
        quality_metric=quality_metric,
        earlier=earlier,
    )


def current_brief(
    conn: Connection, escalation_id: int, *, now: datetime, register: Register | None = None
) -> Brief:
    """The brief of one escalation as the store stands at ``now`` (read only); with the
    register it counts wrong answers for a model whose quality is accuracy."""
    facts = facts_of(conn, escalation_id)
    return _brief(conn, facts, now, quality_metric_of(register, facts.escalation.model_id))


@dataclass(frozen=True)
class BriefSent:
    """What :func:`send_brief` did: ``sent`` is false when the content had not changed
    since ``previous`` went out."""

    brief: Brief
    sent: bool
    version: int
    previous_sent_at: datetime | None
    recipients: tuple[str, ...] = ()
    notification_id: int | None = None


def _accountable(facts: IncidentFacts, pin: Pin, person: str) -> None:
    """The owner, an approver of the model's rungs, whom they escalate to, or an admin."""
    policy = facts.policy
    roles = {r for rung in policy.rungs for r in (*rung.approval.roles, *rung.approval.escalate_to)}
    roles |= set(pin.admin_roles)
    if person == policy.owner or pin.roles_of(person) & roles:
        return
    raise Refused(
        f"{person} neither owns {policy.model_id} nor holds "
        f"{', '.join(sorted(roles))}; cannot speak for esc-{facts.escalation.id}"
    )


def _recipients(facts: IncidentFacts) -> tuple[str, ...]:
    policy = facts.policy
    roles = {r for rung in policy.rungs for r in (*rung.approval.roles, *rung.approval.escalate_to)}
    return tuple(sorted({policy.owner, *policy.holders(roles), *facts.settings.stakeholders}))


def _on_escalation(
    store: LadderStore,
    ref: str,
    *,
    person: str,
    register: Register,
    now: datetime,
    origin: Origin | None,
    action: str,
    work: Callable[[Connection, IncidentFacts, Pin], T],
) -> T:
    """Run ``work`` on one escalation as :mod:`ladder.actions` runs a decision: the log
    must prove the state, the register must match the pin, and a refusal is audited."""
    escalation_id = parse_escalation_ref(ref)
    via = origin or cli_origin()
    ensure_proven(store)

    def run(conn: Connection) -> T:
        pin = require_pinned(conn, register, actor=person, now=now)
        return work(conn, facts_of(conn, escalation_id), pin)

    try:
        return store.write(run, origin=via, actor=person)
    except Refused as exc:
        audit_refusal(
            store,
            actor=person,
            action=action,
            subject=f"esc-{escalation_id}",
            reason=str(exc),
            now=now,
            origin=via,
        )
        raise


def send_brief(
    store: LadderStore,
    ref: str,
    *,
    person: str,
    register: Register,
    now: datetime,
    render: Callable[[Brief], str],
    origin: Origin | None = None,
) -> BriefSent:
    """Send the brief of an escalation of tier ≥ ``brief_min_tier`` through the outbox,
    unless the same content already went out. ``render`` turns it into the message text.

    Records the brief (a new version when its digest changed), queues it in the outbox
    and appends a ``brief.sent`` audit row, in one transaction: "time to communication"
    is measured from the escalation opening to the first version's ``sent_at``.

    Raises
    ------
    NotFound, Refused, Tampered
        As :func:`ladder.actions.approve` does; refused below the brief tier, for a
        review or step-down escalation, or for a person who cannot speak for the model.
    """

    def work(conn: Connection, facts: IncidentFacts, pin: Pin) -> BriefSent:
        esc = facts.escalation
        subject = f"esc-{esc.id}"
        if not needs_brief(esc, facts.settings):
            raise Refused(
                f"{subject} is a tier {esc.tier} {esc.kind} escalation: stakeholder briefs are "
                f"for incidents of tier {facts.settings.brief_min_tier} or above "
                "(ladder.incident.brief_min_tier)"
            )
        _accountable(facts, pin, person)
        brief = _brief(conn, facts, now, quality_metric_of(register, esc.model_id))
        sent = briefs_of(conn, esc.id)
        last = sent[-1] if sent else None
        if last is not None and last.digest == brief.digest:
            return BriefSent(brief, False, last.version, last.sent_at)
        version = (last.version if last else 0) + 1
        recipients = _recipients(facts)
        notification = insert_notification(
            conn,
            model_id=esc.model_id,
            kind="brief",
            recipients=recipients,
            at=now,
            payload={"text": render(brief), "key": f"brief:{subject}:v{version}"},
        )
        insert_brief(
            conn,
            escalation_id=esc.id,
            model_id=esc.model_id,
            version=version,
            digest=brief.digest,
            tier=brief.tier,
            content=brief.model_dump(mode="json"),
            sent_at=now,
            sent_by=person,
            next_update_due=brief.next_update.due if brief.next_update else None,
            notification_id=notification,
        )
        audit.append(
            conn,
            at=now,
            actor=person,
            action="brief.sent",
            subject=subject,
            reason=brief.headline,
            payload={
                "model": esc.model_id,
                "version": version,
                "digest": brief.digest,
                "recipients": list(recipients),
            },
        )
        return BriefSent(
            brief, True, version, last.sent_at if last else None, recipients, notification
        )

    return _on_escalation(
        store,
        ref,
        person=person,
        register=register,
        now=now,
        origin=origin,
        action="brief",
        work=work,
    )


def current_review(conn: Connection, escalation_id: int, *, now: datetime) -> PostIncidentReview:
    """The post-incident review of one escalation at ``now`` (read only): prefilled even
    before anyone opened it."""
    facts = facts_of(conn, escalation_id)
    others = list_escalations(conn, model_id=facts.escalation.model_id)
    return build_review(
        facts,
        review=review_for(conn, escalation_id),
        nights=_nights(conn, facts, now),
        escalations=others,
        now=now,
    )


@dataclass(frozen=True)
class ReviewChange:
    """What :func:`record_review` did, and the review afterwards."""

    review: PostIncidentReview
    changes: tuple[str, ...]


def _joined(existing: str, added: Sequence[str]) -> str:
    lines = [line for line in existing.splitlines() if line.strip()]
    lines += [f"- {text.strip().removeprefix('- ')}" for text in added if text.strip()]
    return "\n".join(lines)


def record_review(
    store: LadderStore,
    ref: str,
    *,
    person: str,
    register: Register,
    now: datetime,
    went_well: Sequence[str] = (),
    improve: Sequence[str] = (),
    actions: Sequence[FollowUp] = (),
    replace: dict[str, Any] | None = None,
    close: bool = False,
    origin: Origin | None = None,
) -> ReviewChange:
    """Open the review of a closed escalation of tier ≥ ``review_min_tier`` (prefilled,
    linked to the incident it repeats), add to it, and close it.

    ``went_well``, ``improve`` and ``actions`` are appended; ``replace`` (from an edited
    file: ``went_well``, ``improve`` text and ``actions`` list) replaces them. ``close``
    needs both texts filled in, and records the prefilled part as it stands. Opening and
    changing it are decisions of the owner, an approver or an admin; reading a review
    that is open or closed needs no role.

    Raises
    ------
    NotFound, Refused, Tampered
        Refused for an escalation below the review tier, one still open, a closed review,
        a person who cannot speak for the model, or closing with a section left empty.
    """

    def work(conn: Connection, facts: IncidentFacts, pin: Pin) -> ReviewChange:
        esc = facts.escalation
        escalation_id = esc.id
        subject = f"esc-{esc.id}"
        settings = facts.settings
        if not needs_review(esc, settings):
            raise Refused(
                f"{subject} is a tier {esc.tier} {esc.kind} escalation: post-incident "
                f"reviews are for incidents of tier {settings.review_min_tier} or "
                "above (ladder.incident.review_min_tier)"
            )
        due = review_due_at(esc, settings)
        if due is None:
            raise Refused(f"{subject} is still open: its post-incident review opens once it closes")
        done: list[str] = []
        review = review_for(conn, escalation_id)
        changing = bool(went_well or improve or actions or replace or close)
        if review is not None and not changing:  # reading needs no say over the model
            return ReviewChange(current_review(conn, escalation_id, now=now), ())
        _accountable(facts, pin, person)
        if review is None:
            others = list_escalations(conn, model_id=esc.model_id)
            earlier = earlier_incident(esc, others, within_days=settings.repeat_within_days)
            insert_review(
                conn,
                escalation_id=esc.id,
                model_id=esc.model_id,
                tier=esc.tier,
                status="open",
                due_at=due,
                opened_at=now,
                opened_by=person,
                went_well="",
                improve="",
                repeat_of=earlier.id if earlier is not None else None,
            )
            note = f"; repeats esc-{earlier.id}" if earlier is not None else ""
            audit.append(
                conn,
                at=now,
                actor=person,
                action="review.opened",
                subject=subject,
                reason=f"post-incident review opened, due {due:%Y-%m-%d %H:%M} UTC{note}",
                payload={"model": esc.model_id},
            )
            done.append(f"opened the review of {subject} (due {due:%Y-%m-%d %H:%M} UTC{note})")
            review = review_for(conn, escalation_id)
            assert review is not None
        if review.status == "closed":
            raise Refused(
                f"the review of {subject} was closed by {review.closed_by} on "
                f"{review.closed_at:%Y-%m-%d %H:%M} UTC; it no longer changes"
            )
        values: dict[str, Any] = {}
        base = replace or {}
        well = _joined(str(base.get("went_well", review.went_well)), went_well)
        better = _joined(str(base.get("improve", review.improve)), improve)
        listed = list(base.get("actions", review.actions)) + list(actions)
        if well != review.went_well:
            values["went_well"] = well
        if better != review.improve:
            values["improve"] = better
        if tuple(listed) != review.actions:
            values["actions"] = listed
        if close:
            missing = [
                name
                for name, text in (("what went well", well), ("what to improve", better))
                if not text.strip()
            ]
            if missing:
                raise Refused(
                    f"the review of {subject} cannot close without "
                    f"{' and '.join(missing)} (--went-well, --improve)"
                )
            prefilled = build_review(
                facts,
                review=None,
                nights=_nights(conn, facts, now),
                escalations=list_escalations(conn, model_id=esc.model_id),
                now=now,
            )
            values.update(
                status="closed",
                closed_at=now,
                closed_by=person,
                record=prefilled.model_dump(
                    mode="json",
                    include={"timeline", "sla_misses", "rung", "rung_applied_at", "changes"},
                ),
            )
        if values:
            update_review(conn, review, **values)
            action = "review.closed" if close else "review.updated"
            changed = sorted(k for k in values if k in ("went_well", "improve", "actions"))
            reason = (
                f"post-incident review closed ({len(listed)} follow-up action"
                f"{'s' if len(listed) != 1 else ''})"
                if close
                else f"updated {', '.join(changed)}"
            )
            audit.append(
                conn,
                at=now,
                actor=person,
                action=action,
                subject=subject,
                reason=reason,
                payload={"model": esc.model_id, "actions": [a.as_json() for a in listed]},
            )
            done.append(reason)
        return ReviewChange(current_review(conn, escalation_id, now=now), tuple(done))

    return _on_escalation(
        store,
        ref,
        person=person,
        register=register,
        now=now,
        origin=origin,
        action="review",
        work=work,
    )


def queue_overdue_reviews(store: LadderStore, *, now: datetime) -> list[ReviewDue]:
    """Queue a reminder in the outbox for every overdue post-incident review, at most one
    per review a day (kind ``review_overdue``, to the owner and the ML leads of the
    snapshot). Returns the reviews it queued a reminder for."""

    def work(conn: Connection) -> list[ReviewDue]:
        state = load_records(conn)
        queued = []
        for item in due_reviews(state, now):
            key = item.reminder_key(now.date())
            if not item.overdue or has_notification(conn, kind="review_overdue", key=key):
                continue
            facts = state.of(item.escalation_id)
            assert facts is not None
            leads = facts.policy.holders(("ml_lead",))
            insert_notification(
                conn,
                model_id=item.model_id,
                kind="review_overdue",
                recipients=(item.owner, *leads),
                at=now,
                payload={
                    "reason": item.reason,
                    "summary": item.reason,
                    "escalation": item.escalation_id,
                    "due_at": item.due_at,
                    "key": key,
                },
            )
            queued.append(item)
        return queued

    return store.write(work)


def weekly_sla_review(
    conn: Connection, *, week: Week, now: datetime, register: Register | None = None
) -> WeeklySlaReview:
    """The weekly SLA-miss review as the store stands at ``now`` (read only); the
    register's rule settings feed the tuning suggestions."""
    state = load_records(conn)
    since = (week.start - timedelta(weeks=8)).date()
    rules = {m.id: m.ladder.rules for m in register.models} if register is not None else {}
    return weekly_review(
        state, week=week, now=now, nights=night_outcomes(conn, since=since), rules=rules
    )


def queue_sla_review(
    store: LadderStore,
    review: WeeklySlaReview,
    *,
    text: str,
    now: datetime,
    recipients: Sequence[str] = (),
) -> bool:
    """Queue the weekly review's ``text`` in the outbox (kind ``sla_review``), once per
    week and content: re-running the same review queues nothing. Returns whether queued."""
    body = review.model_dump(mode="json", exclude={"generated_at"})
    digest = hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()[:16]
    key = f"sla-review:{review.week}:{digest}"

    def work(conn: Connection) -> bool:
        if has_notification(conn, kind="sla_review", key=key):
            return False
        insert_notification(
            conn,
            model_id="*",
            kind="sla_review",
            recipients=recipients,
            at=now,
            payload={"text": text, "key": key},
        )
        return True

    return store.write(work)
