"""The nightly check's summaries computed on a Dask cluster, one task per log partition.

:class:`DaskEngine` is the second :class:`~monitor.engines.base.Engine`. It differs from the
local engine only in how chunks are scheduled: every task runs the same
:func:`~monitor.ingest.read_logs` on its partition and folds the chunks into the same
:class:`~monitor.stats.aggregates.ModelAggregate` summaries, and the client merges them with
``ModelAggregate.merge`` and ``IngestStats.merge``. There is no second implementation
of any metric.

Partitions
----------
The inputs are listed on the client by the listing ingest itself uses
(:func:`~monitor.ingest.sources.list_log_files`: the files of each directory top-down,
sorted, names starting with ``.`` or ``_`` and other formats skipped; a file named
twice read once) and cut into *partitions* (:mod:`monitor.engines.partitions`): runs of
consecutive files of about ``partition_bytes`` (128 MB by default, smaller when that
would leave workers idle). Partition order is read order. A worker reads a partition
through a private staging folder (:mod:`monitor.engines.staging`) that mirrors the
files' paths below the directory the user named (symbolic links for local files, a
download for fsspec URLs such as ``s3://…``), so Hive partition keys (``model_id=…/``),
the "directory vs file named directly" rules for unreadable files, and every name in the
report and the quarantine are those of the local engine.

What crosses the network
------------------------
* client → workers: the register, the window bounds and the partitions' file names;
  workers read the log bytes from the shared filesystem or object store themselves;
* workers → client: per partition, the summaries (counts, bin tables, latency sketch
  buckets, bottom-k drift sample: bounded, independent of the rows), the ingest
  counters, and the quarantined rows (few in a healthy log; all of them, because the
  report promises every one in the single ``quarantine.parquet`` the client writes);
* worker ↔ worker, for duplicates (below): 8 bytes per in-window row (its key),
  range-partitioned so no worker receives more than its share; the client only learns
  which partitions share ids.

Duplicates across partitions
----------------------------
The local engine drops a repeated ``prediction_id`` of a model globally: the first
occurrence in read order wins. Within a task ``read_logs`` does the same. Across tasks
the check is exact and runs in two phases:

1. every task de-duplicates its partition with its own
   :class:`~monitor.ingest.dedup_exact.ExactSeen` (within the worker's
   ``memory_budget`` divided by its threads, spilling beyond it), under one SipHash key
   the client draws for the run, and writes the sorted keys of its in-window
   ``(model, id)`` pairs to a file in the worker's local directory. The keys are then
   exchanged by key range (:mod:`monitor.engines.dedup_partitions`: ranges sized so one
   range of every partition fits the budget, read on the worker that holds each file):
   one task per range names each partition holding a key that an earlier partition
   holds, with those earlier partitions. Usually none does, and phase 1's summaries
   stand. The key files are deleted when the check ends, error or not.
2. a partition that does is read again *right after* the earlier partitions in one
   ``read_logs`` call, so ingest itself drops exactly the rows whose ids they used and
   counts them (duplicates, ``naive_timestamps``, ``labels_joined``…) as the local
   engine does. The earlier partitions' share is taken off again: their chunks come
   first and their counters are subtracted (``read_logs`` is deterministic, so both are
   known: from phase 1, or from a read of the earlier partitions alone when they share
   ids among themselves). The new summary replaces phase 1's.

The keys only choose what is read again; phase 2's ingest compares the ids' bytes, so
a collision of keys costs a second read, never a row. Per worker, memory is the budget
whatever the number of rows; disk is 8 bytes per row it read, plus what its tasks
spill.

Phase 2 costs a second read of the affected partitions and of the partitions they
repeat, so logs where retries land in the next file pay for it; keeping a retry in the
same partition as its original (partition by date, ingest hour by hour) avoids it.

Merging is in partition order, so the report is the same from run to run; it equals
the local engine's up to float rounding of sums (about 1e-15 relative).

``distributed`` is an optional dependency: ``pip install 'modelhealth[dask]'``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pyarrow as pa

from monitor.chunk import WindowBounds
from monitor.engines.base import Progress, new_aggregates
from monitor.engines.dedup_partitions import (
    PartitionKeys,
    find_claimants,
    keep_keys,
    remove_keys,
)
from monitor.engines.partitions import DEFAULT_PARTITION_BYTES, Partition, plan_partitions
from monitor.engines.staging import rename_error, rename_stats, stage, stage_files
from monitor.errors import MonitorError
from monitor.ingest import IngestStats, LogFile, QuarantineWriter, read_logs
from monitor.ingest.dedup_exact import DEFAULT_MEMORY_BUDGET, MIN_MEMORY_BUDGET, ExactSeen
from monitor.ingest.keyed_hash import new_key
from monitor.ingest.quarantine import QUARANTINE_SCHEMA
from monitor.ingest.sources import is_url
from monitor.stats.aggregates import ModelAggregate
from thresholds.schema import Register

if TYPE_CHECKING:
    from distributed import Client, Future

__all__ = ["DaskEngine"]

if importlib.util.find_spec("distributed") is None:  # pragma: no cover - depends on the env
    raise ImportError(
        "the dask engine needs the 'distributed' package: pip install 'modelhealth[dask]'"
    )


# --------------------------------------------------------------------------- one task


@dataclass(frozen=True)
class _Job:
    """What every task needs besides its partition (sent once per task; small)."""

    register: Register
    bounds: Mapping[str, WindowBounds]
    labels: LogFile | None
    batch_rows: int
    #: The run's SipHash key: every task's keys mean the same (never written to disk).
    dedup_key: bytes
    #: De-duplication memory of one task: the worker's budget over its threads.
    task_budget: int


@dataclass
class _Summary:
    """What one partition sends to the client."""

    index: int
    aggregates: dict[str, ModelAggregate]
    stats: IngestStats
    quarantine: pa.Table | None
    chunks: int  # how many chunks read_logs yielded


@dataclass
class _Output:
    """A task's result, kept on its worker: the summary and where its keys are."""

    summary: _Summary
    keys: PartitionKeys


class _QuarantineRows:
    """Stands in for a :class:`QuarantineWriter` on a worker: keeps the rows to send back."""

    def __init__(self) -> None:
        self.tables: list[pa.Table] = []

    def write(self, rows: pa.Table) -> None:
        if rows.num_rows:
            self.tables.append(rows.select(QUARANTINE_SCHEMA.names).cast(QUARANTINE_SCHEMA))

    def rename(self, names: Mapping[str, str]) -> None:
        """Staged file names → the user's."""
        if not self.tables or not names:
            return
        table = pa.concat_tables(self.tables)
        column = table.column("source_file").combine_chunks().dictionary_encode()
        renamed = pa.array([names.get(n, n) for n in column.dictionary.to_pylist()])
        original = pa.DictionaryArray.from_arrays(column.indices, renamed).dictionary_decode()
        at = table.schema.get_field_index("source_file")
        self.tables = [table.set_column(at, QUARANTINE_SCHEMA.field("source_file"), original)]

    def table(self) -> pa.Table | None:
        return pa.concat_tables(self.tables) if self.tables else None


def _read(
    files: Sequence[LogFile],
    job: _Job,
    folder: Path,
    *,
    fold: dict[str, ModelAggregate] | None = None,
    skip: int = 0,
    quarantine: _QuarantineRows | None = None,
    keep: int | None = None,
) -> tuple[IngestStats, int, PartitionKeys | None]:
    """One ``read_logs`` over ``files`` staged in ``folder``.

    Chunks after the first ``skip`` are folded into ``fold``. With ``keep`` (the
    partition's index) the keys of the (model, id) pairs kept are written to the
    worker's local directory. Returns the ingest counters (under the user's file names),
    the number of chunks ``read_logs`` yielded and where the keys are.
    """
    inputs, names = stage_files(files, folder)
    labels = None
    if job.labels is not None:
        labels = str(folder / "labels" / Path(job.labels.name).name)
        stage(job.labels, Path(labels), names)
    stats = IngestStats()
    n = 0
    kept = None
    with ExactSeen(
        memory_budget=job.task_budget, spill_dir=folder / "dedup", key=job.dedup_key
    ) as seen:
        chunks = read_logs(
            inputs,
            job.register,
            job.bounds,
            labels=labels,
            quarantine=cast(QuarantineWriter, quarantine),
            batch_rows=job.batch_rows,
            stats=stats,
            seen=seen,
        )
        try:
            for chunk in chunks:
                n += 1
                if n <= skip or fold is None:
                    continue
                fold[chunk.model_id].update(chunk)
        except MonitorError as exc:
            raise rename_error(exc, names) from None
        finally:
            chunks.close()
        if keep is not None:
            kept = keep_keys(keep, seen)
    if quarantine is not None:
        quarantine.rename(names)
    return rename_stats(stats, names), n, kept


def _summarize(partition: Partition, job: _Job) -> _Output:
    """Phase 1, on a worker: the partition's summary, and its keys in a file there."""
    aggregates = new_aggregates(job.register, job.bounds)
    rows = _QuarantineRows()
    with tempfile.TemporaryDirectory(prefix="modelhealth-partition-") as tmp:
        stats, n, keys = _read(
            partition.files, job, Path(tmp), fold=aggregates, quarantine=rows, keep=partition.index
        )
    assert keys is not None
    return _Output(_Summary(partition.index, aggregates, stats, rows.table(), n), keys)


def _summarize_after(
    partition: Partition,
    earlier: tuple[LogFile, ...],
    job: _Job,
    known: tuple[IngestStats, int] | None,
) -> _Summary:
    """Phase 2, on a worker: the partition read right after the ``earlier`` files.

    ``read_logs`` then drops, as duplicates, exactly the rows whose ids those files
    already used, as it would in one pass over all the logs. What the earlier files
    contribute comes first and is taken off: their chunks (a count, since
    ``read_logs`` is deterministic) and their counters, ``known`` from phase 1 when the
    earlier files share no ids among themselves, or read here otherwise.
    """
    aggregates = new_aggregates(job.register, job.bounds)
    with tempfile.TemporaryDirectory(prefix="modelhealth-partition-") as tmp:
        if known is None:
            known = _read(earlier, job, Path(tmp, "earlier"))[:2]
        before, skip = known
        after, n, _ = _read(
            (*earlier, *partition.files), job, Path(tmp, "both"), fold=aggregates, skip=skip
        )
    return _Summary(partition.index, aggregates, _minus(after, before), None, n - skip)


def _minus(total: IngestStats, part: IngestStats) -> IngestStats:
    """The counters of a read minus those of its first files (``part``)."""
    out = IngestStats()
    for spec in fields(IngestStats):
        whole, some = getattr(total, spec.name), getattr(part, spec.name)
        if isinstance(whole, int):
            value: Any = whole - some
        elif isinstance(whole, list):
            if whole[: len(some)] != some:
                raise RuntimeError(f"ingest read the files in another order ({spec.name})")
            value = whole[len(some) :]
        else:
            value = _minus_mapping(whole, some)
        setattr(out, spec.name, value)
    return out


def _minus_mapping(whole: dict[str, Any], some: dict[str, Any]) -> dict[str, Any]:
    """Counters minus the part's; nested tables likewise; other values the part had
    (a reason, an example) stay with the part."""
    out: dict[str, Any] = {}
    for key, value in whole.items():
        if key not in some:
            out[key] = value
        elif isinstance(value, int):
            if value != some[key]:
                out[key] = value - some[key]
        elif isinstance(value, dict):
            inner = _minus_mapping(value, some[key])
            if inner:
                out[key] = inner
    return out


def _summary_of(output: _Output) -> _Summary:
    return output.summary


@contextlib.contextmanager
def _quiet(name: str) -> Iterator[None]:
    """Only errors from logger ``name`` while a cluster of our own runs in this process:
    its scheduler's start-up and shutdown chatter is not the user's business."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _labels_file(labels: Path | str | None) -> LogFile | None:
    if labels is None:
        return None
    text = str(labels)
    if is_url(text):
        return LogFile(text, text, 0)
    return LogFile(str(Path(text)), str(Path(text).resolve()), 0)


# --------------------------------------------------------------------------- the engine


@dataclass
class DaskEngine:
    """Summarise log partitions on a Dask cluster and merge the summaries on the client.

    Parameters
    ----------
    scheduler
        Address of a running scheduler (``tcp://host:8786``). ``None`` starts a
        ``distributed.LocalCluster`` (2 worker processes, 1 thread each) for the run and
        closes it afterwards.
    partition_bytes
        Target bytes of log files per task (see :func:`plan_partitions`).
    batch_rows
        Rows per record batch inside a task, as for the local engine.
    client
        An existing ``distributed.Client`` to use instead of connecting (it is left
        open); for benchmarks and notebooks that run several checks.
    memory_budget
        De-duplication memory per worker (``--memory-budget``), shared by its threads;
        each task spills beyond its share, and the key exchange's ranges are sized to it.

    Notes
    -----
    Workers must be able to import ``modelhealth`` (same version as the client) and to
    read the logs: a shared filesystem for local paths, credentials for URLs.
    """

    scheduler: str | None = None
    partition_bytes: int = DEFAULT_PARTITION_BYTES
    batch_rows: int = 262_144
    client: Client | None = None
    memory_budget: int = DEFAULT_MEMORY_BUDGET
    name: str = "dask"

    def summarize(
        self,
        paths: Sequence[Path | str],
        register: Register,
        bounds: Mapping[str, WindowBounds],
        *,
        labels: Path | str | None,
        quarantine: QuarantineWriter,
        stats: IngestStats,
        progress: Progress | None = None,
        memory_budget: int | None = None,
    ) -> dict[str, ModelAggregate]:
        """Summaries of every registered model, as
        :class:`~monitor.engines.local.LocalEngine` gives."""

        budget = self.memory_budget if memory_budget is None else memory_budget

        def run(client: Client) -> dict[str, ModelAggregate]:
            return self._run(
                client, paths, register, bounds, labels, quarantine, stats, progress, budget
            )

        if self.client is not None:
            return run(self.client)
        from distributed import Client, LocalCluster

        if self.scheduler is not None:
            with Client(self.scheduler, set_as_default=False) as client:  # type: ignore[no-untyped-call]
                return run(client)
        with (
            _quiet("distributed"),
            LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=2,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # The scheduler's small HTTP server (health, metrics) still starts; on a
                # free port, so two checks on one machine do not contend for 8787.
                scheduler_kwargs={"dashboard_address": ":0"},
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster, set_as_default=False) as client,  # type: ignore[no-untyped-call]
        ):
            return run(client)

    def _run(
        self,
        client: Client,
        paths: Sequence[Path | str],
        register: Register,
        bounds: Mapping[str, WindowBounds],
        labels: Path | str | None,
        quarantine: QuarantineWriter,
        stats: IngestStats,
        progress: Progress | None,
        memory_budget: int,
    ) -> dict[str, ModelAggregate]:
        workers = client.scheduler_info(n_workers=-1)["workers"]
        threads = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        per_worker = max((int(w.get("nthreads", 1)) for w in workers.values()), default=1)
        partitions = plan_partitions(
            paths, partition_bytes=self.partition_bytes, parallelism=threads
        )
        budget = max(MIN_MEMORY_BUDGET, memory_budget // max(1, per_worker))
        job = _Job(register, bounds, _labels_file(labels), self.batch_rows, new_key(), budget)
        if not partitions:
            return new_aggregates(register, bounds)

        # Phase 1: every partition summarised; its keys kept in a file on its worker.
        outputs = client.map(_summarize, partitions, job=job, pure=False)
        summaries = client.map(_summary_of, outputs, pure=False)
        kept = client.map(_keys_of, outputs, pure=False)
        try:
            merged, total, read = self._merge(
                client, summaries, register, bounds, quarantine, progress
            )
            claimants = find_claimants(
                client,
                client.gather(kept),  # type: ignore[no-untyped-call]
                budget=budget,
                workers=max(1, len(workers)),
            )
        finally:
            _remove_key_files(client, kept)
        del outputs  # the summaries' futures hold what phase 2 needs
        if claimants:
            # Phase 2: partitions holding ids that earlier partitions used are read again
            # right after those partitions, and their summaries replace phase 1's.
            again = {}
            for index, earlier in sorted(claimants.items()):
                prefix = sorted(earlier)
                shared = any(claimants.get(p, set()) & earlier for p in prefix)
                known = None if shared else _sum_of(read[p] for p in prefix)
                files = tuple(f for p in prefix for f in partitions[p].files)
                again[index] = client.submit(
                    _summarize_after, partitions[index], files, job, known, pure=False
                )
            redone = [again.get(i, summary) for i, summary in enumerate(summaries)]
            merged, total, _ = self._merge(client, redone, register, bounds, None, None)
        stats.merge(total)
        return merged

    @staticmethod
    def _merge(
        client: Client,
        summaries: list[Future[_Summary]],
        register: Register,
        bounds: Mapping[str, WindowBounds],
        quarantine: QuarantineWriter | None,
        progress: Progress | None,
    ) -> tuple[dict[str, ModelAggregate], IngestStats, list[tuple[IngestStats, int]]]:
        """Fold summaries into one, in partition order, as they arrive.

        Also returns each partition's counters and chunk count, for phase 2.
        """
        from distributed import as_completed

        merged = new_aggregates(register, bounds)
        total = IngestStats()
        read: list[tuple[IngestStats, int]] = []
        position = {future.key: i for i, future in enumerate(summaries)}
        waiting: dict[int, _Summary] = {}
        following = 0
        for future in as_completed(summaries, loop=client.loop):  # type: ignore[no-untyped-call]
            summary: _Summary = future.result()
            if progress is not None:
                progress(summary.stats.rows_read)
            waiting[position[future.key]] = summary
            while following in waiting:
                ready = waiting.pop(following)
                following += 1
                for model_id, aggregate in ready.aggregates.items():
                    merged[model_id].merge(aggregate)
                read.append((ready.stats, ready.chunks))
                total.merge(ready.stats)
                if quarantine is not None and ready.quarantine is not None:
                    quarantine.write(ready.quarantine)
        return merged, total, read


def _keys_of(output: _Output) -> PartitionKeys:
    return output.keys


def _remove_key_files(client: Client, kept: list[Future[PartitionKeys]]) -> None:
    """Delete every key file phase 1 wrote, also when a task or the exchange failed:
    the tasks still running are waited for, so none writes a file after this."""
    written = client.gather(kept, errors="skip")  # type: ignore[no-untyped-call]
    if written:
        remove_keys(client, written)


def _sum_of(reads: Iterator[tuple[IngestStats, int]]) -> tuple[IngestStats, int]:
    stats, chunks = IngestStats(), 0
    for part, n in reads:
        stats.merge(part)
        chunks += n
    return stats, chunks
