"""Which rung comes next, and the handoff packet that asks people to decide it. Pure.

Next rung = the response matrix's rung for the failure mode, raised above every rung
already tried for that mode without recovery (and above a rung still in force for it: the
mode came back with it in place), skipping rungs the model may not use and
rungs excluded in this escalation (rejected ones), and never a rung that is still in
play (pending, approved-but-not-applied, under evaluation or blocked): the ladder does
not loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ladder.guardrails import BudgetVerdict, CostEstimate, money
from ladder.matrix import BLIND, MatrixEntry
from ladder.policy import Policy
from ladder.rungs import Rung
from ladder.sla import TIER_NAMES
from ladder.state import Direction, EscalationKind, Night, Step, rung_index
from thresholds.vocabulary import RUNGS

__all__ = [
    "HandoffPacket",
    "ModeChoice",
    "RungChoice",
    "failure_mode_for",
    "handoff_packet",
    "next_rung",
    "tried_rungs",
]


@dataclass(frozen=True)
class ModeChoice:
    """The failure mode a decision is about, and how it was determined."""

    mode: str | None
    how: str


def failure_mode_for(
    night: Night, fallback: str | None = None, *, earlier: Sequence[Night] = ()
) -> ModeChoice:
    """The night's dominant failure mode; when the monitor named none, a mode inferred
    from which checks fired (latency → ``latency_regression``, error rate or throughput
    → ``availability``, calibration or confidence → ``confidence_miscalibration``),
    else ``fallback``. A night with a ``blind`` trigger (no rows, or quality without
    labels) is about ``blind`` whatever else was named: sight comes first.

    A night without a trigger of its own that acts by supporting an earlier breach (the
    persistence rule's ``earlier`` firing nights) takes the dominant mode of the latest of
    those nights that had one: that night's rows were classified as failing, tonight's
    were not."""
    blind = [t.name for t in night.firing if t.level == "blind"]
    if blind:
        # Missing context fails safe: restore sight before acting on what was seen.
        return ModeChoice(BLIND, f"blind ({', '.join(blind)}): the monitor cannot see")
    if night.dominant_mode:
        return ModeChoice(night.dominant_mode, "dominant failure mode")
    if not night.triggered:
        for other in reversed(earlier):
            if other.night < night.night and other.triggered and other.dominant_mode:
                return ModeChoice(other.dominant_mode, f"dominant failure mode on {other.night}")
    # A night that acts by support alone infers from the checks that support.
    names = {t.name for t in (night.firing or night.support)}
    inferred: list[tuple[str, str]] = []
    for name in sorted(names):
        if name.startswith("latency_ms"):
            inferred.append(("latency_regression", name))
        elif name.startswith("error_rate") or name == "throughput":
            inferred.append(("availability", name))
        elif name.startswith(("calibration", "confidence")):
            inferred.append(("confidence_miscalibration", name))
    if inferred:
        mode, source = inferred[0]
        return ModeChoice(mode, f"inferred from {source} (no failure mode classified)")
    if fallback:
        return ModeChoice(fallback, "failure mode of the open escalation")
    return ModeChoice(None, "no failure mode classified")


@dataclass(frozen=True)
class RungChoice:
    """The rung to recommend (``None``: operational, or nothing left) and why."""

    rung: Rung | None
    reason: str
    entry: MatrixEntry | None = None
    exhausted: bool = False

    @property
    def operational(self) -> bool:
        """The mode is answered by mitigation, not by a ladder step."""
        return self.rung is None and not self.exhausted


def tried_rungs(steps: Iterable[Step], mode: str | None) -> tuple[Step, ...]:
    """Steps climbed for ``mode`` that were applied and did not recover the model."""
    return tuple(
        s for s in steps if s.direction == "up" and s.status == "failed" and s.mode == mode
    )


def next_rung(
    mode: str | None,
    policy: Policy,
    steps: Sequence[Step],
    *,
    excluded: Iterable[str] = (),
) -> RungChoice:
    """The next rung for ``mode`` given every step the model has had."""
    entry = policy.matrix.get(mode) if mode is not None else None
    if entry is not None and entry.rung is None:
        return RungChoice(
            None,
            f"{mode} is not a ladder step: {entry.mitigation} (owner: {entry.owner})",
            entry,
        )
    notes: list[str] = []
    if entry is not None and entry.rung is not None:
        floor = rung_index(entry.rung)
        notes.append(f"response matrix: {mode} → {entry.rung}")
    else:
        floor = 0
        what = f"no matrix row for {mode}" if mode else "no failure mode classified"
        notes.append(f"{what}: starting at the cheapest allowed rung")
    failed = tried_rungs(steps, mode)
    if failed:
        top = max(failed, key=lambda s: rung_index(s.rung))
        if rung_index(top.rung) >= floor:
            floor = rung_index(top.rung) + 1
            tried = ", ".join(sorted({s.rung for s in failed}, key=rung_index))
            notes.append(f"raised above {tried} (tried for {mode} without recovery)")
    # A rung still in force for this mode is in place while the mode is back: applying it
    # again would change nothing, so it counts as not recovering the model any more.
    held = [
        s
        for s in steps
        if s.direction == "up"
        and s.status == "succeeded"
        and s.mode == mode
        and rung_index(s.rung) >= floor
    ]
    if held:
        top = max(held, key=lambda s: rung_index(s.rung))
        floor = rung_index(top.rung) + 1
        notes.append(f"raised above {top.rung} (in force, yet {mode} is back)")
    in_play = {s.rung for s in steps if s.active}
    excluded_set = set(excluded)
    for rung in policy.rungs:
        if rung.index < floor:
            continue
        if rung.id in in_play:
            notes.append(f"{rung.id} skipped: already in play")
            continue
        if rung.id in excluded_set:
            notes.append(f"{rung.id} skipped: rejected in this escalation")
            continue
        if rung.index > floor:
            skipped = [r for r in RUNGS[floor : rung.index] if policy.rung(r) is None]
            if skipped:
                notes.append(f"{', '.join(skipped)} not allowed for {policy.model_id}")
        return RungChoice(rung, "; ".join(notes), entry)
    top_name = RUNGS[min(floor, len(RUNGS) - 1)]
    notes.append(f"no allowed rung left at or above {top_name}")
    return RungChoice(None, "; ".join(notes), entry, exhausted=True)


class TriedRung(BaseModel):
    """A rung the model climbed before, and how it ended."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    step: str
    rung: str
    status: str
    mode: str | None
    requested_at: datetime
    closed_at: datetime | None = None


class HandoffPacket(BaseModel):
    """Everything a person needs to decide a step without opening another tool."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    summary: str
    model_id: str
    escalation_kind: str
    direction: str
    rung: str | None
    rung_title: str = ""
    tier: int
    tier_name: str
    rule: str
    rule_reason: str
    evidence: list[str] = Field(default_factory=list)
    failure_mode: str | None = None
    failure_mode_how: str = ""
    failure_modes: dict[str, float] = Field(default_factory=dict)
    mitigation: str = ""
    long_term_fix: str = ""
    resolution_owner: str = ""
    recommendation_reason: str = ""
    rungs_tried: list[TriedRung] = Field(default_factory=list)
    entry_criteria: str = ""
    evaluation_days: int | None = None
    cost_total: float | None = None
    cost_one_off: float | None = None
    cost_monthly: float | None = None
    cost_months: int | None = None
    currency: str = "USD"
    cost_text: str = ""
    budget: str = ""
    unblock: str | None = None
    approval_policy: str = ""
    approvals_required: int = 0
    approvers: list[str] = Field(default_factory=list)
    requested_by: str = ""
    ack_by: datetime | None = None
    decide_by: datetime | None = None


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _summary(
    *,
    model_id: str,
    kind: EscalationKind,
    direction: Direction,
    rung: Rung | None,
    mode: str | None,
    tier: int,
    rule_short: str,
    estimate: CostEstimate | None,
    budget: BudgetVerdict | None,
    approvals_required: int,
    approval_text: str,
    decide_by: datetime | None,
    entry: MatrixEntry | None,
    headline: str,
) -> str:
    what = mode.replace("_", " ") if mode else "unclassified failures"
    why = f"tier {tier} {TIER_NAMES[min(max(tier, 1), 4)]}, {rule_short}"
    cost = f" for {estimate.describe()}" if estimate is not None else ""
    if kind == "mitigation" or rung is None:
        fix = entry.mitigation if entry is not None else "investigate"
        owner = entry.owner if entry is not None else "model owner"
        return f"{model_id} has {what} ({why}): not a ladder step — {fix} (owner: {owner})."
    if direction == "review":
        return (
            f"{model_id}: {headline} reopened the cost-benefit decision for {rung.id}: approve "
            f"to keep it, reject to retire it, by {_when(decide_by)}."
        )
    if direction == "down":
        saving = money(rung.cost_monthly, estimate.currency if estimate else "USD")
        return (
            f"{model_id} has stayed healthy with {rung.id} in force ({headline}): step down to "
            f"save {saving}/month, needing {approval_text} by {_when(decide_by)}."
        )
    if budget is not None and not budget.allowed:
        return (
            f"{model_id} has {what} ({why}): {rung.id} is recommended{cost} "
            f"but blocked by budget — {budget.unblock}."
        )
    if approvals_required == 0:
        return (
            f"{model_id} has {what} ({why}): apply {rung.id}{cost}; no "
            f"approval needed, then a {rung.evaluation_days}-day evaluation."
        )
    return (
        f"{model_id} has {what} ({why}): recommend {rung.id}{cost}, "
        f"needing {approval_text} by {_when(decide_by)}."
    )


def handoff_packet(
    *,
    policy: Policy,
    kind: EscalationKind,
    direction: Direction,
    rung: Rung | None,
    tier: int,
    rule: str,
    rule_reason: str,
    rule_short: str,
    evidence: Sequence[str] = (),
    mode: ModeChoice | None = None,
    night: Night | None = None,
    steps: Sequence[Step] = (),
    choice_reason: str = "",
    estimate: CostEstimate | None = None,
    budget: BudgetVerdict | None = None,
    approvals_required: int = 0,
    approvers: Sequence[str] = (),
    requested_by: str = "",
    ack_by: datetime | None = None,
    decide_by: datetime | None = None,
    headline: str = "",
) -> HandoffPacket:
    """Build the packet handed to approvers: a one-sentence summary, the rule and its
    evidence, the failure-mode breakdown, rungs tried so far, the cost and budget, who
    may approve and by when."""
    mode_id = mode.mode if mode is not None else None
    entry = policy.matrix.get(mode_id) if mode_id is not None else None
    approval_text = rung.approval.describe() if rung is not None else "no approval"
    if rung is not None and direction != "up":
        noun = "approval" if approvals_required == 1 else "approvals"
        approval_text = f"{approvals_required} {noun} from {' or '.join(rung.approval.roles)}"
    return HandoffPacket(
        summary=_summary(
            model_id=policy.model_id,
            kind=kind,
            direction=direction,
            rung=rung,
            mode=mode_id,
            tier=tier,
            rule_short=rule_short,
            estimate=estimate,
            budget=budget,
            approvals_required=approvals_required,
            approval_text=approval_text,
            decide_by=decide_by,
            entry=entry,
            headline=headline,
        ),
        model_id=policy.model_id,
        escalation_kind=kind,
        direction=direction,
        rung=rung.id if rung is not None else None,
        rung_title=rung.title if rung is not None else "",
        tier=tier,
        tier_name=TIER_NAMES[min(max(tier, 1), 4)],
        rule=rule,
        rule_reason=rule_reason,
        evidence=list(evidence),
        failure_mode=mode_id,
        failure_mode_how=mode.how if mode is not None else "",
        failure_modes=dict(night.failure_modes) if night is not None else {},
        mitigation=entry.mitigation if entry is not None else "",
        long_term_fix=entry.long_term_fix if entry is not None else "",
        resolution_owner=entry.owner if entry is not None else "",
        recommendation_reason=choice_reason,
        rungs_tried=[
            TriedRung(
                step=f"step-{s.id}",
                rung=s.rung,
                status=s.status,
                mode=s.mode,
                requested_at=s.requested_at,
                closed_at=s.closed_at,
            )
            for s in steps
            if s.direction == "up" and s.status not in ("pending",)
        ],
        entry_criteria=rung.entry_criteria if rung is not None else "",
        evaluation_days=rung.evaluation_days if rung is not None else None,
        cost_total=estimate.total if estimate is not None else None,
        cost_one_off=estimate.one_off if estimate is not None else None,
        cost_monthly=estimate.monthly if estimate is not None else None,
        cost_months=estimate.months if estimate is not None else None,
        currency=policy.budget.currency,
        cost_text=estimate.describe() if estimate is not None else "",
        budget=budget.reason if budget is not None else "",
        unblock=budget.unblock if budget is not None else None,
        approval_policy=approval_text,
        approvals_required=approvals_required,
        approvers=list(approvers),
        requested_by=requested_by,
        ack_by=ack_by,
        decide_by=decide_by,
    )
