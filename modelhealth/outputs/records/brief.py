"""The stakeholder brief as a page: Markdown (for chat, e-mail and tickets) and HTML (for
the desk and the browser). Pure: a :class:`~ladder.briefs.Brief` in, text out."""

from __future__ import annotations

from ladder.briefs import Brief, BriefAction
from modelhealth.outputs.records.page import render_page
from modelhealth.outputs.records.text import cell, line, when

__all__ = ["render_brief_html", "render_brief_markdown"]


def _due(action: BriefAction) -> str:
    if action.due is None:
        return action.when
    return f"{action.when} {when(action.due)}"


def _plan(brief: Brief) -> list[BriefAction]:
    return [*brief.actions, *([brief.next_update] if brief.next_update is not None else [])]


def render_brief_markdown(brief: Brief, *, version: int | None = None) -> str:
    """The brief in the five steps, as GitHub-flavoured Markdown ending in a newline."""
    issued = f"Issued {when(brief.issued_at)}" + (f" · version {version}" if version else "")
    lines = [
        f"# Stakeholder brief: {line(brief.model_id)} (esc-{brief.escalation_id})",
        "",
        f"Tier {brief.tier} ({brief.tier_name}) · {brief.status} · {issued}",
        "",
        f"> {line(brief.headline)}",
        "",
        "## 1. What is happening",
        "",
        *[line(text) for text in brief.impact],
        "",
        "## 2. Who is responsible",
        "",
        line(brief.responsibility),
        "",
        "## 3. What we know",
        "",
        *[f"- {line(text)}" for text in brief.known],
    ]
    if brief.evidence:
        lines += [
            "",
            "Evidence (the nightly check):",
            "",
            *[f"- {line(text)}" for text in brief.evidence],
        ]
    lines += ["", "### What we do not know yet", ""]
    lines += [f"- {line(text)}" for text in brief.unknown] or ["- Nothing open."]
    lines += ["", "## 4. What we are doing", "", "| Action | Owner | When |", "|---|---|---|"]
    lines += [f"| {cell(a.what)} | {cell(a.owner)} | {_due(a)} |" for a in _plan(brief)]
    lines += ["", "## 5. Next update", "", line(brief.follow_through), ""]
    return "\n".join(lines)


def render_brief_html(brief: Brief, *, version: int | None = None) -> str:
    """The brief as one self-contained HTML page (no script, nothing loaded)."""
    return render_page("brief.html.j2", brief=brief, version=version, plan=_plan(brief), due=_due)
