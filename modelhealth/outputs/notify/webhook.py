"""Send one message to a webhook: an HTTP POST, retried the way a careful client retries.

:func:`deliver` makes one POST per attempt, retries connection errors, 429 and 5xx
with exponential back-off (``Retry-After`` honoured up to 30 s), never retries other
4xx, never follows redirects, and never raises for a failed delivery: it returns a
:class:`DeliveryResult`, so the outbox (:mod:`.outbox`) can keep the message and try it
again on the next run. The webhook URL usually embeds a secret, so only its scheme and
host ever appear in results, logs and ``repr``.
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

__all__ = ["MAX_RETRY_AFTER_S", "DeliveryResult", "Notification", "deliver"]

_log = logging.getLogger(__name__)

#: Longest ``Retry-After`` we wait for inside one run; longer waits are left to the next run.
MAX_RETRY_AFTER_S = 30.0

_MAX_ERROR_BODY = 300


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
