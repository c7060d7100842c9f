"""How the process records write text: times, hours, and user text made safe for one
Markdown table cell or one line of running Markdown."""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["cell", "hours", "line", "when"]

_NEWLINES = re.compile(r"\r\n|\r|\n")


def when(moment: datetime | None) -> str:
    """``2026-10-17 09:00 UTC``, or a dash."""
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def hours(value: float | None) -> str:
    """``1.5 h`` below two days, ``3.2 d`` above, a dash for nothing."""
    if value is None:
        return "—"
    return f"{value / 24:.1f} d" if value >= 48 else f"{value:.1f} h"


def line(text: str) -> str:
    """User text on one line of running Markdown: no line breaks, no HTML tags."""
    return " ".join(_NEWLINES.split(text)).replace("<", "\\<").strip()


def cell(text: str) -> str:
    """User text in one Markdown table cell: pipes escaped, line breaks as ``<br>``."""
    return "<br>".join(
        _NEWLINES.split(text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "\\<"))
    )
