"""Evidently 0.7 run directly on two full windows: the oracle the drift tests compare with.

Every row of both windows goes to Evidently (no sample), one ``ValueDrift`` per column,
as :mod:`monitor.drift_evidently` runs it; float columns are declared numerical, every
other column categorical.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["Columns", "evidently_drift"]

Columns = dict[str, np.ndarray]


def evidently_drift(
    current: Columns, reference: Columns, *, p_value: float | None = None
) -> dict[str, tuple[str, float, bool, float]]:
    """Evidently's ValueDrift per column on the full windows: method, score, drift, threshold.

    Float columns are declared numerical, the others categorical. ``p_value`` sets the
    threshold of every column (only for data where every column gets a test).
    """
    with warnings.catch_warnings():
        # Evidently's import and its chi-square on a category the reference lacks
        # (scipy divides by a zero expected count) warn; neither is ours
        warnings.simplefilter("ignore")
        from evidently import DataDefinition, Dataset, Report
        from evidently.metrics import ValueDrift

        numeric = [name for name, values in current.items() if values.dtype.kind == "f"]
        definition = DataDefinition(
            numerical_columns=numeric,
            categorical_columns=[name for name in current if name not in numeric],
        )
        report = Report(
            [ValueDrift(column=name, threshold=p_value) for name in current], include_tests=True
        )
        snapshot = report.run(
            Dataset.from_pandas(pd.DataFrame(current), data_definition=definition),
            Dataset.from_pandas(pd.DataFrame(reference), data_definition=definition),
        )
        data = snapshot.dict()
    failed = {
        test["metric_config"]["metric_id"]: str(test["status"]).upper().endswith("FAIL")
        for test in data["tests"]
    }
    return {
        m["config"]["column"]: (
            m["config"]["method"],
            float(m["value"]),
            failed[m["id"]],
            float(m["config"]["threshold"]),
        )
        for m in data["metrics"]
    }
