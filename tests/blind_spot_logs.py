"""Prediction logs with the blind spots of issue #15, written as a user's logs would be.

:class:`Night` describes one model's traffic on one day in domain terms — how many rows,
which share of them errored (timed out: no confidence, no latency, no label), which share
is labeled, how confident the model is and how often it is right at a confidence, whether
a follow-up marker is logged. :func:`write_days` writes a week of reference days and
tonight to Parquet, one file per day, and returns what was written so tests can compute
the expected figures independently (with NumPy) instead of trusting the code under test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["NIGHT", "Night", "Written", "calibrated", "register_yaml", "write_days"]

#: The night every test checks; the week before it is the reference window.
NIGHT = date(2026, 3, 9)


def calibrated(c: np.ndarray) -> np.ndarray:
    """P(correct | confidence) of a calibrated model: the confidence itself."""
    return c


@dataclass(frozen=True)
class Night:
    """One model's traffic on one day.

    Confidence is Beta(``conf_a``, ``conf_b``) (by default a quarter of rows fall below
    the 0.85 auto-serve threshold, and the calibrated model is right 90 % of the time);
    a row is right with probability
    ``accuracy_at(confidence)``. ``errored`` rows are hard failures: ``error`` true and
    no confidence, latency or label, except a share ``timeout_latency`` of them that
    logs the timeout (30 s) as its latency.
    """

    rows: int = 3000
    errored: float = 0.01
    timeout_latency: float = 0.0
    labeled: float = 0.9
    conf_a: float = 9.0
    conf_b: float = 1.0
    accuracy_at: Callable[[np.ndarray], np.ndarray] = calibrated
    followup: float | None = None
    annotate: float = 0.0  # share of wrong labeled answers reviewers annotate factual_error
    features: Mapping[str, str] = field(default_factory=dict)  # name → "num" or "cat"
    output_types: Sequence[str] = ("answer", "json")

    def but(self, **changes: object) -> Night:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass
class Written:
    """What was written for one model tonight, for independent expectations."""

    rows: int = 0
    errored: int = 0
    errored_by_type: dict[str, tuple[int, int]] = field(default_factory=dict)
    with_confidence: int = 0
    latency_answered: list[float] = field(default_factory=list)
    latency_errored: list[float] = field(default_factory=list)
    labeled: int = 0
    correct: int = 0
    outcome: np.ndarray = field(default_factory=lambda: np.empty(0, bool))
    answered_confidence: np.ndarray = field(default_factory=lambda: np.empty(0))
    followups: tuple[int, int] = (0, 0)
    ids: list[str] = field(default_factory=list)
    #: Ids of the rows that are not errors, in the order of ``outcome``.
    answered_ids: list[str] = field(default_factory=list)


def _day(
    model_id: str, day: date, night: Night, rng: np.random.Generator
) -> tuple[dict[str, list[object]], Written]:
    n = night.rows
    start = datetime.combine(day, time(0), tzinfo=timezone.utc)
    seconds = np.sort(rng.uniform(0, 86_399, n))
    confidence = rng.beta(night.conf_a, night.conf_b, n)
    right = rng.random(n) < np.clip(night.accuracy_at(confidence), 0.0, 1.0)
    errored = rng.random(n) < night.errored
    labeled = (rng.random(n) < night.labeled) & ~errored
    latency = rng.lognormal(np.log(300.0), 0.3, n)
    timeout = errored & (rng.random(n) < night.timeout_latency)
    types = rng.choice(list(night.output_types), n)
    ids = [f"{model_id}-{day:%Y%m%d}-{i}" for i in range(n)]
    columns: dict[str, list[object]] = {
        "prediction_id": list(ids),
        "model_id": [model_id] * n,
        "timestamp": [(start + timedelta(seconds=float(s))).isoformat() for s in seconds],
        "confidence": [None if e else float(c) for c, e in zip(confidence, errored, strict=True)],
        "latency_ms": [
            30_000.0 if t else None if e else float(v)
            for v, e, t in zip(latency, errored, timeout, strict=True)
        ],
        "error": errored.tolist(),
        "output_type": types.tolist(),
        "correct": [bool(r) if lab else None for r, lab in zip(right, labeled, strict=True)],
    }
    if night.annotate:
        noted = labeled & ~right & (rng.random(n) < night.annotate)
        columns["failure_mode"] = ["factual_error" if a else None for a in noted]
    marks = None
    if night.followup is not None:
        marks = rng.random(n) < night.followup
        columns["followup"] = marks.tolist()
    for name, kind in night.features.items():
        if kind == "num":
            columns[f"feature.{name}"] = rng.normal(10.0, 2.0, n).tolist()
        else:
            columns[f"feature.{name}"] = rng.choice(["basic", "plus", "pro"], n).tolist()
    written = Written(
        rows=n,
        errored=int(errored.sum()),
        errored_by_type={
            t: (int((errored & (types == t)).sum()), int((types == t).sum()))
            for t in night.output_types
        },
        with_confidence=int((~errored).sum()),
        latency_answered=latency[~errored].tolist(),
        latency_errored=[30_000.0] * int(timeout.sum()),
        labeled=int(labeled.sum()),
        correct=int((right & labeled).sum()),
        outcome=right[~errored],
        answered_confidence=confidence[~errored],
        followups=(0, 0) if marks is None else (int(marks.sum()), n),
        ids=ids,
        answered_ids=[i for i, e in zip(ids, errored, strict=True) if not e],
    )
    return columns, written


def write_days(
    folder: Path,
    tonight: Mapping[str, Night],
    *,
    reference: Mapping[str, Night] | None = None,
    days: int = 7,
    seed: int = 15,
) -> dict[str, Written]:
    """Write ``days`` reference days (each model's ``reference`` traffic, default its
    healthy self: ``Night()`` with tonight's features) and tonight, one Parquet file per
    day; returns what was written tonight per model."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out: dict[str, Written] = {}
    for offset in range(days, -1, -1):
        day = NIGHT - timedelta(days=offset)
        parts = []
        for model_id, night in tonight.items():
            traffic = (
                night
                if offset == 0
                else (
                    (reference or {}).get(model_id)
                    or Night(
                        features=night.features, followup=night.followup, annotate=night.annotate
                    )
                )
            )
            columns, written = _day(model_id, day, traffic, rng)
            parts.append(columns)
            if offset == 0:
                out[model_id] = written
        names = list(dict.fromkeys(name for columns in parts for name in columns))
        table = {
            name: [
                value
                for columns in parts
                for value in columns.get(name, [None] * len(columns["prediction_id"]))
            ]
            for name in names
        }
        pq.write_table(pa.table(table), folder / f"{day.isoformat()}.parquet")
    return out


def register_yaml(models: Mapping[str, str], *, defaults: str = "") -> str:
    """A register for ``models`` (model id → its extra YAML, indented by the caller)."""
    entries = "".join(
        f"  - id: {model_id}\n    owner: alice\n{extra}" for model_id, extra in models.items()
    )
    return (
        "name: blind-spots\n"
        "people: {alice: [model_owner, ml_lead], carol: [ml_lead], dave: [ml_engineer]}\n"
        "identity: {allow_as: true}\n"
        "defaults:\n"
        "  windows: {current: 1d, reference: 7d}\n"
        "  thresholds:\n"
        "    min_samples: 200\n"
        "    quality: {metric: accuracy, min: 0.75}\n"
        "    error_rate: {max: 0.03}\n"
        f"{defaults}"
        "models:\n"
        f"{entries}"
    )
