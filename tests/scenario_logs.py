"""Synthetic prediction logs for scenario tests, fed through the real window summaries.

A :class:`Traffic` describes one window of a model's traffic in domain terms (how often
it errs, how overconfident it is, which segment is worse, how often JSON fails its
schema, how reviewers annotate failures, how features and predictions are distributed).
:func:`window` turns it into :class:`~monitor.chunk.ModelChunk` values — the same
columns ingest produces — and folds them into a :class:`~monitor.stats.aggregates.WindowAggregate`
chunk by chunk, exactly as the nightly job does. Everything is driven by one seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from monitor.chunk import Categorical, ModelChunk
from monitor.stats.aggregates import WindowAggregate, WindowParams

__all__ = [
    "CURRENT",
    "DAY_NS",
    "REFERENCE",
    "Traffic",
    "chunks",
    "healthy",
    "summarise",
    "window",
]

DAY_NS = 86_400_000_000_000
_T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
#: Reference window: the 28 days before the current day.
REFERENCE = (_T0, _T0 + 28 * DAY_NS)
#: Current window: the night being checked.
CURRENT = (_T0 + 28 * DAY_NS, _T0 + 29 * DAY_NS)

SEGMENTS = {"billing": 0.25, "search": 0.35, "chat": 0.25, "returns": 0.15}
OUTPUT_TYPES = {"answer": 0.6, "json": 0.4}
PREDICTIONS = {"refund": 0.4, "escalate": 0.35, "close": 0.25}


@dataclass(frozen=True)
class Traffic:
    """One window of synthetic traffic for one model.

    Confidence is Beta(``conf_a``, ``conf_b``); a labeled answer is correct with
    probability ``confidence − overconfidence − segment_overconfidence[segment]``
    (clipped to [0, 1]), so ``overconfidence = 0`` is a perfectly calibrated model.
    """

    rows: int = 5000
    error_rate: float = 0.01
    segment_error_rate: Mapping[str, float] = field(default_factory=dict)
    conf_a: float = 9.0
    conf_b: float = 1.5
    overconfidence: float = 0.0
    segment_overconfidence: Mapping[str, float] = field(default_factory=dict)
    label_share: float = 1.0
    json_invalid_rate: float = 0.003
    latency_median_ms: float = 300.0
    latency_sigma: float = 0.35
    annotate_share: float = 0.0
    annotations: Mapping[str, float] = field(default_factory=dict)
    segments: Mapping[str, float] = field(default_factory=lambda: dict(SEGMENTS))
    predictions: Mapping[str, float] = field(default_factory=lambda: dict(PREDICTIONS))
    n_features: int = 6
    feature_shift_sd: float = 0.0
    chunk_rows: int = 2000

    def but(self, **changes: object) -> Traffic:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


def healthy(rows: int = 5000) -> Traffic:
    """A model in good health: calibrated, 1 % background errors spread evenly."""
    return Traffic(rows=rows)


def chunks(traffic: Traffic, span: tuple[int, int], *, seed: int) -> list[ModelChunk]:
    """The window's rows as ingest would hand them over, ``traffic.chunk_rows`` at a time."""
    rng = np.random.default_rng(seed)
    out = []
    done = 0
    while done < traffic.rows:
        n = min(traffic.chunk_rows, traffic.rows - done)
        out.append(_chunk(traffic, span, n, rng))
        done += n
    return out


def summarise(
    rows: list[ModelChunk], span: tuple[int, int], *, sample_size: int = 5000
) -> WindowAggregate:
    """Fold chunks into a window summary, as the nightly job does."""
    agg = WindowAggregate(WindowParams(span[0], span[1], (0.6, 0.85), sample_size))
    for chunk in rows:
        agg.update(chunk)
    return agg


def window(
    traffic: Traffic, span: tuple[int, int], *, seed: int, sample_size: int = 5000
) -> WindowAggregate:
    """Summarise ``traffic`` over ``span`` the way the nightly job does (chunk by chunk)."""
    return summarise(chunks(traffic, span, seed=seed), span, sample_size=sample_size)


def _categorical(rng: np.random.Generator, n: int, mix: Mapping[str, float]) -> Categorical:
    names = list(mix)
    p = np.asarray([mix[k] for k in names], dtype=np.float64)
    codes = rng.choice(len(names), size=n, p=p / p.sum()).astype(np.int32)
    return _encoded(codes, names)


def _encoded(codes: np.ndarray, names: list[str]) -> Categorical:
    """Like ingest: only categories some row uses, codes renumbered, -1 for null."""
    used = np.unique(codes[codes >= 0])
    remap = np.full(len(names), -1, dtype=np.int32)
    remap[used] = np.arange(len(used), dtype=np.int32)
    out = np.where(codes >= 0, remap[np.maximum(codes, 0)], -1).astype(np.int32)
    return Categorical(codes=out, categories=[names[i] for i in used])


def _per_segment(segment: Categorical, values: Mapping[str, float], default: float) -> np.ndarray:
    table = np.asarray([values.get(name, default) for name in segment.categories])
    return np.asarray(table[segment.codes])


def _chunk(t: Traffic, span: tuple[int, int], n: int, rng: np.random.Generator) -> ModelChunk:
    id_hash = rng.integers(0, np.iinfo(np.uint64).max, size=n, dtype=np.uint64, endpoint=True)
    timestamp = np.sort(rng.integers(span[0], span[1], size=n, dtype=np.int64))
    segment = _categorical(rng, n, t.segments)
    output_type = _categorical(rng, n, OUTPUT_TYPES)

    error = rng.random(n) < _per_segment(segment, t.segment_error_rate, t.error_rate)
    confidence = rng.beta(t.conf_a, t.conf_b, size=n)
    p_correct = np.clip(
        confidence - t.overconfidence - _per_segment(segment, t.segment_overconfidence, 0.0),
        0.0,
        1.0,
    )
    is_correct = rng.random(n) < p_correct
    labeled = (rng.random(n) < t.label_share) & ~error  # a hard error has no answer to judge
    correct = np.where(labeled, is_correct.astype(np.int8), np.int8(-1)).astype(np.int8)

    is_json = np.asarray(output_type.categories)[output_type.codes] == "json"
    invalid = rng.random(n) < t.json_invalid_rate
    format_valid = np.where(is_json & ~error, (~invalid).astype(np.int8), np.int8(-1))

    failure_mode = None
    if t.annotations:
        texts = list(t.annotations)
        weights = np.asarray([t.annotations[k] for k in texts], dtype=np.float64)
        failing = (correct == 0) | error | (format_valid == 0)
        annotated = failing & (rng.random(n) < t.annotate_share)
        codes = np.full(n, -1, dtype=np.int32)
        codes[annotated] = rng.choice(
            len(texts), size=int(annotated.sum()), p=weights / weights.sum()
        )
        failure_mode = _encoded(codes, texts)

    latency = rng.lognormal(np.log(t.latency_median_ms), t.latency_sigma, size=n)
    features: dict[str, np.ndarray] = {
        f"x{i}": rng.normal(t.feature_shift_sd if i == 0 else 0.0, 1.0, size=n)
        for i in range(t.n_features)
    }
    features["channel"] = np.asarray(
        rng.choice(["web", "app", "api"], size=n, p=[0.5, 0.3, 0.2]), dtype=object
    )
    return ModelChunk(
        model_id="support-bot",
        id_hash=id_hash,
        timestamp_ns=timestamp,
        confidence=confidence,
        latency_ms=latency,
        error=error,
        correct=correct,
        quality_score=None,
        output_type=output_type,
        failure_mode=failure_mode,
        format_valid=format_valid.astype(np.int8),
        segment=segment,
        prediction=_categorical(rng, n, t.predictions),
        features=features,
    )
