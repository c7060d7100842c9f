"""The local engine: one process, record batches streamed through the aggregates."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from threadpoolctl import threadpool_limits

from monitor.chunk import WindowBounds
from monitor.engines.base import Progress, fold_chunks_threaded, new_aggregates
from monitor.ingest import IngestStats, QuarantineWriter, read_logs
from monitor.ingest.dedup_exact import DEFAULT_MEMORY_BUDGET, DedupStats, ExactSeen
from monitor.stats.aggregates import ModelAggregate
from thresholds.schema import Register

__all__ = ["LocalEngine"]

#: ``modelhealth check --log-format json`` shows its ``dedup`` event (spills, peak state).
log = logging.getLogger("modelhealth.dedup")


@dataclass
class LocalEngine:
    """One process: record batches stream through the shared aggregates on a few threads.

    Parameters
    ----------
    batch_rows
        Rows per record batch.
    workers
        Threads folding chunks into the aggregates (ingest stays on the calling thread).
    memory_budget
        Bytes of de-duplication state held in memory (``--memory-budget``); beyond it,
        sorted runs of id keys and the ids' bytes go to disk
        (:class:`~monitor.ingest.dedup_exact.ExactSeen`).
    spill_dir
        Parent of the private spill folder (``modelhealth-dedup-…``, made only when the
        state outgrows the budget, deleted when the read ends, error or not); ``None`` is
        the system temp folder.
    """

    name: str = "local"
    batch_rows: int = 262_144
    workers: int = field(default_factory=lambda: min(2, os.cpu_count() or 1))
    memory_budget: int = DEFAULT_MEMORY_BUDGET
    spill_dir: Path | None = None
    #: What de-duplication did in the last :meth:`summarize` (spills, merges, peak state).
    dedup_stats: DedupStats | None = field(default=None, init=False, repr=False)

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
        budget = self.memory_budget if memory_budget is None else memory_budget
        with ExactSeen(memory_budget=budget, spill_dir=self.spill_dir) as seen:
            chunks = read_logs(
                paths,
                register,
                bounds,
                labels=labels,
                quarantine=quarantine,
                batch_rows=self.batch_rows,
                stats=stats,
                seen=seen,
            )
            try:
                # One BLAS thread: OpenBLAS splits a long dot product (the aggregates' sums
                # of squares) over threads of its own, whose idle spinning takes the two
                # cores from ingest and the fold threads (5-6x the cost of a chunk's
                # calibration tables on a busy two-core machine), and whose sums change in
                # the last bits with the number of cores. The limit is lifted when the
                # fold ends.
                with threadpool_limits(limits=1, user_api="blas"):
                    return fold_chunks_threaded(
                        chunks,
                        lambda: new_aggregates(register, bounds),
                        workers=self.workers,
                        progress=progress,
                    )
            finally:
                chunks.close()  # the reader thread stops before the spill folder goes
                self.dedup_stats = seen.stats
                fields = {"memory_budget": budget, **dataclasses.asdict(seen.stats)}
                log.info("dedup", extra={"fields": fields})
