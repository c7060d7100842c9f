"""Evidently's default drift tests, computed from mergeable window summaries.

:func:`column_drift` compares one column's distributions (from
:mod:`monitor.stats.drift_summary`) in two windows with the method Evidently 0.7 picks by
default, with Evidently's thresholds and its verdict rule, so the verdicts agree with
Evidently run on the same full windows. :func:`default_method` mirrors Evidently's
chooser (``_get_default_stattest`` in ``evidently/legacy/calculations/stattests/
registry.py``, 0.7.23), where ``n_reference`` counts the reference's non-missing values
and ``n_values`` the distinct values of both windows together:

============  ========================================  ================================
column        reference ≤ 1 000 values                  reference > 1 000 values
============  ========================================  ================================
numeric       K-S (``n_values`` > 5); chi-square        Wasserstein distance (normed)
              (3-5 values); Z-test (≤ 2 values)         (``n_values`` > 5); Jensen-
                                                        Shannon distance (≤ 5 values)
categorical   chi-square (> 2 values); Z-test (≤ 2)     Jensen-Shannon distance
============  ========================================  ================================

Thresholds and verdicts (Evidently's ``default_threshold`` and each test's own rule):
K-S drifts when ``p ≤ 0.05``; chi-square and Z when ``p < 0.05``; Wasserstein (normed)
and Jensen-Shannon when the distance is ``≥ 0.1``. PSI is never a default. Missing values
(None, NaN, ±inf) are dropped first, as Evidently does.

Accuracy
--------
Every result carries ``statistic_low ≤ statistic ≤ statistic_high``, an interval that is
*guaranteed* to hold the value Evidently computes on the full windows (up to float
rounding, about 1e-12 relative). It is a single point, i.e. the statistic is exact,
whenever the summaries are: chi-square and Z always (their reference has at most 1 000
values, so it is never folded, and see :class:`~monitor.stats.drift_summary.CategoryDistribution`
for the current window), Jensen-Shannon unless a window folded categories into
"other", K-S and Wasserstein whenever both windows are exact (at most 10 000 values, or
at most ``max_bins`` distinct values). Otherwise:

* **Wasserstein (normed).** Moving every value to the middle of its bucket moves it by
  at most the bucket's half-width ``h_b``, so (triangle inequality for W1) the estimate
  is within ``ε = (Σ_b h_b·p_b + Σ_b h_b·q_b) / max(σ_ref, 0.001)`` of the exact value,
  ``p``, ``q`` the two windows' bucket shares. With ``m`` mantissa bits kept, ``h_b ≤
  2^-(m+1)·(1 + 2^-m)·|x|`` for every ``x`` in the bucket (but the one around zero, a
  subnormal width), so ``ε ≤ 2^-(m+1)·(1 + 2^-m)·(E_ref|X| + E_cur|X|) / σ_ref``.
* **K-S.** Inside a bucket each empirical CDF is only known to lie between the share
  of buckets ending at or below ``x`` and the share of buckets starting at or below
  ``x``; the smallest and largest ``sup |F_ref − F_cur|`` those limits allow bound ``D``,
  each within ``s_ref + s_cur`` of it, ``s`` a window's largest bucket share (0 for an
  exact window, as the reference always is when K-S is chosen). The p-value, decreasing
  in ``D``, lies between the p-values of the two bounds. The point estimate spreads each
  bucket evenly over its range. Exact-method p-values (scipy's ``ks_2samp`` when both
  windows hold at most 10 000 values) always come from exact summaries.
* **Jensen-Shannon with "other".** Joining categories can only lower the divergence
  (the summand is jointly convex and homogeneous), and each category adds at most
  ``½ (p_i + q_i) ln 2``, so the exact divergence lies between the folded one ``J`` and
  ``J − f(P_o, Q_o) + ½ (P_o + Q_o) ln 2``, ``P_o``, ``Q_o`` the shares in "other";
  distances are the square roots.

``drifted`` is the verdict at ``statistic``; ``certain`` says whether the whole interval
gives the same verdict.

References
----------
.. [1] Evidently AI, "Data drift algorithm" (default method selection and thresholds),
   https://docs-old.evidentlyai.com/reference/data-drift-algorithm; the code that 0.7
   runs: ``evidently/legacy/calculations/stattests/registry.py`` (``_get_default_stattest``)
   and the tests next to it (``ks_stattest.py``, ``chisquare_stattest.py``,
   ``z_stattest.py``, ``jensenshannon.py``, ``wasserstein_distance_norm.py``, ``utils.py``).
.. [2] L. N. Vaserstein, "Markov processes over denumerable products of spaces, describing
   large systems of automata", Problems of Information Transmission 5(3), 47-52, 1969
   (W1 = ∫|F − G|; normed here by the reference's standard deviation, as in Evidently).
.. [3] J. Lin, "Divergence measures based on the Shannon entropy", IEEE Transactions on
   Information Theory 37(1), 145-151, 1991 (Jensen-Shannon; natural log, distance =
   square root, as ``scipy.spatial.distance.jensenshannon``).
.. [4] N. Smirnov, "Table for estimating the goodness of fit of empirical distributions",
   Annals of Mathematical Statistics 19(2), 279-281, 1948; J. L. Hodges, "The
   significance probability of the Smirnov two-sample test", Arkiv för Matematik 3,
   469-486, 1958 (K-S, as ``scipy.stats.ks_2samp``).
.. [5] K. Pearson, "On the criterion that a given system of deviations ...", Philosophical
   Magazine 50(302), 157-175, 1900 (chi-square; expected counts from the reference shares).
.. [6] A. Agresti, *Categorical Data Analysis*, 3rd ed., Wiley 2013, §1.4 (two-proportion
   Z-test with the pooled proportion).
.. [7] B. Yurdakul, "Statistical properties of population stability index", PhD thesis,
   Western Michigan University, 2018 (PSI; not one of Evidently's defaults).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from monitor.stats.drift_summary import (
    EXACT_VALUES,
    Bins,
    CategoryDistribution,
    NumericDistribution,
    WindowDistributions,
)

__all__ = [
    "FEW_VALUES",
    "METHODS",
    "SMALL_REFERENCE",
    "ColumnDrift",
    "DriftMethod",
    "NotComparable",
    "column_drift",
    "default_method",
    "window_drift",
]

F64 = npt.NDArray[np.float64]
ColumnType = Literal["num", "cat"]
MethodName = Literal["ks", "chisquare", "z", "jensenshannon", "wasserstein"]

#: Evidently's small-sample limit: a reference with at most this many values gets tests.
SMALL_REFERENCE = 1000
#: A numeric column with at most this many distinct values is compared like a category.
FEW_VALUES = 5
#: At most this many distinct values: the Z-test for two proportions.
BINARY = 2
#: Evidently's floor for the reference standard deviation that norms Wasserstein.
MIN_NORM = 0.001
_LN2 = math.log(2.0)


@dataclass(frozen=True, slots=True)
class DriftMethod:
    """One of Evidently's drift methods: its names, default threshold and verdict rule.

    Attributes
    ----------
    name : str
        Evidently's registered name (``ValueDrift(method=name)``).
    display_name : str
        The name Evidently reports as the metric's ``method``.
    default_threshold : float
        Evidently's ``StatTest.default_threshold``.
    p_value : bool
        True when the score is a p-value (drift when small), False for a distance
        (drift when large).
    inclusive : bool
        Whether a score equal to the threshold is drift (K-S: ``p <= t``; chi-square and
        Z: ``p < t``; the distances: ``d >= t``).
    """

    name: MethodName
    display_name: str
    default_threshold: float
    p_value: bool
    inclusive: bool

    def drifted(self, score: float, threshold: float) -> bool:
        """Evidently's verdict for ``score`` against ``threshold``."""
        if self.p_value:
            return score <= threshold if self.inclusive else score < threshold
        return score >= threshold if self.inclusive else score > threshold


METHODS: dict[MethodName, DriftMethod] = {
    method.name: method
    for method in (
        DriftMethod("ks", "K-S p_value", 0.05, p_value=True, inclusive=True),
        DriftMethod("chisquare", "chi-square p_value", 0.05, p_value=True, inclusive=False),
        DriftMethod("z", "Z-test p_value", 0.05, p_value=True, inclusive=False),
        DriftMethod("jensenshannon", "Jensen-Shannon distance", 0.1, p_value=False, inclusive=True),
        DriftMethod(
            "wasserstein", "Wasserstein distance (normed)", 0.1, p_value=False, inclusive=True
        ),
    )
}


def default_method(column_type: ColumnType, *, n_reference: int, n_values: int) -> DriftMethod:
    """The method Evidently 0.7 picks when none is configured.

    Parameters
    ----------
    column_type : {"num", "cat"}
        How the column is declared to Evidently (numerical or categorical).
    n_reference : int
        Non-missing values in the reference window.
    n_values : int
        Distinct non-missing values in both windows together.

    References
    ----------
    ``_get_default_stattest`` in ``evidently/legacy/calculations/stattests/registry.py``.
    """
    if column_type not in ("num", "cat"):
        raise ValueError(f"column_type must be 'num' or 'cat', got {column_type!r}")
    numeric_like = column_type == "num" and n_values > FEW_VALUES
    if n_reference <= SMALL_REFERENCE:
        if numeric_like:
            return METHODS["ks"]
        return METHODS["chisquare"] if n_values > BINARY else METHODS["z"]
    return METHODS["wasserstein"] if numeric_like else METHODS["jensenshannon"]


@dataclass(frozen=True, slots=True)
class ColumnDrift:
    """Drift of one column between the reference and the current window.

    Attributes
    ----------
    column : str
    column_type : {"num", "cat"}
    method : DriftMethod
        Evidently's default for this column (:func:`default_method`).
    statistic : float
        Evidently's drift score: the p-value for a test, the distance otherwise.
    p_value : float or None
        ``statistic`` for a test, None for a distance.
    threshold : float
    drifted : bool
        Evidently's verdict at ``statistic``.
    statistic_low, statistic_high : float
        Guaranteed bounds on the score Evidently computes from the full windows (equal to
        ``statistic`` when the summaries are exact); see the module notes.
    n_current, n_reference : int
        Non-missing values in each window.
    n_values : int or None
        Distinct values in both windows together; None when a summary holds too many to
        count (more than its cap, so more than 5).
    """

    column: str
    column_type: ColumnType
    method: DriftMethod
    statistic: float
    p_value: float | None
    threshold: float
    drifted: bool
    statistic_low: float
    statistic_high: float
    n_current: int
    n_reference: int
    n_values: int | None

    @property
    def exact(self) -> bool:
        """True when the score is exact (not only bounded)."""
        return self.statistic_low == self.statistic_high

    @property
    def certain(self) -> bool:
        """True when every score within the bounds gives the same verdict."""
        return self.method.drifted(self.statistic_low, self.threshold) == self.method.drifted(
            self.statistic_high, self.threshold
        )


@dataclass(frozen=True, slots=True)
class NotComparable:
    """A column that cannot be compared, and why (no values in a window, say)."""

    column: str
    reason: str


Distribution = NumericDistribution | CategoryDistribution


def column_drift(
    current: Distribution,
    reference: Distribution,
    *,
    column: str = "",
    p_value: float = 0.05,
    distance_threshold: float | None = None,
) -> ColumnDrift | NotComparable:
    """Evidently's default drift test of one column, from its two window summaries.

    Parameters
    ----------
    current, reference : NumericDistribution or CategoryDistribution
        The column in each window, both of the same kind (numeric columns are compared
        as Evidently's numerical columns, categorical ones as categorical).
    column : str, optional
        The column's name, carried into the result.
    p_value : float, default 0.05
        Significance level of the tests (K-S, chi-square, Z); 0.05 is Evidently's.
    distance_threshold : float, optional
        Threshold of the distances (Wasserstein, Jensen-Shannon); Evidently's 0.1 when
        None.

    Returns
    -------
    ColumnDrift or NotComparable
        NotComparable when a window has no non-missing value (Evidently refuses an
        empty column).

    Raises
    ------
    TypeError
        If one window is numeric and the other categorical.
    """
    if not 0.0 < p_value < 1.0:
        raise ValueError(f"p_value must be in (0, 1), got {p_value!r}")
    if distance_threshold is not None and not distance_threshold > 0.0:
        raise ValueError(f"distance_threshold must be > 0, got {distance_threshold!r}")
    if type(current) is not type(reference):
        raise TypeError(
            f"cannot compare a {type(current).__name__} with a {type(reference).__name__}"
        )
    for window, dist in (("current", current), ("reference", reference)):
        if dist.n == 0:
            return NotComparable(column, f"no values in the {window} window")
    if isinstance(current, NumericDistribution):
        assert isinstance(reference, NumericDistribution)
        scored = _numeric(current, reference)
    else:
        assert isinstance(reference, CategoryDistribution)
        scored = _categorical(current, reference)
    method, (score, low, high), n_values = scored
    if method.p_value:
        threshold = p_value
    else:
        threshold = method.default_threshold if distance_threshold is None else distance_threshold
    return ColumnDrift(
        column=column,
        column_type="num" if isinstance(current, NumericDistribution) else "cat",
        method=method,
        statistic=score,
        p_value=score if method.p_value else None,
        threshold=threshold,
        drifted=method.drifted(score, threshold),
        statistic_low=low,
        statistic_high=high,
        n_current=current.n,
        n_reference=reference.n,
        n_values=n_values,
    )


def window_drift(
    current: WindowDistributions,
    reference: WindowDistributions,
    *,
    p_value: float = 0.05,
    distance_threshold: float | None = None,
    columns: Iterable[str] | None = None,
) -> dict[str, ColumnDrift | NotComparable]:
    """:func:`column_drift` of every column seen in either window, by column name.

    A column that held text in any chunk of either window is compared as categorical;
    its numbers, if any, are named like text (``str(1.0) == "1.0"``) when their summary
    is exact, and the column is not comparable otherwise. A column missing from one
    window is not comparable. ``columns`` compares only those (in their order).
    """
    out: dict[str, ColumnDrift | NotComparable] = {}
    names = sorted(set(current.columns) | set(reference.columns)) if columns is None else columns
    for name in names:
        pair = _resolve(name, current, reference)
        if isinstance(pair, str):
            out[name] = NotComparable(name, pair)
        else:
            out[name] = column_drift(
                pair[0],
                pair[1],
                column=name,
                p_value=p_value,
                distance_threshold=distance_threshold,
            )
    return out


# ----------------------------------------------------------------------------- numeric

Scored = tuple[DriftMethod, tuple[float, float, float], int | None]


def _numeric(cur: NumericDistribution, ref: NumericDistribution) -> Scored:
    values = None
    if cur.is_exact and ref.is_exact:
        values = np.union1d(cur.values()[0], ref.values()[0])
    n_values = None if values is None else int(values.size)
    # a bucketed summary holds more than max_bins >= 64 distinct values
    method = default_method("num", n_reference=ref.n, n_values=n_values or FEW_VALUES + 1)
    if method.name == "ks":
        return method, _ks(cur, ref), n_values
    if method.name == "wasserstein":
        return method, _wasserstein(cur.bins(), ref.bins(), ref.std), n_values
    assert values is not None  # few values: both summaries are exact
    ref_counts = _aligned(values, *ref.values())
    cur_counts = _aligned(values, *cur.values())
    return method, _discrete(method, cur_counts, ref_counts, other=(0, 0)), n_values


def _aligned(values: F64, present: F64, counts: npt.NDArray[np.int64]) -> F64:
    out = np.zeros(values.size, dtype=np.float64)
    out[np.searchsorted(values, present)] = counts
    return out


def _wasserstein(cur: Bins, ref: Bins, ref_std: float) -> tuple[float, float, float]:
    """Wasserstein-1 between the bucket midpoints, normed, with the coupling error bound."""
    from scipy import stats

    norm = max(ref_std, MIN_NORM)
    w = stats.wasserstein_distance(
        ref.midpoints, cur.midpoints, u_weights=ref.counts, v_weights=cur.counts
    )
    score = float(w) / norm
    error = (
        float((ref.half_widths * ref.counts).sum()) / ref.n
        + float((cur.half_widths * cur.counts).sum()) / cur.n
    ) / norm
    return score, max(0.0, score - error), score + error


def _ks(cur: NumericDistribution, ref: NumericDistribution) -> tuple[float, float, float]:
    from scipy import stats

    n_ref, n_cur = ref.n, cur.n
    if max(n_ref, n_cur) <= EXACT_VALUES:
        # scipy's exact method: both windows hold at most 10 000 values, so both are exact
        values_r, counts_r = ref.values()
        values_c, counts_c = cur.values()
        p = float(stats.ks_2samp(np.repeat(values_r, counts_r), np.repeat(values_c, counts_c))[1])
        return p, p, p
    d, d_low, d_high = _ks_distance(cur.bins(), ref.bins())
    # scipy's asymptotic branch, for max(n) > MAX_AUTO_N: kstwo.sf(D, round(n·m/(n+m)))
    m, n = sorted([float(n_ref), float(n_cur)], reverse=True)
    effective = np.round(m * n / (m + n))

    def p_of(statistic: float) -> float:
        return float(stats.kstwo.sf(statistic, effective))

    return p_of(d), p_of(d_high), p_of(d_low)


def _ks_distance(cur: Bins, ref: Bins) -> tuple[float, float, float]:
    """``sup |F_ref − F_cur|``: estimate, lower and upper bound, from the buckets."""
    points = np.unique(np.concatenate([ref.low, ref.high, cur.low, cur.high]))
    below_r, upto_r, even_r = _cdf_limits(ref, points)
    below_c, upto_c, even_c = _cdf_limits(cur, points)
    estimate = float(np.max(np.abs(even_r - even_c)))
    low = max(0.0, float(np.max(below_r - upto_c)), float(np.max(below_c - upto_r)))
    high = max(float(np.max(upto_r - below_c)), float(np.max(upto_c - below_r)))
    return estimate, low, high


def _cdf_limits(bins: Bins, x: F64) -> tuple[F64, F64, F64]:
    """At each ``x``: the share certainly ≤ x, the share possibly ≤ x, and the share ≤ x
    if every bucket were spread evenly over its range (all three exact for exact bins)."""
    n = bins.n
    cumulative = np.concatenate([[0], np.cumsum(bins.counts)])
    whole = np.searchsorted(bins.high, x, side="right")  # buckets ending at or before x
    started = np.searchsorted(bins.low, x, side="right")  # buckets starting at or before x
    certain: F64 = cumulative[whole] / n
    possible: F64 = cumulative[started] / n
    inside = started > whole  # x is strictly inside bucket `whole`
    j = np.minimum(whole, bins.counts.size - 1)
    width = bins.high[j] - bins.low[j]
    fraction = np.where(inside, (x - bins.low[j]) / np.where(inside, width, 1.0), 0.0)
    spread: F64 = certain + fraction * bins.counts[j] / n
    return certain, possible, spread


# ------------------------------------------------------------------------- categorical


def _categorical(cur: CategoryDistribution, ref: CategoryDistribution) -> Scored:
    limits = [lim for lim in (cur.limit, ref.limit) if lim is not None]
    hashes_c, counts_c = cur.hashed_counts()
    hashes_r, counts_r = ref.hashed_counts()
    keys = np.union1d(hashes_c, hashes_r)
    if limits:  # a category above either limit may hide in that window's "other"
        keys = keys[keys <= np.uint64(min(limits))]
    cur_kept = _aligned_hashes(keys, hashes_c, counts_c)
    ref_kept = _aligned_hashes(keys, hashes_r, counts_r)
    other = (cur.n - int(cur_kept.sum()), ref.n - int(ref_kept.sum()))
    n_values = None if limits else int(keys.size)
    # folded means more than max_categories > 1 000 distinct values: more than two
    method = default_method("cat", n_reference=ref.n, n_values=n_values or BINARY + 1)
    return method, _discrete(method, cur_kept, ref_kept, other=other), n_values


def _aligned_hashes(
    keys: npt.NDArray[np.uint64], hashes: npt.NDArray[np.uint64], counts: npt.NDArray[np.int64]
) -> F64:
    out = np.zeros(keys.size, dtype=np.float64)
    inside = np.isin(hashes, keys)
    out[np.searchsorted(keys, hashes[inside])] = counts[inside]
    return out


def _discrete(
    method: DriftMethod, cur: F64, ref: F64, *, other: tuple[int, int]
) -> tuple[float, float, float]:
    """Chi-square, Z or Jensen-Shannon on aligned counts, plus an "other" cell if any."""
    from scipy.spatial import distance

    if other != (0, 0):
        cur = np.append(cur, float(other[0]))
        ref = np.append(ref, float(other[1]))
    n_cur, n_ref = float(cur.sum()), float(ref.sum())
    if method.name == "z":
        p = _z_test(cur, ref)
        return p, p, p
    if method.name == "chisquare":
        # Exact even with "other": the reference (≤ 1 000 values) is never folded, and a
        # folded current window keeps some category the reference lacks, so p = 0 either way.
        p = _chi_square(cur, ref)
        return p, p, p
    p_ref, p_cur = ref / n_ref, cur / n_cur
    d = float(distance.jensenshannon(p_ref, p_cur))
    if other == (0, 0):
        return d, d, d
    share_cur, share_ref = other[0] / n_cur, other[1] / n_ref
    slack = 0.5 * _LN2 * (share_ref + share_cur) - _js_term(share_ref, share_cur)
    return d, d, min(math.sqrt(d * d + max(slack, 0.0)), math.sqrt(_LN2))


def _js_term(p: float, q: float) -> float:
    """One category's share of the Jensen-Shannon divergence (natural log)."""
    m = (p + q) / 2.0
    return 0.5 * (_xlogy(p, p / m) + _xlogy(q, q / m)) if m > 0 else 0.0


def _xlogy(x: float, ratio: float) -> float:
    return x * math.log(ratio) if x > 0 else 0.0


def _chi_square(cur: F64, ref: F64) -> float:
    """Evidently's chi-square: observed current counts against reference shares × n_cur."""
    from scipy import stats

    expected = ref * (cur.sum() / ref.sum())
    if np.any((expected == 0) & (cur > 0)):
        return 0.0  # a category absent from the reference: infinite statistic
    return float(stats.chisquare(cur, expected)[1])


def _z_test(cur: F64, ref: F64) -> float:
    """Evidently's two-proportion Z-test (pooled), two-sided."""
    from scipy import stats

    if cur.size < 2:
        return 1.0  # one value in both windows
    n1, n2 = float(ref.sum()), float(cur.sum())
    p1, p2 = 1.0 - ref[0] / n1, 1.0 - cur[0] / n2  # share of "not the first value"
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2))
    # Evidently's 2·(1 − Φ(|z|)), kept as written: 2·Φ(−|z|) differs only below 1e-16
    return float(2.0 * (1.0 - stats.norm.cdf(abs(z))))


# ---------------------------------------------------------------------------- columns


def _resolve(
    name: str, current: WindowDistributions, reference: WindowDistributions
) -> tuple[Distribution, Distribution] | str:
    """The pair of distributions to compare for ``name``, or why there is none."""
    for window, dists in (("current", current), ("reference", reference)):
        if name not in dists.columns:
            return f"absent from the {window} window"
    texts = [dists.categorical(name) for dists in (current, reference)]
    if not any(t is not None and t.n for t in texts):
        # numbers only (a window whose chunks held only nulls has none: not comparable)
        empty = NumericDistribution(max_bins=current.max_bins)
        return current.numeric(name) or empty, reference.numeric(name) or empty
    pair: list[CategoryDistribution] = []
    for window, dists in (("current", current), ("reference", reference)):
        as_text = _as_categories(dists, name)
        if as_text is None:
            return (
                f"holds both text and numbers; the {window} window has too many distinct "
                "numbers to compare them as categories"
            )
        pair.append(as_text)
    return pair[0], pair[1]


def _as_categories(dists: WindowDistributions, name: str) -> CategoryDistribution | None:
    """The column's text and numbers as one CategoryDistribution (None if inexact numbers)."""
    out = CategoryDistribution(max_categories=dists.max_categories, max_names=dists.max_names)
    text = dists.categorical(name)
    if text is not None:
        out.merge(text)
    numbers = dists.numeric(name)
    if numbers is not None and numbers.n:
        if not numbers.is_exact:
            return None
        values, counts = numbers.values()
        out.update_counts(dict(zip([str(v) for v in values], counts.tolist(), strict=True)))
    return out
