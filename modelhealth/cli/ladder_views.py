"""How ``modelhealth ladder …`` shows the ladder in a terminal: rich tables and the step
packet.

The ``ladder`` package computes what there is to show (states, recommendations, audit
entries, the response matrix, statistics, the rungs and where models stand) and stays
free of rich; this module lays it out. Everything that came from people or the register
(ids, reasons, summaries, annotations) is printed as plain text, never read as markup.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ladder.audit import AuditEntry
from ladder.diagram import (
    ModelMark,
    models_on_rung,
    response_windows,
    rung_approvers,
    rung_cost,
)
from ladder.matrix import MatrixEntry
from ladder.rungs import Rung
from ladder.sla import TIER_NAMES, SlaClocks
from ladder.state import LadderState
from ladder.stats import LadderStats
from monitor.report import Recommendation

__all__ = [
    "history_table",
    "ladder_table",
    "matrix_table",
    "print_packet",
    "stats_table",
    "status_table",
    "windows_table",
]

_DASH = "—"


def _when(moment: datetime | None) -> str:
    return _DASH if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def _human(value: timedelta | None) -> str:
    if value is None:
        return _DASH
    hours = value.total_seconds() / 3600
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"


def status_table(
    register_name: str, rows: Sequence[tuple[str, LadderState, Recommendation | None]]
) -> Table:
    """One row per model: the rung in force, the open escalation and the item in play."""
    table = Table(title=escape(f"Ladder status — {register_name}"))
    for column in ("Model", "In force", "Open", "Item", "Rung", "Status", "Tier", "Due"):
        table.add_column(column)
    for model_id, state, rec in rows:
        esc = state.open_escalation
        table.add_row(
            model_id,
            state.position or _DASH,
            _DASH if esc is None else f"esc-{esc.id} {esc.kind}",
            _DASH if rec is None else rec.id,
            _DASH if rec is None or rec.rung is None else rec.rung,
            _DASH if rec is None else rec.status,
            _DASH if rec is None else str(rec.tier),
            _DASH if rec is None else _when(rec.due_at),
        )
    return table


def print_packet(console: Console, packet: Mapping[str, Any]) -> None:
    """The handoff packet of a step: rule, evidence, modes, fixes, cost, approvals."""

    def labelled(label: str, text: str) -> None:
        # ``label:`` in bold, then the text as plain text (packets quote annotations).
        console.print(f"[bold]{label}:[/] {escape(text)}", soft_wrap=True)

    console.print()
    labelled("Rule", f"{packet.get('rule')} — {packet.get('rule_reason')}")
    for line in packet.get("evidence", []):
        console.print(f"  • {line}", soft_wrap=True, markup=False)
    modes = packet.get("failure_modes") or {}
    if modes:
        labelled("Failure modes", ", ".join(f"{m} {s:.0%}" for m, s in modes.items()))
    if packet.get("mitigation"):
        labelled("Mitigate now", str(packet["mitigation"]))
    if packet.get("long_term_fix"):
        labelled(
            "Long-term fix", f"{packet['long_term_fix']} (owner: {packet.get('resolution_owner')})"
        )
    tried = packet.get("rungs_tried") or []
    labelled("Rungs tried", ", ".join(f"{t['rung']} ({t['status']})" for t in tried) or "none")
    if packet.get("cost_text"):
        labelled("Cost", str(packet["cost_text"]))
    if packet.get("budget"):
        labelled("Budget", str(packet["budget"]))
    if packet.get("unblock"):
        labelled("To unblock", str(packet["unblock"]))
    labelled(
        "Approval",
        f"{packet.get('approval_policy')}; may approve: "
        f"{', '.join(packet.get('approvers') or []) or _DASH}",
    )
    if packet.get("entry_criteria"):
        labelled("Entry criteria", str(packet["entry_criteria"]))


def history_table(
    entries: Sequence[tuple[AuditEntry, str | None]], *, model: str | None = None
) -> Table:
    """The audit trail, one row per entry with the model it concerns: who did what, when,
    to what, and why."""
    table = Table(title=escape("Ladder history" + (f" — {model}" if model else "")))
    for column in ("#", "When (UTC)", "Model", "Who", "What", "Subject", "Why"):
        table.add_column(column)
    for e, owner in entries:
        table.add_row(
            str(e.seq),
            e.at[:16].replace("T", " "),
            owner or _DASH,
            e.actor,
            e.action,
            e.subject,
            e.reason,
        )
    return table


def matrix_table(matrix: Mapping[str, MatrixEntry], *, title: str | None = None) -> Table:
    """The failure-mode response matrix, one row per failure mode."""
    table = Table(title=title or "Failure-mode response matrix", show_lines=True)
    table.add_column("Failure mode", style="bold")
    table.add_column("Ladder rung")
    table.add_column("Immediate mitigation")
    table.add_column("Long-term fix")
    table.add_column("Owner")
    for row in matrix.values():
        rung = row.rung or "— not a ladder step —"
        mode = row.mode if row.source == "default" else f"{row.mode} ({row.source})"
        table.add_row(mode, rung, row.mitigation, row.long_term_fix, row.owner)
    return table


def stats_table(stats: LadderStats, *, title: str = "Escalation ladder statistics") -> Table:
    """Times to detection, acknowledgement, communication, decision and resolution;
    escalations by tier and status, per week with their trend; SLA misses by tier."""
    table = Table(title=title)
    table.add_column("Measure")
    table.add_column("n", justify="right")
    table.add_column("Median", justify="right")
    table.add_column("p90", justify="right")
    for name, d in (
        ("Time to detection", stats.detection),
        ("Time to acknowledgement", stats.acknowledgement),
        ("Time to communication (brief sent)", stats.communication),
        ("Time to decision", stats.decision),
        ("Time to resolution", stats.resolution),
    ):
        table.add_row(name, str(d.count), _human(d.median), _human(d.p90))
    table.add_section()
    table.add_row("Escalations", str(stats.escalations), "", "")
    for tier, count in stats.by_tier.items():
        table.add_row(f"  tier {tier} ({TIER_NAMES.get(tier, '?')})", str(count), "", "")
    for status, count in stats.by_status.items():
        table.add_row(f"  {status}", str(count), "", "")
    if stats.weekly:
        weeks = len(stats.weekly)
        slope = stats.trend.get(0)
        trend = _DASH if slope is None else f"{slope:+.2f}/week ({stats.trend_direction})"
        table.add_row(
            f"Escalations per week ({weeks} week{'s' if weeks != 1 else ''}; trend over the "
            f"last {min(weeks, stats.trend_weeks)})",
            f"{stats.escalations / weeks:.2f}",
            trend,
            "",
        )
        for tier in sorted({t for w in stats.weekly for t in w.by_tier}):
            tier_slope = stats.trend.get(tier)
            per_week = sum(w.by_tier.get(tier, 0) for w in stats.weekly) / weeks
            table.add_row(
                f"  tier {tier}",
                f"{per_week:.2f}",
                _DASH if tier_slope is None else f"{tier_slope:+.2f}/week",
                "",
            )
    table.add_section()
    table.add_row("SLA misses", str(stats.misses), "", "")
    for tier, count in stats.misses_by_tier.items():
        table.add_row(f"  tier {tier}", str(count), "", "")
    for clock, count in stats.misses_by_clock.items():
        table.add_row(f"  {clock.replace('_', ' ')}", str(count), "", "")
    rate = _DASH if stats.repeat_rate is None else f"{stats.repeat_rate:.0%}"
    table.add_row(
        f"Repeat escalations (within {stats.repeat_window_days} d)", str(stats.repeats), rate, ""
    )
    return table


def ladder_table(
    rungs: Sequence[Rung],
    marks: Sequence[ModelMark] = (),
    *,
    people: Mapping[str, Sequence[str]] | None = None,
    currency: str = "USD",
    title: str = "Escalation ladder",
) -> Table:
    """The ladder, one row per rung, with the models standing on it (``diagram --format
    text``; the Mermaid form is :func:`ladder.diagram.ladder_mermaid`)."""
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
        table.add_row(
            str(i),
            rung.id,
            rung.entry_criteria,
            rung_cost(rung, currency),
            f"{rung.time_days:g} d / {rung.evaluation_days} d",
            rung_approvers(rung, people),
            "\n".join(models_on_rung(rung.id, marks)),
        )
    idle = [m.model_id for m in marks if m.idle]
    if idle:
        table.caption = f"Not on the ladder: {', '.join(idle)}"
    return table


def windows_table(clocks: SlaClocks, *, title: str = "Response windows") -> Table:
    """Each tier's acknowledgement and decision windows, and the reminder cadence."""
    table = Table(title=title)
    table.add_column("Tier and windows")
    for line in response_windows(clocks):
        table.add_row(line)
    return table
