"""Frames from summaries: the columns the notebooks plot, one table per question.

Each function takes what :mod:`modelhealth.analysis.explore` (or the nightly check)
computed — a window's summary, a drift summary, finalized metrics — and lays it out as
a pandas frame; nothing here reads logs. Shares and rates are fractions in [0, 1];
latencies are milliseconds; a value that does not exist is NaN.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from monitor.report import DriftColumn, DriftSummary, Metrics
from monitor.stats.aggregates import WindowAggregate
from monitor.stats.calibration import reliability_bins
from monitor.stats.metrics import N_BINS

__all__ = [
    "DRIFT_COLUMNS",
    "METRIC_COLUMNS",
    "WINDOW_COLUMNS",
    "confidence_distribution",
    "drift_frame",
    "metric_columns",
    "most_drifted_feature",
    "nan_if_none",
    "reliability_frame",
    "sample_frame",
]


WINDOW_COLUMNS: tuple[str, ...] = (
    "n_rows",
    "n_labeled",
    "quality",
    "quality_ci_low",
    "quality_ci_high",
    "error_rate",
    "latency_p50_ms",
    "latency_p95_ms",
    "latency_p99_ms",
    "confidence_mean",
    "ece",
    "ece_noise_floor",
    "overconfidence_gap",
    "brier",
    "band_auto",
    "band_review",
    "band_general",
    "escalation_rate",
)
METRIC_COLUMNS: tuple[str, ...] = (
    *WINDOW_COLUMNS,
    "reference_ece",
    "ece_delta",
    "calibration_p_value",
    "confidence_psi",
)
DRIFT_COLUMNS: tuple[str, ...] = (
    "column",
    "kind",
    "method",
    "statistic",
    "p_value",
    "threshold",
    "drifted",
    "share_drifted_features",
    "n_current",
    "n_reference",
)


def nan_if_none(value: float | None) -> float:
    """NaN for a value that does not exist, so pandas plots and aggregates skip it."""
    return math.nan if value is None else float(value)


def metric_columns(window: WindowAggregate, m: Metrics) -> dict[str, Any]:
    """One night's (or window's) row of :data:`METRIC_COLUMNS`."""
    quality, calibration, drift = m.quality, m.calibration, m.calibration_drift
    conf = m.confidence
    return {
        "n_rows": window.n_rows,
        "n_labeled": window.n_labeled,
        "quality": nan_if_none(quality.value if quality else None),
        "quality_ci_low": nan_if_none(quality.ci_low if quality else None),
        "quality_ci_high": nan_if_none(quality.ci_high if quality else None),
        "error_rate": nan_if_none(m.error_rate.value),
        "latency_p50_ms": nan_if_none(m.latency_ms.p50),
        "latency_p95_ms": nan_if_none(m.latency_ms.p95),
        "latency_p99_ms": nan_if_none(m.latency_ms.p99),
        "confidence_mean": nan_if_none(conf.mean),
        "ece": nan_if_none(calibration.ece if calibration else None),
        "ece_noise_floor": nan_if_none(calibration.ece_noise_floor if calibration else None),
        "overconfidence_gap": nan_if_none(calibration.overconfidence_gap if calibration else None),
        "brier": nan_if_none(calibration.brier if calibration else None),
        "band_auto": nan_if_none(conf.band_auto),
        "band_review": nan_if_none(conf.band_review),
        "band_general": nan_if_none(conf.band_general),
        "escalation_rate": nan_if_none(conf.escalation_rate),
        "reference_ece": nan_if_none(drift.reference_ece if drift else None),
        "ece_delta": nan_if_none(drift.ece_delta if drift else None),
        "calibration_p_value": nan_if_none(drift.p_value if drift else None),
        "confidence_psi": nan_if_none(drift.confidence_psi if drift else None),
    }


def reliability_frame(window: WindowAggregate, *, n_bins: int = N_BINS) -> pd.DataFrame:
    """The points of a reliability diagram for one window's labeled rows.

    Returns
    -------
    pandas.DataFrame
        One row per equal-width confidence bin: ``lower``, ``upper``, ``n`` (labeled
        rows), ``mean_confidence`` and ``accuracy`` (NaN for empty bins), ``gap``
        (mean confidence − accuracy: positive = overconfident) and ``share`` (of the
        window's labeled rows).
    """
    bins = reliability_bins(window.reliability, n_bins=n_bins)
    frame = pd.DataFrame(
        {
            "lower": [b.lower for b in bins],
            "upper": [b.upper for b in bins],
            "n": [b.n for b in bins],
            "mean_confidence": [b.mean_confidence if b.n else math.nan for b in bins],
            "accuracy": [b.accuracy if b.n else math.nan for b in bins],
        }
    )
    frame["gap"] = frame["mean_confidence"] - frame["accuracy"]
    total = int(frame["n"].sum())
    frame["share"] = frame["n"] / total if total else math.nan
    return frame


def confidence_distribution(window: WindowAggregate, *, n_bins: int = 30) -> pd.DataFrame:
    """The window's confidence histogram (every row, labeled or not) on equal-width bins.

    ``n_bins`` must divide 1 500. Columns: ``lower``, ``upper``, ``n``, ``share``.
    """
    counts = window.confidence.coarse_counts(n_bins=n_bins)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    total = int(counts.sum())
    return pd.DataFrame(
        {
            "lower": edges[:-1],
            "upper": edges[1:],
            "n": counts,
            "share": counts / total if total else np.full(n_bins, math.nan),
        }
    )


def sample_frame(window: WindowAggregate) -> pd.DataFrame:
    """The window's drift sample (the bounded rows Evidently's drill-down page and
    :func:`~modelhealth.analysis.window_drift` are drawn from) as a frame.

    Columns are ``confidence``, ``prediction`` (classifiers) and ``feature.*``, rows in
    the sample's canonical hash order. A column with no value in this window (a feature
    that other models log in the same files) is left out.
    """
    frame = pd.DataFrame(window.sample.frame())
    return frame.loc[:, frame.notna().any(axis=0)]


def drift_frame(summary: DriftSummary) -> pd.DataFrame:
    """One row per column of a :class:`~monitor.report.DriftSummary` (see
    :func:`feature_drift_by_night` for the columns, without ``night``)."""
    rows = [
        {
            "column": c.column,
            "kind": c.kind,
            "method": c.method,
            "statistic": nan_if_none(c.statistic),
            "p_value": nan_if_none(c.p_value),
            "threshold": nan_if_none(c.threshold),
            "drifted": bool(c.drifted),
            "share_drifted_features": nan_if_none(summary.share_drifted_features),
            "n_current": summary.sample_size_current,
            "n_reference": summary.sample_size_reference,
        }
        for c in summary.columns
    ]
    return pd.DataFrame(rows, columns=list(DRIFT_COLUMNS))


def most_drifted_feature(summary: DriftSummary) -> str | None:
    """The ``feature.*`` column that drifted most, or None without comparable features.

    Drifted columns rank first; among them (and among the rest) a column ranks by how far
    its score is past its threshold: ``distance / threshold`` for distances,
    ``threshold / p_value`` for tests.
    """

    def severity(column: DriftColumn) -> float:
        score, threshold = column.statistic, column.threshold
        if score is None or threshold is None:
            return -math.inf
        if column.p_value is not None:
            return threshold / max(score, 1e-300)
        return score / threshold if threshold else math.inf

    features = [c for c in summary.columns if c.kind == "feature" and c.statistic is not None]
    if not features:
        return None
    return max(features, key=lambda c: (c.drifted, severity(c))).column
