"""The rungs of the escalation ladder: shipped defaults merged with a model's overrides.

The defaults are data (``ladder/defaults/rungs.yaml``), not code, so a reader can see and
a team can fork the whole ladder in one file. A register overrides any rung per model
under ``ladder.rungs.<rung id>`` (:class:`thresholds.schema.RungSettings`) and restricts
the ladder with ``ladder.allowed_rungs``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from thresholds.schema import ModelEntry, RungSettings
from thresholds.vocabulary import RUNGS

__all__ = [
    "ApprovalPolicy",
    "Rung",
    "default_ladder",
    "effective_rungs",
    "load_default_rungs",
]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ApprovalPolicy(_Frozen):
    """Who must approve a step on a rung.

    An approval counts when the approver holds any of ``roles``; ``min_approvals``
    distinct people are needed; when ``requester_may_approve`` is false the requester's
    own approval is refused (separation of duties). ``escalate_to`` names the roles an
    overdue decision is escalated to.
    """

    roles: tuple[str, ...]
    min_approvals: Annotated[int, Field(ge=0, le=10)]
    requester_may_approve: bool
    escalate_to: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for people: ``2 approvals from model_owner or ml_lead, not the requester``."""
        if self.min_approvals == 0:
            return "no approval needed"
        noun = "approval" if self.min_approvals == 1 else "approvals"
        who = " or ".join(self.roles) if self.roles else "(no role named)"
        tail = "" if self.requester_may_approve else ", not the requester"
        return f"{self.min_approvals} {noun} from {who}{tail}"


class Rung(_Frozen):
    """One rung as it applies to one model: cost, time, evaluation, approvals, sunset."""

    id: str
    title: str
    entry_criteria: str
    cost_one_off: Annotated[float, Field(ge=0.0)]
    cost_monthly: Annotated[float, Field(ge=0.0)]
    cost_ceiling: Annotated[float, Field(ge=0.0)] | None = None
    time_days: Annotated[float, Field(ge=0.0)]
    evaluation_days: Annotated[int, Field(ge=1)]
    approval: ApprovalPolicy
    sunset_on: tuple[str, ...] = ()
    sunset_criteria: str = ""

    @property
    def index(self) -> int:
        """Position on the ladder, 0 = cheapest."""
        return RUNGS.index(self.id)

    def period_cost(self, months: int) -> float:
        """What one step on this rung commits for a budget period of ``months`` months:
        the one-off cost plus the monthly cost for the whole period (conservative, so a
        step approved late in a period is not under-counted)."""
        return self.cost_one_off + self.cost_monthly * months


class _ApprovalDefault(_Frozen):
    roles: list[str] | None = None
    extra_roles: list[str] = Field(default_factory=list)
    min_approvals: Annotated[int, Field(ge=0, le=10)]
    requester_may_approve: bool
    escalate_to: list[str] = Field(default_factory=list)


class _SunsetDefault(_Frozen):
    on_events: list[str] = Field(default_factory=list)
    criteria: str = ""


class _RungDefault(_Frozen):
    title: str
    entry_criteria: str
    cost_one_off: Annotated[float, Field(ge=0.0)]
    cost_monthly: Annotated[float, Field(ge=0.0)]
    cost_ceiling: Annotated[float, Field(ge=0.0)] | None = None
    time_days: Annotated[float, Field(ge=0.0)]
    evaluation_days: Annotated[int, Field(ge=1)]
    approval: _ApprovalDefault
    sunset: _SunsetDefault = Field(default_factory=_SunsetDefault)


@cache
def load_default_rungs() -> Mapping[str, _RungDefault]:
    """The shipped rung defaults, validated; raises if the packaged file is broken."""
    text = resources.files("ladder").joinpath("defaults/rungs.yaml").read_text("utf-8")
    raw: Any = yaml.safe_load(text)
    if not isinstance(raw, dict) or tuple(raw) != RUNGS:
        raise ValueError(
            f"ladder/defaults/rungs.yaml must define exactly the rungs {RUNGS} in order"
        )
    return {rung: _RungDefault.model_validate(raw[rung]) for rung in RUNGS}


def _merge(
    rung: str, base: _RungDefault, approver_roles: list[str], override: RungSettings | None
) -> Rung:
    roles = list(base.approval.roles if base.approval.roles is not None else approver_roles)
    roles += [r for r in base.approval.extra_roles if r not in roles]
    policy = ApprovalPolicy(
        roles=tuple(roles),
        min_approvals=base.approval.min_approvals,
        requester_may_approve=base.approval.requester_may_approve,
        escalate_to=tuple(base.approval.escalate_to),
    )
    fields: dict[str, Any] = {
        "cost_one_off": base.cost_one_off,
        "cost_monthly": base.cost_monthly,
        "cost_ceiling": base.cost_ceiling,
        "time_days": base.time_days,
        "evaluation_days": base.evaluation_days,
    }
    if override is not None:
        for name in fields:
            value = getattr(override, name)
            if value is not None:
                fields[name] = value
        if override.approval is not None:
            a = override.approval
            policy = ApprovalPolicy(
                roles=tuple(a.roles) if a.roles is not None else policy.roles,
                min_approvals=a.min_approvals
                if a.min_approvals is not None
                else policy.min_approvals,
                requester_may_approve=a.requester_may_approve
                if a.requester_may_approve is not None
                else policy.requester_may_approve,
                escalate_to=tuple(a.escalate_to)
                if a.escalate_to is not None
                else policy.escalate_to,
            )
    if rung != RUNGS[0] and policy.min_approvals < 1:
        # Guardrail, not a default: above the first rung a person must always say yes, so a
        # register asking for zero approvals gets one.
        policy = policy.model_copy(update={"min_approvals": 1})
    return Rung(
        id=rung,
        title=base.title,
        entry_criteria=base.entry_criteria,
        approval=policy,
        sunset_on=tuple(base.sunset.on_events),
        sunset_criteria=base.sunset.criteria,
        **fields,
    )


def default_ladder(approver_roles: tuple[str, ...] = ("model_owner",)) -> tuple[Rung, ...]:
    """All six rungs with shipped defaults, for a model whose approver roles are given."""
    defaults = load_default_rungs()
    return tuple(_merge(r, defaults[r], list(approver_roles), None) for r in RUNGS)


def effective_rungs(entry: ModelEntry) -> tuple[Rung, ...]:
    """The rungs this model may climb, in ladder order, with its register overrides applied.

    Rungs missing from ``entry.ladder.allowed_rungs`` are left out; overrides replace a
    default field by field (an override that sets only ``cost_one_off`` keeps the shipped
    monthly cost, ceiling and approval policy). Every rung above ``prompt_optimization``
    needs at least one approval, whatever the register says.
    """
    defaults = load_default_rungs()
    allowed = set(entry.ladder.allowed_rungs)
    overrides: Mapping[str, RungSettings] = {str(k): v for k, v in entry.ladder.rungs.items()}
    return tuple(
        _merge(r, defaults[r], list(entry.approver_roles), overrides.get(r))
        for r in RUNGS
        if r in allowed
    )
