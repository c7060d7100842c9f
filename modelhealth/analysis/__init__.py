"""What the analyst notebooks load: a model's windows, nights and slices as pandas frames
(:mod:`.explore`, :mod:`.frames`), and its ladder history from the state store
(:mod:`.history`). Every number is computed by the same code as the nightly check."""

from modelhealth.analysis.explore import (
    MISSING_SLICE,
    calibration_by_slice,
    feature_drift_by_night,
    nightly_metrics,
    nights_between,
    slice_aggregates,
    summarize_window,
    window_drift,
    window_metrics,
)
from modelhealth.analysis.frames import (
    confidence_distribution,
    drift_frame,
    most_drifted_feature,
    reliability_frame,
    sample_frame,
)
from modelhealth.analysis.history import (
    committed_steps,
    escalation_timeline,
    model_audit_entries,
    night_history,
    spend_against_budget,
    stats_frame,
    weekly_frame,
)

__all__ = [
    "MISSING_SLICE",
    "calibration_by_slice",
    "committed_steps",
    "confidence_distribution",
    "drift_frame",
    "escalation_timeline",
    "feature_drift_by_night",
    "model_audit_entries",
    "most_drifted_feature",
    "night_history",
    "nightly_metrics",
    "nights_between",
    "reliability_frame",
    "sample_frame",
    "slice_aggregates",
    "spend_against_budget",
    "stats_frame",
    "summarize_window",
    "weekly_frame",
    "window_drift",
    "window_metrics",
]
