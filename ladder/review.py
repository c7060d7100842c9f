"""The review cycle: what reopens the cost-benefit decision for a rung in force. Pure.

* **Events** recorded by people (``modelhealth ladder event add``): a foundation-model
  update, a regulatory change, a price or budget change, a model deprecation.
* **Drift alerts**: tonight's report shows data, prediction or confidence drift.
* **Scheduled reviews**: every ``review_every_days`` after the rung went into force or
  was last reviewed.
* **Sunset**: a rung whose sunset criteria name an event kind is retired when that event
  arrives (a fine-tune retires when its base model is deprecated).
* **Step-down**: sustained health for ``step_down_after_days`` with a rung in force that
  costs money every month recommends stepping down to save it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from ladder.guardrails import money
from ladder.policy import Policy
from ladder.rules import counted_triggers
from ladder.rungs import Rung, default_ladder
from ladder.state import Event, LadderState, Night, Step

__all__ = [
    "EVENT_KINDS",
    "Sunset",
    "describe_events",
    "drift_alert",
    "in_force_since",
    "review_reason",
    "rung_for",
    "step_down_reason",
    "sunsets",
]

#: External events that reopen a cost-benefit decision.
EVENT_KINDS: Final[tuple[str, ...]] = (
    "foundation_model_update",
    "regulatory_change",
    "price_change",
    "budget_change",
    "model_deprecation",
)


def rung_for(policy: Policy, rung_id: str) -> Rung:
    """The rung as the policy defines it, or the shipped default when the register no
    longer allows it (a rung in force can outlive its place in ``allowed_rungs``)."""
    found = policy.rung(rung_id)
    if found is not None:
        return found
    roles = policy.rungs[0].approval.roles if policy.rungs else ("model_owner",)
    return next(r for r in default_ladder(roles) if r.id == rung_id)


def describe_events(events: Sequence[Event]) -> str:
    """``event price_change #3 on 2025-04-02 ("vendor cut prices 40 %")``, joined."""
    parts = []
    for e in events:
        note = f' ("{e.note}")' if e.note else ""
        parts.append(f"event {e.kind} #{e.id} on {e.occurred_at.date()}{note}")
    return "; ".join(parts)


@dataclass(frozen=True)
class Sunset:
    """A rung in force to retire because an event met its sunset criteria."""

    step: Step
    event: Event
    reason: str


def sunsets(state: LadderState, policy: Policy) -> tuple[Sunset, ...]:
    """Rungs in force that tonight's pending events retire."""
    out: list[Sunset] = []
    live = [s for s in state.steps if s.direction == "up" and s.status == "succeeded"]
    for step in live:
        rung = rung_for(policy, step.rung)
        for ev in state.events:
            if ev.kind in rung.sunset_on:
                out.append(
                    Sunset(
                        step,
                        ev,
                        f"{step.rung} (step-{step.id}) retired by its sunset criteria: "
                        f"{describe_events([ev])}. {rung.sunset_criteria}".strip(),
                    )
                )
                break
    return tuple(out)


def in_force_since(state: LadderState) -> datetime | None:
    """When the rung in force was last confirmed: put in force, reviewed, or stepped-down
    decided (whichever is latest)."""
    step = state.in_force()
    if step is None:
        return None
    since = step.closed_at or step.applied_at or step.requested_at
    if state.last_review_at is not None and state.last_review_at > since:
        since = state.last_review_at
    return since


def drift_alert(night: Night) -> str | None:
    """A description of tonight's drift breaches or warnings, if any."""
    drifted = [t for t in night.triggers if t.name.startswith("drift.")]
    if not drifted:
        return None
    names = ", ".join(sorted({f"{t.name} ({t.level})" for t in drifted}))
    return f"drift alert on {night.night}: {names}"


def review_reason(state: LadderState, policy: Policy, tonight: Night, now: datetime) -> str | None:
    """Why the cost-benefit decision for the rung in force is reopened tonight, if it is:
    a pending event, a drift alert, or a scheduled review falling due."""
    step = state.in_force()
    if step is None:
        return None
    since = in_force_since(state)
    where = f"{step.rung} (in force since {since:%Y-%m-%d})" if since else step.rung
    if state.events:
        return f"{describe_events(state.events)} reopened the decision for {where}"
    alert = drift_alert(tonight)
    if alert is not None:
        return f"{alert} reopened the decision for {where}"
    every = policy.rules.review_every_days
    if since is not None and (now - since).days >= every:
        return f"scheduled review (every {every} days) of {where}"
    return None


def step_down_reason(
    state: LadderState, policy: Policy, nights: Sequence[Night], now: datetime
) -> str | None:
    """Why stepping down from the rung in force is recommended tonight, if it is: no
    trigger counted for ``step_down_after_days`` and the rung costs money every month."""
    step = state.in_force()
    since = in_force_since(state)
    if step is None or since is None:
        return None
    rung = rung_for(policy, step.rung)
    if rung.cost_monthly <= 0:
        return None
    days = policy.rules.step_down_after_days
    if (now - since).days < days:
        return None
    watched = [n for n in nights if n.night >= since.date()]
    if not watched:
        return None
    if any(counted_triggers(n, policy.rules.co_fire) for n in watched):
        return None
    return (
        f"no trigger on any of {len(watched)} nights in {(now - since).days} days since "
        f"{since:%Y-%m-%d} with {rung.id} in force (step-down after {days} days): stepping "
        f"down saves {money(rung.cost_monthly, policy.budget.currency)}/month"
    )
