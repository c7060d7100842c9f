"""Send one message to a webhook: an HTTP POST, retried the way a careful client retries,
and over within a deadline whatever the receiver does.

:func:`deliver` makes one POST per attempt, retries connection errors, timeouts, 408, 429
and 5xx with exponential back-off (``Retry-After`` honoured up to 30 s within the
delivery; a longer one is handed back to the outbox, which caps it), never retries other
4xx (``permanent``), never follows redirects, and never raises for a failed delivery: it
returns a :class:`DeliveryResult`, so the outbox (:mod:`.outbox`) can keep the message
and schedule the next attempt.

The whole delivery ends within ``deadline_s`` (20 s by default). A receiver that drips
its answer one byte every few seconds keeps a socket timeout from ever firing (each byte
restarts it), so a watchdog closes the connection when the deadline passes. The webhook
URL usually embeds a secret, so only its scheme and host ever appear in results, logs
and ``repr``. The proxies the environment names (``HTTPS_PROXY``, ``NO_PROXY`` …) are used.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import json
import logging
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.client import HTTPConnection, HTTPException, HTTPSConnection
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = [
    "DEFAULT_DEADLINE_S",
    "MAX_RETRY_AFTER_S",
    "DeliveryResult",
    "Notification",
    "deliver",
]

_log = logging.getLogger(__name__)

#: Longest ``Retry-After`` waited for inside one delivery; longer ones go back to the outbox.
MAX_RETRY_AFTER_S = 30.0
#: Every attempt and wait of one delivery ends within this many seconds.
DEFAULT_DEADLINE_S = 20.0

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
    permanent
        The receiver refused the message itself (a 4xx other than 408 and 429, a redirect,
        a URL that is not http(s), a payload that is not JSON): trying again will not help.
    retry_after_s
        The receiver asked to be tried again after this many seconds, longer than one
        delivery waits: the outbox schedules it.
    """

    ok: bool
    attempts: int
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False
    retry_after_s: float | None = None


def deliver(
    notification: Notification,
    *,
    attempts: int = 4,
    backoff_s: float = 0.5,
    timeout_s: float = 5.0,
    deadline_s: float = DEFAULT_DEADLINE_S,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeliveryResult:
    """POST ``notification.payload`` as JSON to its webhook, retrying transient failures,
    all within ``deadline_s`` seconds.

    Parameters
    ----------
    notification
        What to send and where.
    attempts
        Most POSTs to make (≥ 1).
    backoff_s
        Wait before the second attempt; doubled before each further one
        (0.5, 1, 2 s by default). A ``Retry-After`` of at most :data:`MAX_RETRY_AFTER_S`
        seconds on a 408/429/5xx replaces it; a longer one ends the attempts and is
        handed back (``retry_after_s``) for the outbox to schedule.
    timeout_s
        Socket timeout for connecting and for each read, in seconds.
    deadline_s
        The whole delivery — every attempt and wait — ends within this many seconds,
        however slowly the receiver answers.
    sleep
        Called with each wait, in seconds (tests pass a recorder).
    clock
        Monotonic seconds, for the deadline.

    Returns
    -------
    DeliveryResult
        Never raises for delivery failures: connection errors, timeouts and HTTP errors
        are reported in the result.

    Raises
    ------
    ValueError
        ``attempts`` < 1 or ``deadline_s`` ≤ 0 (programming errors, not delivery failures).
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, not {attempts}")
    if deadline_s <= 0:
        raise ValueError(f"deadline_s must be positive, not {deadline_s}")
    target = notification.target
    if urlsplit(notification.url).scheme.lower() not in ("http", "https"):
        return DeliveryResult(
            False, 0, None, f"webhook {target} is not an http(s) URL", permanent=True
        )
    try:
        body = json.dumps(notification.payload, allow_nan=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        return DeliveryResult(False, 0, None, f"payload is not JSON: {exc}", permanent=True)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "modelhealth-notify",
        "Idempotency-Key": notification.key,
    }
    ends = clock() + deadline_s

    status: int | None = None
    error = ""
    attempt = 0
    for attempt in range(1, attempts + 1):
        retry_after: float | None = None
        try:
            answer = _post(
                notification.url,
                body,
                headers,
                timeout=timeout_s,
                budget=max(ends - clock(), 0.001),
            )
        except TimeoutError as exc:
            status, error = None, f"webhook {target} timed out: {exc}"
        except (OSError, HTTPException) as exc:
            status, error = None, f"webhook {target} unreachable: {exc or type(exc).__name__}"
        else:
            status = answer.status
            if 200 <= status < 300:
                return DeliveryResult(True, attempt, status, None)
            error = f"webhook {target} answered HTTP {status}{_excerpt(answer.body)}"
            if 300 <= status < 400:
                location = answer.headers.get("Location", "?")
                error += f" (redirect to {_redacted(location)}; update the webhook URL)"
            if not (status in (408, 429) or status >= 500):
                return DeliveryResult(False, attempt, status, error, permanent=True)
            retry_after = _retry_after_s(answer.headers.get("Retry-After"))
        if attempt == attempts:
            error += f" (gave up after {attempts} attempts)"
            break
        delay = backoff_s * 2 ** (attempt - 1)
        if retry_after is not None:
            if retry_after > MAX_RETRY_AFTER_S:
                error += f" (asked to retry after {retry_after:.0f} s; left for a later attempt)"
                return DeliveryResult(False, attempt, status, error, retry_after_s=retry_after)
            delay = retry_after
        if clock() + delay >= ends:
            error += (
                f" (the delivery's deadline of {deadline_s:g} s came after {attempt} "
                f"attempt{'s' if attempt != 1 else ''})"
            )
            break
        _log.warning("notification %s: %s; retrying in %.1f s", notification.key, error, delay)
        sleep(delay)
    return DeliveryResult(False, attempt, status, error)


def _proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY``, ``NO_PROXY`` …)."""
    parts = urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme.lower())


def _connection(url: str, timeout: float) -> tuple[HTTPConnection, str, dict[str, str]]:
    """A connection to ``url``'s host (through the environment's proxy, if any), the
    request target, and the headers the proxy needs."""
    parts = urlsplit(url)
    https = parts.scheme.lower() == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if https else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    proxy = _proxy_for(url)
    if proxy is None:
        if https:
            context = ssl.create_default_context()
            return HTTPSConnection(host, port, timeout=timeout, context=context), target, {}
        return HTTPConnection(host, port, timeout=timeout), target, {}
    via = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    headers: dict[str, str] = {}
    if via.username:
        secret = f"{unquote(via.username)}:{unquote(via.password or '')}".encode()
        headers["Proxy-Authorization"] = "Basic " + base64.b64encode(secret).decode("ascii")
    proxy_port = via.port or (443 if via.scheme == "https" else 80)
    if https:
        conn: HTTPConnection = HTTPSConnection(
            via.hostname or "", proxy_port, timeout=timeout, context=ssl.create_default_context()
        )
        conn.set_tunnel(host, port, headers=headers)
        return conn, target, {}
    # Plain HTTP through a proxy: the absolute URL is the request target.
    return HTTPConnection(via.hostname or "", proxy_port, timeout=timeout), url, headers


@dataclass
class _Watchdog:
    """Shuts the connection's socket when the delivery's deadline passes: a receiver that
    drips one byte at a time cannot hold a delivery past it."""

    conn: HTTPConnection
    expired: bool = False

    def __call__(self) -> None:
        self.expired = True
        sock = self.conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


def _post(
    url: str, body: bytes, headers: Mapping[str, str], *, timeout: float, budget: float
) -> _Answer:
    """One POST, over within ``budget`` seconds whatever the receiver does.

    Raises
    ------
    TimeoutError
        No complete answer before the deadline.
    OSError, HTTPException
        The connection failed.
    """
    conn, target, extra = _connection(url, timeout=min(timeout, budget))
    watchdog = _Watchdog(conn)
    timer = threading.Timer(budget, watchdog)
    timer.daemon = True
    timer.start()
    try:
        conn.request("POST", target, body=body, headers={**headers, **extra})
        response = conn.getresponse()
        answer = _Answer(
            int(response.status), dict(response.headers.items()), response.read(_MAX_ERROR_BODY)
        )
    except (OSError, HTTPException) as exc:
        if watchdog.expired:
            raise TimeoutError(f"no complete answer within {budget:.1f} s") from exc
        raise
    finally:
        timer.cancel()
        conn.close()
    if watchdog.expired:  # the answer was cut short at the deadline
        raise TimeoutError(f"no complete answer within {budget:.1f} s")
    return answer


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


def _excerpt(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace").strip()
    return f": {' '.join(text.split())}" if text else ""


def _redacted(url: str) -> str:
    """Scheme and host of ``url``: webhook paths and query strings carry secrets."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}/…" if parts.scheme else "<no URL>"
