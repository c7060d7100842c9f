"""The threshold register: what each production model is held to, and who signs it.

Load a register with :func:`load_register` (a file) or :func:`parse_register` (text);
both raise :class:`RegisterError` listing every :class:`Problem` at once. Render the
sign-off document with :func:`render_markdown`, the effective settings with
:func:`render_json`, and the file's JSON Schema with :func:`register_json_schema`.
"""

from __future__ import annotations

from thresholds.errors import Problem, RegisterError
from thresholds.loader import LoadedRegister, load_register, parse_register
from thresholds.render import register_json_schema, render_json, render_markdown
from thresholds.schema import ModelEntry, Register, Thresholds
from thresholds.vocabulary import FAILURE_MODES, RUNGS

__all__ = [
    "FAILURE_MODES",
    "RUNGS",
    "LoadedRegister",
    "ModelEntry",
    "Problem",
    "Register",
    "RegisterError",
    "Thresholds",
    "load_register",
    "parse_register",
    "register_json_schema",
    "render_json",
    "render_markdown",
]
