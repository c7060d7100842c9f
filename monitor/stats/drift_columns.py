"""Which columns a night's drift compares: the one place that chooses them.

Each compared column costs drift work (a statistic, a page section): 2,000 logged
feature columns took ten minutes and a 75 MB page. :func:`choose_drift_columns` keeps
the prediction and the confidence always, and at most ``max_features`` ``feature.*``
columns, the first by name, so the choice is the same every night and in every engine;
it also says what was left out, for the report's note. Both drift paths (Evidently on
samples, :mod:`monitor.drift`; and the mergeable summaries of
:mod:`monitor.stats.drift_methods`) choose through it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["ColumnChoice", "Kind", "choose_drift_columns"]

Kind = Literal["feature", "prediction", "confidence"]

#: Names of left-out columns kept for the report's note.
_NAMED = 10


@dataclass(frozen=True)
class ColumnChoice:
    """The columns to compare, in report order, and the feature columns left out."""

    compared: list[tuple[str, Kind]]
    left_out: int
    first_left_out: list[str]
    max_features: int

    def report_fields(self) -> dict[str, Any]:
        """What a :class:`~monitor.report.DriftSummary` says about the columns left out."""
        return {"columns_not_compared": self.left_out, "note": self.note()}

    def note(self) -> str | None:
        """The report's note when columns were left out, else ``None``."""
        if not self.left_out:
            return None
        features = sum(1 for _, kind in self.compared if kind == "feature")
        named = ", ".join(self.first_left_out)
        more = (
            f", … ({self.left_out - len(self.first_left_out)} more)"
            if (self.left_out > len(self.first_left_out))
            else ""
        )
        return (
            f"drift compared {features:,} of {features + self.left_out:,} feature columns, "
            f"the first by name (thresholds.drift.max_columns: {self.max_features}); not "
            f"compared: {named}{more}"
        )


def choose_drift_columns(names: Iterable[str], *, max_features: int) -> ColumnChoice:
    """Features (the first ``max_features`` by name), then prediction, then confidence,
    of the columns present in either window.

    Raises
    ------
    ValueError
        When ``max_features`` is below 1.
    """
    if max_features < 1:
        raise ValueError(f"max_features must be at least 1, not {max_features}")
    present = set(names)
    features = sorted(name for name in present if name.startswith("feature."))
    compared: list[tuple[str, Kind]] = [(name, "feature") for name in features[:max_features]]
    if "prediction" in present:
        compared.append(("prediction", "prediction"))
    if "confidence" in present:
        compared.append(("confidence", "confidence"))
    rest = features[max_features:]
    return ColumnChoice(compared, len(rest), rest[:_NAMED], max_features)
