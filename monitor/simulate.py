"""Synthetic prediction logs: one simulator for tests, the demo, benchmarks and signal studies.

A :class:`ModelProfile` describes how a *healthy* model behaves; each
:class:`Degradation` injects one named effect over a time span. :func:`simulate_day`
turns a profile and a day into a table that follows the prediction-log contract of
``DESIGN.md`` (with the profile's column mapping applied), :func:`simulate_logs` and
:func:`write_logs` do that for several models and nights, and :func:`fast_table` is a
vectorised bulk generator for throughput benchmarks.

How a healthy model is drawn
----------------------------
- Volume: ``Poisson(rows_per_day)`` rows, spread over the UTC day with an hourly
  seasonality that peaks at 14:00 UTC (about 4× busier than 02:00).
- Confidence: ``Beta`` with mean ``accuracy`` (for classifiers, a top-label probability
  ``0.5 + 0.5·Beta`` with mean ``accuracy``), and each row is correct with probability
  equal to its confidence, so the model is calibrated by construction: accuracy ≈
  ``accuracy`` and the expected ECE is only sampling noise.
- Errors: a row is a hard failure with probability ``error_rate``; error rows carry no
  outcome (``correct``, ``label``, ``quality_score``, ``format_valid`` are null) and draw
  their latency from the same distribution, so error and latency effects stay separate.
- Latency: lognormal with median ``latency_median_ms`` and log-sd ``latency_sigma``.
- Labels: a share ``label_coverage`` of the non-error rows is judged; a share
  ``annotation_rate`` of the judged failures carries a ``failure_mode`` annotation,
  either free text that the example register maps ("made up citation",
  "wrong refund amount", "bad json", "answered a billing question as tech support")
  or a canonical taxonomy id.

Every random draw is made once per row, up front, from a generator seeded by
``(seed, model_id, day)``; degradations then move thresholds on those draws instead of
drawing again. A degraded run is therefore *paired* with the healthy run of the same
seed: only the rows the degradation is meant to touch change.

How each degradation acts (``scope`` = rows inside ``[start, end)``, matching
``segment`` and ``output_type`` when those are set; rates are over non-error rows)

==========================  ===============================================================
``accuracy_drop``           accuracy falls by ``size`` points; confidence is unchanged, so
                            the overconfidence gap (and ECE) grows by about ``size`` too.
``hallucination``           a share ``size`` of the outputs, taken from those that would have
                            been correct, become wrong and, when judged, are always annotated
                            "made up citation": accuracy falls by ``size`` and the annotated
                            share rises by ``size``; confidence is unchanged (confidently wrong).
``segment_failure``         the failure rate (1 − accuracy) in ``segment`` becomes ``size``;
                            new failures are annotated as domain misapplication at the
                            usual ``annotation_rate``.
``format_failure``          a share ``size`` of JSON outputs fails the schema check
                            (replacing the healthy ~0.4 %); invalid outputs are wrong, so
                            accuracy falls too; annotated "bad json" / ``format_violation``.
``calibration_shift``       every confidence moves the same fraction of the way towards 1
                            (negative ``size``: towards the floor) so that mean confidence
                            rises by exactly ``size``; outcomes, hence accuracy, are unchanged.
``error_rate_multiplier``   the error probability is multiplied by ``size`` (capped at 1).
``latency_multiplier``      every latency is multiplied by ``size`` (all quantiles scale).
``feature_shift``           the latent normal of each numeric feature (or only ``feature``)
                            moves by ``size`` standard deviations; outcomes are unchanged.
``outage``                  no rows at all are logged in scope (``size`` is ignored).
==========================  ===============================================================

Accuracy effects are exact in expectation given the drawn confidences: the flip
probability is computed from the scope's current expected accuracy.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from thresholds.schema import ColumnMapping

__all__ = [
    "PARQUET_OPTIONS",
    "Degradation",
    "DegradationKind",
    "LogFormat",
    "ModelKind",
    "ModelProfile",
    "demo_profiles",
    "fast_table",
    "late_labels",
    "simulate_day",
    "simulate_logs",
    "write_logs",
    "write_table",
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
LogFormat = Literal["parquet", "csv", "jsonl"]

UTC = timezone.utc
_MS_PER_HOUR = 3_600_000

#: Parquet writer settings that make the same table produce the same bytes (for a given
#: pyarrow version): fixed compression and level, explicit format and page versions.
PARQUET_OPTIONS: Mapping[str, object] = {
    "compression": "zstd",
    "compression_level": 9,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
    "data_page_version": "1.0",
}

#: Contract column names a profile's ``columns`` mapping may rename.
_CONTRACT_NAMES = frozenset(ColumnMapping.model_fields)

#: Concentration of the confidence Beta: higher = confidences bunched near the accuracy.
_CONCENTRATION: Mapping[str, float] = {"llm": 14.0, "extractor": 24.0, "classifier": 5.0}
#: Healthy share of JSON outputs that fail the schema check (drawn among wrong outputs).
_HEALTHY_FORMAT_INVALID = 0.004
#: Hourly seasonality: relative volume peaks at this UTC hour.
_PEAK_HOUR = 14.0
_SEASONALITY = 0.6
#: Base churn rate of the classifier's population.
_CHURN_RATE = 0.22
_PLANS = ("basic", "standard", "premium")

_HALLUCINATION_TEXT = "made up citation"
_BILLING_MISROUTE_TEXT = "answered a billing question as tech support"
#: What reviewers write about ordinary failures, per model kind: (text, share).
#: ``_DOMAIN`` stands for the domain-misapplication text, which depends on the segment.
_DOMAIN = "\x00domain"
_FAILURE_TEXTS: Mapping[str, tuple[tuple[str, float], ...]] = {
    "llm": (
        ("wrong refund amount", 0.35),
        ("factual_error", 0.20),
        (_HALLUCINATION_TEXT, 0.15),
        ("invented policy", 0.10),
        (_DOMAIN, 0.10),
        ("hallucination", 0.10),
    ),
    "extractor": (("factual_error", 0.8), ("hallucination", 0.2)),
    "classifier": (("factual_error", 1.0),),
}
_FORMAT_TEXTS: tuple[tuple[str, float], ...] = (("bad json", 0.7), ("format_violation", 0.3))

#: Per-row failure causes (what an annotation says about a failing row).
_CAUSE_GENERAL, _CAUSE_HALLUCINATION, _CAUSE_SEGMENT = 0, 1, 2


# --------------------------------------------------------------------------- profiles
@dataclass(frozen=True)
class Degradation:
    """An injected effect, active from ``start`` (inclusive) to ``end`` (exclusive).

    Parameters
    ----------
    kind
        Which effect; see the module docstring for exactly what each one does.
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
        object.__setattr__(self, "start", _aware(self.start))
        if self.end is not None:
            object.__setattr__(self, "end", _aware(self.end))
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
        return _epoch_ms(self.start)

    def end_ms(self) -> int | None:
        """End as milliseconds since the Unix epoch, or ``None`` when open."""
        return None if self.end is None else _epoch_ms(self.end)


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
        names = list(_log_names(self).values())
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


# --------------------------------------------------------------------------- one day
@dataclass
class _Rows:
    """One model-day of simulated rows in contract terms (before column mapping)."""

    ts_ms: np.ndarray
    index: np.ndarray  # position in the day before any outage, for prediction ids
    segment: np.ndarray  # codes into profile.segments
    output_type: np.ndarray  # codes into profile.output_types
    confidence: np.ndarray
    latency_ms: np.ndarray
    error: np.ndarray
    correct: np.ndarray  # latent outcome, known for every row (meaningless on errors)
    labeled: np.ndarray  # judged and not an error
    format_invalid: np.ndarray | None
    quality: np.ndarray | None
    annotation: np.ndarray  # object: text or None
    label_churn: np.ndarray | None  # classifier: the true class
    features: dict[str, np.ndarray]


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _epoch_ms(moment: datetime) -> int:
    return int((_aware(moment) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1))


def _day_start_ms(day: date) -> int:
    return _epoch_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))


def _rng(seed: int, model_id: str, day: date) -> np.random.Generator:
    key = zlib.crc32(model_id.encode("utf-8"))
    return np.random.default_rng(np.random.SeedSequence([seed, key, day.toordinal()]))


def _shares(mapping: Mapping[str, float]) -> np.ndarray:
    p = np.asarray(list(mapping.values()), dtype=np.float64)
    return p / float(p.sum())


def _pick(u: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Categorical codes from uniforms (inverse CDF), so the same draw maps stably."""
    edges = np.cumsum(shares)
    edges[-1] = 1.0
    return np.minimum(np.searchsorted(edges, u, side="right"), len(shares) - 1)


def _timestamps(rng: np.random.Generator, n: int, day: date) -> np.ndarray:
    hours = np.arange(24) + 0.5
    weight = 1.0 + _SEASONALITY * np.cos(2.0 * np.pi * (hours - _PEAK_HOUR) / 24.0)
    per_hour = rng.multinomial(n, weight / weight.sum())
    hour = np.repeat(np.arange(24, dtype=np.int64), per_hour)
    within = rng.integers(0, _MS_PER_HOUR, size=n, dtype=np.int64)
    return np.sort(_day_start_ms(day) + hour * _MS_PER_HOUR + within)


def _generate(profile: ModelProfile, day: date, seed: int) -> _Rows:
    rng = _rng(seed, profile.model_id, day)
    n = int(rng.poisson(profile.rows_per_day)) if profile.rows_per_day > 0 else 0
    # Every draw happens here, in a fixed order, whatever the degradations.
    ts_ms = _timestamps(rng, n, day)
    segment = _pick(rng.random(n), _shares(profile.segments))
    output_type = _pick(rng.random(n), _shares(profile.output_types))
    k = _CONCENTRATION[profile.kind]
    if profile.kind == "classifier":
        mean = (profile.accuracy - 0.5) / 0.5
        confidence = 0.5 + 0.5 * rng.beta(mean * k, (1.0 - mean) * k, size=n)
    else:
        confidence = rng.beta(profile.accuracy * k, (1.0 - profile.accuracy) * k, size=n)
    u_correct, u_error, u_label, u_annotate, u_text, u_format = rng.random((6, n))
    z_latency = rng.standard_normal(n)
    quality_good = rng.beta(9.0, 1.6, size=n)
    quality_bad = rng.beta(2.0, 5.0, size=n)
    u_churn = rng.random(n)
    plan_u = rng.random(n)
    z_features = rng.standard_normal((max(profile.n_features, 3), n))

    active = {
        i: _scope(profile, d, ts_ms, segment, output_type)
        for i, d in enumerate(profile.degradations)
    }

    # Errors first: accuracy effects are defined over the rows that produced an output.
    error_p = np.full(n, profile.error_rate)
    for i, d in enumerate(profile.degradations):
        if d.kind == "error_rate_multiplier":
            error_p[active[i]] *= d.size
    error = u_error < np.minimum(error_p, 1.0)
    answered = ~error

    p_correct = confidence.copy()
    base_wrong = u_correct >= p_correct
    cause = np.full(n, _CAUSE_GENERAL, dtype=np.int8)
    format_invalid = None
    if profile.has_format_check:
        healthy_q = min(1.0, _HEALTHY_FORMAT_INVALID / (1.0 - profile.accuracy))
        format_invalid = base_wrong & (u_format < healthy_q)
    for i, d in enumerate(profile.degradations):
        scope = active[i] & answered
        if not scope.any():
            continue
        if d.kind in ("accuracy_drop", "hallucination"):
            before = u_correct < p_correct
            p_correct[scope] *= 1.0 - min(1.0, d.size / max(p_correct[scope].mean(), 1e-12))
            if d.kind == "hallucination":
                cause[before & (u_correct >= p_correct)] = _CAUSE_HALLUCINATION
        elif d.kind == "segment_failure":
            before = u_correct < p_correct
            _retarget(p_correct, scope, 1.0 - d.size)
            cause[before & (u_correct >= p_correct)] = _CAUSE_SEGMENT
        elif d.kind == "format_failure" and format_invalid is not None:
            format_invalid[scope] = u_format[scope] < d.size
    correct = u_correct < p_correct
    if format_invalid is not None:
        correct &= ~format_invalid

    for i, d in enumerate(profile.degradations):
        if d.kind == "calibration_shift" and active[i].any():
            floor = 0.5 if profile.kind == "classifier" else 0.0
            _shift_confidence(confidence, active[i], d.size, floor=floor)
    latency = profile.latency_median_ms * np.exp(profile.latency_sigma * z_latency)
    for i, d in enumerate(profile.degradations):
        if d.kind == "latency_multiplier":
            latency[active[i]] *= d.size

    labeled = answered & (u_label < profile.label_coverage)
    annotation = _annotations(
        profile, labeled & ~correct, cause, format_invalid, segment, u_annotate, u_text
    )
    quality = np.where(correct, quality_good, quality_bad) if profile.kind == "llm" else None

    label_churn = None
    features: dict[str, np.ndarray] = {}
    if profile.kind == "classifier":
        label_churn = u_churn < _CHURN_RATE
    if profile.n_features:
        features = _features(profile, z_features, plan_u, label_churn, active)

    keep = np.ones(n, dtype=bool)
    for i, d in enumerate(profile.degradations):
        if d.kind == "outage":
            keep &= ~active[i]
    rows = _Rows(
        ts_ms=ts_ms,
        index=np.arange(n, dtype=np.int64),
        segment=segment,
        output_type=output_type,
        confidence=confidence,
        latency_ms=latency,
        error=error,
        correct=correct,
        labeled=labeled,
        format_invalid=format_invalid,
        quality=quality,
        annotation=annotation,
        label_churn=label_churn,
        features=features,
    )
    return rows if keep.all() else _take(rows, keep)


def _scope(
    profile: ModelProfile,
    d: Degradation,
    ts_ms: np.ndarray,
    segment: np.ndarray,
    output_type: np.ndarray,
) -> np.ndarray:
    mask = ts_ms >= d.start_ms()
    end = d.end_ms()
    if end is not None:
        mask &= ts_ms < end
    if d.segment is not None:
        mask &= segment == list(profile.segments).index(d.segment)
    if d.output_type is not None:
        mask &= output_type == list(profile.output_types).index(d.output_type)
    return mask


def _retarget(p: np.ndarray, scope: np.ndarray, target: float) -> None:
    """Move the scope's expected accuracy to ``target`` by thinning or filling outcomes."""
    current = float(p[scope].mean())
    if target < current:
        p[scope] *= target / current
    elif target > current:
        fill = (target - current) / (1.0 - current)
        p[scope] += (1.0 - p[scope]) * fill


def _shift_confidence(c: np.ndarray, scope: np.ndarray, size: float, *, floor: float) -> None:
    """Move each confidence the same fraction towards 1 (or ``floor``) so the mean moves by
    ``size``; the fraction is capped at 1 (everything at the bound)."""
    mean = float(c[scope].mean())
    if size >= 0:
        room = 1.0 - mean
        fraction = 1.0 if room <= 0 else min(1.0, size / room)
        c[scope] += (1.0 - c[scope]) * fraction
    else:
        room = mean - floor
        fraction = 1.0 if room <= 0 else min(1.0, -size / room)
        c[scope] -= (c[scope] - floor) * fraction


def _annotations(
    profile: ModelProfile,
    failed: np.ndarray,
    cause: np.ndarray,
    format_invalid: np.ndarray | None,
    segment: np.ndarray,
    u_annotate: np.ndarray,
    u_text: np.ndarray,
) -> np.ndarray:
    n = len(failed)
    out = np.full(n, None, dtype=object)
    if profile.kind == "classifier":
        return out
    noted = failed & ((u_annotate < profile.annotation_rate) | (cause == _CAUSE_HALLUCINATION))
    general = list(_FAILURE_TEXTS[profile.kind])
    texts = np.array([t for t, _ in general], dtype=object)
    out[noted] = texts[_pick(u_text[noted], _shares(dict(general)))]
    billing = np.zeros(n, dtype=bool)
    if "billing" in profile.segments:
        billing = segment == list(profile.segments).index("billing")
    domain = noted & (out == _DOMAIN)
    domain |= noted & (cause == _CAUSE_SEGMENT)
    out[domain & billing] = _BILLING_MISROUTE_TEXT
    out[domain & ~billing] = "domain_misapplication"
    out[noted & (cause == _CAUSE_HALLUCINATION)] = _HALLUCINATION_TEXT
    if format_invalid is not None:
        bad = noted & format_invalid
        fmt = np.array([t for t, _ in _FORMAT_TEXTS], dtype=object)
        out[bad] = fmt[_pick(u_text[bad], _shares(dict(_FORMAT_TEXTS)))]
    return out


def _features(
    profile: ModelProfile,
    z: np.ndarray,
    plan_u: np.ndarray,
    churn: np.ndarray | None,
    active: Mapping[int, np.ndarray],
) -> dict[str, np.ndarray]:
    """Churn-style account features; churners have shorter tenure, more tickets, cheaper plans."""
    n = z.shape[1]
    y = churn.astype(np.float64) if churn is not None else np.zeros(n)
    names = profile.feature_names
    shift = {name: np.zeros(n) for name in names}
    for i, d in enumerate(profile.degradations):
        if d.kind == "feature_shift":
            for name in names:
                if name != "plan" and d.feature in (None, name):
                    shift[name][active[i]] += d.size
    out: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        if name == "tenure_months":
            tenure = np.exp(3.2 - 0.6 * y + 0.8 * (z[0] + shift[name]))
            out[name] = np.rint(np.minimum(tenure, 180.0)).astype(np.int64)
        elif name == "monthly_spend":
            out[name] = np.round(np.maximum(5.0, 62.0 - 8.0 * y + 24.0 * (z[1] + shift[name])), 2)
        elif name == "support_tickets":
            # A discretised lognormal: the shift acts on the latent normal like the others.
            tickets = np.floor(np.exp(0.3 + 0.7 * y + 0.6 * (z[2] + shift[name])))
            out[name] = tickets.astype(np.int64)
        elif name == "plan":
            p_basic = np.where(y > 0, 0.65, 0.45)
            p_standard = 0.35
            code = np.where(plan_u < p_basic, 0, np.where(plan_u < p_basic + p_standard, 1, 2))
            out[name] = np.array(_PLANS, dtype=object)[code]
        else:
            out[name] = np.round(z[j] + shift[name], 4)
    return out


def _take(rows: _Rows, mask: np.ndarray) -> _Rows:
    def sel(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else a[mask]

    return _Rows(
        ts_ms=rows.ts_ms[mask],
        index=rows.index[mask],
        segment=rows.segment[mask],
        output_type=rows.output_type[mask],
        confidence=rows.confidence[mask],
        latency_ms=rows.latency_ms[mask],
        error=rows.error[mask],
        correct=rows.correct[mask],
        labeled=rows.labeled[mask],
        format_invalid=sel(rows.format_invalid),
        quality=sel(rows.quality),
        annotation=rows.annotation[mask],
        label_churn=sel(rows.label_churn),
        features={k: v[mask] for k, v in rows.features.items()},
    )


# --------------------------------------------------------------------------- tables
def _contract_columns(profile: ModelProfile) -> list[tuple[str, pa.DataType]]:
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


def _log_names(profile: ModelProfile) -> dict[str, str]:
    """Contract name → log column name, after the profile's mapping."""
    prefix = profile.columns.get("feature_prefix", "feature.")
    out = {}
    for name, _ in _contract_columns(profile):
        if name.startswith("feature."):
            out[name] = prefix + name.removeprefix("feature.")
        else:
            out[name] = profile.columns.get(name, name)
    return out


def _schema(profile: ModelProfile) -> pa.Schema:
    names = _log_names(profile)
    return pa.schema([pa.field(names[c], t) for c, t in _contract_columns(profile)])


def _strings(codes: np.ndarray, names: Sequence[str], null: np.ndarray | None = None) -> pa.Array:
    indices = pa.array(codes.astype(np.int8 if len(names) <= 127 else np.int32), mask=null)
    dictionary = pa.array(list(names), type=pa.string())
    return pa.DictionaryArray.from_arrays(indices, dictionary).dictionary_decode()


def _ids(prefix: str, index: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded ``index`` as a string array, built without Python loops."""
    head = np.frombuffer(prefix.encode("utf-8"), dtype=np.uint8)
    n, size = len(index), len(head) + width
    buf = np.empty((n, size), dtype=np.uint8)
    buf[:, : len(head)] = head
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    buf[:, len(head) :] = (index[:, None] // powers) % 10 + ord("0")
    offsets = np.arange(n + 1, dtype=np.int32) * size
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(buf.tobytes())]
    )


def _table(profile: ModelProfile, day: date, rows: _Rows) -> pa.Table:
    n = len(rows.ts_ms)
    unlabeled = ~rows.labeled
    values: dict[str, pa.Array] = {
        "prediction_id": _ids(f"{profile.model_id}-{day:%Y%m%d}-", rows.index, 7),
        "model_id": pa.array(np.full(n, profile.model_id, dtype=object), type=pa.string()),
        "timestamp": pa.array(rows.ts_ms, type=pa.timestamp("ms", tz="UTC")),
        "confidence": pa.array(np.round(rows.confidence, 4)),
        "latency_ms": pa.array(np.round(rows.latency_ms, 1)),
        "output_type": _strings(rows.output_type, list(profile.output_types)),
        "segment": _strings(rows.segment, list(profile.segments)),
        "error": pa.array(rows.error),
        "correct": pa.array(rows.correct, mask=unlabeled),
        "failure_mode": pa.array(rows.annotation, type=pa.string()),
    }
    if rows.quality is not None:
        values["quality_score"] = pa.array(np.round(rows.quality, 3), mask=unlabeled)
    if rows.format_invalid is not None:
        values["format_valid"] = pa.array(~rows.format_invalid, mask=rows.error)
    if rows.label_churn is not None:
        predicted_churn = rows.label_churn == rows.correct
        classes = ["retain", "churn"]
        values["prediction"] = _strings(predicted_churn, classes, null=rows.error)
        values["label"] = _strings(rows.label_churn, classes, null=unlabeled)
    for name, column in rows.features.items():
        values[f"feature.{name}"] = pa.array(column)
    schema = _schema(profile)
    arrays = [values[c].cast(t) for c, t in _contract_columns(profile)]
    return pa.Table.from_arrays(arrays, schema=schema)


def simulate_day(profile: ModelProfile, day: date, *, seed: int) -> pa.Table:
    """One model's prediction log for one UTC day.

    Parameters
    ----------
    profile
        The model's healthy behaviour and injected degradations.
    day
        The UTC day; timestamps fall in ``[day 00:00, day+1 00:00)`` UTC.
    seed
        Run seed; the model's stream for the day is seeded by ``(seed, model_id, day)``.

    Returns
    -------
    pyarrow.Table
        Rows in time order, named per ``profile.columns``; prediction ids are
        ``f"{model_id}-{day:%Y%m%d}-{i:07d}"``. The schema is the same for every day,
        even when an outage leaves no rows.
    """
    return _table(profile, day, _generate(profile, day, seed))


def _union_schema(profiles: Sequence[ModelProfile]) -> pa.Schema:
    fields: dict[str, pa.Field] = {}
    for profile in profiles:
        for f in _schema(profile):
            seen = fields.setdefault(f.name, f)
            if seen.type != f.type:
                raise ValueError(f"column {f.name!r} has types {seen.type} and {f.type}")
    return pa.schema(list(fields.values()))


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    n = table.num_rows
    arrays = [
        table.column(f.name) if f.name in table.column_names else pa.nulls(n, type=f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def _day_tables(
    profiles: Sequence[ModelProfile], day: date, seed: int
) -> list[tuple[ModelProfile, pa.Table, np.ndarray]]:
    out = []
    for profile in profiles:
        rows = _generate(profile, day, seed)
        out.append((profile, _table(profile, day, rows), rows.ts_ms))
    return out


def _merge_order(parts: Sequence[tuple[ModelProfile, pa.Table, np.ndarray]]) -> np.ndarray:
    """Row order of the concatenated parts: by time, ties by model order then row."""
    ts = np.concatenate([p[2] for p in parts]) if parts else np.empty(0, np.int64)
    model = np.concatenate([np.full(len(p[2]), i) for i, p in enumerate(parts)]) if parts else ts
    row = np.concatenate([np.arange(len(p[2])) for p in parts]) if parts else ts
    return np.lexsort((row, model, ts))


def simulate_logs(
    profiles: Sequence[ModelProfile], start: date, days: int, *, seed: int
) -> Iterator[tuple[date, pa.Table]]:
    """Every model's log, one table per UTC day, rows of all models interleaved in time.

    Each day's table has the union of the profiles' columns (a column another model
    does not log is null on its rows), the same for every day.
    """
    schema = _union_schema(profiles)
    for offset in range(days):
        day = start + timedelta(days=offset)
        parts = _day_tables(profiles, day, seed)
        table = pa.concat_tables([_conform(t, schema) for _, t, _ in parts])
        yield day, table.take(pa.array(_merge_order(parts)))


# --------------------------------------------------------------------------- files
def _iso(ts_ms: np.ndarray, offset_minutes: int) -> np.ndarray:
    """ISO 8601 with millisecond precision and an explicit offset, e.g. ``…T09:30:00.000+01:00``."""
    local = (ts_ms + offset_minutes * 60_000).astype("datetime64[ms]")
    sign = "-" if offset_minutes < 0 else "+"
    hh, mm = divmod(abs(offset_minutes), 60)
    return np.char.add(np.datetime_as_string(local, unit="ms"), f"{sign}{hh:02d}:{mm:02d}")


def _textual(profile: ModelProfile, table: pa.Table, ts_ms: np.ndarray) -> pa.Table:
    """Timestamps as ISO strings with the profile's offset, for CSV and JSON Lines."""
    name = _log_names(profile)["timestamp"]
    at = table.column_names.index(name)
    iso = pa.array(_iso(ts_ms, profile.utc_offset_minutes).astype(object), type=pa.string())
    return table.set_column(at, pa.field(name, pa.string()), iso)


def write_table(table: pa.Table, path: Path, *, fmt: LogFormat = "parquet") -> Path:
    """Write one table with stable bytes: Parquet with :data:`PARQUET_OPTIONS`, CSV with a
    header, or JSON Lines (one object per row, nulls explicit)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        pq.write_table(table, path, **PARQUET_OPTIONS)
    elif fmt == "csv":
        pacsv.write_csv(table, path)
    elif fmt == "jsonl":
        with path.open("w", encoding="utf-8", newline="\n") as out:
            for row in table.to_pylist():
                out.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    else:
        raise ValueError(f"unknown log format {fmt!r}")
    return path


def write_logs(
    profiles: Sequence[ModelProfile],
    start: date,
    days: int,
    out_dir: Path,
    *,
    seed: int,
    fmt: LogFormat = "parquet",
    partition_by_day: bool = True,
) -> list[Path]:
    """Write ``days`` days of logs for ``profiles`` under ``out_dir``.

    With ``partition_by_day`` each day goes to ``out_dir/date=YYYY-MM-DD/part-0.<ext>``
    (Hive-style, one file per day even when empty); otherwise everything goes to
    ``out_dir/predictions.<ext>``. Parquet keeps typed UTC timestamps; CSV and JSON Lines
    write ISO 8601 strings with each model's ``utc_offset_minutes``. In JSON Lines each
    row carries only its own model's keys.

    Returns
    -------
    list of Path
        The files written, in day order.
    """
    ext = {"parquet": "parquet", "csv": "csv", "jsonl": "jsonl"}[fmt]
    schema = _union_schema(profiles)
    if fmt == "csv":
        schema = pa.schema(
            [pa.field(f.name, pa.string()) if pa.types.is_timestamp(f.type) else f for f in schema]
        )
    written: list[Path] = []
    single = out_dir / f"predictions.{ext}"
    writer: pq.ParquetWriter | pacsv.CSVWriter | None = None
    try:
        for offset in range(days):
            day = start + timedelta(days=offset)
            parts = _day_tables(profiles, day, seed)
            if fmt != "parquet":
                parts = [(p, _textual(p, t, ts), ts) for p, t, ts in parts]
            path = out_dir / f"date={day.isoformat()}" / f"part-0.{ext}"
            if not partition_by_day:
                path = single
            order = pa.array(_merge_order(parts))
            tables = [t for _, t, _ in parts]
            if fmt == "jsonl":
                lines = [json.dumps(r, ensure_ascii=False) for t in tables for r in t.to_pylist()]
                mode = "w" if partition_by_day or offset == 0 else "a"
                path.parent.mkdir(parents=True, exist_ok=True)
                with path.open(mode, encoding="utf-8", newline="\n") as out:
                    out.writelines(lines[i] + "\n" for i in order.to_numpy())
            else:
                table = pa.concat_tables([_conform(t, schema) for _, t, _ in parts]).take(order)
                if partition_by_day:
                    write_table(table, path, fmt=fmt)
                else:
                    if writer is None:
                        out_dir.mkdir(parents=True, exist_ok=True)
                        writer = (
                            pq.ParquetWriter(single, schema, **PARQUET_OPTIONS)
                            if fmt == "parquet"
                            else pacsv.CSVWriter(single, schema)
                        )
                    writer.write_table(table)
            if not written or written[-1] != path:
                written.append(path)
    finally:
        if writer is not None:
            writer.close()
    return written


def late_labels(
    profiles: Sequence[ModelProfile], start: date, days: int, *, seed: int, share: float = 0.5
) -> pa.Table:
    """Labels that arrive after the logs were written: ``prediction_id`` + ``correct``.

    A share ``share`` of each day's *unlabeled*, non-error rows gets its true outcome
    (the same latent outcome the simulator drew, so late labels agree with the log's
    accuracy). Rows are in prediction-id order.
    """
    ids: list[pa.Array] = []
    outcomes: list[np.ndarray] = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        for profile in profiles:
            rows = _generate(profile, day, seed)
            pick_rng = np.random.default_rng(
                np.random.SeedSequence(
                    [seed, zlib.crc32(profile.model_id.encode()), day.toordinal(), 1]
                )
            )
            late = ~rows.labeled & ~rows.error & (pick_rng.random(len(rows.index)) < share)
            ids.append(_ids(f"{profile.model_id}-{day:%Y%m%d}-", rows.index[late], 7))
            outcomes.append(rows.correct[late])
    table = pa.table(
        {
            "prediction_id": pa.concat_arrays(ids) if ids else pa.array([], pa.string()),
            "correct": pa.array(np.concatenate(outcomes) if outcomes else np.empty(0, bool)),
        }
    )
    return table.sort_by("prediction_id")


# --------------------------------------------------------------------------- the demo
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


# --------------------------------------------------------------------------- benchmarks
#: The four ASCII digits of 0000 … 9999, each packed into one little-endian 32-bit word.
_DIGITS4 = (
    (np.arange(10_000)[:, None] // np.array([1000, 100, 10, 1]) % 10 + ord("0"))
    .astype(np.uint8)
    .view("<u4")
    .ravel()
)


def _digit_block(first: int, n: int, unit: int) -> np.ndarray:
    """Four ASCII digits of ``(i // unit) % 10_000`` for ``i`` in ``[first, first + n)``.

    Consecutive ids share their high digits, so each block is a tile or a repeat (memory
    copies) rather than per-row division.
    """
    if unit == 1:
        skip = first % 10_000
        reps = (skip + n) // 10_000 + 1
        return np.tile(_DIGITS4, reps)[skip : skip + n]
    lo, hi = first // unit, (first + n - 1) // unit
    blocks = np.arange(lo, hi + 1, dtype=np.int64)
    counts = np.minimum((blocks + 1) * unit, first + n) - np.maximum(blocks * unit, first)
    return np.repeat(_DIGITS4[blocks % 10_000], counts)


def _fast_ids(first: int, n: int) -> pa.Array:
    """``"pred" + 12 digits`` ids for ``first … first + n − 1``, four digits per 32-bit word."""
    words = np.empty((n, 4), dtype="<u4")
    if n:
        words[:, 0] = np.frombuffer(b"pred", dtype="<u4")[0]
        words[:, 1] = _digit_block(first, n, 100_000_000)
        words[:, 2] = _digit_block(first, n, 10_000)
        words[:, 3] = _digit_block(first, n, 1)
    offsets = np.arange(0, 16 * (n + 1), 16, dtype=np.int32)
    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(words)])


def fast_table(
    n_rows: int,
    *,
    n_models: int = 3,
    seed: int = 0,
    start: datetime,
    span: timedelta = timedelta(days=1),
    first_id: int = 0,
) -> pa.Table:
    """A large contract-shaped table, generated fully vectorised, for benchmarks.

    Ten columns: ``prediction_id`` (``pred`` + 12 digits from ``first_id``, so chunks
    generated with consecutive ``first_id`` never collide), ``model_id``
    (``model-00`` …), ``timestamp`` (evenly over ``[start, start + span)``),
    ``confidence`` (in [0.6, 1], calibrated: ``correct`` ~ Bernoulli(confidence)),
    ``latency_ms`` (lognormal, per-model median), ``output_type``, ``segment``,
    ``error`` (~1 %), ``correct`` (null on errors and ~10 % unlabeled rows) and
    ``quality_score``. Columns are chunked every 2**18 rows (small working set).
    Not meant for signal studies: use :func:`simulate_day` there.
    """
    if n_rows < 0 or n_models < 1 or first_id < 0 or first_id + n_rows >= 10**12:
        raise ValueError("need n_rows ≥ 0, n_models ≥ 1 and ids below 10**12")
    rng = np.random.default_rng(seed)
    start_ms = _epoch_ms(start)
    span_ms = int(span // timedelta(milliseconds=1))
    models = [f"model-{k:02d}" for k in range(n_models)]
    medians = np.array([900.0, 250.0, 10.0, 120.0, 40.0], dtype=np.float32)
    medians = medians[np.arange(n_models) % len(medians)]
    chunks = [
        _fast_chunk(
            rng,
            lo,
            min(n_rows, lo + _FAST_CHUNK),
            n_rows,
            first_id=first_id,
            start_ms=start_ms,
            span_ms=span_ms,
            models=models,
            medians=medians,
        )
        for lo in range(0, n_rows, _FAST_CHUNK)
    ]
    if not chunks:
        chunks = [
            _fast_chunk(
                rng,
                0,
                0,
                0,
                first_id=first_id,
                start_ms=start_ms,
                span_ms=span_ms,
                models=models,
                medians=medians,
            )
        ]
    return pa.concat_tables(chunks)


_FAST_CHUNK = 1 << 18


def _fast_chunk(
    rng: np.random.Generator,
    lo: int,
    hi: int,
    total: int,
    *,
    first_id: int,
    start_ms: int,
    span_ms: int,
    models: list[str],
    medians: np.ndarray,
) -> pa.Table:
    n = hi - lo
    # One 64-bit draw per row feeds the categorical and Bernoulli columns, byte by byte.
    bits = rng.integers(0, 2**63 - 1, size=n, dtype=np.int64)
    raw = bits.view(np.uint8).reshape(n, 8)
    model = raw[:, 0] % np.uint8(len(models))
    output = raw[:, 1] & np.uint8(3)
    segment = (raw[:, 1] >> np.uint8(2)) & np.uint8(3)
    error = raw[:, 2] < 3  # 3/256 ≈ 1.2 %
    unlabeled = (raw[:, 3] < 26) | error  # ≈ 10 %
    u = (bits.view(np.uint32)[1::2] & np.uint32(0xFFFFFF)).astype(np.float32)
    u *= np.float32(1.0 / (1 << 24))
    confidence = np.float32(1.0) - np.float32(0.4) * u * u
    v = rng.random(n, dtype=np.float32)
    correct = v < confidence
    quality = np.where(correct, np.float32(0.6) + np.float32(0.4) * v, v)
    latency = rng.standard_normal(n, dtype=np.float32)
    latency *= np.float32(0.5)
    np.exp(latency, out=latency)
    latency *= medians[model]
    ts = np.arange(lo, hi, dtype=np.int64)
    ts *= span_ms
    ts //= max(total, 1)
    ts += start_ms
    return pa.table(
        {
            "prediction_id": _fast_ids(first_id + lo, n),
            "model_id": _strings(model, models),
            "timestamp": pa.array(ts, type=pa.timestamp("ms", tz="UTC")),
            "confidence": pa.array(confidence.astype(np.float64)),
            "latency_ms": pa.array(latency.astype(np.float64)),
            "output_type": _strings(output, ["answer", "summary", "json", "label"]),
            "segment": _strings(segment, ["billing", "shipping", "returns", "technical"]),
            "error": pa.array(error),
            "correct": pa.array(correct, mask=unlabeled),
            "quality_score": pa.array(quality.astype(np.float64), mask=unlabeled),
        }
    )
