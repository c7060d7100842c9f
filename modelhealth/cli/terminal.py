"""Consoles that never let text from logs or registers drive the terminal.

Model ids, column names, file names, people and reasons come from files other people
write. A value such as ``"bot\\x1b]0;pwned\\x07"`` printed verbatim retitles the window,
``"\\x1b[2J"`` clears the screen, and a carriage return overwrites what was printed
before it. rich strips only BEL, BS, VT, FF and CR from plain text, not ESC, so every
console of the CLI is a :class:`SafeConsole`: each string it turns into text (print
arguments, table cells, titles) has its control characters made visible as ``\\x1b``
first. Newlines and tabs are kept: they are how the CLI itself lays out text.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from rich.console import Console
from rich.text import Text

from modelhealth.cli.crash import EXIT_PIPE_CLOSED

__all__ = ["SafeConsole", "printable", "write_stdout"]

# C0 controls but tab and newline, DEL, and the C1 controls (0x9b is a one-byte CSI).
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROLS_AND_BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def printable(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` with terminal control characters shown as ``\\xNN`` escapes.

    With ``keep_newlines=False`` newlines and tabs are escaped too: for one-line
    messages, where a newline in a value would forge a line of its own.
    """
    pattern = _CONTROLS if keep_newlines else _CONTROLS_AND_BREAKS
    return pattern.sub(_escape, text) if pattern.search(text) else text


def _pipe_closed() -> SystemExit:
    # Whoever read our output is gone: say nothing more, and exit 141 (as a shell reports
    # a process ended by SIGPIPE), never 1, which would read as a finding.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return SystemExit(EXIT_PIPE_CLOSED)


class SafeConsole(Console):
    """A rich :class:`~rich.console.Console` whose strings cannot carry control codes."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(printable(text), **kwargs)

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise _pipe_closed()


def write_stdout(text: str) -> None:
    """A document (Markdown, JSON) on stdout, its control characters escaped; exit 141
    when the reader has gone."""
    try:
        sys.stdout.write(printable(text))
        sys.stdout.flush()
    except BrokenPipeError:
        raise _pipe_closed() from None
