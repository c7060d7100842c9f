"""How numbers read in the evidence and notes: counts with separators, short percentages."""

from __future__ import annotations

__all__ = ["n", "num", "p", "pct"]


def n(k: int) -> str:
    """Integer with spaces between thousands: 10 000."""
    return f"{k:,}".replace(",", " ")


def pct(x: float) -> str:
    """A share as a percentage: one decimal from 1 %, two significant digits below."""
    value = 100 * x
    if value == 0 or value >= 1:
        return f"{value:.1f} %"
    return f"{value:.2g} %"


def p(p: float) -> str:
    """A p-value as evidence reads it: ``p = 0.012``, ``p = 3.1e-05``, ``p < 1e-12``."""
    if p < 1e-12:
        return "p < 1e-12"
    if p < 1e-3:
        return f"p = {p:.1e}"
    return f"p = {p:.3f}"


def num(x: float | None) -> str:
    """A measured value: whole with separators from 100, three significant digits below."""
    if x is None:
        return "n/a"
    return f"{x:,.0f}".replace(",", " ") if abs(x) >= 100 else f"{x:.3g}"
