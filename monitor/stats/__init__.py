"""Statistics: mergeable summaries of prediction logs, and the numbers computed from them.

Pure functions and values, no I/O, and nothing from :mod:`monitor.ingest` (chunks come
in through :mod:`monitor.chunk`):

* :mod:`.aggregates` — per-model, per-window summaries with ``update``/``merge``;
* :mod:`.sketch`, :mod:`.calibration`, :mod:`.distribution` — the latency quantile
  sketch, reliability tables (ECE, MCE, Brier), confidence histograms (KS, PSI);
* :mod:`.intervals` — Wilson, mean, quantile, Poisson and ECE intervals;
* :mod:`.significance`, :mod:`.control_charts` — one-sided p-values, Benjamini–Hochberg,
  EWMA and CUSUM;
* :mod:`.metrics` — a window's summaries turned into the report's metrics.
"""

from monitor.stats.aggregates import ModelAggregate, WindowAggregate
from monitor.stats.metrics import finalize_metrics

__all__ = ["ModelAggregate", "WindowAggregate", "finalize_metrics"]
