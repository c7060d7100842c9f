"""monitor: the nightly health check of production models, pure of presentation.

Logs flow through :mod:`monitor.ingest` (validated, quarantined, deduplicated chunks)
and an engine (:mod:`monitor.engines`) into mergeable summaries (:mod:`monitor.stats`);
:mod:`monitor.judge` decides every check of the night, :mod:`monitor.failure_modes`
names what is failing, and :func:`run_check` assembles the frozen :class:`Report`
(``report.json``). ``docs/architecture.md`` draws the picture.

The public names are listed in ``__all__``; they are imported on first use, so
``import monitor.report`` stays light for the ladder and the CLI::

    from monitor import CheckOptions, run_check
    report = run_check(load_register("register.yaml"), CheckOptions(...))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.check import CheckOptions, Decide, LadderOutcome, run_check
    from monitor.engines import Engine, LocalEngine
    from monitor.engines.dask import DaskEngine
    from monitor.errors import InputError, MonitorError
    from monitor.report import Report

__all__ = [
    "CheckOptions",
    "DaskEngine",
    "Decide",
    "Engine",
    "InputError",
    "LadderOutcome",
    "LocalEngine",
    "MonitorError",
    "Report",
    "run_check",
]

_HOMES = {
    "CheckOptions": "monitor.check",
    "Decide": "monitor.check",
    "LadderOutcome": "monitor.check",
    "run_check": "monitor.check",
    "Engine": "monitor.engines",
    "LocalEngine": "monitor.engines",
    "DaskEngine": "monitor.engines.dask",  # needs the dask extra
    "InputError": "monitor.errors",
    "MonitorError": "monitor.errors",
    "Report": "monitor.report",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'monitor' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
