"""Signal quality: detection power, nights to detection and false alarms (issue #9).

Simulates many model-nights of an LLM assistant — healthy ones and ones with injected
degradations of known size — at 500, 5 000 and 50 000 rows a night, and runs each night
through the real code path: ``modelhealth.demo.simulate_day`` → Parquet →
``monitor.ingest.read_logs`` → per-day ``WindowAggregate`` (the 28-day reference window is
the merge of the 28 day summaries before the night, exactly as engines merge partial
summaries) → ``finalize_metrics`` → ``monitor.judge.judge`` (limit, baseline and
sequential checks, with the previous nights as ``history``) → ``judge.fleet.fleet_adjust``
(Benjamini–Hochberg across the fleet) → ``judge.rejudge`` → ``failure_modes.classify`` →
``ladder.state.night_from_report`` → ``ladder.rules.evaluate_rules``.

An **alarm** is a model-night on which the ladder's rules act: a trigger (a check at
``breach``, or ``blind``) of tier ≥ 3 acts the same night, otherwise triggers must fire on
2 of the last 3 nights (the register's default ``persistence_k/n``), a night on which
the same check is significant at the support level counting too. A degradation is
detected within ``k`` nights when an alarm is raised on one of its first ``k`` nights.

Fleet: each simulated model-night is judged as one model of a fleet whose other members
are healthy: their checks join the Benjamini–Hochberg family as uniform p-values (exact
for healthy models; our discrete tests are conservative, so this is slightly pessimistic
for us). The headline is a fleet of 200 — the hardest case for detection, a lone
degradation among 199 healthy models; the same checks are also decided alone (a register
of one model), with ``fleet_fdr_max = 0.1``, without the sequential (EWMA) checks and
without persistence support, which costs only the fleet step again.

Baselines, on the very same nights:

- **point**: the same limits (the register's and the baseline checks' minimum effects),
  judged on point estimates, paging the same night — a plain threshold monitor;
- **point, 2 of 3**: the same, through the same persistence rule as ours;
- **Evidently**: Evidently's default per-column drift tests (method chosen by Evidently
  for each column type and sample size, its default thresholds) on 5 000-row samples of
  the night and the reference window, over confidence, latency, error, correct, segment
  and output type; alarm = dataset drift (at least half of the columns drifted, the
  ``DataDriftPreset`` default ``drift_share = 0.5``), paging the same night; and, more
  generous to it, an alarm whenever any single column drifted. Evidently is run on healthy
  nights and on the first two nights of each degradation only (it is the slow part, and it
  pages the same night, so later nights cannot change "detected within 2 nights").

    python benchmarks/signal_quality.py            # the full study (~8-11 min on 2 cores)
    python benchmarks/signal_quality.py --quick    # a smaller grid (~2 min)
    python benchmarks/signal_quality.py --markdown --json out/signal-quality.json
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import multiprocessing
import os
import platform
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ladder.recommender import failure_mode_for  # noqa: E402
from ladder.rules import evaluate_rules  # noqa: E402
from ladder.state import Night, Trigger, night_from_report  # noqa: E402
from modelhealth.demo import Degradation, ModelProfile, simulate_day  # noqa: E402
from monitor.chunk import WindowBounds  # noqa: E402
from monitor.failure_modes import classify  # noqa: E402
from monitor.ingest import read_logs  # noqa: E402
from monitor.judge import NightValue, judge, rejudge  # noqa: E402
from monitor.judge.fleet import fleet_adjust, in_family  # noqa: E402
from monitor.report import Check, ModelReport, TimeWindow  # noqa: E402
from monitor.stats.aggregates import WindowAggregate, WindowParams  # noqa: E402
from monitor.stats.intervals import wilson_interval  # noqa: E402
from monitor.stats.metrics import finalize_metrics  # noqa: E402
from thresholds.schema import (  # noqa: E402
    CalibrationLimits,
    ErrorRateCeiling,
    FailureModeSettings,
    LatencyLimits,
    ModelEntry,
    QualityFloor,
    Register,
    RuleSettings,
    Thresholds,
)

UTC = timezone.utc
START = date(2026, 1, 1)
REFERENCE_DAYS = 28
HISTORY_NIGHTS = 28
DAY_NS = 86_400_000_000_000
HOUR_NS = 3_600_000_000_000
EVIDENTLY_SAMPLE = 5000
#: Rows per day kept for the reference window's Evidently sample (28 × 200 ≥ 5 000).
EVIDENTLY_REF_PER_DAY = 200
CRITICALITY = 2
RULES = RuleSettings()  # persistence 2 of 3, same night from tier 3: the register default
PERSISTENCE = (RULES.persistence_k, RULES.persistence_n)

#: The healthy model: an LLM support assistant. Owners set the absolute limits with a
#: margin under its healthy level (accuracy 0.90, errors 1 %, p95 ≈ 1.8 s, p99 ≈ 2.6 s).
HEALTHY_ACCURACY = 0.90
HEALTHY_ERROR_RATE = 0.01
HEALTHY_LATENCY_MS = 800.0
#: Day-to-day variation of a healthy model beyond sampling noise (traffic mix, load):
#: accuracy ± 0.3 points, error rate ± 8 %, median latency ± 3 % (one standard deviation).
JITTER_ACCURACY = 0.003
JITTER_ERROR = 0.08
JITTER_LATENCY = 0.03

THRESHOLDS = Thresholds(
    quality=QualityFloor(metric="accuracy", min=0.85),
    error_rate=ErrorRateCeiling(max=0.025),
    latency_ms=LatencyLimits(p50=1200.0, p95=2600.0, p99=4500.0),
    calibration=CalibrationLimits(ece_max=0.08, drift_max=0.05),
    min_samples=200,
)
ANNOTATIONS = {
    "made up citation": "hallucination",
    "invented policy": "hallucination",
    "wrong refund amount": "factual_error",
    "bad json": "format_violation",
    "answered a billing question as tech support": "domain_misapplication",
}


@dataclass(frozen=True)
class Scenario:
    """One injected degradation (or none), with the failure mode it should be named."""

    name: str
    kind: str | None = None
    size: float = 0.0
    segment: str | None = None
    output_type: str | None = None
    expected_mode: str | None = None
    annotated: bool = False
    #: Slow drift: the size grows by ``size`` every night (an accuracy drop).
    per_night: bool = False
    horizon: int = 5

    def degradation(self, start: datetime, night: int) -> Degradation | None:
        if self.kind is None:
            return None
        size = min(1.0, self.size * (night + 1)) if self.per_night else self.size
        return Degradation(
            self.kind,  # type: ignore[arg-type]
            size,
            start=start,
            segment=self.segment,
            output_type=self.output_type,
        )


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("accuracy −2 pts", "accuracy_drop", 0.02),
    Scenario("accuracy −3 pts", "accuracy_drop", 0.03),
    Scenario("accuracy −5 pts", "accuracy_drop", 0.05),
    Scenario("error rate ×2", "error_rate_multiplier", 2.0, expected_mode="availability"),
    Scenario("p95 latency +30 %", "latency_multiplier", 1.3, expected_mode="latency_regression"),
    Scenario(
        "calibration +0.05, accuracy same",
        "calibration_shift",
        0.05,
        expected_mode="confidence_miscalibration",
    ),
    Scenario(
        "segment failure (billing 30 %)",
        "segment_failure",
        0.30,
        segment="billing",
        expected_mode="domain_misapplication",
        annotated=True,
    ),
    Scenario(
        "hallucination (4 % of outputs)",
        "hallucination",
        0.04,
        expected_mode="hallucination",
        annotated=True,
    ),
    Scenario(
        "format failure (8 % of JSON)",
        "format_failure",
        0.08,
        output_type="json",
        expected_mode="format_violation",
        annotated=True,
    ),
    Scenario("slow drift −0.25 pt/night", "accuracy_drop", 0.0025, per_night=True, horizon=16),
)


# ------------------------------------------------------------------------ the grid


@dataclass(frozen=True)
class Variant:
    """One way of judging a night with our rules: the fleet it belongs to and the knobs."""

    name: str
    fleet: int
    fdr_max: float = 0.05
    sequential: bool = True
    support: bool = True

    @property
    def label(self) -> str:
        text = "alone" if self.fleet == 1 else f"fleet of {self.fleet}"
        if self.fdr_max != 0.05:
            text += f", q ≤ {self.fdr_max:g}"
        if not self.sequential:
            text += ", no EWMA"
        if not self.support:
            text += ", no support"
        return text


@dataclass(frozen=True)
class Grid:
    """How many model-nights to simulate per volume."""

    volumes: tuple[int, ...] = (500, 5000, 50000)
    sequences: int = 6
    healthy_nights: int = 64
    episodes: dict[int, int] = field(default_factory=lambda: {500: 60, 5000: 60, 50000: 30})
    #: Ways each night is judged by our rules; the first is the headline, the others cost
    #: only the fleet step again.
    variants: tuple[Variant, ...] = (
        Variant("fleet200", 200),
        Variant("alone", 1),
        Variant("fleet200_q10", 200, fdr_max=0.10),
        Variant("fleet200_no_sequential", 200, sequential=False),
        Variant("fleet200_no_support", 200, support=False),
    )
    seed: int = 20260101
    evidently: bool = True
    scenarios: tuple[Scenario, ...] = SCENARIOS
    horizon: int | None = None  # overrides each scenario's horizon when set

    def episodes_for(self, volume: int) -> int:
        return self.episodes.get(volume, max(self.episodes.values()))


FULL = Grid()
QUICK = Grid(sequences=2, healthy_nights=30, episodes={500: 8, 5000: 8, 50000: 6}, evidently=True)


# -------------------------------------------------------------------- one day of logs


def _day(index: int) -> date:
    return START + timedelta(days=index)


def _day_start(index: int) -> datetime:
    d = _day(index)
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000


def profile_for(model_id: str, volume: int, index: int, seed: int) -> ModelProfile:
    """The healthy profile with this day's jitter (seeded by model and day)."""
    rng = np.random.default_rng([seed, index, sum(map(ord, model_id))])
    z = rng.standard_normal(3)
    return ModelProfile(
        model_id=model_id,
        kind="llm",
        rows_per_day=volume,
        accuracy=HEALTHY_ACCURACY + JITTER_ACCURACY * float(z[0]),
        error_rate=HEALTHY_ERROR_RATE * math.exp(JITTER_ERROR * float(z[1])),
        latency_median_ms=HEALTHY_LATENCY_MS * math.exp(JITTER_LATENCY * float(z[2])),
        latency_sigma=0.5,
        output_types={"answer": 0.6, "summary": 0.2, "json": 0.2},
        segments={"billing": 0.25, "shipping": 0.25, "returns": 0.25, "technical": 0.25},
        label_coverage=0.9,
        annotation_rate=0.3,
    )


def register_for(model_id: str) -> Register:
    return Register(
        name="signal-quality-study",
        failure_modes=FailureModeSettings(annotations=ANNOTATIONS),
        models=[ModelEntry(id=model_id, owner="study", thresholds=THRESHOLDS)],
    )


@dataclass
class Day:
    """One simulated day of one model: its summary and what the baselines need."""

    index: int
    aggregate: WindowAggregate
    values: list[NightValue]
    evidently_current: dict[str, np.ndarray] | None
    evidently_reference: dict[str, np.ndarray] | None


_CUT_POINTS = tuple(sorted({THRESHOLDS.confidence.min, 0.60, 0.85}))


def _params(start_ns: int, end_ns: int) -> WindowParams:
    return WindowParams(start_ns, end_ns, _CUT_POINTS, 100)


def _evidently_columns(table: pa.Table, rows: np.ndarray) -> dict[str, np.ndarray]:
    """The baseline's columns for the given rows (categoricals as text, null as None)."""
    part = table.take(pa.array(rows))

    def text(name: str) -> np.ndarray:
        values = part[name].to_pylist()
        return np.array([None if v is None else str(v) for v in values], dtype=object)

    return {
        "confidence": part["confidence"].to_numpy(),
        "latency_ms": part["latency_ms"].to_numpy(),
        "error": text("error"),
        "correct": text("correct"),
        "segment": text("segment"),
        "output_type": text("output_type"),
    }


def _rows(n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= k else np.sort(rng.choice(n, size=k, replace=False))


def _subsample(
    columns: dict[str, np.ndarray], k: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    keep = _rows(len(columns["confidence"]), k, rng)
    return {name: values[keep] for name, values in columns.items()}


def simulate(
    model_id: str,
    volume: int,
    index: int,
    seed: int,
    folder: Path,
    degradation: Degradation | None,
    *,
    evidently: bool,
    current: bool,
) -> Day:
    """Simulate one day, write it to Parquet, read it back through ingest, summarise it."""
    profile = profile_for(model_id, volume, index, seed)
    if degradation is not None:
        profile = replace(profile, degradations=(degradation,))
    table = simulate_day(profile, _day(index), seed=seed)
    path = folder / f"{model_id}-{index}-{os.getpid()}.parquet"
    pq.write_table(table, path, compression="none")
    start = _ns(_day_start(index))
    bounds = WindowBounds(start, start, start + DAY_NS)
    aggregate = WindowAggregate(_params(start, start + DAY_NS))
    for chunk in read_logs([path], register_for(model_id), {model_id: bounds}):
        aggregate.update(chunk)
    path.unlink()
    values = []
    if aggregate.n_labeled:
        values.append(
            NightValue(
                _day(index),
                "quality",
                aggregate.n_correct / aggregate.n_labeled,
                aggregate.n_labeled,
            )
        )
    if aggregate.n_error_known:
        values.append(
            NightValue(
                _day(index),
                "error_rate",
                aggregate.n_error / aggregate.n_error_known,
                aggregate.n_error_known,
            )
        )
    ev_cur = ev_ref = None
    if evidently:
        rng = np.random.default_rng([seed, index, volume, 7])
        ev_ref = _evidently_columns(table, _rows(table.num_rows, EVIDENTLY_REF_PER_DAY, rng))
        if current:
            ev_cur = _evidently_columns(table, _rows(table.num_rows, EVIDENTLY_SAMPLE, rng))
    return Day(index, aggregate, values, ev_cur, ev_ref)


def reference_of(days: Sequence[Day], night: int) -> WindowAggregate:
    """The 28-day reference window before ``night``: a merge of its day summaries."""
    start = _ns(_day_start(night - REFERENCE_DAYS))
    end = _ns(_day_start(night))
    reference = WindowAggregate(_params(start, end))
    for day in days:
        part = copy.copy(day.aggregate)
        part.params = reference.params
        hourly = np.zeros(reference.params.hours, dtype=np.int64)
        offset = (day.index - (night - REFERENCE_DAYS)) * 24
        hourly[offset : offset + 24] = day.aggregate.hourly[:24]
        part.hourly = hourly
        reference.merge(part)
    return reference


# --------------------------------------------------------------------- the detectors

_EVIDENTLY_KINDS = {
    "confidence": "num",
    "latency_ms": "num",
    "error": "cat",
    "correct": "cat",
    "segment": "cat",
    "output_type": "cat",
}


def evidently_drift(
    current: dict[str, np.ndarray], reference: dict[str, np.ndarray]
) -> tuple[bool, bool, float]:
    """Evidently's default drift tests per column: (dataset drift, any column, share).

    Each column's method is the one Evidently picks by default for its type and the
    reference size (``get_stattest`` with no method), at its default threshold; the dataset
    drifts when at least half of the columns drift (``DataDriftPreset(drift_share=0.5)``).
    """
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from evidently.legacy.calculations.stattests.registry import get_stattest
        from evidently.legacy.core import ColumnType

    drifted = total = 0
    for column, kind in _EVIDENTLY_KINDS.items():
        ref = pd.Series(reference[column]).dropna()
        cur = pd.Series(current[column]).dropna()
        if ref.empty or cur.empty:
            continue
        column_type = ColumnType.Numerical if kind == "num" else ColumnType.Categorical
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            test = get_stattest(ref, cur, column_type, None)
            result = test(ref, cur, column_type, None)
        drifted += bool(result.drifted)
        total += 1
    share = drifted / total if total else 0.0
    return share >= 0.5, drifted > 0, share


def evidently_report_share(
    current: dict[str, np.ndarray], reference: dict[str, np.ndarray]
) -> float:
    """The same share through Evidently's own ``Report([DataDriftPreset()])`` (slow; used
    to check that :func:`evidently_drift` reproduces it)."""
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset

        definition = DataDefinition(
            numerical_columns=[c for c, k in _EVIDENTLY_KINDS.items() if k == "num"],
            categorical_columns=[c for c, k in _EVIDENTLY_KINDS.items() if k == "cat"],
        )
        frames = [pd.DataFrame({c: v for c, v in d.items()}) for d in (current, reference)]
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(frames[0], data_definition=definition),
            Dataset.from_pandas(frames[1], data_definition=definition),
        )
        for metric in snapshot.dict()["metrics"]:
            value = metric.get("value")
            if isinstance(value, dict) and "share" in value:
                return float(value["share"])
    return math.nan


def _point_past(check: Check) -> bool:
    """A plain threshold monitor: the point estimate past the limit (no interval, no test)."""
    if check.kind == "sequential" or check.status == "insufficient_data":
        return False
    if check.observed is None:
        return False
    if check.direction == "max":
        return check.observed > check.limit
    return check.observed < check.limit


@dataclass
class NightResult:
    """What each detector saw on one model-night (ours once per fleet size)."""

    ours: dict[str, Night]
    dominant: dict[str, str | None]
    point: Night
    point_alarm: bool
    evidently_dataset: bool
    evidently_any: bool
    status: str
    discoveries: list[str]


def judge_night(
    model_id: str,
    night: int,
    days: dict[int, Day],
    *,
    variants: Sequence[Variant],
    rng: np.random.Generator,
    evidently: bool,
) -> NightResult:
    """One model-night through the nightly check's code path, then the baselines."""
    current = days[night]
    reference = reference_of([days[d] for d in range(night - REFERENCE_DAYS, night)], night)
    history = [v for d in range(night - HISTORY_NIGHTS, night) for v in days[d].values]
    register = register_for(model_id)
    metrics = finalize_metrics(current.aggregate, reference, THRESHOLDS)
    judgement = judge(
        metrics,
        current.aggregate,
        THRESHOLDS,
        criticality=CRITICALITY,
        reference=reference,
        history=history,
        persistence=PERSISTENCE,
    )
    checks = judgement.checks
    start = _day_start(night)
    ours: dict[str, Night] = {}
    dominant: dict[str, str | None] = {}
    headline = None
    for variant in variants:
        name = variant.name
        mine = [c for c in checks if variant.sequential or c.kind != "sequential"]
        members = sum(in_family(c, THRESHOLDS.signal) for c in mine)
        # The other members of the fleet are healthy: their p-values are uniform.
        settings = THRESHOLDS.signal.model_copy(
            update={"fleet_fdr_max": variant.fdr_max, "persistence_support": variant.support}
        )
        adjustment = fleet_adjust(
            {model_id: mine},
            {model_id: settings},
            background_models=variant.fleet - 1,
            background_p_values=rng.random(members * (variant.fleet - 1)),
        )
        decided = rejudge(
            mine,
            adjustment.adjusted[model_id],
            level=adjustment.level,
            criticality=CRITICALITY,
            n_rows=current.aggregate.n_rows,
            n_models=variant.fleet,
            persistence=PERSISTENCE,
            settings=settings,
        )
        modes = classify(current.aggregate, reference, metrics, decided.checks, register=register)
        dominant[name] = modes.dominant if decided.status != "healthy" else None
        report = ModelReport(
            model_id=model_id,
            status=decided.status,
            criticality=CRITICALITY,
            window=TimeWindow(start=start, end=start + timedelta(days=1)),
            reference_window=TimeWindow(start=start - timedelta(days=REFERENCE_DAYS), end=start),
            breaches=decided.breaches,
            checks=decided.checks,
            dominant_failure_mode=dominant[name],
        )
        ours[name] = night_from_report(report, _day(night))
        headline = headline or decided
    assert headline is not None
    past = [c for c in headline.checks if _point_past(c)]
    point = Night(
        model_id,
        _day(night),
        "breach" if past else "healthy",
        tuple(Trigger(c.threshold, "breach", 1, c.observed, c.limit) for c in past),
    )
    ev_dataset = ev_any = False
    if evidently and current.evidently_current is not None:
        pool = [days[d].evidently_reference for d in range(night - REFERENCE_DAYS, night)]
        ref_columns = {
            name: np.concatenate([p[name] for p in pool if p is not None])
            for name in _EVIDENTLY_KINDS
        }
        ref_columns = _subsample(ref_columns, EVIDENTLY_SAMPLE, rng)
        ev_dataset, ev_any, _ = evidently_drift(current.evidently_current, ref_columns)
    return NightResult(
        ours=ours,
        dominant=dominant,
        point=point,
        point_alarm=bool(past),
        evidently_dataset=ev_dataset,
        evidently_any=ev_any,
        status=headline.status,
        discoveries=[c.threshold for c in headline.checks if c.status == "breach"],
    )


def classified_mode(nights: Sequence[Night]) -> str | None:
    """The failure mode the ladder acts on when the rules fire on the last of ``nights``
    (``ladder.recommender.failure_mode_for``): tonight's dominant mode, or, on a night that
    acts by supporting an earlier breach, that night's. Only a mode ``classify`` named
    counts; one the ladder merely infers from which checks fired does not."""
    outcome = evaluate_rules(nights, RULES)
    choice = failure_mode_for(nights[-1], earlier=outcome.firing_nights)
    return choice.mode if choice.how.startswith("dominant failure mode") else None


def alarms(nights: Sequence[Night]) -> list[bool]:
    """Whether the ladder's rules act on each night, given the nights before it."""
    return [evaluate_rules(nights[: i + 1], RULES).fired for i in range(len(nights))]


# ------------------------------------------------------------------------ one block


@dataclass
class Outcome:
    """Per detector: healthy nights and alarms, episodes and when each was detected."""

    healthy: dict[str, list[bool]] = field(default_factory=dict)
    # scenario → detector → list of (nights to detection or None, dominant mode at it)
    episodes: dict[str, dict[str, list[tuple[int | None, str | None]]]] = field(
        default_factory=dict
    )
    reasons: dict[str, int] = field(default_factory=dict)

    def merge(self, other: Outcome) -> Outcome:
        for name, fired in other.healthy.items():
            self.healthy.setdefault(name, []).extend(fired)
        for scenario, per in other.episodes.items():
            mine = self.episodes.setdefault(scenario, {})
            for name, found in per.items():
                mine.setdefault(name, []).extend(found)
        for key, count in other.reasons.items():
            self.reasons[key] = self.reasons.get(key, 0) + count
        return self


BASELINES = ("point", "point_2of3", "evidently", "evidently_any")


def ours(variant: str) -> str:
    """The detector name of our rules judged as ``variant``."""
    return f"ours_{variant}"


def detectors(grid: Grid) -> tuple[str, ...]:
    return (*(ours(v.name) for v in grid.variants), *BASELINES)


def _detector_alarms(results: Sequence[NightResult], grid: Grid) -> dict[str, list[bool]]:
    out = {ours(v.name): alarms([r.ours[v.name] for r in results]) for v in grid.variants}
    out["point"] = [r.point_alarm for r in results]
    out["point_2of3"] = alarms([r.point for r in results])
    out["evidently"] = [r.evidently_dataset for r in results]
    out["evidently_any"] = [r.evidently_any for r in results]
    return out


@dataclass(frozen=True)
class Block:
    """One healthy sequence and the episodes started on it (an independent unit of work)."""

    volume: int
    sequence: int
    grid: Grid


def run_block(block: Block) -> tuple[int, Outcome, float]:
    """Simulate and judge one block; returns (volume, outcome, seconds)."""
    began = time.perf_counter()
    grid, volume = block.grid, block.volume
    model_id = f"study-{volume}-{block.sequence}"
    seed = grid.seed + 1000 * block.sequence + volume
    first = REFERENCE_DAYS  # the first night with a full reference window
    last = first + grid.healthy_nights  # exclusive
    outcome = Outcome()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        healthy: dict[int, Day] = {}
        for index in range(0, last):
            healthy[index] = simulate(
                model_id,
                volume,
                index,
                seed,
                folder,
                None,
                evidently=grid.evidently,
                current=index >= first,
            )
        rng = np.random.default_rng([seed, 1])
        results = {
            night: judge_night(
                model_id, night, healthy, variants=grid.variants, rng=rng, evidently=grid.evidently
            )
            for night in range(first, last)
        }
        ordered = [results[n] for n in range(first, last)]
        for name, values in _detector_alarms(ordered, grid).items():
            outcome.healthy[name] = values
        for r, fired in zip(ordered, outcome.healthy[ours(grid.variants[0].name)], strict=True):
            if fired:
                key = ",".join(sorted(set(r.discoveries))) or r.status
                outcome.reasons[key] = outcome.reasons.get(key, 0) + 1

        n_episodes = grid.episodes_for(volume)
        for s_index, scenario in enumerate(grid.scenarios):
            horizon = grid.horizon or scenario.horizon
            mine = [e for e in range(n_episodes) if e % grid.sequences == block.sequence]
            for e in mine:
                # Spread start nights over the healthy run, different per scenario.
                span = max(1, grid.healthy_nights - 2)
                d0 = first + 2 + (e // grid.sequences * 7 + s_index * 3) % span
                outcome_e = _episode(
                    model_id,
                    volume,
                    seed,
                    folder,
                    healthy,
                    results,
                    scenario,
                    d0,
                    horizon,
                    grid,
                    rng=np.random.default_rng([seed, s_index, e]),
                )
                per = outcome.episodes.setdefault(scenario.name, {})
                for name, value in outcome_e.items():
                    per.setdefault(name, []).append(value)
    return volume, outcome, time.perf_counter() - began


def _episode(
    model_id: str,
    volume: int,
    seed: int,
    folder: Path,
    healthy: dict[int, Day],
    healthy_results: dict[int, NightResult],
    scenario: Scenario,
    d0: int,
    horizon: int,
    grid: Grid,
    *,
    rng: np.random.Generator,
) -> dict[str, tuple[int | None, str | None]]:
    """A degradation from night ``d0``: when each detector first raised an alarm."""
    days = {i: d for i, d in healthy.items() if i < d0}
    start = _day_start(d0)
    results = [healthy_results[d0 - 2], healthy_results[d0 - 1]]
    for j in range(horizon):
        index = d0 + j
        degradation = scenario.degradation(start, j)
        days[index] = simulate(
            model_id,
            volume,
            index,
            seed,
            folder,
            degradation,
            evidently=grid.evidently,
            current=True,
        )
        # Evidently pages the same night, so only nights 1-2 matter for it (and it is slow).
        results.append(
            judge_night(
                model_id,
                index,
                days,
                variants=grid.variants,
                rng=rng,
                evidently=grid.evidently and j < 2,
            )
        )
    out: dict[str, tuple[int | None, str | None]] = {}
    mine = {ours(v.name): v.name for v in grid.variants}
    for name, fired in _detector_alarms(results, grid).items():
        during = fired[2:]
        first = next((j for j, f in enumerate(during) if f), None)
        mode = None
        if first is not None and name in mine:
            nights = [r.ours[mine[name]] for r in results[: 2 + first + 1]]
            mode = classified_mode(nights)
        out[name] = (None if first is None else first + 1, mode)
    return out


# ---------------------------------------------------------------------------- report


def _rate(hits: int, n: int) -> dict[str, float | int | None]:
    low, high = wilson_interval(hits, n) if n else (math.nan, math.nan)
    return {
        "hits": hits,
        "n": n,
        "rate": hits / n if n else None,
        "low": None if math.isnan(low) else low,
        "high": None if math.isnan(high) else high,
    }


def summarise(outcomes: dict[int, Outcome], grid: Grid) -> dict[str, Any]:
    """Rates with Wilson 95 % intervals, per volume, scenario and detector."""
    out: dict[str, Any] = {"volumes": {}}
    for volume in sorted(outcomes):
        o = outcomes[volume]
        entry: dict[str, Any] = {"healthy": {}, "scenarios": {}, "alarm_reasons": o.reasons}
        for name in detectors(grid):
            fired = o.healthy.get(name, [])
            entry["healthy"][name] = _rate(sum(fired), len(fired))
        for scenario in grid.scenarios:
            per = o.episodes.get(scenario.name, {})
            s_entry: dict[str, Any] = {}
            for name in detectors(grid):
                values = per.get(name, [])
                nights = [v for v, _ in values if v is not None]
                within2 = sum(1 for v in nights if v <= 2)
                s_entry[name] = {
                    "within_2": _rate(within2, len(values)),
                    "within_horizon": _rate(len(nights), len(values)),
                    "median_nights": float(np.median(nights)) if nights else None,
                    "mean_nights": float(np.mean(nights)) if nights else None,
                }
            if scenario.expected_mode is not None:
                for variant in (v.name for v in grid.variants):
                    detected = [m for v, m in per.get(ours(variant), []) if v is not None]
                    correct = sum(1 for m in detected if m == scenario.expected_mode)
                    modes: dict[str, int] = {}
                    for m in detected:
                        modes[str(m)] = modes.get(str(m), 0) + 1
                    s_entry[ours(variant)]["mode_correct"] = _rate(correct, len(detected))
                    s_entry[ours(variant)]["modes_named"] = modes
            s_entry["horizon"] = grid.horizon or scenario.horizon
            entry["scenarios"][scenario.name] = s_entry
        out["volumes"][str(volume)] = entry
    return out


def _pct(r: dict[str, Any], digits: int = 1) -> str:
    if r["rate"] is None:
        return "–"
    return (
        f"{100 * r['rate']:.{digits}f} % [{100 * r['low']:.{digits}f}, "
        f"{100 * r['high']:.{digits}f}] ({r['hits']}/{r['n']})"
    )


def _short(r: dict[str, Any]) -> str:
    if r["rate"] is None:
        return "–"
    return f"{100 * r['rate']:.0f} %"


def _label(grid: Grid, variant: str) -> str:
    return next(v for v in grid.variants if v.name == variant).label


_BASELINE_HEADS = (
    "point estimate",
    "point, 2 of 3",
    "Evidently dataset drift",
    "Evidently, any column",
)


def markdown(summary: dict[str, Any], grid: Grid) -> str:
    """The tables of docs/signal-quality.md."""
    names = [v.name for v in grid.variants]
    head, others = names[0], names[1:]
    lines = [
        "### False alarms on healthy model-nights",
        "",
        "Alarms (the ladder's rules act) per healthy model-night, "
        "[Wilson 95 % interval] (alarms/nights).",
        "",
        "| n / night | "
        + " | ".join(f"ours, {_label(grid, v)}" for v in names)
        + " | "
        + " | ".join(_BASELINE_HEADS)
        + " |",
        "|---:|" + "---|" * (len(names) + len(BASELINES)),
    ]
    for volume, entry in summary["volumes"].items():
        h = entry["healthy"]
        cells = [_pct(h[ours(v)], 2) for v in names]
        cells += [_pct(h[name]) for name in BASELINES]
        lines.append(f"| {int(volume):,} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Detection within 2 nights, nights to detection, failure mode named",
        "",
        f"Ours ({_label(grid, head)}): detected within 2 nights [Wilson 95 %] (episodes); "
        "median nights to detection among episodes detected within the horizon (how many were "
        "detected by then, when not all); the classified failure mode the ladder acts on at "
        "the alarm equal to the injected one, among detected episodes. Other columns: "
        "detected within 2 nights (for the slow drift: median nights to detection, "
        "detected/episodes within 16 nights).",
        "",
        "| scenario | n / night | ours ≤ 2 nights | median nights | mode correct | "
        + "".join(f"ours, {_label(grid, v)} | " for v in others)
        + " | ".join(_BASELINE_HEADS)
        + " |",
        "|---|---:|---|---:|---|" + "---:|" * (len(others) + len(BASELINES)),
    ]
    for scenario in grid.scenarios:
        for volume, entry in summary["volumes"].items():
            s = entry["scenarios"][scenario.name]
            mine = s[ours(head)]
            med = _median(mine, s["horizon"])
            mode = _pct(mine["mode_correct"], 0) if "mode_correct" in mine else "n/a"
            cells = [scenario.name, f"{int(volume):,}", _pct(mine["within_2"], 0), med, mode]
            for name in [ours(v) for v in others] + list(BASELINES):
                if scenario.per_night and not name.startswith("evidently"):
                    cells.append(_median(s[name], s["horizon"], always=True))
                elif scenario.per_night:
                    cells.append("n/e")
                else:
                    cells.append(_short(s[name]["within_2"]))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _median(entry: dict[str, Any], horizon: int, *, always: bool = False) -> str:
    median = entry["median_nights"]
    text = "–" if median is None else f"{median:g}"
    caught = entry["within_horizon"]
    if always or caught["hits"] < caught["n"]:
        text += f" ({caught['hits']}/{caught['n']} by {horizon})"
    return text


def targets(summary: dict[str, Any], grid: Grid, variant: str) -> list[tuple[str, bool, str]]:
    """The issue's targets for our rules judged as ``variant``, each with whether the point
    estimate meets it."""
    out = []
    name = ours(variant)
    label = _label(grid, variant)
    for volume, entry in summary["volumes"].items():
        h = entry["healthy"][name]
        if h["rate"] is not None:
            out.append(
                (f"[{label}] false alarms ≤ 1 % at n={volume}", h["rate"] <= 0.01, _pct(h, 2))
            )
        if int(volume) >= 5000:
            for target in ("accuracy −3 pts", "error rate ×2"):
                if target in entry["scenarios"]:
                    r = entry["scenarios"][target][name]["within_2"]
                    if r["rate"] is not None:
                        out.append(
                            (
                                f"[{label}] {target} ≥ 95 % within 2 nights at n={volume}",
                                r["rate"] >= 0.95,
                                _pct(r),
                            )
                        )
        for scenario_name, s in entry["scenarios"].items():
            scenario = next((x for x in SCENARIOS if x.name == scenario_name), None)
            if scenario is not None and scenario.annotated and "mode_correct" in s[name]:
                r = s[name]["mode_correct"]
                if r["rate"] is not None:
                    out.append(
                        (
                            f"[{label}] {scenario_name}: mode correct ≥ 90 % at n={volume}",
                            r["rate"] >= 0.9,
                            _pct(r),
                        )
                    )
    return out


def blocks(grid: Grid) -> Iterator[Block]:
    """Largest volumes first, so the slowest blocks start early."""
    for volume in sorted(grid.volumes, reverse=True):
        for sequence in range(grid.sequences):
            yield Block(volume, sequence, grid)


def run(grid: Grid, *, workers: int = 1, progress: bool = False) -> dict[int, Outcome]:
    outcomes: dict[int, Outcome] = {v: Outcome() for v in grid.volumes}
    todo = list(blocks(grid))
    if workers <= 1:
        results = map(run_block, todo)
        for volume, outcome, seconds in results:
            outcomes[volume].merge(outcome)
            if progress:
                print(f"  block n={volume}: {seconds:.1f} s", file=sys.stderr)
        return outcomes
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        for volume, outcome, seconds in pool.imap_unordered(run_block, todo):
            outcomes[volume].merge(outcome)
            if progress:
                print(f"  block n={volume}: {seconds:.1f} s", file=sys.stderr)
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smaller grid (~1-2 min)")
    parser.add_argument("--volumes", type=int, nargs="+", help="rows per night to study")
    parser.add_argument(
        "--fleet", type=int, help="fleet size of the headline (default 200; others dropped)"
    )
    parser.add_argument("--episodes", type=int, help="episodes per scenario and volume")
    parser.add_argument("--no-evidently", action="store_true", help="skip the Evidently baseline")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--seed", type=int, help="simulation seed")
    parser.add_argument("--json", type=Path, help="write the summary here")
    parser.add_argument("--markdown", action="store_true", help="print the docs tables")
    parser.add_argument(
        "--check-evidently",
        type=int,
        default=0,
        metavar="K",
        help="compare the fast Evidently path with Evidently's Report on K nights",
    )
    args = parser.parse_args(argv)
    grid = QUICK if args.quick else FULL
    if args.volumes:
        grid = replace(grid, volumes=tuple(args.volumes))
    if args.fleet:
        grid = replace(grid, variants=(Variant(f"fleet{args.fleet}", args.fleet),))
    if args.episodes:
        grid = replace(grid, episodes={v: args.episodes for v in grid.volumes})
    if args.no_evidently:
        grid = replace(grid, evidently=False)
    if args.seed is not None:
        grid = replace(grid, seed=args.seed)
    if args.check_evidently:
        check_evidently(args.check_evidently, grid.seed)
    began = time.perf_counter()
    outcomes = run(grid, workers=args.workers, progress=True)
    seconds = time.perf_counter() - began
    summary = summarise(outcomes, grid)
    summary["grid"] = {
        "volumes": list(grid.volumes),
        "sequences": grid.sequences,
        "healthy_nights_per_sequence": grid.healthy_nights,
        "episodes": {str(k): v for k, v in grid.episodes.items()},
        "variants": [asdict(v) for v in grid.variants],
        "seed": grid.seed,
        "scenarios": [asdict(s) for s in grid.scenarios],
    }
    summary["runtime_seconds"] = seconds
    summary["machine"] = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "platform": platform.platform(),
    }
    met_or_not = [t for v in grid.variants for t in targets(summary, grid, v.name)]
    shown = [t for v in grid.variants[:2] for t in targets(summary, grid, v.name)]
    summary["targets"] = [{"target": t, "met": met, "value": value} for t, met, value in met_or_not]
    print(markdown(summary, grid))
    print()
    for target, met, value in shown:  # the other variants' are in the JSON
        print(f"{'MET    ' if met else 'NOT MET'}  {target}: {value}")
    print(f"\n{seconds:.0f} s with {args.workers} worker(s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


def check_evidently(k: int, seed: int) -> None:
    """Print the fast path's and Evidently's Report's drifted-column shares on k nights."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model_id = "evidently-check"
        days = {
            i: simulate(model_id, 5000, i, seed, folder, None, evidently=True, current=True)
            for i in range(REFERENCE_DAYS + k)
        }
        start = _day_start(REFERENCE_DAYS)
        shifted = simulate(
            model_id,
            5000,
            REFERENCE_DAYS,
            seed,
            folder,
            Degradation("latency_multiplier", 1.3, start=start),
            evidently=True,
            current=True,
        )
        rng = np.random.default_rng(seed)
        for night in range(REFERENCE_DAYS, REFERENCE_DAYS + k):
            pool = [days[d].evidently_reference for d in range(night - REFERENCE_DAYS, night)]
            ref = _subsample(
                {
                    n: np.concatenate([p[n] for p in pool if p is not None])
                    for n in _EVIDENTLY_KINDS
                },
                EVIDENTLY_SAMPLE,
                rng,
            )
            for label, day in (("healthy", days[night]), ("latency ×1.3", shifted)):
                assert day.evidently_current is not None
                _, _, fast = evidently_drift(day.evidently_current, ref)
                slow = evidently_report_share(day.evidently_current, ref)
                print(f"evidently check night {night} {label}: fast {fast:.3f}, Report {slow:.3f}")


if __name__ == "__main__":
    raise SystemExit(main())
