"""The log simulator: healthy models look healthy, each degradation does exactly what it says."""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from modelhealth.demo.bulk import fast_table
from modelhealth.demo.profiles import Degradation, ModelProfile, demo_profiles
from modelhealth.demo.simulate import late_labels, simulate_day, simulate_logs, write_logs

UTC = timezone.utc
DAY = date(2026, 11, 3)
MIDNIGHT = datetime(2026, 11, 3, tzinfo=UTC)
N = 40_000  # rows per day for the statistical checks: SEs of ~0.1–0.2 points

ASSISTANT = ModelProfile(
    model_id="assistant",
    kind="llm",
    rows_per_day=N,
    accuracy=0.90,
    error_rate=0.02,
    latency_median_ms=900.0,
    latency_sigma=0.5,
    output_types={"answer": 0.7, "summary": 0.25, "refusal": 0.05},
    segments={"billing": 0.3, "shipping": 0.3, "returns": 0.25, "technical": 0.15},
)
EXTRACTOR = ModelProfile(
    model_id="extractor",
    kind="extractor",
    rows_per_day=N,
    accuracy=0.95,
    error_rate=0.01,
    latency_median_ms=250.0,
    latency_sigma=0.4,
    output_types={"json": 1.0},
    segments={"scanned": 0.5, "digital_pdf": 0.5},
    columns={"confidence": "score", "latency_ms": "duration_ms"},
    utc_offset_minutes=60,
)
CLASSIFIER = ModelProfile(
    model_id="classifier",
    kind="classifier",
    rows_per_day=N,
    accuracy=0.85,
    error_rate=0.005,
    latency_median_ms=10.0,
    latency_sigma=0.4,
    output_types={"label": 1.0},
    segments={"consumer": 0.7, "smb": 0.3},
    label_coverage=0.6,
    n_features=4,
)


def degraded(profile: ModelProfile, kind: str, size: float, **scope: object) -> ModelProfile:
    """``profile`` with one degradation active all day."""
    d = Degradation(kind, size, start=MIDNIGHT, **scope)  # type: ignore[arg-type]
    return dataclasses.replace(profile, degradations=(d,))


def outcomes(table: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """(confidence, correct) of the judged rows, whatever the model kind and column names."""
    conf_col = "score" if "score" in table.column_names else "confidence"
    if "label" in table.column_names:
        judged = pc.is_valid(table["label"])
        correct = pc.equal(table["prediction"], table["label"]).filter(judged)
    else:
        judged = pc.is_valid(table["correct"])
        correct = table["correct"].filter(judged)
    conf = table[conf_col].filter(judged).to_numpy()
    return conf, np.asarray(correct.to_numpy(zero_copy_only=False), dtype=bool)


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """Top-label ECE with equal-width bins (Guo et al. 2017), computed independently here."""
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            gap = abs(correct[in_bin].mean() - confidence[in_bin].mean())
            total += in_bin.mean() * gap
    return total


def se(p: float, n: int) -> float:
    return float(np.sqrt(p * (1.0 - p) / n))


def error_rate(table: pa.Table) -> float:
    return float(np.mean(table["error"].to_numpy(zero_copy_only=False)))


# --------------------------------------------------------------------------- determinism
def test_the_same_seed_gives_the_same_table_and_another_seed_does_not() -> None:
    for profile in (ASSISTANT, EXTRACTOR, CLASSIFIER):
        small = dataclasses.replace(profile, rows_per_day=2000)
        first = simulate_day(small, DAY, seed=7)
        assert first.equals(simulate_day(small, DAY, seed=7))
        assert not first.equals(simulate_day(small, DAY, seed=8))
    days_a = list(simulate_logs(demo_profiles(DAY), DAY, 2, seed=3))
    days_b = list(simulate_logs(demo_profiles(DAY), DAY, 2, seed=3))
    assert [d for d, _ in days_a] == [DAY, DAY + timedelta(days=1)]
    assert all(a.equals(b) for (_, a), (_, b) in zip(days_a, days_b, strict=True))


def test_a_model_and_a_day_have_their_own_stream() -> None:
    """Adding a model to the run does not change another model's rows."""
    alone = next(simulate_logs([ASSISTANT], DAY, 1, seed=5))[1]
    together = next(simulate_logs([CLASSIFIER, ASSISTANT], DAY, 1, seed=5))[1]
    mine = together.filter(pc.equal(together["model_id"], "assistant"))
    assert mine["prediction_id"].equals(alone["prediction_id"])
    assert mine["confidence"].equals(alone["confidence"])


# --------------------------------------------------------------------------- healthy models
@pytest.mark.parametrize("profile", [ASSISTANT, EXTRACTOR, CLASSIFIER], ids=lambda p: p.kind)
def test_a_healthy_model_has_its_profile_accuracy_errors_and_calibration(
    profile: ModelProfile,
) -> None:
    table = simulate_day(profile, DAY, seed=11)
    assert abs(table.num_rows - profile.rows_per_day) < 4 * np.sqrt(profile.rows_per_day)
    conf, correct = outcomes(table)
    assert abs(correct.mean() - profile.accuracy) < 3 * se(profile.accuracy, len(correct))
    assert abs(error_rate(table) - profile.error_rate) < 3 * se(profile.error_rate, table.num_rows)
    assert ece(conf, correct) < 0.02
    assert abs(conf.mean() - correct.mean()) < 0.01
    expected_judged = profile.label_coverage * (1 - profile.error_rate) * table.num_rows
    assert abs(len(correct) - expected_judged) < 4 * np.sqrt(expected_judged)


def test_healthy_latency_is_lognormal_with_the_profile_median() -> None:
    table = simulate_day(ASSISTANT, DAY, seed=2)
    latency = table["latency_ms"].to_numpy()
    assert latency.min() > 0
    assert np.median(latency) == pytest.approx(900.0, rel=0.02)
    assert np.std(np.log(latency)) == pytest.approx(0.5, rel=0.03)


def test_traffic_is_busier_in_the_utc_afternoon_than_at_night() -> None:
    table = simulate_day(ASSISTANT, DAY, seed=2)
    ts = table["timestamp"]
    assert str(ts.type) == "timestamp[ms, tz=UTC]"
    hours = pc.hour(ts).to_numpy()
    per_hour = np.bincount(hours, minlength=24)
    assert per_hour[13:16].mean() > 3 * per_hour[1:4].mean()
    assert pc.min(ts).as_py() >= MIDNIGHT
    assert pc.max(ts).as_py() < MIDNIGHT + timedelta(days=1)
    assert pc.all(pc.greater_equal(ts[1:], ts[:-1])).as_py()


def test_error_rows_carry_no_outcome() -> None:
    for profile in (ASSISTANT, EXTRACTOR, CLASSIFIER):
        table = simulate_day(dataclasses.replace(profile, rows_per_day=5000), DAY, seed=4)
        errors = table.filter(table["error"])
        assert errors.num_rows > 0
        for name in ("correct", "quality_score", "format_valid", "prediction", "label"):
            if name in errors.column_names:
                assert errors[name].null_count == errors.num_rows, name
        assert errors["confidence" if profile.kind != "extractor" else "score"].null_count == 0


def test_llm_rows_have_evaluator_quality_where_judged_and_annotations_on_failures() -> None:
    table = simulate_day(ASSISTANT, DAY, seed=9)
    judged = pc.is_valid(table["correct"])
    assert pc.equal(judged, pc.is_valid(table["quality_score"])).to_numpy().all()
    quality = table["quality_score"].drop_null().to_numpy()
    assert quality.min() >= 0.0 and quality.max() <= 1.0
    good = table.filter(pc.fill_null(table["correct"], False))["quality_score"].to_numpy()
    assert good.mean() > quality.mean()
    annotated = table.filter(pc.is_valid(table["failure_mode"]))
    assert pc.all(pc.invert(annotated["correct"])).as_py()  # only failures are annotated
    failures = pc.sum(pc.invert(table["correct"].drop_null())).as_py()
    assert annotated.num_rows / failures == pytest.approx(ASSISTANT.annotation_rate, abs=0.03)
    texts = set(annotated["failure_mode"].to_pylist())
    assert {"made up citation", "wrong refund amount", "factual_error"} <= texts
    assert "answered a billing question as tech support" in texts
    misrouted = annotated.filter(
        pc.equal(annotated["failure_mode"], "answered a billing question as tech support")
    )
    assert set(misrouted["segment"].to_pylist()) == {"billing"}


def test_classifier_logs_prediction_label_and_features_instead_of_correct() -> None:
    table = simulate_day(CLASSIFIER, DAY, seed=3)
    assert "correct" not in table.column_names
    assert "failure_mode" not in table.column_names
    assert set(table["prediction"].drop_null().to_pylist()) == {"churn", "retain"}
    unlabeled = table["label"].null_count / table.num_rows
    assert unlabeled == pytest.approx(1 - 0.6 * (1 - 0.005), abs=0.01)
    assert table.schema.field("feature.tenure_months").type == pa.int64()
    assert table.schema.field("feature.support_tickets").type == pa.int64()
    assert table.schema.field("feature.monthly_spend").type == pa.float64()
    assert set(table["feature.plan"].to_pylist()) == {"basic", "standard", "premium"}
    conf = table["confidence"].to_numpy()
    assert conf.min() >= 0.5  # a binary top-label probability
    churners = table.filter(pc.equal(table["label"], "churn"))
    stayers = table.filter(pc.equal(table["label"], "retain"))
    assert (
        pc.mean(churners["feature.tenure_months"]).as_py()
        < pc.mean(stayers["feature.tenure_months"]).as_py()
    )


def test_extractor_logs_format_validity_with_a_small_healthy_invalid_share() -> None:
    table = simulate_day(EXTRACTOR, DAY, seed=6)
    valid = table["format_valid"]
    assert valid.null_count == pc.sum(table["error"]).as_py()
    invalid_share = 1 - pc.mean(valid).as_py()
    assert invalid_share == pytest.approx(0.004, abs=0.002)
    invalid = table.filter(pc.invert(pc.fill_null(valid, True)))
    assert not any(invalid["correct"].drop_null().to_pylist())


# --------------------------------------------------------------------------- column mapping
def test_the_register_column_mapping_is_applied() -> None:
    table = simulate_day(EXTRACTOR, DAY, seed=1)
    assert {"score", "duration_ms"} <= set(table.column_names)
    assert not {"confidence", "latency_ms"} & set(table.column_names)
    assert pc.min(table["score"]).as_py() >= 0 and pc.max(table["score"]).as_py() <= 1
    invoice = next(p for p in demo_profiles(DAY) if p.model_id == "invoice-extractor")
    names = simulate_day(invoice, DAY, seed=1).column_names
    assert "score" in names and "duration_ms" in names and "confidence" not in names


def test_prediction_ids_are_unique_across_models_and_days() -> None:
    ids: list[str] = []
    for _, table in simulate_logs(demo_profiles(DAY), DAY, 3, seed=1):
        ids.extend(table["prediction_id"].to_pylist())
    assert len(ids) == len(set(ids)) > 10_000
    assert "support-assistant-20261103-0000000" in ids


# --------------------------------------------------------------------------- degradations
def test_accuracy_drop_lowers_accuracy_by_its_size_and_leaves_confidence_unchanged() -> None:
    healthy = simulate_day(ASSISTANT, DAY, seed=21)
    worse = simulate_day(degraded(ASSISTANT, "accuracy_drop", 0.05), DAY, seed=21)
    conf, correct = outcomes(worse)
    target = ASSISTANT.accuracy - 0.05
    assert abs(correct.mean() - target) < 3 * se(target, len(correct))
    assert worse["confidence"].equals(healthy["confidence"])
    # Confidence did not follow accuracy down: the model is now overconfident by ~size.
    assert conf.mean() - correct.mean() == pytest.approx(0.05, abs=0.01)
    assert ece(conf, correct) > 0.04


def test_calibration_shift_raises_confidence_by_its_size_and_keeps_accuracy() -> None:
    healthy = simulate_day(ASSISTANT, DAY, seed=22)
    shifted = simulate_day(degraded(ASSISTANT, "calibration_shift", 0.05), DAY, seed=22)
    conf, correct = outcomes(shifted)
    assert abs(correct.mean() - ASSISTANT.accuracy) < 3 * se(ASSISTANT.accuracy, len(correct))
    assert shifted["correct"].equals(healthy["correct"])
    rise = pc.mean(shifted["confidence"]).as_py() - pc.mean(healthy["confidence"]).as_py()
    assert rise == pytest.approx(0.05, abs=0.001)
    assert pc.max(shifted["confidence"]).as_py() <= 1.0
    assert conf.mean() - correct.mean() == pytest.approx(0.05, abs=0.01)  # now overconfident
    lower = simulate_day(degraded(CLASSIFIER, "calibration_shift", -0.05), DAY, seed=22)
    assert pc.min(lower["confidence"]).as_py() >= 0.5


def test_latency_multiplier_scales_p95() -> None:
    healthy = simulate_day(ASSISTANT, DAY, seed=23)
    slow = simulate_day(degraded(ASSISTANT, "latency_multiplier", 1.3), DAY, seed=24)
    ratio = np.percentile(slow["latency_ms"], 95) / np.percentile(healthy["latency_ms"], 95)
    assert ratio == pytest.approx(1.3, rel=0.05)


def test_error_rate_multiplier_multiplies_the_error_rate() -> None:
    noisy = simulate_day(degraded(ASSISTANT, "error_rate_multiplier", 3.0), DAY, seed=25)
    assert abs(error_rate(noisy) - 0.06) < 3 * se(0.06, noisy.num_rows)


def test_segment_failure_sets_the_failure_rate_of_that_segment_only() -> None:
    broken = simulate_day(
        degraded(ASSISTANT, "segment_failure", 0.4, segment="billing"), DAY, seed=26
    )
    billing = broken.filter(pc.equal(broken["segment"], "billing"))
    others = broken.filter(pc.not_equal(broken["segment"], "billing"))
    _, correct = outcomes(billing)
    assert abs((1 - correct.mean()) - 0.4) < 3 * se(0.4, len(correct))
    _, fine = outcomes(others)
    assert abs(fine.mean() - ASSISTANT.accuracy) < 3 * se(ASSISTANT.accuracy, len(fine))
    modes = billing["failure_mode"].drop_null().to_pylist()
    assert modes.count("answered a billing question as tech support") > 0.5 * len(modes)


def test_hallucination_makes_confident_wrong_answers_annotated_made_up_citation() -> None:
    healthy = simulate_day(ASSISTANT, DAY, seed=27)
    sick = simulate_day(
        degraded(ASSISTANT, "hallucination", 0.10, output_type="answer"), DAY, seed=27
    )
    answers = sick.filter(pc.equal(sick["output_type"], "answer"))
    _, correct = outcomes(answers)
    target = ASSISTANT.accuracy - 0.10
    assert abs(correct.mean() - target) < 3 * se(target, len(correct))
    summaries = sick.filter(pc.equal(sick["output_type"], "summary"))
    _, summary_correct = outcomes(summaries)
    assert abs(summary_correct.mean() - ASSISTANT.accuracy) < 3 * se(
        ASSISTANT.accuracy, len(summary_correct)
    )

    def cited(table: pa.Table) -> float:
        judged = table.filter(pc.is_valid(table["correct"]))
        modes = judged["failure_mode"].to_pylist()
        return float(modes.count("made up citation") / len(modes))

    healthy_answers = healthy.filter(pc.equal(healthy["output_type"], "answer"))
    rise = cited(answers) - cited(healthy_answers)
    assert abs(rise - 0.10) < 3 * se(0.10, len(correct))
    assert sick["confidence"].equals(healthy["confidence"])


def test_format_failure_sets_the_invalid_share_of_json_outputs() -> None:
    broken = simulate_day(degraded(EXTRACTOR, "format_failure", 0.05), DAY, seed=28)
    valid = broken["format_valid"].drop_null()
    invalid = 1 - pc.mean(valid).as_py()
    assert abs(invalid - 0.05) < 3 * se(0.05, len(valid))
    modes = broken["failure_mode"].drop_null().to_pylist()
    assert "bad json" in modes and "format_violation" in modes


def test_feature_shift_moves_the_named_feature_only() -> None:
    healthy = simulate_day(CLASSIFIER, DAY, seed=29)
    drifted = simulate_day(
        degraded(CLASSIFIER, "feature_shift", 0.5, feature="monthly_spend"), DAY, seed=29
    )
    spend = healthy["feature.monthly_spend"].to_numpy()
    moved = drifted["feature.monthly_spend"].to_numpy()
    assert (moved.mean() - spend.mean()) / spend.std() == pytest.approx(0.5, abs=0.05)
    for name in ("feature.tenure_months", "feature.support_tickets", "feature.plan"):
        assert drifted[name].equals(healthy[name])
    assert drifted["label"].equals(healthy["label"])  # outcomes are untouched


def test_an_outage_logs_no_rows_and_keeps_the_schema() -> None:
    table = simulate_day(degraded(ASSISTANT, "outage", 0.0), DAY, seed=30)
    assert table.num_rows == 0
    assert table.schema == simulate_day(ASSISTANT, DAY, seed=30).schema
    partial = dataclasses.replace(
        ASSISTANT,
        degradations=(
            Degradation(
                "outage",
                0.0,
                start=MIDNIGHT + timedelta(hours=10),
                end=MIDNIGHT + timedelta(hours=14),
            ),
        ),
    )
    hours = pc.hour(simulate_day(partial, DAY, seed=30)["timestamp"]).to_numpy()
    assert not np.isin(hours, [10, 11, 12, 13]).any()
    assert np.isin(hours, [9, 14]).any()


def test_a_degradation_acts_only_inside_its_window() -> None:
    window = Degradation(
        "accuracy_drop", 0.2, start=MIDNIGHT + timedelta(days=1), end=MIDNIGHT + timedelta(days=2)
    )
    profile = dataclasses.replace(ASSISTANT, rows_per_day=5000, degradations=(window,))
    plain = dataclasses.replace(ASSISTANT, rows_per_day=5000)
    for offset, touched in ((0, False), (1, True), (2, False)):
        day = DAY + timedelta(days=offset)
        same = simulate_day(profile, day, seed=1).equals(simulate_day(plain, day, seed=1))
        assert same is not touched


def test_profiles_and_degradations_reject_what_they_cannot_simulate() -> None:
    with pytest.raises(ValueError, match="format_failure needs JSON"):
        degraded(ASSISTANT, "format_failure", 0.1)
    with pytest.raises(ValueError, match="unknown segment"):
        degraded(ASSISTANT, "segment_failure", 0.3, segment="payroll")
    with pytest.raises(ValueError, match="share in"):
        Degradation("accuracy_drop", 1.5, start=MIDNIGHT)
    with pytest.raises(ValueError, match="unknown contract names"):
        dataclasses.replace(EXTRACTOR, columns={"confidance": "score"})
    with pytest.raises(ValueError, match="accuracy"):
        dataclasses.replace(CLASSIFIER, accuracy=0.4)


# --------------------------------------------------------------------------- files
def test_logs_are_written_partitioned_by_day_with_stable_bytes(tmp_path: Path) -> None:
    profiles = [dataclasses.replace(p, rows_per_day=300) for p in (ASSISTANT, EXTRACTOR)]
    first = write_logs(profiles, DAY, 2, tmp_path / "a", seed=1)
    again = write_logs(profiles, DAY, 2, tmp_path / "b", seed=1)
    assert [p.relative_to(tmp_path / "a").as_posix() for p in first] == [
        "date=2026-11-03/part-0.parquet",
        "date=2026-11-04/part-0.parquet",
    ]
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in first]
    assert digest == [hashlib.sha256(p.read_bytes()).hexdigest() for p in again]
    table = pq.read_table(first[0])
    assert set(table["model_id"].to_pylist()) == {"assistant", "extractor"}
    extractor_rows = table.filter(pc.equal(table["model_id"], "extractor"))
    assert extractor_rows["confidence"].null_count == extractor_rows.num_rows
    assert extractor_rows["score"].null_count == 0


def test_text_logs_carry_iso_timestamps_with_each_models_offset(tmp_path: Path) -> None:
    profiles = [dataclasses.replace(p, rows_per_day=200) for p in (ASSISTANT, EXTRACTOR)]
    [csv_file] = write_logs(profiles, DAY, 1, tmp_path, seed=1, fmt="csv")
    assert csv_file.name == "part-0.csv"
    [jsonl] = write_logs(profiles, DAY, 2, tmp_path, seed=1, fmt="jsonl", partition_by_day=False)
    assert jsonl.name == "predictions.jsonl"
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert len(rows) > 600
    by_model = {r["model_id"]: r for r in rows}
    assert by_model["assistant"]["timestamp"].endswith("+00:00")
    assert by_model["extractor"]["timestamp"].endswith("+01:00")
    assert "score" not in by_model["assistant"]  # each row has its own model's keys only
    stamps = [datetime.fromisoformat(r["timestamp"]) for r in rows]
    assert stamps == sorted(stamps)
    header = csv_file.read_text().splitlines()[0]
    assert '"timestamp"' in header and '"duration_ms"' in header


def test_late_labels_cover_only_rows_unlabeled_in_the_logs() -> None:
    profile = dataclasses.replace(ASSISTANT, rows_per_day=10_000, label_coverage=0.5)
    labels = late_labels([profile], DAY, 1, seed=1, share=0.5)
    log = simulate_day(profile, DAY, seed=1)
    unlabeled = log.filter(pc.and_(pc.is_null(log["correct"]), pc.invert(log["error"])))
    assert labels.column_names == ["prediction_id", "correct"]
    assert pc.all(pc.is_in(labels["prediction_id"], unlabeled["prediction_id"])).as_py()
    assert labels.num_rows == pytest.approx(0.5 * unlabeled.num_rows, rel=0.05)
    accuracy = pc.mean(labels["correct"]).as_py()
    assert abs(accuracy - profile.accuracy) < 3 * se(profile.accuracy, labels.num_rows)


# --------------------------------------------------------------------------- the demo story
def test_demo_support_assistant_degrades_mid_month_and_recovers() -> None:
    start = date(2026, 10, 1)
    assistant = next(p for p in demo_profiles(start) if p.model_id == "support-assistant")
    accuracy = {}
    for night in (14, 16, 20, 24):
        _, correct = outcomes(simulate_day(assistant, date(2026, 10, night), seed=20261001))
        accuracy[night] = correct.mean()
    assert accuracy[14] > 0.90 and accuracy[24] > 0.90
    assert 0.80 < accuracy[16] < 0.87 and 0.80 < accuracy[20] < 0.87


def test_the_shipped_demo_month_is_what_the_simulator_produces() -> None:
    """data/demo must be regenerated (data/make_demo_data.py) whenever the simulator changes."""
    script = Path(__file__).resolve().parents[1] / "data" / "make_demo_data.py"
    spec = importlib.util.spec_from_file_location("make_demo_data", script)
    assert spec is not None and spec.loader is not None
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    profiles = demo_profiles(demo.START)
    for night in (0, 15, demo.NIGHTS - 1):
        day = demo.START + timedelta(days=night)
        shipped = pq.read_table(demo.DEMO_DIR / "logs" / f"date={day}" / "part-0.parquet")
        _, fresh = next(simulate_logs(profiles, day, 1, seed=demo.SEED))
        assert shipped.equals(fresh), f"data/demo is stale for {day}"
    labels = pq.read_table(demo.DEMO_DIR / "labels.parquet")
    late = [p for p in profiles if p.model_id in demo.LATE_LABEL_MODELS]
    first = demo.START + timedelta(days=demo.NIGHTS - demo.LATE_LABEL_NIGHTS)
    expected = late_labels(
        late, first, demo.LATE_LABEL_NIGHTS, seed=demo.SEED, share=demo.LATE_LABEL_SHARE
    )
    assert labels.equals(expected)
    sizes = [f.stat().st_size for f in demo.DEMO_DIR.rglob("*.parquet")]
    assert len(sizes) == demo.NIGHTS + 1 and sum(sizes) < 8_000_000


# --------------------------------------------------------------------------- benchmarks
# Its speed is measured in benchmarks/ (bench_check.py), never in a test.
def test_fast_table_is_contract_shaped_calibrated_and_reproducible() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    small = fast_table(50_000, seed=1, start=start, first_id=9_995)
    assert small.num_rows == 50_000 and 8 <= small.num_columns <= 12
    assert fast_table(0, start=start).num_rows == 0
    assert fast_table(300_000, start=start)["prediction_id"][-1].as_py() == "pred000000299999"
    assert small["prediction_id"][0].as_py() == "pred000000009995"
    assert pc.count_distinct(small["prediction_id"]).as_py() == small.num_rows
    assert set(small["model_id"].to_pylist()) == {"model-00", "model-01", "model-02"}
    conf, correct = outcomes(small)
    assert ece(conf, correct) < 0.03
    assert small.equals(fast_table(50_000, seed=1, start=start, first_id=9_995))
