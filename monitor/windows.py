"""Current and reference windows from an as-of date and the register."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from monitor.chunk import WindowBounds
from thresholds.schema import ModelEntry, parse_duration

__all__ = ["default_as_of", "parse_as_of", "to_datetime", "window_bounds"]


def default_as_of(now: datetime) -> date:
    """Yesterday in UTC: the last complete day when a nightly job runs after midnight."""
    return (now.astimezone(timezone.utc) - timedelta(days=1)).date()


def parse_as_of(text: str) -> date:
    """``YYYY-MM-DD``; raises ValueError with the expected form."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--as-of must be a date like 2026-11-21, not {text!r}") from None


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def window_bounds(entry: ModelEntry, as_of: date) -> WindowBounds:
    """The current window ends at the end of the as-of day (UTC); the reference window
    is the span just before the current one."""
    end = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=timezone.utc)
    current_start = end - parse_duration(entry.windows.current)
    reference_start = current_start - parse_duration(entry.windows.reference)
    return WindowBounds(
        reference_start=_ns(reference_start), current_start=_ns(current_start), current_end=_ns(end)
    )


def to_datetime(ns: int) -> datetime:
    """UTC datetime of nanoseconds since the epoch."""
    return datetime.fromtimestamp(ns / 1e9, tz=timezone.utc)
