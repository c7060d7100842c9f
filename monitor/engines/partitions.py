"""Log partitions for the Dask engine: runs of consecutive files, in read order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.ingest import LogFile, list_log_files

__all__ = ["DEFAULT_PARTITION_BYTES", "Partition", "plan_partitions"]

#: Target size of one partition (bytes of log files as stored).
DEFAULT_PARTITION_BYTES = 128 << 20
#: Smallest partition the planner cuts to keep workers busy.
_MIN_PARTITION_BYTES = 8 << 20


@dataclass(frozen=True)
class Partition:
    """Consecutive log files (in read order) summarised by one task."""

    index: int
    files: tuple[LogFile, ...]

    @property
    def nbytes(self) -> int:
        """Bytes of the files as stored."""
        return sum(f.size for f in self.files)


def plan_partitions(
    paths: Sequence[str | Path],
    *,
    partition_bytes: int = DEFAULT_PARTITION_BYTES,
    parallelism: int = 1,
) -> list[Partition]:
    """Cut the inputs into partitions of consecutive files, in read order.

    Parameters
    ----------
    paths
        Files and directories, local or fsspec URLs (``s3://…``, ``gs://…``,
        ``file://…``), listed by :func:`~monitor.ingest.sources.list_log_files` as
        ingest lists them.
    partition_bytes
        Target bytes per partition; a file is never split, so a file larger than this
        is a partition of its own.
    parallelism
        Threads of the cluster: the target shrinks (down to 8 MB) so that there are at
        least two partitions per thread when the logs allow.

    Returns
    -------
    list of Partition
        Every file exactly once (a file named twice is read where it first appears).

    Raises
    ------
    UnreadableLogError
        A path does not exist, or a file named directly is not a log format.
    """
    files = list_log_files(paths)
    total = sum(f.size for f in files)
    target = max(1, min(partition_bytes, max(_MIN_PARTITION_BYTES, total // (2 * parallelism))))
    partitions: list[Partition] = []
    run: list[LogFile] = []
    size = 0
    for file in files:
        if run and size + file.size > target:
            partitions.append(Partition(len(partitions), tuple(run)))
            run, size = [], 0
        run.append(file)
        size += file.size
    if run:
        partitions.append(Partition(len(partitions), tuple(run)))
    return partitions
