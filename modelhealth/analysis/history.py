"""A model's ladder history as tables: nights, the escalation timeline, money, process.

Read-only views over the state store for the analyst notebooks (and anyone with pandas):

* :func:`night_history` — every recorded night with its status, triggers, the decision
  taken and the headline metrics kept for trend charts;
* :func:`escalation_timeline` — breaches, recommendations, approvals, rungs applied,
  evaluations and resolutions in the order they happened, from the recorded nights and
  the audit log (the same rows ``modelhealth ladder history MODEL`` prints);
* :func:`spend_against_budget` and :func:`committed_steps` — what approved steps
  committed against the model's budget, period by period, by the guardrails' own rule
  (:func:`ladder.guardrails.committed_spend`);
* :func:`stats_frame` — ``modelhealth ladder stats`` as a frame.

Times are aware UTC timestamps; money is in the register's currency; durations in hours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, Final

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from ladder import audit
from ladder.guardrails import committed_spend, period_bounds
from ladder.nightly import SYSTEM_ACTOR
from ladder.policy import Policy, build_policy
from ladder.state import SUPPORT_LEVEL, TRIGGER_LEVELS, Escalation, Step, as_utc
from ladder.stats import LadderStats, stats_dict
from ladder.store import LadderStore, list_escalations
from ladder.tables import nights
from thresholds.schema import Register

__all__ = [
    "ACTION_KINDS",
    "committed_steps",
    "escalation_timeline",
    "model_audit_entries",
    "night_history",
    "spend_against_budget",
    "stats_frame",
    "weekly_frame",
]

#: Timeline ``kind`` of each audit action. Rows that create a step are
#: ``recommendation`` whatever status the step starts in; actions not listed keep their
#: prefix (``decision``, ``refused``, ``night``, ``escalation``, ``event``…).
ACTION_KINDS: Final[Mapping[str, str]] = {
    "escalation.opened": "escalation_opened",
    "escalation.resolved": "resolved",
    "escalation.expired": "closed",
    "escalation.closed": "closed",
    "escalation.policy_refreshed": "policy_refreshed",
    "step.approve": "approval",
    "step.reject": "rejection",
    "step.approved": "approved",
    "step.rejected": "rejected",
    "step.acknowledged": "acknowledged",
    "step.ack_reminder": "reminder",
    "step.decision_reminder": "reminder",
    "step.next_level": "next_level",
    "step.escalate": "next_level",
    "notification.routed": "routed",
    "step.applied": "applied",
    "step.evaluating": "evaluation",
    "step.succeeded": "evaluation",
    "step.failed": "evaluation",
    "step.expired": "expired",
    "step.stepped_down": "stepped_down",
    "step.retired": "retired",
    "step.blocked_by_budget": "blocked_by_budget",
    "event.recorded": "event",
}

TIMELINE_COLUMNS: Final = (
    "time",
    "kind",
    "action",
    "rung",
    "actor",
    "reason",
    "subject",
    "night",
    "seq",
)
NIGHT_COLUMNS: Final = (
    "night",
    "status",
    "triggered",
    "max_tier",
    "triggers",
    "dominant_mode",
    "decision_kind",
    "decision_reason",
    "escalation_id",
    "recorded_at",
    "quality",
    "error_rate",
    "latency_p95_ms",
    "ece",
)


# ------------------------------------------------------------------------------- nights


def night_history(store: LadderStore, model_id: str) -> pd.DataFrame:
    """Every night recorded for ``model_id``, oldest first.

    Returns
    -------
    pandas.DataFrame
        ``night`` (datetime64), ``status`` (healthy, warning, breach, …), ``triggered``
        (a breach or blind trigger fired), ``max_tier``, ``triggers`` (``name level
        observed/limit``, ``; ``-separated), ``dominant_mode``, ``decision_kind`` and
        ``decision_reason`` (what the ladder decided that night), ``escalation_id``,
        ``recorded_at`` (when the nightly run recorded it, UTC) and the headline metrics
        kept with the night: ``quality``, ``error_rate`` (fractions), ``latency_p95_ms``
        and ``ece``.
    """
    rows = store.read(lambda conn: _night_rows(conn, model_id))
    records = []
    for r in rows:
        summary = dict(r.summary or {})
        records.append(
            {
                "night": pd.Timestamp(r.night),
                "status": r.status,
                "triggered": any(t.get("level") in TRIGGER_LEVELS for t in r.triggers),
                "max_tier": r.max_tier,
                "triggers": "; ".join(_describe_trigger(t) for t in r.triggers),
                "dominant_mode": r.dominant_mode,
                "decision_kind": r.decision_kind,
                "decision_reason": r.decision_reason,
                "escalation_id": r.escalation_id,
                "recorded_at": pd.Timestamp(as_utc(r.recorded_at)),
                "quality": _nan(summary.get("quality")),
                "error_rate": _nan(summary.get("error_rate")),
                "latency_p95_ms": _nan(summary.get("latency_p95")),
                "ece": _nan(summary.get("ece")),
            }
        )
    frame = pd.DataFrame(records, columns=list(NIGHT_COLUMNS))
    frame["escalation_id"] = frame["escalation_id"].astype("Int64")
    return frame


# ----------------------------------------------------------------------------- timeline


def model_audit_entries(store: LadderStore, model_id: str) -> list[audit.AuditEntry]:
    """The audit rows about ``model_id``, oldest first: rows on the model itself, on its
    escalations and steps, and rows whose payload names it (``ladder history MODEL``)."""

    return store.read(
        lambda conn: _audit_rows(conn, model_id, list_escalations(conn, model_id=model_id))
    )


def escalation_timeline(store: LadderStore, model_id: str) -> pd.DataFrame:
    """What happened to ``model_id`` on the ladder, in order.

    Rows come from two places:

    * the recorded nights: ``breach`` for a night on which a trigger fired (a breach or
      blind), ``warning`` for a night with warnings only, and ``recovery`` for the first
      night without a trigger after one or more with; their ``time`` is when the
      nightly run recorded the night, ``night`` the day it checked;
    * the audit log (see :data:`ACTION_KINDS`): ``escalation_opened``,
      ``recommendation`` (a step requested, with its rung), ``approval`` /
      ``rejection`` (one person's decision), ``approved`` / ``rejected`` (the step
      settled), ``applied``, ``evaluation`` (the evaluation period's verdict),
      ``resolved``, … Rows the nightly run wrote carry the ``night`` it checked.

    Returns
    -------
    pandas.DataFrame
        Columns ``time`` (UTC), ``kind``, ``action`` (the audit action, or
        ``night.<status>``), ``rung``, ``actor``, ``reason``, ``subject``, ``night``
        (datetime64 or NaT) and ``seq`` (audit row number, missing for nights), sorted
        by time; at equal times nights come first, then audit rows in log order.
    """

    def read(conn: Connection) -> tuple[Sequence[Any], list[Escalation], list[audit.AuditEntry]]:
        escalations = list_escalations(conn, model_id=model_id)
        return _night_rows(conn, model_id), escalations, _audit_rows(conn, model_id, escalations)

    # One read transaction: nights, escalations and audit rows from the same snapshot.
    night_rows, escalations, entries = store.read(read)
    steps = {f"step-{s.id}": s for esc in escalations for s in esc.steps}
    # What a resolution is about: the rung of the escalation's latest step.
    escalation_rungs = {f"esc-{esc.id}": esc.steps[-1].rung for esc in escalations if esc.steps}
    night_of_run = {as_utc(r.recorded_at): r.night for r in night_rows}

    records: list[dict[str, Any]] = []
    firing_run: list[date] = []
    for r in night_rows:
        fired = [t for t in r.triggers if t.get("level") in TRIGGER_LEVELS]
        kind: str | None = None
        reason = "; ".join(_describe_trigger(t) for t in r.triggers)
        if fired:
            kind = "breach"
            firing_run.append(r.night)
        elif firing_run:
            kind = "recovery"
            reason = (
                f"first night without a trigger after {len(firing_run)} night(s) with one "
                f"({firing_run[0]} … {firing_run[-1]})"
                + (f"; warnings: {reason}" if reason else "")
            )
            firing_run = []
        elif any(t.get("level") != SUPPORT_LEVEL for t in r.triggers):
            kind = "warning"
        if kind is None:
            continue
        records.append(
            {
                "time": pd.Timestamp(as_utc(r.recorded_at)),
                "kind": kind,
                "action": f"night.{r.status}",
                "rung": None,
                "actor": SYSTEM_ACTOR,
                "reason": reason,
                "subject": f"model:{model_id}",
                "night": pd.Timestamp(r.night),
                "seq": math.nan,
                "_order": (0, 0),
            }
        )

    for e in entries:
        at = as_utc(datetime.fromisoformat(e.at))
        step = steps.get(e.subject)
        rung = e.payload.get("rung") or (step.rung if step is not None else None)
        if rung is None and e.subject.startswith("esc-"):
            rung = escalation_rungs.get(e.subject)
        ran = night_of_run.get(at) if e.actor == SYSTEM_ACTOR else None
        records.append(
            {
                "time": pd.Timestamp(at),
                "kind": _kind(e),
                "action": e.action,
                "rung": rung,
                "actor": e.actor,
                "reason": e.reason,
                "subject": e.subject,
                "night": pd.Timestamp(ran) if ran is not None else pd.NaT,
                "seq": e.seq,
                "_order": (1, e.seq),
            }
        )
    records.sort(key=lambda row: (row["time"], row["_order"]))
    frame = pd.DataFrame(records, columns=[*TIMELINE_COLUMNS, "_order"])
    frame = frame.drop(columns="_order")
    frame["night"] = pd.to_datetime(frame["night"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    frame["seq"] = frame["seq"].astype("Int64")
    return frame


# -------------------------------------------------------------------------------- money


def committed_steps(store: LadderStore, register: Register, model_id: str) -> pd.DataFrame:
    """Every step of ``model_id`` and what it committed against the budget.

    A step commits its cost to the budget period in which it was approved, whatever
    became of it afterwards (the rule of :func:`ladder.guardrails.committed_spend`).

    Returns
    -------
    pandas.DataFrame
        One row per step, by approval (then request) time: ``step``, ``rung``,
        ``direction``, ``status``, ``requested_at``, ``approved_at``, ``cost``,
        ``currency``, ``committed`` (bool), ``period_start`` (of its approval; NaT if
        not committed), ``committed_in_period`` (running total of committed cost in that
        period, including this step) and ``budget`` (the register's amount per period).
    """
    entry = register.model(model_id)
    budget = entry.ladder.budget
    steps = _steps(store, model_id)
    steps.sort(key=lambda s: (s.approved_at or s.requested_at, s.id))
    running: dict[datetime, float] = {}
    rows = []
    for s in steps:
        start: datetime | None = None
        committed = False
        if s.approved_at is not None:
            start = period_bounds(s.approved_at, budget.period)[0]
            policy = build_policy(entry, register, now=s.approved_at)
            committed = _commits(s, policy, s.approved_at)
        if committed and start is not None:
            running[start] = running.get(start, 0.0) + float(s.cost)
        rows.append(
            {
                "step": f"step-{s.id}",
                "rung": s.rung,
                "direction": s.direction,
                "status": s.status,
                "requested_at": pd.Timestamp(as_utc(s.requested_at)),
                "approved_at": (pd.Timestamp(as_utc(s.approved_at)) if s.approved_at else pd.NaT),
                "cost": float(s.cost),
                "currency": s.currency,
                "committed": committed,
                "period_start": pd.Timestamp(start) if committed and start else pd.NaT,
                "committed_in_period": running.get(start, math.nan)
                if committed and start
                else math.nan,
                "budget": float(budget.amount),
            }
        )
    columns = [
        "step",
        "rung",
        "direction",
        "status",
        "requested_at",
        "approved_at",
        "cost",
        "currency",
        "committed",
        "period_start",
        "committed_in_period",
        "budget",
    ]
    return pd.DataFrame(rows, columns=columns)


def spend_against_budget(
    store: LadderStore, register: Register, model_id: str, *, until: datetime | None = None
) -> pd.DataFrame:
    """Committed cost against the model's budget, one row per budget period.

    Periods are the register's calendar periods (month, quarter or year, UTC) from the
    first one in which the model has a recorded night or a step to the one holding
    ``until`` (default: the latest night, step or approval in the store). The budget is
    the register's current amount.

    Returns
    -------
    pandas.DataFrame
        ``period_start``, ``period_end`` (exclusive), ``currency``, ``budget``,
        ``committed`` (by :func:`ladder.guardrails.committed_spend`), ``remaining``
        (budget − committed; negative when over), ``used`` (committed / budget) and
        ``steps`` (the committed steps, ``step-N rung``, comma-separated).
    """
    entry = register.model(model_id)
    budget = entry.ladder.budget
    steps = _steps(store, model_id)
    moments = [as_utc(s.requested_at) for s in steps]
    moments += [as_utc(s.approved_at) for s in steps if s.approved_at is not None]
    night_rows = store.read(lambda conn: _night_rows(conn, model_id))
    moments += [as_utc(r.recorded_at) for r in night_rows]
    if until is not None:
        moments.append(as_utc(until))
    columns = [
        "period_start",
        "period_end",
        "currency",
        "budget",
        "committed",
        "remaining",
        "used",
        "steps",
    ]
    if not moments:
        return pd.DataFrame([], columns=columns)
    start, end = period_bounds(min(moments), budget.period)
    last = as_utc(until) if until is not None else max(moments)
    rows = []
    while start <= last:
        policy = build_policy(entry, register, now=start)
        committed = committed_spend(steps, policy, start)
        mine = [s for s in steps if _commits(s, policy, start)]
        rows.append(
            {
                "period_start": pd.Timestamp(start),
                "period_end": pd.Timestamp(end),
                "currency": budget.currency,
                "budget": float(budget.amount),
                "committed": float(committed),
                "remaining": float(budget.amount - committed),
                "used": committed / budget.amount if budget.amount else math.nan,
                "steps": ", ".join(f"step-{s.id} {s.rung}" for s in mine),
            }
        )
        start, end = period_bounds(end, budget.period)
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------------------------------------------ process


def stats_frame(stats: LadderStats) -> pd.DataFrame:
    """The durations of ``modelhealth ladder stats`` as a frame (hours).

    One row per measure (time to detection, acknowledgement, communication, decision,
    resolution): ``n``, ``median_hours``, ``p90_hours``, ``mean_hours``. Counts by tier
    and status, the weekly counts (:func:`weekly_frame`) and the repeat rate stay on
    :class:`~ladder.stats.LadderStats`.
    """
    figures = stats_dict(stats)
    rows = []
    for key in (
        "time_to_detection",
        "time_to_acknowledgement",
        "time_to_communication",
        "time_to_decision",
        "time_to_resolution",
    ):
        d = figures[key]
        rows.append(
            {
                "measure": key.replace("_", " "),
                "n": d["count"],
                "median_hours": _nan(d["median_hours"]),
                "p90_hours": _nan(d["p90_hours"]),
                "mean_hours": _nan(d["mean_hours"]),
            }
        )
    return pd.DataFrame(rows, columns=["measure", "n", "median_hours", "p90_hours", "mean_hours"])


def weekly_frame(stats: LadderStats) -> pd.DataFrame:
    """Escalations per ISO week by tier, as ``ladder stats`` counts them.

    One row per week: ``week`` (``2026-W43``), ``start`` (its Monday), ``tier_1`` …
    ``tier_4`` and ``total``; ``frame.attrs["trend"]`` holds the least-squares slope over
    the last ``trend_weeks`` weeks by tier (key 0: all tiers).
    """
    rows = [
        {
            "week": w.week,
            "start": pd.Timestamp(w.start),
            **{f"tier_{t}": w.by_tier.get(t, 0) for t in (1, 2, 3, 4)},
            "total": w.total,
        }
        for w in stats.weekly
    ]
    frame = pd.DataFrame(
        rows, columns=["week", "start", "tier_1", "tier_2", "tier_3", "tier_4", "total"]
    )
    frame.attrs["trend"] = dict(stats.trend)
    return frame


# ----------------------------------------------------------------------------- private


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _night_rows(conn: Connection, model_id: str) -> Sequence[Any]:
    return conn.execute(
        select(nights).where(nights.c.model_id == model_id).order_by(nights.c.night)
    ).all()


def _steps(store: LadderStore, model_id: str) -> list[Step]:
    escalations: list[Escalation] = store.read(
        lambda conn: list_escalations(conn, model_id=model_id)
    )
    return [s for esc in escalations for s in esc.steps]


def _audit_rows(
    conn: Connection, model_id: str, escalations: Sequence[Escalation]
) -> list[audit.AuditEntry]:
    """Audit rows on the model, its escalations and steps, or naming it in the payload:
    the selection ``modelhealth ladder history MODEL`` prints."""
    refs = {
        ref
        for esc in escalations
        for ref in (f"esc-{esc.id}", *(f"step-{s.id}" for s in esc.steps))
    }
    return [
        e
        for e in audit.entries(conn)
        if e.subject == f"model:{model_id}"
        or e.subject in refs
        or e.payload.get("model") == model_id
    ]


def _commits(step: Step, policy: Policy, moment: datetime) -> bool:
    """Whether ``step`` counts against the budget period holding ``moment``.

    Asked of the guardrails themselves, with a unit cost so that a free step that
    counts is told apart from one that does not.
    """
    return committed_spend([replace(step, cost=1.0)], policy, moment) > 0


def _kind(entry: audit.AuditEntry) -> str:
    if entry.action.startswith("step.") and "approvals_required" in entry.payload:
        return "recommendation"  # the row that created the step
    return ACTION_KINDS.get(entry.action, entry.action.split(".", 1)[0])


def _describe_trigger(trigger: Mapping[str, Any]) -> str:
    observed, limit = trigger.get("observed"), trigger.get("limit")
    figures = ""
    if observed is not None:
        figures = f" {observed:.4g}" + (f" vs {limit:.4g}" if limit is not None else "")
    if trigger.get("level") == SUPPORT_LEVEL:
        return f"{trigger.get('name')}{figures} (supports persistence)"
    return f"{trigger.get('name')} {trigger.get('level')}{figures} (tier {trigger.get('tier')})"
