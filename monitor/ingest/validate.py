"""The log contract, row by row: which rows break it, and the first reason each fails.

A row is quarantined with the *first* reason of :data:`QUARANTINE_REASONS` it fails, so
the reason a user reads is the most basic problem of the row. ``error_not_boolean``
ranks after ``latency_negative``; text that is not a number in ``quality_score`` is
``quality_score_out_of_range`` (an empty cell is "not graded"); an empty
``prediction_id`` counts as missing. An unreadable ``correct`` or ``format_valid`` is
null, not a reason.

An **errored** row (``error`` true) is valid without ``confidence`` and ``latency_ms``:
a timed-out or crashed request has neither, and it must count in the error rate rather
than be refused. "Without" means null or NaN (what pandas writes for a missing float);
text that is not a number, infinity and values out of range are refused on every row.
A row that is not an error (``error`` false, null or absent) must carry both:
``confidence_missing`` / ``latency_missing`` when it does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.chunk import U8, Bool, Idx
from monitor.ingest.batch import BatchColumns
from thresholds.schema import ColumnMapping

__all__ = [
    "QUARANTINE_REASONS",
    "REASON_FIELD",
    "UNATTRIBUTED",
    "RowChecks",
    "attribution_reasons",
    "check_rows",
    "reason_names",
]


#: Quarantine reasons, in priority order: a row gets the first one it fails.
QUARANTINE_REASONS: tuple[str, ...] = (
    "missing_prediction_id",
    "missing_model_id",
    "unknown_model",
    "bad_timestamp",
    "confidence_missing",
    "confidence_not_a_number",
    "confidence_out_of_range",
    "latency_missing",
    "latency_not_a_number",
    "latency_negative",
    "error_not_boolean",
    "quality_score_out_of_range",
    "malformed_line",
    # Refused whole, before the row's model is known (readers, monitor.ingest.text).
    "line_too_long",
    "duplicate_key",
    "invalid_text",
)
_CODE = {reason: code for code, reason in enumerate(QUARANTINE_REASONS, start=1)}

#: The contract field whose cell a reason is about (the example the console shows);
#: ``None`` when the reason is about the line as a whole.
REASON_FIELD: dict[str, str | None] = {
    "missing_prediction_id": "prediction_id",
    "missing_model_id": "model_id",
    "unknown_model": "model_id",
    "bad_timestamp": "timestamp",
    "confidence_missing": "confidence",
    "confidence_not_a_number": "confidence",
    "confidence_out_of_range": "confidence",
    "latency_missing": "latency_ms",
    "latency_not_a_number": "latency_ms",
    "latency_negative": "latency_ms",
    "error_not_boolean": "error",
    "quality_score_out_of_range": "quality_score",
    "malformed_line": None,
    "line_too_long": None,
    "duplicate_key": None,
    "invalid_text": None,
}

#: Key of ``quarantined_by_model`` for rows that belong to no registered model.
UNATTRIBUTED = "(unattributed)"


def reason_names(codes: U8) -> list[str]:
    """Reason codes (1-based positions in :data:`QUARANTINE_REASONS`) as names."""
    return [QUARANTINE_REASONS[c - 1] for c in codes.tolist()]


@dataclass(frozen=True)
class RowChecks:
    """The contract checked on some rows of a batch.

    ``valid`` holds, per row, whether it keeps the contract; ``bad`` the positions of
    those that do not, and ``codes`` each one's first failing reason.
    """

    valid: Bool
    bad: Idx
    codes: U8


def check_rows(columns: BatchColumns, mapping: ColumnMapping, rows: Idx | None) -> RowChecks:
    """Check the contract on ``rows`` of the batch (``None`` = every row), read through
    one model group's ``mapping``."""

    def pick(values: Any) -> Any:
        return values if rows is None else values[rows]

    missing_id = pick(columns.missing_text(mapping.prediction_id))
    ts_ok = pick(columns.timestamps(mapping.timestamp)[1])
    confidence, confidence_unreadable = (pick(a) for a in columns.floats(mapping.confidence))
    latency, latency_unreadable = (pick(a) for a in columns.floats(mapping.latency_ms))
    errored: Bool | None = None
    error_bad = quality_bad = None
    if columns.has(mapping.error):
        error_values, error_unreadable = columns.booleans(mapping.error)
        errored, error_bad = pick(error_values) == 1, pick(error_unreadable)
    # Null or NaN: what an errored row may be without (see the module docstring).
    confidence_missing = np.isnan(confidence) & ~confidence_unreadable
    latency_missing = np.isnan(latency) & ~latency_unreadable
    if errored is not None:
        confidence_missing &= ~errored
        latency_missing &= ~errored
        excused = errored
    else:
        excused = np.zeros(len(confidence), bool)
    with np.errstate(invalid="ignore"):
        confidence_ok = (confidence >= 0.0) & (confidence <= 1.0)
        confidence_ok |= excused & np.isnan(confidence) & ~confidence_unreadable
        latency_ok = (latency >= 0.0) & (latency < np.inf)
        latency_ok |= excused & np.isnan(latency) & ~latency_unreadable
        valid = confidence_ok & latency_ok
        valid &= ts_ok
        valid &= ~missing_id
        if error_bad is not None:
            valid &= ~error_bad
        if columns.has(mapping.quality_score):
            quality, unreadable = columns.floats(mapping.quality_score)
            quality, quality_bad = pick(quality), pick(unreadable)
            quality_bad = quality_bad | (quality < 0.0) | (quality > 1.0)
            valid &= ~quality_bad
    bad = np.flatnonzero(~valid)
    codes = np.zeros(len(bad), np.uint8)
    if len(bad):
        # Assigned lowest priority first, so the first failing reason wins.
        with np.errstate(invalid="ignore"):
            checks = (
                ("quality_score_out_of_range", None if quality_bad is None else quality_bad[bad]),
                ("error_not_boolean", None if error_bad is None else error_bad[bad]),
                ("latency_negative", latency[bad] < 0),
                ("latency_not_a_number", ~latency_ok[bad] & ~np.isfinite(latency[bad])),
                ("latency_missing", latency_missing[bad]),
                ("confidence_out_of_range", (confidence[bad] < 0) | (confidence[bad] > 1)),
                (
                    "confidence_not_a_number",
                    ~confidence_ok[bad] & ~np.isfinite(confidence[bad]),
                ),
                ("confidence_missing", confidence_missing[bad]),
                ("bad_timestamp", ~ts_ok[bad]),
                ("missing_prediction_id", missing_id[bad]),
            )
        for name, failed in checks:
            if failed is not None:
                codes[failed] = _CODE[name]
    return RowChecks(valid, bad, codes)


def attribution_reasons(no_model_id: Bool, missing_prediction_id: Bool) -> list[str]:
    """Reasons of rows that belong to no registered model: a missing prediction id
    first, then a missing model id, else an unknown one."""
    code = np.where(no_model_id, _CODE["missing_model_id"], _CODE["unknown_model"])
    code[missing_prediction_id] = _CODE["missing_prediction_id"]
    return reason_names(code.astype(np.uint8))
