"""Errors raised by the ``monitor`` package.

Hierarchy::

    MonitorError                 anything monitor refuses to do
    └── InputError               bad input or configuration; the CLI exits with code 2
        ├── MissingColumnError   a log lacks required columns (names the file, the missing
        │                        columns and the columns it does have)
        ├── UnreadableLogError   a log file cannot be read at all (missing, corrupt,
        │                        unknown format, not UTF-8)
        └── LabelsError          the labels file cannot be used for the join
    └── TrackingError            MLflow could not record the check (not the input's fault:
                                 the check itself ran; the CLI reports it and exits 2)

Bad *rows* are never errors: they go to the quarantine file with a reason. Errors are
for whole inputs that cannot be used, and every message says what to do about it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

__all__ = [
    "InputError",
    "LabelsError",
    "MissingColumnError",
    "MonitorError",
    "TrackingError",
    "UnreadableLogError",
]

#: Columns listed in a message before the rest is summarised as "… (N more)".
_MAX_LISTED = 25


class MonitorError(Exception):
    """Base class of every error raised by ``monitor``."""


class InputError(MonitorError):
    """Bad input or configuration: the command cannot run as asked (CLI exit code 2)."""

    exit_code: ClassVar[int] = 2


def _listing(names: Sequence[str]) -> str:
    if not names:
        return "(no columns)"
    shown = ", ".join(names[:_MAX_LISTED])
    more = len(names) - _MAX_LISTED
    return f"{shown}, … ({more} more)" if more > 0 else shown


class MissingColumnError(InputError):
    """A log file lacks columns that the register's column mapping requires.

    Parameters
    ----------
    path
        The log file.
    missing
        Required log column names (after the register's mapping) that are absent.
    found
        The columns the file does have, in file order.
    models
        The registered models whose mapping needs the columns; empty when every model does.
    """

    def __init__(
        self,
        path: str,
        missing: Sequence[str],
        found: Sequence[str],
        models: Sequence[str] = (),
    ) -> None:
        self.path = path
        self.missing = list(missing)
        self.found = list(found)
        self.models = list(models)
        wanted = ", ".join(repr(name) for name in self.missing)
        message = f"{path} is missing required column(s) {wanted}; found: {_listing(self.found)}."
        if self.models:
            message += f" Needed for model(s) {', '.join(self.models)}."
        delimiter = _delimiter_hint(self.found)
        if delimiter is not None:
            message += (
                f" The header was read as a single column: is the file delimited by"
                f" {delimiter!r} rather than ','? Logs must be comma-separated CSV."
            )
        else:
            message += (
                " Map them in the register under models[].columns"
                " (e.g. columns: {confidence: score})."
            )
        super().__init__(message)


def _delimiter_hint(found: Sequence[str]) -> str | None:
    if len(found) != 1:
        return None
    for candidate in (";", "\t", "|"):
        if candidate in found[0]:
            return candidate
    return None


class UnreadableLogError(InputError):
    """A log file (or path) cannot be read at all.

    Inside a directory such a file is skipped and listed in ``IngestStats.unreadable``;
    named directly it stops the run.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        # Reader errors (Thrift, Arrow) span lines; a log line and a cron mail want one.
        self.problem = " ".join(problem.split())
        super().__init__(f"{path} cannot be read: {self.problem}")


class LabelsError(InputError):
    """The labels file is missing, unreadable, or lacks the columns the join needs."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"labels file {path}: {problem}")


class TrackingError(MonitorError):
    """MLflow could not record the check: bad URI, unreachable server, refused write.

    The message names the tracking URI (credentials removed) and what was being done.
    """
