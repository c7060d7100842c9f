"""Tables for analysts: one model's windows, its nights, its slices, as pandas frames.

The notebooks in ``notebooks/`` load everything through these functions, which run the
same ingest, aggregates, metrics and drift code as the nightly check
(:func:`monitor.check.run_check`), so a number read here is the number the check reports
for the same night. Each call reads the logs once and folds the rows into as many
windows as it needs (a month of the shipped logs, 128 k rows, reads in about half a
second); nothing is cached between calls.

Windows follow the register: the current window ends at the end of the as-of day (UTC)
and the reference window is the span just before it. ``current`` and ``reference``
durations (``"7d"``, ``"14d"`` …) override the register's for one call, to compare any
two adjacent windows.

Two differences from the nightly check, both about rows rather than metrics:

* rows that break the log contract are counted, never written to a quarantine file;
* duplicate ``prediction_id`` values are dropped across everything read in one call.
  The check looks for duplicates inside one night's windows only, so an id logged
  twice further apart than the reference window is counted once here and twice there.

Shares and rates are fractions in [0, 1]; latencies are milliseconds. The frames' columns
are laid out by :mod:`modelhealth.analysis.frames`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from modelhealth.analysis.frames import (
    DRIFT_COLUMNS,
    METRIC_COLUMNS,
    WINDOW_COLUMNS,
    drift_frame,
    metric_columns,
)
from monitor.chunk import Categorical, ModelChunk, WindowBounds
from monitor.engines.base import new_aggregates
from monitor.ingest import IngestStats, read_logs
from monitor.report import DriftSummary
from monitor.stats.aggregates import ModelAggregate, WindowAggregate
from monitor.stats.metrics import finalize_metrics
from monitor.windows import window_bounds
from thresholds.loader import LoadedRegister, load_register
from thresholds.schema import ModelEntry, Register

__all__ = [
    "MISSING_SLICE",
    "RegisterLike",
    "SliceBy",
    "calibration_by_slice",
    "feature_drift_by_night",
    "nightly_metrics",
    "nights_between",
    "slice_aggregates",
    "summarize_window",
    "window_drift",
    "window_metrics",
]

RegisterLike = str | os.PathLike[str] | LoadedRegister | Register
PathLike = str | os.PathLike[str]
SliceBy = Literal["segment", "output_type"]
DateLike = date | str

#: Slice name of rows that carry no segment / output type.
MISSING_SLICE = "(missing)"
_SLICE_FIELDS: tuple[str, ...] = ("segment", "output_type")
_EMPTY = WindowBounds(0, 0, 0)


# ------------------------------------------------------------------------------ windows


def nights_between(first: DateLike, last: DateLike) -> list[date]:
    """Every night from ``first`` to ``last``, both included."""
    start, end = _as_date(first), _as_date(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def summarize_window(
    register: RegisterLike,
    logs: PathLike | Sequence[PathLike],
    *,
    model_id: str,
    as_of: DateLike,
    current: str | None = None,
    reference: str | None = None,
    labels: PathLike | None = None,
) -> ModelAggregate:
    """One model's current and reference windows, summarised as the nightly check does.

    Parameters
    ----------
    register : str, path, LoadedRegister or Register
        The threshold register (a YAML path is loaded and validated).
    logs : path or sequence of paths
        Log files or directories, as for ``modelhealth check --logs``.
    model_id : str
        A model of the register.
    as_of : date or ``YYYY-MM-DD``
        The night checked: the current window ends at the end of this day (UTC).
    current, reference : str, optional
        Window lengths such as ``"7d"``; the register's ``windows`` by default.
    labels : path, optional
        Late labels, as for ``modelhealth check --labels``.

    Returns
    -------
    ModelAggregate
        ``.current`` and ``.reference`` :class:`~monitor.stats.aggregates.WindowAggregate`;
        with the register's windows they equal the check's summaries for that night.
    """
    reg = _register(register)
    entry = _entry(reg, model_id)
    bounds = _bounds(entry, _as_date(as_of), current, reference)
    chunks = _read(reg, logs, model_id, [bounds], labels)
    return _fold(chunks, reg, model_id, [bounds])[0][None]


def window_drift(
    register: RegisterLike,
    logs: PathLike | Sequence[PathLike],
    *,
    model_id: str,
    as_of: DateLike,
    current: str | None = None,
    reference: str | None = None,
    labels: PathLike | None = None,
    html_path: PathLike | None = None,
) -> DriftSummary:
    """Evidently's per-column drift between a model's two windows (:func:`summarize_window`),
    on the windows' bounded, deterministic samples (``thresholds.drift.sample_size`` rows).

    ``html_path`` saves Evidently's own self-contained page (about 4 MB) there; its path
    is in the summary's ``html``. Columns, methods and thresholds are those of the nightly
    check's drift with the register's drift limits, but measured by Evidently on samples:
    the nightly check measures every row (:func:`feature_drift_by_night`), so on a small
    effect a sample's verdict can differ.
    """
    from monitor.drift_evidently import evidently_drift

    reg = _register(register)
    entry = _entry(reg, model_id)
    aggregate = summarize_window(
        reg,
        logs,
        model_id=model_id,
        as_of=as_of,
        current=current,
        reference=reference,
        labels=labels,
    )
    return evidently_drift(
        aggregate.current,
        aggregate.reference,
        entry.thresholds.drift,
        html_path=None if html_path is None else Path(html_path),
        model_id=model_id,
    )


# ------------------------------------------------------------------------------- nights


def nightly_metrics(
    register: RegisterLike,
    logs: PathLike | Sequence[PathLike],
    *,
    model_id: str,
    nights: Iterable[DateLike],
    labels: PathLike | None = None,
    by: SliceBy | None = None,
) -> pd.DataFrame:
    """The model's headline metrics night by night, as the nightly check computes them.

    Parameters
    ----------
    register, logs, model_id, labels
        As for :func:`summarize_window`.
    nights : iterable of date or ``YYYY-MM-DD``
        The as-of nights; each uses the register's current and reference windows.
    by : {"segment", "output_type"}, optional
        One row per night and slice instead of one per night (slices are computed from
        the rows of that slice alone, see :func:`slice_aggregates`).

    Returns
    -------
    pandas.DataFrame
        One row per night (and slice, in a ``slice`` column), sorted, with columns

        ``night`` (datetime64, the as-of day), ``n_rows``, ``n_labeled``, ``quality`` and
        ``quality_ci_low`` / ``quality_ci_high`` (accuracy or mean quality score, per the
        register), ``error_rate``, ``latency_p50_ms`` / ``latency_p95_ms`` /
        ``latency_p99_ms``, ``confidence_mean``, ``ece`` (top-label, 15 equal-width bins,
        Guo et al. 2017), ``ece_noise_floor``, ``overconfidence_gap`` (mean confidence −
        accuracy), ``brier``, the routing bands ``band_auto`` / ``band_review`` /
        ``band_general`` (shares of rows at ≥ auto, between review and auto, < review
        confidence) and ``escalation_rate`` (share below auto), ``reference_ece``,
        ``ece_delta`` and ``calibration_p_value`` (did the reliability curve change
        against the reference window) and ``confidence_psi``. Missing values are NaN.
    """
    if by is not None:
        _check_by(by)
    reg = _register(register)
    entry = _entry(reg, model_id)
    days = sorted({_as_date(n) for n in nights})
    bounds = [window_bounds(entry, night) for night in days]
    chunks = _read(reg, logs, model_id, bounds, labels)
    rows = []
    for night, aggregates in zip(days, _fold(chunks, reg, model_id, bounds, by=by), strict=True):
        for name, aggregate in sorted(aggregates.items(), key=lambda kv: str(kv[0])):
            metrics = finalize_metrics(aggregate.current, aggregate.reference, entry.thresholds)
            row: dict[str, Any] = {"night": pd.Timestamp(night)}
            if by is not None:
                row["slice"] = name
            row.update(metric_columns(aggregate.current, metrics))
            rows.append(row)
    columns = ["night", *(["slice"] if by is not None else []), *METRIC_COLUMNS]
    return pd.DataFrame(rows, columns=columns)


def feature_drift_by_night(
    register: RegisterLike,
    logs: PathLike | Sequence[PathLike],
    *,
    model_id: str,
    nights: Iterable[DateLike],
    labels: PathLike | None = None,
) -> pd.DataFrame:
    """The drift of every feature, the prediction and the confidence, night by night.

    Each night compares its current window with its reference window exactly as the
    nightly check does (:func:`monitor.drift.compute_drift`: every row of both windows,
    Evidently's default methods, thresholds and verdicts).

    Returns
    -------
    pandas.DataFrame
        One row per night and column: ``night`` (datetime64), ``column``, ``kind``
        (feature / prediction / confidence), ``method`` (Evidently's), ``statistic`` (its
        drift score: a p-value for tests, a distance otherwise), ``p_value``,
        ``threshold``, ``drifted`` (Evidently's verdict), ``share_drifted_features`` (of
        that night), ``n_current`` and ``n_reference`` (rows compared). Nights on which
        drift was not computed (too few rows) have no rows; their reasons are in
        ``frame.attrs["skipped"]`` (night → reason).
    """
    from monitor.drift import compute_drift

    reg = _register(register)
    entry = _entry(reg, model_id)
    days = sorted({_as_date(n) for n in nights})
    bounds = [window_bounds(entry, night) for night in days]
    chunks = _read(reg, logs, model_id, bounds, labels)
    rows: list[dict[str, Any]] = []
    skipped: dict[str, str] = {}
    for night, aggregates in zip(days, _fold(chunks, reg, model_id, bounds), strict=True):
        aggregate = aggregates[None]
        summary = compute_drift(
            aggregate.current, aggregate.reference, entry.thresholds.drift, model_id=model_id
        )
        if summary.skipped_reason:
            skipped[night.isoformat()] = summary.skipped_reason
        for record in drift_frame(summary).to_dict("records"):
            rows.append({"night": pd.Timestamp(night), **record})
    frame = pd.DataFrame(rows, columns=["night", *DRIFT_COLUMNS])
    frame.attrs["skipped"] = skipped
    return frame


# ------------------------------------------------------------------------------- slices


def slice_aggregates(
    register: RegisterLike,
    logs: PathLike | Sequence[PathLike],
    *,
    model_id: str,
    as_of: DateLike,
    by: SliceBy = "segment",
    current: str | None = None,
    reference: str | None = None,
    labels: PathLike | None = None,
) -> dict[str, ModelAggregate]:
    """:func:`summarize_window` for each value of ``segment`` or ``output_type`` alone.

    The nightly summaries keep per-slice counts (rows, errors, labeled, wrong) but no
    per-slice reliability table, so slice calibration cannot be read off them: here the
    logs are read through the same ingest (:func:`monitor.ingest.read_logs`) and each
    slice's rows are folded into a summary of their own. Rows without the column go to
    :data:`MISSING_SLICE`.

    Returns
    -------
    dict of str to ModelAggregate
        Slice name → its windows, sorted by name.
    """
    _check_by(by)
    reg = _register(register)
    entry = _entry(reg, model_id)
    bounds = _bounds(entry, _as_date(as_of), current, reference)
    chunks = _read(reg, logs, model_id, [bounds], labels)
    found = _fold(chunks, reg, model_id, [bounds], by=by)[0]
    return {str(name): found[name] for name in sorted(found, key=str)}


def calibration_by_slice(
    register: RegisterLike,
    logs: PathLike | Sequence[PathLike],
    *,
    model_id: str,
    as_of: DateLike,
    by: SliceBy = "segment",
    current: str | None = None,
    reference: str | None = None,
    labels: PathLike | None = None,
) -> pd.DataFrame:
    """Calibration, quality and routing bands per slice, current against reference.

    Parameters are those of :func:`slice_aggregates`.

    Returns
    -------
    pandas.DataFrame
        One row per slice and window (``window`` is ``"current"`` or ``"reference"``)
        with the columns of :func:`nightly_metrics` that describe one window
        (``n_rows`` … ``escalation_rate``).
    """
    reg = _register(register)
    slices = slice_aggregates(
        reg,
        logs,
        model_id=model_id,
        as_of=as_of,
        by=by,
        current=current,
        reference=reference,
        labels=labels,
    )
    frames = [
        window_metrics(reg, aggregate).assign(slice=name) for name, aggregate in slices.items()
    ]
    if not frames:
        return pd.DataFrame([], columns=["slice", "window", *WINDOW_COLUMNS])
    table = pd.concat(frames, ignore_index=True)
    return table[["slice", "window", *WINDOW_COLUMNS]]


def window_metrics(register: RegisterLike, aggregate: ModelAggregate) -> pd.DataFrame:
    """The metrics of each of an aggregate's two windows, side by side.

    Parameters
    ----------
    register : str, path, LoadedRegister or Register
        Supplies the model's thresholds (quality metric, confidence bands).
    aggregate : ModelAggregate
        From :func:`summarize_window` or :func:`slice_aggregates`.

    Returns
    -------
    pandas.DataFrame
        Two rows, ``window`` = ``"current"`` then ``"reference"``, with the columns of
        :func:`nightly_metrics` that describe one window (``n_rows`` …
        ``escalation_rate``), each window measured on its own rows.
    """
    thresholds = _entry(_register(register), aggregate.model_id).thresholds
    rows = []
    for name, window in (("current", aggregate.current), ("reference", aggregate.reference)):
        # Each window on its own: an empty second window keeps the drift metrics out.
        metrics = finalize_metrics(window, WindowAggregate(window.params), thresholds)
        columns = metric_columns(window, metrics)
        rows.append({"window": name, **{k: columns[k] for k in WINDOW_COLUMNS}})
    return pd.DataFrame(rows, columns=["window", *WINDOW_COLUMNS])


# ----------------------------------------------------------------------------- private


def _register(register: RegisterLike) -> Register:
    if isinstance(register, Register):
        return register
    if isinstance(register, LoadedRegister):
        return register.register
    return load_register(Path(register)).register


def _check_by(by: str) -> None:
    if by not in _SLICE_FIELDS:
        raise ValueError(f"by must be one of {', '.join(_SLICE_FIELDS)}, not {by!r}")


def _entry(register: Register, model_id: str) -> ModelEntry:
    try:
        return register.model(model_id)
    except KeyError as exc:
        raise ValueError(str(exc.args[0])) from None


def _as_date(value: DateLike) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _bounds(
    entry: ModelEntry, as_of: date, current: str | None, reference: str | None
) -> WindowBounds:
    """The register's windows for ``as_of``, with durations overridden where given."""
    windows = entry.windows.model_copy(
        update={
            **({"current": current} if current is not None else {}),
            **({"reference": reference} if reference is not None else {}),
        }
    )
    # Validate the override the way the register would (through the pydantic type).
    windows = type(entry.windows).model_validate(windows.model_dump())
    return window_bounds(entry.model_copy(update={"windows": windows}), as_of)


def _paths(logs: PathLike | Sequence[PathLike]) -> list[Path]:
    if isinstance(logs, (str, os.PathLike)):
        return [Path(logs)]
    return [Path(p) for p in logs]


def _read(
    register: Register,
    logs: PathLike | Sequence[PathLike],
    model_id: str,
    spans: Sequence[WindowBounds],
    labels: PathLike | None,
) -> list[ModelChunk]:
    """Every clean chunk of ``model_id`` that falls in any of ``spans``, read once."""
    if not spans:
        return []
    wide = WindowBounds(
        reference_start=min(b.reference_start for b in spans),
        current_start=max(b.current_end for b in spans),
        current_end=max(b.current_end for b in spans),
    )
    # Other models get an empty window: their rows are read but dropped at once.
    windows = {entry.id: (wide if entry.id == model_id else _EMPTY) for entry in register.models}
    chunks = read_logs(
        _paths(logs),
        register,
        windows,
        labels=None if labels is None else Path(labels),
        stats=IngestStats(),
    )
    return [chunk for chunk in chunks if chunk.model_id == model_id]


def _slices(chunk: ModelChunk, by: SliceBy) -> list[tuple[str, ModelChunk]]:
    cat: Categorical | None = getattr(chunk, by)
    if cat is None:
        return [(MISSING_SLICE, chunk)]
    out = []
    for code, name in [*enumerate(cat.categories), (-1, MISSING_SLICE)]:
        mask = cat.codes == code
        if mask.all():
            out.append((name, chunk))
        elif mask.any():
            out.append((name, chunk.select(mask)))
    return out


def _fold(
    chunks: Sequence[ModelChunk],
    register: Register,
    model_id: str,
    spans: Sequence[WindowBounds],
    *,
    by: SliceBy | None = None,
) -> list[dict[str | None, ModelAggregate]]:
    """One summary per span (and per slice, keyed by name; ``None`` without slicing)."""
    pieces: list[tuple[str | None, ModelChunk]] = []
    for chunk in chunks:
        pieces += [(None, chunk)] if by is None else list(_slices(chunk, by))
    out: list[dict[str | None, ModelAggregate]] = []
    for bounds in spans:
        found: dict[str | None, ModelAggregate] = {}
        for name, piece in pieces:
            stamps = piece.timestamp_ns
            inside = (stamps >= bounds.reference_start) & (stamps < bounds.current_end)
            if not inside.any():
                continue
            aggregate = found.get(name)
            if aggregate is None:
                aggregate = found[name] = _empty(register, model_id, bounds)
            aggregate.update(piece if inside.all() else piece.select(inside))
        if by is None and None not in found:
            found[None] = _empty(register, model_id, bounds)
        out.append(found)
    return out


def _empty(register: Register, model_id: str, bounds: WindowBounds) -> ModelAggregate:
    # Through the job's own constructor, so cut points and sample size match the check.
    windows: Mapping[str, WindowBounds] = {entry.id: bounds for entry in register.models}
    return new_aggregates(register, windows)[model_id]
