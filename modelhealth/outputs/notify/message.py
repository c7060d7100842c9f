"""What a night's notification says: a Slack-compatible message, built as a pure function.

:func:`build_message` takes the report and a level and returns a JSON payload (or
``None``: nothing to say). The payload is a Slack incoming-webhook message (``text``
plus Block Kit ``blocks``), which Mattermost, Rocket.Chat and most chat bridges accept
too. :func:`outbox_message` does the same for the ladder's own notifications
(approval requests, reminders, resolutions) that wait in the state store's outbox.

Levels mean what they mean for ``modelhealth check --fail-on``: ``warning`` (status
warning, breach or blind), ``breach`` (status breach or blind) and ``tier3`` (a breach or
blind finding of severity tier 3 or 4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from ladder.anchors import HEAD_FIELD, anchor_field
from monitor.report import Breach, ModelReport, Report

__all__ = [
    "LEVELS",
    "build_message",
    "escape_mrkdwn",
    "models_at_or_above",
    "outbox_message",
]

#: Notification levels, least to most severe (as ``--fail-on``, without ``none``).
LEVELS: tuple[str, ...] = ("warning", "breach", "tier3")

# Slack limits: 3000 characters per section text, 50 blocks, 150 per header.
_SECTION_CHARS = 2900
_MAX_SECTIONS = 40
# Past this many models a chat message stops being read; the report has the rest.
_MAX_LINES = 50
_BREACHES_PER_LINE = 4

_SEVERITY = {"blind": 0, "breach": 1, "warning": 2, "insufficient_data": 3, "healthy": 4}
_ICON = {
    "blind": ":black_circle:",
    "breach": ":red_circle:",
    "warning": ":large_orange_circle:",
    "insufficient_data": ":white_circle:",
    "healthy": ":large_green_circle:",
}


def escape_mrkdwn(text: str) -> str:
    """Escape Slack's control characters ``&``, ``<`` and ``>`` in user-supplied text.

    Without this, a model id such as ``<!channel>`` would ping a whole channel and
    ``<http://x|y>`` would render as a disguised link.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def models_at_or_above(report: Report, level: str) -> list[ModelReport]:
    """The models whose findings reach ``level``, worst first (then by id).

    Raises
    ------
    ValueError
        ``level`` is not one of :data:`LEVELS`.
    """
    if level not in LEVELS:
        raise ValueError(f"notification level must be one of {', '.join(LEVELS)}, not {level!r}")
    hits = [model for model in report.models if _reaches(model, level)]
    return sorted(hits, key=lambda m: (_SEVERITY[m.status], -_max_tier(m), m.model_id))


def build_message(report: Report, *, level: str, report_location: str) -> dict[str, Any] | None:
    """A Slack-compatible message listing every model finding at or above ``level``.

    Parameters
    ----------
    report
        The night's report.
    level
        ``warning``, ``breach`` or ``tier3`` (see the module docs).
    report_location
        Where readers find the full report: an ``http(s)`` URL (rendered as a link) or a
        path (rendered as code).

    Returns
    -------
    dict or None
        ``{"text": …, "blocks": […]}`` with one line per model, plus ``audit_head``
        (``{"seq", "hash"}``) when the ladder ran, or ``None`` when no model reaches
        ``level``. Every user-supplied string is escaped.
    """
    models = models_at_or_above(report, level)
    if not models:
        return None
    count = f"{len(models)} model{'s' if len(models) != 1 else ''}"
    register = escape_mrkdwn(report.register_name)
    headline = f"modelhealth: {count} at or above {level} on {report.as_of}"
    lines = [_model_line(model) for model in models[:_MAX_LINES]]
    link = _location(report_location)

    sections: list[str] = []
    for line in lines:
        if sections and len(sections[-1]) + 1 + len(line) <= _SECTION_CHARS:
            sections[-1] += "\n" + line
        else:
            sections.append(line[:_SECTION_CHARS])
    sections = sections[:_MAX_SECTIONS]
    omitted = len(models) - sum(s.count("\n") + 1 for s in sections)

    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"register *{register}* v{escape_mrkdwn(report.register_version)}"
                    f" · overall status *{report.status}*"
                    f" · check `{escape_mrkdwn(report.run_id)}`",
                }
            ],
        },
    ]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections]
    if omitted:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"…and {omitted} more in the report."}],
            }
        )
    blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"Report: {link}"}})
    # `text` is the notification preview and the fallback for clients without blocks.
    summary = ", ".join(f"{escape_mrkdwn(m.model_id)} ({m.status})" for m in models[:10])
    if len(models) > 10:
        summary += f", and {len(models) - 10} more"
    text = f"{headline} ({register}): {summary}. Report: {link}"
    message: dict[str, Any] = {"text": text, "blocks": blocks}
    if report.audit_head is not None:
        # The ladder's audit head, kept wherever the message lands (a chat channel, a
        # webhook receiver's log): one more anchor outside the state database.
        message[HEAD_FIELD] = anchor_field(report.audit_head.seq, report.audit_head.hash)
    return message


def _reaches(model: ModelReport, level: str) -> bool:
    if level == "warning":
        return model.status in ("warning", "breach", "blind")
    if level == "breach":
        return model.status in ("breach", "blind")
    return any(b.tier >= 3 and b.level in ("breach", "blind") for b in model.breaches)


def _max_tier(model: ModelReport) -> int:
    return max((b.tier for b in model.breaches), default=0)


def _model_line(model: ModelReport) -> str:
    """``:red_circle: *triage* — breach: quality 0.78 < 0.85 (tier 3) · … → next: rung``."""
    parts = [f"{_ICON[model.status]} *{escape_mrkdwn(model.model_id)}* — {model.status}"]
    ordered = sorted(model.breaches, key=lambda b: (_SEVERITY[b.level], -b.tier, b.threshold))
    described = [_breach_text(b) for b in ordered[:_BREACHES_PER_LINE]]
    if len(ordered) > _BREACHES_PER_LINE:
        described.append(f"+{len(ordered) - _BREACHES_PER_LINE} more")
    line = parts[0] + (": " + "; ".join(described) if described else "")
    if model.dominant_failure_mode:
        line += f" · mode {escape_mrkdwn(model.dominant_failure_mode)}"
    rec = model.recommendation
    if rec is not None and rec.rung:
        line += f" · next: {escape_mrkdwn(rec.rung)} ({escape_mrkdwn(rec.status)})"
    return " ".join(line.splitlines())  # one finding, one line, whatever the ids contain


def _breach_text(breach: Breach) -> str:
    name = escape_mrkdwn(breach.threshold)
    if breach.level == "blind" or breach.observed is None:
        return f"{name} {breach.level} (tier {breach.tier})"
    observed = _number(breach.observed)
    if breach.limit is None:
        return f"{name} {observed} {breach.level} (tier {breach.tier})"
    # A breach is beyond its limit in the direction that matters; say which way.
    relation = (
        "&gt;"
        if breach.observed > breach.limit
        else "&lt;"
        if breach.observed < breach.limit
        else "="
    )
    return (
        f"{name} {observed} {relation} {_number(breach.limit)} {breach.level} (tier {breach.tier})"
    )


def _number(value: float) -> str:
    return f"{value:.4g}"


def _location(report_location: str) -> str:
    scheme = urlsplit(report_location).scheme.lower()
    if scheme in ("http", "https"):
        # Inside <url|label> only '&', '<', '>' and the '|' separator are special.
        url = escape_mrkdwn(report_location).replace("|", "%7C")
        return f"<{url}|open the report>"
    path = escape_mrkdwn(report_location).replace("`", "'")  # a backtick would end the code span
    return f"`{path}`"


def outbox_message(
    kind: str, model_id: str, recipients: tuple[str, ...], payload: Mapping[str, Any]
) -> dict[str, Any]:
    """The webhook body of one outbox row: a ready message (``text`` …) as it was queued,
    or a one-line text for the ladder's own notifications (``approval_requested``,
    reminders, ``resolved`` …) naming the model, the summary or reason, and the people.
    The row's deduplication ``key`` is never sent."""
    if "text" in payload:
        message = dict(payload)
    else:
        summary = payload.get("summary") or payload.get("reason") or kind
        who = ", ".join(recipients)
        text = f"modelhealth ladder {kind} for {model_id}: {summary}"
        message = {"text": text + (f" (for {who})" if who else "")}
    message.pop("key", None)
    return message
