"""The report's ladder-process panel: how the escalation process is doing across the
register, from ``ladder stats`` (:class:`ladder.stats.LadderStats`), as figures and three
SVG charts drawn with :mod:`.charts`' primitives:

* escalations per ISO week, stacked by tier, with the least-squares trend line;
* time to detection, acknowledgement, communication, decision and resolution (median bar,
  90th-percentile tick) on a log axis in hours;
* SLA misses by tier.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from ladder.sla import TIER_NAMES
from ladder.stats import DurationStats, LadderStats
from modelhealth.outputs.html.charts import Chart, Line, Polyline, Rect, Scale, Text, nice_ticks

__all__ = [
    "ProcessPanel",
    "durations_chart",
    "misses_chart",
    "process_panel",
    "weekly_chart",
]

_W, _H = 460, 260
_TIERS = (1, 2, 3, 4)


@dataclass(frozen=True)
class ProcessPanel:
    """The panel as the template shows it: figures (label, value) and the charts."""

    figures: list[tuple[str, str]]
    weekly: Chart | None
    durations: Chart | None
    misses: Chart


def weekly_chart(stats: LadderStats) -> Chart | None:
    """Escalations per week, one bar per week stacked by tier (1 at the bottom), and the
    trend over the last ``trend_weeks`` weeks as a dashed line."""
    weeks = list(stats.weekly)
    if not weeks:
        return None
    chart = Chart(_W, _H, "Escalations per ISO week, stacked by severity tier, with the trend")
    x0, x1, y0, y1 = 46.0, 448.0, 30.0, 214.0
    top = max(max(w.total for w in weeks), 1)
    ticks = [t for t in nice_ticks(0, top, 5) if float(t).is_integer()] or [0.0, float(top)]
    sy = Scale(0, max(ticks[-1], top), y1, y0)
    band = (x1 - x0) / len(weeks)
    for tick in ticks:
        chart.add(
            Line(x0, sy(tick), x1, sy(tick), "grid"),
            Text(x0 - 6, sy(tick) + 4, f"{tick:g}", "tick", "end"),
        )
    for i, week in enumerate(weeks):
        left = x0 + i * band + band * 0.15
        width = band * 0.7
        base = 0
        for tier in _TIERS:
            n = week.by_tier.get(tier, 0)
            if not n:
                continue
            chart.add(
                Rect(
                    left,
                    sy(base + n),
                    width,
                    sy(base) - sy(base + n),
                    f"tier-{tier}",
                    f"{week.week}: tier {tier} ({TIER_NAMES[tier]}), {n} escalation"
                    f"{'s' if n != 1 else ''}",
                )
            )
            base += n
        if len(weeks) <= 12 or i % max(1, len(weeks) // 8) == 0:
            chart.add(Text(left + width / 2, y1 + 14, week.week[-3:], "tick small", "middle"))
    slope = stats.trend.get(0)
    recent = weeks[-stats.trend_weeks :]
    if slope is not None and len(recent) >= 2:
        mean_y = sum(w.total for w in recent) / len(recent)
        mid = (len(recent) - 1) / 2
        first = len(weeks) - len(recent)

        def at(k: int) -> tuple[float, float]:
            value = max(mean_y + slope * (k - mid), 0.0)
            return x0 + (first + k) * band + band / 2, sy(value)

        (xa, ya), (xb, yb) = at(0), at(len(recent) - 1)
        chart.add(Polyline(f"{xa},{ya} {xb},{yb}", "trend-fit"))
    chart.add(
        Line(x0, y1, x1, y1, "axis"),
        Line(x0, y0, x0, y1, "axis"),
        Text((x0 + x1) / 2, _H - 10, "ISO week (UTC)", "axis-title", "middle"),
        Text(14, (y0 + y1) / 2, "Escalations", "axis-title", "middle", -90),
    )
    x = x0
    for tier in _TIERS:
        chart.add(Rect(x, 8, 10, 10, f"tier-{tier}"), Text(x + 14, 17, f"tier {tier}", "legend"))
        x += 62
    chart.add(Line(x + 4, 13, x + 22, 13, "trend-fit"), Text(x + 26, 17, "trend", "legend"))
    return chart


def _hours(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds() / 3600


def _label(hours: float) -> str:
    return f"{hours / 24:.1f} d" if hours >= 48 else f"{hours:.1f} h"


def durations_chart(rows: Sequence[tuple[str, DurationStats]]) -> Chart | None:
    """Median (bar) and 90th percentile (tick) of each duration, hours on a log axis."""
    shown = [(name, d) for name, d in rows if d.count and d.median is not None]
    if not shown:
        return None
    height = 40 + 34 * len(rows) + 34
    chart = Chart(
        _W, height, "Median and 90th percentile of each process duration, hours, log scale"
    )
    x0, x1, y0 = 150.0, 440.0, 14.0
    values = [v for _, d in shown for v in (_hours(d.median), _hours(d.p90)) if v]
    lo = min(min(values), 0.5)
    hi = max(max(values) * 1.3, 2.0)
    lo = 10 ** math.floor(math.log10(lo))
    sx = Scale(lo, hi, x0, x1, log=True)
    y_axis = y0 + 34 * len(rows)
    exponent = math.floor(math.log10(lo))
    while 10.0**exponent <= hi:
        tick = 10.0**exponent
        chart.add(
            Line(sx(tick), y0, sx(tick), y_axis, "grid"),
            Text(
                sx(tick),
                y_axis + 14,
                _label(tick) if tick >= 1 else f"{tick:g} h",
                "tick small",
                "middle",
            ),
        )
        exponent += 1
    for i, (name, d) in enumerate(rows):
        y = y0 + 34 * i + 8
        chart.add(Text(x0 - 8, y + 12, f"{name} (n={d.count})", "tick", "end"))
        median, p90 = _hours(d.median), _hours(d.p90)
        if median is None or not d.count:
            chart.add(Text(x0 + 4, y + 12, "none yet", "tick small"))
            continue
        width = max(sx(max(median, lo)) - x0, 1.0)
        chart.add(
            Rect(
                x0,
                y,
                width,
                16,
                "bar-duration",
                f"{name}: median {_label(median)}, p90 {_label(p90 or median)}, n={d.count}",
            )
        )
        if p90 is not None:
            px = sx(max(p90, lo))
            chart.add(Line(px, y - 3, px, y + 19, "p90-tick"))
        chart.add(Text(x0 + width + 6, y + 12, _label(median), "tick small"))
    chart.add(
        Line(x0, y_axis, x1, y_axis, "axis"),
        Text(
            (x0 + x1) / 2,
            height - 6,
            "Hours (log scale); bar = median, tick = p90",
            "axis-title small",
            "middle",
        ),
    )
    return chart


def misses_chart(stats: LadderStats) -> Chart:
    """SLA misses by tier, one bar per tier 1–4, each labelled with its count."""
    chart = Chart(_W, 200, "SLA clocks that ran out, by severity tier")
    x0, x1, y0, y1 = 46.0, 448.0, 20.0, 160.0
    top = max([*stats.misses_by_tier.values(), 1])
    ticks = [t for t in nice_ticks(0, top, 4) if float(t).is_integer()] or [0.0, float(top)]
    sy = Scale(0, max(ticks[-1], top), y1, y0)
    for tick in ticks:
        chart.add(
            Line(x0, sy(tick), x1, sy(tick), "grid"),
            Text(x0 - 6, sy(tick) + 4, f"{tick:g}", "tick", "end"),
        )
    band = (x1 - x0) / len(_TIERS)
    for i, tier in enumerate(_TIERS):
        n = stats.misses_by_tier.get(tier, 0)
        left = x0 + i * band + band * 0.25
        if n:
            chart.add(
                Rect(
                    left,
                    sy(n),
                    band * 0.5,
                    y1 - sy(n),
                    f"tier-{tier}",
                    f"tier {tier} ({TIER_NAMES[tier]}): {n} clock{'s' if n != 1 else ''} ran out",
                )
            )
        chart.add(
            Text(left + band * 0.25, sy(n) - 5, str(n), "count", "middle"),
            Text(left + band * 0.25, y1 + 15, f"tier {tier}", "tick", "middle"),
        )
    chart.add(
        Line(x0, y1, x1, y1, "axis"),
        Line(x0, y0, x0, y1, "axis"),
        Text(14, (y0 + y1) / 2, "Misses", "axis-title", "middle", -90),
    )
    return chart


def process_panel(stats: LadderStats) -> ProcessPanel:
    """The panel for ``stats`` (computed with the incidents' facts and the run's clock)."""
    weeks = len(stats.weekly)
    slope = stats.trend.get(0)
    rate = "—" if stats.repeat_rate is None else f"{stats.repeat_rate:.0%}"
    figures = [
        ("Escalations", str(stats.escalations)),
        ("Per week", f"{stats.escalations / weeks:.2f}" if weeks else "—"),
        ("Trend", "—" if slope is None else f"{slope:+.2f}/week ({stats.trend_direction})"),
        ("SLA misses", str(stats.misses)),
        (f"Repeat rate ({stats.repeat_window_days} d)", rate),
    ]
    durations = [
        ("Detection", stats.detection),
        ("Acknowledgement", stats.acknowledgement),
        ("Communication", stats.communication),
        ("Decision", stats.decision),
        ("Resolution", stats.resolution),
    ]
    return ProcessPanel(
        figures, weekly_chart(stats), durations_chart(durations), misses_chart(stats)
    )
