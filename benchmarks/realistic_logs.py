"""Prediction logs shaped like what users log, for benchmarks (issue #21).

The simulator's bulk logs (``modelhealth.demo.bulk.fast_table``) are kind to a reader:
16-byte ids, a handful of low-cardinality strings, no features. These are not:

* ``prediction_id`` and ``request_id`` are random UUID4 strings (36 bytes each), and a
  ``session_id`` UUID is shared by runs of about 20 rows;
* string columns everywhere: ``model_id``, ``output_type``, ``segment`` (300 tenants ×
  regions), ``prediction`` and ``label`` (class names), a free-text ``failure_mode``
  written by reviewers (about 5 % of rows, mostly distinct strings), and extra columns
  the check does not read (``user_agent``, ``region``, ``prompt_version``);
* 34 ``feature.*`` columns: 22 numeric (float64, a few with nulls) and 12 categorical
  strings with 2 to 1,000 categories; a few of them shift in the current night;
* three models; ``N`` rows of which two thirds fall in the night (the current window,
  one day) and one third in the seven days before it (the reference window).

The default 4.5 M rows (3 M in the night) is the issue's measurement. The file is
Parquet (zstd, dictionary pages, row groups of 256 Ki rows), generated outside any
timed part and kept in the folder given (reused when it exists).

    python benchmarks/realistic_logs.py --rows 4500000 --data /tmp/mh-bench
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

__all__ = [
    "CATEGORICAL_FEATURES",
    "MODELS",
    "NIGHT",
    "NUMERIC_FEATURES",
    "REGISTER",
    "generate",
    "write_register",
]

NIGHT = date(2026, 11, 21)
NIGHT_START = datetime(2026, 11, 21, tzinfo=timezone.utc)
REFERENCE_START = NIGHT_START - timedelta(days=7)
MODELS = ("fraud-scorer-v7", "support-assistant-llm", "churn-classifier-2026")
CLASSES = ("approve", "review", "decline", "escalate")
NUMERIC_FEATURES = tuple(f"feature.num_{i:02d}" for i in range(22))
#: Categorical features and how many categories each has.
CATEGORICAL_FEATURES = {
    f"feature.cat_{i:02d}": k
    for i, k in enumerate((2, 3, 5, 8, 12, 20, 40, 75, 150, 300, 600, 1000))
}
ROW_GROUP = 262_144
CHUNK = 500_000

REGISTER = textwrap.dedent(
    f"""\
    name: realistic-benchmark
    defaults:
      owner: bench
      windows: {{current: 1d, reference: 7d}}
      thresholds:
        quality: {{metric: accuracy, min: 0.7}}
        error_rate: {{max: 0.05}}
        latency_ms: {{p50: 2000, p95: 5000, p99: 9000}}
    models:
      - id: {MODELS[0]}
      - id: {MODELS[1]}
      - id: {MODELS[2]}
    """
)

_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
_UUID_DASHES = (8, 13, 18, 23)


def uuid4_strings(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` random UUID4 strings (36 ASCII bytes each), built without Python objects."""
    raw = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    hexes = np.empty((n, 32), np.uint8)
    hexes[:, 0::2] = _HEX[raw >> 4]
    hexes[:, 1::2] = _HEX[raw & 15]
    out = np.empty((n, 36), np.uint8)
    source = 0
    target = 0
    for dash in (*_UUID_DASHES, 36):
        width = dash - target
        out[:, target:dash] = hexes[:, source : source + width]
        source += width
        if dash < 36:
            out[:, dash] = ord("-")
        target = dash + 1
    out[:, 14] = ord("4")  # version 4
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int32)
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(out.ravel())]
    )


def _strings(codes: np.ndarray, names: list[str], null: np.ndarray | None = None) -> pa.Array:
    """Plain (not dictionary-typed) strings, as a logging library writes them."""
    indices = pa.array(codes.astype(np.int32), mask=null)
    return pa.DictionaryArray.from_arrays(indices, pa.array(names, pa.string())).cast(pa.string())


_SEGMENTS = [
    f"tenant-{t:04d}/{r}" for t in range(100) for r in ("eu-west-1", "us-east-2", "ap-south-1")
]
_USER_AGENTS = [
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    f"Chrome/{100 + i}.0.{5000 + 17 * i}.{i * 3} Safari/537.36"
    for i in range(30)
] + [f"acme-sdk-python/{i // 5}.{i % 5}.0 (CPython 3.11; linux)" for i in range(20)]
_PROMPTS = [f"prompt-2026-11-{d:02d}-{h}" for d in range(1, 22) for h in ("a1f3", "9c0e")]
_FAILURES = [
    "hallucination: cited a policy that does not exist, ticket #",
    "format: JSON output missing the required field 'amount', case ",
    "refusal: declined a legitimate request about billing, review ",
    "retrieval: answered from an outdated document version, doc ",
    "tone: reply too curt for an escalated customer, conversation ",
]


def _chunk(
    rng: np.random.Generator, n: int, start_ms: int, span_ms: int, current: bool
) -> pa.Table:
    model = rng.integers(0, len(MODELS), n)
    ts = start_ms + np.sort(rng.integers(0, span_ms, n))
    error = rng.random(n) < np.array([0.008, 0.02, 0.005])[model]
    confidence = np.clip(rng.beta(6, 1.6, n), 0.0, 1.0)
    correct = rng.random(n) < confidence * (0.97 if current else 1.0)
    labeled = (rng.random(n) < 0.85) & ~error
    latency = rng.lognormal(np.log(np.array([35.0, 1400.0, 12.0]))[model], 0.6)
    quality = np.where(correct, 0.6 + 0.4 * rng.random(n), 0.6 * rng.random(n))
    prediction = rng.integers(0, len(CLASSES), n)
    label = np.where(correct, prediction, (prediction + rng.integers(1, len(CLASSES), n)) % 4)
    annotated = (rng.random(n) < 0.05) & labeled & ~correct | (rng.random(n) < 0.01)
    failure_text = pc.binary_join_element_wise(
        _strings(rng.integers(0, len(_FAILURES), n), _FAILURES),
        pc.cast(pa.array(rng.integers(0, 1_000_000, n)), pa.string()),
        "",
    )
    failure = pc.if_else(pa.array(annotated), failure_text, pa.nulls(n, pa.string()))
    session_of = np.cumsum(rng.random(n) < 0.05)
    sessions = uuid4_strings(rng, int(session_of[-1]) + 1).take(pa.array(session_of))
    columns: dict[str, pa.Array] = {
        "prediction_id": uuid4_strings(rng, n),
        "request_id": uuid4_strings(rng, n),
        "session_id": sessions,
        "model_id": _strings(model, list(MODELS)),
        "timestamp": pa.array(ts, pa.timestamp("ms", tz="UTC")),
        "confidence": pa.array(np.where(error, np.nan, confidence), mask=error),
        "latency_ms": pa.array(latency, mask=error),
        "error": pa.array(error),
        "correct": pa.array(correct, mask=~labeled),
        "quality_score": pa.array(quality, mask=~labeled),
        "output_type": _strings(
            np.where(model == 1, rng.integers(0, 3, n), 3), ["answer", "json", "summary", "label"]
        ),
        "format_valid": pa.array(rng.random(n) > 0.01, mask=error | (model != 1)),
        "failure_mode": failure,
        "segment": _strings(rng.integers(0, len(_SEGMENTS), n), _SEGMENTS),
        "prediction": _strings(prediction, list(CLASSES), null=error),
        "label": _strings(label, list(CLASSES), null=~labeled),
        "user_agent": _strings(rng.integers(0, len(_USER_AGENTS), n), _USER_AGENTS),
        "region": _strings(rng.integers(0, 3, n), ["eu-west-1", "us-east-2", "ap-south-1"]),
        "prompt_version": _strings(rng.integers(0, len(_PROMPTS), n), _PROMPTS),
    }
    for i, name in enumerate(NUMERIC_FEATURES):
        shift = 0.25 if current and i % 7 == 0 else 0.0
        if i % 3 == 0:
            values = rng.normal(shift, 1.0, n) * (1 + i)
        elif i % 3 == 1:
            values = rng.lognormal(1.0 + shift, 0.8, n)
        else:
            values = rng.gamma(2.0 + shift, 3.0, n).round()
        columns[name] = pa.array(values, mask=(rng.random(n) < 0.02) if i % 5 == 0 else None)
    for i, (name, k) in enumerate(CATEGORICAL_FEATURES.items()):
        weights = 1.0 / np.arange(1, k + 1) ** 0.8  # Zipf-like
        if current and i % 4 == 0:
            weights = weights[::-1]
        codes = rng.choice(k, n, p=weights / weights.sum())
        columns[name] = _strings(codes, [f"{name[8:]}_value_{c:04d}" for c in range(k)])
    return pa.table(columns)


def generate(rows: int, folder: Path, *, seed: int = 21) -> Path:
    """``rows`` rows (two thirds in the night) in one Parquet file; reused if present."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"realistic-{rows}.parquet"
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    current_rows = rows * 2 // 3
    parts = [
        (rows - current_rows, REFERENCE_START, timedelta(days=7), False),
        (current_rows, NIGHT_START, timedelta(days=1), True),
    ]
    partial = path.with_suffix(".tmp")
    writer: pq.ParquetWriter | None = None
    for total, start, span, current in parts:
        span_ms = int(span / timedelta(milliseconds=1))
        start_ms = int(start.timestamp() * 1000)
        for first in range(0, total, CHUNK):
            n = min(CHUNK, total - first)
            lo = start_ms + span_ms * first // total
            hi = start_ms + span_ms * (first + n) // total
            table = _chunk(rng, n, lo, hi - lo, current)
            if writer is None:
                writer = pq.ParquetWriter(
                    partial,
                    table.schema,
                    compression="zstd",
                    compression_level=3,
                    use_dictionary=True,
                    write_statistics=True,
                    version="2.6",
                )
            writer.write_table(table, row_group_size=ROW_GROUP)
    assert writer is not None
    writer.close()
    partial.rename(path)
    return path


def write_register(folder: Path) -> Path:
    """The register for these logs: three models, current 1 day, reference 7 days."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "realistic-register.yaml"
    path.write_text(REGISTER)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=4_500_000)
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "mh-bench")
    args = parser.parse_args()
    t0 = time.perf_counter()
    path = generate(args.rows, args.data)
    register = write_register(args.data)
    meta = pq.ParquetFile(path).metadata
    print(
        f"{path} ({path.stat().st_size / 1e6:.0f} MB, {meta.num_rows:,} rows, "
        f"{meta.num_columns} columns) and {register} in {time.perf_counter() - t0:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
