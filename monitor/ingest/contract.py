"""The prediction-log contract as data: its columns, and the JSON Schema of one row.

``docs/log-contract.md`` explains the contract to people and ``modelhealth schema logs``
prints :func:`log_row_json_schema`; both are built from :data:`CONTRACT_COLUMNS` (and the
quarantine reasons from :data:`~monitor.ingest.validate.QUARANTINE_REASONS`), and the
tests check that the documentation names every column and every reason, so neither can
drift from what ingest does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from monitor.ingest.coerce import EPOCH_MS_MAX, EPOCH_MS_MIN
from monitor.ingest.plan import OPTIONAL, REQUIRED
from monitor.ingest.validate import QUARANTINE_REASONS

__all__ = ["CONTRACT_COLUMNS", "ContractColumn", "log_row_json_schema"]


@dataclass(frozen=True)
class ContractColumn:
    """One column of the log contract."""

    name: str
    kind: str
    required: bool
    nulls: str
    meaning: str
    schema: dict[str, Any]


_TEXT = {"type": "string", "minLength": 1}
_SHARE = {"type": "number", "minimum": 0, "maximum": 1}
_BOOLEAN_TEXT = ["true", "false", "t", "f", "yes", "no", "y", "n", "1", "0", "1.0", "0.0"]
_BOOLEAN = {
    "anyOf": [
        {"type": "boolean"},
        {"type": "integer", "enum": [0, 1]},
        {"type": "string", "pattern": "(?i)^\\s*(" + "|".join(_BOOLEAN_TEXT) + ")\\s*$"},
    ]
}
_TIMESTAMP = {
    "anyOf": [
        {
            "type": "string",
            "pattern": "^\\s*\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}(:\\d{2}(:\\d{2}(\\.\\d{1,9})?)?)?"
            "(Z|[+-]\\d{2}(:?\\d{2})?)?)?\\s*$",
            "description": "ISO 8601; with Z or an offset, or naive (ingest.timezone, else UTC)",
        },
        {
            "type": "integer",
            "minimum": EPOCH_MS_MIN,
            "exclusiveMaximum": EPOCH_MS_MAX,
            "description": "epoch milliseconds, 2000-01-01 .. 2100-01-01",
        },
    ]
}

CONTRACT_COLUMNS: tuple[ContractColumn, ...] = (
    ContractColumn(
        "prediction_id",
        "string",
        True,
        "never (empty counts as missing)",
        "Unique id of the prediction; a repeated id of the same model is dropped and counted.",
        _TEXT,
    ),
    ContractColumn(
        "model_id",
        "string",
        True,
        "never",
        "The model that produced it: a model id of the register.",
        _TEXT,
    ),
    ContractColumn(
        "timestamp",
        "datetime",
        True,
        "never",
        "When it was served: ISO 8601 with Z or an offset; naive times are read in the "
        "model's ingest.timezone, else taken as UTC and counted; or epoch milliseconds.",
        _TIMESTAMP,
    ),
    ContractColumn(
        "confidence",
        "float in [0, 1]",
        True,
        "only on rows with error = true",
        "The model's confidence in its output (top-label probability, or a score mapped "
        "to [0, 1]).",
        {"anyOf": [_SHARE, {"type": "null"}]},
    ),
    ContractColumn(
        "latency_ms",
        "float >= 0",
        True,
        "only on rows with error = true",
        "End-to-end latency in milliseconds (ingest.latency_unit converts s or us).",
        {"anyOf": [{"type": "number", "minimum": 0}, {"type": "null"}]},
    ),
    ContractColumn(
        "output_type",
        "string",
        False,
        "allowed",
        "Kind of output, e.g. answer, json, summary, label: error rates are also "
        "reported per type.",
        {"type": ["string", "null"]},
    ),
    ContractColumn(
        "correct",
        "boolean",
        False,
        "allowed (= unlabeled)",
        "Judged outcome (ground truth, a reviewer, an evaluator). Unreadable text is null.",
        {"anyOf": [_BOOLEAN, {"type": "null"}]},
    ),
    ContractColumn(
        "quality_score",
        "float in [0, 1]",
        False,
        "allowed (= not graded)",
        "Graded quality from an evaluator (the quality metric when the register says "
        "metric: quality_score).",
        {"anyOf": [_SHARE, {"type": "null"}]},
    ),
    ContractColumn(
        "error",
        "boolean",
        False,
        "allowed (= no error)",
        "Hard failure: exception, timeout, refusal, unparseable output. An errored row "
        "may leave confidence, latency_ms, correct and quality_score null; it counts in "
        "the error rate and throughput (ingest.error_from_status derives it from a "
        "status column).",
        {"anyOf": [_BOOLEAN, {"type": "null"}]},
    ),
    ContractColumn(
        "failure_mode",
        "string",
        False,
        "allowed",
        "Annotation from reviewers or evaluators: a taxonomy id, or free text the "
        "register maps (failure_modes.annotations).",
        {"type": ["string", "null"]},
    ),
    ContractColumn(
        "format_valid",
        "boolean",
        False,
        "allowed (= not checked)",
        "Whether the output passed its schema or format check.",
        {"anyOf": [_BOOLEAN, {"type": "null"}]},
    ),
    ContractColumn(
        "segment",
        "string",
        False,
        "allowed",
        "Domain, tenant or intent, for slicing (errors concentrated in one segment are "
        "a failure-mode signal).",
        {"type": ["string", "null"]},
    ),
    ContractColumn(
        "prediction",
        "string",
        False,
        "allowed",
        "The predicted label of a classifier; with label, judges correct where it is null "
        "(every row with ingest.correct_from_prediction).",
        {"type": ["string", "number", "boolean", "null"]},
    ),
    ContractColumn(
        "label",
        "string",
        False,
        "allowed (= unlabeled)",
        "The true label, compared with prediction as text.",
        {"type": ["string", "number", "boolean", "null"]},
    ),
    ContractColumn(
        "followup",
        "boolean",
        False,
        "allowed (= not known)",
        "True when a case came back after it was handled (the user followed up, the ticket "
        "was re-escalated): its share is the re-escalation rate, judged against "
        "confidence.reescalation_rate.max.",
        {"anyOf": [_BOOLEAN, {"type": "null"}]},
    ),
)

assert tuple(c.name for c in CONTRACT_COLUMNS) == (*REQUIRED, *OPTIONAL), "contract drifted"


def log_row_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one prediction-log row, in contract names.

    A row of JSON Lines that validates has no quarantine reason. Columns named
    ``feature.<name>`` are drift inputs; other columns are allowed and ignored.
    """
    properties = {c.name: {**c.schema, "description": c.meaning} for c in CONTRACT_COLUMNS}
    required = [c.name for c in CONTRACT_COLUMNS if c.required]
    always = [name for name in required if name not in ("confidence", "latency_ms")]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://modelhealth.dev/schemas/log-row.json",
        "title": "modelhealth prediction-log row",
        "description": (
            "One prediction as modelhealth reads it (contract names; the register's "
            "columns: section maps other names). A row that breaks the contract is "
            "quarantined with the first of these reasons it fails: "
            + ", ".join(QUARANTINE_REASONS)
            + ". See docs/log-contract.md."
        ),
        "type": "object",
        "properties": properties,
        "patternProperties": {"^feature\\.": {"description": "a drift input"}},
        "required": always,
        # confidence and latency_ms may be null (or absent) only on errored rows.
        "if": {
            "properties": {
                "error": {"enum": [True, 1, "true", "True", "TRUE", "t", "yes", "y", "1", "1.0"]}
            },
            "required": ["error"],
        },
        "else": {
            "required": ["confidence", "latency_ms"],
            "properties": {
                "confidence": _SHARE,
                "latency_ms": {"type": "number", "minimum": 0},
            },
        },
        "additionalProperties": True,
    }
