"""A bulk generator for benchmarks: millions of contract-shaped rows per second.

Not meant for signal studies or the demo (the rows are calibrated but carry no
degradations): use :func:`modelhealth.demo.simulate.simulate_day` there.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa

from modelhealth.demo.profiles import epoch_ms
from modelhealth.demo.simulate import category_array

__all__ = ["fast_table"]

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
    start_ms = epoch_ms(start)
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
            "model_id": category_array(model, models),
            "timestamp": pa.array(ts, type=pa.timestamp("ms", tz="UTC")),
            "confidence": pa.array(confidence.astype(np.float64)),
            "latency_ms": pa.array(latency.astype(np.float64)),
            "output_type": category_array(output, ["answer", "summary", "json", "label"]),
            "segment": category_array(segment, ["billing", "shipping", "returns", "technical"]),
            "error": pa.array(error),
            "correct": pa.array(correct, mask=unlabeled),
            "quality_score": pa.array(quality.astype(np.float64), mask=unlabeled),
        }
    )
