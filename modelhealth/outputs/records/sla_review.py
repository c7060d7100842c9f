"""The weekly SLA-miss review as a page: Markdown (sent through the outbox, pasted into a
meeting's notes) and HTML. Pure: a :class:`~ladder.weekly.WeeklySlaReview` in, text out."""

from __future__ import annotations

from datetime import timedelta

from ladder.weekly import Tally, WeeklySlaReview
from modelhealth.outputs.records.page import render_page
from modelhealth.outputs.records.text import cell, hours, line, when

__all__ = ["render_sla_review_html", "render_sla_review_markdown"]

_BY = (("clock", "Clock"), ("tier", "Tier"), ("owner", "Owner"), ("model", "Model"))


def _span(review: WeeklySlaReview) -> str:
    last = review.end - timedelta(days=1)
    return f"{review.start:%Y-%m-%d} to {last:%Y-%m-%d}"


def _groups(review: WeeklySlaReview) -> list[tuple[str, list[Tally]]]:
    return [(title, [t for t in review.tallies if t.by == by]) for by, title in _BY]


def render_sla_review_markdown(review: WeeklySlaReview) -> str:
    """The review as GitHub-flavoured Markdown ending in a newline."""
    lines = [
        f"# Weekly SLA-miss review: {review.week} ({_span(review)})",
        "",
        f"{review.total} clock{'s' if review.total != 1 else ''} ran out this week; "
        f"{review.misses_before} the week before ({review.week_before}).",
    ]
    for title, rows in _groups(review):
        if not rows:
            continue
        lines += [
            "",
            f"## By {title.lower()}",
            "",
            f"| {title} | {review.week} | {review.week_before} |",
            "|---|---:|---:|",
        ]
        lines += [
            f"| {cell(t.key.replace('_', ' '))} | {t.this_week} | {t.week_before} |" for t in rows
        ]
    lines += ["", "## Every clock that ran out", ""]
    if review.misses:
        lines += [
            "| Clock | Item | Model | Owner | Tier | Due | Met | Late |",
            "|---|---|---|---|---:|---|---|---:|",
        ]
        lines += [
            f"| {m.clock.replace('_', ' ')} | {m.subject} | {cell(m.model_id)} | "
            f"{cell(m.owner)} | {m.tier} | {when(m.due_at)} | "
            f"{when(m.done_at) if m.done_at else 'not yet'} | {hours(m.late_hours)} |"
            for m in review.misses
        ]
    else:
        lines.append("None: every clock due this week was met.")
    lines += ["", "## Suggestions", ""]
    lines += [f"- **{s['direction']}** {line(s['text'])}" for s in review.suggestions] or [
        "- None: no rule found a threshold or window to change."
    ]
    lines += ["", f"Generated {when(review.generated_at)}.", ""]
    return "\n".join(lines)


def render_sla_review_html(review: WeeklySlaReview) -> str:
    """The review as one self-contained HTML page."""
    return render_page(
        "sla_review.html.j2", review=review, span=_span(review), groups=_groups(review)
    )
