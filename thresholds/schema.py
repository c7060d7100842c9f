"""The threshold register, declared as pydantic v2 models.

*What* a register may say lives here; *how* a YAML file is read, located and
checked lives in :mod:`thresholds.loader`. Every model forbids unknown keys so a
typo (``p59``, ``tresholds``) is an error, never a silently ignored setting.

A register has register-level ``defaults`` that each model inherits and may
override key by key (mappings merge recursively, lists and scalars replace).
The models below describe the *effective* entry after that merge.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from thresholds.vocabulary import RUNGS, RungId

__all__ = [
    "ApprovalPolicySettings",
    "AuditSettings",
    "BaselineComparison",
    "Budget",
    "CalibrationLimits",
    "ColumnMapping",
    "ConfidenceLimits",
    "DriftLimits",
    "Duration",
    "ErrorRateCeiling",
    "ExtraFailureMode",
    "FailureModeSettings",
    "IdentitySettings",
    "IngestTransforms",
    "LadderSettings",
    "LatencyLimits",
    "MatrixEntrySettings",
    "ModelEntry",
    "QualityFloor",
    "Register",
    "RuleSettings",
    "RungSettings",
    "SequentialSettings",
    "SignalSettings",
    "SlaSettings",
    "StatusErrors",
    "Thresholds",
    "ThroughputFloor",
    "Windows",
    "parse_duration",
]

Share = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveMs = Annotated[float, Field(gt=0.0)]
Money = Annotated[float, Field(ge=0.0)]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """Parse ``"1d"``, ``"28d"``, ``"12h"``, ``"2w"``, ``"90m"`` into a timedelta.

    Raises
    ------
    ValueError
        When the text is not a positive number followed by one of s, m, h, d, w.
    """
    match = _DURATION.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration; write a number and a unit s, m, h, d or w, e.g. '1d'"
        )
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"duration {text!r} must be longer than zero")
    return timedelta(seconds=seconds)


def _check_duration(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[str, AfterValidator(_check_duration)]


class _Strict(BaseModel):
    # No .inf/.nan: an infinite floor or ceiling would load and silently never fire.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ColumnMapping(_Strict):
    """Where each contract column lives in this model's logs (log column names).

    Only columns that differ need naming: every field defaults to the contract name.
    """

    prediction_id: str = "prediction_id"
    model_id: str = "model_id"
    timestamp: str = "timestamp"
    confidence: str = "confidence"
    latency_ms: str = "latency_ms"
    output_type: str = "output_type"
    correct: str = "correct"
    quality_score: str = "quality_score"
    error: str = "error"
    failure_mode: str = "failure_mode"
    format_valid: str = "format_valid"
    segment: str = "segment"
    prediction: str = "prediction"
    label: str = "label"
    feature_prefix: str = "feature."


def _check_timezone(name: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not an IANA time zone; write e.g. 'Europe/Berlin', "
            "'America/New_York' or 'UTC'"
        ) from None
    return name


TimeZoneName = Annotated[str, AfterValidator(_check_timezone)]

#: Latency units a log may use; ingest converts them to milliseconds.
LATENCY_UNITS_MS: dict[str, float] = {"s": 1000.0, "ms": 1.0, "us": 0.001}


class StatusErrors(_Strict):
    """``error`` derived from a status column: a row is an error when its status is one
    of ``failing`` (compared as text, case-insensitive, surrounding spaces ignored)."""

    column: Annotated[str, Field(min_length=1)]
    failing: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class IngestTransforms(_Strict):
    """How this model's logs are turned into the contract before they are checked.

    ``latency_unit`` is the unit of the latency column (converted to milliseconds);
    ``timezone`` is the IANA zone of timestamps logged without an offset (naive ones are
    otherwise taken as UTC and counted); ``error_from_status`` derives ``error`` from a
    status column; ``correct_from_prediction`` judges ``correct`` as
    ``prediction == label`` on every row, ignoring a logged ``correct`` column.
    """

    latency_unit: Literal["s", "ms", "us"] = "ms"
    timezone: TimeZoneName | None = None
    error_from_status: StatusErrors | None = None
    correct_from_prediction: bool = False


class Windows(_Strict):
    """The current window ends at the end of the as-of day; the reference window
    is the span just before it."""

    current: Duration = "1d"
    reference: Duration = "28d"


class QualityFloor(_Strict):
    """Quality must stay at or above ``min``: accuracy of ``correct``, or mean ``quality_score``."""

    metric: Literal["accuracy", "quality_score"] = "accuracy"
    min: Share = 0.8


class ErrorRateCeiling(_Strict):
    """Share of rows with a hard ``error`` must stay at or below ``max``, overall and per type."""

    max: Share = 0.05
    by_output_type: dict[str, Share] = Field(default_factory=dict)


class LatencyLimits(_Strict):
    """Latency percentile ceilings in milliseconds; ``None`` means not checked."""

    p50: PositiveMs | None = None
    p95: PositiveMs | None = None
    p99: PositiveMs | None = None


class ThroughputFloor(_Strict):
    """Mean predictions per hour over the current window must stay at or above ``min_per_hour``."""

    min_per_hour: Annotated[float, Field(ge=0.0)]


class ConfidenceLimits(_Strict):
    """Confidence routing: rows at or above ``auto`` are served automatically, rows in
    [``review``, ``auto``) go to review, rows below ``review`` to the general queue."""

    min: Share = 0.6
    max_share_below: Share | None = None
    auto: Share = 0.85
    review: Share = 0.60


class CalibrationLimits(_Strict):
    """ECE ceiling, and ceiling on the rise of ECE against the reference window."""

    ece_max: Share = 0.1
    drift_max: Share = 0.05
    drift_p_value: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.01


class DriftLimits(_Strict):
    """Data and prediction drift measured by Evidently on bounded samples."""

    enabled: bool = True
    p_value: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.05
    max_share_drifted_features: Share = 0.5
    confidence_psi_max: Annotated[float, Field(ge=0.0)] = 0.2
    sample_size: Annotated[int, Field(ge=100, le=1_000_000)] = 5000


class BaselineComparison(_Strict):
    """Tonight against the model's own reference window: "worse than it used to be".

    Each comparison is a one-sided test (does the current window look worse than the
    reference?) gated by a minimum effect, so a statistically detectable but immaterial
    wobble at 50 000 rows a night never pages. The absolute register limits are judged as
    before; these checks catch a model that got materially worse while still inside them.
    """

    enabled: bool = True
    #: Accuracy (or mean quality score) must fall by at least this much (1.5 points).
    quality_min_drop: Share = 0.015
    #: The error rate must rise by at least this factor *and* by ``error_rate_min_increase``.
    error_rate_min_ratio: Annotated[float, Field(ge=1.0)] = 1.5
    error_rate_min_increase: Share = 0.002
    #: Latency quantiles compared with the reference (exceedance of the reference quantile).
    latency_quantiles: list[Annotated[float, Field(gt=0.0, lt=1.0)]] = Field(
        default_factory=lambda: [0.95]
    )
    latency_min_ratio: Annotated[float, Field(ge=1.0)] = 1.15
    #: Overconfidence (mean confidence − accuracy) must rise by at least this much.
    overconfidence_min_rise: Share = 0.02
    #: Invalid-format share of schema-checked outputs: factor and absolute rise.
    format_min_ratio: Annotated[float, Field(ge=1.0)] = 1.5
    format_min_increase: Share = 0.005


SequentialMetric = Literal["quality", "error_rate"]
SEQUENTIAL_METRICS: tuple[SequentialMetric, ...] = ("quality", "error_rate")


class SequentialSettings(_Strict):
    """EWMA (Roberts 1959) or CUSUM (Page 1954) over past nights, for slow drifts.

    Needs the nights before tonight (``history``, passed by the nightly job from the
    state store); with fewer than ``min_nights`` of them the check is not run.
    """

    method: Literal["ewma", "cusum", "off"] = "ewma"
    metrics: list[SequentialMetric] = Field(default_factory=lambda: list(SEQUENTIAL_METRICS))
    window_nights: Annotated[int, Field(ge=2, le=90)] = 14
    min_nights: Annotated[int, Field(ge=1, le=90)] = 3
    ewma_lambda: Annotated[float, Field(gt=0.0, le=1.0)] = 0.2
    cusum_k: Annotated[float, Field(ge=0.0, le=5.0)] = 0.5
    #: The smoothed shift must reach this share of the one-night minimum effect.
    min_effect_share: Annotated[float, Field(gt=0.0, le=1.0)] = 0.5


class SignalSettings(_Strict):
    """How breaches are decided statistically, and the false-alarm budget they are held to.

    ``false_alarm_budget_nights`` is the number of healthy nights a model may run, on
    average, between two false alarms (100 = at most one false alarm per 100 healthy
    model-nights). Every check with a p-value joins one Benjamini–Hochberg family per
    night across all models of the register, at level
    ``q = min(fleet_fdr_max, n_models / false_alarm_budget_nights)``: a lone model is held
    to ``1 / budget`` per night, a large fleet to a false-discovery rate of
    ``fleet_fdr_max`` (so 200 healthy models do not page every night). See
    ``docs/signal-quality.md``.
    """

    enabled: bool = True
    false_alarm_budget_nights: Annotated[float, Field(ge=1.0, le=1_000_000.0)] = 100.0
    fleet_fdr_max: Annotated[float, Field(gt=0.0, le=0.5)] = 0.05
    #: Absolute-limit checks join the family too (a breach must survive the correction).
    correct_limits: bool = True
    #: Persistence support (Western Electric's "2 of 3 beyond 2σ"): a check significant
    #: at the support level — derived from the budget so that ``k`` of ``n`` supporting
    #: nights of one check happen by chance at most ``q`` a night across the fleet — and
    #: past ``support_min_effect_share`` of its minimum effect counts towards the
    #: ladder's persistence rule when the same check breaches on another night of the
    #: window. False: only breaches count, as before.
    persistence_support: bool = True
    support_min_effect_share: Annotated[float, Field(ge=0.0, le=1.0)] = 0.5
    baseline: BaselineComparison = Field(default_factory=BaselineComparison)
    sequential: SequentialSettings = Field(default_factory=SequentialSettings)


class Thresholds(_Strict):
    """Every limit a model is judged against."""

    quality: QualityFloor | None = Field(default_factory=QualityFloor)
    error_rate: ErrorRateCeiling = Field(default_factory=ErrorRateCeiling)
    latency_ms: LatencyLimits = Field(default_factory=LatencyLimits)
    throughput: ThroughputFloor | None = None
    confidence: ConfidenceLimits = Field(default_factory=ConfidenceLimits)
    calibration: CalibrationLimits = Field(default_factory=CalibrationLimits)
    drift: DriftLimits = Field(default_factory=DriftLimits)
    min_samples: Annotated[int, Field(ge=1)] = 100
    confidence_level: Annotated[float, Field(gt=0.5, lt=1.0)] = 0.95
    signal: SignalSettings = Field(default_factory=SignalSettings)


class ApprovalPolicySettings(_Strict):
    """Who must approve a rung. Unset fields keep the ladder's shipped default."""

    roles: list[str] | None = None
    min_approvals: Annotated[int, Field(ge=0, le=10)] | None = None
    requester_may_approve: bool | None = None
    escalate_to: list[str] | None = None


class RungSettings(_Strict):
    """Per-model overrides of one rung's cost, time, ceiling and policy."""

    cost_one_off: Money | None = None
    cost_monthly: Money | None = None
    cost_ceiling: Money | None = None
    time_days: Annotated[float, Field(ge=0.0)] | None = None
    evaluation_days: Annotated[int, Field(ge=1)] | None = None
    approval: ApprovalPolicySettings | None = None


class Budget(_Strict):
    """What the ladder may spend on this model per period."""

    amount: Money = 50_000.0
    currency: str = "USD"
    period: Literal["month", "quarter", "year"] = "quarter"


class RuleSettings(_Strict):
    """Rules that turn breaches (triggers) into decisions."""

    persistence_k: Annotated[int, Field(ge=1)] = 2
    persistence_n: Annotated[int, Field(ge=1)] = 3
    co_fire: list[list[str]] = Field(default_factory=list)
    same_night_tier: Annotated[int, Field(ge=1, le=4)] = 3
    step_down_after_days: Annotated[int, Field(ge=1)] = 60
    review_every_days: Annotated[int, Field(ge=1)] = 90


class SlaSettings(_Strict):
    """Hours to acknowledge and to decide, per severity tier (1 operational … 4 critical)."""

    ack_hours: dict[int, Annotated[float, Field(ge=0.0)]] = Field(default_factory=dict)
    decide_hours: dict[int, Annotated[float, Field(ge=0.0)]] = Field(default_factory=dict)


class MatrixEntrySettings(_Strict):
    """Per-model override of one row of the failure-mode response matrix."""

    rung: RungId | None = None
    mitigation: str | None = None
    long_term_fix: str | None = None
    owner: str | None = None


class LadderSettings(_Strict):
    """Where this model may go on the escalation ladder, and what it may cost."""

    allowed_rungs: list[RungId] = Field(default_factory=lambda: list(RUNGS))  # type: ignore[arg-type]
    budget: Budget = Field(default_factory=Budget)
    rungs: dict[RungId, RungSettings] = Field(default_factory=dict)
    rules: RuleSettings = Field(default_factory=RuleSettings)
    sla: SlaSettings = Field(default_factory=SlaSettings)
    response_matrix: dict[str, MatrixEntrySettings] = Field(default_factory=dict)


class ModelEntry(_Strict):
    """One registered model, after inheriting the register's defaults."""

    id: Annotated[str, Field(min_length=1, max_length=200)]
    owner: Annotated[str, Field(min_length=1)]
    description: str = ""
    criticality: Annotated[int, Field(ge=1, le=4)] = 2
    approver_roles: list[str] = Field(default_factory=lambda: ["model_owner"])
    columns: ColumnMapping = Field(default_factory=ColumnMapping)
    ingest: IngestTransforms = Field(default_factory=IngestTransforms)
    windows: Windows = Field(default_factory=Windows)
    output_types: list[str] = Field(default_factory=list)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    ladder: LadderSettings = Field(default_factory=LadderSettings)
    mlflow_registered_model: str | None = None


class ExtraFailureMode(_Strict):
    """A failure mode a team adds to the built-in taxonomy."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,62}$")]
    description: str = ""
    rung: RungId | None = None


class FailureModeSettings(_Strict):
    """Extra modes, and the map from free-text annotations to mode ids."""

    extra: list[ExtraFailureMode] = Field(default_factory=list)
    annotations: dict[str, str] = Field(default_factory=dict)


class IdentitySettings(_Strict):
    """Where approver identities come from.

    ``os_user`` is the real account running the command (never ``$USER``/``$LOGNAME``);
    ``env`` trusts whoever sets ``env_var`` and must be chosen explicitly. ``--as`` is
    honoured only when ``allow_as`` is true. Holders of an ``admin_roles`` role adopt a
    new version of the people, roles and this section (``ladder register pin``) and
    issue desk tokens.
    """

    source: Literal["os_user", "env"] = "os_user"
    env_var: str = "MODELHEALTH_USER"
    allow_as: bool = False
    admin_roles: list[str] = Field(default_factory=lambda: ["ml_lead"], min_length=1)


class AuditSettings(_Strict):
    """Where the audit log's key and head file are. The key itself is never in the
    register: ``key_file`` names a file holding it, ``key_env`` an environment variable."""

    key_file: str | None = None
    key_env: str | None = None
    #: Append-only head file; default ``<state file>.audit-head`` for SQLite, none for a
    #: server database.
    head_file: str | None = None

    @model_validator(mode="after")
    def _one_key_source(self) -> AuditSettings:
        if self.key_file and self.key_env:
            raise ValueError("give the audit key as key_file or key_env, not both")
        return self


class Register(_Strict):
    """A whole threshold register, models resolved against the defaults."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    people: dict[str, list[str]] = Field(default_factory=dict)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    failure_modes: FailureModeSettings = Field(default_factory=FailureModeSettings)
    models: list[ModelEntry]

    def model(self, model_id: str) -> ModelEntry:
        """The entry for ``model_id``; raises KeyError naming the known ids."""
        for entry in self.models:
            if entry.id == model_id:
                return entry
        known = ", ".join(m.id for m in self.models)
        raise KeyError(f"model {model_id!r} is not in register {self.name!r} (known: {known})")

    @property
    def failure_mode_ids(self) -> tuple[str, ...]:
        """Built-in and register-added failure-mode ids."""
        from thresholds.vocabulary import FAILURE_MODES

        return FAILURE_MODES + tuple(m.id for m in self.failure_modes.extra)

    def roles_of(self, person: str) -> frozenset[str]:
        """The roles a person holds in this register."""
        return frozenset(self.people.get(person, ()))
