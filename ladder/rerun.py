"""Does a rerun of a decided night differ in what decides? Pure.

A night is decided once (:mod:`ladder.nightly`); rerunning it must not change the
decision behind people's backs, and must not cry wolf either. Two runs of the same
night can differ in bytes that decide nothing: Evidently's Jensen–Shannon distance moves
in its last digit between processes (Python's string hashing orders its categories), a
note is worded differently, the report was generated at another time. What decides is
what the rules read: the model's status, its triggers (check, level and tier), the checks
that support persistence, the dominant failure mode, and the night's headline metrics.
:func:`rerun_differences` compares exactly those, metrics to four significant digits,
and says in words what changed.
"""

from __future__ import annotations

from collections.abc import Mapping

from ladder.state import Night

__all__ = ["SIGNIFICANT_DIGITS", "rerun_differences"]

#: Headline metrics are compared at this many significant digits.
SIGNIFICANT_DIGITS = 4


def _rounded(value: float | None) -> str:
    return "none" if value is None else f"{value:.{SIGNIFICANT_DIGITS}g}"


def _trigger_set(night: Night) -> dict[str, str]:
    return {t.name: f"{t.level}, tier {t.tier}" for t in night.triggers}


def rerun_differences(
    stored: Night,
    stored_summary: Mapping[str, float | None],
    rerun: Night,
    rerun_summary: Mapping[str, float | None],
) -> tuple[str, ...]:
    """What differs, in words, between the night as decided and as rerun (empty: the
    rerun decides the same)."""
    out: list[str] = []
    if stored.status != rerun.status:
        out.append(f"status {stored.status} → {rerun.status}")
    before, after = _trigger_set(stored), _trigger_set(rerun)
    for name in sorted(before.keys() | after.keys()):
        was, now = before.get(name), after.get(name)
        if was != now:
            out.append(f"{name}: {was or 'nothing'} → {now or 'nothing'}")
    support_before = {t.name for t in stored.support}
    support_after = {t.name for t in rerun.support}
    for name in sorted(support_before ^ support_after):
        side = "now supports" if name in support_after else "no longer supports"
        out.append(f"{name} {side} persistence")
    if stored.dominant_mode != rerun.dominant_mode:
        out.append(
            f"dominant failure mode {stored.dominant_mode or 'none'} → "
            f"{rerun.dominant_mode or 'none'}"
        )
    for key in sorted(stored_summary.keys() | rerun_summary.keys()):
        was, now = _rounded(stored_summary.get(key)), _rounded(rerun_summary.get(key))
        if was != now:
            out.append(f"{key} {was} → {now}")
    return tuple(out)
