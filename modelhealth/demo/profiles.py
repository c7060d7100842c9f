"""What the simulator draws from: a healthy model's profile, the degradations injected into
it, and the three example models of the demo month.

A :class:`ModelProfile` describes how a *healthy* model behaves and how it logs
(the contract's column names after the register's mapping); each :class:`Degradation`
injects one named effect over a time span. How they turn into rows is
:mod:`modelhealth.demo.draw`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Literal, get_args

import pyarrow as pa

from thresholds.schema import ColumnMapping

__all__ = [
    "UTC",
    "Degradation",
    "DegradationKind",
    "ModelKind",
    "ModelProfile",
    "as_utc",
    "contract_columns",
    "demo_profiles",
    "epoch_ms",
    "log_names",
]

DegradationKind = Literal[
    "accuracy_drop",
    "error_rate_multiplier",
    "latency_multiplier",
    "calibration_shift",
    "segment_failure",
    "format_failure",
    "hallucination",
    "feature_shift",
    "outage",
]
ModelKind = Literal["llm", "extractor", "classifier"]

UTC = timezone.utc

#: Contract column names a profile's ``columns`` mapping may rename.
_CONTRACT_NAMES = frozenset(ColumnMapping.model_fields)


@dataclass(frozen=True)
class Degradation:
    """An injected effect, active from ``start`` (inclusive) to ``end`` (exclusive).

    Parameters
    ----------
    kind
        Which effect; see :mod:`modelhealth.demo.draw` for exactly what each one does.
    size
        Points of accuracy for ``accuracy_drop``; the factor for the two multipliers;
        the rise of mean confidence for ``calibration_shift`` (accuracy unchanged); the
        failure rate in ``segment`` for ``segment_failure``; the invalid share for
        ``format_failure``; the share of outputs that become wrong and annotated
        "made up citation" for ``hallucination``; the shift in standard deviations for
        ``feature_shift``; ignored for ``outage``.
    start, end
        Time span; ``end=None`` leaves it open. Naive datetimes are taken as UTC.
    segment, output_type
        Restrict the effect to one segment and/or one output type.
    feature
        ``feature_shift`` only: the feature to move (name without prefix); ``None``
        moves every numeric feature.
    """

    kind: DegradationKind
    size: float
    start: datetime
    end: datetime | None = None
    segment: str | None = None
    output_type: str | None = None
    feature: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in get_args(DegradationKind):
            raise ValueError(f"unknown degradation kind {self.kind!r}")
        object.__setattr__(self, "start", as_utc(self.start))
        if self.end is not None:
            object.__setattr__(self, "end", as_utc(self.end))
            if self.end <= self.start:
                raise ValueError(f"{self.kind}: end {self.end} is not after start {self.start}")
        bounded = {"accuracy_drop", "hallucination", "segment_failure", "format_failure"}
        if self.kind in bounded and not 0.0 <= self.size <= 1.0:
            raise ValueError(f"{self.kind}: size must be a share in [0, 1], got {self.size}")
        if self.kind.endswith("_multiplier") and self.size <= 0.0:
            raise ValueError(f"{self.kind}: size must be a positive factor, got {self.size}")
        if self.kind == "calibration_shift" and not -1.0 <= self.size <= 1.0:
            raise ValueError(f"calibration_shift: size must be in [-1, 1], got {self.size}")
        if self.kind == "segment_failure" and self.segment is None:
            raise ValueError("segment_failure needs a segment")
        if self.feature is not None and self.kind != "feature_shift":
            raise ValueError(f"{self.kind}: only feature_shift takes a feature")

    def start_ms(self) -> int:
        """Start as milliseconds since the Unix epoch."""
        return epoch_ms(self.start)

    def end_ms(self) -> int | None:
        """End as milliseconds since the Unix epoch, or ``None`` when open."""
        return None if self.end is None else epoch_ms(self.end)


@dataclass(frozen=True)
class ModelProfile:
    """A healthy model's behaviour, plus the degradations injected into it.

    Parameters
    ----------
    model_id
        Value of the ``model_id`` column; also seeds the model's random stream.
    kind
        ``llm`` (``correct`` + ``quality_score`` from an evaluator), ``extractor`` (JSON
        outputs with ``format_valid``) or ``classifier`` (``prediction`` + ``label``
        instead of ``correct``, no annotations).
    rows_per_day
        Expected rows per day (the count is Poisson).
    accuracy, error_rate
        Expected share of correct outputs among non-error rows; share of error rows.
        Classifiers need ``accuracy > 0.5`` (binary top-label probabilities).
    latency_median_ms, latency_sigma
        Lognormal latency: median in milliseconds and sd of its logarithm.
    output_types, segments
        Name → share (normalised if they do not sum to 1).
    label_coverage
        Share of non-error rows that are judged (``correct``/``label`` not null).
    annotation_rate
        Share of judged failures that carry a ``failure_mode`` annotation.
    columns
        Contract name → log column name, mirroring the register's ``columns`` mapping.
    n_features
        Number of ``feature.*`` columns: ``tenure_months``, ``monthly_spend``,
        ``support_tickets``, ``plan`` (categorical), then ``x5``, ``x6``, … (normal).
    utc_offset_minutes
        Offset written into timestamps of text logs (CSV, JSON Lines); Parquet stores
        UTC instants. Rows always belong to the UTC day they were simulated for.
    degradations
        Effects injected on top of healthy behaviour, applied in a fixed order
        (outage, errors, then accuracy effects in the given order, calibration,
        latency, features).
    """

    model_id: str
    kind: ModelKind
    rows_per_day: int
    accuracy: float
    error_rate: float
    latency_median_ms: float
    latency_sigma: float
    output_types: Mapping[str, float]
    segments: Mapping[str, float]
    label_coverage: float = 0.9
    annotation_rate: float = 0.3
    columns: Mapping[str, str] = field(default_factory=dict)
    n_features: int = 0
    utc_offset_minutes: int = 0
    degradations: tuple[Degradation, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in get_args(ModelKind):
            raise ValueError(f"profile {self.model_id!r}: unknown kind {self.kind!r}")
        problems = []
        low = 0.5 if self.kind == "classifier" else 0.0
        if not low < self.accuracy < 1.0:
            problems.append(f"accuracy must be in ({low}, 1), got {self.accuracy}")
        for name in ("error_rate", "label_coverage", "annotation_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                problems.append(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.rows_per_day < 0 or self.n_features < 0:
            problems.append("rows_per_day and n_features must not be negative")
        if self.latency_median_ms <= 0 or self.latency_sigma < 0:
            problems.append("latency_median_ms must be > 0 and latency_sigma ≥ 0")
        for name in ("output_types", "segments"):
            shares = getattr(self, name)
            if not shares or min(shares.values()) < 0 or sum(shares.values()) <= 0:
                problems.append(f"{name} needs at least one non-negative share")
        unknown = sorted(set(self.columns) - _CONTRACT_NAMES)
        if unknown:
            problems.append(f"columns maps unknown contract names {unknown}")
        names = list(log_names(self).values())
        if len(names) != len(set(names)):
            problems.append(f"columns maps two contract columns to one log column: {names}")
        for d in self.degradations:
            problems.extend(_applicability(self, d))
        if problems:
            raise ValueError(f"profile {self.model_id!r}: " + "; ".join(problems))

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Feature names without prefix, in column order."""
        named = ("tenure_months", "monthly_spend", "support_tickets", "plan")
        extra = tuple(f"x{i}" for i in range(len(named) + 1, self.n_features + 1))
        return (named + extra)[: self.n_features]

    @property
    def has_format_check(self) -> bool:
        """Whether outputs are JSON checked against a schema (``format_valid`` logged)."""
        return self.kind == "extractor" or "json" in self.output_types


def _applicability(profile: ModelProfile, d: Degradation) -> list[str]:
    out = []
    if d.segment is not None and d.segment not in profile.segments:
        out.append(f"{d.kind}: unknown segment {d.segment!r}")
    if d.output_type is not None and d.output_type not in profile.output_types:
        out.append(f"{d.kind}: unknown output type {d.output_type!r}")
    if d.kind == "format_failure" and not profile.has_format_check:
        out.append("format_failure needs JSON outputs (kind 'extractor' or output type 'json')")
    if d.kind == "hallucination" and profile.kind == "classifier":
        out.append("hallucination does not apply to a classifier")
    if d.kind == "feature_shift":
        numeric = [f for f in profile.feature_names if f != "plan"]
        if not numeric:
            out.append("feature_shift needs numeric features (n_features ≥ 1)")
        elif d.feature is not None and d.feature not in numeric:
            out.append(f"feature_shift: {d.feature!r} is not one of the numeric {numeric}")
    return out


def as_utc(moment: datetime) -> datetime:
    """``moment`` with UTC attached when it is naive."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch (naive means UTC)."""
    return int((as_utc(moment) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1))


def contract_columns(profile: ModelProfile) -> list[tuple[str, pa.DataType]]:
    """The profile's columns as (contract name, type), in log order."""
    cols: list[tuple[str, pa.DataType]] = [
        ("prediction_id", pa.string()),
        ("model_id", pa.string()),
        ("timestamp", pa.timestamp("ms", tz="UTC")),
        ("confidence", pa.float64()),
        ("latency_ms", pa.float64()),
        ("output_type", pa.string()),
        ("segment", pa.string()),
        ("error", pa.bool_()),
    ]
    if profile.kind == "classifier":
        cols += [("prediction", pa.string()), ("label", pa.string())]
    else:
        cols.append(("correct", pa.bool_()))
        if profile.kind == "llm":
            cols.append(("quality_score", pa.float64()))
        if profile.has_format_check:
            cols.append(("format_valid", pa.bool_()))
        cols.append(("failure_mode", pa.string()))
    for name in profile.feature_names:
        kind: pa.DataType = pa.float64()
        if name in ("tenure_months", "support_tickets"):
            kind = pa.int64()
        elif name == "plan":
            kind = pa.string()
        cols.append((f"feature.{name}", kind))
    return cols


def log_names(profile: ModelProfile) -> dict[str, str]:
    """Contract name → log column name, after the profile's mapping."""
    prefix = profile.columns.get("feature_prefix", "feature.")
    out = {}
    for name, _ in contract_columns(profile):
        if name.startswith("feature."):
            out[name] = prefix + name.removeprefix("feature.")
        else:
            out[name] = profile.columns.get(name, name)
    return out


def demo_profiles(start: date) -> list[ModelProfile]:
    """The three example models of ``data/register.yaml`` over a month from ``start``.

    - ``support-assistant`` (LLM): healthy at ~93 % accuracy until day 15; then
      retrieval stops grounding answers and 12.5 % of answers become made-up citations
      (overall accuracy ~84 %, confidently wrong, so calibration worsens too); from
      day 23 it recovers, as if retrieval augmentation had been applied and worked.
    - ``invoice-extractor`` (JSON): healthy throughout; logs ``score`` and
      ``duration_ms`` as the register's column mapping says; its text logs use UTC+01:00.
    - ``churn-classifier``: healthy; from day 21 ``monthly_spend`` drifts up by 0.35 sd
      (a price change) while accuracy and calibration hold.
    """
    t0 = datetime(start.year, start.month, start.day, tzinfo=UTC)
    return [
        ModelProfile(
            model_id="support-assistant",
            kind="llm",
            rows_per_day=1500,
            accuracy=0.93,
            error_rate=0.012,
            latency_median_ms=850.0,
            latency_sigma=0.55,
            output_types={"answer": 0.72, "summary": 0.22, "refusal": 0.06},
            segments={"billing": 0.30, "shipping": 0.28, "returns": 0.24, "technical": 0.18},
            label_coverage=0.85,
            annotation_rate=0.3,
            degradations=(
                Degradation(
                    "hallucination",
                    0.125,
                    start=t0 + timedelta(days=15),
                    end=t0 + timedelta(days=23),
                    output_type="answer",
                ),
            ),
        ),
        ModelProfile(
            model_id="invoice-extractor",
            kind="extractor",
            rows_per_day=800,
            accuracy=0.965,
            error_rate=0.006,
            latency_median_ms=220.0,
            latency_sigma=0.5,
            output_types={"json": 1.0},
            segments={"scanned": 0.45, "digital_pdf": 0.40, "email": 0.15},
            label_coverage=0.7,
            annotation_rate=0.3,
            columns={"confidence": "score", "latency_ms": "duration_ms"},
            utc_offset_minutes=60,
        ),
        ModelProfile(
            model_id="churn-classifier",
            kind="classifier",
            rows_per_day=2000,
            accuracy=0.86,
            error_rate=0.002,
            latency_median_ms=8.0,
            latency_sigma=0.45,
            output_types={"label": 1.0},
            segments={"consumer": 0.6, "smb": 0.3, "enterprise": 0.1},
            label_coverage=0.6,
            annotation_rate=0.0,
            n_features=4,
            degradations=(
                Degradation(
                    "feature_shift", 0.35, start=t0 + timedelta(days=21), feature="monthly_spend"
                ),
            ),
        ),
    ]
