"""The nightly report: pydantic models that serialise to ``report.json``.

The stable fields are the ones listed in DESIGN.md ("report.json"); more are
added here for the HTML report and analysts. ``SCHEMA_VERSION`` changes whenever
a stable field changes meaning or disappears.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from thresholds.vocabulary import STATUS_ORDER, Status

__all__ = [
    "SCHEMA_VERSION",
    "AuditHead",
    "Breach",
    "CalibrationDriftMetric",
    "CalibrationMetric",
    "Check",
    "CheckKind",
    "ConfidenceMetric",
    "DriftColumn",
    "DriftSummary",
    "ErrorRateMetric",
    "ErroredLatency",
    "EstimatedQuality",
    "FailureModeShare",
    "IngestSummary",
    "LatencyMetric",
    "Metrics",
    "ModelReport",
    "OutboxStatus",
    "QualityMetric",
    "RateMetric",
    "Recommendation",
    "ReliabilityBinOut",
    "Report",
    "RerunNote",
    "SignalSummary",
    "ThroughputMetric",
    "TimeWindow",
    "report_json_schema",
    "worst_status",
]

SCHEMA_VERSION = "2.0"

#: ``blind``: the check cannot see what it judges (labels below the register's coverage).
CheckStatus = Literal["ok", "warning", "breach", "insufficient_data", "blind"]
#: ``limit``: against a register limit; ``baseline``: tonight against the reference window;
#: ``sequential``: EWMA/CUSUM over the last nights (see ``monitor.judge``).
CheckKind = Literal["limit", "baseline", "sequential"]


class _Out(BaseModel):
    # Frozen: a report is assembled once (monitor.check.build_report), never patched.
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="null", frozen=True)


class TimeWindow(_Out):
    """A half-open time span [start, end) in UTC."""

    start: datetime
    end: datetime


class RateMetric(_Out):
    """A proportion with its Wilson interval."""

    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    count: int = 0
    n: int = 0


class QualityMetric(RateMetric):
    """Accuracy of ``correct`` (or mean ``quality_score``) with label coverage."""

    metric: Literal["accuracy", "quality_score"] = "accuracy"
    label_coverage: float | None = None


class ErrorRateMetric(RateMetric):
    """Hard-error share overall and per output type."""

    by_output_type: dict[str, RateMetric] = Field(default_factory=dict)
    output_types_folded: int = 0


class ErroredLatency(_Out):
    """Latency of errored rows that carry one, in milliseconds, kept apart from the
    answered rows' percentiles (timeouts are often the slowest rows)."""

    n: int = 0
    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    mean: float | None = None
    max: float | None = None


class LatencyMetric(_Out):
    """Latency percentiles in milliseconds, within ``relative_accuracy`` of exact, over the
    rows that are not errors and carry a latency (``n`` of them); errored rows' latency is
    in ``errored``."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    mean: float | None = None
    max: float | None = None
    n: int = 0
    relative_accuracy: float = 0.005
    histogram_edges: list[float] = Field(default_factory=list)
    histogram_counts: list[int] = Field(default_factory=list)
    errored: ErroredLatency | None = None


class ThroughputMetric(_Out):
    """Predictions per hour over the current window."""

    per_hour_mean: float | None = None
    per_hour_min: float | None = None
    hours: float = 0.0


class ConfidenceMetric(_Out):
    """Confidence level, the share below the register's minimum, and routing bands, over
    the ``n`` rows that carry a confidence. ``escalation_rate`` is the share routed to a
    human (below ``auto``); ``reescalation`` the share of rows whose follow-up marker says
    the case came back (only when the logs carry the marker)."""

    mean: float | None = None
    share_below_min: float | None = None
    min: float = 0.6
    band_auto: float | None = None
    band_review: float | None = None
    band_general: float | None = None
    escalation_rate: float | None = None
    n: int = 0
    reescalation: RateMetric | None = None


class ReliabilityBinOut(_Out):
    lower: float
    upper: float
    n: int
    mean_confidence: float | None
    accuracy: float | None


class CalibrationMetric(_Out):
    """Top-label calibration over labeled rows (Guo et al. 2017)."""

    ece: float | None = None
    #: Expected ECE of a perfectly calibrated model at these bin counts; the ECE ceiling is
    #: judged on ``ece - ece_noise_floor`` so small nights do not warn on estimator bias.
    ece_noise_floor: float | None = None
    ece_equal_mass: float | None = None
    mce: float | None = None
    brier: float | None = None
    overconfidence_gap: float | None = None
    n: int = 0
    bins: list[ReliabilityBinOut] = Field(default_factory=list)


class CalibrationDriftMetric(_Out):
    """Calibration now against the reference window."""

    ece_delta: float | None = None
    reference_ece: float | None = None
    statistic: float | None = None
    dof: int | None = None
    p_value: float | None = None
    confidence_ks: float | None = None
    confidence_ks_p_value: float | None = None
    confidence_psi: float | None = None
    reference_bins: list[ReliabilityBinOut] = Field(default_factory=list)


class EstimatedQuality(_Out):
    """Accuracy expected from tonight's confidences, without labels: confidence-based
    performance estimation (CBPE, NannyML) through the reference window's reliability
    (:mod:`monitor.stats.estimation`). The interval is for the accuracy labels would
    measure on these rows, assuming P(correct | confidence) is what it was in the
    reference window."""

    method: Literal["cbpe"] = "cbpe"
    value: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    #: Rows estimated: tonight's rows that are not errors and carry a confidence.
    n: int = 0
    #: Labeled reference rows the reliability map was learned from.
    reference_n: int = 0


class Metrics(_Out):
    quality: QualityMetric | None = None
    #: CBPE's estimate, next to the measured ``quality`` (accuracy only).
    quality_estimated: EstimatedQuality | None = None
    error_rate: ErrorRateMetric
    latency_ms: LatencyMetric
    throughput: ThroughputMetric
    confidence: ConfidenceMetric
    calibration: CalibrationMetric | None = None
    calibration_drift: CalibrationDriftMetric | None = None


class Check(_Out):
    """One threshold judged: ``ok``, ``warning`` (point estimate beyond the limit but the
    interval straddles it), ``breach`` (interval beyond the limit) or ``insufficient_data``."""

    threshold: str
    status: CheckStatus
    observed: float | None
    limit: float
    direction: Literal["max", "min"]
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    tier: int | None = None
    kind: CheckKind = "limit"
    #: One-sided p-value of "the model is on the wrong side of ``limit``" (limit checks) or
    #: "worse than the reference" (baseline and sequential checks); None when the check has
    #: no test (e.g. Evidently's distances).
    p_value: float | None = None
    #: ``p_value`` after Benjamini–Hochberg across every model × check of the night.
    p_adjusted: float | None = None
    #: The reference window's value (baseline and sequential checks).
    reference: float | None = None
    #: How far past the limit (1 < 25 %, 2 < 100 %, 3 beyond), before criticality.
    magnitude: int | None = None
    #: The test behind ``p_value``, in words.
    test: str | None = None
    #: The raw p-value at or below which this check *supports* persistence
    #: (:func:`monitor.judge.fleet.support_level`); None outside the family.
    support_level: float | None = None
    #: Significant at ``support_level`` and past the register's share of the minimum
    #: effect: tonight counts towards the ladder's persistence rule when this same check
    #: breaches on another night of the window. It does not change ``status``.
    supports_persistence: bool = False
    #: Why, in words: which side of a band, what to tune, what cannot be seen.
    note: str | None = None


class SignalSummary(_Out):
    """The night's multiple-testing family: every check with a p-value, all models."""

    level: float
    family_size: int
    n_models: int
    discoveries: int
    false_alarm_budget_nights: float
    fleet_fdr_max: float
    background_models: int = 0


class Breach(_Out):
    """A check at ``warning`` or ``breach`` level, with its severity tier (1–4)."""

    threshold: str
    level: Literal["warning", "breach", "blind"]
    observed: float | None
    limit: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 0
    tier: int


class FailureModeShare(_Out):
    """One failure mode's weight among this model's failures, with its evidence."""

    mode: str
    count: int
    share: float
    confidence: float = 0.0
    evidence: list[str] = Field(default_factory=list)
    segment: str | None = None
    #: ``confidence_miscalibration`` only: which way the confidences are wrong.
    direction: Literal["overconfident", "underconfident"] | None = None


class DriftColumn(_Out):
    column: str
    kind: Literal["feature", "prediction", "confidence"]
    method: str
    statistic: float | None
    p_value: float | None = None
    threshold: float | None = None
    drifted: bool
    #: Non-missing values compared in each window (every row of the window carrying one).
    n_current: int | None = None
    n_reference: int | None = None
    #: Guaranteed bounds on the score Evidently computes on the same full windows; equal
    #: to ``statistic`` when the window summaries are exact (``monitor.drift``).
    statistic_low: float | None = None
    statistic_high: float | None = None


class DriftSummary(_Out):
    """Drift between windows over every row, from mergeable summaries, with Evidently's
    default methods, thresholds and verdicts (``monitor.drift``); ``html`` is Evidently's
    drill-down page for the drifted columns, drawn from a bounded sample."""

    #: Rows in each window (drift compares every row; the names predate that).
    sample_size_current: int = 0
    sample_size_reference: int = 0
    columns: list[DriftColumn] = Field(default_factory=list)
    share_drifted_features: float | None = None
    html: str | None = None
    skipped_reason: str | None = None
    #: Feature columns beyond ``thresholds.drift.max_columns``, left out (see ``note``).
    columns_not_compared: int = 0
    note: str | None = None


class Recommendation(_Out):
    """The ladder's decision for this model tonight (filled by the ladder layer)."""

    id: str
    rung: str | None
    status: str
    tier: int
    summary: str
    estimated_cost: float | None = None
    currency: str = "USD"
    approvals_required: int = 0
    approvers: list[str] = Field(default_factory=list)
    due_at: datetime | None = None
    reason: str = ""
    commands: list[str] = Field(default_factory=list)
    #: How the item's notifications reach people now (delegates, after hours, on call).
    routing: str = ""
    #: Nobody configured can be reached: it goes to everyone at the highest priority.
    unroutable: bool = False


class RerunNote(_Out):
    """This night was already decided from a report that differs in what decides: the
    decision taken then stands (``stands``) unless ``--redecide`` superseded it."""

    outcome: Literal["stands", "superseded"]
    decided_at: datetime | None = None
    status_then: str | None = None
    differences: list[str] = Field(default_factory=list)
    message: str = ""


QualityBasis = Literal["measured", "estimated", "none"]


class ModelReport(_Out):
    model_id: str
    status: Status
    criticality: int = 2
    window: TimeWindow
    reference_window: TimeWindow
    n_rows: int = 0
    n_labeled: int = 0
    n_quarantined: int = 0
    n_duplicates: int = 0
    n_reference_rows: int = 0
    metrics: Metrics | None = None
    checks: list[Check] = Field(default_factory=list)
    breaches: list[Breach] = Field(default_factory=list)
    failure_modes: list[FailureModeShare] = Field(default_factory=list)
    dominant_failure_mode: str | None = None
    annotation_coverage: float | None = None
    unmapped_annotations: dict[str, int] = Field(default_factory=dict)
    drift: DriftSummary | None = None
    recommendation: Recommendation | None = None
    ladder_position: str | None = None
    notes: list[str] = Field(default_factory=list)
    #: What tonight's quality verdict rests on: labels (``measured``), CBPE's estimate
    #: because labels are missing (``estimated``), or nothing (``none``).
    quality_basis: QualityBasis | None = None
    rerun: RerunNote | None = None


class IngestSummary(_Out):
    """Where every row read went.

    rows_read = rows_used + rows_quarantined + rows_duplicate + rows_out_of_window.
    """

    files: list[str] = Field(default_factory=list)
    rows_read: int = 0
    rows_used: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_out_of_window: int = 0
    naive_timestamps: int = 0
    quarantined_by_reason: dict[str, int] = Field(default_factory=dict)
    quarantine_file: str | None = None
    labels_file: str | None = None
    labels_joined: int = 0
    unreadable: list[str] = Field(default_factory=list)


class OutboxStatus(_Out):
    """The notification outbox when the report was written: messages still waiting, and
    dead letters (given up after the maximum age; ``modelhealth ladder outbox``)."""

    pending: int = 0
    dead: int = 0
    oldest_dead_at: datetime | None = None
    dead_ids: list[int] = Field(default_factory=list)


class AuditHead(_Out):
    """The ladder's audit log head right after tonight's decisions: its newest row's
    sequence number and hash. Kept outside the database, it lets ``modelhealth ladder
    audit verify --anchor report.json`` notice rows deleted from the log's end."""

    seq: int
    hash: str


class Report(_Out):
    schema_version: str = SCHEMA_VERSION
    run_id: str
    as_of: str
    register_name: str
    register_version: str
    generated_at: datetime
    status: Status
    ingest: IngestSummary
    models: list[ModelReport]
    engine: str = "local"
    signal: SignalSummary | None = None
    outbox: OutboxStatus | None = None
    #: Filled when the ladder ran (``--no-ladder`` leaves it null).
    audit_head: AuditHead | None = None
    #: The night had not ended when it was checked (``check --partial``): nothing in this
    #: report was recorded as the night's decision.
    partial: bool = False


def worst_status(statuses: list[str]) -> Status:
    """The most severe status of several; ``healthy`` when there are none."""
    worst: Status = "healthy"
    for status in statuses:
        if STATUS_ORDER[status] > STATUS_ORDER[worst] or (
            STATUS_ORDER[status] == STATUS_ORDER[worst] and status == "blind"
        ):
            worst = status  # type: ignore[assignment]
    return worst


def report_json_schema() -> dict[str, object]:
    """The JSON Schema of ``report.json`` (draft 2020-12), as written by this version."""
    schema = Report.model_json_schema(mode="serialization")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "modelhealth report.json",
        **schema,
    }
