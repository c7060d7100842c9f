"""Guardrails: money and approvals. Pure functions returning a verdict with a reason.

* **Cost** — a step on a rung commits its one-off cost plus its monthly cost for a whole
  budget period. It must stay under the rung's ``cost_ceiling`` and, with what the model
  already committed this period, under the model's budget. A step that would not is
  ``blocked_by_budget``, and the verdict says what would unblock it.
* **Approvals** — a step proceeds when ``min_approvals`` distinct people holding one of
  the rung's roles approve it; the requester may not approve when the policy asks for
  separation of duties; the same person never counts twice; one rejection ends it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from ladder.policy import Policy
from ladder.rungs import Rung
from ladder.state import COMMITTED_STEP_STATUSES, Step

__all__ = [
    "ApprovalVerdict",
    "BudgetVerdict",
    "CostEstimate",
    "check_acknowledge",
    "check_approval",
    "check_budget",
    "committed_spend",
    "eligible_approvers",
    "estimate_cost",
    "money",
    "period_bounds",
    "recheck_at_apply",
]


def money(amount: float, currency: str) -> str:
    """``USD 22,500``."""
    return f"{currency} {amount:,.0f}"


@dataclass(frozen=True)
class CostEstimate:
    """What a step on a rung commits for one budget period."""

    rung: str
    one_off: float
    monthly: float
    months: int
    currency: str

    @property
    def total(self) -> float:
        """One-off plus the monthly cost for the whole period."""
        return self.one_off + self.monthly * self.months

    def describe(self) -> str:
        """``USD 22,500 (18,000 one-off + 1,500/month × 3)``."""
        if not self.monthly:
            return f"{money(self.total, self.currency)} one-off"
        return (
            f"{money(self.total, self.currency)} ({self.one_off:,.0f} one-off + "
            f"{self.monthly:,.0f}/month × {self.months})"
        )


def estimate_cost(rung: Rung, policy: Policy) -> CostEstimate:
    """The cost estimate of a step on ``rung`` under ``policy``'s budget period."""
    return CostEstimate(
        rung=rung.id,
        one_off=rung.cost_one_off,
        monthly=rung.cost_monthly,
        months=policy.budget_months,
        currency=policy.budget.currency,
    )


def period_bounds(now: datetime, period: str) -> tuple[datetime, datetime]:
    """The calendar budget period (UTC) containing ``now``: [start, end)."""
    now = now.astimezone(timezone.utc)
    months = {"month": 1, "quarter": 3, "year": 12}[period]
    first_month = (now.month - 1) // months * months + 1
    start = datetime(now.year, first_month, 1, tzinfo=timezone.utc)
    end_month = first_month + months
    end_year = now.year + (end_month - 1) // 12
    end = datetime(end_year, (end_month - 1) % 12 + 1, 1, tzinfo=timezone.utc)
    return start, end


def committed_spend(steps: Iterable[Step], policy: Policy, now: datetime) -> float:
    """What the model committed in the budget period containing ``now``: every step
    approved in the period, whatever became of it (money spent on a rung that failed
    is still spent)."""
    start, end = period_bounds(now, policy.budget.period)
    return sum(
        s.cost
        for s in steps
        if s.status in COMMITTED_STEP_STATUSES
        and s.direction == "up"
        and s.approved_at is not None
        and start <= s.approved_at < end
    )


@dataclass(frozen=True)
class BudgetVerdict:
    """Whether a step fits the money it may spend, and what would unblock it if not."""

    allowed: bool
    reason: str
    estimate: CostEstimate
    committed: float
    budget: float
    unblock: str | None = None

    @property
    def remaining(self) -> float:
        """Budget left in the period before this step."""
        return max(self.budget - self.committed, 0.0)


def check_budget(rung: Rung, policy: Policy, steps: Iterable[Step], now: datetime) -> BudgetVerdict:
    """Judge a step on ``rung`` against its ceiling and the model's budget at ``now``."""
    estimate = estimate_cost(rung, policy)
    cost = estimate.total
    currency = policy.budget.currency
    committed = committed_spend(steps, policy, now)
    amount = policy.budget.amount
    reopen = (
        f"then record `modelhealth ladder event add budget_change --model {policy.model_id}` "
        "to reopen the decision"
    )
    if rung.cost_ceiling is not None and cost > rung.cost_ceiling:
        return BudgetVerdict(
            False,
            f"{rung.id} would cost {estimate.describe()}, over its ceiling of "
            f"{money(rung.cost_ceiling, currency)}",
            estimate,
            committed,
            amount,
            f"raise ladder.rungs.{rung.id}.cost_ceiling to at least {money(cost, currency)} "
            f"for {policy.model_id} (or lower the estimate), {reopen}",
        )
    if committed + cost > amount:
        start, end = period_bounds(now, policy.budget.period)
        options = [
            f"raise ladder.budget.amount for {policy.model_id} to at least "
            f"{money(committed + cost, currency)}, {reopen}"
        ]
        if cost <= amount:
            options.append(f"wait for the next {policy.budget.period} (from {end.date()})")
        return BudgetVerdict(
            False,
            f"{rung.id} would cost {estimate.describe()}; with {money(committed, currency)} "
            f"already committed this {policy.budget.period} (since {start.date()}) that exceeds "
            f"the budget of {money(amount, currency)}",
            estimate,
            committed,
            amount,
            "; or ".join(options),
        )
    return BudgetVerdict(
        True,
        f"{rung.id} costs {estimate.describe()}; {money(amount - committed - cost, currency)} "
        f"of the {policy.budget.period}'s {money(amount, currency)} budget left after it",
        estimate,
        committed,
        amount,
    )


def _roles_accepted(rung: Rung, step: Step) -> tuple[str, ...]:
    # Once a decision has been escalated, the people it was escalated to may decide it too.
    roles = list(rung.approval.roles)
    if step.escalated_at is not None:
        roles += [r for r in rung.approval.escalate_to if r not in roles]
    return tuple(roles)


def eligible_approvers(step: Step, rung: Rung, policy: Policy) -> tuple[str, ...]:
    """People who could still approve ``step`` now: they hold an accepted role, have
    not decided yet, and are not the requester when separation of duties applies."""
    decided = {a.person for a in step.approvals}
    return tuple(
        p
        for p in policy.holders(_roles_accepted(rung, step))
        if p not in decided and (rung.approval.requester_may_approve or p != step.requested_by)
    )


@dataclass(frozen=True)
class ApprovalVerdict:
    """Whether a person's decision on a step counts, and whether it settles the step."""

    allowed: bool
    reason: str
    completes: bool = False
    roles: tuple[str, ...] = ()


def check_approval(
    step: Step,
    rung: Rung,
    policy: Policy,
    person: str,
    decision: Literal["approve", "reject"],
) -> ApprovalVerdict:
    """Judge ``person``'s ``decision`` on ``step`` under ``rung``'s approval policy."""
    subject = f"step-{step.id} ({step.rung}, {step.direction})"
    if step.status == "blocked_by_budget":
        return ApprovalVerdict(
            False,
            f"{subject} is blocked by budget; there is nothing to decide until it is unblocked",
        )
    if step.status != "pending":
        when = ""
        if step.status == "approved" and step.approved_at is not None:
            who = ", ".join(step.approvers)
            when = f" on {step.approved_at:%Y-%m-%d %H:%M} UTC by {who}"
        return ApprovalVerdict(False, f"{subject} is already {step.status}{when}")
    held = policy.roles_of(person)
    if not held:
        return ApprovalVerdict(
            False, f"{person!r} is not among the register's people, so holds no role"
        )
    accepted = _roles_accepted(rung, step)
    usable = tuple(sorted(held & set(accepted)))
    if not usable:
        return ApprovalVerdict(
            False,
            f"{person} holds {', '.join(sorted(held))}; deciding {rung.id} needs one of "
            f"{', '.join(accepted) or '(no role)'}",
        )
    earlier = [a for a in step.approvals if a.person == person]
    if earlier:
        return ApprovalVerdict(
            False,
            f"{person} already {earlier[0].decision}d {subject} on "
            f"{earlier[0].at:%Y-%m-%d %H:%M} UTC; a person counts once",
        )
    if decision == "reject":
        return ApprovalVerdict(True, f"rejected by {person} ({', '.join(usable)})", True, usable)
    if not rung.approval.requester_may_approve and person == step.requested_by:
        return ApprovalVerdict(
            False,
            f"separation of duties: {person} requested {subject} and may not approve it; "
            f"the {rung.id} policy needs {rung.approval.describe()}",
        )
    count = len(step.approvers) + 1
    needed = max(step.approvals_required, 1)
    completes = count >= needed
    tail = "approved" if completes else f"{needed - count} more needed"
    return ApprovalVerdict(
        True,
        f"approval {count} of {needed} by {person} ({', '.join(usable)}): {tail}",
        completes,
        usable,
    )


def check_acknowledge(step: Step, rung: Rung, policy: Policy, person: str) -> ApprovalVerdict:
    """Whether ``person`` may acknowledge ``step``: it is waiting, and they own the model
    or hold a role that may decide it (or that it escalates to)."""
    subject = f"step-{step.id}"
    if step.status not in ("pending", "blocked_by_budget"):
        return ApprovalVerdict(
            False, f"{subject} is {step.status}; only a waiting step is acknowledged"
        )
    accepted = set(rung.approval.roles) | set(rung.approval.escalate_to)
    held = tuple(sorted(policy.roles_of(person) & accepted))
    if person != policy.owner and not held:
        return ApprovalVerdict(
            False,
            f"{person} neither owns {step.model_id} nor holds "
            f"{', '.join(sorted(accepted))}; cannot acknowledge {subject}",
        )
    return ApprovalVerdict(True, f"{person} may acknowledge {subject}", roles=held)


def recheck_at_apply(
    step: Step, snapshot: Policy, current: Policy, steps: Iterable[Step]
) -> BudgetVerdict:
    """Re-judge an approved step's money when it is about to be applied.

    Approval committed the step's cost against the budget period it was approved in, but
    money can be cut between approval and application. The stricter of the escalation's
    snapshot and the register now in force counts (a caller's register can tighten the
    guardrails, never loosen them): the rung's ceiling, and the budget with what the
    model's *other* steps committed in that period.
    """
    rung_now, rung_then = current.rung(step.rung), snapshot.rung(step.rung)
    ceilings = [
        r.cost_ceiling
        for r in (rung_now, rung_then)
        if r is not None and r.cost_ceiling is not None
    ]
    budget = min(snapshot.budget.amount, current.budget.amount)
    currency = current.budget.currency
    approved = step.approved_at or step.requested_at
    others = committed_spend((s for s in steps if s.id != step.id), current, approved)
    estimate = CostEstimate(step.rung, step.cost, 0.0, 0, currency)
    ref = f"step-{step.id} ({step.rung})"
    reject = f"or reject it: `modelhealth ladder reject step-{step.id} --reason …`"
    if current.rung(step.rung) is None:
        return BudgetVerdict(
            False,
            f"{ref} is no longer an allowed rung for {step.model_id} in the register",
            estimate,
            others,
            budget,
            f"allow {step.rung} again, {reject}",
        )
    if ceilings and step.cost > min(ceilings):
        return BudgetVerdict(
            False,
            f"{ref} was approved at {money(step.cost, currency)} but the {step.rung} ceiling "
            f"is now {money(min(ceilings), currency)}",
            estimate,
            others,
            budget,
            f"raise ladder.rungs.{step.rung}.cost_ceiling for {step.model_id}, {reject}",
        )
    if others + step.cost > budget:
        start, _end = period_bounds(approved, current.budget.period)
        return BudgetVerdict(
            False,
            f"{ref} was approved at {money(step.cost, currency)} but the "
            f"{current.budget.period}'s budget for {step.model_id} is now "
            f"{money(budget, currency)} with {money(others, currency)} committed by other "
            f"steps since {start.date()}: applying it would overspend by "
            f"{money(others + step.cost - budget, currency)}",
            estimate,
            others,
            budget,
            f"raise ladder.budget.amount for {step.model_id} to at least "
            f"{money(others + step.cost, currency)}, {reject}",
        )
    return BudgetVerdict(
        True,
        f"{ref} at {money(step.cost, currency)} still fits the budget of {money(budget, currency)}",
        estimate,
        others,
        budget,
    )
