"""The real components some tests need (Chromium, Dask): a missing one fails the suite.

Set ``MODELHEALTH_ALLOW_SKIP=1`` to skip those tests instead, on a machine where a
component cannot be installed; ``make test`` and CI never set it.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest

__all__ = ["ALLOW_SKIP", "import_component", "missing_component", "skip_allowed"]

#: The opt-out: tests that need a missing component skip instead of failing.
ALLOW_SKIP = "MODELHEALTH_ALLOW_SKIP"


def skip_allowed() -> bool:
    """Whether the caller explicitly allowed skipping (``MODELHEALTH_ALLOW_SKIP=1``)."""
    return os.environ.get(ALLOW_SKIP, "").lower() in ("1", "true", "yes")


def missing_component(what: str, install: str, *, module_level: bool = False) -> NoReturn:
    """Fail (or, with the opt-out, skip) because ``what`` is not installed."""
    if skip_allowed():
        pytest.skip(
            f"{what} is not installed ({ALLOW_SKIP} is set)", allow_module_level=module_level
        )
    pytest.fail(
        f"{what} is not installed: {install}. The suite needs it; set {ALLOW_SKIP}=1 to skip "
        "these tests instead.",
        pytrace=False,
    )


def import_component(module: str, install: str) -> ModuleType:
    """Import ``module`` for a test module, failing its collection when it is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        missing_component(module, install, module_level=True)
