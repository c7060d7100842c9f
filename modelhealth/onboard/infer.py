"""What a sample of someone's logs says about the register they need.

:func:`read_sample` reads the first rows of each file (Parquet, CSV, JSON Lines; local
paths or fsspec URLs, listed by :func:`monitor.ingest.list_log_files`), and
:func:`infer_register` proposes, from those rows alone:

* the column mapping: which log column holds each contract field, by name (``score`` →
  ``confidence``, ``duration_ms`` → ``latency_ms``, ``request_id`` → ``prediction_id`` …);
* the ingest transforms: the latency unit (from the name, else the magnitudes), ``error``
  from a status column and its failing values, naive timestamps;
* per model: output types, and limits taken from the sample's own distribution, each
  with the sentence that says where its number came from;
* what it could not infer, said plainly.

Nothing here writes files or prints: :mod:`modelhealth.onboard.render` turns the result
into register YAML with comments.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from monitor.ingest import list_log_files
from monitor.ingest.coerce import booleans, floats, timestamps
from monitor.stats.calibration import ReliabilityTable, ece
from monitor.stats.intervals import wilson_interval

__all__ = [
    "Inferred",
    "Limit",
    "ModelProposal",
    "infer_register",
    "read_sample",
]

#: Rows read per file, and in all: a sample, not the logs.
SAMPLE_ROWS_PER_FILE = 50_000
SAMPLE_ROWS = 200_000

#: Log column names that hold each contract field, best first (compared lowercased,
#: with everything but letters and digits removed).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "prediction_id": (
        "prediction_id",
        "predictionid",
        "request_id",
        "requestid",
        "inference_id",
        "trace_id",
        "event_id",
        "uuid",
        "id",
    ),
    "model_id": ("model_id", "modelid", "model", "model_name", "deployment", "model_version"),
    "timestamp": (
        "timestamp",
        "ts",
        "time",
        "event_time",
        "created_at",
        "served_at",
        "logged_at",
        "datetime",
        "date_time",
        "request_time",
    ),
    "confidence": (
        "confidence",
        "score",
        "confidence_score",
        "probability",
        "prob",
        "conf",
        "top_probability",
        "certainty",
    ),
    "latency_ms": (
        "latency_ms",
        "duration_ms",
        "elapsed_ms",
        "response_time_ms",
        "latency",
        "duration",
        "elapsed",
        "response_time",
        "latency_s",
        "duration_s",
        "latency_seconds",
        "duration_seconds",
        "latency_us",
        "duration_us",
    ),
    "output_type": ("output_type", "outputtype", "output_kind", "response_type", "kind", "task"),
    "correct": ("correct", "is_correct", "accurate", "is_accurate", "judged_correct"),
    "quality_score": ("quality_score", "quality", "grade", "eval_score", "judge_score"),
    "error": ("error", "is_error", "failed", "has_error", "errored"),
    "failure_mode": ("failure_mode", "annotation", "failure", "error_category"),
    "format_valid": (
        "format_valid",
        "valid_format",
        "schema_valid",
        "is_valid_json",
        "json_valid",
        "parse_ok",
    ),
    "segment": ("segment", "tenant", "customer_segment", "domain", "intent", "region", "channel"),
    "prediction": ("prediction", "predicted", "predicted_label", "y_pred", "pred"),
    "label": ("label", "true_label", "y_true", "target", "ground_truth", "actual"),
}
STATUS_SYNONYMS = ("status", "status_code", "outcome", "result", "state", "http_status")
#: Status values that mean a hard failure (compared lowercased); HTTP 5xx too.
FAILING_WORDS = (
    "error",
    "errored",
    "fail",
    "failed",
    "failure",
    "timeout",
    "timed_out",
    "exception",
    "refused",
    "crash",
    "crashed",
    "unavailable",
    "internal_error",
    "rate_limited",
    "aborted",
    "cancelled",
)
_SECONDS_SUFFIX = re.compile(r"(^|_)(s|sec|secs|seconds)$")
_MICROS_SUFFIX = re.compile(r"(^|_)(us|usec|micros|microseconds)$")
_MILLIS_SUFFIX = re.compile(r"(^|_)(ms|msec|millis|milliseconds)$")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


# ---------------------------------------------------------------------- the sample


def read_sample(paths: Sequence[str | Path], *, rows: int = SAMPLE_ROWS) -> pd.DataFrame:
    """The first rows of the logs (each file's first :data:`SAMPLE_ROWS_PER_FILE`), as
    text-faithful pandas columns; Hive partition keys (``model_id=…/``) become columns."""
    frames: list[pd.DataFrame] = []
    total = 0
    for file in list_log_files(list(paths)):
        if total >= rows:
            break
        frame = _read_head(
            file.location, file.format or "", min(SAMPLE_ROWS_PER_FILE, rows - total)
        )
        for key, value in file.partitions:
            if key not in frame.columns:
                frame[key] = value
        frames.append(frame)
        total += len(frame)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True, sort=False)


def _read_head(location: str, kind: str, n: int) -> pd.DataFrame:
    import fsspec

    with fsspec.open(location, "rb", compression="infer") as handle:
        if kind == "parquet":
            import pyarrow.parquet as pq

            with pq.ParquetFile(handle) as parquet:
                batches = parquet.iter_batches(batch_size=n)
                first = next(batches, None)
                table = pa.Table.from_batches([first]) if first is not None else pa.table({})
            return table.to_pandas(timestamp_as_object=False)
        if kind == "csv":
            return pd.read_csv(handle, nrows=n, dtype=str, keep_default_na=False, na_values=[""])
        return pd.read_json(handle, lines=True, nrows=n, dtype=False, convert_dates=False)


# ---------------------------------------------------------------------- inference


@dataclass(frozen=True)
class Limit:
    """A proposed register setting and where its number came from."""

    path: str
    value: float | int
    why: str


@dataclass
class ModelProposal:
    """One model as the sample shows it."""

    model_id: str
    rows: int
    output_types: list[str] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    quality_metric: str | None = None
    limits: list[Limit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Inferred:
    """What the sample says: the mapping, the transforms, the models, and the gaps."""

    rows: int
    columns: dict[str, str] = field(default_factory=dict)  # contract field -> log column
    found_by: dict[str, str] = field(default_factory=dict)  # contract field -> why
    latency_unit: str = "ms"
    latency_unit_why: str = ""
    status_column: str | None = None
    failing: list[str] = field(default_factory=list)
    naive_timestamps: int = 0
    #: The last UTC day of the sample (a night ``check --as-of`` can be tried on).
    last_day: str | None = None
    feature_prefix: str | None = None
    models: list[ModelProposal] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # what it could not infer
    unused: list[str] = field(default_factory=list)  # log columns it did not place


def _find(columns: Sequence[str], field_name: str, taken: set[str]) -> str | None:
    keyed = {_key(c): c for c in columns if c not in taken}
    for candidate in SYNONYMS[field_name]:
        hit = keyed.get(_key(candidate))
        if hit is not None:
            return hit
    return None


def _latency_unit(column: str, values: np.ndarray) -> tuple[str, str]:
    lowered = column.lower()
    for pattern, unit in ((_MILLIS_SUFFIX, "ms"), (_SECONDS_SUFFIX, "s"), (_MICROS_SUFFIX, "us")):
        if pattern.search(lowered):
            return unit, f"the column name {column!r} says {unit}"
    finite = values[np.isfinite(values)]
    if not len(finite):
        return "ms", f"no latency values in the sample; {column!r} assumed to be milliseconds"
    median = float(np.median(finite))
    if median < 30 and np.mean(finite != np.round(finite)) > 0.5:
        return "s", (
            f"the name {column!r} has no unit and its median is {median:.3g} with "
            "fractions: read as seconds (set latency_unit: ms if they are milliseconds)"
        )
    if median > 200_000:
        return "us", (
            f"the name {column!r} has no unit and its median is {median:,.0f}: read as "
            "microseconds (set latency_unit: ms if they are milliseconds)"
        )
    return "ms", f"the name {column!r} has no unit; its median {median:,.3g} reads as milliseconds"


def _failing_values(values: pd.Series) -> list[str]:
    seen = values.dropna().astype(str).str.strip()
    failing = []
    for value in sorted(seen.unique().tolist()):
        lowered = value.lower()
        words = set(re.split(r"[^a-z0-9]+", lowered))
        if lowered in FAILING_WORDS or words & set(FAILING_WORDS):
            failing.append(value)
        elif lowered.isdigit() and 500 <= int(lowered) <= 599:
            failing.append(value)
    return failing


def _arrow(values: pd.Series) -> pa.Array:
    return pa.array(values.astype(object).where(values.notna(), None).tolist(), from_pandas=True)


def _text(values: pd.Series) -> pa.Array:
    return pa.array(
        [
            None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            for v in values.tolist()
        ],
        pa.string(),
    )


def _floor_down(value: float, step: float) -> float:
    return math.floor(value / step) * step


def _ceil_up(value: float, step: float) -> float:
    return math.ceil(value / step) * step


def infer_register(sample: pd.DataFrame, *, model: str | None = None) -> Inferred:
    """Propose a register from ``sample`` (see the module docs); ``model`` keeps one model
    (or names the only model when the logs have no model column)."""
    inferred = Inferred(rows=len(sample))
    columns = [str(c) for c in sample.columns]
    taken: set[str] = set()
    for field_name in SYNONYMS:
        hit = _find(columns, field_name, taken)
        if hit is not None:
            inferred.columns[field_name] = hit
            taken.add(hit)
            inferred.found_by[field_name] = (
                "same name" if hit == field_name else f"log column {hit!r}"
            )
    if "error" not in inferred.columns:
        status = next((c for c in columns if _key(c) in {_key(s) for s in STATUS_SYNONYMS}), None)
        if status is not None:
            failing = _failing_values(sample[status])
            if failing:
                inferred.status_column, inferred.failing = status, failing
                taken.add(status)
            else:
                inferred.unknown.append(
                    f"error: the status column {status!r} has no value that reads as a "
                    f"failure ({', '.join(map(str, sample[status].dropna().unique()[:8]))}); "
                    "add ingest.error_from_status.failing by hand"
                )
        else:
            inferred.unknown.append(
                "error: no error or status column; every row will count as a success"
            )
    prefixes = sorted({c.split(".", 1)[0] + "." for c in columns if "." in c})
    if prefixes:
        inferred.feature_prefix = "feature." if "feature." in prefixes else prefixes[0]
        taken.update(c for c in columns if c.startswith(inferred.feature_prefix))
    for required in ("prediction_id", "timestamp", "confidence", "latency_ms"):
        if required not in inferred.columns:
            inferred.unknown.append(
                f"{required}: no column looks like it (looked for "
                f"{', '.join(SYNONYMS[required][:6])} …); name it under columns: by hand"
            )
    latency_column = inferred.columns.get("latency_ms")
    if latency_column is not None:
        values, _ = floats(_arrow(sample[latency_column]), len(sample))
        inferred.latency_unit, inferred.latency_unit_why = _latency_unit(latency_column, values)
    ts_column = inferred.columns.get("timestamp")
    if ts_column is not None:
        raw = sample[ts_column]
        arrow = _text(raw) if raw.dtype == object else pa.array(raw, from_pandas=True)
        ns, ok, naive = timestamps(arrow)
        inferred.naive_timestamps = int(np.count_nonzero(naive & ok))
        if ok.any():
            inferred.last_day = str(np.datetime64(int(ns[ok].max()), "ns").astype("datetime64[D]"))
        if ok.sum() < len(ok) * 0.5:
            inferred.unknown.append(
                f"timestamp: most values of {ts_column!r} are not ISO 8601 or epoch "
                "milliseconds; they would be quarantined as bad_timestamp"
            )
    inferred.unused = [c for c in columns if c not in taken]
    model_column = inferred.columns.get("model_id")
    if model_column is None:
        if model is None:
            inferred.unknown.append(
                "model_id: no model column and no --model; name the model with --model, and "
                "log a model_id column (or a model_id=… folder)"
            )
            return inferred
        inferred.unknown.append(
            "model_id: no model column in the sample; the logs must carry one (or sit in "
            f"model_id={model}/ folders) for check to attribute rows"
        )
        groups = [(model, sample)]
    else:
        ids = sample[model_column].astype(str)
        wanted = [model] if model is not None else sorted(ids.dropna().unique().tolist())
        groups = [(m, sample[ids == m]) for m in wanted]
        if model is not None and not len(groups[0][1]):
            inferred.unknown.append(f"model {model!r}: no row of the sample has it")
    for model_id, rows in groups:
        inferred.models.append(_propose(model_id, rows, inferred))
    return inferred


def _propose(model_id: str, rows: pd.DataFrame, inferred: Inferred) -> ModelProposal:
    proposal = ModelProposal(model_id=model_id, rows=len(rows))
    n = len(rows)
    cols = inferred.columns
    if "output_type" in cols:
        proposal.output_types = sorted(rows[cols["output_type"]].dropna().astype(str).unique())[:20]
    if "segment" in cols:
        proposal.segments = sorted(rows[cols["segment"]].dropna().astype(str).unique())[:20]
    error = np.zeros(n, bool)
    if "error" in cols:
        error = booleans(_arrow(rows[cols["error"]]), n)[0] == 1
    elif inferred.status_column is not None:
        words = {w.lower() for w in inferred.failing}
        error = (
            rows[inferred.status_column].astype(str).str.strip().str.lower().isin(words).to_numpy()
        )
    if n:
        rate = float(error.mean())
        ceiling = min(1.0, max(0.01, _ceil_up(2 * rate, 0.005)))
        proposal.limits.append(
            Limit(
                "thresholds.error_rate.max",
                round(ceiling, 3),
                f"sample error rate {rate:.2%} ({int(error.sum()):,} of {n:,} rows); ceiling "
                "twice that, at least 1 %",
            )
        )
    if "latency_ms" in cols:
        values, _ = floats(_arrow(rows[cols["latency_ms"]]), n)
        from thresholds.schema import LATENCY_UNITS_MS

        ms = values * LATENCY_UNITS_MS[inferred.latency_unit]
        ms = ms[np.isfinite(ms) & ~error]
        if len(ms) >= 20:
            for q in (50, 95, 99):
                observed = float(np.percentile(ms, q))
                limit = max(1.0, float(f"{observed * 1.5:.2g}"))
                proposal.limits.append(
                    Limit(
                        f"thresholds.latency_ms.p{q}",
                        limit,
                        f"sample p{q} {observed:,.4g} ms over {len(ms):,} rows, × 1.5",
                    )
                )
        else:
            proposal.notes.append("latency limits: fewer than 20 latencies in the sample")
    correct = None
    if "correct" in cols:
        correct = booleans(_arrow(rows[cols["correct"]]), n)[0]
    if "prediction" in cols and "label" in cols:
        label = rows[cols["label"]]
        judged = np.where(
            label.isna().to_numpy(),
            -1,
            (rows[cols["prediction"]].astype(str) == label.astype(str)).to_numpy().astype(np.int8),
        ).astype(np.int8)
        correct = judged if correct is None else np.where(correct < 0, judged, correct)
    confidence = None
    if "confidence" in cols:
        confidence, _ = floats(_arrow(rows[cols["confidence"]]), n)
    if correct is not None and (correct >= 0).sum() >= 30:
        labeled = correct >= 0
        hits, total = int((correct[labeled] == 1).sum()), int(labeled.sum())
        accuracy = hits / total
        low, _ = wilson_interval(hits, total)
        floor = max(0.0, _floor_down(min(low, accuracy - 0.03), 0.01))
        proposal.quality_metric = "accuracy"
        proposal.limits.append(
            Limit(
                "thresholds.quality.min",
                round(floor, 2),
                f"sample accuracy {accuracy:.3f} over {total:,} labeled rows (95 % Wilson low "
                f"{low:.3f}); floor at least 3 points below",
            )
        )
        if confidence is not None:
            usable = labeled & np.isfinite(confidence) & (confidence >= 0) & (confidence <= 1)
            if usable.sum() >= 100:
                table = ReliabilityTable().update(confidence[usable], correct[usable] == 1)
                observed = ece(table)
                ceiling = round(max(0.05, _ceil_up(observed + 0.03, 0.01)), 2)
                proposal.limits.append(
                    Limit(
                        "thresholds.calibration.ece_max",
                        ceiling,
                        f"sample ECE {observed:.3f} (15 equal-width bins, {int(usable.sum()):,} "
                        "labeled rows) + 0.03, at least 0.05",
                    )
                )
    elif "quality_score" in cols:
        scores, _ = floats(_arrow(rows[cols["quality_score"]]), n)
        scores = scores[np.isfinite(scores)]
        if len(scores) >= 30:
            mean = float(scores.mean())
            proposal.quality_metric = "quality_score"
            proposal.limits.append(
                Limit(
                    "thresholds.quality.min",
                    round(max(0.0, _floor_down(mean - 0.05, 0.01)), 2),
                    f"sample mean quality_score {mean:.3f} over {len(scores):,} graded rows, "
                    "minus 0.05",
                )
            )
    if proposal.quality_metric is None:
        proposal.notes.append(
            "quality: fewer than 30 labeled rows (correct, prediction + label, or "
            "quality_score) in the sample: no quality floor proposed; add one when labels "
            "arrive (check --labels joins late labels)"
        )
    if confidence is not None and n:
        finite = confidence[np.isfinite(confidence)]
        if len(finite):
            below = float((finite < 0.6).mean())
            proposal.notes.append(
                f"confidence: mean {finite.mean():.3f}; {below:.1%} of rows below the "
                "default minimum 0.60 (thresholds.confidence)"
            )
    return proposal
