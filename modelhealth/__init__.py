"""modelhealth: nightly model health checks driving an accountable escalation ladder.

The packages: :mod:`thresholds` (the register), :mod:`monitor` (ingest, metrics,
reports), :mod:`ladder` (escalation decisions); this package is only the CLI that
composes them.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
