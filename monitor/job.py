"""The nightly check: ingest → summaries → metrics → judgement → failure modes → drift → report.

This module is the imperative shell around the pure parts. The ladder decision is
injected by the caller (``decide``) because ``monitor`` must not import ``ladder``;
the CLI composes the two.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from monitor.atomic import write_atomic
from monitor.chunk import ModelChunk, WindowBounds
from monitor.failure_modes import FailureModeResult, classify
from monitor.ingest import IngestStats, QuarantineWriter, read_logs
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
Progress = Callable[[int], None]


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


class Engine(Protocol):
    """How chunks are scheduled. Engines differ only in that: the metric code is shared."""

    name: str

    def summarize(
        self,
        paths: Sequence[Path],
        register: Register,
        bounds: Mapping[str, WindowBounds],
        *,
        labels: Path | None,
        quarantine: QuarantineWriter,
        stats: IngestStats,
        progress: Progress | None = None,
    ) -> dict[str, ModelAggregate]: ...


def new_aggregates(
    register: Register, bounds: Mapping[str, WindowBounds]
) -> dict[str, ModelAggregate]:
    """Empty summaries for every registered model."""
    out = {}
    for entry in register.models:
        c = entry.thresholds.confidence
        out[entry.id] = ModelAggregate.empty(
            entry.id,
            bounds[entry.id],
            cut_points=tuple(sorted({c.min, c.review, c.auto})),
            sample_size=entry.thresholds.drift.sample_size,
        )
    return out


def fold_chunks(
    chunks: Iterable[ModelChunk],
    aggregates: dict[str, ModelAggregate],
    progress: Progress | None = None,
) -> dict[str, ModelAggregate]:
    """Feed clean chunks into their model's summary."""
    for chunk in chunks:
        aggregates[chunk.model_id].update(chunk)
        if progress is not None:
            progress(chunk.n)
    return aggregates


def fold_chunks_threaded(
    chunks: Iterable[ModelChunk],
    make: Callable[[], dict[str, ModelAggregate]],
    *,
    workers: int,
    progress: Progress | None = None,
) -> dict[str, ModelAggregate]:
    """Fold chunks on ``workers`` threads, each into summaries of its own, then merge.

    Ingest stays on the calling thread (duplicates are decided in log order); the
    aggregates' numpy work releases the GIL, so a second core does real work. Because
    merge is order-free, the result equals a single-threaded fold.
    """
    if workers <= 1:
        return fold_chunks(chunks, make(), progress)
    import queue
    import threading

    # One queue per worker, chunks dealt round-robin: which worker sums which chunk is
    # fixed, so float sums (and the report) are identical run to run.
    queues: list[queue.Queue[ModelChunk | None]] = [queue.Queue(maxsize=2) for _ in range(workers)]
    partials = [make() for _ in range(workers)]
    failures: list[BaseException] = []

    def worker(own: dict[str, ModelAggregate], inbox: queue.Queue[ModelChunk | None]) -> None:
        while (chunk := inbox.get()) is not None:
            try:
                if not failures:
                    own[chunk.model_id].update(chunk)
            except BaseException as exc:  # re-raised on the calling thread
                failures.append(exc)

    threads = [
        threading.Thread(target=worker, args=(p, q), daemon=True)
        for p, q in zip(partials, queues, strict=True)
    ]
    for thread in threads:
        thread.start()
    try:
        for i, chunk in enumerate(chunks):
            if failures:
                break
            queues[i % workers].put(chunk)
            if progress is not None:
                progress(chunk.n)
    finally:
        for inbox in queues:
            inbox.put(None)
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    merged = partials[0]
    for other in partials[1:]:
        for model_id, aggregate in other.items():
            merged[model_id].merge(aggregate)
    return merged


@dataclass
class LocalEngine:
    """One process: record batches stream through the shared aggregates on a few threads."""

    name: str = "local"
    batch_rows: int = 262_144
    workers: int = field(default_factory=lambda: min(2, os.cpu_count() or 1))

    def summarize(
        self,
        paths: Sequence[Path],
        register: Register,
        bounds: Mapping[str, WindowBounds],
        *,
        labels: Path | None,
        quarantine: QuarantineWriter,
        stats: IngestStats,
        progress: Progress | None = None,
    ) -> dict[str, ModelAggregate]:
        chunks = read_logs(
            paths,
            register,
            bounds,
            labels=labels,
            quarantine=quarantine,
            batch_rows=self.batch_rows,
            stats=stats,
        )
        return fold_chunks_threaded(
            chunks,
            lambda: new_aggregates(register, bounds),
            workers=self.workers,
            progress=progress,
        )


def plan_windows(register: Register, as_of: date) -> dict[str, WindowBounds]:
    """Window bounds of every registered model for the as-of night."""
    return {entry.id: window_bounds(entry, as_of) for entry in register.models}


def run_id_for(
    register_version: str, as_of: date, logs: Sequence[Path], labels: Path | None
) -> str:
    """Same register, night and input files (by name, size and mtime) → same run id,
    so a rerun of a night is recognisably the same run."""
    digest = hashlib.sha256(f"{register_version}|{as_of.isoformat()}".encode())
    for path in sorted([*logs, *([labels] if labels else [])]):
        for file in sorted(_files(path)):
            stat = file.stat()
            digest.update(f"|{file}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return f"{as_of.isoformat()}-{digest.hexdigest()[:12]}"


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return [p for p in path.rglob("*") if p.is_file()]
    return [path] if path.exists() else []


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
