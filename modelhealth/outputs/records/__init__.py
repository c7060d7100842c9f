"""The process records as pages: the stakeholder brief, the post-incident review and the
weekly SLA-miss review, each as Markdown and as a self-contained HTML page. Pure
renderers over the ladder's data (:mod:`ladder.briefs`, :mod:`ladder.post_incident`,
:mod:`ladder.weekly`): the CLI and the desk call the same ones."""

from modelhealth.outputs.records.brief import render_brief_html, render_brief_markdown
from modelhealth.outputs.records.post_incident import (
    ReviewEdit,
    parse_review_edit,
    render_review_html,
    render_review_json,
    render_review_markdown,
)
from modelhealth.outputs.records.sla_review import (
    render_sla_review_html,
    render_sla_review_markdown,
)

__all__ = [
    "ReviewEdit",
    "parse_review_edit",
    "render_brief_html",
    "render_brief_markdown",
    "render_review_html",
    "render_review_json",
    "render_review_markdown",
    "render_sla_review_html",
    "render_sla_review_markdown",
]
