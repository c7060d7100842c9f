"""The stakeholder brief: one page, in plain words, for the people who depend on a model
while one of its escalations (tier ≥ 2) is open. Pure: the clock is passed in.

The brief follows the communication form of the framework's seeds, in five steps:

1. **acknowledge** the impact as the model's users see it — what fails, since when, how
   many requests (from the recorded nights);
2. **responsibility** — who owns it, in the active voice;
3. **what we know and what we do not yet know**, with the evidence (the handoff packet);
4. **the action plan** — each action with a named owner and a time: the immediate
   mitigation from the response matrix, the rung and its decision, application or
   evaluation period, the post-incident review;
5. **follow-through** — when the next update is due.

:func:`build_brief` gathers it from stored facts; :func:`brief_digest` hashes what it
says (not when it was issued), so a brief is re-issued only when its content changed.
Presentation (Markdown, HTML) is the shell's (:mod:`modelhealth.outputs.records`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from ladder.audit import canonical_json
from ladder.incident import IncidentFacts, needs_review, update_every
from ladder.review import rung_for
from ladder.sla import TIER_NAMES, deadlines
from ladder.state import Escalation, Step
from ladder.store import NightTrend

__all__ = [
    "USER_IMPACT",
    "Brief",
    "BriefAction",
    "brief_digest",
    "build_brief",
    "named_holder",
]

#: What each failure mode looks like to the people who use the model.
USER_IMPACT: Final[Mapping[str, str]] = {
    "hallucination": "answers that invent facts or sources",
    "factual_error": "answers with wrong facts",
    "format_violation": "outputs in a format the systems that read them cannot use",
    "domain_misapplication": "answers that apply the rules of the wrong domain",
    "confidence_miscalibration": "confidence scores that overstate how often it is right",
    "latency_regression": "slow responses",
    "availability": "requests that fail with an error or time out",
    "blind": "no data reaching the monitor, so nobody can tell whether it works",
}
_AFFECTED: Final = frozenset({"breach", "blind"})
#: Fields of a brief that say when, not what: left out of its digest.
_SCHEDULE_FIELDS: Final = frozenset({"issued_at", "next_update", "follow_through", "digest"})


class BriefAction(BaseModel):
    """One line of the action plan: what, who (a named person), by when."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    what: str
    owner: str
    due: datetime | None = None
    #: ``by`` (a deadline), ``until`` (a period that ends) or ``now``.
    when: str = "by"


class Brief(BaseModel):
    """A stakeholder brief, as data."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    escalation_id: int
    model_id: str
    tier: int
    tier_name: str
    status: str
    headline: str
    # 1. acknowledge
    what_fails: str
    since: date | None = None
    nights_affected: int = 0
    requests: int | None = None
    judged: int | None = None
    failed: int | None = None
    impact: list[str] = Field(default_factory=list)
    # 2. responsibility
    owner: str
    responsibility: str
    # 3. known / not yet known
    known: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    unknown: list[str] = Field(default_factory=list)
    # 4. action plan
    actions: list[BriefAction] = Field(default_factory=list)
    # 5. follow-through
    next_update: BriefAction | None = None
    follow_through: str = ""
    repeat_of: int | None = None
    issued_at: datetime
    digest: str = ""


def brief_digest(brief: Brief) -> str:
    """SHA-256 of what the brief says, leaving out when it was issued and when the next
    update is due: the same situation told twice has the same digest."""
    body = {k: v for k, v in brief.model_dump(mode="json").items() if k not in _SCHEDULE_FIELDS}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def named_holder(role: str, people: Mapping[str, Sequence[str]], owner: str) -> str:
    """A named person for ``role``: the model owner when the role is ``model_owner`` or the
    owner holds it, else the first holder by name, else the owner (never nobody)."""
    if role == "model_owner" or role in people.get(owner, ()):
        return owner
    holders = sorted(p for p, roles in people.items() if role in roles)
    return holders[0] if holders else owner


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _count(n: int) -> str:
    return f"{n:,}"


def _episode(esc: Escalation, nights: Sequence[NightTrend], now: datetime) -> list[NightTrend]:
    start = (
        esc.first_trigger_at.date()
        if esc.first_trigger_at is not None
        else esc.opened_night or esc.opened_at.date()
    )
    end = (esc.closed_at or now).date()
    return [n for n in nights if start <= n.night <= end]


def _impact(
    esc: Escalation, episode: Sequence[NightTrend], quality_metric: str | None, what: str
) -> tuple[dict[str, Any], list[str]]:
    """Counts of the nights the model failed its checks, and sentences saying so."""
    affected = [n for n in episode if n.status in _AFFECTED]
    figures: dict[str, Any] = {
        "nights_affected": len(affected),
        "since": None,
        "requests": None,
        "judged": None,
        "failed": None,
    }
    if not affected:
        return figures, [f"{esc.model_id} shows {what}; no night with a breach is recorded yet."]
    since = affected[0].night
    figures["since"] = since
    nights = f"{len(affected)} night{'s' if len(affected) != 1 else ''}"
    if all(n.status == "blind" for n in affected):
        return figures, [
            f"Since {since}, the monitor has received no data from "
            f"{esc.model_id} on {nights}: nobody can tell whether it works."
        ]
    requests = int(sum(_known(n, "error_rate_n") for n in affected))
    figures["requests"] = requests or None
    lines = [f"Since {since}, {esc.model_id} has been giving {what}, on {nights} so far."]
    those = "that night" if len(affected) == 1 else "on those nights"
    judged_n = [
        (_known(n, "quality"), _known(n, "quality_n"))
        for n in affected
        if n.summary.get("quality") is not None and n.summary.get("quality_n")
    ]
    if quality_metric == "accuracy" and judged_n:
        judged = int(sum(k for _, k in judged_n))
        failed = int(sum(round((1.0 - q) * k) for q, k in judged_n))
        figures.update(judged=judged, failed=failed)
        lines.append(
            f"Of {_count(judged)} answers checked {those}, {_count(failed)} "
            f"({failed / judged:.1%}) were wrong, out of {_count(requests)} requests served."
        )
    errored = int(sum(round(_known(n, "error_rate") * _known(n, "error_rate_n")) for n in affected))
    if errored and requests and esc.dominant_mode == "availability":
        lines.append(
            f"{_count(errored)} of {_count(requests)} requests ({errored / requests:.1%})"
            " failed with an error."
        )
    elif not judged_n and requests:
        lines.append(f"{_count(requests)} requests were served {those}.")
    return figures, lines


def _known(night: NightTrend, key: str) -> float:
    """A headline figure of the night, 0 when it was not measured."""
    return float(night.summary.get(key) or 0.0)


def _main_step(esc: Escalation) -> Step | None:
    climbs = [s for s in esc.steps if s.direction == "up"]
    return climbs[-1] if climbs else (esc.steps[-1] if esc.steps else None)


def _health_since(nights: Sequence[NightTrend], moment: datetime) -> tuple[int, int]:
    after = [n for n in nights if n.night >= moment.date()]
    return sum(n.status not in _AFFECTED for n in after), len(after)


def _rung_plan(
    facts: IncidentFacts,
    step: Step,
    packet: Mapping[str, Any],
    nights: Sequence[NightTrend],
) -> tuple[list[BriefAction], list[str], list[str]]:
    """The rung's line of the plan, and what is known and unknown about it."""
    policy = facts.policy
    rung = rung_for(policy, step.rung)
    title = rung.title.lower()
    owner = policy.owner
    cost = str(packet.get("cost_text") or "")
    actions: list[BriefAction] = []
    known: list[str] = []
    unknown: list[str] = []
    if step.status == "pending":
        approvers = [str(p) for p in packet.get("approvers") or []] or [owner]
        due = deadlines(step.requested_at, step.tier, policy.sla).decide_due
        actions.append(
            BriefAction(
                what=f"Decide whether to apply {title} ({step.rung}){f', {cost}' if cost else ''}",
                owner=" or ".join(approvers),
                due=due,
            )
        )
        unknown.append(f"Whether {title} will be approved: the decision is due {_when(due)}.")
        unknown.append(
            f"Whether {title} fixes it: once applied, it is evaluated for "
            f"{rung.evaluation_days} days."
        )
    elif step.status == "approved":
        base = step.approved_at or step.requested_at
        due = base + timedelta(days=rung.time_days)
        known.append(
            f"{title.capitalize()} was approved on {base:%Y-%m-%d} "
            f"({', '.join(step.approvers) or 'no approval needed'})."
        )
        actions.append(
            BriefAction(what=f"Build and apply {title} ({step.rung})", owner=owner, due=due)
        )
        unknown.append(
            f"Whether {title} fixes it: once applied, it is evaluated for "
            f"{rung.evaluation_days} days."
        )
    elif step.status == "evaluating" and step.applied_at is not None:
        healthy, seen = _health_since(nights, step.applied_at)
        known.append(
            f"{title.capitalize()} was applied on {step.applied_at:%Y-%m-%d}; the "
            f"model has been healthy on {healthy} of {seen} night"
            f"{'s' if seen != 1 else ''} since."
        )
        actions.append(
            BriefAction(
                what=f"Evaluate {title}: recovery must hold for {rung.evaluation_days} days",
                owner=owner,
                due=step.evaluation_ends_at,
                when="until",
            )
        )
        unknown.append(
            f"Whether the recovery holds through the evaluation, until "
            f"{_when(step.evaluation_ends_at)}."
        )
    elif step.status == "succeeded":
        known.append(
            f"{title.capitalize()} recovered the model and stays in force "
            f"(applied {_when(step.applied_at)})."
        )
    elif step.status in ("rejected", "expired", "failed", "blocked_by_budget"):
        known.append(
            f"{title.capitalize()} was {step.status.replace('_', ' ')}: {step.reason}".rstrip(": ")
        )
        unknown.append(
            "Which step comes next: the ladder recommends again when the evidence "
            "changes, or when an event reopens the decision."
        )
    return actions, known, unknown


def build_brief(
    facts: IncidentFacts,
    *,
    packets: Mapping[int, Mapping[str, Any]],
    nights: Sequence[NightTrend],
    now: datetime,
    quality_metric: str | None = "accuracy",
    earlier: Escalation | None = None,
) -> Brief:
    """The brief of one escalation as the store stands at ``now``.

    Parameters
    ----------
    facts
        The escalation, its policy snapshot (with the pinned people) and its records.
    packets
        The handoff packet of each of its steps, by step id.
    nights
        The model's recorded nights covering the escalation (oldest first).
    now
        When the brief is issued: the next update is due one update interval later.
    quality_metric
        ``accuracy`` when the model's quality is the share of correct answers (the brief
        then counts wrong answers); anything else reports no counts of wrong answers.
    earlier
        The incident this one repeats (:func:`ladder.incident.earlier_incident`).
    """
    esc = facts.escalation
    policy = facts.policy
    people = {p: tuple(r) for p, r in policy.people.items()}
    owner = policy.owner
    tier = min(max(esc.tier, 1), 4)
    mode = esc.dominant_mode
    what = USER_IMPACT.get(
        mode or "", f"failures of its checks ({mode})" if mode else "failures of its checks"
    )
    step = _main_step(esc)
    packet: Mapping[str, Any] = packets.get(step.id, {}) if step is not None else {}
    entry = policy.matrix.get(mode) if mode else None
    episode = _episode(esc, nights, now)
    figures, impact = _impact(esc, episode, quality_metric, what)

    resolver = named_holder(entry.owner, people, owner) if entry is not None else owner
    responsibility = (
        f"{owner} owns {esc.model_id} and is responsible for this escalation until it "
        f"closes."
        + (
            f" {resolver} leads the fix ({entry.owner})."
            if resolver != owner and entry is not None
            else ""
        )
    )

    known: list[str] = []
    if mode:
        how = str(packet.get("failure_mode_how") or "dominant failure mode")
        shares = packet.get("failure_modes") or {}
        share = shares.get(mode) if isinstance(shares, Mapping) else None
        known.append(
            f"The failures are mostly {mode.replace('_', ' ')} ({how}"
            + (f", {share:.0%} of classified failures" if share else "")
            + ")."
        )
    if packet.get("rule_reason"):
        known.append(f"The ladder acted because {packet['rule_reason']}.")
    tried = [t for t in packet.get("rungs_tried") or [] if t.get("status") == "failed"]
    if tried:
        known.append(
            "Tried before without recovery: " + ", ".join(str(t["rung"]) for t in tried) + "."
        )
    if earlier is not None:
        known.append(
            f"This repeats esc-{earlier.id} ({earlier.dominant_mode}), which closed "
            f"on {earlier.closed_at:%Y-%m-%d}: see its post-incident review."
        )
    unknown: list[str] = []
    if mode is None or str(packet.get("failure_mode_how", "")).startswith("inferred"):
        unknown.append(
            "What the failures are: no reviewed annotation names them yet; the "
            "failure mode is inferred from which checks fired."
        )

    actions: list[BriefAction] = []
    open_ = esc.status == "open"
    if open_ and entry is not None and entry.mitigation:
        first = esc.steps[0] if esc.steps else None
        due = (
            deadlines(first.requested_at, first.tier, policy.sla).ack_due
            if first is not None
            else deadlines(esc.opened_at, tier, policy.sla).ack_due
        )
        actions.append(
            BriefAction(what=f"Mitigate now: {entry.mitigation}", owner=resolver, due=due)
        )
    if step is not None and open_:
        rung_actions, rung_known, rung_unknown = _rung_plan(facts, step, packet, episode)
        actions += rung_actions
        known += rung_known
        unknown += rung_unknown
    elif step is not None:
        known += _rung_plan(facts, step, packet, episode)[1]
    if open_ and entry is not None and entry.long_term_fix and step is None:
        actions.append(
            BriefAction(
                what=f"Fix for good: {entry.long_term_fix}", owner=resolver, due=None, when="by"
            )
        )
    if not open_:
        known.append(f"The escalation closed on {_when(esc.closed_at)}: {esc.outcome}".rstrip(": "))
    elif step is not None and step.status not in ("evaluating", "succeeded"):
        unknown.append(
            "The root cause: it is confirmed only when a fix holds through its evaluation."
        )
    review_by: datetime | None = None
    if needs_review(esc, facts.settings):
        review_by = (
            esc.closed_at + timedelta(days=facts.settings.review_within_days)
            if esc.closed_at is not None
            else None
        )
        actions.append(
            BriefAction(
                what="Post-incident review: timeline, SLA misses, what to improve",
                owner=owner,
                due=review_by,
                when="by"
                if review_by is not None
                else f"within {facts.settings.review_within_days} days of closing",
            )
        )

    next_update: BriefAction | None = None
    if open_:
        due = now + update_every(facts.settings, tier)
        next_update = BriefAction(what="Next update to stakeholders", owner=owner, due=due)
        follow = f"{owner} sends the next update by {_when(due)}, or sooner if the plan changes."
    else:
        follow = "This is the last update: the escalation is closed."
        if review_by is not None:
            follow += f" The post-incident review is due by {_when(review_by)}."

    status_note = {
        "open": "open",
        "resolved": "resolved",
        "expired": "expired without a decision",
        "closed": "closed",
    }.get(esc.status, esc.status)
    headline = (
        f"{esc.model_id}: {what} since {figures['since'] or esc.opened_at.date()} — tier "
        f"{tier} ({TIER_NAMES[tier]}), {status_note}; owner {owner}."
    )
    brief = Brief(
        escalation_id=esc.id,
        model_id=esc.model_id,
        tier=tier,
        tier_name=TIER_NAMES[tier],
        status=esc.status,
        headline=headline,
        what_fails=what,
        impact=impact,
        owner=owner,
        responsibility=responsibility,
        known=known,
        evidence=[str(line) for line in packet.get("evidence") or []],
        unknown=unknown,
        actions=actions,
        next_update=next_update,
        follow_through=follow,
        repeat_of=earlier.id if earlier is not None else None,
        issued_at=now,
        **figures,
    )
    return brief.model_copy(update={"digest": brief_digest(brief)})
