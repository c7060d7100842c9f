"""Naming what is failing: scenario nights fed through ingest chunks, metrics and checks."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scenario_logs import CURRENT, REFERENCE, Traffic, chunks, healthy, summarise, window

from monitor.chunk import ModelChunk
from monitor.failure_modes import FailureModeResult, classify
from monitor.judge import ModelVerdict, judge
from monitor.report import FailureModeShare, Metrics
from monitor.stats.aggregates import WindowAggregate, WindowParams
from monitor.stats.metrics import finalize_metrics
from thresholds.schema import (
    ExtraFailureMode,
    FailureModeSettings,
    LatencyLimits,
    ModelEntry,
    Register,
    Thresholds,
)

REGISTER = Register(
    name="support",
    models=[ModelEntry(id="support-bot", owner="ml-team")],
    failure_modes=FailureModeSettings(
        extra=[ExtraFailureMode(id="policy_breach")],
        annotations={
            "Made up citation": "hallucination",
            "wrong fact": "factual_error",
            "quoted the wrong policy": "policy_breach",
        },
    ),
)
THRESHOLDS = Thresholds(latency_ms=LatencyLimits(p95=800.0))
REFERENCE_TRAFFIC = healthy(rows=20_000)


@dataclass
class Night:
    rows: list[ModelChunk]
    current: WindowAggregate
    metrics: Metrics
    judgement: ModelVerdict
    result: FailureModeResult

    def mode(self, name: str) -> FailureModeShare:
        return next(m for m in self.result.modes if m.mode == name)

    def column(self, name: str) -> np.ndarray:
        return np.concatenate([getattr(c, name) for c in self.rows])

    def status(self, check: str) -> str:
        return next(c.status for c in self.judgement.checks if c.threshold == check)

    def labels(self, name: str) -> np.ndarray:
        """A categorical column's text per row (None when null), straight from the chunks."""
        out = []
        for chunk in self.rows:
            cat = getattr(chunk, name)
            assert cat is not None
            names = np.asarray([*cat.categories, None], dtype=object)
            out.append(names[np.where(cat.codes >= 0, cat.codes, len(cat.categories))])
        return np.concatenate(out)


def night(
    traffic: Traffic,
    *,
    seed: int = 7,
    reference: Traffic = REFERENCE_TRAFFIC,
    min_annotations: int = 20,
    baseline: bool = False,
) -> Night:
    """One nightly check of ``traffic`` against a healthy 28-day reference window
    (``baseline``: with the checks against that window, as the nightly job runs them)."""
    rows = chunks(traffic, CURRENT, seed=seed)
    current = summarise(rows, CURRENT)
    ref = window(reference, REFERENCE, seed=seed + 10_000)
    metrics = finalize_metrics(current, ref, THRESHOLDS)
    judgement = judge(
        metrics, current, THRESHOLDS, criticality=2, reference=ref if baseline else None
    )
    result = classify(
        current, ref, metrics, judgement.checks, register=REGISTER, min_annotations=min_annotations
    )
    return Night(rows, current, metrics, judgement, result)


def assert_well_formed(result: FailureModeResult) -> None:
    counts = [m.count for m in result.modes]
    assert counts == sorted(counts, reverse=True)
    assert sum(m.share for m in result.modes) <= 1.0 + 1e-9
    assert all(0.0 <= m.confidence <= 1.0 and m.count > 0 and m.evidence for m in result.modes)


# --------------------------------------------------------------------------- signals


def test_json_outputs_failing_the_schema_on_4_percent_of_rows_give_format_violation() -> None:
    # JSON is 40 % of traffic; 10 % of JSON outputs invalid = 4 % of rows (reference 0.3 %).
    n = night(healthy().but(json_invalid_rate=0.10))
    r = n.result
    invalid = int(np.count_nonzero(n.column("format_valid") == 0))
    assert 0.03 < invalid / n.current.n_rows < 0.05
    assert r.dominant == "format_violation"
    top = r.modes[0]
    assert (top.mode, top.count, top.share) == ("format_violation", invalid, 1.0)
    assert top.confidence == pytest.approx(0.85)
    assert f"{invalid} of" in top.evidence[0] and "reference window (p < 1e-12)" in top.evidence[0]
    assert "significantly above the reference window" in top.evidence[1]
    assert top.evidence[2].startswith("json: ")
    assert_well_formed(r)


def test_a_steady_2_percent_invalid_share_is_material_by_the_1_percent_rule_alone() -> None:
    steady = healthy().but(json_invalid_rate=0.05)  # 2 % of rows, same as the reference
    n = night(steady, reference=REFERENCE_TRAFFIC.but(json_invalid_rate=0.05))
    top = n.mode("format_violation")
    assert n.result.dominant == "format_violation"
    # Not a change against the reference: named for the absolute level, at lower confidence.
    assert top.confidence == pytest.approx(0.65)
    assert "significantly" not in top.evidence[1]
    assert "above 1.0 % with 95 % confidence" in top.evidence[1]


def test_errors_concentrated_in_segment_billing_give_domain_misapplication_naming_billing() -> None:
    # Billing answers are wrong far more often (and confidently so); other segments are fine.
    n = night(healthy().but(segment_overconfidence={"billing": 0.35}))
    r = n.result
    assert r.dominant == "domain_misapplication"
    top = r.modes[0]
    assert top.mode == "domain_misapplication" and top.segment == "billing"
    # Count = billing's excess wrong answers over the other segments' rate, recomputed
    # here from the raw rows.
    seg = n.labels("segment")
    correct = n.column("correct")
    billing, labeled, wrong = seg == "billing", correct >= 0, correct == 0
    rest_rate = np.count_nonzero(wrong & ~billing) / np.count_nonzero(labeled & ~billing)
    excess = np.count_nonzero(wrong & billing) - np.count_nonzero(labeled & billing) * rest_rate
    assert top.count == round(excess)
    assert "segment 'billing'" in top.evidence[0] and "Bonferroni" in top.evidence[0]
    # The rest of the model is calibrated: once billing's excess is attributed, no
    # confidently wrong answer is left beyond what the confidences predict, so the global
    # symptom (calibration.drift) is a note, not a second failure mode.
    assert n.status("calibration.drift") in ("warning", "breach")
    assert "confidence_miscalibration" not in [m.mode for m in r.modes]
    assert any(
        note.startswith("confidence_miscalibration has evidence but no failing rows")
        for note in r.notes
    )
    assert_well_formed(r)


def test_hard_errors_in_one_segment_are_billing_not_an_outage() -> None:
    n = night(healthy().but(segment_error_rate={"billing": 0.10}))
    r = n.result
    assert r.dominant == "domain_misapplication"
    assert r.modes[0].segment == "billing"
    assert "hard errors" in r.modes[0].evidence[0]
    # Overall errors are up against the reference, but billing explains all of it.
    assert [m.mode for m in r.modes] == ["domain_misapplication"]


def test_a_segment_that_was_always_harder_is_a_note_not_a_failure_mode() -> None:
    harder_billing = healthy().but(segment_overconfidence={"billing": 0.12})
    n = night(
        harder_billing, reference=REFERENCE_TRAFFIC.but(segment_overconfidence={"billing": 0.12})
    )
    assert [c.threshold for c in n.judgement.checks if c.status != "ok"] == []
    assert n.result.modes == [] and n.result.dominant is None
    assert any(
        "segment 'billing'" in note and "standing weakness" in note for note in n.result.notes
    )


def test_overconfident_scores_give_confidence_miscalibration() -> None:
    # Mean confidence 0.92 while only 3 in 4 answers are right.
    n = night(healthy().but(conf_a=23.0, conf_b=2.0, overconfidence=0.17))
    assert n.metrics.quality is not None and n.metrics.confidence.mean is not None
    assert n.metrics.quality.value == pytest.approx(0.75, abs=0.015)
    assert n.metrics.confidence.mean == pytest.approx(0.92, abs=0.005)
    assert n.status("calibration.ece") == "breach"
    r = n.result
    assert r.dominant == "confidence_miscalibration"
    top = r.modes[0]
    # Count = confidently wrong answers beyond what their confidences predict, Σ (1 − c)
    # over the labeled answers with c ≥ 0.85, recomputed from the raw rows.
    assert top.count == excess_confidently_wrong(n)
    assert any(e.startswith("ECE 0.1") and "(breach)" in e for e in top.evidence)
    assert any("overconfident by 0.1" in e for e in top.evidence)
    assert_well_formed(r)


def excess_confidently_wrong(n: Night) -> int:
    correct, confidence = n.column("correct"), n.column("confidence")
    confident = (correct >= 0) & (confidence >= 0.85)
    wrong = np.count_nonzero(confident & (correct == 0))
    return round(wrong - float(np.sum(1.0 - confidence[confident])))


def test_confidence_that_rose_while_accuracy_stayed_is_named_miscalibration() -> None:
    # Reference: calibrated, mean confidence ≈ 0.857. Tonight confidence ≈ 0.903 while the
    # share of right answers is the same: overconfident by ≈ 4.6 points vs the reference.
    n = night(healthy().but(conf_a=14.0, overconfidence=0.046), baseline=True)
    assert n.metrics.quality is not None
    assert n.metrics.quality.value == pytest.approx(9.0 / 10.5, abs=0.015)
    assert n.status("calibration.overconfidence.vs_reference") == "breach"
    r = n.result
    assert r.dominant == "confidence_miscalibration" == r.modes[0].mode
    assert r.modes[0].count == excess_confidently_wrong(n) > 0
    assert any(
        e.startswith("overconfidence (mean confidence − accuracy)") for e in r.modes[0].evidence
    )


def test_p95_latency_over_its_limit_gives_latency_regression_counting_slow_requests() -> None:
    n = night(healthy().but(latency_median_ms=650.0))
    assert n.status("latency_ms.p95") == "breach"
    top = n.result.modes[0]
    assert n.result.dominant == "latency_regression" == top.mode
    slow = np.count_nonzero(n.column("latency_ms") > 800.0)
    assert top.count == pytest.approx(slow, rel=0.01)  # read off the sketch's ~1 % buckets
    assert "where p95 allows 5 %" in top.evidence[0]


def test_an_error_rate_breach_gives_availability() -> None:
    n = night(healthy().but(error_rate=0.08))
    assert n.status("error_rate") == "breach"
    top = n.result.modes[0]
    errors = int(np.count_nonzero(n.column("error")))
    assert (n.result.dominant, top.mode, top.count) == ("availability", "availability", errors)


# ----------------------------------------------------------------------- annotations


HALLUCINATING = healthy().but(
    conf_a=5.0,  # calibrated but less sure: quality falls below its floor
    annotate_share=0.3,
    annotations={
        "made up citation": 0.5,
        "Made up citation  ": 0.2,
        "wrong fact": 0.15,
        "factual_error": 0.05,
        "weird tone": 0.1,
    },
)


def test_annotations_made_up_citation_map_to_hallucination_and_dominate() -> None:
    n = night(HALLUCINATING)
    texts = n.labels("failure_mode")
    made_up = int(np.count_nonzero(np.isin(texts, ["made up citation", "Made up citation  "])))
    r = n.result
    assert n.status("quality") in ("warning", "breach")
    assert r.dominant == "hallucination"
    top = r.modes[0]
    assert (top.mode, top.count) == ("hallucination", made_up)
    assert top.confidence >= 0.9  # a clear majority of well over 100 annotations
    # Register text ("wrong fact") and the bare id ("factual_error") both name factual_error.
    factual = np.count_nonzero(np.isin(texts, ["wrong fact", "factual_error"]))
    assert n.mode("factual_error").count == factual
    failing = (
        n.current.n_error + n.current.n_labeled - n.current.n_correct + n.current.n_format_invalid
    )
    assert r.annotation_coverage == pytest.approx(np.count_nonzero(texts != None) / failing)  # noqa: E711
    assert_well_formed(r)


def test_unmapped_annotation_text_is_reported_with_its_count() -> None:
    n = night(HALLUCINATING)
    weird = int(np.count_nonzero(n.labels("failure_mode") == "weird tone"))
    assert weird > 0
    assert n.result.unmapped_annotations == {"weird tone": weird}
    assert any(
        f"'weird tone': {weird}" in note and "failure_modes.annotations" in note
        for note in n.result.notes
    )


def test_few_annotations_give_a_note_not_a_guess() -> None:
    n = night(HALLUCINATING.but(annotate_share=0.01))
    r = n.result
    annotated = n.current.n_annotated
    assert 0 < annotated < 20
    assert r.dominant is None
    hallucination = n.mode("hallucination")
    assert hallucination.confidence < 0.5
    assert any(
        note.startswith(f"only {annotated} of ") and "inferred from signals" in note
        for note in r.notes
    )


def _with_annotations(counts: dict[str, int]) -> WindowAggregate:
    agg = WindowAggregate(WindowParams(CURRENT[0], CURRENT[1], (0.6, 0.85), 100))
    agg.n_rows = agg.n_error_known = agg.n_error = agg.n_annotated = sum(counts.values())
    agg.annotations = dict(counts)
    return agg


def test_annotation_texts_map_by_id_then_register_text_ignoring_case_and_spaces() -> None:
    current = _with_annotations(
        {
            "hallucination": 30,
            "  QUOTED the wrong   policy ": 25,
            "Wrong Fact": 5,
            "hallucinated?": 4,
        }
    )
    reference = WindowAggregate(current.params)
    metrics = finalize_metrics(current, reference, THRESHOLDS)
    r = classify(current, reference, metrics, [], register=REGISTER)
    counts = {m.mode: m.count for m in r.modes}
    assert counts == {"hallucination": 30, "policy_breach": 25, "factual_error": 5}
    assert r.unmapped_annotations == {"hallucinated?": 4}
    # 30 of 60 mapped annotations, 60 ≥ 20 but < 100: 0.5 + 0.5 · 0.5 = 0.75.
    assert r.modes[0].confidence == pytest.approx(0.75)
    assert r.dominant == "hallucination"


# ------------------------------------------------------------------------ clean logs


@pytest.mark.parametrize("seed", range(20))
def test_clean_logs_with_background_errors_evenly_spread_produce_no_dominant_mode(
    seed: int,
) -> None:
    # Healthy and calibrated, 1 % hard errors and 0.3 % invalid JSON in every segment, in
    # both windows: hundreds of failing rows, none of them a failure mode.
    n = night(healthy(), seed=seed)
    assert n.result.dominant is None
    assert n.result.modes == []
    assert n.result.annotation_coverage == 0.0


MANY_SEGMENTS = {f"tenant-{i:02d}": 1.0 + i for i in range(12)}


@pytest.mark.parametrize("seed", range(20))
def test_clean_logs_across_twelve_segments_and_30_000_rows_produce_no_dominant_mode(
    seed: int,
) -> None:
    # 24 per-segment tests a night: the Bonferroni family keeps chance findings rare,
    # and the 5 % rule keeps one from becoming dominant.
    clean = healthy(30_000).but(segments=MANY_SEGMENTS)
    n = night(
        clean, seed=seed, reference=REFERENCE_TRAFFIC.but(rows=60_000, segments=MANY_SEGMENTS)
    )
    assert n.result.dominant is None


def test_a_significant_but_tiny_segment_excess_is_listed_but_not_dominant() -> None:
    # A small tenant (2 % of traffic) errs 8 % of the time: real, but a dozen extra errors
    # among some 1 500 failing rows does not explain the night.
    mix = {"billing": 0.30, "search": 0.35, "chat": 0.33, "returns": 0.02}
    n = night(
        healthy(10_000).but(segments=mix, segment_error_rate={"returns": 0.08}),
        reference=REFERENCE_TRAFFIC.but(segments=mix),
    )
    r = n.result
    domain = n.mode("domain_misapplication")
    assert domain.segment == "returns" and domain.share == 1.0
    failing = n.current.n_error + n.current.n_labeled - n.current.n_correct
    assert domain.count < 0.05 * failing
    assert r.dominant is None
    assert any(
        note.startswith("no dominant failure mode: the largest, domain_misapplication, has only")
        for note in r.notes
    )
