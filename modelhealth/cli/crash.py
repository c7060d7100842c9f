"""Run a command so that its exit code always means what the README says.

A scheduler reads the exit code and nothing else: 1 must mean "a finding at or above
``--fail-on``". Python exits 1 on an uncaught exception, and rich and typer exit 1 on a
closed pipe, so a bug would page the on-call as if a model had breached. :func:`main`
runs the typer app and maps everything that is not a deliberate exit:

* an uncaught exception is a bug: exit 3 (:data:`EXIT_INTERNAL`), one line on stderr
  naming the error and a log file that holds the traceback, written to the command's
  output folder when it has one (:func:`remember_output_folder`), else to a temp file;
* Ctrl-C is 130 and a closed pipe 141 (128 + the signal's number, as shells report them).

Once the command is done, every object it left is frozen out of the garbage collector's
reach (:func:`gc.freeze`): interpreter shutdown would otherwise walk them all in repeated
full collections, 0.2 s of a 3 s check (a check leaves about 100,000 objects and 1,000
modules). Reference counting still frees them, atexit handlers still run, and what the
command wrote was closed before it returned.

This module imports nothing but the standard library until it runs the app, so a
damaged installation (a dependency that fails to import) is reported the same way.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import sys
import tempfile
import traceback
from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = [
    "EXIT_INTERNAL",
    "EXIT_INTERRUPTED",
    "EXIT_PIPE_CLOSED",
    "main",
    "remember_output_folder",
    "run_app",
    "write_crash_log",
]

#: An uncaught exception: a bug in modelhealth, never a finding.
EXIT_INTERNAL = 3
#: Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: Whoever read our output went away (128 + SIGPIPE).
EXIT_PIPE_CLOSED = 141

_output_folder: Path | None = None


def remember_output_folder(folder: Path) -> None:
    """Where a crash log goes if this command fails with a bug (its ``--out``)."""
    global _output_folder
    _output_folder = folder


def _version() -> str:
    try:
        return version("modelhealth")
    except PackageNotFoundError:
        return "unknown"


def _log_text(exc: BaseException) -> str:
    # The command words only: option values can hold webhook URLs and passwords.
    words = [a for a in sys.argv[1:3] if not a.startswith("-")]
    header = [
        f"modelhealth {_version()} internal error at {datetime.now(timezone.utc).isoformat()}",
        f"command: modelhealth {' '.join(words)}",
        f"python {platform.python_version()} on {platform.platform()}",
        "",
    ]
    body = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return "\n".join(header) + "".join(body)


def _open_new(folder: Path) -> tuple[int, Path]:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"modelhealth-crash-{stamp}-{os.getpid()}.log"
    # O_EXCL and O_NOFOLLOW: never write through a link someone planted in the folder.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    return os.open(path, flags, 0o644), path


def write_crash_log(exc: BaseException) -> Path | None:
    """The traceback in a new file: in the remembered output folder, else a temp file.
    ``None`` when neither can be written."""
    text = _log_text(exc).encode("utf-8", errors="backslashreplace")
    attempts: list[Callable[[], tuple[int, Path]]] = []
    if _output_folder is not None and _output_folder.is_dir():
        folder = _output_folder
        attempts.append(lambda: _open_new(folder))
    attempts.append(lambda: _temp_file())
    for attempt in attempts:
        try:
            fd, path = attempt()
        except OSError:
            continue
        try:
            os.write(fd, text)
        except OSError:
            continue
        finally:
            os.close(fd)
        return path
    return None


def _temp_file() -> tuple[int, Path]:
    fd, name = tempfile.mkstemp(prefix="modelhealth-crash-", suffix=".log")
    return fd, Path(name)


def _one_line(text: str) -> str:
    """``text`` safe for one line of a terminal: controls and non-ASCII escaped."""
    return json.dumps(text)[1:-1]


def _internal_error(exc: BaseException) -> int:
    path = write_crash_log(exc)
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    what = _one_line(f"{type(exc).__name__}: {first}" if first else type(exc).__name__)
    where = f"traceback in {_one_line(str(path))}" if path else ""
    sys.stderr.write(
        f"error: internal error (exit {EXIT_INTERNAL}), a bug in modelhealth {_version()}; "
        f"please report it with the log: {what}; {where or 'no log could be written'}\n"
    )
    if path is None:
        traceback.print_exception(type(exc), exc, exc.__traceback__)
    sys.stderr.flush()
    return EXIT_INTERNAL


def main() -> None:
    """Import the commands and run them on ``sys.argv``; exit with the right code."""
    try:
        from modelhealth.cli.app import app
        from modelhealth.logs import configure_logging

        configure_logging()
    except Exception as exc:  # a damaged installation is a bug too
        sys.exit(_internal_error(exc))
    try:
        sys.exit(run_app(app))
    finally:
        gc.freeze()  # see the module's docstring: shutdown no longer walks the run's objects


def run_app(app: Callable[..., Any]) -> int:
    """Run the typer ``app`` on ``sys.argv`` and return the process's exit code.

    typer itself prints usage errors (exit 2) and maps ``typer.Exit`` to its code and
    Ctrl-C to 130; the consoles exit 141 on a closed pipe
    (:meth:`~modelhealth.cli.terminal.SafeConsole.on_broken_pipe`). What is left, an
    exception nobody caught, is a bug.
    """
    try:
        app()
    except SystemExit:
        raise
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # every other exception is a bug, by definition
        return _internal_error(exc)
    return 0
