"""Evidently on bounded samples of two windows: the drill-down page and the analyst's view.

The night's drift is computed over every row from mergeable summaries
(:func:`monitor.drift.compute_drift`). Evidently stays for what it does best, its
interactive page: :func:`drift_page` renders it for the columns that drifted (or any
columns asked for) on the windows' bounded samples, and :func:`evidently_drift` is
Evidently's own per-column verdicts on those samples, which the analyst notebook shows
next to its page.

Each window's :class:`~monitor.stats.aggregates.DriftSample` is a bounded, deterministic
bottom-k sample (the rows whose prediction-id hash is smallest), so the page shows the
same rows however the logs were chunked, and a rerun gives the same page. Every
``feature.*`` column, the ``prediction`` (categorical) and the ``confidence`` (numeric)
are compared one by one with Evidently's ``ValueDrift``; Evidently picks the method from
the column type and the reference *sample* size (the table in :mod:`monitor.drift`), with
the register's ``drift.p_value`` for tests and its default thresholds for distances.
The verdict per column is Evidently's own test result. On a sample, a verdict can
differ from the whole window's (a sample has less power, and Evidently's method can
differ when the sample is smaller than 1 001 rows).

Evidently's HTML page is self-contained: its JavaScript (React, Plotly) is inlined, so it
opens offline; it is about 4 MB whatever the sample size.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from monitor.drift import MIN_ROWS, not_computed, rounded_score, share_drifted
from monitor.report import DriftColumn, DriftSummary
from monitor.stats.aggregates import DriftSample, WindowAggregate
from monitor.stats.drift_columns import Kind, choose_drift_columns
from thresholds.schema import DriftLimits

__all__ = ["MIN_SAMPLE_ROWS", "P_VALUE_METHODS", "drift_page", "evidently_drift"]

#: Fewer sample rows than this in either window and drift is not computed.
MIN_SAMPLE_ROWS = MIN_ROWS

#: Evidently stat-test names whose drift score is a p-value (drift when small); every
#: other method scores a distance or divergence (drift when large). From the
#: ``return p_value, p_value < threshold`` lines of ``evidently.legacy.calculations.stattests``.
P_VALUE_METHODS = frozenset(
    {
        "anderson",
        "chisquare",
        "cramer_von_mises",
        "empirical_mmd",
        "es",
        "fisher_exact",
        "g_test",
        "ks",
        "mannw",
        "t_test",
        "TVD",
        "z",
    }
)

ColumnKind = Literal["num", "cat"]


@dataclass(frozen=True)
class _Plan:
    """One column to compare: its name, role and how Evidently should read it."""

    column: str
    kind: Kind
    dtype: ColumnKind
    current: pd.Series
    reference: pd.Series


def drift_page(
    current: WindowAggregate,
    reference: WindowAggregate,
    limits: DriftLimits,
    *,
    path: Path,
    model_id: str = "",
    columns: Collection[str] | None = None,
) -> Path | None:
    """Write Evidently's drift page for ``columns`` (every compared column when None),
    drawn from the windows' bounded samples; its path, or None when the samples are too
    small (fewer than :data:`MIN_SAMPLE_ROWS` rows) or hold none of those columns."""
    summary = evidently_drift(
        current, reference, limits, html_path=path, model_id=model_id, columns=columns
    )
    return None if summary.html is None else Path(summary.html)


def evidently_drift(
    current: WindowAggregate,
    reference: WindowAggregate,
    limits: DriftLimits,
    *,
    html_path: Path | None = None,
    model_id: str = "",
    columns: Collection[str] | None = None,
) -> DriftSummary:
    """Evidently's per-column drift of features, prediction and confidence, on samples.

    Parameters
    ----------
    current, reference : WindowAggregate
        The two windows; only their drift samples are read.
    limits : DriftLimits
        ``p_value`` is the significance level of test-based methods; ``sample_size``
        caps the rows used from each sample (the first rows in hash order, which is the
        bottom-k sample of that smaller size, so still deterministic).
    html_path : Path, optional
        Where to save Evidently's own HTML page; its path is returned in ``html``.
    model_id : str, optional
        Named in the HTML page's title and in skip reasons.
    columns : collection of str, optional
        Compare only these of the chosen columns (the page of the drifted ones).

    Returns
    -------
    DriftSummary
        One :class:`~monitor.report.DriftColumn` per compared column. ``statistic`` is
        Evidently's drift score (the p-value for tests, the distance otherwise);
        ``p_value`` repeats it for tests and is None for distances. A column that holds
        no finite value in a window is reported with method ``"not comparable: …"`` and
        ``drifted=False``. ``share_drifted_features`` is drifted / compared ``feature.*``
        columns (None without comparable features). ``skipped_reason`` is set, and no
        column reported, when drift is disabled or a window has fewer than
        :data:`MIN_SAMPLE_ROWS` sample rows.

    Notes
    -----
    A 5 000-row sample per window with 8 columns takes 0.35–0.6 s, plus about 0.1 s to
    write the HTML page (measured on one core); importing Evidently the first time costs
    about 3 s more.
    """
    who = f"model {model_id!r}: " if model_id else ""
    cur = _sample_columns(current.sample, limits.sample_size)
    ref = _sample_columns(reference.sample, limits.sample_size)
    n_cur, n_ref = _rows(cur), _rows(ref)
    skipped = not_computed(limits, n_cur, n_ref, model_id=model_id, unit="sample rows")
    if skipped is not None:
        return skipped

    choice = choose_drift_columns(_present_columns(cur, ref), max_features=limits.max_columns)
    if columns is not None:
        choice = replace(choice, compared=[c for c in choice.compared if c[0] in columns])
    plans: list[_Plan] = []
    results: dict[str, DriftColumn] = {}
    for column, kind in choice.compared:
        plan_or_reason = _plan(column, kind, cur.get(column), ref.get(column))
        if isinstance(plan_or_reason, str):
            results[column] = DriftColumn(
                column=column,
                kind=kind,
                method=f"not comparable: {plan_or_reason}",
                statistic=None,
                drifted=False,
            )
        else:
            plans.append(plan_or_reason)
    if not plans:
        return DriftSummary(
            sample_size_current=n_cur,
            sample_size_reference=n_ref,
            columns=list(results.values()),
            skipped_reason=f"{who}no column holds values in both windows",
            **choice.report_fields(),
        )

    html: str | None = None
    measured, snapshot = _run_evidently(plans, limits, model_id)
    results.update(measured)
    if html_path is not None:
        html_path.parent.mkdir(parents=True, exist_ok=True)
        snapshot.save_html(str(html_path))
        html = str(html_path)

    ordered = [results[column] for column, _ in choice.compared]
    share = share_drifted(ordered, {p.column for p in plans})
    return DriftSummary(
        sample_size_current=n_cur,
        sample_size_reference=n_ref,
        columns=ordered,
        share_drifted_features=share,
        html=html,
        **choice.report_fields(),
    )


# ------------------------------------------------------------------------------ inputs


def _sample_columns(sample: DriftSample, limit: int) -> dict[str, np.ndarray]:
    """The sample's columns in hash order, cut to the first ``limit`` rows."""
    return {name: values[:limit] for name, values in sample.frame().items()}


def _rows(columns: dict[str, np.ndarray]) -> int:
    return max((len(values) for values in columns.values()), default=0)


def _has_values(values: np.ndarray | None) -> bool:
    if values is None or len(values) == 0:
        return False
    if values.dtype.kind == "f":
        return bool(np.isfinite(values).any())
    return any(v is not None and not _is_nan(v) for v in values)


def _present_columns(cur: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> list[str]:
    """The columns of either window, without feature columns that hold no value in
    either: a log shared by several models has every model's feature columns, null on the
    other models' rows, and those are another model's features, not this one's."""
    return [
        name
        for name in {*cur, *ref}
        if not name.startswith("feature.")
        or _has_values(cur.get(name))
        or _has_values(ref.get(name))
    ]


def _plan(column: str, kind: Kind, cur: np.ndarray | None, ref: np.ndarray | None) -> _Plan | str:
    """How to compare one column, or why it cannot be compared."""
    for window, values in (("current", cur), ("reference", ref)):
        if values is None:
            return f"absent from the {window} window"
    assert cur is not None and ref is not None
    if kind == "prediction":
        dtype: ColumnKind = "cat"
    elif kind == "confidence":
        dtype = "num"
    else:
        dtype = "num" if _numeric(cur) and _numeric(ref) else "cat"
    cur_s, ref_s = _series(cur, dtype), _series(ref, dtype)
    for window, series in (("current", cur_s), ("reference", ref_s)):
        if series.notna().sum() == 0:
            return f"no values in the {window} window"
    return _Plan(column, kind, dtype, cur_s, ref_s)


def _numeric(values: np.ndarray) -> bool:
    """True for float/int arrays, and object arrays whose non-null values are all numbers."""
    if values.dtype.kind in "biuf":
        return True
    present = [v for v in values if v is not None and not _is_nan(v)]
    return all(
        isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
        for v in present
    )


_INERT = str.maketrans({"<": "\u2039", ">": "\u203a"})


def _inert(text: str) -> str:
    """``text`` with < and > replaced by the look-alike ‹ and ›: it cannot open or close
    an HTML tag, and equal texts stay equal (so drift statistics are unchanged)."""
    return text.translate(_INERT)


def _inert_value(value: Any) -> Any:
    return _inert(value) if isinstance(value, str) else value


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _series(values: np.ndarray, dtype: ColumnKind) -> pd.Series:
    """Numeric columns as float64 with ±inf as missing; categorical ones as str or None."""
    if dtype == "num":
        floats = pd.to_numeric(pd.Series(values), errors="coerce").astype(np.float64)
        return floats.where(np.isfinite(floats))
    labels = [None if v is None or _is_nan(v) else str(v) for v in values]
    return pd.Series(labels, dtype=object)


# ---------------------------------------------------------------------------- evidently


def _run_evidently(
    plans: list[_Plan], limits: DriftLimits, model_id: str
) -> tuple[dict[str, DriftColumn], Any]:
    """One Evidently report with a ValueDrift per column; returns results and the snapshot."""
    with warnings.catch_warnings():
        # Importing Evidently 0.7 raises DeprecationWarnings inside third-party code (its
        # own numpy.core access, litestar's Dependency()); the drift run itself raises none.
        # Scoped to the import so our own code stays warning-free under -W error.
        warnings.simplefilter("ignore", DeprecationWarning)
        from evidently import DataDefinition, Dataset, Report
        from evidently.legacy.calculations.stattests.registry import get_stattest
        from evidently.legacy.core import ColumnType
        from evidently.metrics import ValueDrift

    # Evidently's HTML embeds column names and category values in an inline <script>
    # without escaping "</script>": a logged value could run script in the saved page.
    # Everything user-written that reaches Evidently is made inert first, one-to-one,
    # and results are mapped back to the real names.
    originals: dict[str, str] = {}
    inert_plans = []
    for plan in plans:
        name = _inert(plan.column)
        while name in originals:
            name += "\u200b"  # two names that only differ in < > stay apart
        originals[name] = plan.column
        inert_plans.append(
            _Plan(
                column=name,
                kind=plan.kind,
                dtype=plan.dtype,
                current=plan.current if plan.dtype == "num" else plan.current.map(_inert_value),
                reference=plan.reference
                if plan.dtype == "num"
                else plan.reference.map(_inert_value),
            )
        )
    plans = inert_plans

    metrics = []
    expected: dict[str, tuple[str, bool]] = {}
    for plan in plans:
        column_type = ColumnType.Numerical if plan.dtype == "num" else ColumnType.Categorical
        # Resolve the method Evidently will pick (same function, same cleaned data) so a
        # test gets the register's significance level and a distance keeps its default.
        stattest = get_stattest(plan.reference.dropna(), plan.current.dropna(), column_type, None)
        is_test = stattest.name in P_VALUE_METHODS
        expected[plan.column] = (stattest.display_name, is_test)
        metrics.append(
            ValueDrift(column=plan.column, threshold=limits.p_value if is_test else None)
        )

    definition = DataDefinition(
        numerical_columns=[p.column for p in plans if p.dtype == "num"],
        categorical_columns=[p.column for p in plans if p.dtype == "cat"],
    )
    current = pd.DataFrame({p.column: p.current for p in plans})
    reference = pd.DataFrame({p.column: p.reference for p in plans})
    report = Report(metrics, model_id=model_id or None, include_tests=True)
    snapshot = report.run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
        name=f"drift {model_id}".strip(),
    )
    data = snapshot.dict()
    verdicts = {
        t["metric_config"]["metric_id"]: str(t["status"]).upper().endswith("FAIL")
        for t in data.get("tests", [])
    }

    out: dict[str, DriftColumn] = {}
    kinds = {p.column: p.kind for p in plans}
    for metric in data["metrics"]:
        config = metric["config"]
        column = config["column"]
        method = str(config.get("method"))
        threshold = config.get("threshold")
        score = rounded_score(metric.get("value"))
        display_name, is_test = expected[column]
        if method != display_name:  # Evidently chose otherwise: infer the kind from its name
            is_test = "p_value" in method
        drifted = verdicts.get(metric["id"])
        if drifted is None:  # no test result: apply Evidently's rule ourselves
            drifted = _beyond(score, threshold, is_test)
        out[originals[column]] = DriftColumn(
            column=originals[column],
            kind=kinds[column],
            method=method,
            statistic=score,
            p_value=score if is_test else None,
            threshold=None if threshold is None else float(threshold),
            drifted=bool(drifted),
        )
    return out, snapshot


def _beyond(score: float | None, threshold: float | None, is_test: bool) -> bool:
    if score is None or threshold is None:
        return False
    return score < threshold if is_test else score >= threshold
