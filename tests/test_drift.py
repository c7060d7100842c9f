"""Drift between windows with Evidently, on the windows' deterministic bottom-k samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scenario_logs import CURRENT, REFERENCE, chunks, healthy, summarise, window

from monitor.drift import MIN_SAMPLE_ROWS, compute_drift
from monitor.report import DriftColumn, DriftSummary
from monitor.stats.aggregates import WindowAggregate
from thresholds.schema import DriftLimits

K = 2000
LIMITS = DriftLimits(sample_size=K)
FEATURES = [f"feature.x{i}" for i in range(6)] + ["feature.channel"]


def windows(current_rows: int = 3000, *, seed: int = 3, **changes: object,
            ) -> tuple[WindowAggregate, WindowAggregate]:
    current = window(healthy(current_rows).but(**changes), CURRENT, seed=seed, sample_size=K)
    reference = window(healthy(20_000), REFERENCE, seed=seed + 1, sample_size=K)
    return current, reference


def by_column(summary: DriftSummary) -> dict[str, DriftColumn]:
    return {c.column: c for c in summary.columns}


@pytest.fixture(scope="module")
def shifted() -> DriftSummary:
    current, reference = windows(feature_shift_sd=1.0,
                                 predictions={"refund": 0.15, "escalate": 0.35, "close": 0.5})
    return compute_drift(current, reference, LIMITS, model_id="support-bot")


def test_a_one_sd_feature_shift_and_a_new_prediction_mix_are_detected(
    shifted: DriftSummary,
) -> None:
    cols = by_column(shifted)
    assert [c.column for c in shifted.columns] == [*sorted(FEATURES), "prediction", "confidence"]
    assert [c.kind for c in shifted.columns] == ["feature"] * 7 + ["prediction", "confidence"]
    x0 = cols["feature.x0"]
    # 2 000 rows a side: Evidently uses the normed Wasserstein distance (threshold 0.1);
    # a 1 sd mean shift of a unit normal moves it by about 1.
    assert x0.method == "Wasserstein distance (normed)"
    assert x0.drifted and x0.statistic == pytest.approx(1.0, abs=0.1)
    assert x0.p_value is None and x0.threshold == pytest.approx(0.1)
    pred = cols["prediction"]
    assert pred.method == "Jensen-Shannon distance" and pred.drifted
    assert pred.statistic is not None and pred.statistic > 0.1
    # Nothing else moved.
    assert [c.column for c in shifted.columns if c.drifted] == ["feature.x0", "prediction"]
    assert shifted.share_drifted_features == pytest.approx(1 / 7)
    assert shifted.skipped_reason is None


def test_the_same_traffic_on_other_days_shows_no_drift() -> None:
    current, reference = windows()
    summary = compute_drift(current, reference, LIMITS)
    assert [c.column for c in summary.columns if c.drifted] == []
    assert summary.share_drifted_features == 0.0
    assert all(c.statistic is not None and c.statistic < 0.1 for c in summary.columns)


def test_small_samples_use_tests_with_the_registers_p_value() -> None:
    # 800 rows a side: Evidently switches to tests (K-S for numbers, chi-square/Z for
    # categories) and the register's significance level is the threshold.
    current, reference = windows(800, feature_shift_sd=1.0)
    summary = compute_drift(current, reference, DriftLimits(sample_size=800, p_value=0.01))
    cols = by_column(summary)
    assert summary.sample_size_reference == 800
    assert cols["feature.x0"].method == "K-S p_value"
    assert cols["feature.x0"].threshold == pytest.approx(0.01)
    assert cols["feature.x0"].p_value is not None and cols["feature.x0"].p_value < 1e-12
    assert cols["feature.x0"].drifted
    assert cols["prediction"].method == "chi-square p_value"
    assert cols["feature.x1"].p_value is not None and cols["feature.x1"].p_value > 0.01
    assert not cols["feature.x1"].drifted


def test_sample_sizes_are_the_smaller_of_k_and_the_window_rows() -> None:
    current, reference = windows(1200)
    summary = compute_drift(current, reference, LIMITS)
    assert (summary.sample_size_current, summary.sample_size_reference) == (1200, K)
    # The register can ask for fewer rows than the window kept.
    smaller = compute_drift(current, reference, DriftLimits(sample_size=500))
    assert (smaller.sample_size_current, smaller.sample_size_reference) == (500, 500)


def test_evidentlys_html_page_is_written(tmp_path: Path) -> None:
    current, reference = windows(feature_shift_sd=1.0)
    path = tmp_path / "drift" / "support-bot.html"
    summary = compute_drift(current, reference, LIMITS, html_path=path, model_id="support-bot")
    assert summary.html == str(path)
    text = path.read_text(encoding="utf-8")
    assert len(text) > 10_000
    assert text.lstrip().lower().startswith(("<!doctype html", "<html"))
    assert "feature.x0" in text
    assert "<script src=" not in text  # self-contained: opens offline


def test_results_are_identical_on_a_second_run_and_whatever_the_chunking() -> None:
    current, reference = windows(feature_shift_sd=0.3)
    first = compute_drift(current, reference, LIMITS)
    assert compute_drift(current, reference, LIMITS) == first
    # The same rows summarised in two parts and merged give the same samples, so the same drift.
    rows = chunks(healthy(3000).but(feature_shift_sd=0.3), CURRENT, seed=3)
    merged = summarise(rows[1:], CURRENT, sample_size=K).merge(
        summarise(rows[:1], CURRENT, sample_size=K))
    assert compute_drift(merged, reference, LIMITS) == first


def test_too_few_sample_rows_skip_drift_with_a_reason() -> None:
    current, reference = windows(MIN_SAMPLE_ROWS - 1)
    summary = compute_drift(current, reference, LIMITS, model_id="support-bot")
    assert summary.columns == [] and summary.share_drifted_features is None
    assert summary.sample_size_current == MIN_SAMPLE_ROWS - 1
    assert summary.skipped_reason is not None
    assert "current window has 29 sample rows" in summary.skipped_reason


def test_disabled_drift_is_skipped() -> None:
    current, reference = windows(100)
    summary = compute_drift(current, reference, DriftLimits(enabled=False))
    assert summary.columns == [] and summary.skipped_reason is not None


def test_a_column_empty_or_missing_in_one_window_is_not_comparable_and_does_not_crash() -> None:
    current, reference = windows(500)
    current.sample.columns["feature.x1"] = np.full(len(current.sample.hashes), np.nan)
    current.sample.columns["feature.new"] = np.ones(len(current.sample.hashes))
    summary = compute_drift(current, reference, LIMITS)
    cols = by_column(summary)
    assert cols["feature.x1"].method == "not comparable: no values in the current window"
    assert cols["feature.new"].method == "not comparable: absent from the reference window"
    assert not cols["feature.x1"].drifted and cols["feature.x1"].statistic is None
    # Shares count comparable features only: 6 of the 8 feature columns.
    compared = [c for c in summary.columns if c.kind == "feature" and c.statistic is not None]
    assert len(compared) == 6
    assert summary.share_drifted_features == pytest.approx(
        sum(c.drifted for c in compared) / 6)


def test_a_column_cap_compares_the_first_features_by_name_and_says_what_it_left_out() -> None:
    """``thresholds.drift.max_columns`` (issue 17: 2,000 features took ten minutes and a
    75 MB page): the first features by name are compared, prediction and confidence
    always, and the summary counts and names the rest."""
    current, reference = windows(feature_shift_sd=1.0)
    capped = compute_drift(current, reference, DriftLimits(sample_size=K, max_columns=3))
    kept = sorted(FEATURES)[:3]
    assert [c.column for c in capped.columns] == [*kept, "prediction", "confidence"]
    assert capped.columns_not_compared == 4
    assert capped.note is not None
    assert "compared 3 of 7 feature columns" in capped.note
    assert "thresholds.drift.max_columns: 3" in capped.note
    for left_out in sorted(FEATURES)[3:]:
        assert left_out in capped.note
    assert capped.share_drifted_features == pytest.approx(1 / 3)  # x0 of x0, x1, x2
    whole = compute_drift(current, reference, LIMITS)
    assert whole.columns_not_compared == 0 and whole.note is None
    # The same columns get the same statistics whether or not others were compared.
    same = {c.column: c.statistic for c in whole.columns}
    assert all(same[c.column] == c.statistic for c in capped.columns)


def test_the_column_choice_is_the_same_whatever_order_columns_arrive_in() -> None:
    from monitor.stats.drift_columns import choose_drift_columns

    names = [f"feature.f{i:04d}" for i in range(2000)] + ["confidence", "prediction"]
    forward = choose_drift_columns(names, max_features=100)
    backward = choose_drift_columns(reversed(names), max_features=100)
    assert forward == backward
    assert forward.compared[:2] == [("feature.f0000", "feature"), ("feature.f0001", "feature")]
    assert forward.compared[-2:] == [("prediction", "prediction"), ("confidence", "confidence")]
    assert len(forward.compared) == 102 and forward.left_out == 1900
    with pytest.raises(ValueError, match="at least 1"):
        choose_drift_columns(names, max_features=0)
