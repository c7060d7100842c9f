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
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Annotated, Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ByteSize,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from thresholds.vocabulary import RUNGS, RungId

__all__ = [
    "DEFAULT_ACK_HOURS",
    "DEFAULT_DECIDE_HOURS",
    "DEFAULT_NEXT_LEVEL_AFTER",
    "DEFAULT_REMIND_AFTER",
    "TIER_NAMES",
    "WEEKDAYS",
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
    "EscalationBand",
    "ExtraFailureMode",
    "FailureModeSettings",
    "IdentitySettings",
    "IncidentSettings",
    "IngestSettings",
    "IngestTransforms",
    "LabelRequirement",
    "LadderSettings",
    "LatencyLimits",
    "MatrixEntrySettings",
    "ModelEntry",
    "QualityFloor",
    "ReescalationCeiling",
    "Register",
    "RoutingSettings",
    "RuleSettings",
    "RungSettings",
    "SequentialSettings",
    "SignalSettings",
    "SlaSettings",
    "StatusErrors",
    "TeamSettings",
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


def describe_hours(hours: float) -> str:
    """``immediately``, ``30 min``, ``24 h``, ``7 d``: a window as people say it (days
    only beyond two)."""
    if hours <= 0:
        return "immediately"
    if hours < 1:
        return f"{hours * 60:g} min"
    if hours > 48 and float(hours / 24).is_integer():
        return f"{hours / 24:g} d"
    return f"{hours:g} h"


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
    followup: str = "followup"
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


FindingLevel = Literal["warning", "breach"]


class EscalationBand(_Strict):
    """The healthy share of rows routed to a human (confidence below ``auto``).

    Above ``max`` the routing thresholds are too conservative (people review what the
    model gets right); below ``min`` the model answers questions it should not. Outside
    the band is a finding ``confidence.escalation_rate`` at ``level`` (``warning`` by
    default: a band is a target, not a failure of the answers).
    """

    min: Share = 0.15
    max: Share = 0.40
    level: FindingLevel = "warning"

    @model_validator(mode="after")
    def _ordered(self) -> EscalationBand:
        if self.min >= self.max:
            raise ValueError(f"escalation band min {self.min:g} must be below its max {self.max:g}")
        return self


class ReescalationCeiling(_Strict):
    """Share of cases that come back after they were handled (the logs' optional
    ``followup`` marker); judged only when the logs carry the marker."""

    max: Share = 0.05
    level: FindingLevel = "warning"


class ConfidenceLimits(_Strict):
    """Confidence routing: rows at or above ``auto`` are served automatically, rows in
    [``review``, ``auto``) go to review, rows below ``review`` to the general queue.
    ``escalation_rate: null`` turns the band off."""

    min: Share = 0.6
    max_share_below: Share | None = None
    auto: Share = 0.85
    review: Share = 0.60
    escalation_rate: EscalationBand | None = Field(default_factory=EscalationBand)
    reescalation_rate: ReescalationCeiling | None = Field(default_factory=ReescalationCeiling)


class LabelRequirement(_Strict):
    """How much of tonight must carry labels for quality to be judged on them.

    Below ``min_coverage`` (labeled rows / rows) the model's quality is **blind**: the
    model is never healthy, the escalation opens on the first night at the highest
    priority, and the confidence-based estimate stands in for the measurement. Labels
    that arrive late (``check --labels``) can be given ``max_delay`` after the night
    ends: until then a night short of labels is ``insufficient_data`` (still never
    healthy), after it blind. Judged only for models with a quality floor.
    """

    min_coverage: Share = 0.05
    max_delay: Duration | None = None


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
    #: Feature columns compared at most (the first by name); prediction and confidence
    #: are always compared. Each column costs Evidently time and page size.
    max_columns: Annotated[int, Field(ge=1, le=10_000)] = 100


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
    labels: LabelRequirement = Field(default_factory=LabelRequirement)
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


#: Severity tiers of an escalation, as the ladder, the report and the documents name them.
TIER_NAMES: Final[Mapping[int, str]] = {
    1: "operational",
    2: "delivery risk",
    3: "relationship threat",
    4: "critical",
}
#: Hours to acknowledge (tier 2: a mitigation plan communicated within 24 h): a week, a
#: day, two hours, immediately.
DEFAULT_ACK_HOURS: Final[Mapping[int, float]] = {1: 168.0, 2: 24.0, 3: 2.0, 4: 0.0}
#: Hours to decide (tier 2: resolved within 48 h): two weeks, two days, a day, four hours.
DEFAULT_DECIDE_HOURS: Final[Mapping[int, float]] = {1: 336.0, 2: 48.0, 3: 24.0, 4: 4.0}
#: An unacknowledged step is re-notified after this long …
DEFAULT_REMIND_AFTER: Final = "30m"
#: … and goes to the next level (the approver's manager, or the on-call role) after this.
DEFAULT_NEXT_LEVEL_AFTER: Final = "2h"


class SlaSettings(_Strict):
    """Response windows per severity tier (1 operational … 4 critical) and the reminder
    cadence of an unacknowledged step. Tiers not named keep the shipped defaults
    (:data:`DEFAULT_ACK_HOURS`, :data:`DEFAULT_DECIDE_HOURS`)."""

    ack_hours: dict[int, Annotated[float, Field(ge=0.0)]] = Field(default_factory=dict)
    decide_hours: dict[int, Annotated[float, Field(ge=0.0)]] = Field(default_factory=dict)
    #: Re-notify the approvers when nobody acknowledged a step this long after it was
    #: requested (counted from the start of their working day when it came in after hours).
    remind_after: Duration = DEFAULT_REMIND_AFTER
    #: Notify the next level (the approver's manager, the rung's ``escalate_to`` roles, or
    #: the on-call role) when still nobody acknowledged it this long after.
    next_level_after: Duration = DEFAULT_NEXT_LEVEL_AFTER

    def ack_within(self, tier: int) -> float:
        """Hours to acknowledge a step of ``tier``, the register's value or the default."""
        return float(self.ack_hours.get(tier, DEFAULT_ACK_HOURS[min(max(tier, 1), 4)]))

    def decide_within(self, tier: int) -> float:
        """Hours to decide a step of ``tier``, the register's value or the default."""
        return float(self.decide_hours.get(tier, DEFAULT_DECIDE_HOURS[min(max(tier, 1), 4)]))


class IncidentSettings(_Strict):
    """Stakeholder briefs, post-incident reviews and repeat escalations
    (``docs/process-records.md``).

    ``communicate_hours`` and ``update_hours`` override, per severity tier, when the first
    stakeholder brief is due after an escalation opens and how often it is updated; the
    shipped defaults are in :mod:`ladder.briefs`.
    """

    #: Escalations of this tier or above get a stakeholder brief.
    brief_min_tier: Annotated[int, Field(ge=1, le=4)] = 2
    communicate_hours: dict[int, Annotated[float, Field(gt=0.0)]] = Field(default_factory=dict)
    update_hours: dict[int, Annotated[float, Field(gt=0.0)]] = Field(default_factory=dict)
    #: Escalations of this tier or above get a post-incident review once they close.
    review_min_tier: Annotated[int, Field(ge=1, le=4)] = 3
    review_within_days: Annotated[int, Field(ge=1, le=90)] = 7
    #: An escalation of the same model and failure mode opened within this many days of an
    #: earlier one closing is a repeat, linked to the earlier one's review.
    repeat_within_days: Annotated[int, Field(ge=1, le=365)] = 90
    #: Who else receives the brief besides the owner and the approvers (people or channels).
    stakeholders: list[str] = Field(default_factory=list)


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
    incident: IncidentSettings = Field(default_factory=IncidentSettings)
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


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
#: Day names in the order of :meth:`datetime.date.weekday` (Monday is 0).
WEEKDAYS: Final[tuple[str, ...]] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WORKWEEK: Final[tuple[Weekday, ...]] = ("mon", "tue", "wed", "thu", "fri")
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _working_hours(text: str) -> tuple[int, int]:
    """``"09:00-17:00"`` → minutes of the day (540, 1020); ``24:00`` ends at midnight."""
    match = _HOURS.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not working hours; write them as '09:00-17:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if h1 > 23 or m1 > 59 or m2 > 59 or end > 24 * 60:
        raise ValueError(f"{text!r} is not a time range within one day (00:00 to 24:00)")
    if end <= start:
        raise ValueError(
            f"working hours {text!r} end before they start; a shift past midnight is two "
            "teams, or 24/7 on-call ('00:00-24:00')"
        )
    return start, end


class TeamSettings(_Strict):
    """When a team's people act on the ladder: their timezone, working days, working
    hours and holidays. Outside them an escalation goes to a delegate or the on-call role
    and says when a person will pick it up."""

    timezone: str = "UTC"
    working_days: list[Weekday] = Field(default_factory=lambda: list(_WORKWEEK), min_length=1)
    #: Local working hours, ``HH:MM-HH:MM`` (quoted in YAML); ``00:00-24:00`` is all day.
    hours: str = "09:00-17:00"
    #: Local dates nobody of the team works (public holidays, shutdowns).
    holidays: list[date] = Field(default_factory=list)
    #: The people of the team (names from ``people``).
    members: list[str] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown timezone {value!r}; use an IANA name such as 'Europe/Berlin' or "
                "'America/New_York'"
            ) from exc
        return value

    @field_validator("hours")
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        _working_hours(value)
        return value

    @property
    def minutes(self) -> tuple[int, int]:
        """Start and end of the working day, in minutes after local midnight."""
        return _working_hours(self.hours)


class RoutingSettings(_Strict):
    """Who a ladder notification reaches, and when (see ``docs/reminders.md``).

    Without ``teams`` everybody counts as reachable at any hour. With them, each person
    works the hours of their team (``default_team`` for people in none; nobody in no team
    and no default team is treated as always reachable).
    """

    teams: dict[str, TeamSettings] = Field(default_factory=dict)
    default_team: str | None = None
    #: Each person's next level (their manager): who an unacknowledged escalation goes
    #: to after ``ladder.sla.next_level_after``.
    escalate_to: dict[str, str] = Field(default_factory=dict)
    #: The role paged out of hours, for every tier ≥ 3 escalation, and when no manager is
    #: named. Its holders are reachable at any hour.
    on_call_role: str = "on_call"

    def team_of(self, person: str) -> tuple[str, TeamSettings] | None:
        """The team ``person`` works in (their own, else the default team), if any."""
        for name, team in self.teams.items():
            if person in team.members:
                return name, team
        if self.default_team is not None and self.default_team in self.teams:
            return self.default_team, self.teams[self.default_team]
        return None


class IngestSettings(_Strict):
    """Bounds on what one log file may cost to read, whoever wrote it.

    Sizes are bytes, or text with a unit (``64MiB``, ``2 GB``). A JSON Lines line longer
    than ``max_line_bytes`` is quarantined as ``line_too_long`` without being held in
    memory; a CSV row that long makes its file unreadable (CSV cannot be resynchronised
    inside a quoted cell). A compressed file that inflates past ``max_decompressed_bytes``
    is unreadable: exit 2 when given directly, listed in ``ingest.unreadable`` inside a
    folder. ``memory_budget`` bounds the memory of de-duplication (the one state that
    grows with the rows; beyond it, sorted runs of id keys spill to disk); unset, it is
    ``check --memory-budget`` or 256 MiB, and the flag wins over the register.
    """

    max_line_bytes: Annotated[ByteSize, Field(ge=1024, le=1 << 30)] = ByteSize(64 << 20)
    max_decompressed_bytes: Annotated[ByteSize, Field(ge=1 << 20)] = ByteSize(64 << 30)
    #: At least 256 KiB (``monitor.ingest.dedup_exact.MIN_MEMORY_BUDGET``).
    memory_budget: Annotated[ByteSize, Field(ge=256 << 10)] | None = None


class Register(_Strict):
    """A whole threshold register, models resolved against the defaults."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    people: dict[str, list[str]] = Field(default_factory=dict)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
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
