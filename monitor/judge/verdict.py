"""A model's verdict for the night: its decided checks, the breaches, and its status.

The status is computed here and nowhere else:

* a model with no rows in the current window is ``blind`` — a monitor that cannot see
  never says healthy — with a ``blind`` breach at tier 4 (missing context fails safe to
  the highest priority, whatever the model's criticality);
* otherwise the worst check wins: ``breach`` > ``blind`` (a check that cannot see, e.g.
  quality without labels) > ``warning`` > ``insufficient_data`` (every check
  insufficient, or some insufficient and none ``ok``) > ``healthy``;
* a model whose labels are still due (``labels.coverage`` insufficient) is
  ``insufficient_data`` at best: its quality is not seen yet;
* a model healthy by its checks while part of the logs could not be read is a
  ``warning``: it may be failing in the rows nobody saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.report import Breach, Check, QualityBasis
from thresholds.vocabulary import Status

#: Tier of a blind finding: the highest, whatever the model's criticality.
BLIND_TIER = 4

__all__ = ["ModelVerdict", "checks_status", "model_status", "verdict_of"]


@dataclass(frozen=True)
class ModelVerdict:
    """One model's judgement for the night.

    Attributes
    ----------
    checks : tuple of Check
        Every check, decided (empty for a blind model).
    breaches : tuple of Breach
        The checks at ``warning`` or ``breach``, or the ``blind`` breach.
    status : Status
        The model's status in the report (see the module docstring).
    actionable : bool
        Whether the model's own checks found something for the ladder to act on, so a
        failure mode can be dominant: true unless it is healthy by its checks (a model
        raised to ``warning`` only because logs were unreadable is not actionable).
    quality_basis : {"measured", "estimated", "none"} or None
        What the quality verdict rests on (``None``: no quality floor, or no rows).
    """

    checks: tuple[Check, ...]
    breaches: tuple[Breach, ...]
    status: Status
    actionable: bool
    quality_basis: QualityBasis | None = None


def checks_status(checks: Sequence[Check]) -> Status:
    """The worst of the checks' statuses, as a model status (no checks: ``healthy``)."""
    statuses = {c.status for c in checks}
    if "breach" in statuses:
        return "breach"
    if "blind" in statuses:
        return "blind"
    if "warning" in statuses:
        return "warning"
    if statuses and statuses <= {"insufficient_data"}:
        return "insufficient_data"
    if "insufficient_data" in statuses and "ok" not in statuses:
        return "insufficient_data"
    return "healthy"


def model_status(checks: Sequence[Check], n_rows: int, *, partial_view: bool = False) -> Status:
    """Worst check wins; no rows at all is ``blind``; healthy with unreadable logs
    (``partial_view``) is a ``warning``."""
    if n_rows == 0:
        return "blind"
    status = checks_status(checks)
    if status == "healthy" and any(
        c.threshold == "labels.coverage" and c.status != "ok" for c in checks
    ):
        return "insufficient_data"
    return "warning" if partial_view and status == "healthy" else status


def verdict_of(
    checks: Sequence[Check],
    *,
    n_rows: int,
    criticality: int,
    partial_view: bool = False,
    quality_basis: QualityBasis | None = None,
) -> ModelVerdict:
    """The verdict of a model whose checks are decided.

    Parameters
    ----------
    checks
        Decided checks (ignored when ``n_rows`` is 0: a blind model has none).
    n_rows
        Rows of the model in the current window.
    criticality
        The model's criticality (1–4); a blind finding is tier 4 whatever it is.
    partial_view
        Part of the logs could not be read tonight.
    quality_basis
        What the quality verdict rests on, carried into the verdict.
    """
    if n_rows == 0:
        blind = Breach(
            threshold="blind", level="blind", observed=0, limit=None, n=0, tier=BLIND_TIER
        )
        return ModelVerdict(checks=(), breaches=(blind,), status="blind", actionable=True)
    breaches = tuple(
        Breach(
            threshold=c.threshold,
            level=c.status if c.status in ("breach", "blind") else "warning",
            observed=c.observed,
            limit=c.limit,
            ci_low=c.ci_low,
            ci_high=c.ci_high,
            n=c.n,
            tier=c.tier or 1,
        )
        for c in checks
        if c.status in ("warning", "breach", "blind")
    )
    return ModelVerdict(
        checks=tuple(checks),
        breaches=breaches,
        status=model_status(checks, n_rows, partial_view=partial_view),
        actionable=checks_status(checks) != "healthy",
        quality_basis=quality_basis,
    )
