"""modelhealth: nightly model health checks driving an accountable escalation ladder.

The packages: :mod:`thresholds` (the register), :mod:`monitor` (ingest, metrics,
judgement, report.json), :mod:`ladder` (escalation decisions); this package is the
shell that composes them: the command line (:mod:`modelhealth.cli`), the nightly job
(:mod:`modelhealth.nightly`), the outputs (:mod:`modelhealth.outputs`), the demo and
what the notebooks load (:mod:`modelhealth.analysis`).

For Airflow tasks and notebooks, :func:`run_check` runs one check from Python::

    from modelhealth import run_check

    report = run_check("register.yaml", "s3://bucket/logs/", as_of="2026-10-20", out="out/")
    if report.status in ("breach", "blind"):
        ...

docs/scheduling.md shows an Airflow DAG that branches on the result.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.engines import Engine
    from monitor.report import Report
    from thresholds.loader import LoadedRegister

__version__ = "0.1.0"
__all__ = ["__version__", "run_check"]

PathLike = str | os.PathLike[str]


def run_check(
    register: PathLike | LoadedRegister,
    logs: PathLike | Sequence[PathLike],
    *,
    as_of: date | str | None = None,
    out: PathLike = "out",
    labels: PathLike | None = None,
    drift: bool = True,
    now: datetime | None = None,
    engine: str | Engine = "local",
    scheduler: str | None = None,
) -> Report:
    """Check every model of ``register`` on ``logs`` for one night, as ``modelhealth check
    --no-ladder`` does, and return the report.

    Parameters
    ----------
    register
        The threshold register: a YAML path (loaded and validated) or a loaded register.
    logs
        Prediction logs: Parquet files or folders, CSV or JSON Lines; one or several;
        local paths or fsspec URLs (``s3://``, ``gs://``, ``abfs://``, ``file://``; the
        cloud's fsspec backend installed, credentials as its SDK finds them).
    as_of
        The night to check (a date or ``YYYY-MM-DD``, UTC). Default: the day before
        ``now``.
    out
        Folder for ``report.json``, ``report.html``, ``quarantine.parquet`` and the drift
        pages; created if missing. Files are replaced atomically.
    labels
        Late-arriving labels joined by ``prediction_id``.
    drift
        Measure data and prediction drift over every row (Evidently's default methods
        and thresholds), with Evidently's drill-down page for the models that drifted.
    now
        The clock (aware; naive means UTC), for ``generated_at`` and the default night.
        Default: the current time.
    engine
        ``"local"`` (one process), ``"dask"`` (a ``distributed.LocalCluster`` started for
        the run, or the cluster at ``scheduler``), or an engine object
        (:class:`monitor.engines.Engine`).
    scheduler
        Address of a running Dask scheduler, with ``engine="dask"``.

    Returns
    -------
    monitor.report.Report
        The report written to ``out/report.json``. The ladder is not consulted (no state
        store, no recommendations), nothing is logged to MLflow and nobody is notified:
        that is the nightly job (``modelhealth check``).

    Raises
    ------
    thresholds.errors.RegisterError
        The register is invalid; ``.problems`` lists every problem with file and line.
    monitor.errors.InputError
        A log or the labels file cannot be used (missing columns, unreadable).
    """
    from modelhealth.outputs.html import render_html
    from monitor.check import CheckOptions
    from monitor.check import run_check as check
    from monitor.windows import default_as_of
    from thresholds.loader import LoadedRegister, load_register

    loaded = register if isinstance(register, LoadedRegister) else load_register(Path(register))
    clock = now or datetime.now(timezone.utc)
    if clock.tzinfo is None:
        clock = clock.replace(tzinfo=timezone.utc)
    if as_of is None:
        night = default_as_of(clock)
    elif isinstance(as_of, datetime):
        night = as_of.date()
    else:
        night = as_of if isinstance(as_of, date) else date.fromisoformat(as_of)
    from monitor.ingest.sources import is_url

    named = [logs] if isinstance(logs, (str, os.PathLike)) else list(logs)
    # A URL stays text: Path("s3://bucket/x") would fold the "//".
    paths = [str(p) if is_url(str(p)) else Path(p) for p in named]
    chosen: Engine | None
    if engine == "local":
        chosen = None
    elif engine == "dask":
        from monitor.engines.dask import DaskEngine

        chosen = DaskEngine(scheduler=scheduler)
    elif isinstance(engine, str):
        raise ValueError(f"engine must be 'local', 'dask' or an engine object, not {engine!r}")
    else:
        chosen = engine
    options = CheckOptions(
        logs=paths,
        as_of=night,
        out_dir=Path(out),
        now=clock,
        labels=None if labels is None else Path(labels),
        drift=drift,
    )
    return check(loaded, options, engine=chosen, render=render_html)
