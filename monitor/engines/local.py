"""The local engine: one process, record batches streamed through the aggregates."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_limits

from monitor.chunk import WindowBounds
from monitor.engines.base import Progress, fold_chunks_threaded, new_aggregates
from monitor.ingest import IngestStats, QuarantineWriter, read_logs
from monitor.stats.aggregates import ModelAggregate
from thresholds.schema import Register

__all__ = ["LocalEngine"]


@dataclass
class LocalEngine:
    """One process: record batches stream through the shared aggregates on a few threads."""

    name: str = "local"
    batch_rows: int = 262_144
    workers: int = field(default_factory=lambda: min(2, os.cpu_count() or 1))

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
    ) -> dict[str, ModelAggregate]:
        chunks = read_logs(
            paths,
            register,
            bounds,
            labels=labels,
            quarantine=quarantine,
            batch_rows=self.batch_rows,
            stats=stats,
        )
        # One BLAS thread: OpenBLAS splits a long dot product (the aggregates' sums of
        # squares) over threads of its own, whose idle spinning takes the two cores from
        # ingest and the fold threads (5-6x the cost of a chunk's calibration tables on a
        # busy two-core machine), and whose sums change in the last bits with the
        # number of cores. The limit is lifted when the fold ends.
        with threadpool_limits(limits=1, user_api="blas"):
            return fold_chunks_threaded(
                chunks,
                lambda: new_aggregates(register, bounds),
                workers=self.workers,
                progress=progress,
            )
