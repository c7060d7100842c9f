"""Errors raised by the register layer.

Hierarchy::

    RegisterError            a register could not be used; carries every Problem found
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "RegisterError"]


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a register: where it is and why it is wrong.

    ``line`` is 1-based; 0 means the file as a whole (missing, too large, not UTF-8).
    """

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.field}: {self.reason}"


class RegisterError(Exception):
    """A register failed to load; ``problems`` lists all that is wrong, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems), key=lambda p: (p.file, p.line, p.field, p.reason))
        count = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{count} problem{'s' if count != 1 else ''} in the register:\n{lines}")
