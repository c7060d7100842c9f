"""Staging: a partition's log files made readable by ``read_logs`` under a private folder.

A worker reads a partition through a folder that mirrors the files' paths below the
directory the user named (symbolic links for local files, a download for fsspec URLs),
so Hive partition keys, the "directory vs file named directly" rules for unreadable
files, and every name in the report and the quarantine are those of the local engine:
names are mapped back with :func:`rename_stats` and :func:`rename_error`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from monitor.errors import MonitorError
from monitor.ingest import IngestStats, LogFile

__all__ = ["rename", "rename_error", "rename_stats", "stage", "stage_files"]


def stage(file: LogFile, staged: Path, names: dict[str, str]) -> None:
    """Make ``file`` readable at ``staged`` (a link, or a download for a URL)."""
    staged.parent.mkdir(parents=True, exist_ok=True)
    if file.remote:
        import fsspec

        fs, path = fsspec.core.url_to_fs(file.location)
        fs.get_file(path, str(staged))
    else:
        os.symlink(file.location, staged)
    names[str(staged)] = file.name


def stage_files(files: Sequence[LogFile], folder: Path) -> tuple[list[str], dict[str, str]]:
    """Mirror consecutive log files under ``folder`` as ``read_logs`` must see them.

    Files found in a directory sit at their path below ``folder/root-<k>`` (so Hive keys
    and the rules for unreadable files inside a directory apply); files named directly
    are given directly, under their own name. Returns the paths for ``read_logs``, in
    read order, and each staged name → the name the local engine uses.
    """
    inputs: list[str] = []
    names: dict[str, str] = {}
    for n, file in enumerate(files):
        if file.root is None or file.relative is None:
            staged = folder / f"direct-{n}" / Path(file.name).name
            inputs.append(str(staged))
        else:
            top = folder / f"root-{file.root}"
            if not inputs or inputs[-1] != str(top):
                inputs.append(str(top))
            staged = top / file.relative
        stage(file, staged, names)
    return inputs, names


def rename(text: str, names: Mapping[str, str]) -> str:
    for staged, original in names.items():
        text = text.replace(staged, original)
    return text


def rename_stats(stats: IngestStats, names: Mapping[str, str]) -> IngestStats:
    if not names:
        return stats
    stats.files = [names.get(f, f) for f in stats.files]
    stats.unreadable = [names.get(f, f) for f in stats.unreadable]
    stats.unreadable_reasons = {
        names.get(f, f): rename(reason, names) for f, reason in stats.unreadable_reasons.items()
    }
    return stats


def rename_error(exc: MonitorError, names: Mapping[str, str]) -> MonitorError:
    """The same error with staged paths replaced by the user's names."""
    if not names:
        return exc
    renamed = type(exc).__new__(type(exc))
    renamed.__dict__.update(
        {k: rename(v, names) if isinstance(v, str) else v for k, v in vars(exc).items()}
    )
    renamed.args = tuple(rename(a, names) if isinstance(a, str) else a for a in exc.args)
    return renamed
