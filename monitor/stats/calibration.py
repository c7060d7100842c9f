"""Calibration of top-label confidence, from a mergeable reliability table.

The :class:`ReliabilityTable` keeps, for labeled rows, per fine confidence bin the row
count, the sum of confidences and the number of correct outputs, plus two totals for the
Brier score. It is small (1 500 bins), independent of the number of rows, and merges by
addition. Every metric here is a pure function of a table:

- :func:`ece` — expected calibration error on equal-width bins (Guo et al. 2017),
- :func:`ece_equal_mass` — ECE on bins holding about equal numbers of rows,
- :func:`mce` — maximum calibration error,
- :func:`brier` — top-label Brier score,
- :func:`overconfidence_gap` — mean confidence minus accuracy,
- :func:`reliability_bins` — the points of a reliability diagram,
- :func:`reliability_change_test` — did the reliability curve change between windows?

Fine bins are ``[k/1500, (k+1)/1500)`` (the last one closed at 1.0), so any equal-width
binning with a number of bins dividing 1500 (15, 10, 20, 25, 30, ...) is an exact union of
fine bins. Note the edge convention: a confidence exactly on an edge (say 0.8 with 15
bins) goes to the *upper* bin, whereas Guo et al. write bins as ``((m−1)/M, m/M]`` and
``sklearn.calibration.calibration_curve`` also puts edge values in the lower bin. The two
agree for continuous confidences; they can differ for confidences rounded to a grid.

References
----------
.. [1] C. Guo, G. Pleiss, Y. Sun and K. Q. Weinberger, "On calibration of modern neural
   networks", ICML 2017, eq. (3) (ECE) and the MCE that follows it.
.. [2] M. P. Naeini, G. F. Cooper and M. Hauskrecht, "Obtaining well calibrated
   probabilities using Bayesian binning", AAAI 2015.
.. [3] G. W. Brier, "Verification of forecasts expressed in terms of probability",
   Monthly Weather Review 78(1), 1-3, 1950.
.. [4] J. Nixon, M. Dusenberry, L. Zhang, G. Jerfel and D. Tran, "Measuring calibration in
   deep learning", CVPR Workshops 2019 (equal-mass, "adaptive" binning).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from typing import Self

__all__ = [
    "FINE_BINS",
    "N_BINS",
    "BinnedConfidence",
    "CalibrationSummary",
    "ReliabilityBin",
    "ReliabilityChangeTest",
    "ReliabilityTable",
    "brier",
    "calibration_summary",
    "ece",
    "ece_equal_mass",
    "ece_noise_floor",
    "mce",
    "overconfidence_gap",
    "reliability_bins",
    "reliability_change_test",
]

#: Equal-width bins of the report's ECE, MCE and reliability diagram (Guo et al. 2017 use 15).
N_BINS = 15

FINE_BINS = 1500
"""Number of fine equal-width confidence bins; 15 × 100, divisible by 10, 20, 25, 30, ..."""

_EDGES = np.arange(FINE_BINS + 1, dtype=np.float64) / FINE_BINS
_LOWER = _EDGES[:-1].copy()
_UPPER = _EDGES[1:].copy()
_UPPER[-1] = np.inf  # the last fine bin is closed at 1.0


def _as_confidence(confidence: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Validate confidences: a 1-d float64 array with every value in [0, 1]."""
    c = np.asarray(confidence, dtype=np.float64).reshape(-1)
    if c.size and not (c.min() >= 0.0 and c.max() <= 1.0):  # NaN fails both
        raise ValueError("confidence must be in [0, 1] and not NaN")
    return c


def _fine_index(c: npt.NDArray[np.float64]) -> npt.NDArray[np.intp]:
    """Fine bin of each confidence: ``k`` with ``_EDGES[k] <= c < _EDGES[k + 1]``.

    ``floor(c · 1500)`` alone is off by one for some ``c`` within an ulp of an edge
    (e.g. ``c = 7/1500`` rounds below 7); the two corrections make the bins agree exactly
    with comparisons against the float edges ``k / 1500``, so counts below any such edge
    (0.6, 0.85, every multiple of 0.01) are exact. ``c`` must already be in [0, 1].
    """
    idx = (c * FINE_BINS).astype(np.intp)  # truncation == floor for c >= 0
    np.minimum(idx, FINE_BINS - 1, out=idx)
    idx -= c < _LOWER[idx]
    idx += c >= _UPPER[idx]
    return idx


@dataclass(frozen=True)
class BinnedConfidence:
    """Confidences validated and put in their fine bins once, for several summaries
    (a window's histograms and reliability table take subsets of the same rows)."""

    values: npt.NDArray[np.float64]
    fine: npt.NDArray[np.intp]

    @classmethod
    def of(cls, confidence: npt.ArrayLike) -> BinnedConfidence:
        c = _as_confidence(confidence)
        return cls(c, _fine_index(c))

    def subset(self, rows: npt.NDArray[np.bool_]) -> BinnedConfidence:
        return BinnedConfidence(self.values[rows], self.fine[rows])


def _binned(
    confidence: npt.ArrayLike | BinnedConfidence,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
    """Validated confidences and their fine bins (the work done already, if it was)."""
    if isinstance(confidence, BinnedConfidence):
        return confidence.values, confidence.fine
    c = _as_confidence(confidence)
    return c, _fine_index(c)


def _check_n_bins(n_bins: int) -> int:
    if n_bins < 1 or FINE_BINS % n_bins:
        raise ValueError(f"n_bins must divide {FINE_BINS} (e.g. 10, 15, 20, 25), got {n_bins!r}")
    return FINE_BINS // n_bins


class ReliabilityTable:
    """Mergeable per-bin sums of confidence and correctness over labeled rows.

    Holds ``FINE_BINS`` row counts, sums of confidence and numbers of correct outputs,
    plus the totals ``Σ c²`` and ``Σ c·y`` that make the Brier score exact. Memory does
    not depend on the number of rows. Integer parts merge exactly; float sums merge up to
    rounding (relative 1e-15).

    Only labeled rows belong here: filter out rows whose ``correct`` is null first.
    """

    __slots__ = ("_correct", "_count", "_sum_conf", "_sum_conf_correct", "_sum_conf_sq")

    def __init__(self) -> None:
        self._count = np.zeros(FINE_BINS, dtype=np.int64)
        self._correct = np.zeros(FINE_BINS, dtype=np.int64)
        self._sum_conf = np.zeros(FINE_BINS, dtype=np.float64)
        self._sum_conf_sq = 0.0
        self._sum_conf_correct = 0.0

    def update(self, confidence: npt.ArrayLike | BinnedConfidence, correct: npt.ArrayLike) -> Self:
        """Add labeled rows.

        Parameters
        ----------
        confidence : array_like of float
            Top-label confidence of each row, in [0, 1].
        correct : array_like of bool
            Whether each row's output was judged correct. Integers or floats are accepted
            only if every value is 0 or 1.

        Raises
        ------
        ValueError
            On mismatched lengths, a confidence outside [0, 1] or NaN, or a ``correct``
            value that is not boolean; nothing is added then.
        """
        c, fine = _binned(confidence)
        y = _as_correct(correct)
        if c.size != y.size:
            raise ValueError(f"confidence and correct differ in length: {c.size} vs {y.size}")
        if c.size == 0:
            return self
        key = fine << 1
        key += y  # key = 2·bin + correct: one bincount splits bins by outcome
        rows = np.bincount(key, minlength=2 * FINE_BINS)
        conf = np.bincount(key, weights=c, minlength=2 * FINE_BINS)
        self._count += rows[0::2] + rows[1::2]
        self._correct += rows[1::2]
        self._sum_conf += conf[0::2] + conf[1::2]
        self._sum_conf_sq += float(np.dot(c, c))
        self._sum_conf_correct += float(conf[1::2].sum())
        return self

    def merge(self, other: ReliabilityTable) -> Self:
        """Add ``other`` into this table and return it."""
        if not isinstance(other, ReliabilityTable):
            raise TypeError(f"cannot merge ReliabilityTable with {type(other).__name__}")
        self._count += other._count
        self._correct += other._correct
        self._sum_conf += other._sum_conf
        self._sum_conf_sq += other._sum_conf_sq
        self._sum_conf_correct += other._sum_conf_correct
        return self

    def to_dict(self) -> dict[str, Any]:
        """JSON-able state; only non-empty fine bins are listed."""
        nz = np.flatnonzero(self._count)
        return {
            "kind": "ReliabilityTable",
            "version": 1,
            "fine_bins": FINE_BINS,
            "bins": nz.tolist(),
            "count": self._count[nz].tolist(),
            "correct": self._correct[nz].tolist(),
            "sum_confidence": self._sum_conf[nz].tolist(),
            "sum_confidence_sq": self._sum_conf_sq,
            "sum_confidence_correct": self._sum_conf_correct,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReliabilityTable:
        """Rebuild a table from :meth:`to_dict` output."""
        if data.get("kind") != "ReliabilityTable" or data.get("version") != 1:
            raise ValueError("not a version-1 ReliabilityTable state")
        if data.get("fine_bins") != FINE_BINS:
            raise ValueError(f"fine_bins must be {FINE_BINS}, got {data.get('fine_bins')!r}")
        bins = _sparse_index(data["bins"])
        count = np.asarray(data["count"], dtype=np.int64)
        correct = np.asarray(data["correct"], dtype=np.int64)
        sum_conf = np.asarray(data["sum_confidence"], dtype=np.float64)
        if not bins.shape == count.shape == correct.shape == sum_conf.shape:
            raise ValueError("bins, count, correct and sum_confidence must have equal length")
        if np.any(count < 0) or np.any(correct < 0) or np.any(correct > count):
            raise ValueError("need 0 <= correct <= count in every bin")
        table = cls()
        table._count[bins] = count
        table._correct[bins] = correct
        table._sum_conf[bins] = sum_conf
        table._sum_conf_sq = float(data["sum_confidence_sq"])
        table._sum_conf_correct = float(data["sum_confidence_correct"])
        return table

    # ---------------------------------------------------------------- read access

    @property
    def n(self) -> int:
        """Number of labeled rows."""
        return int(self._count.sum())

    @property
    def n_correct(self) -> int:
        """Number of rows judged correct."""
        return int(self._correct.sum())

    @property
    def accuracy(self) -> float:
        """Share of rows judged correct; NaN when empty."""
        n = self.n
        return self.n_correct / n if n else math.nan

    @property
    def mean_confidence(self) -> float:
        """Mean confidence of the labeled rows; NaN when empty."""
        n = self.n
        return float(self._sum_conf.sum()) / n if n else math.nan

    def coarse(
        self, *, n_bins: int = 15
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Row counts, correct counts and confidence sums on ``n_bins`` equal-width bins.

        ``n_bins`` must divide ``FINE_BINS``; bin ``b`` is ``[b/n_bins, (b+1)/n_bins)``.
        """
        width = _check_n_bins(n_bins)
        return (
            self._count.reshape(n_bins, width).sum(axis=1),
            self._correct.reshape(n_bins, width).sum(axis=1),
            self._sum_conf.reshape(n_bins, width).sum(axis=1),
        )

    def __repr__(self) -> str:
        return f"ReliabilityTable(n={self.n}, n_correct={self.n_correct})"


def _as_correct(correct: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    y = np.asarray(correct).reshape(-1)
    if y.dtype == np.bool_:
        return y
    if y.dtype.kind not in "iuf":
        raise ValueError(f"correct must be boolean, got dtype {y.dtype}")
    as_bool = y.astype(np.bool_)
    if not np.array_equal(as_bool, y):  # catches NaN (unlabeled) and values other than 0/1
        raise ValueError("correct must hold only 0/1 or False/True; drop unlabeled rows first")
    return as_bool


def _sparse_index(values: Any) -> npt.NDArray[np.intp]:
    idx = np.asarray(values, dtype=np.intp).reshape(-1)
    if idx.size and (idx.min() < 0 or idx.max() >= FINE_BINS or np.any(np.diff(idx) <= 0)):
        raise ValueError(f"bin indices must be strictly increasing in [0, {FINE_BINS})")
    return idx


# -------------------------------------------------------------------- metrics


def ece(table: ReliabilityTable, *, n_bins: int = 15) -> float:
    """Expected calibration error on equal-width confidence bins.

    ``ECE = Σ_b (n_b / N) · |acc_b − conf_b|`` over the non-empty bins ``b``, where
    ``acc_b`` and ``conf_b`` are the accuracy and mean confidence of the rows in bin ``b``
    (Guo et al. 2017, eq. 3; Naeini et al. 2015). Computed as
    ``Σ_b |correct_b − Σconf_b| / N``, which is the same quantity.

    Parameters
    ----------
    table : ReliabilityTable
        Labeled rows of one window.
    n_bins : int, default 15
        Number of equal-width bins on [0, 1]; must divide ``FINE_BINS`` (1500).

    Returns
    -------
    float
        ECE as a proportion in [0, 1]; NaN for an empty table.
    """
    count, correct, sum_conf = table.coarse(n_bins=n_bins)
    total = int(count.sum())
    if total == 0:
        return math.nan
    return float(np.abs(correct - sum_conf).sum() / total)


def ece_equal_mass(table: ReliabilityTable, *, n_bins: int = 15) -> float:
    """Expected calibration error on bins holding about equal numbers of rows.

    Equal-mass ("adaptive") binning (Nixon et al. 2019) is less dominated by the few rows
    of sparse confidence ranges than equal-width binning. The bins are runs of consecutive
    fine bins: bin ``k`` ends at the first fine bin where the cumulative count reaches
    ``k · N / n_bins``. Bin boundaries therefore sit on the 1/1500 grid, bins can be
    uneven when many rows share a fine bin, and fewer than ``n_bins`` bins result when one
    fine bin holds more than ``N / n_bins`` rows. The formula is that of :func:`ece`.

    Returns
    -------
    float
        ECE as a proportion in [0, 1]; NaN for an empty table.
    """
    if n_bins < 1:
        raise ValueError(f"n_bins must be >= 1, got {n_bins!r}")
    count = table._count
    cumulative = np.cumsum(count)
    total = int(cumulative[-1])
    if total == 0:
        return math.nan
    targets = total * np.arange(1, n_bins, dtype=np.float64) / n_bins
    ends = np.searchsorted(cumulative, targets, side="left") + 1
    starts = np.unique(np.concatenate(([0], ends)))
    starts = starts[starts < FINE_BINS]
    correct = np.add.reduceat(table._correct, starts)
    sum_conf = np.add.reduceat(table._sum_conf, starts)
    return float(np.abs(correct - sum_conf).sum() / total)


def mce(table: ReliabilityTable, *, n_bins: int = 15) -> float:
    """Maximum calibration error: ``max_b |acc_b − conf_b|`` over non-empty bins.

    Equal-width bins as in :func:`ece` (Guo et al. 2017; Naeini et al. 2015). Sensitive to
    sparse bins: a bin of one row can set it. NaN for an empty table.
    """
    count, correct, sum_conf = table.coarse(n_bins=n_bins)
    filled = count > 0
    if not filled.any():
        return math.nan
    gaps = np.abs(correct[filled] - sum_conf[filled]) / count[filled]
    return float(gaps.max())


def brier(table: ReliabilityTable) -> float:
    """Top-label Brier score ``mean((c − y)²)``, exact from the table's sums.

    ``c`` is the top-label confidence and ``y`` 1 for a correct output, else 0 (Brier
    1950). Lower is better; 0 is perfect, 0.25 is a constant 0.5 guess. NaN when empty.
    Since ``y² = y``: ``Σ(c − y)² = Σc² − 2 Σc·y + Σy``.
    """
    n = table.n
    if n == 0:
        return math.nan
    value = (table._sum_conf_sq - 2.0 * table._sum_conf_correct + table.n_correct) / n
    return max(0.0, value)


def overconfidence_gap(table: ReliabilityTable) -> float:
    """Mean confidence minus accuracy over the labeled rows, in [−1, 1].

    Positive means the model claims more than it delivers. NaN when empty.
    """
    n = table.n
    if n == 0:
        return math.nan
    return (float(table._sum_conf.sum()) - table.n_correct) / n


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    """One bin of a reliability diagram; confidence interval ``[lower, upper)``.

    ``mean_confidence`` and ``accuracy`` are NaN when ``n == 0``.
    """

    lower: float
    upper: float
    n: int
    mean_confidence: float
    accuracy: float


def reliability_bins(table: ReliabilityTable, *, n_bins: int = 15) -> list[ReliabilityBin]:
    """The ``n_bins`` equal-width bins of a reliability diagram, empty bins included.

    The last bin also holds confidence exactly 1.0. See Guo et al. 2017, Figure 1.
    """
    count, correct, sum_conf = table.coarse(n_bins=n_bins)
    bins = []
    for b in range(n_bins):
        n = int(count[b])
        bins.append(
            ReliabilityBin(
                lower=b / n_bins,
                upper=(b + 1) / n_bins,
                n=n,
                mean_confidence=float(sum_conf[b]) / n if n else math.nan,
                accuracy=int(correct[b]) / n if n else math.nan,
            )
        )
    return bins


@dataclass(frozen=True, slots=True)
class ReliabilityChangeTest:
    """Result of :func:`reliability_change_test`.

    Attributes
    ----------
    statistic : float
        Sum of the per-bin Pearson chi-square statistics; NaN if a window is empty.
    dof : int
        Degrees of freedom: the number of bins that took part.
    p_value : float
        ``P(χ²_dof >= statistic)``; NaN when no bin took part.
    """

    statistic: float
    dof: int
    p_value: float


def reliability_change_test(
    current: ReliabilityTable,
    reference: ReliabilityTable,
    *,
    n_bins: int = 15,
    min_rows: int = 1,
) -> ReliabilityChangeTest:
    """Test whether the reliability curve changed between a reference and a current window.

    For each equal-width confidence bin the accuracy of the two windows is compared with
    the Pearson chi-square test of homogeneity on the 2×2 table (window × correct/wrong),
    and the per-bin statistics are summed; under the null hypothesis that accuracy *given
    confidence* is the same in both windows the sum is χ² with one degree of freedom per
    bin. A small p-value says the reliability curve moved — calibration drift — even when
    the confidence distribution and the overall accuracy did not. Conditioning on bins
    makes a mere shift of the confidence distribution (rows moving between bins) no
    evidence by itself.

    Parameters
    ----------
    current, reference : ReliabilityTable
        Labeled rows of the two windows.
    n_bins : int, default 15
        Number of equal-width bins; must divide ``FINE_BINS``.
    min_rows : int, default 1
        A bin takes part only if each window has at least this many rows in it. Raise it
        (e.g. to 5) to keep the chi-square approximation honest for small windows.

    Returns
    -------
    ReliabilityChangeTest
        Bins where the pooled rows are all correct or all wrong carry no information (the
        statistic is 0/0) and are left out of both the statistic and ``dof``.

    Notes
    -----
    Per bin, with ``a, b`` correct/wrong in the current and ``c, d`` in the reference
    window and ``N = a + b + c + d``: ``χ² = N (ad − bc)² / ((a+b)(c+d)(a+c)(b+d))``, the
    uncorrected statistic of ``scipy.stats.chi2_contingency(..., correction=False)``.
    """
    from monitor.stats import tails

    if min_rows < 1:
        raise ValueError(f"min_rows must be >= 1, got {min_rows!r}")
    n_cur, ok_cur, _ = current.coarse(n_bins=n_bins)
    n_ref, ok_ref, _ = reference.coarse(n_bins=n_bins)
    if n_cur.sum() == 0 or n_ref.sum() == 0:
        return ReliabilityChangeTest(statistic=math.nan, dof=0, p_value=math.nan)
    a = ok_cur.astype(np.float64)
    b = (n_cur - ok_cur).astype(np.float64)
    c = ok_ref.astype(np.float64)
    d = (n_ref - ok_ref).astype(np.float64)
    used = (n_cur >= min_rows) & (n_ref >= min_rows) & (a + c > 0) & (b + d > 0)
    a, b, c, d = a[used], b[used], c[used], d[used]
    n = a + b + c + d
    per_bin = n * (a * d - b * c) ** 2 / ((a + b) * (c + d) * (a + c) * (b + d))
    dof = int(used.sum())
    statistic = float(per_bin.sum())
    p_value = tails.chi2_sf(statistic, dof) if dof else math.nan
    return ReliabilityChangeTest(statistic=statistic, dof=dof, p_value=p_value)


# -------------------------------------------------------------------- convenience


@dataclass(frozen=True, slots=True)
class CalibrationSummary:
    """All calibration metrics of one set of labeled rows; see the functions of the same names."""

    ece: float
    ece_equal_mass: float
    mce: float
    brier: float
    overconfidence_gap: float
    n: int
    bins: tuple[ReliabilityBin, ...]


def calibration_summary(
    confidence: npt.ArrayLike, correct: npt.ArrayLike, *, n_bins: int = 15
) -> CalibrationSummary:
    """Calibration metrics straight from arrays, for notebooks and one-off checks.

    Builds a :class:`ReliabilityTable` and evaluates every metric on it with ``n_bins``
    bins (Guo et al. 2017). NaN metrics for empty input.
    """
    table = ReliabilityTable().update(confidence, correct)
    return CalibrationSummary(
        ece=ece(table, n_bins=n_bins),
        ece_equal_mass=ece_equal_mass(table, n_bins=n_bins),
        mce=mce(table, n_bins=n_bins),
        brier=brier(table),
        overconfidence_gap=overconfidence_gap(table),
        n=table.n,
        bins=tuple(reliability_bins(table, n_bins=n_bins)),
    )


def ece_noise_floor(table: ReliabilityTable) -> float:
    """The ECE a perfectly calibrated model would show with these bin counts.

    With ``n_b`` rows at mean confidence ``c_b``, a calibrated bin's accuracy is a binomial
    mean around ``c_b``, so its gap has expectation about ``sqrt(2 c_b (1 − c_b) / (π n_b))``
    (mean absolute deviation of a normal). Their weighted sum is the bias of the plug-in
    ECE; it is ~0.04 at 300 labeled rows, which would otherwise raise calibration
    warnings on healthy small nights. See Kumar, Liang & Ma, "Verified uncertainty
    calibration" (NeurIPS 2019) on the estimator's bias.
    """
    bins = [b for b in reliability_bins(table, n_bins=N_BINS) if b.n > 0]
    total = sum(b.n for b in bins)
    if total == 0:
        return math.nan
    floor = 0.0
    for b in bins:
        c = min(max(b.mean_confidence, 0.0), 1.0)
        floor += (b.n / total) * math.sqrt(2.0 * c * (1.0 - c) / (math.pi * b.n))
    return floor
