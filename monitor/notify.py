"""Tell people about a night's findings: Slack-compatible webhook messages, delivered with retries.

Two halves, kept apart as in Alertmanager's notifiers:

* :func:`build_message` is pure: the report and a level in, a JSON payload (or ``None``:
  nothing to say) out. The payload is a Slack incoming-webhook message (``text`` plus
  Block Kit ``blocks``), which Mattermost, Rocket.Chat and most chat bridges accept too.
* :func:`deliver` is the edge: one HTTP POST per attempt, retried on connection errors,
  429 and 5xx with exponential back-off (``Retry-After`` honoured up to 30 s), never
  retried on other 4xx, and it never raises for a failed delivery: it returns a
  :class:`DeliveryResult`, so the caller can store the notification and try it again on
  the next run.

Levels mean what they mean for ``modelhealth check --fail-on``: ``warning`` (status
warning, breach or blind), ``breach`` (status breach or blind) and ``tier3`` (a breach or
blind finding of severity tier 3 or 4).
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

from monitor.report import Breach, ModelReport, Report

__all__ = [
    "LEVELS",
    "DeliveryResult",
    "Notification",
    "build_message",
    "deliver",
    "escape_mrkdwn",
    "models_at_or_above",
]

_log = logging.getLogger(__name__)

#: Notification levels, least to most severe (as ``--fail-on``, without ``none``).
LEVELS: tuple[str, ...] = ("warning", "breach", "tier3")

#: Longest ``Retry-After`` we wait for inside one run; longer waits are left to the next run.
MAX_RETRY_AFTER_S = 30.0

# Slack limits: 3000 characters per section text, 50 blocks, 150 per header.
_SECTION_CHARS = 2900
_MAX_SECTIONS = 40
# Past this many models a chat message stops being read; the report has the rest.
_MAX_LINES = 50
_BREACHES_PER_LINE = 4
_MAX_ERROR_BODY = 300

_SEVERITY = {"blind": 0, "breach": 1, "warning": 2, "insufficient_data": 3, "healthy": 4}
_ICON = {
    "blind": ":black_circle:",
    "breach": ":red_circle:",
    "warning": ":large_orange_circle:",
    "insufficient_data": ":white_circle:",
    "healthy": ":large_green_circle:",
}


@dataclass(frozen=True)
class Notification:
    """One message for one webhook.

    Attributes
    ----------
    url
        The webhook URL. It usually embeds a secret, so it is left out of ``repr`` and
        error messages (see :attr:`target`).
    payload
        The JSON body, e.g. from :func:`build_message`.
    key
        Idempotency key, e.g. ``f"{report.run_id}:{level}"``: sent as the
        ``Idempotency-Key`` header and the handle under which a failed notification is
        stored for retry.
    """

    url: str = field(repr=False)
    payload: dict[str, Any]
    key: str

    @property
    def target(self) -> str:
        """The webhook's scheme and host, safe to log."""
        return _redacted(self.url)


@dataclass(frozen=True)
class DeliveryResult:
    """How a delivery went.

    Attributes
    ----------
    ok
        The receiver answered 2xx.
    attempts
        POSTs made (0 when the notification was refused before sending).
    status_code
        The last HTTP status received, ``None`` if no response came back.
    error
        Why it failed (``None`` when ``ok``); never contains the webhook's secret path.
    """

    ok: bool
    attempts: int
    status_code: int | None = None
    error: str | None = None


# --- the message -------------------------------------------------------------------------------


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
        ``{"text": …, "blocks": […]}`` with one line per model, or ``None`` when no
        model reaches ``level``. Every user-supplied string is escaped.
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
    return {"text": text, "blocks": blocks}


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


# --- delivery ----------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Surface 3xx as errors: a moved webhook must be fixed, not followed as a GET."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def deliver(
    notification: Notification,
    *,
    attempts: int = 4,
    backoff_s: float = 0.5,
    timeout_s: float = 5.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryResult:
    """POST ``notification.payload`` as JSON to its webhook, retrying transient failures.

    Parameters
    ----------
    notification
        What to send and where.
    attempts
        Most POSTs to make (≥ 1).
    backoff_s
        Wait before the second attempt; doubled before each further one
        (0.5, 1, 2 s by default). A ``Retry-After`` of at most :data:`MAX_RETRY_AFTER_S`
        seconds on a 429/5xx replaces it; a longer one ends the attempts.
    timeout_s
        Socket timeout per attempt, in seconds.
    sleep
        Called with each wait, in seconds (tests pass a recorder).

    Returns
    -------
    DeliveryResult
        Never raises for delivery failures: connection errors, timeouts and HTTP errors
        are reported in the result.

    Raises
    ------
    ValueError
        ``attempts`` < 1 (a programming error, not a delivery failure).
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    target = notification.target
    if urlsplit(notification.url).scheme.lower() not in ("http", "https"):
        return DeliveryResult(False, 0, None, f"webhook {target} is not an http(s) URL")
    try:
        body = json.dumps(notification.payload, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        return DeliveryResult(False, 0, None, f"payload is not JSON: {exc}")
    request = urllib.request.Request(
        notification.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "modelhealth-notify",
            "Idempotency-Key": notification.key,
        },
    )

    status: int | None = None
    error = ""
    for attempt in range(1, attempts + 1):
        retry_after: float | None = None
        try:
            with _OPENER.open(request, timeout=timeout_s) as response:
                status = int(response.status)
                response.read(_MAX_ERROR_BODY)
            if 200 <= status < 300:
                return DeliveryResult(True, attempt, status, None)
            error = f"webhook {target} answered HTTP {status}"
            retryable = False
        except urllib.error.HTTPError as exc:
            status = exc.code
            error = f"webhook {target} answered HTTP {status}{_body_excerpt(exc)}"
            retryable = status == 429 or status >= 500
            retry_after = _retry_after_s(exc.headers.get("Retry-After") if exc.headers else None)
            if 300 <= status < 400:
                location = exc.headers.get("Location", "?") if exc.headers else "?"
                error += f" (redirect to {_redacted(location)}; update the webhook URL)"
        except (urllib.error.URLError, HTTPException, OSError) as exc:
            status = None
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            error = f"webhook {target} unreachable: {reason or type(exc).__name__}"
            retryable = True
        if not retryable:
            break
        if attempt == attempts:
            error += f" (gave up after {attempts} attempts)"
            break
        delay = backoff_s * 2 ** (attempt - 1)
        if retry_after is not None:
            if retry_after > MAX_RETRY_AFTER_S:
                error += f" (asked to retry after {retry_after:.0f} s; left for the next run)"
                break
            delay = retry_after
        _log.warning("notification %s: %s; retrying in %.1f s", notification.key, error, delay)
        sleep(delay)
    return DeliveryResult(False, attempt, status, error)


def _retry_after_s(value: str | None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), ``None`` if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def _body_excerpt(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(_MAX_ERROR_BODY).decode("utf-8", errors="replace").strip()
    except (OSError, HTTPException):
        return ""
    finally:
        exc.close()
    return f": {' '.join(text.split())}" if text else ""


def _redacted(url: str) -> str:
    """Scheme and host of ``url``: webhook paths and query strings carry secrets."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}/…" if parts.scheme else "<no URL>"
