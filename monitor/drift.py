"""Data and prediction drift between two windows, over every row of both.

Each window's :class:`~monitor.stats.drift_fold.DriftFold` holds mergeable distributions
of the ``feature.*`` columns, the ``prediction`` and the ``confidence``, folded in the
same pass as the other aggregates and merged across chunks, threads and Dask
partitions (no sample, no second read). :func:`compute_drift` compares them column by
column with the method Evidently 0.7 picks by default, Evidently's thresholds and its
verdict rule (:mod:`monitor.stats.drift_methods`), so the verdicts are those Evidently
would give on the same *full* windows:

============  ==========================  ==============================================
column        reference ≤ 1 000 values    reference > 1 000 values
============  ==========================  ==============================================
numeric       K-S test (p-value)          Wasserstein distance, normed by reference std
categorical   chi-square (> 2 values) or  Jensen-Shannon distance
              Z-test (≤ 2 values)
============  ==========================  ==============================================

(numeric columns with ≤ 5 distinct values are compared like categorical ones). A test
flags drift when its p-value falls below the register's ``drift.p_value``; a distance
at or above Evidently's default threshold (0.1 for Wasserstein and Jensen-Shannon).

Accuracy (the sketch's error bound): chi-square, Z and Jensen-Shannon are exact (unless
a column has more than 16 384 categories, when Jensen-Shannon gets a bound). K-S and
Wasserstein are exact while a window holds at most 10 000 values of the column, or at
most 8 192 distinct ones. Beyond, a window's values are bucketed: each bucket spans
values within a relative width ``2^-m`` of each other (``m = 52 − shift`` mantissa bits
kept, as many as fit 8 192 occupied buckets: the fewer binades the values span, the
finer). Moving every value to its bucket's middle moves it by at most the half-width
``h ≤ 2^-(m+1)·(1 + 2^-m)·|x|``, so the normed Wasserstein distance is within

    ε = (E_ref[h] + E_cur[h]) / max(σ_ref, 0.001)
      ≤ 2^-(m+1)·(1 + 2^-m)·(E_ref|X| + E_cur|X|) / σ_ref

of the exact value, and K-S's ``D`` within the largest bucket share of each window.
Every column's guaranteed interval is in the report (``statistic_low`` /
``statistic_high``, equal to ``statistic`` when exact); see
:mod:`monitor.stats.drift_methods`.

Evidently itself renders only the drill-down page (:mod:`monitor.drift_evidently`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from typing import Any

from monitor.report import DriftColumn, DriftSummary
from monitor.stats.aggregates import WindowAggregate
from monitor.stats.drift_columns import choose_drift_columns
from monitor.stats.drift_fold import FEATURE_PREFIX, DriftFold
from monitor.stats.drift_methods import ColumnDrift, NotComparable, window_drift
from thresholds.schema import DriftLimits

__all__ = ["MIN_ROWS", "compute_drift", "not_computed", "rounded_score", "share_drifted"]

#: Fewer rows than this in either window and drift is not computed.
MIN_ROWS = 30


def compute_drift(
    current: WindowAggregate,
    reference: WindowAggregate,
    limits: DriftLimits,
    *,
    model_id: str = "",
) -> DriftSummary:
    """Per-column drift of features, prediction and confidence between two whole windows.

    Parameters
    ----------
    current, reference : WindowAggregate
        The two windows; their drift folds (``.drift``) are read.
    limits : DriftLimits
        ``p_value`` is the significance level of the tests; ``max_columns`` caps the
        feature columns compared (the first by name; the fold kept exactly those).
    model_id : str, optional
        Named in skip reasons.

    Returns
    -------
    DriftSummary
        One :class:`~monitor.report.DriftColumn` per compared column, with the rows
        compared in each window (``n_current``, ``n_reference``: non-missing values) and
        the guaranteed interval of the statistic. ``statistic`` is Evidently's drift
        score (the p-value for tests, the distance otherwise); ``p_value`` repeats it
        for tests. A column without a value in a window is reported with method ``"not
        comparable: …"`` and ``drifted=False``. ``share_drifted_features`` is drifted /
        compared ``feature.*`` columns (None without comparable features).
        ``sample_size_current`` / ``_reference`` are the windows' rows: every row is
        compared. ``skipped_reason`` is set, and no column reported, when drift is
        disabled or a window has fewer than :data:`MIN_ROWS` rows. ``html`` is left for
        the caller (the drill-down page, :func:`monitor.drift_evidently.drift_page`).
    """
    n_cur, n_ref = current.n_rows, reference.n_rows
    skipped_summary = not_computed(limits, n_cur, n_ref, model_id=model_id)
    if skipped_summary is not None:
        return skipped_summary
    who = f"model {model_id!r}: " if model_id else ""
    cur, ref = current.drift, reference.drift
    choice = choose_drift_columns(_present(cur, ref), max_features=limits.max_columns)
    names = [column for column, _ in choice.compared]
    measured = window_drift(
        cur.distributions, ref.distributions, p_value=limits.p_value, columns=names
    )
    ordered = [
        _column(column, kind, measured[column], cur, ref) for column, kind in choice.compared
    ]
    share = share_drifted(ordered, {c.column for c in ordered if c.statistic is not None})
    skipped = None
    if all(c.statistic is None for c in ordered):
        skipped = f"{who}no column holds values in both windows"
    return DriftSummary(
        sample_size_current=n_cur,
        sample_size_reference=n_ref,
        columns=ordered,
        share_drifted_features=share,
        skipped_reason=skipped,
        **choice.report_fields(),
    )


def not_computed(
    limits: DriftLimits, n_cur: int, n_ref: int, *, model_id: str = "", unit: str = "rows"
) -> DriftSummary | None:
    """The summary of a drift that is not computed, and why: disabled in the register,
    or fewer than :data:`MIN_ROWS` ``unit`` in a window; None when drift can be computed."""
    who = f"model {model_id!r}: " if model_id else ""
    if not limits.enabled:
        return DriftSummary(skipped_reason=f"{who}drift checks are disabled in the register")
    if min(n_cur, n_ref) >= MIN_ROWS:
        return None
    window, rows = ("current", n_cur) if n_cur < MIN_ROWS else ("reference", n_ref)
    return DriftSummary(
        sample_size_current=n_cur,
        sample_size_reference=n_ref,
        skipped_reason=(
            f"{who}the {window} window has {rows} {unit}; drift needs at least {MIN_ROWS} "
            "in each window"
        ),
    )


def share_drifted(columns: Sequence[DriftColumn], compared: Collection[str]) -> float | None:
    """Drifted / compared ``feature.*`` columns; None without a compared feature."""
    features = [c for c in columns if c.kind == "feature" and c.column in compared]
    return (sum(c.drifted for c in features) / len(features)) if features else None


def _present(cur: DriftFold, ref: DriftFold) -> set[str]:
    """The columns of either window, without feature columns that hold no value in
    either: a log shared by several models has every model's feature columns, null on the
    other models' rows, and those are another model's features, not this one's."""
    return {
        name
        for name in cur.seen | ref.seen
        if not name.startswith(FEATURE_PREFIX) or name in cur.valued or name in ref.valued
    }


def _column(
    column: str,
    kind: Any,
    result: ColumnDrift | NotComparable,
    cur: DriftFold,
    ref: DriftFold,
) -> DriftColumn:
    if isinstance(result, NotComparable):
        reason = result.reason
        for window, fold in (("current", cur), ("reference", ref)):
            if column not in fold.valued:
                reason = (
                    f"no values in the {window} window"
                    if column in fold.seen
                    else f"absent from the {window} window"
                )
                break
        return DriftColumn(
            column=column,
            kind=kind,
            method=f"not comparable: {reason}",
            statistic=None,
            drifted=False,
        )
    score = rounded_score(result.statistic)
    return DriftColumn(
        column=column,
        kind=kind,
        method=result.method.display_name,
        statistic=score,
        p_value=score if result.method.p_value else None,
        threshold=result.threshold,
        drifted=result.drifted,
        n_current=result.n_current,
        n_reference=result.n_reference,
        statistic_low=rounded_score(result.statistic_low),
        statistic_high=rounded_score(result.statistic_high),
    )


def rounded_score(value: Any) -> float | None:
    """A drift score as a finite float to 12 significant digits, else None.

    Scores vary in the last bits with summation order: the windows' means and variances
    merge with Chan's update in merge order (threads, Dask partitions), and Evidently's
    numpy sums depend on memory alignment. Twelve digits keep reruns and engines
    byte-identical while losing nothing a drift decision could depend on.
    """
    if value is None:
        return None
    number = float(value)
    return float(f"{number:.12g}") if math.isfinite(number) else None
