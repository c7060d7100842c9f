"""Windows: the current window ends at the end of the as-of day (UTC)."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from monitor.windows import default_as_of, parse_as_of, to_datetime, window_bounds
from thresholds.schema import ModelEntry, Windows


def entry(current: str, reference: str) -> ModelEntry:
    return ModelEntry(id="m", owner="o", windows=Windows(current=current, reference=reference))


def test_one_day_against_the_28_days_before() -> None:
    bounds = window_bounds(entry("1d", "28d"), date(2026, 11, 21))
    assert to_datetime(bounds.current_end) == datetime(2026, 11, 22, tzinfo=timezone.utc)
    assert to_datetime(bounds.current_start) == datetime(2026, 11, 21, tzinfo=timezone.utc)
    assert to_datetime(bounds.reference_start) == datetime(2026, 10, 24, tzinfo=timezone.utc)


def test_hour_windows_are_honoured() -> None:
    bounds = window_bounds(entry("12h", "2w"), date(2026, 3, 1))
    assert bounds.current_end - bounds.current_start == 12 * 3_600 * 10**9
    assert bounds.current_start - bounds.reference_start == 14 * 86_400 * 10**9


def test_default_night_is_yesterday_in_utc() -> None:
    # 00:30 on the 22nd in UTC+2 is still the 21st in UTC: yesterday is the 20th.
    from datetime import timedelta

    local = datetime(2026, 11, 22, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    assert default_as_of(local) == date(2026, 11, 20)


def test_as_of_must_be_a_date() -> None:
    assert parse_as_of("2026-11-21") == date(2026, 11, 21)
    with pytest.raises(ValueError, match="2026-11-21"):
        parse_as_of("21/11/2026")
