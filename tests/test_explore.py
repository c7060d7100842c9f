"""The analyst tables of ``modelhealth.analysis``, read on the shipped demo month.

The month's story (data/README.md): support-assistant hallucinates from 2026-10-16 to
10-23 and recovers on 10-24; churn-classifier's ``monthly_spend`` drifts from 10-22.
Every number here must be the number the nightly check reports for the same night.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from modelhealth.analysis import (
    MISSING_SLICE,
    calibration_by_slice,
    confidence_distribution,
    drift_frame,
    feature_drift_by_night,
    most_drifted_feature,
    nightly_metrics,
    nights_between,
    reliability_frame,
    sample_frame,
    slice_aggregates,
    summarize_window,
    window_drift,
    window_metrics,
)
from monitor.check import CheckOptions, run_check
from monitor.report import ModelReport, Report
from thresholds.loader import LoadedRegister, load_register

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ROOT / "data" / "register.yaml"
LOGS = ROOT / "data" / "demo" / "logs"
LABELS = ROOT / "data" / "demo" / "labels.parquet"
MONTH = nights_between("2026-10-01", "2026-10-30")
HALLUCINATING = set(nights_between("2026-10-16", "2026-10-23"))


@pytest.fixture(scope="module")
def loaded() -> LoadedRegister:
    return load_register(REGISTER)


@pytest.fixture(scope="module")
def assistant_month(loaded: LoadedRegister) -> pd.DataFrame:
    return nightly_metrics(loaded, LOGS, model_id="support-assistant", nights=MONTH)


def _check(
    loaded: LoadedRegister,
    night: date,
    out: Path,
    *,
    labels: Path | None = None,
    drift: bool = False,
) -> Report:
    options = CheckOptions(
        logs=[LOGS],
        as_of=night,
        out_dir=out,
        now=datetime.combine(night + timedelta(days=1), datetime.min.time(), timezone.utc),
        labels=labels,
        drift=drift,
        drift_html=False,
    )
    return run_check(loaded, options)


def _model(report: Report, model_id: str) -> ModelReport:
    return next(m for m in report.models if m.model_id == model_id)


def _row(frame: pd.DataFrame, night: str) -> pd.Series:
    found = frame[frame["night"] == pd.Timestamp(night)]
    assert len(found) == 1
    return found.iloc[0]


# ------------------------------------------------------------------------ nightly metrics


def test_nights_between_includes_both_ends() -> None:
    assert nights_between("2026-10-30", "2026-11-02") == [
        date(2026, 10, 30),
        date(2026, 10, 31),
        date(2026, 11, 1),
        date(2026, 11, 2),
    ]
    assert nights_between(date(2026, 10, 2), date(2026, 10, 1)) == []


def test_the_assistant_is_below_its_floor_exactly_while_it_hallucinates(
    assistant_month: pd.DataFrame,
) -> None:
    assert list(assistant_month["night"].dt.date) == MONTH
    for row in assistant_month.itertuples():
        if row.night.date() in HALLUCINATING:
            assert row.quality < 0.87, row.night
            # Confidence did not drop with accuracy: overconfident by ~9 points.
            assert row.overconfidence_gap > 0.07
            assert row.ece > 0.07
        else:
            assert row.quality > 0.9, row.night
            assert abs(row.overconfidence_gap) < 0.03
            assert row.ece < 0.03
    # Errors and latency do not move: a hallucination, not an outage.
    assert assistant_month["error_rate"].max() < 0.02
    assert assistant_month["latency_p95_ms"].between(1500, 3500).all()


def test_routing_bands_are_shares_that_add_up(assistant_month: pd.DataFrame) -> None:
    bands = assistant_month[["band_auto", "band_review", "band_general"]]
    assert ((bands >= 0) & (bands <= 1)).all().all()
    assert (bands.sum(axis=1) - 1).abs().max() < 1e-12
    # Escalated = everything below the auto band.
    escalated = assistant_month["band_review"] + assistant_month["band_general"]
    assert (assistant_month["escalation_rate"] - escalated).abs().max() < 1e-12
    # The register's auto threshold (0.90) keeps the healthy assistant inside the default
    # escalation band (15-40 %) every night of the month.
    assert assistant_month["escalation_rate"].between(0.15, 0.40).all()


@pytest.mark.parametrize(
    ("model_id", "night"),
    [("support-assistant", "2026-10-20"), ("invoice-extractor", "2026-10-20")],
)
def test_nightly_metrics_equal_the_nightly_check(
    loaded: LoadedRegister, tmp_path: Path, model_id: str, night: str
) -> None:
    day = date.fromisoformat(night)
    row = _row(nightly_metrics(loaded, LOGS, model_id=model_id, nights=[day]), night)
    model = _model(_check(loaded, day, tmp_path), model_id)
    m = model.metrics
    assert m is not None and m.quality is not None and m.calibration is not None
    assert m.calibration_drift is not None
    assert row["n_rows"] == model.n_rows and row["n_labeled"] == model.n_labeled
    expected = {
        "quality": m.quality.value,
        "quality_ci_low": m.quality.ci_low,
        "error_rate": m.error_rate.value,
        "latency_p95_ms": m.latency_ms.p95,
        "confidence_mean": m.confidence.mean,
        "ece": m.calibration.ece,
        "overconfidence_gap": m.calibration.overconfidence_gap,
        "band_auto": m.confidence.band_auto,
        "band_general": m.confidence.band_general,
        "escalation_rate": m.confidence.escalation_rate,
        "reference_ece": m.calibration_drift.reference_ece,
        "calibration_p_value": m.calibration_drift.p_value,
    }
    for column, value in expected.items():
        assert row[column] == pytest.approx(value, rel=1e-12), column


def test_late_labels_reach_the_nightly_metrics(loaded: LoadedRegister, tmp_path: Path) -> None:
    day = date(2026, 10, 29)
    without = _row(
        nightly_metrics(loaded, LOGS, model_id="support-assistant", nights=[day]), "2026-10-29"
    )
    with_labels = _row(
        nightly_metrics(loaded, LOGS, model_id="support-assistant", nights=[day], labels=LABELS),
        "2026-10-29",
    )
    model = _model(_check(loaded, day, tmp_path, labels=LABELS), "support-assistant")
    assert with_labels["n_labeled"] > without["n_labeled"]
    assert with_labels["n_labeled"] == model.n_labeled


def test_a_night_without_rows_is_empty_not_an_error(loaded: LoadedRegister) -> None:
    row = _row(
        nightly_metrics(loaded, LOGS, model_id="churn-classifier", nights=["2026-11-20"]),
        "2026-11-20",
    )
    assert row["n_rows"] == 0
    assert math.isnan(row["quality"]) and math.isnan(row["ece"])


def test_hallucinations_are_in_the_answers_not_the_summaries(loaded: LoadedRegister) -> None:
    nights = [date(2026, 10, 10), date(2026, 10, 20)]
    by_type = nightly_metrics(
        loaded, LOGS, model_id="support-assistant", nights=nights, by="output_type"
    )
    whole = nightly_metrics(loaded, LOGS, model_id="support-assistant", nights=nights)
    assert set(by_type["slice"]) == {"answer", "summary", "refusal"}
    # Slices partition the night's rows.
    assert (by_type.groupby("night")["n_rows"].sum().to_numpy() == whole["n_rows"]).all()
    answers = by_type[by_type["slice"] == "answer"].set_index("night")
    summaries = by_type[by_type["slice"] == "summary"].set_index("night")
    assert answers.loc[pd.Timestamp("2026-10-10"), "quality"] > 0.88
    assert answers.loc[pd.Timestamp("2026-10-20"), "quality"] < 0.82
    assert summaries.loc[pd.Timestamp("2026-10-20"), "quality"] > 0.9


# ------------------------------------------------------------------------------- windows


def test_a_custom_pair_of_windows_covers_the_nights_it_spans(loaded: LoadedRegister) -> None:
    week = summarize_window(
        loaded,
        LOGS,
        model_id="churn-classifier",
        as_of="2026-10-28",
        current="7d",
        reference="14d",
    )
    nightly = nightly_metrics(
        loaded,
        LOGS,
        model_id="churn-classifier",
        nights=nights_between("2026-10-08", "2026-10-28"),
    )
    current = nightly[nightly["night"] >= pd.Timestamp("2026-10-22")]
    reference = nightly[nightly["night"] < pd.Timestamp("2026-10-22")]
    assert week.current.n_rows == current["n_rows"].sum()
    assert week.reference.n_rows == reference["n_rows"].sum()
    assert week.bounds.current_start == pd.Timestamp("2026-10-22", tz="UTC").value


def test_window_metrics_measure_each_window_on_its_own(loaded: LoadedRegister) -> None:
    night = date(2026, 10, 20)
    aggregate = summarize_window(loaded, LOGS, model_id="support-assistant", as_of=night)
    table = window_metrics(loaded, aggregate).set_index("window")
    assert list(table.index) == ["current", "reference"]
    nightly = _row(
        nightly_metrics(loaded, LOGS, model_id="support-assistant", nights=[night]), "2026-10-20"
    )
    assert table.loc["current", "ece"] == pytest.approx(nightly["ece"], rel=1e-12)
    assert table.loc["reference", "ece"] == pytest.approx(nightly["reference_ece"], rel=1e-12)
    assert table.loc["reference", "n_rows"] == aggregate.reference.n_rows
    assert table.loc["reference", "quality"] > 0.9 > table.loc["current", "quality"]


def test_a_bad_window_or_model_is_refused_with_the_reason(loaded: LoadedRegister) -> None:
    with pytest.raises(ValueError, match="not in register"):
        summarize_window(loaded, LOGS, model_id="no-such-model", as_of="2026-10-20")
    with pytest.raises(ValueError, match="duration"):
        summarize_window(
            loaded, LOGS, model_id="churn-classifier", as_of="2026-10-20", current="a week"
        )
    tenant: Any = "tenant"  # not a slice the logs have
    with pytest.raises(ValueError, match="by must be one of"):
        slice_aggregates(loaded, LOGS, model_id="churn-classifier", as_of="2026-10-20", by=tenant)
    with pytest.raises(ValueError, match="by must be one of"):
        nightly_metrics(loaded, LOGS, model_id="churn-classifier", nights=["2026-10-20"], by=tenant)


def test_reliability_and_confidence_tables_account_for_every_row(
    loaded: LoadedRegister,
) -> None:
    window = summarize_window(
        REGISTER, str(LOGS), model_id="support-assistant", as_of=date(2026, 10, 20)
    ).current
    bins = reliability_frame(window)
    assert len(bins) == 15 and bins["n"].sum() == window.n_labeled
    assert bins["share"].sum() == pytest.approx(1.0)
    # Overconfident where the rows are: the busiest bins sit above the diagonal.
    busiest = bins.sort_values("n").iloc[-1]
    assert busiest["gap"] > 0.05
    hist = confidence_distribution(window, n_bins=20)
    assert hist["n"].sum() == window.n_rows
    assert hist["share"].sum() == pytest.approx(1.0)
    sample = sample_frame(window)
    # The log files carry the classifier's features too; the assistant has none.
    assert list(sample.columns) == ["confidence"]
    assert 0 < len(sample) <= window.n_rows
    churn = sample_frame(
        summarize_window(loaded, LOGS, model_id="churn-classifier", as_of="2026-10-20").current
    )
    assert {"feature.monthly_spend", "feature.plan", "prediction"} <= set(churn.columns)


# -------------------------------------------------------------------------------- slices


def test_calibration_by_output_type_names_the_answers(loaded: LoadedRegister) -> None:
    table = calibration_by_slice(
        loaded, LOGS, model_id="support-assistant", as_of="2026-10-20", by="output_type"
    ).set_index(["slice", "window"])
    answer_now, answer_before = table.loc[("answer", "current")], table.loc[("answer", "reference")]
    assert answer_now["ece"] > 0.1 and answer_now["overconfidence_gap"] > 0.1
    assert answer_before["ece"] < 0.04
    assert table.loc[("summary", "current"), "ece"] < 0.05
    whole = summarize_window(loaded, LOGS, model_id="support-assistant", as_of="2026-10-20")
    assert table.xs("current", level="window")["n_rows"].sum() == whole.current.n_rows
    assert table.xs("reference", level="window")["n_labeled"].sum() == whole.reference.n_labeled


def test_segments_of_the_classifier_are_its_customer_tiers(loaded: LoadedRegister) -> None:
    slices = slice_aggregates(
        loaded, LOGS, model_id="churn-classifier", as_of="2026-10-20", by="segment"
    )
    assert set(slices) == {"consumer", "smb", "enterprise"}
    assert MISSING_SLICE not in slices
    assert all(a.current.n_labeled > 0 for a in slices.values())


# --------------------------------------------------------------------------------- drift


def test_drift_by_night_flags_monthly_spend_only_from_the_price_change(
    loaded: LoadedRegister,
) -> None:
    nights = ["2026-10-01", "2026-10-14", "2026-10-21", "2026-10-22", "2026-10-26", "2026-10-30"]
    frame = feature_drift_by_night(loaded, LOGS, model_id="churn-classifier", nights=nights)
    # The first night has no reference window yet: skipped, with the reason.
    assert set(frame.attrs["skipped"]) == {"2026-10-01"}
    assert "reference window has 0 rows" in frame.attrs["skipped"]["2026-10-01"]
    drifted = frame[frame["drifted"]]
    assert set(drifted["column"]) == {"feature.monthly_spend"}
    assert sorted(drifted["night"].dt.date.astype(str)) == [
        "2026-10-22",
        "2026-10-26",
        "2026-10-30",
    ]
    assert set(frame["column"]) == {
        "feature.monthly_spend",
        "feature.plan",
        "feature.support_tickets",
        "feature.tenure_months",
        "prediction",
        "confidence",
    }


def test_drift_by_night_equals_the_nightly_check(loaded: LoadedRegister, tmp_path: Path) -> None:
    night = date(2026, 10, 22)
    frame = feature_drift_by_night(loaded, LOGS, model_id="churn-classifier", nights=[night])
    report = _model(_check(loaded, night, tmp_path, drift=True), "churn-classifier")
    assert report.drift is not None
    expected = drift_frame(report.drift)
    got = frame.drop(columns="night").reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)


def test_window_drift_saves_evidentlys_page_and_names_the_drifted_feature(
    loaded: LoadedRegister, tmp_path: Path
) -> None:
    page = tmp_path / "drift.html"
    summary = window_drift(
        loaded,
        LOGS,
        model_id="churn-classifier",
        as_of="2026-10-28",
        current="7d",
        reference="14d",
        html_path=page,
    )
    assert summary.html == str(page) and page.stat().st_size > 100_000
    assert most_drifted_feature(summary) == "feature.monthly_spend"
    assert summary.share_drifted_features == pytest.approx(0.25)
    before = window_drift(
        loaded, LOGS, model_id="churn-classifier", as_of="2026-10-14", current="7d", reference="7d"
    )
    assert not any(c.drifted for c in before.columns)
    assert most_drifted_feature(before) in {c.column for c in before.columns}
