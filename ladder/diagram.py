"""Draw the ladder: rungs with entry criteria, approvers and costs, and where each model
stands (the rung in force, and the step in play). Mermaid for docs and PRs; the texts
a table shows per rung (:func:`rung_cost`, :func:`rung_approvers`, :func:`models_on_rung`)
for the terminal view the CLI lays out. Pure: the caller gathers positions from the store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from ladder.guardrails import money
from ladder.rungs import Rung
from ladder.sla import SlaClocks, tier_windows
from thresholds.schema import describe_hours

__all__ = [
    "ModelMark",
    "ladder_mermaid",
    "models_on_rung",
    "response_windows",
    "rung_approvers",
    "rung_cost",
]


@dataclass(frozen=True)
class ModelMark:
    """Where one model stands: the rung in force and the step in play, if any."""

    model_id: str
    in_force: str | None = None
    step_ref: str | None = None
    step_rung: str | None = None
    step_status: str | None = None

    @property
    def idle(self) -> bool:
        """Neither a rung in force nor a step in play: not on the ladder."""
        return self.in_force is None and self.step_rung is None


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _label(text: str) -> str:
    # Mermaid labels are quoted; quotes and angle brackets must be entities.
    return (
        text.replace("&", "&amp;").replace('"', "#quot;").replace("<", "&lt;").replace(">", "&gt;")
    )


def _node_id(prefix: str, name: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", name)


def rung_approvers(rung: Rung, people: Mapping[str, Sequence[str]]) -> str:
    """Who may approve a step onto ``rung``: its policy and the people holding the roles."""
    if rung.approval.min_approvals == 0:
        return "no approval needed"
    holders = sorted(p for p, roles in people.items() if set(roles) & set(rung.approval.roles))
    who = f" ({', '.join(holders)})" if holders else ""
    return rung.approval.describe() + who


def rung_cost(rung: Rung, currency: str) -> str:
    """``USD 2,400 one-off + 300/month, ceiling 5,000``."""
    monthly = f" + {rung.cost_monthly:,.0f}/month" if rung.cost_monthly else ""
    ceiling = f", ceiling {rung.cost_ceiling:,.0f}" if rung.cost_ceiling is not None else ""
    return f"{money(rung.cost_one_off, currency)} one-off{monthly}{ceiling}"


def response_windows(clocks: SlaClocks) -> list[str]:
    """Each tier's acknowledgement and decision windows, then the reminder cadence."""
    lines = [w.describe() for w in tier_windows(clocks)]
    lines.append(
        f"reminders: re-notified after {describe_hours(clocks.remind_minutes / 60)} "
        f"unacknowledged, next level after {describe_hours(clocks.next_level_minutes / 60)}; "
        "tier 4 notifies everyone at once; tier ≥ 3 pages on-call"
    )
    return lines


def ladder_mermaid(
    rungs: Sequence[Rung],
    marks: Sequence[ModelMark] = (),
    *,
    people: Mapping[str, Sequence[str]] | None = None,
    currency: str = "USD",
    title: str | None = None,
    clocks: SlaClocks | None = None,
) -> str:
    """A Mermaid flowchart of ``rungs`` (cheapest at the top) with model markers and,
    given ``clocks``, a note with each tier's response windows."""
    people = people or {}
    lines = []
    if title:
        lines += ["---", f"title: {_label(title)}", "---"]
    lines.append("flowchart TB")
    for i, rung in enumerate(rungs, start=1):
        text = "<br/>".join(
            [
                f"<b>{i}. {_label(rung.title)}</b> ({rung.id})",
                f"entry: {_label(_short(rung.entry_criteria))}",
                f"cost: {_label(rung_cost(rung, currency))}",
                f"time: {rung.time_days:g} d, evaluation: {rung.evaluation_days} d",
                f"approvers: {_label(rung_approvers(rung, people))}",
            ]
        )
        lines.append(f'    {_node_id("r_", rung.id)}["{text}"]')
    for low, high in pairwise(rungs):
        lines.append(f"    {_node_id('r_', low.id)} --> {_node_id('r_', high.id)}")
    known = {r.id for r in rungs}
    for mark in marks:
        node = _node_id("m_", mark.model_id)
        lines.append(f'    {node}(["{_label(mark.model_id)}"])')
        if mark.in_force in known and mark.in_force is not None:
            lines.append(f"    {node} -. in force .-> {_node_id('r_', mark.in_force)}")
        if mark.step_rung in known and mark.step_rung is not None:
            label = _label(f"{mark.step_ref} {mark.step_status}")
            lines.append(f'    {node} == "{label}" ==> {_node_id("r_", mark.step_rung)}')
        if mark.idle:
            lines.append(f"    {node}:::idle")
        else:
            lines.append(f"    {node}:::model")
    if clocks is not None:
        text = "<br/>".join(
            ["<b>Response windows</b>", *(_label(line) for line in response_windows(clocks))]
        )
        lines.append(f'    windows["{text}"]:::windows')
        lines.append("    classDef windows fill:#fff8e1,stroke:#e69f00")
    lines.append("    classDef model fill:#e8f0fe,stroke:#3367d6")
    lines.append("    classDef idle fill:#f1f3f4,stroke:#9aa0a6")
    return "\n".join(lines) + "\n"


def models_on_rung(rung_id: str, marks: Sequence[ModelMark]) -> list[str]:
    """``model (in force)`` and ``model (step-7 pending)`` for the models on ``rung_id``."""
    here = [f"{m.model_id} (in force)" for m in marks if m.in_force == rung_id]
    here += [
        f"{m.model_id} ({m.step_ref} {m.step_status})" for m in marks if m.step_rung == rung_id
    ]
    return here
