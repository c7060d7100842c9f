"""How the simulator draws one model's day of rows, healthy or degraded.

:func:`draw_day` turns a :class:`~modelhealth.demo.profiles.ModelProfile` and a UTC day
into :class:`Rows` in contract terms; :mod:`modelhealth.demo.simulate` makes them
tables and files.

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

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from modelhealth.demo.profiles import UTC, Degradation, ModelProfile, epoch_ms

__all__ = ["Rows", "draw_day"]

_MS_PER_HOUR = 3_600_000

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


@dataclass
class Rows:
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


def _day_start_ms(day: date) -> int:
    return epoch_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))


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


def draw_day(profile: ModelProfile, day: date, seed: int) -> Rows:
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
    rows = Rows(
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


def _take(rows: Rows, mask: np.ndarray) -> Rows:
    def sel(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else a[mask]

    return Rows(
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
