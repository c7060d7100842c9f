"""How the report page writes numbers, times, money and statuses.

Shares are shown as percentages, latencies in milliseconds, counts with thousands
separators; a missing or non-finite value is a dash. A status is shown as a word, a
symbol and a marker shape besides its colour, for readers who cannot tell colours apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

__all__ = [
    "DASH",
    "MarkerShape",
    "StatusStyle",
    "compact",
    "count",
    "money",
    "ms",
    "num",
    "p_value",
    "pct",
    "status_style",
    "threshold_unit",
    "threshold_value",
    "title",
    "utc",
]

MarkerShape = Literal["circle", "ring", "diamond", "square", "cross", "triangle"]

DASH = "—"


def pct(value: float | None, digits: int = 1) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    scaled = value * 100
    if 0 < abs(scaled) < 0.1:
        digits = max(digits, 2)
    return f"{scaled:.{digits}f} %"


def ms(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    if abs(value) >= 100:
        return f"{value:,.0f} ms"
    if abs(value) >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def num(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    return f"{value:,.{digits}f}"


def count(value: int | float | None) -> str:
    if value is None:
        return DASH
    return f"{value:,.0f}"


def compact(value: float) -> str:
    """Short counts for chart labels: 950, 1.2k, 34k, 1.2M."""
    for limit, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            scaled = value / limit
            return f"{scaled:.1f}{suffix}" if scaled < 10 else f"{scaled:.0f}{suffix}"
    return f"{value:.0f}"


def p_value(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def utc(value: datetime | None) -> str:
    if value is None:
        return DASH
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%d %H:%M UTC")


def money(value: float | None, currency: str) -> str:
    if value is None or not math.isfinite(value):
        return DASH
    return f"{currency} {value:,.0f}" if value >= 1000 else f"{currency} {value:,.2f}"


def threshold_unit(threshold: str) -> Literal["pct", "ms", "per_hour", "ratio", "rows"]:
    if threshold in ("quality", "confidence.share_below", "drift.features") or (
        threshold == "error_rate" or threshold.startswith("error_rate.")
    ):
        return "pct"
    if threshold.startswith("latency_ms."):
        return "ms"
    if threshold == "throughput":
        return "per_hour"
    if threshold == "blind":
        return "rows"
    return "ratio"


def threshold_value(threshold: str, value: float | None) -> str:
    """A checked value in the unit of its threshold: 4.2 %, 812 ms, 120 /h, 0.094."""
    if value is None:
        return DASH
    unit = threshold_unit(threshold)
    if unit == "pct":
        return pct(value)
    if unit == "ms":
        return ms(value)
    if unit == "per_hour":
        return f"{num(value, 1)} /h"
    if unit == "rows":
        return f"{count(value)} rows"
    return num(value)


def title(identifier: str) -> str:
    """``prompt_optimization`` → ``Prompt optimization``."""
    words = identifier.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


_STATUS_LABELS = {
    "healthy": "Healthy",
    "ok": "OK",
    "warning": "Warning",
    "breach": "Breach",
    "insufficient_data": "Insufficient data",
    "blind": "Blind",
}
_STATUS_SYMBOLS = {
    "healthy": "✓",
    "ok": "✓",
    "warning": "!",
    "breach": "✕",
    "insufficient_data": "?",
    "blind": "⊘",
}
#: Marker shapes double the colour coding, for readers who cannot tell the colours apart.
_STATUS_SHAPES: dict[str, MarkerShape] = {
    "healthy": "circle",
    "ok": "circle",
    "warning": "triangle",
    "breach": "square",
    "insufficient_data": "ring",
    "blind": "cross",
}


@dataclass(frozen=True)
class StatusStyle:
    """A status as shown: a fixed CSS class (never built from input), a word and a symbol."""

    key: str
    label: str
    symbol: str
    cls: str
    shape: MarkerShape


def status_style(status: str | None) -> StatusStyle:
    key = status if status in _STATUS_LABELS else "unknown"
    return StatusStyle(
        key=key,
        label=_STATUS_LABELS.get(key, title(status or "unknown")),
        symbol=_STATUS_SYMBOLS.get(key, "·"),
        cls="st-healthy" if key == "ok" else f"st-{key}",
        shape=_STATUS_SHAPES.get(key, "ring"),
    )
