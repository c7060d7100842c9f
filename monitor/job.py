"""The nightly check: ingest → summaries → metrics → judgement → failure modes → drift → report.

This module is the imperative shell around the pure parts. The ladder decision is
injected by the caller (``decide``) because ``monitor`` must not import ``ladder``;
the CLI composes the two.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from monitor.atomic import write_atomic
from monitor.chunk import WindowBounds
from monitor.engines import Engine, LocalEngine
from monitor.engines.base import Progress
from monitor.failure_modes import FailureModeResult, classify
from monitor.ingest import IngestStats, QuarantineWriter, list_log_files
from monitor.judge import ModelEvidence, ModelVerdict, NightValue, judge_night
from monitor.report import (
    DriftSummary,
    IngestSummary,
    Metrics,
    ModelReport,
    Recommendation,
    Report,
    TimeWindow,
    worst_status,
)
from monitor.stats.aggregates import ModelAggregate
from monitor.stats.metrics import finalize_metrics
from monitor.windows import to_datetime, window_bounds
from thresholds.loader import LoadedRegister
from thresholds.schema import ModelEntry, Register

__all__ = [
    "CheckOptions",
    "Decide",
    "Engine",
    "LocalEngine",
    "build_report",
    "plan_windows",
    "run_check",
]

Decide = Callable[[Report], Mapping[str, Recommendation | None]]


@dataclass(frozen=True)
class CheckOptions:
    """Inputs of one nightly check."""

    logs: Sequence[Path]
    as_of: date
    out_dir: Path
    now: datetime
    labels: Path | None = None
    drift: bool = True
    drift_html: bool = True
    #: Past nights' metric values per model id, oldest first, for the sequential (EWMA/CUSUM)
    #: checks of ``thresholds.signal``; the composition root reads them from the state store.
    history: Mapping[str, Sequence[NightValue]] = field(default_factory=dict)


def plan_windows(register: Register, as_of: date) -> dict[str, WindowBounds]:
    """Window bounds of every registered model for the as-of night."""
    return {entry.id: window_bounds(entry, as_of) for entry in register.models}


def run_id_for(
    register_version: str, as_of: date, logs: Sequence[Path], labels: Path | None
) -> str:
    """Same register, night and input files → same run id, so a rerun of a night is
    recognisably the same run. The files are those ingest reads (the one listing,
    :func:`~monitor.ingest.sources.list_log_files`) and the labels file, each by name,
    size and modification time."""
    digest = hashlib.sha256(f"{register_version}|{as_of.isoformat()}".encode())
    files = list_log_files([*logs, *([labels] if labels else [])])
    for file in sorted(files, key=lambda f: f.name):
        digest.update(f"|{file.name}|{file.size}|{file.modified}".encode())
    return f"{as_of.isoformat()}-{digest.hexdigest()[:12]}"


_BLIND_NOTE = (
    "no rows for this model in the current window: the monitor cannot see it, "
    "so it is treated as a breach (blind), never as healthy"
)


@dataclass(frozen=True)
class _Measured:
    """One model's summaries and what was measured on them, before judgement."""

    entry: ModelEntry
    aggregate: ModelAggregate
    metrics: Metrics
    drift: DriftSummary | None


def _measure(entry: ModelEntry, agg: ModelAggregate, options: CheckOptions) -> _Measured:
    """Metrics and drift of one model (drift writes its HTML page when asked to)."""
    from monitor.drift import compute_drift

    cur, ref = agg.current, agg.reference
    thresholds = entry.thresholds
    metrics = finalize_metrics(cur, ref, thresholds)
    drift = None
    if options.drift and thresholds.drift.enabled and cur.n_rows:
        html = (
            options.out_dir / f"drift-{_safe_name(entry.id)}.html" if options.drift_html else None
        )
        drift = compute_drift(cur, ref, thresholds.drift, html_path=html, model_id=entry.id)
        if drift.html:
            drift = drift.model_copy(update={"html": Path(drift.html).name})
    return _Measured(entry, agg, metrics, drift)


def _persistence(entry: ModelEntry) -> tuple[int, int]:
    """The ladder's persistence rule for this model, ``(k, n)``."""
    rules = entry.ladder.rules
    return rules.persistence_k, rules.persistence_n


def _evidence(measured: _Measured, options: CheckOptions, partial_view: bool) -> ModelEvidence:
    entry, agg = measured.entry, measured.aggregate
    return ModelEvidence(
        model_id=entry.id,
        thresholds=entry.thresholds,
        criticality=entry.criticality,
        metrics=measured.metrics,
        current=agg.current,
        reference=agg.reference,
        drift=measured.drift,
        history=options.history.get(entry.id, ()),
        persistence=_persistence(entry),
        partial_view=partial_view,
    )


def _model_report(
    measured: _Measured,
    verdict: ModelVerdict,
    stats: IngestStats,
    notes: list[str],
    register: Register,
) -> ModelReport:
    """One model's report, assembled once from its measurements and its verdict."""
    entry, agg = measured.entry, measured.aggregate
    cur, ref = agg.current, agg.reference
    notes = list(notes)
    # A blind model is not classified: there is nothing to classify.
    modes = FailureModeResult(
        modes=[], dominant=None, annotation_coverage=None, unmapped_annotations={}, notes=[]
    )
    if verdict.status == "blind":
        notes.append(_BLIND_NOTE)
    else:
        modes = classify(cur, ref, measured.metrics, list(verdict.checks), register=register)
        notes += modes.notes
    return ModelReport(
        model_id=entry.id,
        status=verdict.status,
        criticality=entry.criticality,
        window=TimeWindow(
            start=to_datetime(agg.bounds.current_start), end=to_datetime(agg.bounds.current_end)
        ),
        reference_window=TimeWindow(
            start=to_datetime(agg.bounds.reference_start),
            end=to_datetime(agg.bounds.current_start),
        ),
        n_rows=cur.n_rows,
        n_labeled=cur.n_labeled,
        n_quarantined=stats.quarantined_by_model.get(entry.id, 0),
        n_duplicates=stats.duplicates_by_model.get(entry.id, 0),
        n_reference_rows=ref.n_rows,
        metrics=measured.metrics,
        checks=list(verdict.checks),
        breaches=list(verdict.breaches),
        failure_modes=modes.modes,
        # A dominant mode is what the ladder acts on; a model healthy by its checks has
        # nothing to act on, so its background failures are listed but none is dominant.
        dominant_failure_mode=modes.dominant if verdict.actionable else None,
        annotation_coverage=modes.annotation_coverage,
        unmapped_annotations=modes.unmapped_annotations,
        drift=measured.drift,
        notes=notes,
    )


def _safe_name(model_id: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in model_id)
    return (keep or "model")[:80] + "-" + hashlib.sha256(model_id.encode()).hexdigest()[:6]


def build_report(
    loaded: LoadedRegister,
    aggregates: Mapping[str, ModelAggregate],
    stats: IngestStats,
    options: CheckOptions,
    *,
    run_id: str,
    engine: str = "local",
    quarantine_file: str | None = None,
) -> Report:
    """Assemble the report from merged summaries (no ladder decision yet)."""
    register = loaded.register
    partial_view = bool(stats.unreadable)
    unreadable_note = (
        [f"{len(stats.unreadable)} log file(s) could not be read: {', '.join(stats.unreadable)}"]
        if stats.unreadable
        else []
    )
    measured = [_measure(entry, aggregates[entry.id], options) for entry in register.models]
    night = judge_night([_evidence(m, options, partial_view) for m in measured])
    models = [
        _model_report(m, night.models[m.entry.id], stats, unreadable_note, register)
        for m in measured
    ]
    ingest = IngestSummary(
        files=stats.files,
        rows_read=stats.rows_read,
        rows_used=stats.rows_used,
        rows_quarantined=stats.rows_quarantined,
        rows_duplicate=stats.rows_duplicate,
        rows_out_of_window=stats.rows_out_of_window,
        naive_timestamps=stats.naive_timestamps,
        quarantined_by_reason=dict(sorted(stats.quarantined_by_reason.items())),
        quarantine_file=quarantine_file,
        labels_file=str(options.labels) if options.labels else None,
        labels_joined=stats.labels_joined,
        unreadable=stats.unreadable,
    )
    return Report(
        run_id=run_id,
        as_of=options.as_of.isoformat(),
        register_name=register.name,
        register_version=loaded.version,
        generated_at=options.now,
        status=worst_status([m.status for m in models]),
        ingest=ingest,
        models=models,
        engine=engine,
        signal=night.signal,
    )


def run_check(
    loaded: LoadedRegister,
    options: CheckOptions,
    *,
    engine: Engine | None = None,
    decide: Decide | None = None,
    progress: Progress | None = None,
    render: Callable[[Report], str] | None = None,
) -> Report:
    """Run one nightly check and write its outputs atomically into ``options.out_dir``.

    Order matters for crash safety: the quarantine file and drift pages first, then
    the ladder decision (idempotent per model and night), then ``report.json`` last,
    each by atomic rename — a kill at any point leaves the previous report intact and
    a rerun converges on the same result.
    """
    engine = engine or LocalEngine()
    register = loaded.register
    options.out_dir.mkdir(parents=True, exist_ok=True)
    # A run killed mid-write leaves its temp file (".report.json.<random>.tmp"); the
    # previous report is intact, so the leftover is only litter.
    for leftover in options.out_dir.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
    bounds = plan_windows(register, options.as_of)
    stats = IngestStats()
    quarantine_path = options.out_dir / "quarantine.parquet"
    with QuarantineWriter(quarantine_path) as quarantine:
        aggregates = engine.summarize(
            options.logs,
            register,
            bounds,
            labels=options.labels,
            quarantine=quarantine,
            stats=stats,
            progress=progress,
        )
    run_id = run_id_for(loaded.version, options.as_of, options.logs, options.labels)
    report = build_report(
        loaded,
        aggregates,
        stats,
        options,
        run_id=run_id,
        engine=engine.name,
        quarantine_file=quarantine_path.name,
    )
    if decide is not None:
        recommendations = decide(report)
        for model in report.models:
            model.recommendation = recommendations.get(model.model_id)
    if render is not None:
        write_atomic(options.out_dir / "report.html", render(report))
    write_report_json(report, options.out_dir / "report.json")
    return report


def write_report_json(report: Report, path: Path) -> Path:
    """``report.json``, atomically."""
    text = report.model_dump_json(indent=2)
    # Round-trip check: never publish a report that its own schema would reject.
    Report.model_validate(json.loads(text))
    return write_atomic(path, text + "\n")
