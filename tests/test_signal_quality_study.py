"""A small, seeded run of the signal-quality study (benchmarks/signal_quality.py).

The full study (docs/signal-quality.md) takes minutes; this one checks, on a reduced
grid at 5 000 rows a night, that the rules still keep their promises: few false alarms
on healthy nights, and the degradations the issue names caught within two nights, through
the same code path as the nightly job (ingest, summaries, metrics, judgement, the fleet's
Benjamini–Hochberg step, failure modes, the ladder's persistence rule and the failure mode
its recommendation is about).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import signal_quality as study  # noqa: E402

SCENARIOS = tuple(
    s
    for s in study.SCENARIOS
    if s.name in ("accuracy −3 pts", "error rate ×2", "segment failure (billing 30 %)")
)
GRID = replace(
    study.QUICK,
    volumes=(5000,),
    sequences=1,
    healthy_nights=200,
    episodes={5000: 30},
    scenarios=SCENARIOS,
    horizon=2,
    evidently=False,
    variants=(study.Variant("fleet200", 200), study.Variant("alone", 1)),
    seed=7,
)


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    outcomes = study.run(GRID, workers=1)
    return study.summarise(outcomes, GRID)["volumes"]["5000"]  # type: ignore[no-any-return]


def test_200_healthy_nights_in_a_fleet_of_200_raise_at_most_3_false_alarms(
    summary: dict[str, Any],
) -> None:
    healthy = summary["healthy"]
    assert healthy["ours_fleet200"]["n"] == 200
    assert healthy["ours_fleet200"]["hits"] <= 3
    assert healthy["ours_alone"]["hits"] <= 3
    # The plain point-estimate monitor on the same nights, for contrast, is not held to it.
    assert healthy["point"]["n"] == 200


def test_a_3_point_accuracy_drop_is_caught_within_2_nights(summary: dict[str, Any]) -> None:
    drop = summary["scenarios"]["accuracy −3 pts"]
    assert drop["ours_fleet200"]["within_2"]["n"] == 30
    assert drop["ours_fleet200"]["within_2"]["rate"] >= 0.9


def test_a_doubled_error_rate_is_caught_within_2_nights_and_named_availability(
    summary: dict[str, Any],
) -> None:
    errors = summary["scenarios"]["error rate ×2"]
    assert errors["ours_alone"]["within_2"]["rate"] >= 0.9
    # A lone degradation among 199 healthy models needs p ≲ 2e-5 for a breach (see the
    # docs); persistence support lets the other of the first two nights count at p ≲ 2e-3.
    assert errors["ours_fleet200"]["within_2"]["rate"] >= 0.9
    assert errors["ours_fleet200"]["mode_correct"]["rate"] >= 0.9


def test_a_failing_segment_is_named_domain_misapplication_not_miscalibration(
    summary: dict[str, Any],
) -> None:
    segment = summary["scenarios"]["segment failure (billing 30 %)"]
    assert segment["ours_fleet200"]["within_2"]["rate"] >= 0.9
    # Its new failures are confidently wrong, but only the excess over what a calibrated
    # model's confidences predict counts as miscalibration, and the segment takes it.
    assert segment["ours_fleet200"]["mode_correct"]["rate"] >= 0.9
