"""Engines: how the chunks of a night's logs are scheduled into mergeable summaries.

:mod:`.base` states the contract (:class:`~monitor.engines.base.Engine`: paths in, one
merged :class:`~monitor.stats.aggregates.ModelAggregate` per registered model out) and
the folds both engines use; :mod:`.local` runs it in one process, :mod:`.dask` one task
per log partition on a Dask cluster (:mod:`.partitions`, :mod:`.staging`). The Dask
engine is imported on demand: it needs the ``dask`` extra.
"""

from monitor.engines.base import Engine
from monitor.engines.local import LocalEngine

__all__ = ["Engine", "LocalEngine"]
