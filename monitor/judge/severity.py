"""Severity: how far past its limit a check is, and the tier that follows.

Severity tiers (1 operational … 4 critical) combine how far past the limit a metric is
with the model's criticality: ``tier = clamp(magnitude + criticality − 2, 1, 4)`` where
magnitude is 1 (< 25 % past the allowed amount), 2 (< 100 %) or 3. For shares, the
"allowed amount" is the failure budget: a 0.88 accuracy floor allows 12 % failures, so
0.85 is 25 % past it.
"""

from __future__ import annotations

import math
from typing import Literal

__all__ = ["excess_level", "magnitude", "tier_for"]


def tier_for(level: int, criticality: int) -> int:
    """Severity tier from magnitude (1–3) and model criticality (1–4)."""
    return max(1, min(4, level + criticality - 2))


def excess_level(relative: float) -> int:
    """1, 2 or 3 for an excess below 25 %, below 100 % or beyond, of what was allowed."""
    if relative < 0.25:
        return 1
    if relative < 1.0:
        return 2
    return 3


def magnitude(
    observed: float, limit: float, direction: Literal["max", "min"], *, share: bool
) -> int:
    """1, 2 or 3: how far past the limit, relative to the amount the limit allows.

    For a ceiling the allowed amount is the limit itself; for a floor on a share it is
    the failure budget ``1 − limit`` (a 0.88 accuracy floor allows 12 % failures).
    """
    if direction == "max":
        excess = observed - limit
        allowed = limit
    else:
        excess = limit - observed
        allowed = (1.0 - limit) if share else limit
    return excess_level(excess / allowed if allowed > 0 else math.inf)
