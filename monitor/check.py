"""The nightly check: windows → engine → metrics and drift → judge → failure modes → report.

:func:`run_check` is the imperative shell around the pure parts: it plans the windows,
lets an engine (:mod:`monitor.engines`) summarise the logs while the quarantine file is
written, judges every model of the night together (:mod:`monitor.judge`), names the
failure modes, and assembles the frozen :class:`~monitor.report.Report` once. The ladder
decision is injected by the caller (``decide``) because ``monitor`` must not import
``ladder``; the composition root (``modelhealth``) joins the two.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

from monitor.atomic import write_atomic
from monitor.chunk import WindowBounds
from monitor.engines import Engine, LocalEngine
from monitor.engines.base import Progress
from monitor.failure_modes import FailureModeResult, classify
from monitor.ingest import IngestStats, QuarantineWriter, list_log_files
from monitor.judge import ModelEvidence, ModelVerdict, NightValue, judge_night
from monitor.publish import RunFolder
from monitor.report import (
    AuditHead,
    DriftSummary,
    IngestSummary,
    Metrics,
    ModelReport,
    OutboxStatus,
    Recommendation,
    Report,
    RerunNote,
    TimeWindow,
    worst_status,
)
from monitor.stats.aggregates import ModelAggregate, WindowAggregate
from monitor.stats.metrics import finalize_metrics
from monitor.windows import to_datetime, window_bounds
from thresholds.loader import LoadedRegister
from thresholds.schema import DriftLimits, ModelEntry, Register, parse_duration

__all__ = [
    "AuditAnchor",
    "CheckOptions",
    "Decide",
    "LadderNight",
    "LadderOutcome",
    "build_report",
    "drift_page_path",
    "ingest_notes",
    "plan_windows",
    "run_check",
    "run_id_for",
    "write_report_json",
]


@dataclass(frozen=True)
class LadderOutcome:
    """What the ladder decided for one model tonight: the recommendation the report shows
    and the rung in force. ``monitor`` does not import ``ladder``; the composition root
    supplies these through ``decide``."""

    recommendation: Recommendation | None = None
    position: str | None = None
    #: The night was already decided from a report that differs in what decides.
    rerun: RerunNote | None = None


_NO_LADDER = LadderOutcome()


@dataclass(frozen=True)
class LadderNight:
    """What the ladder returns for the night: each model's outcome, keyed by model id (a
    model left out has none), and the notification outbox as it stands (dead letters are
    shown in the report, so nobody misses a message that was never delivered)."""

    models: Mapping[str, LadderOutcome] = field(default_factory=dict)
    outbox: OutboxStatus | None = None


#: The ladder's decision, injected: it receives the report of tonight's verdicts (without
#: ladder fields) and returns the night's :class:`LadderNight`; the final report is then
#: assembled with it.
Decide = Callable[[Report], LadderNight]

#: The audit log's head after the decision, injected with it: ``{"seq": …, "hash": …}``
#: (``ladder.anchors.anchor_field``), kept in report.json as ``audit_head``.
AuditAnchor = Callable[[], Mapping[str, object]]


@dataclass(frozen=True)
class CheckOptions:
    """Inputs of one nightly check."""

    #: Local paths or fsspec URLs (``s3://…``), listed by ``monitor.ingest.list_log_files``.
    logs: Sequence[str | Path]
    as_of: date
    out_dir: Path
    now: datetime
    labels: Path | None = None
    drift: bool = True
    drift_html: bool = True
    #: Past nights' metric values per model id, oldest first, for the sequential (EWMA/CUSUM)
    #: checks of ``thresholds.signal``; the composition root reads them from the state store.
    history: Mapping[str, Sequence[NightValue]] = field(default_factory=dict)
    #: The night had not ended when it was checked (``check --partial``): the report says
    #: so and the caller records nothing as the night's decision.
    partial: bool = False
    #: Bytes of de-duplication state held in memory (``check --memory-budget``; per worker
    #: with the Dask engine); beyond it, sorted runs of id keys spill to disk. ``None``
    #: is the register's ``ingest.memory_budget``, else the engine's default (256 MiB).
    memory_budget: int | None = None


def plan_windows(register: Register, as_of: date) -> dict[str, WindowBounds]:
    """Window bounds of every registered model for the as-of night."""
    return {entry.id: window_bounds(entry, as_of) for entry in register.models}


def run_id_for(
    register_version: str, as_of: date, logs: Sequence[str | Path], labels: Path | None
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


#: Share of a model's rows that must be quarantined before its notes list the reasons.
_MOSTLY_QUARANTINED = 0.5
#: Reasons listed, most frequent first.
_TOP_REASONS = 3


def ingest_notes(model_id: str, stats: IngestStats, rows_used: int) -> list[str]:
    """What ingest has to say about one model, first in its notes: timestamps taken as
    UTC, and the top quarantine reasons (with counts and an example cell) when most of
    its rows were refused. ``rows_used`` is the model's rows in both windows."""
    notes: list[str] = []
    naive = stats.naive_by_model.get(model_id, 0)
    if naive:
        notes.append(
            f"{naive:,} row(s) had timestamps without a time zone and were taken as UTC: rows "
            "logged near midnight local time may land on the wrong night; if they are local "
            "time, declare it in the register (ingest.timezone, e.g. 'Europe/Berlin')"
        )
    quarantined = stats.quarantined_by_model.get(model_id, 0)
    if quarantined and quarantined > _MOSTLY_QUARANTINED * (quarantined + rows_used):
        reasons = stats.quarantined_by_model_reason.get(model_id, {})
        examples = stats.quarantine_examples.get(model_id, {})
        top = sorted(reasons.items(), key=lambda item: (-item[1], item[0]))[:_TOP_REASONS]
        listed = "; ".join(
            f"{reason} {count:,}" + (f" (e.g. {examples[reason]})" if reason in examples else "")
            for reason, count in top
        )
        notes.append(
            f"{quarantined:,} of {quarantined + rows_used:,} rows were quarantined, most for: "
            f"{listed}. See docs/log-contract.md; the register's columns: and ingest: "
            "sections map names, units, status columns and time zones"
        )
    return notes


@dataclass(frozen=True)
class _Measured:
    """One model's summaries and what was measured on them, before judgement."""

    entry: ModelEntry
    aggregate: ModelAggregate
    metrics: Metrics
    drift: DriftSummary | None


def _measure(entry: ModelEntry, agg: ModelAggregate, options: CheckOptions) -> _Measured:
    """Metrics and drift of one model; Evidently's drill-down page only when it drifted."""
    cur, ref = agg.current, agg.reference
    thresholds = entry.thresholds
    metrics = finalize_metrics(cur, ref, thresholds)
    drift = None
    if options.drift and thresholds.drift.enabled and cur.n_rows:
        from monitor.drift import compute_drift  # only for drift

        drift = compute_drift(cur, ref, thresholds.drift, model_id=entry.id)
        drifted = [c.column for c in drift.columns if c.drifted]
        if options.drift_html and drifted:
            page = drift_page_path(options.out_dir, entry.id)
            if _drift_page(cur, ref, thresholds.drift, page, entry.id, drifted) is not None:
                drift = drift.model_copy(update={"html": page.name})
    return _Measured(entry, agg, metrics, drift)


def drift_page_path(out_dir: Path, model_id: str) -> Path:
    """Where a model's drill-down drift page goes in a report folder."""
    return out_dir / f"drift-{_safe_name(model_id)}.html"


def _drift_page(
    cur: WindowAggregate,
    ref: WindowAggregate,
    limits: DriftLimits,
    page: Path,
    model_id: str,
    columns: Sequence[str],
) -> Path | None:
    """Evidently's page for the drifted columns, on the windows' bounded samples."""
    from monitor.drift_evidently import drift_page

    return drift_page(cur, ref, limits, path=page, model_id=model_id, columns=columns)


def _safe_name(model_id: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in model_id)
    return (keep or "model")[:80] + "-" + hashlib.sha256(model_id.encode()).hexdigest()[:6]


def _persistence(entry: ModelEntry) -> tuple[int, int]:
    """The ladder's persistence rule for this model, ``(k, n)``."""
    rules = entry.ladder.rules
    return rules.persistence_k, rules.persistence_n


def _labels_due(entry: ModelEntry, agg: ModelAggregate, now: datetime) -> datetime | None:
    """When late labels are due for this night, while that is still ahead of ``now``."""
    delay = entry.thresholds.labels.max_delay
    if delay is None:
        return None
    due = to_datetime(agg.bounds.current_end) + parse_duration(delay)
    moment = now if now.tzinfo is not None else now.replace(tzinfo=timezone.utc)
    return due if moment < due else None


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
        labels_due=_labels_due(entry, agg, options.now),
    )


@dataclass(frozen=True)
class _Judged:
    """One model measured, judged and classified: all its report holds but the ladder's part."""

    measured: _Measured
    verdict: ModelVerdict
    modes: FailureModeResult
    notes: tuple[str, ...]


def _classify(
    measured: _Measured, verdict: ModelVerdict, notes: Sequence[str], register: Register
) -> _Judged:
    """Name the failure modes of a judged model (a blind model has none to name)."""
    agg = measured.aggregate
    if agg.current.n_rows == 0:
        nothing = FailureModeResult(
            modes=[], dominant=None, annotation_coverage=None, unmapped_annotations={}, notes=[]
        )
        return _Judged(measured, verdict, nothing, (*notes, _BLIND_NOTE))
    modes = classify(
        agg.current, agg.reference, measured.metrics, list(verdict.checks), register=register
    )
    # What a check found that its numbers do not say: blind quality's cause, which side of
    # a band and what to tune.
    said = tuple(c.note for c in verdict.checks if c.note and c.status != "ok")
    return _Judged(measured, verdict, modes, (*notes, *said, *modes.notes))


def _model_report(judged: _Judged, stats: IngestStats, ladder: LadderOutcome) -> ModelReport:
    """One model's report, assembled once from what was measured, judged and decided."""
    entry, agg = judged.measured.entry, judged.measured.aggregate
    verdict, modes = judged.verdict, judged.modes
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
        n_rows=agg.current.n_rows,
        n_labeled=agg.current.n_labeled,
        n_quarantined=stats.quarantined_by_model.get(entry.id, 0),
        n_duplicates=stats.duplicates_by_model.get(entry.id, 0),
        n_reference_rows=agg.reference.n_rows,
        metrics=judged.measured.metrics,
        checks=list(verdict.checks),
        breaches=list(verdict.breaches),
        failure_modes=modes.modes,
        # A dominant mode is what the ladder acts on; a model healthy by its checks has
        # nothing to act on, so its background failures are listed but none is dominant.
        dominant_failure_mode=modes.dominant if verdict.actionable else None,
        annotation_coverage=modes.annotation_coverage,
        unmapped_annotations=modes.unmapped_annotations,
        drift=judged.measured.drift,
        recommendation=ladder.recommendation,
        ladder_position=ladder.position,
        notes=_notes(judged),
        quality_basis=verdict.quality_basis,
        rerun=ladder.rerun,
    )


def _notes(judged: _Judged) -> list[str]:
    drift = judged.measured.drift
    return [*judged.notes, *([drift.note] if drift is not None and drift.note else [])]


def _ingest_summary(
    stats: IngestStats, options: CheckOptions, quarantine_file: str | None
) -> IngestSummary:
    return IngestSummary(
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


def build_report(
    loaded: LoadedRegister,
    aggregates: Mapping[str, ModelAggregate],
    stats: IngestStats,
    options: CheckOptions,
    *,
    run_id: str,
    engine: str = "local",
    quarantine_file: str | None = None,
    decide: Decide | None = None,
    anchor: AuditAnchor | None = None,
) -> Report:
    """The night's report from merged summaries: measured, judged, classified, decided.

    Every model is measured (metrics, drift), the night is judged as one
    (:func:`~monitor.judge.judge_night`), failure modes are named; then, with
    ``decide``, the report of those verdicts goes to the ladder, and the final report is
    assembled once more from the same parts with the ladder's outcome for each model and
    the audit log's head after it (``anchor``). Nothing is patched after assembly:
    reports are frozen.
    """
    register = loaded.register
    notes = (
        [f"{len(stats.unreadable)} log file(s) could not be read: {', '.join(stats.unreadable)}"]
        if stats.unreadable
        else []
    )
    if options.partial:
        notes.append(
            f"partial night: {options.as_of} had not ended when it was checked "
            f"({options.now:%Y-%m-%d %H:%M} UTC); nothing here was recorded as its decision"
        )
    measured = [_measure(entry, aggregates[entry.id], options) for entry in register.models]
    night = judge_night([_evidence(m, options, bool(stats.unreadable)) for m in measured])
    judged = [
        _classify(
            m,
            night.models[m.entry.id],
            [
                *ingest_notes(
                    m.entry.id, stats, m.aggregate.current.n_rows + m.aggregate.reference.n_rows
                ),
                *notes,
            ],
            register,
        )
        for m in measured
    ]
    ingest = _ingest_summary(stats, options, quarantine_file)

    def assemble(ladder: LadderNight, head: Mapping[str, object] | None = None) -> Report:
        models = [
            _model_report(j, stats, ladder.models.get(j.measured.entry.id, _NO_LADDER))
            for j in judged
        ]
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
            outbox=ladder.outbox,
            audit_head=None if head is None else AuditHead.model_validate(head),
            partial=options.partial,
        )

    if decide is None:
        return assemble(LadderNight())
    outcomes = decide(assemble(LadderNight()))
    return assemble(outcomes, None if anchor is None else anchor())


def run_check(
    loaded: LoadedRegister,
    options: CheckOptions,
    *,
    engine: Engine | None = None,
    decide: Decide | None = None,
    progress: Progress | None = None,
    render: Callable[[Report], str] | None = None,
    published: Callable[[Sequence[Path]], None] | None = None,
    anchor: AuditAnchor | None = None,
) -> Report:
    """Run one nightly check and publish its outputs into ``options.out_dir`` as one unit.

    Everything is written into a fresh run folder (:class:`~monitor.publish.RunFolder`):
    the quarantine and drift pages, then the ladder decision (``decide``, idempotent per
    model and night, with the audit head after it from ``anchor``), then ``report.html``
    (``render``) and ``report.json`` last; then
    the folder is published with one atomic rename. A kill at any point leaves ``out``
    showing the previous run's files, all of them, and a rerun converges on the same
    result. ``published`` receives the files of this run (in its run folder), e.g. to
    attach them to an MLflow run.
    """
    engine = engine or LocalEngine()
    register = loaded.register
    bounds = plan_windows(register, options.as_of)
    stats = IngestStats()
    run_id = run_id_for(loaded.version, options.as_of, options.logs, options.labels)
    with RunFolder(options.out_dir, label=run_id) as run:
        staged = dataclasses.replace(options, out_dir=run.path)
        quarantine_path = run.path / "quarantine.parquet"
        with QuarantineWriter(quarantine_path) as quarantine:
            aggregates = engine.summarize(
                options.logs,
                register if options.drift else _without_drift(register),
                bounds,
                labels=options.labels,
                quarantine=quarantine,
                stats=stats,
                progress=progress,
                memory_budget=(
                    options.memory_budget
                    if options.memory_budget is not None
                    else register.ingest.memory_budget
                ),
            )
        report = build_report(
            loaded,
            aggregates,
            stats,
            staged,
            run_id=run_id,
            engine=engine.name,
            quarantine_file=quarantine_path.name,
            decide=decide,
            anchor=anchor,
        )
        if render is not None:
            write_atomic(run.path / "report.html", render(report))
        write_report_json(report, run.path / "report.json")
        files = run.publish(report.run_id)
    if published is not None:
        published(files)
    return report


def _without_drift(register: Register) -> Register:
    """The register as the engine sees it when drift is off: no model measures drift,
    so ingest reads no feature columns and the aggregates hold no feature samples."""
    models = []
    for entry in register.models:
        drift = entry.thresholds.drift.model_copy(update={"enabled": False})
        thresholds = entry.thresholds.model_copy(update={"drift": drift})
        models.append(entry.model_copy(update={"thresholds": thresholds}))
    return register.model_copy(update={"models": models})


def write_report_json(report: Report, path: Path) -> Path:
    """``report.json``, atomically."""
    text = report.model_dump_json(indent=2)
    # Round-trip check: never publish a report that its own schema would reject.
    Report.model_validate(json.loads(text))
    return write_atomic(path, text + "\n")
