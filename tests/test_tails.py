"""``monitor.stats.tails`` against ``scipy.stats``, on grids covering what the monitor
passes (nights of a few rows to millions, probabilities near 0, 1 and the levels used)."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from monitor.stats import tails

LEVELS = [1e-12, 1e-6, 0.001, 0.005, 0.025, 0.05, 0.5, 0.95, 0.975, 0.995, 0.999999]
SIZES = [1, 2, 7, 30, 141, 1_000, 12_345, 250_000, 3_000_000]
RATES = [1e-9, 1e-4, 0.003, 0.05, 0.31, 0.5, 0.97, 1 - 1e-9]


def close(ours: float, theirs: float, rel: float = 1e-9, floor: float = 1e-300) -> bool:
    """Equal to ``rel``, or both below ``floor`` (deep-tail underflow)."""
    if math.isnan(theirs):
        return math.isnan(ours)
    if abs(theirs) < floor and abs(ours) < floor:
        return True
    return math.isclose(ours, theirs, rel_tol=rel, abs_tol=0.0)


def test_the_continuous_functions_are_scipys_numbers() -> None:
    for q in LEVELS:
        assert tails.norm_ppf(q) == stats.norm.ppf(q)
        assert tails.norm_isf(q) == stats.norm.isf(q)
        for df in (1, 2, 5, 29, 999, 10**6):
            assert tails.t_ppf(q, df) == stats.t.ppf(q, df)
            assert close(tails.chi2_ppf(q, df), stats.chi2.ppf(q, df))
    for x in (-40.0, -8.2, -1.96, 0.0, 0.3, 1.645, 5.0, 37.5):
        assert tails.norm_sf(x) == stats.norm.sf(x)
        assert tails.norm_cdf(x) == stats.norm.cdf(x)
        for df in (1, 3, 30, 4_000):
            assert tails.t_cdf(x, df) == stats.t.cdf(x, df)
            assert tails.chi2_sf(abs(x), df) == stats.chi2.sf(abs(x), df)
    assert tails.chi2_sf(-1.0, 3) == stats.chi2.sf(-1.0, 3) == 1.0


def test_poisson_tails_are_scipys_numbers() -> None:
    for k, mu in itertools.product([-1, 0, 1, 3, 17, 250, 10_000], [0.0, 0.2, 4.0, 300.0, 9e3]):
        assert close(tails.poisson_cdf(k, mu), stats.poisson.cdf(k, mu))
        assert close(tails.poisson_sf(k, mu), stats.poisson.sf(k, mu))


@pytest.mark.parametrize("n", SIZES)
def test_binomial_tails_and_mass_match_scipy(n: int) -> None:
    rng = np.random.default_rng(n)
    for p in RATES:
        mean = n * p
        sd = math.sqrt(max(n * p * (1 - p), 1.0))
        ks = {-1, 0, 1, n - 1, n, *(int(mean + z * sd) for z in (-9, -3, -1, 0, 1, 3, 9))}
        ks |= set(rng.integers(0, n + 1, 5).tolist())
        for k in sorted(k for k in ks if -1 <= k <= n):
            assert close(tails.binom_cdf(k, n, p), stats.binom.cdf(k, n, p)), (k, n, p)
            assert close(tails.binom_sf(k, n, p), stats.binom.sf(k, n, p)), (k, n, p)
            # the mass from logs: exact to about n * 1e-16 relative
            assert close(tails.binom_pmf(k, n, p), stats.binom.pmf(k, n, p), rel=1e-8), (k, n, p)


@pytest.mark.parametrize("n", SIZES)
def test_binomial_quantiles_are_scipys(n: int) -> None:
    for p, q in itertools.product([*RATES, 0.99], [0.0, *LEVELS, 1.0]):
        if p == q == 0.5 and n % 2:
            # a tie: P(X ≤ (n-1)/2) is exactly 1/2, which Boost's cdf rounds one ulp
            # below (so scipy says (n+1)/2); the definition gives (n-1)/2, as here
            assert tails.binom_ppf(q, n, p) == (n - 1) / 2
            continue
        assert tails.binom_ppf(q, n, p) == stats.binom.ppf(q, n, p), (q, n, p)


def test_the_hypergeometric_tail_is_fishers_exact_test() -> None:
    rng = np.random.default_rng(7)
    cases = [
        (x1, n1, x0, n0)
        for x1, n1, x0, n0 in [
            (0, 1, 0, 1),
            (3, 10, 1, 10),
            (10, 10, 0, 10),
            (0, 50, 5, 50),
            (12, 400, 3, 900),
            (410, 50_000, 300, 60_000),
            (7, 2_000_000, 2, 3_000_000),
            (1_500, 3_000_000, 1_200, 3_000_000),
            (30_000, 1_000_000, 29_000, 1_000_000),
            (2_000, 1_000_000, 1_000, 1_000_000),  # p ≈ 1e-70: the far tail, summed
            (100, 200, 10, 5_000_000),
            (500, 1_000_000, 520, 1_000_000),  # below the mode: one minus the rest
        ]
    ]
    for _ in range(200):
        n1, n0 = (int(v) for v in rng.integers(1, 5_000, 2))
        rate = rng.choice([0.001, 0.02, 0.3])
        cases.append(
            (
                int(rng.binomial(n1, rate * rng.choice([1, 1.5, 3])))
                if rate * 3 < 1
                else int(rng.binomial(n1, rate)),
                n1,
                int(rng.binomial(n0, rate)),
                n0,
            )
        )
    for x1, n1, x0, n0 in cases:
        x1 = min(x1, n1)
        theirs = stats.hypergeom.sf(x1 - 1, n1 + n0, x1 + x0, n1)
        ours = tails.hypergeom_sf(x1 - 1, n1 + n0, x1 + x0, n1)
        # logs of binomial coefficients of millions (betaln) round to ~n·log(n)·1e-16
        assert close(ours, theirs, rel=5e-8, floor=1e-290), (x1, n1, x0, n0, ours, theirs)
        fisher = stats.fisher_exact([[x1, n1 - x1], [x0, n0 - x0]], alternative="greater")
        assert close(min(1.0, ours), float(fisher.pvalue), rel=1e-7, floor=1e-290)


def test_the_kolmogorov_smirnov_tail_is_scipys_on_every_branch() -> None:
    # n ≤ 140 (exact: Durbin, Pomeranz, Ruben-Gambino, 2·smirnov) and beyond (Durbin up to
    # 100 000, Pelz–Good after, 2·smirnov in the tail): the statistic over its range.
    for n in (1, 2, 5, 40, 140, 141, 500, 7_000, 99_999, 100_001, 400_000, 2_500_000):
        for x in [
            *np.linspace(0.0, 1.0, 41),
            0.5 / n,
            1.0 / n,
            1.3 / n,
            0.6 / math.sqrt(n),
            1.0 / math.sqrt(n),
            1.4 / math.sqrt(n),
            2.0 / math.sqrt(n),
            1 - 1.0 / n,
        ]:
            assert close(tails.kstwo_sf(float(x), n), float(stats.kstwo.sf(x, n)), rel=1e-10), (
                n,
                x,
            )
    assert math.isnan(tails.kstwo_sf(0.1, 0))


def test_a_check_never_imports_scipy_stats() -> None:
    # the point of this module: judging a night costs scipy.special, not scipy.stats
    code = (
        "import sys; from monitor.stats import tails, significance, intervals, estimation;"
        "from monitor.judge import sequential, limits; from monitor.failure_modes import evidence;"
        "from monitor.stats import distribution, calibration;"
        "assert significance.rate_increase_p_value(3, 10, 1, 10) > 0;"
        "assert tails.kstwo_sf(0.2, 50) > 0;"
        "print('scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
