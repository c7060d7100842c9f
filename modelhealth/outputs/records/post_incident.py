"""The post-incident review as a page (Markdown, HTML, JSON), and the round trip through
a file a person edits: :func:`render_review_markdown` writes the whole review with three
editable sections at the end, :func:`parse_review_edit` reads those sections back.

The editable sections are plain Markdown under fixed headings::

    ## What went well
    - the brief went out within the hour

    ## What to improve
    - nobody acknowledged the step for an hour

    ## Follow-up actions
    - bob | 2026-11-12 | page the on-call ML lead for tier 3 steps

Everything outside them (the prefilled timeline, misses, metrics) is ignored on the way
back, as are HTML comments.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ladder.incident import FollowUp
from ladder.post_incident import PostIncidentReview, parse_follow_up
from modelhealth.outputs.records.page import render_page
from modelhealth.outputs.records.text import cell, line, when

__all__ = [
    "EDITABLE",
    "ReviewEdit",
    "parse_review_edit",
    "render_review_html",
    "render_review_json",
    "render_review_markdown",
]

#: The headings of the sections a person writes, in order.
EDITABLE = ("What went well", "What to improve", "Follow-up actions")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")


def _change(metric: str, before: float | None, after: float | None) -> tuple[str, str, str]:
    if before is None or after is None:
        show = "—" if before is None else _value(metric, before)
        return show, "—" if after is None else _value(metric, after), "—"
    if metric in ("quality", "error rate"):
        return (f"{before:.1%}", f"{after:.1%}", f"{(after - before) * 100:+.1f} pts")
    return _value(metric, before), _value(metric, after), f"{after - before:+,.3g}"


def _value(metric: str, value: float) -> str:
    if metric in ("quality", "error rate"):
        return f"{value:.1%}"
    if metric.startswith("latency"):
        return f"{value:,.0f}"
    return f"{value:.3f}"


def _status(review: PostIncidentReview) -> str:
    due = f"due {when(review.due_at)}" if review.due_at else "no due date"
    if review.status == "closed":
        return f"closed {when(review.closed_at)} by {review.closed_by} ({due})"
    return f"{review.status}, {due}" + (" — OVERDUE" if review.overdue else "")


def render_review_markdown(review: PostIncidentReview) -> str:
    """The whole review as Markdown; the last three sections are the editable ones."""
    lines = [
        f"# Post-incident review: {line(review.model_id)} (esc-{review.escalation_id})",
        "",
        f"Tier {review.tier} · {line(review.failure_mode or 'unclassified')} · owner "
        f"{line(review.owner)} · {_status(review)}",
        "",
    ]
    if review.repeat_of is not None:
        lines += [
            f"Repeats esc-{review.repeat_of}: read its review with `modelhealth ladder "
            f"pir esc-{review.repeat_of}`.",
            "",
        ]
    if review.repeated_by:
        lines += [
            "Repeated by "
            + ", ".join(f"esc-{i}" for i in review.repeated_by)
            + ": the follow-up actions below did not prevent it.",
            "",
        ]
    lines += ["## Timeline", "", "| Moment | When | What |", "|---|---|---|"]
    lines += [f"| {t.label} | {when(t.at)} | {cell(t.note)} |" for t in review.timeline]
    lines += ["", "## SLA clocks that ran out", ""]
    lines += [f"- {line(m)}" for m in review.sla_misses] or ["- None: every clock was met."]
    lines += ["", "## What the rung changed", ""]
    if review.changes and review.rung:
        nb, na = review.changes[0].nights_before, review.changes[0].nights_after
        lines += [
            f"{review.rung} was applied {when(review.rung_applied_at)}. Nights before: "
            f"{nb}; after, until the escalation closed: {na}.",
            "",
            "| Metric | Before | After | Change |",
            "|---|---|---|---|",
        ]
        for c in review.changes:
            before, after, delta = _change(c.metric, c.before, c.after)
            lines.append(f"| {c.metric} | {before} | {after} | {delta} |")
    else:
        lines.append("No rung was applied in this escalation.")
    lines += [
        "",
        "<!-- Edit the three sections below, then run: modelhealth ladder pir "
        f"esc-{review.escalation_id} --from THIS-FILE (add --close to close the review). "
        "Actions are one per line: OWNER | YYYY-MM-DD | what. -->",
        "",
        f"## {EDITABLE[0]}",
        "",
        review.went_well or "",
        "",
        f"## {EDITABLE[1]}",
        "",
        review.improve or "",
        "",
        f"## {EDITABLE[2]}",
        "",
        *[f"- {a['owner']} | {a['due']} | {line(a['text'])}" for a in review.actions],
        "",
    ]
    return "\n".join(lines)


def render_review_html(review: PostIncidentReview) -> str:
    """The review as one self-contained HTML page."""
    changes = [(c, *_change(c.metric, c.before, c.after)) for c in review.changes]
    return render_page("review.html.j2", review=review, status=_status(review), changes=changes)


def render_review_json(review: PostIncidentReview) -> str:
    """The review as JSON (two-space indent, ending in a newline)."""
    return json.dumps(review.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class ReviewEdit:
    """What a person wrote in the editable sections."""

    went_well: str
    improve: str
    actions: list[FollowUp] = field(default_factory=list)

    def as_replacement(self) -> dict[str, object]:
        """The ``replace`` argument of :func:`ladder.incident_actions.record_review`."""
        return {"went_well": self.went_well, "improve": self.improve, "actions": self.actions}


def parse_review_edit(text: str, people: Iterable[str]) -> ReviewEdit:
    """Read the editable sections back.

    Raises
    ------
    ValueError
        A missing section heading, or an action line that does not parse (with its line
        number).
    """
    known = list(people)
    sections: dict[str, list[tuple[int, str]]] = {}
    current: str | None = None
    for number, raw in enumerate(_COMMENT.sub("", text).splitlines(), start=1):
        heading = _HEADING.match(raw)
        if heading is not None:
            title = heading.group(2).strip().lower()
            current = next((h for h in EDITABLE if h.lower() == title), None)
            if current is not None:
                sections[current] = []
            continue
        if current is not None:
            sections[current].append((number, raw.rstrip()))
    missing = [h for h in EDITABLE if h not in sections]
    if missing:
        raise ValueError("the file has no section " + ", ".join(f"'## {h}'" for h in missing))

    def text_of(name: str) -> str:
        return "\n".join(t for _, t in sections[name]).strip()

    actions = []
    for number, raw in sections[EDITABLE[2]]:
        entry = raw.strip()
        if not entry:
            continue
        try:
            actions.append(
                parse_follow_up(entry.removeprefix("-").removeprefix("*").strip(), known)
            )
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
    return ReviewEdit(text_of(EDITABLE[0]), text_of(EDITABLE[1]), actions)
