"""When a notification that could not be delivered is tried again, or given up: a pure
decision with the clock passed in, as Alertmanager's notify stages decide.

:func:`next_attempt` takes what is known about a queued message after a failed attempt
(:class:`FailedAttempt`) and returns a :class:`RetryDecision`: ``retry`` at a time, with
exponential back-off (1, 2, 4 … minutes, at most an hour apart; a receiver's
``Retry-After`` is honoured up to that hour), or ``dead`` once the next attempt would
fall past the message's maximum age (72 hours from when it was queued or re-sent), or at
once when the receiver refused it for good (a 4xx other than 408 and 429). A dead
letter is never deleted: ``modelhealth ladder outbox`` lists it, the report and its
HTML page show a banner, and ``modelhealth ladder outbox resend`` queues it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

__all__ = [
    "FIRST_RETRY",
    "MAX_AGE",
    "MAX_RETRY_GAP",
    "FailedAttempt",
    "RetryDecision",
    "next_attempt",
]

#: Wait before the second attempt; doubled before each further one.
FIRST_RETRY: Final = timedelta(minutes=1)
#: The longest wait between two attempts (and the cap on a receiver's ``Retry-After``).
MAX_RETRY_GAP: Final = timedelta(hours=1)
#: A message not delivered this long after it was queued (or re-sent) is a dead letter.
MAX_AGE: Final = timedelta(hours=72)


@dataclass(frozen=True)
class FailedAttempt:
    """A queued message right after an attempt to deliver it failed.

    ``attempts`` counts the failed attempts of the current series, this one included;
    ``queued_at`` is when the series started (queued, or re-sent by a person);
    ``retry_after`` is what the receiver asked for (``Retry-After``), if anything;
    ``permanent`` says the receiver refused the message itself (4xx other than 408/429).
    """

    attempts: int
    queued_at: datetime
    error: str
    retry_after: timedelta | None = None
    permanent: bool = False


@dataclass(frozen=True)
class RetryDecision:
    """``retry`` at ``at``, or ``dead``; ``reason`` is stored as the row's last error."""

    kind: Literal["retry", "dead"]
    at: datetime | None
    reason: str


def _span(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def next_attempt(
    message: FailedAttempt,
    now: datetime,
    *,
    first_retry: timedelta = FIRST_RETRY,
    max_gap: timedelta = MAX_RETRY_GAP,
    max_age: timedelta = MAX_AGE,
) -> RetryDecision:
    """When to try ``message`` again after a failed attempt at ``now``, or why not.

    Parameters
    ----------
    message
        The message and how its last attempt failed.
    now
        The clock (aware), the time of the failed attempt.
    first_retry, max_gap, max_age
        Back-off start and cap, and the maximum age (see the module's constants).

    Returns
    -------
    RetryDecision
        ``retry`` at ``now + min(first_retry × 2^(attempts−1), max_gap)`` — or at the
        receiver's ``Retry-After`` capped at ``max_gap`` — unless that is past
        ``queued_at + max_age``: then ``dead``. ``dead`` at once for a permanent refusal.
    """
    error = message.error or "delivery failed"
    if message.permanent:
        return RetryDecision(
            "dead",
            None,
            f"{error}: the receiver refused the message itself, so it is not retried; fix "
            "the webhook, then `modelhealth ladder outbox resend`",
        )
    exponent = max(message.attempts - 1, 0)
    gap = min(first_retry * (2 ** min(exponent, 30)), max_gap)
    if message.retry_after is not None:
        gap = min(max(message.retry_after, timedelta(0)), max_gap)
    at = now + gap
    deadline = message.queued_at + max_age
    if at > deadline:
        return RetryDecision(
            "dead",
            None,
            f"{error}; gave up after {message.attempts} attempts over "
            f"{_span(now - message.queued_at)} (maximum age {_span(max_age)}): a dead letter "
            "until someone re-sends it (`modelhealth ladder outbox resend`)",
        )
    asked = " as the receiver asked" if message.retry_after is not None else ""
    return RetryDecision(
        "retry", at, f"{error}; attempt {message.attempts + 1} in {_span(gap)}{asked}"
    )
