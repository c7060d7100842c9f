"""The ladder's history as tables (``modelhealth.analysis.history``), from the demo month.

The demo month (``modelhealth demo``): support-assistant breaches from 2026-10-16; the
ladder recommends retrieval_augmentation the next morning, bob approves it, alice applies
it at midnight before the 24th, the model recovers that night and the evaluation period
closes the escalation on the 29th. No other model escalates.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from ladder_factories import Timeline, breach, make_register, open_store, warning
from rich.console import Console
from typer.testing import CliRunner

from ladder.actions import reject
from ladder.incident_store import briefs_of, incident_facts, review_for
from ladder.stats import compute_stats
from ladder.store import LadderStore, list_escalations
from modelhealth.analysis.history import (
    committed_steps,
    escalation_timeline,
    model_audit_entries,
    night_history,
    spend_against_budget,
    stats_frame,
)
from modelhealth.cli.ladder import app
from modelhealth.demo import run_demo
from thresholds.loader import load_register
from thresholds.schema import Register

ROOT = Path(__file__).resolve().parents[1]
REGISTER = ROOT / "data" / "register.yaml"
LOGS = ROOT / "data" / "demo" / "logs"
MODEL = "support-assistant"
UTC = timezone.utc


def demo_month(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The state store of the whole demo month, built once per test session.

    Kept under the session's base temporary directory so that the notebook tests reuse
    it (a month of nightly checks takes half a minute); ``report.html`` is the last thing
    ``run_demo`` writes, so its presence means the month ran to the end.
    """
    out = tmp_path_factory.getbasetemp() / "demo-month"
    if not (out / "report.html").exists():
        run_demo(load_register(REGISTER), LOGS, out, console=Console(file=io.StringIO()))
    return out / "state.db"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LadderStore]:
    handle = LadderStore(f"sqlite:///{demo_month(tmp_path_factory)}")
    yield handle
    handle.close()


@pytest.fixture(scope="module")
def register() -> Register:
    return load_register(REGISTER).register


def _at(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


# ------------------------------------------------------------------- the demo month


def test_the_timeline_tells_the_months_story_in_order(store: LadderStore) -> None:
    timeline = escalation_timeline(store, MODEL)

    def first(kind: str, **where: object) -> int:
        rows = timeline[timeline["kind"] == kind]
        for column, value in where.items():
            rows = rows[rows[column] == value]
        assert len(rows), f"no {kind} row with {where}"
        return int(rows.index[0])

    breach_16 = first("breach", night=pd.Timestamp("2026-10-16"))
    recommendation = first("recommendation", rung="retrieval_augmentation")
    approval = first("approval", actor="bob")
    applied = first("applied", actor="alice")
    recovery = first("recovery", night=pd.Timestamp("2026-10-24"))
    evaluation = first("evaluation")
    resolved = first("resolved")
    assert breach_16 < recommendation < approval < applied < recovery < evaluation < resolved

    row = timeline.loc[recommendation]
    assert row["night"] == pd.Timestamp("2026-10-16")  # decided by the run for the 16th
    assert row["time"] == _at("2026-10-17 06:00") and row["actor"] == "modelhealth"
    assert timeline.loc[approval, "time"] == _at("2026-10-17 09:00")
    assert timeline.loc[approval, "reason"] == "the hallucinations match the missing policy index"
    assert pd.isna(timeline.loc[approval, "night"])  # a person, not a nightly run
    assert timeline.loc[applied, "time"] == _at("2026-10-24 00:00")
    assert "recovered" in timeline.loc[resolved, "reason"]
    assert timeline.loc[resolved, "rung"] == "retrieval_augmentation"
    assert timeline["time"].is_monotonic_increasing


def test_breach_rows_are_exactly_the_hallucinating_nights(store: LadderStore) -> None:
    timeline = escalation_timeline(store, MODEL)
    breaches = timeline[timeline["kind"] == "breach"]
    assert list(breaches["night"].dt.date) == [
        date(2026, 10, 16) + timedelta(days=i) for i in range(8)
    ]
    assert breaches["reason"].str.contains("quality breach").all()
    recovery = timeline[timeline["kind"] == "recovery"]
    assert len(recovery) == 1
    assert "after 8 night(s)" in recovery.iloc[0]["reason"]


def test_the_timeline_uses_the_rows_ladder_history_prints(store: LadderStore) -> None:
    result = CliRunner().invoke(
        app, ["history", MODEL, "--state", store.url, "--format", "json", "--limit", "0"]
    )
    assert result.exit_code == 0, result.output
    printed = [row["seq"] for row in json.loads(result.output)]
    assert [e.seq for e in model_audit_entries(store, MODEL)] == printed
    timeline = escalation_timeline(store, MODEL)
    assert list(timeline["seq"].dropna()) == printed


def test_models_that_never_escalated_have_no_escalation_on_their_timeline(
    store: LadderStore,
) -> None:
    for model in ("invoice-extractor", "churn-classifier"):
        timeline = escalation_timeline(store, model)
        assert list(timeline.columns) == [
            "time",
            "kind",
            "action",
            "rung",
            "actor",
            "reason",
            "subject",
            "night",
            "seq",
        ]
        kinds = set(timeline["kind"])
        assert not kinds & {
            "breach",
            "escalation_opened",
            "recommendation",
            "approval",
            "applied",
            "resolved",
        }, model
        assert (
            spend_against_budget(store, load_register(REGISTER).register, model)["committed"].sum()
            == 0
        )


def test_night_history_has_every_night_with_its_headline_metrics(store: LadderStore) -> None:
    nights = night_history(store, MODEL)
    assert len(nights) == 30
    assert nights["night"].iloc[0] == pd.Timestamp("2026-10-01")
    triggered = set(nights.loc[nights["triggered"], "night"].dt.date)
    assert triggered == {date(2026, 10, 16) + timedelta(days=i) for i in range(8)}
    bad = nights[nights["triggered"]]
    assert (bad["quality"] < 0.87).all() and (bad["status"] == "breach").all()
    assert (nights.loc[~nights["triggered"], "quality"] > 0.9).all()
    assert nights["latency_p95_ms"].between(1500, 3500).all()
    assert set(bad["dominant_mode"]) == {"hallucination"}
    assert nights.loc[nights["night"] == pd.Timestamp("2026-10-16"), "decision_kind"].item() == (
        "open_escalation"
    )


def test_spend_is_the_approved_rung_against_the_quarters_budget(
    store: LadderStore, register: Register
) -> None:
    spend = spend_against_budget(store, register, MODEL)
    assert len(spend) == 1
    quarter = spend.iloc[0]
    assert quarter["period_start"] == _at("2026-10-01")
    assert quarter["period_end"] == _at("2027-01-01")
    assert (quarter["budget"], quarter["committed"], quarter["remaining"]) == (
        60_000,
        12_600,
        47_400,
    )
    assert quarter["used"] == pytest.approx(0.21)
    assert quarter["steps"] == "step-1 retrieval_augmentation"
    # The next quarter starts with nothing committed.
    later = spend_against_budget(store, register, MODEL, until=datetime(2027, 2, 1, tzinfo=UTC))
    assert list(later["committed"]) == [12_600, 0]
    churn = spend_against_budget(store, register, "churn-classifier").iloc[0]
    assert (churn["budget"], churn["committed"]) == (30_000, 0)


def test_committed_steps_runs_the_total_within_the_period(
    store: LadderStore, register: Register
) -> None:
    steps = committed_steps(store, register, MODEL)
    assert list(steps["step"]) == ["step-1"]
    step = steps.iloc[0]
    assert step["committed"] and step["status"] == "succeeded"
    assert step["approved_at"] == _at("2026-10-17 09:00")
    assert step["committed_in_period"] == 12_600 and step["cost"] == 12_600


def test_stats_frame_shows_ladder_stats_in_hours(store: LadderStore) -> None:
    facts = store.read(lambda c: incident_facts(c, model_id=MODEL))
    stats = compute_stats(
        store.read(lambda c: list_escalations(c, model_id=MODEL)),
        facts=facts,
        now=datetime(2026, 11, 2, tzinfo=UTC),
    )
    frame = stats_frame(stats).set_index("measure")
    # Detection: the window of the 16th opened at 00:00, the escalation at 06:00 on the 17th.
    assert frame.loc["time to detection", "median_hours"] == 30
    # bob approved at 09:00 (acknowledging it); alice briefed the stakeholders at 07:30
    assert frame.loc["time to acknowledgement", "median_hours"] == 3
    assert frame.loc["time to communication", "median_hours"] == 1.5
    assert frame.loc["time to decision", "median_hours"] == 3
    assert frame.loc["time to resolution", "median_hours"] == 12 * 24
    assert (frame["n"] == 1).all()
    # tier 3 acknowledges within 2 h: bob's 09:00 approval was an hour late
    assert (stats.misses_by_tier, stats.misses_by_clock) == ({3: 1}, {"acknowledgement": 1})


def test_the_month_briefs_the_stakeholders_and_reviews_the_incident(store: LadderStore) -> None:
    sent = store.read(lambda c: briefs_of(c, 1))
    assert [(b.version, b.sent_at, b.sent_by) for b in sent] == [
        (1, _at("2026-10-17 07:30"), "alice"),
        (2, _at("2026-10-29 07:30"), "alice"),
    ]
    assert sent[1].content["status"] == "resolved"
    review = store.read(lambda c: review_for(c, 1))
    assert review is not None
    assert (review.status, review.opened_at, review.closed_at, review.closed_by) == (
        "closed",
        _at("2026-10-29 10:00"),
        _at("2026-10-30 10:00"),
        "alice",
    )
    assert review.due_at == _at("2026-11-05 06:00")
    assert [a.owner for a in review.actions] == ["carol"]
    timeline = escalation_timeline(store, MODEL)
    assert list(
        timeline.loc[timeline["action"].str.startswith(("brief.", "review.")), "action"]
    ) == ["brief.sent", "brief.sent", "review.opened", "review.closed"]


# ----------------------------------------------------------------- a rejected step


def test_a_warning_and_a_rejection_show_on_the_timeline(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    try:
        register = make_register()
        tl = Timeline(store, register)
        tl.play([warning()])
        tl.play([breach()], mode="hallucination")
        rec = tl.play([breach()], mode="hallucination")
        assert rec is not None and rec.status == "pending"
        reject(
            store,
            rec.id,
            person="bob",
            register=register,
            now=tl.office_hours(11),
            reason="the index rebuild is already scheduled",
        )
        timeline = escalation_timeline(store, "support-assistant")
        kinds = list(timeline["kind"])
        assert kinds[0] == "warning"
        assert kinds.index("recommendation") < kinds.index("rejection") < kinds.index("rejected")
        rejection = timeline[timeline["kind"] == "rejection"].iloc[0]
        assert rejection["actor"] == "bob"
        assert rejection["reason"] == "the index rebuild is already scheduled"
        assert rejection["rung"] == rec.rung
        # A rejected step commits nothing.
        assert committed_steps(store, register, "support-assistant")["committed"].tolist() == [
            False
        ]
        assert spend_against_budget(store, register, "support-assistant")["committed"].sum() == 0
    finally:
        store.close()
