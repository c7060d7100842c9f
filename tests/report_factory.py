"""Realistic nightly reports for tests, built directly from the report models.

:func:`nightly_report` is one register, one night, three models an owner would recognise:

- ``support-answers-v3`` — an LLM answering support questions, healthy;
- ``claims-triage-llm`` — an LLM emitting JSON claim triage, in breach: quality below its
  floor, JSON outputs failing their schema, calibration drifted, p95 latency at warning;
  failure modes with evidence, feature drift and a ladder recommendation awaiting approval;
- ``fraud-scorer-xgb`` — a classic classifier whose logs stopped arriving: blind.

Numbers come from seeded simulations (confidences, correctness, latencies), so bins,
percentiles and counts agree with each other the way a real run's would.
:func:`hostile_report` plants script payloads in every string that comes from logs or
the register. :func:`nightly_trends` and :func:`nightly_ladders` give the history and
ladder positions the ladder layer would pass in.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import numpy as np

from modelhealth.outputs.html import LadderView, NightPoint
from monitor.report import (
    Breach,
    CalibrationDriftMetric,
    CalibrationMetric,
    Check,
    ConfidenceMetric,
    DriftColumn,
    DriftSummary,
    ErrorRateMetric,
    FailureModeShare,
    IngestSummary,
    LatencyMetric,
    Metrics,
    ModelReport,
    QualityMetric,
    RateMetric,
    Recommendation,
    ReliabilityBinOut,
    Report,
    ThroughputMetric,
    TimeWindow,
)
from thresholds.vocabulary import RUNGS

__all__ = [
    "AS_OF",
    "BLIND",
    "BREACHING",
    "HEALTHY",
    "PAYLOADS",
    "hostile_report",
    "nightly_ladders",
    "nightly_report",
    "nightly_trends",
]

AS_OF = date(2025, 3, 14)
HEALTHY = "support-answers-v3"
BREACHING = "claims-triage-llm"
BLIND = "fraud-scorer-xgb"

#: Classic injection payloads: a script tag, an attribute break-out, SVG and style escapes.
PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "'><svg onload=alert(3)>",
    "</style><script>alert(4)</script>",
    "</title><script>alert(5)</script>",
)

_UTC = timezone.utc
_WINDOW = TimeWindow(
    start=datetime(2025, 3, 13, 2, tzinfo=_UTC), end=datetime(2025, 3, 14, 2, tzinfo=_UTC)
)
_REFERENCE = TimeWindow(
    start=datetime(2025, 2, 27, 2, tzinfo=_UTC), end=datetime(2025, 3, 13, 2, tzinfo=_UTC)
)


def _wilson(count: int, n: int, z: float = 1.96) -> tuple[float, float]:
    p = count / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return float(centre - half), float(centre + half)


def _rate(count: int, n: int) -> RateMetric:
    low, high = _wilson(count, n)
    return RateMetric(value=count / n, ci_low=low, ci_high=high, count=count, n=n)


def _reliability(
    rng: np.random.Generator, n: int, *, a: float, b: float, overconfidence: float
) -> tuple[list[ReliabilityBinOut], float, float, float, float, int]:
    """15 equal-width bins of simulated (confidence, correct) pairs, with ECE, MCE, Brier."""
    confidence = np.clip(rng.beta(a, b, n), 0.02, 0.999)
    p_correct = np.clip(confidence - overconfidence * confidence**2, 0, 1)
    correct = rng.random(n) < p_correct
    edges = np.linspace(0, 1, 16)
    index = np.minimum(np.digitize(confidence, edges) - 1, 14)
    bins, ece, mce = [], 0.0, 0.0
    for i in range(15):
        mask = index == i
        count = int(mask.sum())
        if count:
            conf, acc = float(confidence[mask].mean()), float(correct[mask].mean())
            ece += count / n * abs(acc - conf)
            mce = max(mce, abs(acc - conf))
        else:
            conf = acc = None
        bins.append(
            ReliabilityBinOut(
                lower=float(edges[i]),
                upper=float(edges[i + 1]),
                n=count,
                mean_confidence=conf,
                accuracy=acc,
            )
        )
    brier = float(np.mean((confidence - correct) ** 2))
    return bins, ece, mce, brier, float(confidence.mean()), int(correct.sum())


def _latency(rng: np.random.Generator, n: int, *, median: float, sigma: float) -> LatencyMetric:
    values = rng.lognormal(np.log(median), sigma, n)
    tail = rng.random(n) < 0.02  # a slow tail: retries, cold starts
    values[tail] *= rng.uniform(2.5, 6, int(tail.sum()))
    edges = np.geomspace(values.min() * 0.999, values.max() * 1.001, 41)
    counts, _ = np.histogram(values, edges)
    p50, p95, p99 = np.quantile(values, [0.5, 0.95, 0.99])
    return LatencyMetric(
        p50=float(p50),
        p95=float(p95),
        p99=float(p99),
        mean=float(values.mean()),
        max=float(values.max()),
        n=n,
        histogram_edges=[float(e) for e in edges],
        histogram_counts=[int(c) for c in counts],
    )


def _check(
    threshold: str,
    status: str,
    observed: float | None,
    limit: float,
    direction: str,
    interval: tuple[float | None, float | None] = (None, None),
    n: int = 0,
    tier: int | None = None,
) -> Check:
    return Check(
        threshold=threshold,
        status=status,
        observed=observed,
        limit=limit,
        direction=direction,
        ci_low=interval[0],
        ci_high=interval[1],
        n=n,
        tier=tier,
    )


def _breaches(checks: list[Check]) -> list[Breach]:
    return [
        Breach(
            threshold=c.threshold,
            level=c.status,
            observed=c.observed,
            limit=c.limit,
            ci_low=c.ci_low,
            ci_high=c.ci_high,
            n=c.n,
            tier=c.tier or 1,
        )
        for c in checks
        if c.status in ("warning", "breach")
    ]


def _healthy_model() -> ModelReport:
    rng = np.random.default_rng(7)
    n, labeled = 18_450, 2_310
    bins, ece, mce, brier, mean_conf, n_correct = _reliability(
        rng, labeled, a=14, b=1.3, overconfidence=0.02
    )
    ref_bins, ref_ece, *_ = _reliability(rng, 14_900, a=14, b=1.3, overconfidence=0.015)
    quality = _rate(n_correct, labeled)
    errors = _rate(139, n)
    latency = _latency(rng, n, median=420, sigma=0.38)
    metrics = Metrics(
        quality=QualityMetric(**quality.model_dump(), label_coverage=labeled / n),
        error_rate=ErrorRateMetric(
            **errors.model_dump(),
            by_output_type={"answer": _rate(121, 16_020), "summary": _rate(18, 2_430)},
        ),
        latency_ms=latency,
        throughput=ThroughputMetric(per_hour_mean=n / 24, per_hour_min=212.0, hours=24.0),
        confidence=ConfidenceMetric(
            mean=mean_conf,
            share_below_min=0.031,
            min=0.6,
            band_auto=0.78,
            band_review=0.19,
            band_general=0.03,
            escalation_rate=0.22,
            n=n,
        ),
        calibration=CalibrationMetric(
            ece=ece,
            ece_equal_mass=ece * 0.9,
            mce=mce,
            brier=brier,
            overconfidence_gap=mean_conf - quality.value,
            n=labeled,
            bins=bins,
        ),
        calibration_drift=CalibrationDriftMetric(
            ece_delta=ece - ref_ece,
            reference_ece=ref_ece,
            statistic=11.2,
            dof=14,
            p_value=0.67,
            confidence_ks=0.012,
            confidence_ks_p_value=0.71,
            confidence_psi=0.004,
            reference_bins=ref_bins,
        ),
    )
    checks = [
        _check(
            "quality", "ok", quality.value, 0.85, "min", (quality.ci_low, quality.ci_high), labeled
        ),
        _check("error_rate", "ok", errors.value, 0.02, "max", (errors.ci_low, errors.ci_high), n),
        _check("latency_ms.p95", "ok", latency.p95, 1500.0, "max", (None, None), n),
        _check("latency_ms.p99", "ok", latency.p99, 3000.0, "max", (None, None), n),
        _check("throughput", "ok", n / 24, 100.0, "min", (754.0, 783.0), n),
        _check("calibration.ece", "ok", ece, 0.05, "max", (ece * 0.6, ece * 1.4), labeled),
        _check("calibration.drift", "ok", ece - ref_ece, 0.03, "max", (None, None), labeled),
        _check("drift.features", "ok", 0.0, 0.3, "max", (0.0, 0.0), 5_000),
    ]
    return ModelReport(
        model_id=HEALTHY,
        status="healthy",
        criticality=2,
        window=_WINDOW,
        reference_window=_REFERENCE,
        n_rows=n,
        n_labeled=labeled,
        n_quarantined=41,
        n_duplicates=12,
        n_reference_rows=251_300,
        metrics=metrics,
        checks=checks,
        breaches=[],
        annotation_coverage=0.64,
        drift=DriftSummary(
            sample_size_current=5_000,
            sample_size_reference=5_000,
            share_drifted_features=0.0,
            html="drift-support-answers-v3.html",
            columns=[
                DriftColumn(
                    column="feature.intent",
                    kind="feature",
                    method="chi-square",
                    statistic=3.1,
                    p_value=0.54,
                    threshold=0.05,
                    drifted=False,
                ),
                DriftColumn(
                    column="feature.question_tokens",
                    kind="feature",
                    method="Wasserstein (normed)",
                    statistic=0.021,
                    threshold=0.1,
                    drifted=False,
                ),
                DriftColumn(
                    column="confidence",
                    kind="confidence",
                    method="K-S",
                    statistic=0.012,
                    p_value=0.71,
                    threshold=0.05,
                    drifted=False,
                ),
            ],
        ),
        ladder_position=None,
    )


def _breaching_model() -> ModelReport:
    rng = np.random.default_rng(11)
    n, labeled = 9_870, 1_846
    bins, ece, mce, brier, mean_conf, _ = _reliability(
        rng, labeled, a=7, b=1.3, overconfidence=0.14
    )
    ref_bins, ref_ece, *_ = _reliability(rng, 12_400, a=6, b=1.5, overconfidence=0.06)
    n_correct = 1_437  # 77.8 %: judged by reviewers, below the 85 % floor
    quality = _rate(n_correct, labeled)
    errors = _rate(266, n)
    json_errors = _rate(231, 5_620)
    latency = _latency(rng, n, median=980, sigma=0.42)
    metrics = Metrics(
        quality=QualityMetric(**quality.model_dump(), label_coverage=labeled / n),
        error_rate=ErrorRateMetric(
            **errors.model_dump(),
            by_output_type={"json": json_errors, "summary": _rate(35, 4_250)},
        ),
        latency_ms=latency,
        throughput=ThroughputMetric(per_hour_mean=n / 24, per_hour_min=96.0, hours=24.0),
        confidence=ConfidenceMetric(
            mean=mean_conf,
            share_below_min=0.052,
            min=0.6,
            band_auto=0.71,
            band_review=0.24,
            band_general=0.05,
            escalation_rate=0.29,
            n=n,
        ),
        calibration=CalibrationMetric(
            ece=ece,
            ece_equal_mass=ece * 0.95,
            mce=mce,
            brier=brier,
            overconfidence_gap=mean_conf - quality.value,
            n=labeled,
            bins=bins,
        ),
        calibration_drift=CalibrationDriftMetric(
            ece_delta=ece - ref_ece,
            reference_ece=ref_ece,
            statistic=58.4,
            dof=14,
            p_value=2.1e-7,
            confidence_ks=0.061,
            confidence_ks_p_value=0.003,
            confidence_psi=0.083,
            reference_bins=ref_bins,
        ),
    )
    checks = [
        _check(
            "quality",
            "breach",
            quality.value,
            0.85,
            "min",
            (quality.ci_low, quality.ci_high),
            labeled,
            3,
        ),
        _check(
            "error_rate",
            "warning",
            errors.value,
            0.025,
            "max",
            (errors.ci_low, errors.ci_high),
            n,
            1,
        ),
        _check(
            "error_rate.json",
            "breach",
            json_errors.value,
            0.02,
            "max",
            (json_errors.ci_low, json_errors.ci_high),
            json_errors.n,
            3,
        ),
        _check("error_rate.summary", "ok", 35 / 4_250, 0.02, "max", _wilson(35, 4_250), 4_250),
        _check(
            "latency_ms.p95",
            "warning",
            latency.p95,
            1800.0,
            "max",
            (latency.p95 * 0.96, latency.p95 * 1.05),
            n,
            1,
        ),
        _check("latency_ms.p99", "ok", latency.p99, 6000.0, "max", (None, None), n),
        _check("throughput", "ok", n / 24, 100.0, "min", (403.0, 420.0), n),
        _check("confidence.share_below", "ok", 0.052, 0.1, "max", (0.048, 0.057), n),
        _check("calibration.ece", "breach", ece, 0.05, "max", (ece * 0.8, ece * 1.2), labeled, 2),
        _check(
            "calibration.drift",
            "breach",
            ece - ref_ece,
            0.03,
            "max",
            (ece - ref_ece, None),
            labeled,
            2,
        ),
        _check("drift.features", "breach", 0.5, 0.3, "max", (0.5, 0.5), 5_000, 2),
    ]
    return ModelReport(
        model_id=BREACHING,
        status="breach",
        criticality=3,
        window=_WINDOW,
        reference_window=_REFERENCE,
        n_rows=n,
        n_labeled=labeled,
        n_quarantined=268,
        n_duplicates=83,
        n_reference_rows=139_200,
        metrics=metrics,
        checks=checks,
        breaches=_breaches(checks),
        failure_modes=[
            FailureModeShare(
                mode="format_violation",
                count=231,
                share=0.46,
                confidence=0.93,
                evidence=[
                    "231 of 5,620 json outputs (4.1 %) failed their schema; 0.4 % a week ago",
                    "92 % of the invalid outputs truncate the 'coverage_reasons' array",
                ],
            ),
            FailureModeShare(
                mode="hallucination",
                count=141,
                share=0.28,
                confidence=0.71,
                evidence=[
                    "Reviewers annotated 141 answers citing policy clauses that do not exist"
                ],
            ),
            FailureModeShare(
                mode="domain_misapplication",
                count=90,
                share=0.18,
                confidence=0.64,
                segment="motor-claims",
                evidence=[
                    "Errors concentrate in segment motor-claims: 61 % of errors, 22 % of rows"
                ],
            ),
            FailureModeShare(
                mode="confidence_miscalibration",
                count=40,
                share=0.08,
                confidence=0.88,
                evidence=[
                    f"ECE {ece:.3f} against 0.050 allowed; the model is overconfident above 0.8"
                ],
            ),
        ],
        dominant_failure_mode="format_violation",
        annotation_coverage=0.38,
        unmapped_annotations={"tone_issue": 17},
        drift=DriftSummary(
            sample_size_current=5_000,
            sample_size_reference=5_000,
            share_drifted_features=0.5,
            html="drift-claims-triage-llm.html",
            columns=[
                DriftColumn(
                    column="feature.claim_amount",
                    kind="feature",
                    method="Wasserstein (normed)",
                    statistic=0.31,
                    threshold=0.1,
                    drifted=True,
                ),
                DriftColumn(
                    column="feature.policy_type",
                    kind="feature",
                    method="chi-square",
                    statistic=48.2,
                    p_value=3.0e-9,
                    threshold=0.05,
                    drifted=True,
                ),
                DriftColumn(
                    column="feature.region",
                    kind="feature",
                    method="chi-square",
                    statistic=4.4,
                    p_value=0.35,
                    threshold=0.05,
                    drifted=False,
                ),
                DriftColumn(
                    column="feature.document_pages",
                    kind="feature",
                    method="K-S",
                    statistic=0.028,
                    p_value=0.21,
                    threshold=0.05,
                    drifted=False,
                ),
                DriftColumn(
                    column="prediction",
                    kind="prediction",
                    method="PSI",
                    statistic=0.14,
                    threshold=0.1,
                    drifted=True,
                ),
                DriftColumn(
                    column="confidence",
                    kind="confidence",
                    method="K-S",
                    statistic=0.061,
                    p_value=0.003,
                    threshold=0.05,
                    drifted=True,
                ),
            ],
        ),
        recommendation=Recommendation(
            id="rec-20250314-claims-triage-llm-3",
            rung="few_shot_enrichment",
            status="pending_approval",
            tier=3,
            summary=(
                "JSON outputs still fail their schema after prompt optimization: enrich the "
                "prompt with few-shot examples of complete claim triage records."
            ),
            estimated_cost=4_800.0,
            approvals_required=2,
            approvers=["maria.chen (model_owner)", "raj.patel (ml_lead)"],
            due_at=datetime(2025, 3, 15, 14, tzinfo=_UTC),
            reason=(
                "format_violation dominant for 3 nights (persistence rule met); "
                "prompt_optimization tried since 2025-03-02 without recovery, so the "
                "matrix's rung is raised to the next allowed rung"
            ),
            commands=[
                "modelhealth ladder approve claims-triage-llm "
                "--recommendation rec-20250314-claims-triage-llm-3 --as <you> --role model_owner",
                "modelhealth ladder reject claims-triage-llm "
                "--recommendation rec-20250314-claims-triage-llm-3 --as <you> --reason '…'",
            ],
        ),
        ladder_position="prompt_optimization",
        notes=["Labels joined from the reviewer queue cover 18.7 % of rows."],
    )


def _blind_model() -> ModelReport:
    return ModelReport(
        model_id=BLIND,
        status="blind",
        criticality=4,
        window=_WINDOW,
        reference_window=_REFERENCE,
        n_rows=0,
        n_reference_rows=402_115,
        metrics=Metrics(
            error_rate=ErrorRateMetric(value=None),
            latency_ms=LatencyMetric(),
            throughput=ThroughputMetric(per_hour_mean=0.0, hours=24.0),
            confidence=ConfidenceMetric(),
        ),
        breaches=[Breach(threshold="blind", level="blind", observed=0, limit=None, n=0, tier=4)],
        recommendation=Recommendation(
            id="rec-20250314-fraud-scorer-xgb-1",
            rung=None,
            status="escalated",
            tier=4,
            summary="No predictions logged since 2025-03-11 21:40 UTC: restore logging first.",
            approvals_required=0,
            approvers=["oncall-ml"],
            due_at=datetime(2025, 3, 14, 6, tzinfo=_UTC),
            reason="blind for 3 nights; tier 4 skips the persistence wait",
            commands=["modelhealth ladder status fraud-scorer-xgb"],
        ),
        ladder_position="hybrid_routing",
        notes=["Last file seen: logs/fraud-scorer/2025-03-11.parquet"],
    )


def nightly_report() -> Report:
    """One night of one register: a healthy, a breaching and a blind model."""
    models = [_healthy_model(), _breaching_model(), _blind_model()]
    used = sum(m.n_rows + m.n_reference_rows for m in models)
    quarantined = {"confidence_out_of_range": 201, "unparseable_timestamp": 77, "unknown_model": 31}
    duplicates, out_of_window = 95, 1_120
    return Report(
        run_id="run-7f3a9c2e41b0",
        as_of=AS_OF.isoformat(),
        register_name="claims-and-support",
        register_version="2025.03.1+sha.5e1c0d2",
        generated_at=datetime(2025, 3, 14, 2, 17, 44, tzinfo=_UTC),
        status="breach",
        ingest=IngestSummary(
            files=[
                "logs/support-answers/2025-03-13.parquet",
                "logs/claims-triage/2025-03-13.jsonl",
            ],
            rows_read=used + sum(quarantined.values()) + duplicates + out_of_window,
            rows_used=used,
            rows_quarantined=sum(quarantined.values()),
            rows_duplicate=duplicates,
            rows_out_of_window=out_of_window,
            naive_timestamps=640,
            quarantined_by_reason=quarantined,
            quarantine_file="quarantine.parquet",
            labels_file="labels/reviewer-verdicts.csv",
            labels_joined=4_156,
        ),
        models=models,
    )


def nightly_trends(report: Report, nights: int = 30) -> dict[str, list[NightPoint]]:
    """Thirty nights of history ending tonight, shaped like each model's story."""
    rng = np.random.default_rng(3)
    out: dict[str, list[NightPoint]] = {}
    for model in report.models:
        points = []
        for back in range(nights - 1, -1, -1):
            night = AS_OF - timedelta(days=back)
            t = nights - 1 - back  # 0 … nights-1
            jitter = rng.normal(0, 1, 4)
            if model.model_id == BREACHING:
                decline = max(0, t - 18) / (nights - 19)  # degrades over the last 11 nights
                quality = 0.9 - 0.12 * decline + 0.006 * jitter[0]
                error = 0.008 + 0.02 * decline + 0.001 * jitter[1]
                p95 = 1650 + 400 * decline + 60 * jitter[2]
                ece = 0.03 + 0.07 * decline + 0.004 * jitter[3]
                status = "breach" if decline > 0.6 else "warning" if decline > 0.25 else "healthy"
                points.append(NightPoint(night, status, quality, error, p95, ece))
            elif model.model_id == BLIND and back < 3:
                points.append(NightPoint(night, "blind", None, None, None, None))
            else:
                base_quality = 0.91 if model.model_id == HEALTHY else 0.95
                status = "insufficient_data" if back == 17 else "healthy"
                points.append(
                    NightPoint(
                        night,
                        status,
                        None if status == "insufficient_data" else base_quality + 0.008 * jitter[0],
                        0.007 + 0.0015 * jitter[1],
                        760 + 40 * jitter[2] if model.model_id == HEALTHY else 38 + 3 * jitter[2],
                        0.027 + 0.003 * jitter[3],
                    )
                )
        out[model.model_id] = [*points[:-1], _tonight(model)]
    return out


def _tonight(model: ModelReport) -> NightPoint:
    """Tonight's point of the history is tonight's report."""
    m = model.metrics
    if m is None or model.n_rows == 0:
        return NightPoint(AS_OF, model.status, None, None, None, None)
    return NightPoint(
        AS_OF,
        model.status,
        m.quality.value if m.quality else None,
        m.error_rate.value,
        m.latency_ms.p95,
        m.calibration.ece if m.calibration else None,
    )


def nightly_ladders(report: Report) -> dict[str, LadderView]:
    """Each model's ladder as the ladder layer would describe it tonight."""
    views = {
        HEALTHY: LadderView(rungs=list(RUNGS), allowed=list(RUNGS[:4]), current=None, tried=[]),
        BREACHING: LadderView(
            rungs=list(RUNGS),
            allowed=[r for r in RUNGS if r != "full_replacement"],
            current="prompt_optimization",
            tried=["prompt_optimization"],
        ),
        BLIND: LadderView(
            rungs=list(RUNGS),
            allowed=list(RUNGS),
            current="hybrid_routing",
            tried=["fine_tuning", "hybrid_routing"],
        ),
    }
    return {m.model_id: views[m.model_id] for m in report.models if m.model_id in views}


def hostile_report() -> tuple[Report, dict[str, list[NightPoint]], dict[str, LadderView]]:
    """The nightly report with script payloads in every string that logs or a register control.

    Model ids, register name, output types, segments, annotations, evidence, feature
    names, summaries, reasons, approvers, commands, notes, file names and the drift page
    link all carry :data:`PAYLOADS`. Returns the report with matching trends and ladders.
    """
    report = nightly_report()
    trends = nightly_trends(report)
    ladders = nightly_ladders(report)
    renamed_trends: dict[str, list[NightPoint]] = {}
    renamed_ladders: dict[str, LadderView] = {}
    # Reports are frozen: the payloads go into a copy as plain data, validated back.
    data = report.model_dump()
    for i, model in enumerate(data["models"]):
        payload = PAYLOADS[i % len(PAYLOADS)]
        old = model["model_id"]
        model["model_id"] = f"{old}{payload}"
        renamed_trends[model["model_id"]] = trends[old]
        renamed_ladders[model["model_id"]] = ladders[old]
        model["notes"].append(f"note {PAYLOADS[3]}")
        model["unmapped_annotations"][PAYLOADS[0]] = 3
        model["unmapped_annotations"][PAYLOADS[1]] = 2
        for fm in model["failure_modes"]:
            fm["evidence"].append(f"evidence {PAYLOADS[2]}")
            fm["segment"] = f"segment {PAYLOADS[1]}"
        if model["failure_modes"]:
            model["failure_modes"].append(
                FailureModeShare(
                    mode=PAYLOADS[0], count=1, share=0.01, evidence=[PAYLOADS[4]]
                ).model_dump()
            )
        drift = model["drift"]
        if drift is not None:
            drift["html"] = "javascript:alert(6)"
            for column in drift["columns"]:
                column["column"] = f"feature.{PAYLOADS[0]}{column['column']}"
            drift["skipped_reason"] = None
        if model["metrics"] is not None:
            er = model["metrics"]["error_rate"]
            er["by_output_type"] = {
                f"{name}{PAYLOADS[1]}": rate for name, rate in er["by_output_type"].items()
            }
        for check in model["checks"]:
            if check["threshold"].startswith("error_rate."):
                check["threshold"] = f"{check['threshold']}{PAYLOADS[1]}"
        rec = model["recommendation"]
        if rec is not None:
            rec["summary"] = f"{rec['summary']} {PAYLOADS[0]}"
            rec["reason"] = f"{rec['reason']} {PAYLOADS[4]}"
            rec["approvers"] = [*rec["approvers"], PAYLOADS[2]]
            rec["commands"] = [f"{c} {PAYLOADS[1]}" for c in rec["commands"]]
            rec["rung"] = f"{rec['rung']}{PAYLOADS[0]}" if rec["rung"] else PAYLOADS[0]
            rec["id"] = f"{rec['id']}{PAYLOADS[3]}"
    data["register_name"] = f"claims {PAYLOADS[4]}"
    data["run_id"] = f"run {PAYLOADS[1]}"
    data["ingest"]["files"].append(f"logs/{PAYLOADS[0]}.parquet")
    data["ingest"]["quarantined_by_reason"][f"reason {PAYLOADS[2]}"] = 1
    data["ingest"]["unreadable"].append(f"logs/{PAYLOADS[3]}.csv")
    return Report.model_validate(data), renamed_trends, renamed_ladders
