"""The fixed vocabulary shared by every layer: rung ids, failure-mode ids, statuses.

These live in the lowest layer because the register must validate them and
`monitor` and `ladder` must agree on them.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = [
    "FAILURE_MODES",
    "OPERATIONAL_MODES",
    "RUNGS",
    "STATUSES",
    "STATUS_ORDER",
    "TRIGGER_NAMES",
    "RungId",
    "Status",
]

RungId = Literal[
    "prompt_optimization",
    "retrieval_augmentation",
    "few_shot_enrichment",
    "fine_tuning",
    "hybrid_routing",
    "full_replacement",
]

#: Escalation ladder rungs, cheapest and least invasive first.
RUNGS: Final[tuple[str, ...]] = (
    "prompt_optimization",
    "retrieval_augmentation",
    "few_shot_enrichment",
    "fine_tuning",
    "hybrid_routing",
    "full_replacement",
)

#: Built-in failure-mode taxonomy. Registers may add modes of their own.
FAILURE_MODES: Final[tuple[str, ...]] = (
    "factual_error",
    "hallucination",
    "format_violation",
    "domain_misapplication",
    "confidence_miscalibration",
    "latency_regression",
    "availability",
)

#: Modes that describe the service rather than the model's answers.
OPERATIONAL_MODES: Final[frozenset[str]] = frozenset({"latency_regression", "availability"})

Status = Literal["healthy", "warning", "breach", "insufficient_data", "blind"]
STATUSES: Final[tuple[str, ...]] = ("healthy", "warning", "breach", "insufficient_data", "blind")

#: How bad a status is, for "worst of" and for `--fail-on`. `blind` ranks with
#: `breach`: a monitor that cannot see must never look healthier than one that can.
STATUS_ORDER: Final[dict[str, int]] = {
    "healthy": 0,
    "insufficient_data": 1,
    "warning": 2,
    "breach": 3,
    "blind": 3,
}

#: Names of the checks that can fire, as used by `co_fire` rules and in breaches.
#: Per-output-type error ceilings are named `error_rate.<output_type>`.
TRIGGER_NAMES: Final[tuple[str, ...]] = (
    "quality",
    "error_rate",
    "latency_ms.p50",
    "latency_ms.p95",
    "latency_ms.p99",
    "throughput",
    "confidence.share_below",
    "confidence.escalation_rate",
    "confidence.reescalation_rate",
    "labels.coverage",
    "quality.estimated",
    "calibration.ece",
    "calibration.drift",
    "drift.features",
    "drift.prediction",
    "drift.confidence",
    "blind",
)
