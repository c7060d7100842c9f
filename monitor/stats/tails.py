"""Tail probabilities and quantiles for the nightly judgement, from ``scipy.special`` alone.

Why not ``scipy.stats``
-----------------------
Importing ``scipy.stats`` takes 0.6 s on the reference machine, 0.4 s of it beyond
``scipy.special`` (``benchmarks/bench_imports.py``), and every check paid it to evaluate
a few dozen scalar probabilities. Each function here is what ``scipy.stats`` computes,
without its distribution machinery:

* where ``scipy.stats`` calls a public ``scipy.special`` function, the same call (the
  normal, Student t, chi-square and Poisson functions): the same number;
* the binomial tails as regularised incomplete beta functions (``betainc``, Boost's, as
  ``scipy.stats`` uses; Cephes' ``bdtrc`` is off by 1e-9 relative at 3 M rows and
  p = 1e-9); its quantile is the smallest count whose distribution function reaches
  ``q``, the definition ``scipy.stats`` documents for discrete quantiles;
* the hypergeometric upper tail (the one-sided Fisher test) by summing the mass
  function over the tail, in logs: relative error about ``n·log(n)·1e-16`` from the
  logs of binomial coefficients (1e-8 at 6 M rows, where scipy's Boost code does better;
  far below what a decision at α ≥ 1e-6 can feel);
* the two-sided one-sample Kolmogorov–Smirnov survival function (``kstwo.sf``), vendored
  from SciPy's ``scipy/stats/_ksstats.py`` (Simard and L'Ecuyer's choice between
  Durbin's matrix, Pomeranz's recursion and the Pelz–Good expansion).

``tests/test_tails.py`` checks every function against ``scipy.stats`` on grids that
cover the arguments the monitor passes and their edges: equal, or to a relative 1e-9
(the hypergeometric tail: 5e-8).

The Kolmogorov–Smirnov code is SciPy's, under its BSD-3-Clause licence:

    Copyright (c) 2001-2002 Enthought, Inc. 2003, SciPy Developers. All rights reserved.

    Redistribution and use in source and binary forms, with or without modification,
    are permitted provided that the following conditions are met: (1) Redistributions
    of source code must retain the above copyright notice, this list of conditions and
    the following disclaimer. (2) Redistributions in binary form must reproduce the
    above copyright notice, this list of conditions and the following disclaimer in the
    documentation and/or other materials provided with the distribution. (3) Neither
    the name of the copyright holder nor the names of its contributors may be used to
    endorse or promote products derived from this software without specific prior
    written permission.

    THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY
    EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES
    OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT
    SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY DIRECT, INDIRECT,
    INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED
    TO, PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR
    BUSINESS INTERRUPTION) HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN
    CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY
    WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.

References
----------
R. Simard and P. L'Ecuyer, "Computing the two-sided Kolmogorov–Smirnov distribution",
Journal of Statistical Software 39(11) (2011) 1–18.
G. Marsaglia, W. W. Tsang and J. Wang, "Evaluating Kolmogorov's distribution",
Journal of Statistical Software 8(18) (2003) 1–4.
J. Pomeranz, "Exact cumulative distribution of the Kolmogorov–Smirnov statistic for
small samples (Algorithm 487)", Communications of the ACM 17(12) (1974) 703–704.
W. Pelz and I. J. Good, "Approximating the lower tail-areas of the Kolmogorov–Smirnov
one-sample statistic", JRSS B 38(2) (1976) 152–156.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import special

__all__ = [
    "binom_cdf",
    "binom_pmf",
    "binom_ppf",
    "binom_sf",
    "chi2_ppf",
    "chi2_sf",
    "hypergeom_sf",
    "kstwo_sf",
    "norm_cdf",
    "norm_isf",
    "norm_ppf",
    "norm_sf",
    "poisson_cdf",
    "poisson_sf",
    "t_cdf",
    "t_ppf",
]


# ---------------------------------------------------------------- continuous: as scipy


def norm_cdf(x: float) -> float:
    """``scipy.stats.norm.cdf(x)``."""
    return float(special.ndtr(x))


def norm_sf(x: float) -> float:
    """``scipy.stats.norm.sf(x)``."""
    return float(special.ndtr(-x))


def norm_ppf(q: float) -> float:
    """``scipy.stats.norm.ppf(q)``."""
    return float(special.ndtri(q))


def norm_isf(q: float) -> float:
    """``scipy.stats.norm.isf(q)``."""
    return -float(special.ndtri(q))


def t_cdf(x: float, df: float) -> float:
    """``scipy.stats.t.cdf(x, df)``."""
    return float(special.stdtr(df, x))


def t_ppf(q: float, df: float) -> float:
    """``scipy.stats.t.ppf(q, df)``."""
    return float(special.stdtrit(df, q))


def chi2_sf(x: float, df: float) -> float:
    """``scipy.stats.chi2.sf(x, df)``."""
    return float(special.chdtrc(df, x)) if x > 0 else 1.0


def chi2_ppf(q: float, df: float) -> float:
    """``scipy.stats.chi2.ppf(q, df)``."""
    return float(2.0 * special.gammaincinv(df / 2.0, q))


# ---------------------------------------------------------------- discrete


def poisson_cdf(k: float, mu: float) -> float:
    """``scipy.stats.poisson.cdf(k, mu)``: ``P(X ≤ k)``."""
    k = math.floor(k)
    return 0.0 if k < 0 else float(special.pdtr(k, mu))


def poisson_sf(k: float, mu: float) -> float:
    """``scipy.stats.poisson.sf(k, mu)``: ``P(X > k)``."""
    k = math.floor(k)
    return 1.0 if k < 0 else float(special.pdtrc(k, mu))


def binom_cdf(k: float, n: int, p: float) -> float:
    """``scipy.stats.binom.cdf(k, n, p)``: ``P(X ≤ k)`` for X ~ Bin(n, p)."""
    k = math.floor(k)
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return float(special.betaincc(k + 1, n - k, p))


def binom_sf(k: float, n: int, p: float) -> float:
    """``scipy.stats.binom.sf(k, n, p)``: ``P(X > k)``."""
    k = math.floor(k)
    if k < 0:
        return 1.0
    if k >= n:
        return 0.0
    return float(special.betainc(k + 1, n - k, p))


def binom_pmf(k: int, n: int, p: float) -> float:
    """``scipy.stats.binom.pmf(k, n, p)``, from logs (exact to about ``n·1e-16``)."""
    if not 0 <= k <= n:
        return 0.0
    if p in (0.0, 1.0):
        return 1.0 if k == (n if p == 1.0 else 0) else 0.0
    log = (
        special.gammaln(n + 1.0)
        - special.gammaln(k + 1.0)
        - special.gammaln(n - k + 1.0)
        + special.xlogy(k, p)
        + special.xlog1py(n - k, -p)
    )
    return float(np.exp(log))


def binom_ppf(q: float, n: int, p: float) -> float:
    """``scipy.stats.binom.ppf(q, n, p)``: the smallest ``k`` with ``P(X ≤ k) ≥ q``.

    Bisection on the distribution function: ``log2(n)`` evaluations.
    """
    if math.isnan(q) or not 0.0 <= q <= 1.0:
        return math.nan
    if q == 0.0:
        return -1.0  # scipy's convention: the quantile of 0 is one below the support
    if q == 1.0:
        return float(n)  # and that of 1 the top of the support, though cdf may reach 1 sooner
    low, high = -1, n  # cdf(low) < q <= cdf(high) = 1
    while high - low > 1:
        mid = (low + high) // 2
        if binom_cdf(mid, n, p) >= q:
            high = mid
        else:
            low = mid
    return float(high)


def hypergeom_sf(k: int, total: int, marked: int, draws: int) -> float:
    """``scipy.stats.hypergeom.sf(k, total, marked, draws)``: ``P(X > k)`` for X the marked
    items among ``draws`` drawn without replacement from ``total`` holding ``marked``.

    The mass function is summed over the tail beyond ``k`` when it lies above the mode (so
    small p-values keep their relative accuracy), otherwise one minus the rest; each term
    in logs (``betaln``), over at most 80 standard deviations.
    """
    low, high = max(0, draws - (total - marked)), min(marked, draws)
    k = math.floor(k)
    if k < low:
        return 1.0
    if k >= high:
        return 0.0
    # P(X = x) is symmetric in (marked, draws): with the smaller as ``draws`` the logs
    # summed stay below min(marked, draws)·log(total) in size, so lose less to rounding.
    marked, draws = max(marked, draws), min(marked, draws)
    mode = (draws + 1) * (marked + 1) // (total + 2)
    # Beyond 40 standard deviations from where a sum starts its terms are below e^-800
    # of the first (the log mass falls off at least quadratically): they are not summed.
    spread = (total - marked) * (total - draws) / (total * max(total - 1, 1))
    reach = math.ceil(40 * math.sqrt(draws * marked / total * spread)) + 64
    if k + 1 > mode:
        return min(1.0, _hypergeom_mass(k + 1, min(high, k + 1 + reach), total, marked, draws))
    tail = _hypergeom_mass(max(low, k - reach), k, total, marked, draws)
    return min(1.0, max(0.0, 1.0 - tail))


def _hypergeom_mass(lo: int, hi: int, total: int, marked: int, draws: int) -> float:
    """``Σ P(X = x)`` for ``lo ≤ x ≤ hi``, each term from logs."""
    x = np.arange(lo, hi + 1, dtype=np.float64)
    log = (
        _log_choose(marked, x)
        + _log_choose(total - marked, draws - x)
        - _log_choose(total, np.float64(draws))
    )
    return float(np.exp(log).sum())


def _log_choose(n: float, k: np.ndarray | np.float64) -> np.ndarray:
    """``log C(n, k)`` via ``betaln`` (no cancellation between three ``gammaln``)."""
    return np.asarray(-np.log1p(n) - special.betaln(n - k + 1.0, k + 1.0))


# ---------------------------------------------------------------- Kolmogorov–Smirnov
# Vendored from scipy/stats/_ksstats.py (SciPy 1.17.1; BSD-3-Clause, notice above),
# cut to the survival function and typed. The arithmetic is SciPy's, line for line.

_E128 = 128
_EP128 = float(np.ldexp(1.0, _E128))
_EM128 = float(np.ldexp(1.0, -_E128))
_SQRT2PI = math.sqrt(2 * math.pi)
_LOG_2PI = math.log(2 * math.pi)
_MIN_LOG = -708
_SQRT3 = math.sqrt(3)
_PI_SQUARED = math.pi**2
_PI_FOUR = math.pi**4
_PI_SIX = math.pi**6
# Stirling coefficients B_{2j}/(2j)/(2j-1), j = 8, ..., 1.
_STIRLING_COEFFS = [
    -2.955065359477124183e-2,
    6.4102564102564102564e-3,
    -1.9175269175269175269e-3,
    8.4175084175084175084e-4,
    -5.952380952380952381e-4,
    7.9365079365079365079e-4,
    -2.7777777777777777778e-3,
    8.3333333333333333333e-2,
]


def kstwo_sf(x: float, n: int) -> float:
    """``scipy.stats.kstwo.sf(x, n)``: ``P(D_n ≥ x)`` for the two-sided one-sample
    Kolmogorov–Smirnov statistic of ``n`` observations (Simard and L'Ecuyer 2011)."""
    if int(n) != n or n <= 0 or math.isnan(x):
        return math.nan
    n = int(n)
    if x >= 1.0:
        return 0.0
    if x <= 0.0:
        return 1.0
    t = n * x
    if t <= 1.0:  # Ruben-Gambino: 1/2n <= x <= 1/n
        if t <= 0.5:
            return 1.0
        if n <= 140:
            prob = float(np.prod(np.arange(1, n + 1) * (1.0 / n) * (2 * t - 1)))
        else:
            prob = math.exp(_log_nfactorial_div_n_pow_n(n) + n * math.log(2 * t - 1))
        return _clip(1.0 - prob)
    if t >= n - 1:  # Ruben-Gambino
        return _clip(2 * (1.0 - x) ** n)
    if x >= 0.5:  # exact: 2 * smirnov
        return _clip(2 * float(special.smirnov(n, x)))
    nxsquared = t * x
    if n <= 140:
        if nxsquared <= 0.754693:
            return _clip(1.0 - _kolmogn_dmtw(n, x))
        if nxsquared <= 4:
            return _clip(1.0 - _kolmogn_pomeranz(n, x))
        return _clip(2 * float(special.smirnov(n, x)))  # Miller's approximation
    if nxsquared >= 370.0:
        return 0.0
    if nxsquared >= 2.2:
        return _clip(2 * float(special.smirnov(n, x)))
    if n <= 100000 and n * x**1.5 <= 1.4:
        return _clip(1.0 - _kolmogn_dmtw(n, x))
    return _clip(1.0 - _pelz_good_cdf(n, x))


def _clip(p: float) -> float:
    return min(1.0, max(0.0, float(p)))


def _log_nfactorial_div_n_pow_n(n: int) -> float:
    # log(n! / n**n) by Stirling's series, n*log(n) removed up front (no cancellation).
    rn = 1.0 / n
    return float(np.log(n) / 2 - n + _LOG_2PI / 2 + rn * np.polyval(_STIRLING_COEFFS, rn / n))


def _kolmogn_dmtw(n: int, d: float) -> float:
    """``P(D_n ≤ d)`` by Durbin's matrix, as Marsaglia, Tsang and Wang compute it."""
    if d >= 1.0:
        return 1.0
    nd = n * d
    if nd <= 0.5:
        return 0.0
    k = math.ceil(nd)
    h = k - nd
    m = 2 * k - 1
    big = np.zeros([m, m])
    intm = np.arange(1, m + 1)
    v = 1.0 - h**intm
    w = np.empty(m)
    fac = 1.0
    for j in intm:
        w[j - 1] = fac
        fac /= j  # may underflow, harmlessly
        v[j - 1] *= fac
    tt = max(2 * h - 1.0, 0) ** m - 2 * h**m
    v[-1] = (1.0 + tt) * fac
    for i in range(1, m):
        big[i - 1 :, i] = w[: m - i + 1]
    big[:, 0] = v
    big[-1, :] = np.flip(v, axis=0)
    power = np.eye(m)
    nn = n
    expnt = 0
    big_expnt = 0
    while nn > 0:
        if nn % 2:
            power = np.matmul(power, big)
            expnt += big_expnt
        big = np.matmul(big, big)
        big_expnt *= 2
        if np.abs(big[k - 1, k - 1]) > _EP128:
            big /= _EP128
            big_expnt += _E128
        nn = nn // 2
    p = float(power[k - 1, k - 1])
    for i in range(1, n + 1):  # times n!/n^n
        p = i * p / n
        if abs(p) < _EM128:
            p *= _EP128
            expnt -= _E128
    if expnt != 0:
        p = float(np.ldexp(p, expnt))
    return _clip(p)


def _pomeranz_j1j2(i: int, n: int, ll: int, ceilf: int, roundf: int) -> tuple[int, int]:
    if i == 0:
        j1, j2 = -ll - ceilf - 1, ll + ceilf - 1
    else:
        ip1div2, ip1mod2 = divmod(i + 1, 2)
        if ip1mod2 == 0:  # i is odd
            if ip1div2 == n + 1:
                j1, j2 = n - ll - ceilf - 1, n + ll + ceilf - 1
            else:
                j1, j2 = ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1
        else:
            j1, j2 = ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1
    return max(j1 + 2, 0), min(j2, n)


def _kolmogn_pomeranz(n: int, x: float) -> float:
    """``P(D_n ≤ x)`` by Pomeranz's recursion (two rows of convolutions, rescaled)."""
    t = n * x
    ll = math.floor(t)
    f = 1.0 * (t - ll)
    g = min(f, 1.0 - f)
    ceilf = 1 if f > 0 else 0
    roundf = 1 if f > 0.5 else 0
    npwrs = 2 * (ll + 1)
    gpower = np.empty(npwrs)
    twogpower = np.empty(npwrs)
    onem2gpower = np.empty(npwrs)
    gpower[0] = twogpower[0] = onem2gpower[0] = 1.0
    expnt = 0
    g_over_n, two_g_over_n, one_minus_two_g_over_n = g / n, 2 * g / n, (1 - 2 * g) / n
    for m in range(1, npwrs):
        gpower[m] = gpower[m - 1] * g_over_n / m
        twogpower[m] = twogpower[m - 1] * two_g_over_n / m
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / m
    v0 = np.zeros([npwrs])
    v1 = np.zeros([npwrs])
    v1[0] = 1
    v0s, v1s = 0, 0
    j1, j2 = _pomeranz_j1j2(0, n, ll, ceilf, roundf)
    for i in range(1, 2 * n + 2):
        k1 = j1
        v0, v1 = v1, v0
        v0s, v1s = v1s, v0s
        v1.fill(0.0)
        j1, j2 = _pomeranz_j1j2(i, n, ll, ceilf, roundf)
        edge = i in (1, 2 * n + 1)
        pwrs = gpower if edge else (twogpower if i % 2 else onem2gpower)
        ln2 = j2 - k1 + 1
        if ln2 > 0:
            conv = np.convolve(v0[k1 - v0s : k1 - v0s + ln2], pwrs[:ln2])
            conv_start = j1 - k1
            conv_len = j2 - j1 + 1
            v1[:conv_len] = conv[conv_start : conv_start + conv_len]
            if 0 < np.max(v1) < _EM128:
                v1 *= _EP128
                expnt -= _E128
            v1s = v0s + j1 - k1
    ans = float(v1[n - v1s])
    for m in range(1, n + 1):  # times n!
        if abs(ans) > _EP128:
            ans *= _EM128
            expnt += _E128
        ans *= m
    if expnt != 0:
        ans = float(np.ldexp(ans, expnt))
    return _clip(ans)


def _pelz_good_cdf(n: int, x: float) -> float:
    """``P(D_n ≤ x)`` by the Pelz–Good form of the Li-Chien/Korolyuk expansion."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    z = math.sqrt(n) * x
    zsquared, zthree, zfour, zsix = z**2, z**3, z**4, z**6
    qlog = -_PI_SQUARED / 8 / zsquared
    if qlog < _MIN_LOG:
        return 0.0
    q = math.exp(qlog)
    k1a = -zsquared
    k1b = _PI_SQUARED / 4
    k2a = 6 * zsix + 2 * zfour
    k2b = (2 * zfour - 5 * zsquared) * _PI_SQUARED / 4
    k2c = _PI_FOUR * (1 - 2 * zsquared) / 16
    k3d = _PI_SIX * (5 - 30 * zsquared) / 64
    k3c = _PI_FOUR * (-60 * zsquared + 212 * zfour) / 16
    k3b = _PI_SQUARED * (135 * zfour - 96 * zsix) / 4
    k3a = -30 * zsix - 90 * z**8
    terms = np.zeros(4)
    maxk = math.ceil(16 * z / math.pi)
    for k in range(maxk, 0, -1):  # Horner in q^(8k): a sum over odd m = 2k - 1
        m = 2 * k - 1
        msquared, mfour, msix = m**2, m**4, m**6
        qpower = np.power(q, 8 * k)
        coeffs = np.array(
            [
                1.0,
                k1a + k1b * msquared,
                k2a + k2b * msquared + k2c * mfour,
                k3a + k3b * msquared + k3c * mfour + k3d * msix,
            ]
        )
        terms *= qpower
        terms += coeffs
    terms *= q
    terms *= _SQRT2PI
    terms /= np.array([z, 6 * zfour, 72 * z**7, 6480 * z**10])
    q = math.exp(-_PI_SQUARED / 2 / zsquared)
    ks = np.arange(maxk, 0, -1)
    ksquared = ks**2
    sqrt3z = _SQRT3 * z
    kspi = np.pi * ks
    qpwers = q**ksquared
    k2extra = np.sum(ksquared * qpwers) * _PI_SQUARED * _SQRT2PI / (-36 * zthree)
    terms[2] += k2extra
    k3extra = np.sum((sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwers)
    terms[3] += k3extra * _PI_SQUARED * _SQRT2PI / (216 * zsix)
    terms /= np.power(n * 1.0, np.arange(len(terms)) / 2.0)
    return float(sum(terms))
