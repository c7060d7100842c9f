"""The failure-mode response matrix: what each failure mode calls for.

Each row maps a failure mode to the ladder rung to recommend (``None``: not a ladder
step, handle it operationally), an immediate mitigation, a long-term fix and the role
that owns the resolution. The shipped rows live in ``ladder/defaults/matrix.yaml``; a
register adds rows for the modes it defines (``failure_modes.extra[].rung``) and
overrides rows per model (``ladder.response_matrix``).

The pseudo-mode ``blind`` (the monitor has no data for the model) has a row too, so a
blind night escalates like a breach with a mitigation people can act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict

from thresholds.schema import ModelEntry, Register
from thresholds.vocabulary import FAILURE_MODES, RUNGS

__all__ = [
    "BLIND",
    "MatrixEntry",
    "default_matrix",
    "effective_matrix",
    "matrix_markdown",
]

#: Row used when a model is ``blind``: no data, so no failure mode can be named.
BLIND: Final = "blind"


class MatrixEntry(BaseModel):
    """One row of the response matrix."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: str
    rung: str | None
    mitigation: str = ""
    long_term_fix: str = ""
    owner: str = "model_owner"
    source: Literal["default", "register", "model"] = "default"

    @property
    def is_ladder_step(self) -> bool:
        """Whether the mode is answered by climbing the ladder (``False``: operational)."""
        return self.rung is not None


@cache
def _shipped() -> tuple[MatrixEntry, ...]:
    text = resources.files("ladder").joinpath("defaults/matrix.yaml").read_text("utf-8")
    raw: Any = yaml.safe_load(text)
    if not isinstance(raw, dict):
        raise ValueError("ladder/defaults/matrix.yaml must be a mapping of mode -> row")
    missing = set(FAILURE_MODES) - set(raw)
    if missing:
        raise ValueError(f"ladder/defaults/matrix.yaml has no row for {sorted(missing)}")
    rows = tuple(MatrixEntry(mode=mode, **row) for mode, row in raw.items())
    for row in rows:
        if row.rung is not None and row.rung not in RUNGS:
            raise ValueError(f"matrix row {row.mode!r} names unknown rung {row.rung!r}")
    return rows


def default_matrix() -> dict[str, MatrixEntry]:
    """The shipped rows, keyed by mode, in file order."""
    return {row.mode: row for row in _shipped()}


def effective_matrix(
    entry: ModelEntry | None = None, register: Register | None = None
) -> dict[str, MatrixEntry]:
    """The matrix in force for a model: shipped rows, then the register's added modes,
    then the model's per-row overrides (fields left unset keep the row below)."""
    matrix = default_matrix()
    if register is not None:
        for extra in register.failure_modes.extra:
            matrix[extra.id] = MatrixEntry(
                mode=extra.id,
                rung=extra.rung,
                mitigation="",
                long_term_fix=extra.description,
                owner="model_owner",
                source="register",
            )
    if entry is not None:
        for mode, override in entry.ladder.response_matrix.items():
            base = matrix.get(mode, MatrixEntry(mode=mode, rung=None, source="model"))
            changes = {
                name: value for name, value in override.model_dump().items() if value is not None
            }
            matrix[mode] = base.model_copy(update={**changes, "source": "model"})
    return matrix


def _cell(text: str) -> str:
    # A pipe would end the Markdown cell early; a newline would end the row.
    return text.replace("|", "\\|").replace("\n", " ")


def matrix_markdown(matrix: Mapping[str, MatrixEntry], *, title: str | None = None) -> str:
    """The matrix as a GitHub-flavoured Markdown table (for READMEs and runbooks)."""
    lines = []
    if title:
        lines += [f"### {_cell(title)}", ""]
    lines += [
        "| Failure mode | Ladder rung | Immediate mitigation | Long-term fix | Owner |",
        "|---|---|---|---|---|",
    ]
    for row in matrix.values():
        rung = f"`{row.rung}`" if row.rung else "not a ladder step"
        mode = f"`{row.mode}`" + ("" if row.source == "default" else f" ({row.source})")
        lines.append(
            f"| {mode} | {rung} | {_cell(row.mitigation)} | {_cell(row.long_term_fix)} "
            f"| {_cell(row.owner)} |"
        )
    return "\n".join(lines) + "\n"
