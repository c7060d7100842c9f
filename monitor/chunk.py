"""What ingest hands to the summaries: clean rows of one model, and the model's windows.

These types are the contract between :mod:`monitor.ingest` (which produces chunks) and
:mod:`monitor.stats` (which summarises them); they live here so that neither package
imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Categorical", "ModelChunk", "WindowBounds"]

# Array types of chunk columns, shared by the modules that build them.
Bool = npt.NDArray[np.bool_]
I8 = npt.NDArray[np.int8]
I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]
U8 = npt.NDArray[np.uint8]
U64 = npt.NDArray[np.uint64]
F64 = npt.NDArray[np.float64]
Idx = npt.NDArray[np.intp]


@dataclass(frozen=True)
class WindowBounds:
    """A model's windows, in UTC nanoseconds since the epoch.

    The reference window is ``[reference_start, current_start)`` and the current window
    ``[current_start, current_end)``.
    """

    reference_start: int
    current_start: int
    current_end: int

    def __post_init__(self) -> None:
        if not self.reference_start <= self.current_start <= self.current_end:
            raise ValueError(
                "window bounds must satisfy reference_start <= current_start <= current_end"
            )


@dataclass
class Categorical:
    """Text dictionary-encoded within one chunk: ``categories[codes[i]]``, ``-1`` = null.

    Categories are unique and each is used by at least one row of the chunk.
    """

    codes: I32
    categories: list[str]

    def __len__(self) -> int:
        return len(self.codes)

    def to_list(self) -> list[str | None]:
        """The values as Python strings, ``None`` for nulls."""
        names = [*self.categories, None]
        return [names[c] for c in self.codes.tolist()]


@dataclass
class ModelChunk:
    """Clean, validated rows of one model from one record batch.

    Optional fields are ``None`` when the log has no such column for this model.
    """

    model_id: str
    #: Hash of prediction_id (monitor.ingest.dedup.hash_ids), what the drift sample is
    #: drawn by; None when no model of the night measures drift.
    id_hash: U64 | None
    timestamp_ns: I64  # UTC nanoseconds since the epoch
    confidence: F64  # in [0, 1]; NaN only on errored rows (they may lack one)
    latency_ms: F64  # finite, >= 0; NaN only on errored rows
    error: Bool | None  # null in the log = no error
    correct: I8 | None  # 1, 0, -1 = unlabeled
    quality_score: F64 | None  # NaN = not graded
    output_type: Categorical | None
    failure_mode: Categorical | None  # annotations as logged
    format_valid: I8 | None  # 1, 0, -1 = null
    segment: Categorical | None
    prediction: Categorical | None  # classic classifiers: predicted label as text
    # Keyed without the prefix: float64 for numeric columns; text as a Categorical (read
    # from a dictionary-encoded column) or an object array of str (None = null).
    features: dict[str, npt.NDArray[Any] | Categorical] = field(default_factory=dict)
    followup: I8 | None = None  # re-escalation marker: 1, 0, -1 = null

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.timestamp_ns)

    def select(self, mask: Bool) -> ModelChunk:
        """The rows where ``mask`` is true, as a chunk of their own."""

        def take(value: Any) -> Any:
            if value is None:
                return None
            if isinstance(value, Categorical):
                return Categorical(value.codes[mask], value.categories)
            return value[mask]

        return ModelChunk(
            model_id=self.model_id,
            id_hash=take(self.id_hash),
            timestamp_ns=self.timestamp_ns[mask],
            confidence=self.confidence[mask],
            latency_ms=self.latency_ms[mask],
            error=take(self.error),
            correct=take(self.correct),
            quality_score=take(self.quality_score),
            output_type=take(self.output_type),
            failure_mode=take(self.failure_mode),
            format_valid=take(self.format_valid),
            segment=take(self.segment),
            prediction=take(self.prediction),
            features={name: take(values) for name, values in self.features.items()},
            followup=take(self.followup),
        )
