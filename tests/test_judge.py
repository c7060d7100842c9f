"""Judging a model: intervals decide breach vs warning (hand-worked cases), severity tiers,
and the verdict whose status is decided once."""

from __future__ import annotations

import pytest

from monitor.judge.limits import limit_check
from monitor.judge.severity import magnitude, tier_for
from monitor.judge.verdict import model_status, verdict_of
from monitor.report import Check
from monitor.stats.intervals import wilson_interval


def judge_rate(count: int, n: int, limit: float, direction: str = "max", **kw: int) -> Check:
    low, high = wilson_interval(count, n, confidence=0.95)
    return limit_check(
        "error_rate",
        count / n,
        limit,
        direction,
        (low, high),
        n,  # type: ignore[arg-type]
        min_samples=kw.get("min_samples", 100),
        criticality=kw.get("criticality", 2),
        share=True,
    )


def test_error_rate_whose_interval_lies_above_the_ceiling_is_a_breach() -> None:
    # 60 errors in 1000 rows: Wilson 95 % interval is about [0.047, 0.077], all above 0.03.
    check = judge_rate(60, 1000, 0.03)
    assert check.status == "breach"
    assert check.ci_low == pytest.approx(0.0469, abs=5e-4)
    # 0.06 vs a 0.03 ceiling is 100 % over the allowed amount: magnitude 3, criticality 2 → tier 3.
    assert check.tier == 3


def test_error_rate_over_the_ceiling_but_within_noise_is_only_a_warning() -> None:
    # 4 errors in 100 rows: point 0.04 > 0.03 but the interval [0.016, 0.098] straddles it.
    check = judge_rate(4, 100, 0.03)
    assert check.status == "warning"
    assert check.ci_low is not None and check.ci_low < 0.03 < check.ci_high  # type: ignore[operator]


def test_floor_mirrors_ceiling() -> None:
    # Accuracy 820/1000 against a 0.88 floor: interval [0.795, 0.843] lies below → breach.
    check = judge_rate(820, 1000, 0.88, "min")
    assert check.status == "breach"
    # Deficit 0.06 against a failure budget of 0.12 = 50 % → magnitude 2 → tier 2 at criticality 2.
    assert check.tier == 2
    assert judge_rate(870, 1000, 0.88, "min").status == "warning"
    assert judge_rate(900, 1000, 0.88, "min").status == "ok"


def test_too_few_rows_is_insufficient_data_not_healthy() -> None:
    check = judge_rate(30, 50, 0.03, min_samples=100)
    assert check.status == "insufficient_data"


@pytest.mark.parametrize(
    ("observed", "limit", "direction", "share", "expected"),
    [
        (0.036, 0.03, "max", True, 1),  # 20 % over
        (0.045, 0.03, "max", True, 2),  # 50 % over
        (0.09, 0.03, "max", True, 3),  # 200 % over
        (0.85, 0.88, "min", True, 2),  # 0.03 of a 0.12 budget = 25 %
        (4000.0, 3500.0, "max", False, 1),
        (7000.0, 3500.0, "max", False, 3),
    ],
)
def test_magnitude_is_relative_to_what_the_limit_allows(
    observed: float, limit: float, direction: str, share: bool, expected: int
) -> None:
    assert magnitude(observed, limit, direction, share=share) == expected  # type: ignore[arg-type]


def test_tier_combines_magnitude_and_criticality_within_1_to_4() -> None:
    assert [tier_for(m, 1) for m in (1, 2, 3)] == [1, 1, 2]
    assert [tier_for(m, 2) for m in (1, 2, 3)] == [1, 2, 3]
    assert [tier_for(m, 4) for m in (1, 2, 3)] == [3, 4, 4]


def test_no_rows_is_blind_and_blind_is_never_healthy() -> None:
    assert model_status([], n_rows=0) == "blind"
    ok = Check(threshold="error_rate", status="ok", observed=0.0, limit=0.1, direction="max")
    insufficient = ok.model_copy(update={"status": "insufficient_data"})
    assert model_status([ok], n_rows=10) == "healthy"
    assert model_status([insufficient], n_rows=10) == "insufficient_data"
    assert model_status([ok, insufficient], n_rows=10) == "healthy"


def test_a_model_healthy_by_its_checks_warns_when_part_of_the_logs_was_unreadable() -> None:
    ok = Check(threshold="error_rate", status="ok", observed=0.01, limit=0.1, direction="max")
    seen_all = verdict_of([ok], n_rows=500, criticality=2)
    partial = verdict_of([ok], n_rows=500, criticality=2, partial_view=True)
    assert (seen_all.status, seen_all.actionable) == ("healthy", False)
    # It may be failing in the rows nobody read: never healthy, but nothing for the ladder
    # to act on either (no dominant failure mode), and no breach to list.
    assert (partial.status, partial.actionable, partial.breaches) == ("warning", False, ())
    breach = ok.model_copy(update={"status": "breach", "observed": 0.2, "tier": 3})
    failing = verdict_of([ok, breach], n_rows=500, criticality=2, partial_view=True)
    assert (failing.status, failing.actionable) == ("breach", True)
    assert [(b.threshold, b.level, b.tier) for b in failing.breaches] == [
        ("error_rate", "breach", 3)
    ]


def test_a_blind_model_has_one_blind_breach_at_tier_four_whatever_its_criticality() -> None:
    # Missing context fails safe to the highest priority.
    ok = Check(threshold="error_rate", status="ok", observed=0.01, limit=0.1, direction="max")
    for criticality, tier in ((1, 4), (2, 4), (4, 4)):
        blind = verdict_of([ok], n_rows=0, criticality=criticality, partial_view=True)
        assert (blind.status, blind.checks, blind.actionable) == ("blind", (), True)
        assert [(b.threshold, b.level, b.tier) for b in blind.breaches] == [
            ("blind", "blind", tier)
        ]
