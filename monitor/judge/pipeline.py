"""The night's judgement, as one pure pipeline: evidence in, frozen verdicts out.

For every model: its checks are built (:mod:`.limits`, and with ``signal.enabled``
:mod:`.baseline` and :mod:`.sequential`), each with its raw p-value; all p-values of
the night form one family (:mod:`.fleet`); each model's checks are decided against the
family (:mod:`.decision`); and its verdict — breaches and status — is computed once
(:mod:`.verdict`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from monitor.judge.baseline import baseline_checks
from monitor.judge.decision import DEFAULT_PERSISTENCE, decide_checks
from monitor.judge.fleet import fleet_adjust
from monitor.judge.labels import label_checks, quality_basis
from monitor.judge.limits import limit_checks
from monitor.judge.sequential import NightValue, sequential_checks
from monitor.judge.verdict import ModelVerdict, verdict_of
from monitor.report import Check, DriftSummary, Metrics, SignalSummary
from monitor.stats.aggregates import WindowAggregate
from thresholds.schema import SignalSettings, Thresholds

__all__ = ["ModelEvidence", "NightVerdict", "judge", "judge_night", "rejudge"]


@dataclass(frozen=True)
class ModelEvidence:
    """What one model's judgement rests on.

    Attributes
    ----------
    model_id, thresholds, criticality
        The model and its register entry's thresholds and criticality.
    metrics
        Tonight's metrics (:func:`monitor.stats.metrics.finalize_metrics`).
    current, reference
        The window summaries; without a reference there are no baseline or sequential
        checks.
    drift
        Evidently's drift summary, when computed.
    history
        Past nights' values for the sequential checks, oldest first.
    persistence
        The ladder's persistence rule ``(k, n)``, which sets the support level.
    partial_view
        Part of tonight's logs could not be read.
    labels_due
        When late labels are due (the night's end plus ``labels.max_delay``), while that
        is still ahead; ``None`` once labels are due (or no delay is allowed).
    """

    model_id: str
    thresholds: Thresholds
    criticality: int
    metrics: Metrics
    current: WindowAggregate
    reference: WindowAggregate | None = None
    drift: DriftSummary | None = None
    history: Sequence[NightValue] = ()
    persistence: tuple[int, int] = DEFAULT_PERSISTENCE
    partial_view: bool = False
    labels_due: datetime | None = None


@dataclass(frozen=True)
class NightVerdict:
    """Every model's verdict, and the night's multiple-testing family (``None`` when no
    model's p-values joined one)."""

    models: Mapping[str, ModelVerdict]
    signal: SignalSummary | None


def draft_checks(evidence: ModelEvidence) -> list[Check]:
    """A model's checks with their raw p-values, before the family is corrected (none
    for a model without rows)."""
    if evidence.current.n_rows == 0:
        return []
    t = evidence.thresholds
    checks = list(
        limit_checks(evidence.metrics, evidence.current, t, evidence.criticality, evidence.drift)
    )
    checks += label_checks(
        evidence.metrics,
        evidence.current.n_rows,
        t,
        evidence.criticality,
        labels_due=evidence.labels_due,
    )
    if t.signal.enabled and evidence.reference is not None:
        checks += baseline_checks(evidence.current, evidence.reference, t)
        checks += sequential_checks(evidence.current, evidence.reference, t, evidence.history)
    return checks


def judge_night(
    models: Sequence[ModelEvidence],
    *,
    background_models: int = 0,
    background_p_values: Sequence[float] | npt.NDArray[np.float64] = (),
) -> NightVerdict:
    """Judge every model of the night together.

    Models whose ``thresholds.signal`` is enabled and that have checks form one
    Benjamini–Hochberg family (with ``background_models`` judged elsewhere, whose
    p-values are ``background_p_values``); their checks are decided against it. Checks
    of other models keep the interval rule of :func:`~monitor.judge.limits.limit_check`.
    """
    drafts = {evidence.model_id: draft_checks(evidence) for evidence in models}
    settings = {evidence.model_id: evidence.thresholds.signal for evidence in models}
    judged = {model_id: checks for model_id, checks in drafts.items() if checks}
    fleet = fleet_adjust(
        judged,
        {model_id: settings[model_id] for model_id in judged},
        background_models=background_models,
        background_p_values=background_p_values,
    )
    verdicts: dict[str, ModelVerdict] = {}
    for evidence in models:
        model_id = evidence.model_id
        checks = drafts[model_id]
        if fleet.n_models and model_id in judged and settings[model_id].enabled:
            checks = decide_checks(
                checks,
                fleet.adjusted[model_id],
                level=fleet.level,
                criticality=evidence.criticality,
                n_models=fleet.n_models + fleet.background_models,
                persistence=evidence.persistence,
                settings=settings[model_id],
            )
        coverage = next((c for c in checks if c.threshold == "labels.coverage"), None)
        verdicts[model_id] = verdict_of(
            checks,
            n_rows=evidence.current.n_rows,
            criticality=evidence.criticality,
            partial_view=evidence.partial_view,
            quality_basis=quality_basis(evidence.metrics, coverage, evidence.thresholds)
            if evidence.current.n_rows
            else None,
        )
    signal = None
    if fleet.n_models:
        signal = SignalSummary(
            level=fleet.level,
            family_size=fleet.family_size,
            n_models=fleet.n_models,
            discoveries=fleet.discoveries,
            false_alarm_budget_nights=fleet.budget_nights,
            fleet_fdr_max=fleet.fdr_max,
            background_models=fleet.background_models,
        )
    return NightVerdict(models=verdicts, signal=signal)


def judge(
    metrics: Metrics,
    current: WindowAggregate,
    thresholds: Thresholds,
    *,
    criticality: int,
    drift: DriftSummary | None = None,
    reference: WindowAggregate | None = None,
    history: Sequence[NightValue] = (),
    persistence: tuple[int, int] = DEFAULT_PERSISTENCE,
) -> ModelVerdict:
    """One model judged alone: :func:`judge_night` with a fleet of one.

    With ``thresholds.signal.enabled`` (the default) and a ``reference`` window, baseline
    checks are added, and sequential checks when ``history`` holds enough past nights;
    every p-value is then corrected with the model as a family of its own.
    """
    evidence = ModelEvidence(
        model_id="model",
        thresholds=thresholds,
        criticality=criticality,
        metrics=metrics,
        current=current,
        reference=reference,
        drift=drift,
        history=history,
        persistence=persistence,
    )
    return judge_night([evidence]).models["model"]


def rejudge(
    checks: Sequence[Check],
    adjusted: Sequence[float | None],
    *,
    level: float,
    criticality: int,
    n_rows: int,
    n_models: int = 1,
    persistence: tuple[int, int] = DEFAULT_PERSISTENCE,
    settings: SignalSettings | None = None,
) -> ModelVerdict:
    """The verdict of checks decided again with a family's adjusted p-values
    (:func:`~monitor.judge.decision.decide_checks`), for families built by hand."""
    decided = decide_checks(
        checks,
        adjusted,
        level=level,
        criticality=criticality,
        n_models=n_models,
        persistence=persistence,
        settings=settings,
    )
    return verdict_of(decided, n_rows=n_rows, criticality=criticality)
