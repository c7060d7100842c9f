"""The night's drift over every row, wired through the window aggregates (#21).

Windows are folded chunk by chunk into :class:`~monitor.stats.aggregates.WindowAggregate`
exactly as the nightly pass does, and :func:`monitor.drift.compute_drift` is compared with
Evidently 0.7 run directly on every row of the same two windows (``evidently_oracle``).
On every column the method, the threshold and the verdict must be Evidently's, and
Evidently's score must lie in the interval the summaries guarantee: a single point when
they are exact, else within the bucket error bound of ``monitor.drift`` (for the normed
Wasserstein distance ``ε = (E_ref[h] + E_cur[h]) / σ_ref``, ``h`` a value's bucket
half-width). The only other slack is :data:`ROUNDING` (sums in another order, and the
report's 12 significant digits). Evidently itself renders the drill-down page from the
windows' bounded samples (:mod:`monitor.drift_evidently`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from evidently_oracle import Columns, evidently_drift
from scenario_logs import CURRENT, REFERENCE, Traffic, chunks, healthy, summarise

from monitor.chunk import ModelChunk
from monitor.drift import MIN_ROWS, compute_drift
from monitor.drift_evidently import drift_page
from monitor.drift_evidently import evidently_drift as evidently_on_samples
from monitor.report import DriftColumn, DriftSummary
from monitor.stats.aggregates import WindowAggregate, WindowParams
from thresholds.schema import DriftLimits

#: Float rounding between two summation orders, and the report's 12 significant digits.
ROUNDING = 1e-9
#: A bucketed window's guaranteed Wasserstein interval stays this narrow on these data
#: (normal features, Beta confidences: ~8 mantissa bits kept, see ``monitor.drift``).
WASSERSTEIN_BOUND = 5e-3
K = 2000
LIMITS = DriftLimits(sample_size=K)
FEATURES = [f"feature.x{i}" for i in range(6)] + ["feature.channel"]


def rows(traffic: Traffic, span: tuple[int, int], seed: int) -> list[ModelChunk]:
    return chunks(traffic, span, seed=seed)


def whole(window: list[ModelChunk]) -> Columns:
    """Every row of a window as columns, as Evidently gets them."""
    columns: Columns = {
        f"feature.{name}": np.concatenate([c.features[name] for c in window])
        for name in window[0].features
    }
    columns["prediction"] = np.concatenate(
        [np.array(c.prediction.to_list() if c.prediction else [], dtype=object) for c in window]
    )
    columns["confidence"] = np.concatenate([c.confidence for c in window])
    return columns


def by_column(summary: DriftSummary) -> dict[str, DriftColumn]:
    return {c.column: c for c in summary.columns}


def assert_evidentlys_verdicts(
    current: list[ModelChunk], reference: list[ModelChunk], limits: DriftLimits = LIMITS
) -> DriftSummary:
    """compute_drift on the folded windows against Evidently on the same full windows."""
    ours = compute_drift(
        summarise(current, CURRENT, sample_size=K),
        summarise(reference, REFERENCE, sample_size=K),
        limits,
    )
    theirs = evidently_drift(whole(current), whole(reference))
    assert [c.column for c in ours.columns] == [*sorted(FEATURES), "prediction", "confidence"]
    for column in ours.columns:
        method, score, drifted, threshold = theirs[column.column]
        assert (column.method, column.threshold, column.drifted) == (method, threshold, drifted)
        assert column.statistic is not None
        assert column.statistic_low is not None and column.statistic_high is not None
        slack = ROUNDING * max(1.0, abs(score))
        assert column.statistic_low - slack <= score <= column.statistic_high + slack, column
        assert abs(column.statistic - score) <= (
            column.statistic_high - column.statistic_low + slack
        )
        if column.statistic_low != column.statistic_high:
            assert method == "Wasserstein distance (normed)"
            assert column.statistic_high - column.statistic_low <= 2 * WASSERSTEIN_BOUND
    return ours


# ------------------------------------------------------------ agreement on full windows


def test_a_one_sd_feature_shift_and_a_new_prediction_mix_over_whole_windows() -> None:
    # 30 000 rows tonight, 60 000 in the reference: Evidently's distances, and more than
    # 10 000 values a column, so the numeric columns are bucketed.
    current = rows(
        healthy(30_000).but(
            feature_shift_sd=1.0, predictions={"refund": 0.15, "escalate": 0.35, "close": 0.5}
        ),
        CURRENT,
        3,
    )
    summary = assert_evidentlys_verdicts(current, rows(healthy(60_000), REFERENCE, 4))
    cols = by_column(summary)
    x0 = cols["feature.x0"]
    assert x0.method == "Wasserstein distance (normed)" and x0.drifted
    assert x0.statistic == pytest.approx(1.0, abs=0.05)
    assert x0.statistic_low != x0.statistic_high  # bucketed, and still within the bound
    assert cols["prediction"].method == "Jensen-Shannon distance" and cols["prediction"].drifted
    assert [c.column for c in summary.columns if c.drifted] == ["feature.x0", "prediction"]
    assert summary.share_drifted_features == pytest.approx(1 / 7)
    assert (summary.sample_size_current, summary.sample_size_reference) == (30_000, 60_000)
    assert (x0.n_current, x0.n_reference) == (30_000, 60_000)


def test_the_same_traffic_on_other_days_shows_no_drift() -> None:
    summary = assert_evidentlys_verdicts(
        rows(healthy(12_000), CURRENT, 5), rows(healthy(24_000), REFERENCE, 6)
    )
    assert [c.column for c in summary.columns if c.drifted] == []
    assert summary.share_drifted_features == 0.0


def test_a_categorical_shift_alone_is_found_by_jensen_shannon() -> None:
    current = rows(
        healthy(5_000).but(predictions={"refund": 0.2, "escalate": 0.2, "close": 0.6}), CURRENT, 7
    )
    summary = assert_evidentlys_verdicts(current, rows(healthy(8_000), REFERENCE, 8))
    pred = by_column(summary)["prediction"]
    assert pred.method == "Jensen-Shannon distance" and pred.drifted
    assert pred.statistic == pred.statistic_low == pred.statistic_high  # exact counts
    assert summary.share_drifted_features == 0.0


def test_small_windows_get_evidentlys_tests_with_the_registers_p_value() -> None:
    # 800 rows a side: K-S for numbers, chi-square for three categories; exact p-values.
    limits = DriftLimits(sample_size=K, p_value=0.01)
    current = rows(healthy(700).but(feature_shift_sd=1.0), CURRENT, 9)
    reference = rows(healthy(800), REFERENCE, 10)
    ours = compute_drift(summarise(current, CURRENT), summarise(reference, REFERENCE), limits)
    theirs = evidently_drift(whole(current), whole(reference), p_value=0.01)
    for column in ours.columns:
        method, score, drifted, threshold = theirs[column.column]
        assert (column.method, column.threshold, column.drifted) == (method, threshold, drifted)
        assert column.statistic == pytest.approx(score, rel=ROUNDING, abs=1e-300)
        assert column.statistic == column.statistic_low == column.statistic_high
    cols = by_column(ours)
    assert cols["feature.x0"].method == "K-S p_value" and cols["feature.x0"].drifted
    assert cols["prediction"].method == "chi-square p_value"
    assert cols["feature.x1"].p_value is not None and cols["feature.x1"].p_value > 0.01


# ------------------------------------------------------------------- merging and shape


def test_results_are_identical_whatever_the_chunking_and_merge_order() -> None:
    current = rows(healthy(24_000).but(feature_shift_sd=0.3), CURRENT, 11)
    reference = summarise(rows(healthy(20_000), REFERENCE, 12), REFERENCE, sample_size=K)
    one_pass = compute_drift(summarise(current, CURRENT, sample_size=K), reference, LIMITS)
    parts = [summarise(current[i::3], CURRENT, sample_size=K) for i in range(3)]
    merged = parts[2].merge(parts[0]).merge(parts[1])
    assert compute_drift(merged, reference, LIMITS) == one_pass


def test_too_few_rows_skip_drift_with_a_reason() -> None:
    current = summarise(rows(healthy(MIN_ROWS - 1), CURRENT, 13), CURRENT)
    reference = summarise(rows(healthy(500), REFERENCE, 14), REFERENCE)
    summary = compute_drift(current, reference, LIMITS, model_id="support-bot")
    assert summary.columns == [] and summary.share_drifted_features is None
    assert summary.sample_size_current == MIN_ROWS - 1
    assert summary.skipped_reason is not None
    assert "current window has 29 rows" in summary.skipped_reason
    assert compute_drift(current, reference, DriftLimits(enabled=False)).skipped_reason


def _with_features(window: list[ModelChunk], **features: np.ndarray) -> list[ModelChunk]:
    """The window's chunks with some feature columns replaced or added (whole-window arrays)."""
    out, start = [], 0
    for chunk in window:
        extra = {name: values[start : start + chunk.n] for name, values in features.items()}
        out.append(ModelChunk(**{**chunk.__dict__, "features": {**chunk.features, **extra}}))
        start += chunk.n
    return out


def test_columns_without_values_are_named_and_another_models_columns_left_out() -> None:
    n_cur, n_ref = 1500, 3000
    current = _with_features(
        rows(healthy(n_cur), CURRENT, 15),
        x1=np.full(n_cur, np.nan),  # this model stopped sending x1
        new=np.ones(n_cur),  # a feature the reference never had
        other_models=np.full(n_cur, np.nan),  # a shared log: another model's column
    )
    reference = _with_features(
        rows(healthy(n_ref), REFERENCE, 16), other_models=np.full(n_ref, np.nan)
    )
    summary = compute_drift(summarise(current, CURRENT), summarise(reference, REFERENCE), LIMITS)
    cols = by_column(summary)
    assert "feature.other_models" not in cols
    assert cols["feature.x1"].method == "not comparable: no values in the current window"
    assert cols["feature.new"].method == "not comparable: absent from the reference window"
    assert not cols["feature.x1"].drifted and cols["feature.x1"].statistic is None
    compared = [c for c in summary.columns if c.kind == "feature" and c.statistic is not None]
    assert len(compared) == 6
    assert summary.share_drifted_features == pytest.approx(sum(c.drifted for c in compared) / 6)


def test_a_column_cap_keeps_only_the_first_features_and_says_what_it_left_out() -> None:
    """``thresholds.drift.max_columns``: the fold keeps distributions of the first features
    by name only (memory bounded in the number of logged columns), and the summary names
    the rest."""
    current = rows(healthy(3000).but(feature_shift_sd=1.0), CURRENT, 17)
    reference = rows(healthy(6000), REFERENCE, 18)
    wide = compute_drift(summarise(current, CURRENT), summarise(reference, REFERENCE), LIMITS)

    def folded(window: list[ModelChunk], span: tuple[int, int]) -> WindowAggregate:
        agg = WindowAggregate(WindowParams(span[0], span[1], (0.6, 0.85), K, 3))
        for chunk in window:
            agg.update(chunk)
        return agg

    cur3, ref3 = folded(current, CURRENT), folded(reference, REFERENCE)
    kept = sorted(FEATURES)[:3]
    assert cur3.drift.feature_columns == tuple(kept)
    capped = compute_drift(cur3, ref3, DriftLimits(sample_size=K, max_columns=3))
    assert [c.column for c in capped.columns] == [*kept, "prediction", "confidence"]
    assert capped.columns_not_compared == 4 and capped.note is not None
    assert "compared 3 of 7 feature columns" in capped.note
    assert all(name in capped.note for name in sorted(FEATURES)[3:])
    same = {c.column: c.statistic for c in wide.columns}
    assert all(same[c.column] == c.statistic for c in capped.columns)


# --------------------------------------------------------------- Evidently's own page


def test_the_drill_down_page_shows_only_the_columns_asked_for(tmp_path: Path) -> None:
    current = summarise(
        rows(healthy(3000).but(feature_shift_sd=1.0), CURRENT, 19), CURRENT, sample_size=K
    )
    reference = summarise(rows(healthy(6000), REFERENCE, 20), REFERENCE, sample_size=K)
    path = tmp_path / "drift" / "support-bot.html"
    page = drift_page(
        current, reference, LIMITS, path=path, model_id="support-bot", columns=["feature.x0"]
    )
    assert page == path
    text = path.read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith(("<!doctype html", "<html"))
    assert "feature.x0" in text and "feature.x3" not in text
    assert "<script src=" not in text  # self-contained: opens offline


def test_evidently_on_samples_reads_the_smaller_of_k_and_the_window() -> None:
    current = summarise(rows(healthy(1200), CURRENT, 21), CURRENT, sample_size=K)
    reference = summarise(rows(healthy(6000), REFERENCE, 22), REFERENCE, sample_size=K)
    summary = evidently_on_samples(current, reference, LIMITS)
    assert (summary.sample_size_current, summary.sample_size_reference) == (1200, K)
    smaller = evidently_on_samples(current, reference, DriftLimits(sample_size=500))
    assert (smaller.sample_size_current, smaller.sample_size_reference) == (500, 500)


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
