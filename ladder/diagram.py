"""Draw the ladder: rungs with entry criteria, approvers and costs, and where each model
stands (the rung in force, and the step in play). Mermaid for docs and PRs, a rich table
for terminals. Pure: the caller gathers positions from the store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

from rich.table import Table

from ladder.guardrails import money
from ladder.rungs import Rung

__all__ = ["ModelMark", "ladder_mermaid", "ladder_table"]


@dataclass(frozen=True)
class ModelMark:
    """Where one model stands: the rung in force and the step in play, if any."""

    model_id: str
    in_force: str | None = None
    step_ref: str | None = None
    step_rung: str | None = None
    step_status: str | None = None


def _short(text: str, limit: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _label(text: str) -> str:
    # Mermaid labels are quoted; quotes and angle brackets must be entities.
    return (
        text.replace("&", "&amp;").replace('"', "#quot;").replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def _node_id(prefix: str, name: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", name)


def _approvers(rung: Rung, people: Mapping[str, Sequence[str]]) -> str:
    if rung.approval.min_approvals == 0:
        return "no approval needed"
    holders = sorted(p for p, roles in people.items() if set(roles) & set(rung.approval.roles))
    who = f" ({', '.join(holders)})" if holders else ""
    return rung.approval.describe() + who


def _cost(rung: Rung, currency: str) -> str:
    monthly = f" + {rung.cost_monthly:,.0f}/month" if rung.cost_monthly else ""
    ceiling = f", ceiling {rung.cost_ceiling:,.0f}" if rung.cost_ceiling is not None else ""
    return f"{money(rung.cost_one_off, currency)} one-off{monthly}{ceiling}"


def ladder_mermaid(
    rungs: Sequence[Rung],
    marks: Sequence[ModelMark] = (),
    *,
    people: Mapping[str, Sequence[str]] | None = None,
    currency: str = "USD",
    title: str | None = None,
) -> str:
    """A Mermaid flowchart of ``rungs`` (cheapest at the top) with model markers."""
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
                f"cost: {_label(_cost(rung, currency))}",
                f"time: {rung.time_days:g} d, evaluation: {rung.evaluation_days} d",
                f"approvers: {_label(_approvers(rung, people))}",
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
        if mark.in_force is None and mark.step_rung is None:
            lines.append(f"    {node}:::idle")
        else:
            lines.append(f"    {node}:::model")
    lines.append("    classDef model fill:#e8f0fe,stroke:#3367d6")
    lines.append("    classDef idle fill:#f1f3f4,stroke:#9aa0a6")
    return "\n".join(lines) + "\n"


def ladder_table(
    rungs: Sequence[Rung],
    marks: Sequence[ModelMark] = (),
    *,
    people: Mapping[str, Sequence[str]] | None = None,
    currency: str = "USD",
    title: str = "Escalation ladder",
) -> Table:
    """The ladder as a rich table, one row per rung, with the models standing on it."""
    people = people or {}
    table = Table(title=title, show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("Rung", style="bold")
    table.add_column("Entry criteria")
    table.add_column("Cost")
    table.add_column("Time / eval.")
    table.add_column("Approvers")
    table.add_column("Models")
    for i, rung in enumerate(rungs, start=1):
        here = [f"{m.model_id} (in force)" for m in marks if m.in_force == rung.id]
        here += [
            f"{m.model_id} ({m.step_ref} {m.step_status})" for m in marks if m.step_rung == rung.id
        ]
        table.add_row(
            str(i), rung.id, rung.entry_criteria, _cost(rung, currency),
            f"{rung.time_days:g} d / {rung.evaluation_days} d", _approvers(rung, people),
            "\n".join(here),
        )
    idle = [m.model_id for m in marks if m.in_force is None and m.step_rung is None]
    if idle:
        table.caption = f"Not on the ladder: {', '.join(idle)}"
    return table
