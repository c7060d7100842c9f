"""What an engine is: the chunk → aggregate contract, and the folds every engine shares.

An engine schedules ``read_logs`` and the aggregates' ``update`` over the logs and
returns one merged :class:`~monitor.stats.aggregates.ModelAggregate` per registered
model. The metric code is shared: engines differ only in how chunks are scheduled (the
local engine folds them on a few threads of one process, the Dask engine one task per
log partition) and must give the same report up to float rounding of sums.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from monitor.chunk import ModelChunk, WindowBounds
from monitor.ingest import IngestStats, QuarantineWriter
from monitor.stats.aggregates import ModelAggregate
from thresholds.schema import Register

__all__ = ["Engine", "Progress", "fold_chunks", "fold_chunks_threaded", "new_aggregates"]

#: Called with the number of rows just folded (or read, for the Dask engine).
Progress = Callable[[int], None]


class Engine(Protocol):
    """How chunks are scheduled. Engines differ only in that: the metric code is shared."""

    name: str

    def summarize(
        self,
        paths: Sequence[str | Path],
        register: Register,
        bounds: Mapping[str, WindowBounds],
        *,
        labels: Path | None,
        quarantine: QuarantineWriter,
        stats: IngestStats,
        progress: Progress | None = None,
        memory_budget: int | None = None,
    ) -> dict[str, ModelAggregate]:
        """Merged summaries of every registered model. ``memory_budget`` bounds the
        de-duplication state (per worker for a cluster); ``None`` is the engine's own."""
        ...


def new_aggregates(
    register: Register, bounds: Mapping[str, WindowBounds]
) -> dict[str, ModelAggregate]:
    """Empty summaries for every registered model."""
    out = {}
    for entry in register.models:
        c = entry.thresholds.confidence
        out[entry.id] = ModelAggregate.empty(
            entry.id,
            bounds[entry.id],
            cut_points=tuple(sorted({c.min, c.review, c.auto})),
            sample_size=entry.thresholds.drift.sample_size,
            drift_max_features=entry.thresholds.drift.max_columns,
            drift=entry.thresholds.drift.enabled,
        )
    return out


def fold_chunks(
    chunks: Iterable[ModelChunk],
    aggregates: dict[str, ModelAggregate],
    progress: Progress | None = None,
) -> dict[str, ModelAggregate]:
    """Feed clean chunks into their model's summary."""
    for chunk in chunks:
        aggregates[chunk.model_id].update(chunk)
        if progress is not None:
            progress(chunk.n)
    return aggregates


def fold_chunks_threaded(
    chunks: Iterable[ModelChunk],
    make: Callable[[], dict[str, ModelAggregate]],
    *,
    workers: int,
    progress: Progress | None = None,
) -> dict[str, ModelAggregate]:
    """Fold chunks on ``workers`` threads, each into summaries of its own, then merge.

    Ingest stays on the calling thread (duplicates are decided in log order); the
    aggregates' numpy work releases the GIL, so a second core does real work. Because
    merge is order-free, the result equals a single-threaded fold.
    """
    if workers <= 1:
        return fold_chunks(chunks, make(), progress)
    # One queue per worker, chunks dealt round-robin: which worker sums which chunk is
    # fixed, so float sums (and the report) are identical run to run.
    queues: list[queue.Queue[ModelChunk | None]] = [queue.Queue(maxsize=2) for _ in range(workers)]
    partials = [make() for _ in range(workers)]
    failures: list[BaseException] = []

    def worker(own: dict[str, ModelAggregate], inbox: queue.Queue[ModelChunk | None]) -> None:
        while (chunk := inbox.get()) is not None:
            try:
                if not failures:
                    own[chunk.model_id].update(chunk)
            except BaseException as exc:  # re-raised on the calling thread
                failures.append(exc)

    threads = [
        threading.Thread(target=worker, args=(p, q), daemon=True)
        for p, q in zip(partials, queues, strict=True)
    ]
    for thread in threads:
        thread.start()
    try:
        for i, chunk in enumerate(chunks):
            if failures:
                break
            queues[i % workers].put(chunk)
            if progress is not None:
                progress(chunk.n)
    finally:
        for inbox in queues:
            inbox.put(None)
        for thread in threads:
            thread.join()
    if failures:
        raise failures[0]
    merged = partials[0]
    for other in partials[1:]:
        for model_id, aggregate in other.items():
            merged[model_id].merge(aggregate)
    return merged
