"""One Jinja2 environment for the process records' HTML pages: self-contained (inline
CSS, no script, a Content-Security-Policy that forbids loading anything), autoescaped."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from modelhealth.outputs.records.text import hours, when

__all__ = ["render_page"]


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("modelhealth.outputs.records", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(when=when, hours=hours)
    return env


def render_page(template: str, **values: Any) -> str:
    """Render one of the records' templates."""
    return _environment().get_template(template).render(**values)
