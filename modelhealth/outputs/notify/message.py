"""What a night's notification says: a Slack-compatible message, built as a pure function.

:func:`build_message` takes the report and a level and returns a JSON payload (or
``None``: nothing to say). The payload is a Slack incoming-webhook message (``text``
plus Block Kit ``blocks``), which Mattermost, Rocket.Chat and most chat bridges accept
too. :func:`outbox_message` does the same for the ladder's own notifications
(approval requests, reminders, escalations to the next level, resolutions) that wait in
the state store's outbox.

Levels mean what they mean for ``modelhealth check --fail-on``: ``warning`` (status
warning, breach or blind), ``breach`` (status breach or blind) and ``tier3`` (a breach or
blind finding of severity tier 3 or 4).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ladder.anchors import HEAD_FIELD, anchor_field
from ladder.outbox import QueuedNotification
from monitor.report import Breach, ModelReport, Report

__all__ = [
    "LEVELS",
    "build_message",
    "escape_mrkdwn",
    "models_at_or_above",
    "outbox_message",
    "step_link",
    "step_url",
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


def step_url(public_url: str, step_ref: str) -> str:
    """The desk's page of a step: ``https://desk.example.com/steps/step-12``."""
    return f"{public_url.rstrip('/')}/steps/{step_ref}"


def _link(url: str, label: str) -> str:
    # Inside <url|label> only '&', '<', '>' and the '|' separator are special.
    return f"<{escape_mrkdwn(url).replace('|', '%7C')}|{escape_mrkdwn(label)}>"


def build_message(
    report: Report, *, level: str, report_location: str, public_url: str | None = None
) -> dict[str, Any] | None:
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
    public_url
        The escalation desk's address (``modelhealth serve --public-url``): each model's
        step in play links to its step page there.

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
    lines = [_model_line(model, public_url) for model in models[:_MAX_LINES]]
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


def _model_line(model: ModelReport, public_url: str | None = None) -> str:
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
        if public_url and rec.id.startswith("step-"):
            line += " · " + _link(step_url(public_url, rec.id), f"open {rec.id}")
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
        return _link(report_location, "open the report")
    path = escape_mrkdwn(report_location).replace("`", "'")  # a backtick would end the code span
    return f"`{path}`"


_HEADLINES = {
    "approval_requested": "Approval requested",
    "apply_requested": "Ready to apply",
    "blocked_by_budget": "Blocked by budget",
    "ack_reminder": "Reminder: nobody has acknowledged this",
    "next_level": "Escalated to the next level: still not acknowledged",
    "decision_reminder": "Reminder: the decision is overdue",
    "escalate": "Escalated: the decision is overdue",
    "expire": "Expired without a decision",
    "resolved": "Resolved",
    "closed": "Closed",
    "mitigate": "Operational mitigation needed",
    "exhausted": "No ladder rung left",
}


def _headline(kind: str) -> str:
    return _HEADLINES.get(kind, kind.replace("_", " ").capitalize())


def step_link(public_url: str, step_id: int) -> str:
    """The desk's page of step ``step_id``, under the desk's public URL."""
    return step_url(public_url, f"step-{step_id}")


def outbox_message(item: QueuedNotification, *, public_url: str | None = None) -> dict[str, Any]:
    """The webhook body of one outbox row.

    A ready message (the nightly findings, ``text`` …) goes out as it was queued. A
    ladder notification (an approval request, a reminder, an escalation to the next
    level, a resolution …) becomes a Slack-compatible message that says what happened to
    which model, why, who it is for, when a person will act if nobody works now, whether
    it could not be routed (then at the highest priority), and where to act: the desk's
    step page under ``public_url``, or the command to run. The row's deduplication
    ``key`` is never sent; every user-supplied string is escaped.
    """
    payload = item.payload
    if "text" in payload:
        message = dict(payload)
        message.pop("key", None)
        return message
    model = escape_mrkdwn(item.model_id)
    summary = escape_mrkdwn(str(payload.get("summary") or payload.get("reason") or item.kind))
    unroutable = bool(payload.get("unroutable"))
    tier = payload.get("tier")
    tier = tier if isinstance(tier, int) else 0
    priority = str(
        payload.get("priority")
        or ("highest" if unroutable or tier >= 4 else "high" if tier == 3 else "normal")
    )
    icon = (
        ":rotating_light: "
        if priority == "highest"
        else ":warning: "
        if (priority == "high")
        else ""
    )
    ref = f"step-{item.step_id}" if item.step_id is not None else None
    headline = f"{icon}{_headline(item.kind)}: {model}" + (f" ({ref})" if ref else "")
    lines = [summary]
    reason = payload.get("reason")
    if payload.get("summary") and reason and reason != payload["summary"]:
        lines.append(f"Why: {escape_mrkdwn(str(reason))}")
    if item.recipients:
        lines.append(f"For: {escape_mrkdwn(', '.join(item.recipients))}")
    if payload.get("route"):
        lines.append(f"Routing: {escape_mrkdwn(str(payload['route']))}")
    if unroutable:
        lines.append(
            "*UNROUTABLE*: nobody configured could be reached; this goes to everyone "
            "it concerns at the highest priority"
        )
    if ref is not None and public_url:
        lines.append(f"<{escape_mrkdwn(step_link(public_url, item.step_id or 0))}|Open {ref}>")
    elif ref is not None and item.kind not in ("resolved", "closed", "expire"):
        lines.append(f"See `modelhealth ladder status {model}`")
    text = f"{headline} — " + " · ".join(lines)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{headline}*"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:_SECTION_CHARS]}},
    ]
    return {"text": text[:_SECTION_CHARS], "blocks": blocks}
