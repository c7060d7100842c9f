"""Mergeable per-model, per-window summaries of prediction logs.

A :class:`WindowAggregate` holds everything the nightly check needs about one
model in one window — counts, sums, bin tables, a latency sketch, the drift columns'
distributions over every row (:class:`~monitor.stats.drift_fold.DriftFold`) and a
bounded, deterministic sample for Evidently's drill-down page — in memory that does
not grow with the number of rows. Any chunk, file or Dask partition is summarised alone
and the summaries are merged; merge is associative and order-free, so every engine gets
the same answer (whylogs and DDSketch are built the same way).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from monitor.chunk import Categorical, ModelChunk, WindowBounds
from monitor.stats.calibration import BinnedConfidence, ReliabilityTable
from monitor.stats.distribution import ConfidenceHistogram
from monitor.stats.drift_fold import DriftFold
from monitor.stats.sketch import QuantileSketch

__all__ = [
    "MAX_CATEGORIES",
    "CategoryCounts",
    "CountColumn",
    "DriftSample",
    "ModelAggregate",
    "WindowAggregate",
    "WindowParams",
]

#: Distinct output types / segments / annotations kept apart per window. Beyond this
#: a pathological log (say 10k output types) folds the rest into OTHER, so memory
#: stays bounded; the report names how many were folded.
MAX_CATEGORIES = 2000
OTHER = "(other)"
#: Folded names remembered only to count them; past this the count is a lower bound.
MAX_FOLDED_NAMES = 100_000
NS_PER_HOUR = 3_600_000_000_000


class CountColumn(IntEnum):
    """The columns of a :class:`CategoryCounts` row, in order."""

    N = 0
    ERRORS = 1
    LABELED = 2
    WRONG = 3
    FORMAT_CHECKED = 4
    FORMAT_INVALID = 5


_WIDTH = len(CountColumn)


@dataclass(frozen=True)
class WindowParams:
    """What a window summary must know before it sees rows (all merges must agree)."""

    start_ns: int
    end_ns: int
    confidence_cut_points: tuple[float, ...]
    sample_size: int
    #: Feature columns whose drift distributions are kept (``thresholds.drift.max_columns``).
    drift_max_features: int = 100
    #: Whether the drift columns are summarised at all (``thresholds.drift.enabled``, off
    #: under ``--no-drift``): without drift nothing reads the fold or the sample.
    drift: bool = True

    @property
    def hours(self) -> int:
        return max(1, int(np.ceil((self.end_ns - self.start_ns) / NS_PER_HOUR)))


@dataclass
class CategoryCounts:
    """Per-category counts (n, errors, labeled, wrong, format checked, format invalid)."""

    rows: dict[str, np.ndarray] = field(default_factory=dict)
    folded: set[str] = field(default_factory=set)

    def add(self, cat: Categorical, columns: list[np.ndarray | None]) -> None:
        """Add one chunk: ``columns`` are per-row weights in the order of the row layout
        (``None`` where a column is absent). The first, :attr:`CountColumn.N`, is always
        the category's rows, so callers pass ``None`` for it."""
        codes = cat.codes
        k = len(cat.categories)
        if k == 0:
            return
        valid = codes >= 0
        whole = bool(valid.all())
        c = codes if whole else codes[valid]
        table = np.zeros((k, _WIDTH), dtype=np.int64)
        given = [(j, w if whole else w[valid]) for j, w in enumerate(columns) if w is not None]
        flags = [(j, w) for j, w in given if w.dtype == np.bool_]
        # One pass for every 0/1 column: each row counted once under its code with its
        # flags as low bits, then each column's count summed over the patterns with its
        # bit set (a weighted bincount per column cost five times as much).
        bits = len(flags)
        counts = np.bincount(_flagged(c, [w for _, w in flags]), minlength=k << bits)
        counts = counts[: k << bits].reshape(k, 1 << bits)
        patterns = np.arange(1 << bits)
        for bit, (j, _) in enumerate(flags):
            table[:, j] = counts[:, (patterns >> bit) & 1 == 1].sum(axis=1)
        table[:, CountColumn.N] = counts.sum(axis=1)
        for j, w in given:
            if w.dtype != np.bool_ and j != CountColumn.N:
                table[:, j] = np.bincount(c, weights=w, minlength=k)[:k].astype(np.int64)
        for name, row in zip(cat.categories, table, strict=True):
            if row[CountColumn.N] == 0:
                continue
            self._add_row(name, row)

    def _add_row(self, name: str, row: np.ndarray) -> None:
        existing = self.rows.get(name)
        if existing is not None:
            existing += row
        elif len(self.rows) < MAX_CATEGORIES or name == OTHER:
            self.rows[name] = row.copy()
        else:
            if len(self.folded) < MAX_FOLDED_NAMES:
                self.folded.add(name)
            other = self.rows.setdefault(OTHER, np.zeros(_WIDTH, dtype=np.int64))
            other += row

    def merge(self, other: CategoryCounts) -> CategoryCounts:
        for name in sorted(other.rows):
            self._add_row(name, other.rows[name])
        self.folded |= other.folded
        return self


def _flagged(codes: np.ndarray, flags: list[np.ndarray]) -> np.ndarray:
    """``code << len(flags) | flag bits`` per row (flag ``i`` is bit ``i``)."""
    assert len(flags) <= 8, "flags are gathered in one byte per row"
    bits = np.zeros(len(codes), np.uint8)  # then widened once
    for bit, flag in enumerate(flags):
        bits |= flag.view(np.uint8) << np.uint8(bit)
    key = codes.astype(np.intp) << len(flags)
    key |= bits
    return key


@dataclass
class DriftSample:
    """A bottom-k sample by id hash: the ``k`` rows whose prediction-id hash is smallest.

    Deterministic (same rows whatever the chunking) and mergeable (bottom-k of a union
    is bottom-k of the bottom-k's): the bounded, reproducible rows that Evidently's
    drill-down page (:mod:`monitor.drift_evidently`) is drawn from. The night's drift
    itself is computed over every row, from :class:`~monitor.stats.drift_fold.DriftFold`.
    """

    k: int
    hashes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.uint64))
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def update(self, id_hash: np.ndarray, columns: Mapping[str, np.ndarray | Categorical]) -> None:
        """Offer a chunk's rows; text as a :class:`Categorical` is decoded to Python
        strings only for the rows the sample keeps."""
        if len(id_hash) == 0:
            return
        if len(self.hashes) >= self.k:
            cutoff = self.hashes.max()
            keep = id_hash < cutoff
            if not keep.any():
                return
            id_hash = id_hash[keep]
            columns = {
                name: (
                    Categorical(values.codes[keep], values.categories)
                    if isinstance(values, Categorical)
                    else values[keep]
                )
                for name, values in columns.items()
            }
        self._absorb(
            id_hash,
            {
                name: _decode(values) if isinstance(values, Categorical) else values
                for name, values in columns.items()
            },
        )

    def _absorb(self, id_hash: np.ndarray, columns: Mapping[str, np.ndarray]) -> None:
        names = set(self.columns) | set(columns)
        n_old, n_new = len(self.hashes), len(id_hash)
        hashes = np.concatenate([self.hashes, id_hash])
        merged: dict[str, np.ndarray] = {}
        for name in names:
            old = self.columns.get(name)
            new = columns.get(name)
            old = old if old is not None else _missing(n_old, new)
            new = new if new is not None else _missing(n_new, old)
            merged[name] = np.concatenate([old, new])
        if len(hashes) > self.k:
            # The k smallest without sorting everything; hashes are distinct per id, so
            # the selection does not depend on the order rows arrived in.
            order = np.argpartition(hashes, self.k - 1)[: self.k]
            order.sort()
            hashes = hashes[order]
            merged = {name: values[order] for name, values in merged.items()}
        self.hashes = hashes
        self.columns = merged

    def merge(self, other: DriftSample) -> DriftSample:
        if other.k != self.k:
            raise ValueError(f"cannot merge drift samples of size {self.k} and {other.k}")
        if len(other.hashes):
            self._absorb(other.hashes, other.columns)
            # Keep a canonical order so the merged sample does not depend on merge order.
            order = np.argsort(self.hashes, kind="stable")
            self.hashes = self.hashes[order]
            self.columns = {name: values[order] for name, values in self.columns.items()}
        return self

    def frame(self) -> dict[str, np.ndarray]:
        """The sample's columns in hash order (a canonical, chunking-free order)."""
        order = np.argsort(self.hashes, kind="stable")
        return {name: values[order] for name, values in self.columns.items()}


def _missing(n: int, like: np.ndarray | None) -> np.ndarray:
    if like is not None and like.dtype.kind == "f":
        return np.full(n, np.nan)
    return np.full(n, None, dtype=object)


@dataclass
class WindowAggregate:
    """Everything about one model in one window, as mergeable summaries."""

    params: WindowParams
    n_rows: int = 0
    n_error_known: int = 0
    n_error: int = 0
    n_labeled: int = 0
    n_correct: int = 0
    n_graded: int = 0
    quality_sum: float = 0.0
    quality_sumsq: float = 0.0
    n_format_checked: int = 0
    n_format_invalid: int = 0
    n_annotated: int = 0
    #: Latency of rows that are not errors (errored rows' latency is kept apart below).
    latency_sum: float = 0.0
    latency_max: float = 0.0
    latency: QuantileSketch = field(default_factory=QuantileSketch)
    #: Latency of errored rows that carry one (timeouts are often the slowest rows).
    error_latency_sum: float = 0.0
    error_latency_max: float = 0.0
    error_latency: QuantileSketch = field(default_factory=QuantileSketch)
    #: Every row that carries a confidence, errored or not.
    confidence: ConfidenceHistogram = field(init=False)
    #: Rows that are not errors and carry a confidence: what confidence-based performance
    #: estimation (:mod:`monitor.stats.estimation`) estimates the accuracy of.
    answered_confidence: ConfidenceHistogram = field(init=False)
    #: Re-escalation marker (optional column): rows where it is known, and true.
    n_followup_known: int = 0
    n_followup: int = 0
    reliability: ReliabilityTable = field(default_factory=ReliabilityTable)
    hourly: np.ndarray = field(init=False)
    output_types: CategoryCounts = field(default_factory=CategoryCounts)
    segments: CategoryCounts = field(default_factory=CategoryCounts)
    annotations: dict[str, int] = field(default_factory=dict)
    #: The drift columns' distributions over every row: what the night's drift is computed from.
    drift: DriftFold = field(init=False)
    #: A bounded sample of the drift columns, for Evidently's drill-down page.
    sample: DriftSample = field(init=False)

    def __post_init__(self) -> None:
        self.confidence = ConfidenceHistogram(cut_points=self.params.confidence_cut_points)
        self.answered_confidence = ConfidenceHistogram(cut_points=self.params.confidence_cut_points)
        self.hourly = np.zeros(self.params.hours, dtype=np.int64)
        self.drift = DriftFold(max_features=self.params.drift_max_features)
        self.sample = DriftSample(k=self.params.sample_size)

    # ------------------------------------------------------------------ update
    def update(self, chunk: ModelChunk) -> None:
        """Summarise one chunk of clean rows that all fall inside this window."""
        n = chunk.n
        if n == 0:
            return
        self.n_rows += n
        errors = chunk.error
        conf = chunk.confidence
        lat = chunk.latency_ms
        # Errored rows may lack confidence and latency (validated at ingest): every other
        # metric counts only the rows that carry its value, and says how many it saw.
        has_conf = ~np.isnan(conf)
        has_lat = ~np.isnan(lat)
        answered = ~errors if errors is not None else np.ones(n, bool)
        ok_lat = lat[has_lat & answered]
        if len(ok_lat):
            self.latency.update(ok_lat)
            self.latency_sum += float(ok_lat.sum())
            self.latency_max = max(self.latency_max, float(ok_lat.max()))
        if errors is not None:
            err_lat = lat[has_lat & errors]
            if len(err_lat):
                self.error_latency.update(err_lat)
                self.error_latency_sum += float(err_lat.sum())
                self.error_latency_max = max(self.error_latency_max, float(err_lat.max()))
        binned = BinnedConfidence.of(conf[has_conf])  # validated and binned once
        self.confidence.update(binned)
        self.answered_confidence.update(binned.subset(answered[has_conf]))
        hour = (chunk.timestamp_ns - self.params.start_ns) // NS_PER_HOUR
        self.hourly += np.bincount(hour, minlength=self.params.hours)[: self.params.hours]

        if errors is not None:
            self.n_error_known += n
            self.n_error += int(np.count_nonzero(errors))
        if chunk.followup is not None:
            self.n_followup_known += int(np.count_nonzero(chunk.followup >= 0))
            self.n_followup += int(np.count_nonzero(chunk.followup == 1))
        labeled = wrong = None
        if chunk.correct is not None:
            labeled_mask = chunk.correct >= 0
            correct_mask = chunk.correct == 1
            self.n_labeled += int(np.count_nonzero(labeled_mask))
            self.n_correct += int(np.count_nonzero(correct_mask))
            rated = labeled_mask & has_conf
            if rated.any():
                self.reliability.update(binned.subset(labeled_mask[has_conf]), correct_mask[rated])
            labeled = labeled_mask
            wrong = chunk.correct == 0
        if chunk.quality_score is not None:
            graded = ~np.isnan(chunk.quality_score)
            scores = chunk.quality_score[graded]
            self.n_graded += len(scores)
            self.quality_sum += float(scores.sum())
            self.quality_sumsq += float(np.dot(scores, scores))
        format_checked = format_invalid = None
        if chunk.format_valid is not None:
            format_checked = chunk.format_valid >= 0
            format_invalid = chunk.format_valid == 0
            self.n_format_checked += int(np.count_nonzero(format_checked))
            self.n_format_invalid += int(np.count_nonzero(format_invalid))

        per_row = [None, errors, labeled, wrong, format_checked, format_invalid]
        if chunk.output_type is not None:
            self.output_types.add(chunk.output_type, per_row)
        if chunk.segment is not None:
            self.segments.add(chunk.segment, per_row)
        if chunk.failure_mode is not None:
            self._count_annotations(chunk.failure_mode)
        if self.params.drift:
            if chunk.id_hash is None:
                raise ValueError(f"{chunk.model_id}: drift is on but the chunk has no id hashes")
            self.drift.update(chunk)
            self.sample.update(chunk.id_hash, _sample_columns(chunk))

    def _count_annotations(self, cat: Categorical) -> None:
        codes = cat.codes[cat.codes >= 0]
        self.n_annotated += len(codes)
        counts = np.bincount(codes, minlength=len(cat.categories))
        for name, count in zip(cat.categories, counts, strict=False):
            if count:
                key = (
                    name
                    if (name in self.annotations or len(self.annotations) < MAX_CATEGORIES)
                    else OTHER
                )
                self.annotations[key] = self.annotations.get(key, 0) + int(count)

    # ------------------------------------------------------------------- merge
    def merge(self, other: WindowAggregate) -> WindowAggregate:
        """Fold ``other`` (same window parameters) into this summary and return it."""
        if other.params != self.params:
            raise ValueError("cannot merge summaries of different windows or settings")
        for name in (
            "n_rows",
            "n_error_known",
            "n_error",
            "n_labeled",
            "n_correct",
            "n_graded",
            "n_format_checked",
            "n_format_invalid",
            "n_annotated",
            "n_followup_known",
            "n_followup",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.quality_sum += other.quality_sum
        self.quality_sumsq += other.quality_sumsq
        self.latency_sum += other.latency_sum
        self.latency_max = max(self.latency_max, other.latency_max)
        self.latency.merge(other.latency)
        self.error_latency_sum += other.error_latency_sum
        self.error_latency_max = max(self.error_latency_max, other.error_latency_max)
        self.error_latency.merge(other.error_latency)
        self.confidence.merge(other.confidence)
        self.answered_confidence.merge(other.answered_confidence)
        self.reliability.merge(other.reliability)
        self.hourly += other.hourly
        self.output_types.merge(other.output_types)
        self.segments.merge(other.segments)
        for name in sorted(other.annotations):
            key = (
                name
                if (name in self.annotations or len(self.annotations) < MAX_CATEGORIES)
                else OTHER
            )
            self.annotations[key] = self.annotations.get(key, 0) + other.annotations[name]
        self.drift.merge(other.drift)
        self.sample.merge(other.sample)
        return self


def _sample_columns(chunk: ModelChunk) -> dict[str, np.ndarray | Categorical]:
    columns: dict[str, np.ndarray | Categorical] = {"confidence": chunk.confidence}
    if chunk.prediction is not None:
        columns["prediction"] = chunk.prediction
    for name, values in chunk.features.items():
        columns[f"feature.{name}"] = values
    return columns


def _decode(cat: Categorical) -> np.ndarray:
    names = np.array([*cat.categories, None], dtype=object)
    return names[np.where(cat.codes >= 0, cat.codes, len(cat.categories))]


@dataclass
class ModelAggregate:
    """A model's current and reference windows."""

    model_id: str
    bounds: WindowBounds
    current: WindowAggregate
    reference: WindowAggregate

    @classmethod
    def empty(
        cls,
        model_id: str,
        bounds: WindowBounds,
        *,
        cut_points: tuple[float, ...],
        sample_size: int,
        drift_max_features: int = 100,
        drift: bool = True,
    ) -> ModelAggregate:
        def window(start: int, end: int) -> WindowAggregate:
            return WindowAggregate(
                WindowParams(start, end, cut_points, sample_size, drift_max_features, drift)
            )

        return cls(
            model_id,
            bounds,
            current=window(bounds.current_start, bounds.current_end),
            reference=window(bounds.reference_start, bounds.current_start),
        )

    def update(self, chunk: ModelChunk) -> None:
        """Split a chunk between the windows (ingest already dropped rows outside both)."""
        in_current = chunk.timestamp_ns >= self.bounds.current_start
        n_current = int(np.count_nonzero(in_current))
        if n_current == chunk.n:
            self.current.update(chunk)
        elif n_current == 0:
            self.reference.update(chunk)
        else:
            self.current.update(chunk.select(in_current))
            self.reference.update(chunk.select(~in_current))

    def merge(self, other: ModelAggregate) -> ModelAggregate:
        if other.model_id != self.model_id or other.bounds != self.bounds:
            raise ValueError("cannot merge aggregates of different models or windows")
        self.current.merge(other.current)
        self.reference.merge(other.reference)
        return self
