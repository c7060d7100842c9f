"""The report page's view models: every number formatted and every status styled, so
the template only lays them out.

The ladder's history (past nights, the rungs a model may use) comes from the ``ladder``
package through the caller, as :class:`NightPoint` and :class:`LadderView` values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from modelhealth.outputs.html.charts import (
    Chart,
    chart_label,
    latency_chart,
    reliability_chart,
    trend_chart,
)
from modelhealth.outputs.html.format import (
    DASH,
    StatusStyle,
    count,
    ms,
    num,
    p_value,
    pct,
    status_style,
    threshold_value,
    title,
)
from monitor.report import Check, ModelReport, Report
from thresholds.vocabulary import RUNGS

__all__ = [
    "GROUPS",
    "SEVERITY",
    "IngestBar",
    "LadderView",
    "ModelView",
    "NightPoint",
    "SummaryCell",
    "TrendPanel",
    "ingest_bars",
    "model_view",
    "worst_of",
]


@dataclass(frozen=True)
class NightPoint:
    """One past night of one model, as the ladder's state store remembers it.

    Attributes
    ----------
    night : date
        The night checked (the report's ``as_of``).
    status : str
        The model's status that night (``healthy`` … ``blind``).
    quality, error_rate : float or None
        Shares in [0, 1].
    latency_p95 : float or None
        Milliseconds.
    ece : float or None
        Top-label expected calibration error, in [0, 1].
    """

    night: date
    status: str
    quality: float | None
    error_rate: float | None
    latency_p95: float | None
    ece: float | None


@dataclass(frozen=True)
class LadderView:
    """Where one model stands on the escalation ladder.

    Attributes
    ----------
    rungs : list of str
        Rung ids, cheapest first.
    allowed : list of str
        The rungs the register lets this model use.
    current : str or None
        The rung the model stands on now, if any.
    tried : list of str
        Rungs already tried for the open escalation.
    """

    rungs: list[str]
    allowed: list[str]
    current: str | None
    tried: list[str]


@dataclass(frozen=True)
class TrendPanel:
    """One small multiple: a title with its unit, the last value, and the chart."""

    title: str
    latest: str
    chart: Chart | None


def _trend_panels(
    trend: Sequence[NightPoint], limits: Mapping[str, float | None], subject: str
) -> list[TrendPanel]:
    ordered = sorted(trend, key=lambda p: p.night)
    specs: list[tuple[str, str, str, float, str]] = [
        ("Quality", "quality", "pct", 100.0, "quality"),
        ("Error rate", "error_rate", "pct", 100.0, "error_rate"),
        ("Latency p95", "latency_p95", "ms", 1.0, "latency_ms.p95"),
        ("Calibration ECE", "ece", "ratio", 1.0, "calibration.ece"),
    ]
    units = {"pct": "%", "ms": "ms", "ratio": "0–1"}
    panels = []
    for name, attr, fmt, scale, threshold in specs:
        points = [(p.night, getattr(p, attr), p.status) for p in ordered]
        latest = points[-1][1] if points else None
        latest_text = (
            "no data tonight"
            if latest is None
            else pct(latest)
            if fmt == "pct"
            else ms(latest)
            if fmt == "ms"
            else num(latest)
        )
        panels.append(
            TrendPanel(
                title=f"{name} ({units[fmt]})",
                latest=latest_text,
                chart=trend_chart(
                    points,
                    label=chart_label(
                        subject, f"{name.lower()} over the last {len(points)} nights"
                    ),
                    fmt=fmt,
                    limit=limits.get(threshold),
                    scale=scale,
                ),
            )
        )
    return panels


def _anchor(index: int, model_id: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")[:40]
    return f"model-{index + 1}-{slug}" if slug else f"model-{index + 1}"


_LOCAL_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.html?$")


def _local_link(name: str | None) -> str | None:
    """``name`` if it is a plain file name next to the report, else None (no link)."""
    return name if name is not None and _LOCAL_FILE.fullmatch(name) else None


# --------------------------------------------------------------------------- page model


@dataclass(frozen=True)
class Tile:
    """A headline number with its context and the level of the checks that judge it: the
    worst of ``checks`` (the same group the models table shows), named in ``worst``."""

    label: str
    value: str
    detail: str
    status: StatusStyle | None
    checks: tuple[str, ...] = ()
    worst: str | None = None


@dataclass(frozen=True)
class CheckRow:
    """One check (or finding) as a table row, with its level as report.json has it."""

    threshold: str
    status: StatusStyle
    observed: str
    limit: str
    interval: str
    n: str
    tier: str
    #: Significant at the support level: counts towards the ladder's persistence rule
    #: when the same check breaches on another night of the window.
    supports: bool = False


@dataclass(frozen=True)
class FailureModeRow:
    """One failure mode's bar; ``direction`` says which way a miscalibration goes."""

    mode: str
    share: float
    share_text: str
    count: str
    confidence: str
    segment: str | None
    evidence: list[str]
    dominant: bool
    direction: str | None = None


@dataclass(frozen=True)
class RungStep:
    index: int
    rung: str
    title: str
    allowed: bool
    tried: bool
    current: bool
    recommended: bool


@dataclass(frozen=True)
class ModelView:
    """Everything the template shows for one model, formatted."""

    model: ModelReport
    anchor: str
    status: StatusStyle
    tiles: list[Tile]
    breaches: list[CheckRow]
    checks: list[CheckRow]
    reliability: Chart | None
    reliability_note: str
    latency: Chart | None
    latency_note: str
    trends: list[TrendPanel]
    nights: list[tuple[str, StatusStyle]]
    failure_modes: list[FailureModeRow]
    drift_link: str | None
    ladder: list[RungStep]
    ladder_supplied: bool
    summary_cells: dict[str, SummaryCell]
    findings: str
    worst_tier: int | None
    output_types: list[tuple[str, str, str, str, StatusStyle | None]]
    #: The failure modes are the model's background failures, not a diagnosis: the model
    #: is healthy by its checks and no mode is dominant.
    background: bool = False


def _interval(threshold: str, low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return DASH
    return f"[{threshold_value(threshold, low)}, {threshold_value(threshold, high)}]"


def _limit(threshold: str, limit: float | None, direction: str | None) -> str:
    if limit is None:
        return DASH
    if direction is None:
        direction = "min" if threshold in ("quality", "throughput") else "max"
    return f"{'≥' if direction == 'min' else '≤'} {threshold_value(threshold, limit)}"


def _check_rows(model: ModelReport) -> tuple[list[CheckRow], list[CheckRow]]:
    directions = {c.threshold: c.direction for c in model.checks}
    breaches = [
        CheckRow(
            threshold=b.threshold,
            status=status_style(b.level),
            observed=threshold_value(b.threshold, b.observed),
            limit=_limit(b.threshold, b.limit, directions.get(b.threshold)),
            interval=_interval(b.threshold, b.ci_low, b.ci_high),
            n=count(b.n),
            tier=f"T{b.tier}",
        )
        for b in sorted(model.breaches, key=lambda b: (-b.tier, b.level != "breach", b.threshold))
    ]
    checks = [
        CheckRow(
            threshold=c.threshold,
            status=status_style(c.status),
            observed=threshold_value(c.threshold, c.observed),
            limit=_limit(c.threshold, c.limit, c.direction),
            interval=_interval(c.threshold, c.ci_low, c.ci_high),
            n=count(c.n),
            tier=f"T{c.tier}" if c.tier else DASH,
            supports=c.supports_persistence,
        )
        for c in model.checks
    ]
    return breaches, checks


#: Check groups shown as one level, in the cards and in the models table alike, so the
#: two can never disagree: the worst level of the group's checks.
GROUPS: dict[str, tuple[str, ...]] = {
    "quality": ("quality", "quality.estimated", "labels.coverage"),
    "error_rate": ("error_rate",),
    "latency": ("latency_ms.p50", "latency_ms.p95", "latency_ms.p99"),
    "throughput": ("throughput",),
    "confidence": (
        "confidence.share_below",
        "confidence.escalation_rate",
        "confidence.reescalation_rate",
    ),
    "calibration": ("calibration.ece", "calibration.drift"),
}

#: How severe a level is when a group shows one; ``blind`` outranks a breach here
#: because it says the numbers beside it cannot be trusted.
SEVERITY = {"ok": 0, "insufficient_data": 1, "warning": 2, "breach": 3, "blind": 4}


def worst_of(checks: Mapping[str, Check], names: Sequence[str]) -> Check | None:
    """The check of ``names`` at the most severe level (the first of equals); None when
    none of them ran."""
    found = [check for name in names if (check := checks.get(name)) is not None]
    return max(found, key=lambda c: SEVERITY[c.status]) if found else None


def _group(checks: Mapping[str, Check], group: str) -> tuple[StatusStyle | None, str | None]:
    worst = worst_of(checks, GROUPS[group])
    if worst is None:
        return None, None
    return status_style(worst.status), worst.threshold


@dataclass(frozen=True)
class SummaryCell:
    """One number of the models table with its group's level (as in the cards)."""

    value: str
    status: StatusStyle | None
    checks: tuple[str, ...]


def _tile(label: str, value: str, detail: str, checks: Mapping[str, Check], group: str) -> Tile:
    status, worst = _group(checks, group)
    return Tile(label, value, detail, status, GROUPS[group], worst)


def _quality_tile(model: ModelReport, checks: Mapping[str, Check]) -> Tile | None:
    m = model.metrics
    if m is None or (m.quality is None and m.quality_estimated is None):
        return None
    q, est = m.quality, m.quality_estimated
    parts = []
    if q is not None:
        what = "accuracy" if q.metric == "accuracy" else "mean quality score"
        parts.append(
            f"measured {what} {pct(q.value)}, CI [{pct(q.ci_low)}, {pct(q.ci_high)}], "
            f"n={count(q.n)}, labels {pct(q.label_coverage, 0)}"
        )
    if est is not None:
        parts.append(
            f"estimated from confidence (CBPE) {pct(est.value)} [{pct(est.ci_low)}, "
            f"{pct(est.ci_high)}] over {count(est.n)} rows"
        )
    estimated = model.quality_basis == "estimated" and est is not None
    value = f"≈ {pct(est.value)}" if estimated and est is not None else pct(q.value if q else None)
    label = "Quality (estimated)" if estimated else "Quality"
    if model.quality_basis == "none":
        label = "Quality (unknown)"
    return _tile(label, value, " · ".join(parts), checks, "quality")


def _tiles(model: ModelReport, checks: Mapping[str, Check]) -> list[Tile]:
    m = model.metrics
    if m is None or model.n_rows == 0:
        return []  # a blind model has no numbers, only the callout that says so
    tiles: list[Tile] = []
    quality = _quality_tile(model, checks)
    if quality is not None:
        tiles.append(quality)
    er = m.error_rate
    tiles.append(
        _tile(
            "Error rate",
            pct(er.value),
            f"CI [{pct(er.ci_low)}, {pct(er.ci_high)}], {count(er.count)} of {count(er.n)}",
            checks,
            "error_rate",
        )
    )
    lat = m.latency_ms
    errored = (
        f" · errored rows apart: {count(lat.errored.n)}, p95 {ms(lat.errored.p95)}, "
        f"max {ms(lat.errored.max)}"
        if lat.errored is not None
        else ""
    )
    tiles.append(
        _tile(
            "Latency p95",
            ms(lat.p95),
            f"p50 {ms(lat.p50)} · p99 {ms(lat.p99)} · max {ms(lat.max)} · n={count(lat.n)}"
            f"{errored}",
            checks,
            "latency",
        )
    )
    tp = m.throughput
    tiles.append(
        _tile(
            "Throughput",
            f"{num(tp.per_hour_mean, 1)} /h",
            f"slowest hour {num(tp.per_hour_min, 0)} /h over {tp.hours:.0f} h",
            checks,
            "throughput",
        )
    )
    conf = m.confidence
    again = (
        f" · re-escalated {pct(conf.reescalation.value)} of {count(conf.reescalation.n)}"
        if conf.reescalation is not None
        else ""
    )
    tiles.append(
        _tile(
            "Confidence",
            num(conf.mean, 2),
            f"{pct(conf.share_below_min)} below {conf.min:.2f} · escalation rate "
            f"{pct(conf.escalation_rate)} (auto {pct(conf.band_auto, 0)}, review "
            f"{pct(conf.band_review, 0)}, general {pct(conf.band_general, 0)}){again} · "
            f"n={count(conf.n)}",
            checks,
            "confidence",
        )
    )
    if m.calibration is not None:
        cal = m.calibration
        drift = m.calibration_drift
        delta = (
            f" · ΔECE {drift.ece_delta:+.3f} (p {p_value(drift.p_value)})"
            if drift is not None and drift.ece_delta is not None
            else ""
        )
        tiles.append(
            _tile(
                "Calibration ECE",
                num(cal.ece),
                f"MCE {num(cal.mce)} · Brier {num(cal.brier)} · overconfidence "
                f"{num(cal.overconfidence_gap)}{delta} · n={count(cal.n)}",
                checks,
                "calibration",
            )
        )
    return tiles


def _summary_cells(model: ModelReport, checks: Mapping[str, Check]) -> dict[str, SummaryCell]:
    m = model.metrics
    groups = {
        "quality": "quality",
        "error_rate": "error_rate",
        "p95": "latency",
        "ece": "calibration",
    }
    if m is None or model.n_rows == 0:
        return {key: SummaryCell(DASH, None, ()) for key in groups}
    quality = DASH
    if model.quality_basis == "estimated" and m.quality_estimated is not None:
        quality = f"≈ {pct(m.quality_estimated.value)}"
    elif m.quality is not None:
        quality = pct(m.quality.value)
    values = {
        "quality": quality,
        "error_rate": pct(m.error_rate.value),
        "p95": ms(m.latency_ms.p95),
        "ece": num(m.calibration.ece) if m.calibration else DASH,
    }
    return {
        key: SummaryCell(values[key], _group(checks, group)[0], GROUPS[group])
        for key, group in groups.items()
    }


def _findings(model: ModelReport) -> str:
    """``2 breaches · 1 warning`` for the summary table; empty when there are none."""
    if not model.breaches:
        return ""
    parts = []
    for level, one, many in (
        ("blind", "blind", "blind"),
        ("breach", "breach", "breaches"),
        ("warning", "warning", "warnings"),
    ):
        n = sum(b.level == level for b in model.breaches)
        if n:
            parts.append(f"{n} {one if n == 1 else many}")
    return " · ".join(parts)


def _failure_rows(model: ModelReport) -> list[FailureModeRow]:
    # Only the mode the report names dominant is highlighted: on a healthy night the
    # background failures are listed without one.
    dominant = model.dominant_failure_mode
    return [
        FailureModeRow(
            mode=f.mode,
            share=max(0.0, min(1.0, f.share)),
            share_text=pct(f.share),
            count=count(f.count),
            confidence=pct(f.confidence, 0),
            segment=f.segment,
            evidence=list(f.evidence),
            dominant=f.mode == dominant,
            direction=f.direction,
        )
        for f in sorted(model.failure_modes, key=lambda f: -f.share)
    ]


def _ladder(model: ModelReport, view: LadderView | None) -> tuple[list[RungStep], bool]:
    supplied = view is not None
    if view is None:
        view = LadderView(
            rungs=list(RUNGS), allowed=list(RUNGS), current=model.ladder_position, tried=[]
        )
    recommended = model.recommendation.rung if model.recommendation else None
    return [
        RungStep(
            index=i + 1,
            rung=rung,
            title=title(rung),
            allowed=rung in view.allowed,
            tried=rung in view.tried,
            current=rung == view.current,
            recommended=rung == recommended,
        )
        for i, rung in enumerate(view.rungs)
    ], supplied


def _output_types(
    model: ModelReport, checks: Mapping[str, Check]
) -> list[tuple[str, str, str, str, StatusStyle | None]]:
    if model.metrics is None:
        return []
    rows = []
    for name, rate in sorted(model.metrics.error_rate.by_output_type.items()):
        check = checks.get(f"error_rate.{name}")
        rows.append(
            (
                name,
                pct(rate.value),
                f"[{pct(rate.ci_low)}, {pct(rate.ci_high)}]",
                count(rate.n),
                status_style(check.status) if check else None,
            )
        )
    return rows


def model_view(
    index: int,
    model: ModelReport,
    trend: Sequence[NightPoint],
    ladder: LadderView | None,
) -> ModelView:
    checks = {c.threshold: c for c in model.checks}
    limits: dict[str, float | None] = {name: c.limit for name, c in checks.items()}
    breaches, check_rows = _check_rows(model)
    m = model.metrics
    reliability: Chart | None = None
    reliability_note = ""
    latency: Chart | None = None
    latency_note = ""
    if model.status == "blind" or m is None:
        reliability_note = latency_note = "No rows in the current window: nothing to draw."
    else:
        cal, drift = m.calibration, m.calibration_drift
        if cal is not None and any(b.n for b in cal.bins):
            reliability = reliability_chart(
                cal.bins,
                drift.reference_bins if drift is not None else [],
                current_ece=cal.ece,
                reference_ece=drift.reference_ece if drift is not None else None,
                subject=model.model_id,
            )
        else:
            reliability_note = "No labeled rows in the current window: calibration unknown."
        lat = m.latency_ms
        latency = latency_chart(
            lat.histogram_edges,
            lat.histogram_counts,
            percentiles={"p50": lat.p50, "p95": lat.p95, "p99": lat.p99},
            limits={
                q: checks[f"latency_ms.{q}"].limit
                for q in ("p50", "p95", "p99")
                if f"latency_ms.{q}" in checks
            },
            subject=model.model_id,
        )
        if latency is None:
            latency_note = "No latency recorded in the current window."
    drift_link = _local_link(model.drift.html) if model.drift is not None else None
    steps, supplied = _ladder(model, ladder)
    ordered = sorted(trend, key=lambda p: p.night)
    return ModelView(
        model=model,
        anchor=_anchor(index, model.model_id),
        status=status_style(model.status),
        tiles=_tiles(model, checks),
        breaches=breaches,
        checks=check_rows,
        reliability=reliability,
        reliability_note=reliability_note,
        latency=latency,
        latency_note=latency_note,
        trends=_trend_panels(ordered, limits, model.model_id) if ordered else [],
        nights=[(p.night.isoformat(), status_style(p.status)) for p in ordered],
        failure_modes=_failure_rows(model),
        drift_link=drift_link,
        ladder=steps,
        ladder_supplied=supplied,
        summary_cells=_summary_cells(model, checks),
        findings=_findings(model),
        worst_tier=max((b.tier for b in model.breaches), default=None),
        output_types=_output_types(model, checks),
        background=model.dominant_failure_mode is None and model.status == "healthy",
    )


@dataclass(frozen=True)
class IngestBar:
    label: str
    rows: int
    share: float
    cls: str


def ingest_bars(report: Report) -> list[IngestBar]:
    ing = report.ingest
    parts = [
        ("Used", ing.rows_used, "seg-used"),
        ("Quarantined", ing.rows_quarantined, "seg-quarantined"),
        ("Duplicates", ing.rows_duplicate, "seg-duplicate"),
        ("Out of window", ing.rows_out_of_window, "seg-window"),
    ]
    total = sum(rows for _, rows, _ in parts) or 1
    return [IngestBar(label, rows, rows / total, cls) for label, rows, cls in parts]
