"""Signal rules: p-values, Benjamini–Hochberg, EWMA/CUSUM, the false-alarm budget, and the
baseline and sequential checks a model-night gets from them."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Literal

import numpy as np
import pytest
from scenario_logs import CURRENT, REFERENCE, healthy, window
from scipy import stats

from modelhealth.demo import Degradation, ModelProfile, write_logs
from monitor.check import CheckOptions, run_check
from monitor.judge import NightValue, judge, night_values, rejudge
from monitor.judge.fleet import fleet_adjust, fleet_level, per_check_alpha, support_level
from monitor.report import Check, CheckKind
from monitor.stats.control_charts import (
    cusum_arl,
    cusum_p_value,
    cusum_path,
    cusum_threshold,
    ewma_path,
    ewma_test,
    ewma_weights,
)
from monitor.stats.metrics import finalize_metrics
from monitor.stats.significance import (
    benjamini_hochberg,
    binomial_p_value,
    exceedances,
    mean_below_p_value,
    poisson_p_value,
    quantile_ceiling_p_value,
    rate_increase_p_value,
)
from monitor.stats.sketch import QuantileSketch
from thresholds.loader import load_register
from thresholds.schema import (
    LatencyLimits,
    QualityFloor,
    SequentialSettings,
    SignalSettings,
    Thresholds,
)

THRESHOLDS = Thresholds(quality=QualityFloor(min=0.7), latency_ms=LatencyLimits(p95=800.0))


# ------------------------------------------------------------------------- p-values


@pytest.mark.parametrize(
    ("k", "n", "p0", "alternative"),
    [
        (12, 200, 0.03, "greater"),
        (0, 50, 0.01, "greater"),
        (180, 200, 0.95, "less"),
        (4455, 5000, 0.9, "less"),
        (61, 5000, 0.01, "greater"),
        (200, 200, 0.5, "less"),
    ],
)
def test_binomial_p_value_is_scipys_exact_one_sided_binomtest(
    k: int, n: int, p0: float, alternative: Literal["greater", "less"]
) -> None:
    expected = stats.binomtest(k, n, p0, alternative=alternative).pvalue
    assert binomial_p_value(k, n, p0, alternative=alternative) == pytest.approx(
        expected, rel=1e-9, abs=1e-300
    )


def test_binomial_p_value_of_no_rows_is_nan_and_impossible_counts_are_refused() -> None:
    assert math.isnan(binomial_p_value(0, 0, 0.1, alternative="greater"))
    with pytest.raises(ValueError, match="0 <= k <= n"):
        binomial_p_value(5, 4, 0.1, alternative="greater")


@pytest.mark.parametrize(
    ("x1", "n1", "x0", "n0"),
    [(100, 5000, 1400, 140_000), (50, 5000, 1400, 140_000), (3, 500, 20, 14_000), (0, 10, 0, 10)],
)
def test_rate_increase_p_value_is_fishers_exact_test(x1: int, n1: int, x0: int, n0: int) -> None:
    table = [[x1, n1 - x1], [x0, n0 - x0]]
    expected = stats.fisher_exact(table, alternative="greater").pvalue
    assert rate_increase_p_value(x1, n1, x0, n0) == pytest.approx(expected, rel=1e-9)


def test_quantile_ceiling_p_value_counts_rows_above_as_the_binomial_order_statistic() -> None:
    # 70 of 1 000 rows above the p95 ceiling: as likely as 70+ successes in Bin(1000, 0.05).
    expected = stats.binomtest(70, 1000, 0.05, alternative="greater").pvalue
    assert quantile_ceiling_p_value(70.2, 1000, 0.95) == pytest.approx(expected, rel=1e-9)


def test_exceedances_read_off_the_sketch_match_the_rows_within_its_accuracy() -> None:
    rng = np.random.default_rng(3)
    values = rng.lognormal(np.log(300.0), 0.5, 20_000)
    sketch = QuantileSketch().update(values)
    for limit in (150.0, 300.0, 700.0):
        assert exceedances(sketch, limit) == pytest.approx(np.sum(values > limit), rel=0.01)


def test_poisson_and_t_p_values_are_scipys() -> None:
    assert poisson_p_value(3, 10.0, alternative="less") == pytest.approx(stats.poisson.cdf(3, 10))
    assert poisson_p_value(15, 10.0, alternative="greater") == pytest.approx(
        stats.poisson.sf(14, 10)
    )
    x = np.random.default_rng(1).beta(8, 2, 300)
    expected = stats.ttest_1samp(x, 0.82, alternative="less").pvalue
    assert mean_below_p_value(float(x.sum()), float(x @ x), 300, 0.82) == pytest.approx(
        expected, rel=1e-6
    )


# ------------------------------------------------------------ Benjamini–Hochberg


def test_benjamini_hochberg_by_hand() -> None:
    # Sorted 0.005, 0.01, 0.03, 0.04 against i·q/m = 0.0125, 0.025, 0.0375, 0.05: all pass.
    # Adjusted m·p(i)/i = 0.02, 0.02, 0.04, 0.04 (already monotone), in input order.
    adjusted, rejected = benjamini_hochberg([0.01, 0.04, 0.03, 0.005], 0.05)
    assert adjusted.tolist() == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert rejected.tolist() == [True, True, True, True]


def test_benjamini_hochberg_rejects_four_in_the_papers_example() -> None:
    # Benjamini & Hochberg (1995), §4: 15 p-values; BH at 0.05 rejects 4, Bonferroni 3.
    p = [0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344, 0.0459,
         0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.0000]  # fmt: skip
    _, rejected = benjamini_hochberg(p, 0.05)
    assert rejected.tolist() == [True] * 4 + [False] * 11
    assert sum(x <= 0.05 / 15 for x in p) == 3


def test_benjamini_hochberg_step_up_rejects_a_p_value_above_its_own_line() -> None:
    # 0.04 > 1·0.05/2, but the larger 0.045 ≤ 2·0.05/2, so both go.
    adjusted, rejected = benjamini_hochberg([0.045, 0.04], 0.05)
    assert rejected.tolist() == [True, True]
    assert adjusted.tolist() == pytest.approx([0.045, 0.045])


def test_benjamini_hochberg_is_statsmodels_fdr_bh() -> None:
    from statsmodels.stats import multitest

    rng = np.random.default_rng(11)
    for m in (1, 7, 300):
        p = np.concatenate([rng.random(m), rng.random(m // 3 + 1) * 1e-4])
        for q in (0.01, 0.05, 0.2):
            reject, corrected, _, _ = multitest.multipletests(p, alpha=q, method="fdr_bh")
            adjusted, rejected = benjamini_hochberg(p, q)
            np.testing.assert_allclose(adjusted, corrected, rtol=1e-12)
            assert rejected.tolist() == reject.tolist()


def test_benjamini_hochberg_refuses_what_is_not_a_p_value() -> None:
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        benjamini_hochberg([0.5, math.nan], 0.05)
    with pytest.raises(ValueError, match="q must be"):
        benjamini_hochberg([0.5], 0.0)
    adjusted, rejected = benjamini_hochberg([], 0.05)
    assert adjusted.size == 0 and rejected.size == 0


# ------------------------------------------------------------------ the budget


def test_budget_of_100_nights_holds_a_lone_model_to_1_percent_and_caps_a_fleet_at_the_fdr() -> None:
    assert fleet_level(100, 1, 0.05) == pytest.approx(0.01)
    assert fleet_level(100, 3, 0.05) == pytest.approx(0.03)
    assert fleet_level(100, 200, 0.05) == pytest.approx(0.05)
    assert fleet_level(1000, 200, 0.05) == pytest.approx(0.05)
    assert fleet_level(1000, 20, 0.05) == pytest.approx(0.02)
    assert per_check_alpha(100, 10) == pytest.approx(1e-3)


def test_a_healthy_fleet_at_the_derived_level_stays_within_its_budget() -> None:
    # 30 healthy models × 12 checks for 4 000 nights, p-values uniform (exact tests).
    rng = np.random.default_rng(5)
    budget, models, checks = 100.0, 30, 12
    q = fleet_level(budget, models, 0.05)
    alarmed = 0
    nights = 4000
    for _ in range(nights):
        _, rejected = benjamini_hochberg(rng.random(models * checks), q)
        alarmed += int(rejected.reshape(models, checks).any(axis=1).sum())
    # At most one false alarm per `budget` healthy model-nights (Simes: P(any) ≤ q).
    assert alarmed / (nights * models) <= 1.0 / budget


# ------------------------------------------------------------------ EWMA and CUSUM


def test_ewma_by_hand() -> None:
    # λ = 0.5: E1 = 0.5·1 = 0.5; E2 = 0.5·2 + 0.5·0.5 = 1.25; E3 = 0 + 0.5·1.25 = 0.625.
    assert ewma_path([1.0, 2.0, 0.0], 0.5).tolist() == pytest.approx([0.5, 1.25, 0.625])
    w = ewma_weights(3, 0.5)
    assert w.tolist() == pytest.approx([0.125, 0.25, 0.5])
    statistic, p = ewma_test([1.0, 2.0, 0.0], 0.5)
    assert statistic == pytest.approx(0.625 / math.sqrt(0.125**2 + 0.25**2 + 0.5**2))
    assert p == pytest.approx(stats.norm.sf(statistic))


def test_ewma_counts_the_shared_reference_error_in_its_variance() -> None:
    # Three nights each loading 0.2 on the reference's error: var = Σw² + (0.2·Σw)².
    w = ewma_weights(3, 0.5)
    statistic, _ = ewma_test([1.0, 1.0, 1.0], 0.5, common=[0.2, 0.2, 0.2])
    expected = w.sum() / math.sqrt(float(w @ w) + (0.2 * w.sum()) ** 2)
    assert statistic == pytest.approx(expected)


def test_ewma_is_standard_normal_under_the_null() -> None:
    rng = np.random.default_rng(2)
    stats_ = np.array([ewma_test(rng.standard_normal(14), 0.2)[0] for _ in range(20_000)])
    assert abs(stats_.mean()) < 0.03 and abs(stats_.std() - 1.0) < 0.03


def test_cusum_by_hand() -> None:
    # k = 0.5: 0 + 1 − 0.5 = 0.5; 0.5 + 2 − 0.5 = 2; max(0, 2 − 3 − 0.5) = 0; 0 + 1.5 − 0.5 = 1.
    assert cusum_path([1.0, 2.0, -3.0, 1.5], 0.5).tolist() == pytest.approx([0.5, 2.0, 0.0, 1.0])


def test_cusum_p_value_after_one_step_is_the_normal_tail() -> None:
    for s in (0.5, 1.0, 3.0):
        assert cusum_p_value(s, 1, 0.5) == pytest.approx(stats.norm.sf(s + 0.5), abs=2e-3)


def test_cusum_p_value_matches_a_simulation_of_the_windowed_cusum() -> None:
    rng = np.random.default_rng(9)
    z = rng.standard_normal((100_000, 10))
    s = np.zeros(z.shape[0])
    for t in range(z.shape[1]):
        s = np.maximum(0.0, s + z[:, t] - 0.5)
    for threshold in (1.0, 3.0, 5.0):
        simulated = float(np.mean(s >= threshold))
        assert cusum_p_value(threshold, 10, 0.5) == pytest.approx(simulated, abs=4e-3)


def test_cusum_limit_from_the_budget_by_siegmunds_approximation() -> None:
    # h = 4, k = 0.5: ARL₀ ≈ (e^5.166 − 5.166 − 1) / 0.5 ≈ 338 (tables: 336).
    assert cusum_arl(4.0, 0.5) == pytest.approx(338, rel=0.01)
    h = cusum_threshold(100 * 2, 0.5)  # budget 100 nights, two CUSUMs per model
    assert cusum_arl(h, 0.5) == pytest.approx(200, rel=1e-6)
    assert 3.0 < h < 4.0


# ------------------------------------------------------------ baseline checks


def _night(
    traffic_changes: dict[str, object],
    *,
    history: list[NightValue] | None = None,
    thresholds: Thresholds = THRESHOLDS,
) -> dict[str, Check]:
    current = window(healthy().but(**traffic_changes), CURRENT, seed=21)
    reference = window(healthy(rows=40_000), REFERENCE, seed=22)
    metrics = finalize_metrics(current, reference, thresholds)
    judgement = judge(
        metrics, current, thresholds, criticality=2, reference=reference, history=history or []
    )
    return {c.threshold: c for c in judgement.checks}


def test_a_healthy_night_against_a_healthy_reference_breaches_nothing() -> None:
    checks = _night({})
    baseline = [c for c in checks.values() if c.kind == "baseline"]
    assert {c.threshold for c in baseline} >= {
        "quality.vs_reference",
        "error_rate.vs_reference",
        "latency_ms.p95.vs_reference",
        "calibration.overconfidence.vs_reference",
        "format_invalid.vs_reference",
    }
    assert all(c.status == "ok" for c in checks.values())
    assert all(c.p_adjusted is not None for c in baseline)


def test_accuracy_down_4_points_above_its_floor_breaches_against_its_own_baseline() -> None:
    # Overconfident by 4 points: accuracy falls ~4 points, still far above the 0.70 floor.
    checks = _night({"overconfidence": 0.04})
    assert checks["quality"].status == "ok"
    drop = checks["quality.vs_reference"]
    assert drop.status == "breach" and drop.p_adjusted is not None and drop.p_adjusted < 0.01
    assert drop.reference is not None and drop.observed is not None
    assert drop.reference - drop.observed == pytest.approx(0.04, abs=0.015)
    assert drop.limit == pytest.approx(drop.reference - 0.015)
    assert checks["calibration.overconfidence.vs_reference"].status == "breach"


def test_a_quadrupled_error_rate_is_magnitude_3_past_its_minimum_effect() -> None:
    checks = _night({"error_rate": 0.04})
    errors = checks["error_rate.vs_reference"]
    assert errors.status == "breach" and errors.magnitude == 3 and errors.tier == 3


def test_a_significant_but_immaterial_change_is_not_a_breach() -> None:
    # Demand a 20-point drop: a 4-point one is significant but below the minimum effect.
    lenient = THRESHOLDS.model_copy(
        update={"signal": SignalSettings.model_validate({"baseline": {"quality_min_drop": 0.2}})}
    )
    checks = _night({"overconfidence": 0.04}, thresholds=lenient)
    drop = checks["quality.vs_reference"]
    assert drop.p_value is not None and drop.p_value < 1e-6
    assert drop.status == "ok"


def test_signal_disabled_judges_limits_alone_as_before() -> None:
    off = THRESHOLDS.model_copy(update={"signal": SignalSettings(enabled=False)})
    checks = _night({"overconfidence": 0.04}, thresholds=off)
    assert all(c.kind == "limit" and c.p_adjusted is None for c in checks.values())


# ---------------------------------------------------------- sequential checks

TONIGHT = date(2026, 1, 29)  # scenario_logs' current window


def _history(values: list[float], n: int = 5000) -> list[NightValue]:
    nights = [TONIGHT - timedelta(days=len(values) - i) for i in range(len(values))]
    return [NightValue(night, "quality", v, n) for night, v in zip(nights, values, strict=True)]


def test_no_history_no_sequential_check() -> None:
    assert not any(c.kind == "sequential" for c in _night({}).values())


def test_a_slow_decline_over_ten_nights_is_caught_by_the_ewma() -> None:
    reference = window(healthy(rows=40_000), REFERENCE, seed=22)
    base = reference.n_correct / reference.n_labeled
    # Stable for 4 nights, then down 0.25 points a night: −1.5 points by last night.
    past = [base] * 4 + [base - 0.0025 * i for i in range(1, 7)]
    checks = _night({"overconfidence": 0.0175}, history=_history(past))
    ewma = checks["quality.ewma"]
    assert ewma.kind == "sequential" and ewma.status == "breach"
    assert ewma.observed is not None and ewma.observed < base - 0.0075


def test_stable_history_keeps_the_ewma_quiet() -> None:
    reference = window(healthy(rows=40_000), REFERENCE, seed=22)
    base = reference.n_correct / reference.n_labeled
    checks = _night({}, history=_history([base + d for d in (0.002, -0.003, 0.001, 0.0) * 3]))
    assert checks["quality.ewma"].status == "ok"


def test_cusum_can_replace_the_ewma() -> None:
    reference = window(healthy(rows=40_000), REFERENCE, seed=22)
    base = reference.n_correct / reference.n_labeled
    cusum = THRESHOLDS.model_copy(
        update={"signal": SignalSettings(sequential=SequentialSettings(method="cusum"))}
    )
    past = [base] * 4 + [base - 0.0025 * i for i in range(1, 7)]
    checks = _night({"overconfidence": 0.0175}, history=_history(past), thresholds=cusum)
    assert "quality.cusum" in checks and "quality.ewma" not in checks
    assert checks["quality.cusum"].status == "breach"


def test_night_values_are_what_the_state_store_keeps_for_tomorrow() -> None:
    current = window(healthy(), CURRENT, seed=21)
    metrics = finalize_metrics(current, current, THRESHOLDS)
    values = {v.metric: v for v in night_values(metrics, TONIGHT)}
    assert values["quality"].n == current.n_labeled
    assert values["error_rate"].value == pytest.approx(current.n_error / current.n_error_known)


# ---------------------------------------------------------------- the fleet step


def _check(name: str, p: float, *, kind: CheckKind = "baseline", observed: float = 0.8) -> Check:
    return Check(
        threshold=name,
        status="ok",
        observed=observed,
        limit=0.85,
        direction="min",
        kind=kind,
        p_value=p,
        magnitude=2,
        reference=0.9,
    )


def test_fleet_family_spans_every_model_and_check() -> None:
    settings = SignalSettings()
    models = {
        "a": [_check("quality.vs_reference", 1e-5), _check("error_rate.vs_reference", 0.5)],
        "b": [_check("quality.vs_reference", 0.004)],
    }
    fleet = fleet_adjust(models, {"a": settings, "b": settings})
    assert fleet.level == pytest.approx(0.02)  # two models, budget 100 nights
    assert fleet.family_size == 3 and fleet.n_models == 2
    # Sorted 1e-5, 0.004, 0.5 → adjusted 3e-5, 0.006, 0.5.
    assert fleet.adjusted["a"] == pytest.approx([3e-5, 0.5])
    assert fleet.adjusted["b"] == pytest.approx([0.006])
    assert fleet.discoveries == 2


def test_a_lone_discovery_in_a_fleet_of_200_needs_much_stronger_evidence() -> None:
    settings = SignalSettings()
    models = {"a": [_check("quality.vs_reference", 1e-4)]}
    alone = fleet_adjust(models, {"a": settings})
    crowd = fleet_adjust(
        models, {"a": settings}, background_models=199, background_p_values=[0.5] * 199 * 8
    )
    judged_alone = rejudge(
        models["a"], alone.adjusted["a"], level=alone.level, criticality=2, n_rows=5000
    )
    judged_crowd = rejudge(
        models["a"], crowd.adjusted["a"], level=crowd.level, criticality=2, n_rows=5000
    )
    assert judged_alone.status == "breach" and judged_alone.breaches[0].tier == 2
    assert judged_crowd.status == "warning"  # material, significant alone, not in the fleet


def test_a_material_change_with_weak_evidence_is_not_even_a_warning() -> None:
    # Material (0.80 < 0.85) but p = 0.008 > q/m = 0.01/2: a healthy model's noise.
    checks = [_check("quality.vs_reference", 0.008), _check("x.vs_reference", 0.5, observed=0.9)]
    judged = rejudge(checks, [0.016, 0.5], level=0.01, criticality=2, n_rows=5000)
    assert [c.status for c in judged.checks] == ["ok", "ok"] and judged.status == "healthy"
    stronger = rejudge(
        [checks[0].model_copy(update={"p_value": 0.004}), checks[1]],
        [0.016, 0.5],
        level=0.01,
        criticality=2,
        n_rows=5000,
    )
    assert stronger.checks[0].status == "warning"


@pytest.mark.parametrize(("q", "models", "checks"), [(0.05, 200, 14), (0.01, 1, 14), (0.02, 2, 3)])
def test_the_support_level_keeps_chance_persistence_within_the_family_level(
    q: float, models: int, checks: int
) -> None:
    alpha = support_level(q, models, checks, 2, 3)
    # Hand-worked: alpha = sqrt(q / (C(3, 2) · models · checks)).
    assert alpha == pytest.approx(math.sqrt(q / (3 * models * checks)))
    # Independently: a healthy check is significant at alpha on a night with probability
    # alpha, so 2 of 3 such nights have probability binom.sf(1, 3, alpha); summed over
    # every check of every model that stays within q (and close to it: the bound is tight).
    chance = stats.binom.sf(1, 3, alpha) * models * checks
    assert chance <= q and chance == pytest.approx(q, rel=0.1)
    # No support when every breach acts on its own night, or k > n.
    assert support_level(q, models, checks, 1, 3) == 0.0
    assert support_level(q, models, checks, 4, 3) == 0.0


def test_a_check_supports_persistence_when_significant_at_the_support_level_and_half_material() -> (
    None
):
    # One model, two checks in the family, q = 0.01: support level sqrt(0.01 / 6) ≈ 0.041.
    def judged(p: float, observed: float) -> Check:
        checks = [
            _check("quality.vs_reference", p, observed=observed),
            _check("x.vs_reference", 0.5, observed=0.9),
        ]
        return rejudge(
            checks, [min(1.0, 2 * p), 0.5], level=0.01, criticality=2, n_rows=5000
        ).checks[0]

    # Reference 0.90, minimum effect at 0.85: half of it is 0.875.
    assert judged(0.02, 0.86).supports_persistence
    assert judged(0.02, 0.86).support_level == pytest.approx(math.sqrt(0.01 / 6))
    assert judged(0.02, 0.86).status == "ok"  # support alone is no warning
    assert not judged(0.05, 0.86).supports_persistence  # p above the support level
    assert not judged(0.02, 0.88).supports_persistence  # less than half the minimum effect
    off = SignalSettings(persistence_support=False)
    checks = [_check("quality.vs_reference", 0.02, observed=0.86)]
    assert (
        not rejudge(checks, [0.02], level=0.01, criticality=2, n_rows=5000, settings=off)
        .checks[0]
        .supports_persistence
    )


def test_a_limit_breach_that_does_not_survive_the_correction_is_a_warning() -> None:
    limit = Check(
        threshold="error_rate",
        status="breach",
        observed=0.06,
        limit=0.05,
        direction="max",
        ci_low=0.051,
        ci_high=0.07,
        n=2000,
        tier=2,
        magnitude=1,
        p_value=0.02,
    )
    kept = rejudge([limit], [0.001], level=0.01, criticality=2, n_rows=2000)
    demoted = rejudge([limit], [0.04], level=0.01, criticality=2, n_rows=2000)
    assert kept.checks[0].status == "breach" and kept.checks[0].tier == 1
    assert demoted.checks[0].status == "warning" and demoted.breaches[0].level == "warning"


def test_models_that_opt_out_stay_out_of_the_family() -> None:
    models = {"a": [_check("quality.vs_reference", 1e-5)], "b": [_check("x", 1e-5)]}
    fleet = fleet_adjust(models, {"a": SignalSettings(), "b": SignalSettings(enabled=False)})
    assert fleet.n_models == 1 and fleet.family_size == 1 and fleet.adjusted["b"] == [None]


# ------------------------------------------------------------------- the nightly job


def test_the_nightly_job_corrects_the_fleet_and_takes_history(tmp_path: Path) -> None:
    start = date(2026, 3, 1)
    t0 = datetime(2026, 3, 29, tzinfo=timezone.utc)

    def profile(model_id: str, *degradations: Degradation) -> ModelProfile:
        return ModelProfile(
            model_id=model_id,
            kind="llm",
            rows_per_day=600,
            accuracy=0.9,
            error_rate=0.01,
            latency_median_ms=500.0,
            latency_sigma=0.4,
            output_types={"answer": 1.0},
            segments={"a": 0.5, "b": 0.5},
            degradations=degradations,
        )

    profiles = [
        profile("steady"),
        profile("slipping", Degradation("error_rate_multiplier", 4.0, start=t0)),
    ]
    logs = tmp_path / "logs"
    write_logs(profiles, start, 29, logs, seed=4)
    register = tmp_path / "register.yaml"
    register.write_text(
        "name: t\ndefaults:\n  owner: o\n  thresholds: {min_samples: 100}\n"
        "models:\n  - id: steady\n  - id: slipping\n"
    )
    loaded = load_register(register)
    history = {
        "steady": [
            NightValue(start + timedelta(days=d), "error_rate", 0.01, 590) for d in range(20, 28)
        ]
    }
    options = CheckOptions(
        logs=[logs],
        as_of=date(2026, 3, 29),
        out_dir=tmp_path / "out",
        now=t0 + timedelta(days=1),
        drift=False,
        history=history,
    )
    report = run_check(loaded, options)
    assert report.signal is not None
    assert report.signal.level == pytest.approx(0.02) and report.signal.n_models == 2
    by_id = {m.model_id: m for m in report.models}
    slipping = {c.threshold: c for c in by_id["slipping"].checks}
    assert slipping["error_rate.vs_reference"].status == "breach"
    assert by_id["slipping"].dominant_failure_mode == "availability"
    steady = {c.threshold: c for c in by_id["steady"].checks}
    assert "error_rate.ewma" in steady and "error_rate.ewma" not in slipping
    assert all(c.p_adjusted is not None for c in steady.values() if c.p_value is not None)
