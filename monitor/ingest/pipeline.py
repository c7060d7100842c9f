"""``read_logs``: prediction logs in, clean per-model chunks out, every row accounted for.

For every record batch of every file (:mod:`~monitor.ingest.sources`,
:mod:`~monitor.ingest.readers`) the pipeline

1. finds each row's model through the register's column mappings (a row whose
   ``model_id`` is not registered is quarantined as ``unknown_model``);
2. converts the columns (:mod:`~monitor.ingest.coerce`) and checks the contract
   (:mod:`~monitor.ingest.validate`); bad rows go to the quarantine;
3. drops valid rows outside the model's reference and current windows, then duplicate
   ``prediction_id`` values (first occurrence wins; exact, in bounded memory:
   :class:`~monitor.ingest.dedup_exact.ExactSeen`);
4. joins late labels (:mod:`~monitor.ingest.labels`) and yields one
   :class:`~monitor.chunk.ModelChunk` per model present.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from monitor.chunk import I32, Bool, Categorical, Idx, ModelChunk, WindowBounds
from monitor.errors import MissingColumnError, UnreadableLogError
from monitor.ingest import coerce
from monitor.ingest.accounting import IngestStats
from monitor.ingest.batch import BatchColumns
from monitor.ingest.dedup_exact import ExactSeen
from monitor.ingest.labels import LateLabels
from monitor.ingest.plan import IngestPlan, MappingGroup
from monitor.ingest.quarantine import QuarantineBuffer, QuarantineWriter
from monitor.ingest.readers import prefetch, read_batches
from monitor.ingest.sources import LogFile, list_log_files
from monitor.ingest.text import with_valid_text
from monitor.ingest.validate import (
    REASON_FIELD,
    UNATTRIBUTED,
    attribution_reasons,
    check_rows,
    reason_names,
)
from thresholds.schema import ColumnMapping, Register

__all__ = ["read_logs"]

#: Model ordinal of a row already quarantined before attribution (text not UTF-8).
_REFUSED = -3
#: Validated batches that may wait for their de-duplication decision at once, and the
#: most bytes of columns they may hold together when more than one waits: two batches of
#: the compact logs (22 MiB each), one of 34 features and their strings (200 MiB).
_IN_FLIGHT = 2
_IN_FLIGHT_BYTES = 64 * 2**20


def read_logs(
    paths: Sequence[str | Path],
    register: Register,
    windows: Mapping[str, WindowBounds],
    *,
    labels: str | Path | None = None,
    quarantine: QuarantineWriter | None = None,
    batch_rows: int = 262_144,
    stats: IngestStats | None = None,
    seen: ExactSeen | None = None,
) -> Generator[ModelChunk, None, None]:
    """Stream clean per-model chunks from prediction logs.

    Parameters
    ----------
    paths
        Log files and directories (searched recursively; hive partitions such as
        ``date=2026-11-01/`` are fine, and a partition key that names a contract column,
        e.g. ``model_id=…``, fills that column when the files lack it). Files are
        recognised by extension; names starting with ``.`` or ``_`` are skipped (see
        :func:`~monitor.ingest.sources.list_log_files`); local paths or fsspec URLs
        (``s3://``, ``gs://``, ``abfs://``, ``file://``), which are streamed through fsspec.
    register
        The threshold register; ``models[].columns`` maps log columns to the contract.
    windows
        Window bounds of every registered model; rows outside
        ``[reference_start, current_end)`` are counted and dropped.
    labels
        Optional late labels: ``prediction_id`` plus ``correct``, ``label`` and/or
        ``quality_score`` (contract names; with a ``model_id`` column the join is per
        model). A non-null label value fills or overrides the log's.
    quarantine
        Where rows that break the contract go; without one they are only counted.
    batch_rows
        Rows per record batch: bounds memory (a few batches are in flight).
    stats
        Filled in as chunks are produced.
    seen
        The de-duplication state: the (model, id) pairs seen so far, exact, within its
        memory budget (spilling beyond it). The caller owns it (closes it, reads its
        ``stats``, keeps its keys); without one, a private
        :class:`~monitor.ingest.dedup_exact.ExactSeen` with the default budget (256 MiB)
        spilling to the system temp folder is used and closed when the generator ends.

    Returns
    -------
    Generator[ModelChunk, None, None]
        One chunk per model present in each batch, in file order. Validation of the
        arguments happens on the call; files are read as the generator is consumed.
        ``close()`` it to stop early (the background reader thread stops too).

    Raises
    ------
    ValueError
        When a registered model has no window bounds or ``batch_rows < 1``.
    UnreadableLogError
        A path given directly is missing, of unknown format or unreadable.
    MissingColumnError
        A file given directly lacks required columns (files inside a directory are
        listed in ``stats.unreadable`` instead).
    LabelsError
        The labels file is unusable.
    """
    if batch_rows < 1:
        raise ValueError(f"batch_rows must be at least 1, not {batch_rows}")
    plan = IngestPlan(register, windows)
    files = list_log_files(paths)
    label_index = LateLabels.load(labels, plan) if labels is not None else None
    stats = stats if stats is not None else IngestStats()
    ingest = _Ingest(plan, label_index, quarantine, batch_rows, stats, seen)
    return ingest.run(files)


@dataclass
class _Part:
    """The rows of one mapping group in a batch, after validation."""

    group: MappingGroup
    rows: Idx | None  # batch rows of the group; None = every row
    ordinal: I32  # model ordinal per group row
    kept: Idx  # group rows that are valid and inside their model's windows


@dataclass
class _Pending:
    """A validated batch whose de-duplication decision may still be running."""

    columns: BatchColumns
    parts: list[_Part]
    decision: Future[list[Bool]] | None


class _Ingest:
    """One ``read_logs`` call: the files in order, batch by batch, with one seen-set."""

    def __init__(
        self,
        plan: IngestPlan,
        labels: LateLabels | None,
        quarantine: QuarantineWriter | None,
        batch_rows: int,
        stats: IngestStats,
        seen: ExactSeen | None,
    ) -> None:
        self.plan = plan
        self.labels = labels
        self.batch_rows = batch_rows
        self.stats = stats
        self.own_seen = seen is None
        self.seen = ExactSeen() if seen is None else seen
        #: The one thread that calls ``seen.add``, batch after batch (started on first use).
        self.deduper = ThreadPoolExecutor(1, thread_name_prefix="modelhealth-dedup")
        #: The decision submitted last (the reader thread looks whether it is done).
        self.last_decision: Future[list[Bool]] | None = None
        #: Rows announced by files' footers, not yet told to the seen-set.
        self.expected = 0
        self.quarantine = QuarantineBuffer(quarantine, stats)

    def run(self, files: list[LogFile]) -> Generator[ModelChunk, None, None]:
        try:
            for file in files:
                self.stats.files.append(file.name)
                try:
                    yield from self._read(file)
                except (UnreadableLogError, MissingColumnError) as exc:
                    if file.direct:
                        raise
                    self.quarantine.flush()  # rows it already quarantined stay accounted for
                    self.stats.unreadable.append(file.name)
                    self.stats.unreadable_reasons[file.name] = str(exc)
        finally:
            self.deduper.shutdown(wait=True)  # no decision still running on the seen-set
            if self.own_seen:
                self.seen.close()  # its spill folder goes, whatever ended the read

    def _read(self, file: LogFile) -> Iterator[ModelChunk]:
        reader = read_batches(file, self.plan, self.batch_rows)
        plan = self.plan

        def converted() -> Iterator[BatchColumns]:
            try:
                for batch in reader:
                    columns = BatchColumns(with_valid_text(batch))
                    # Hash the ids here while the de-duplication thread is busy; when it
                    # is idle it hashes them itself (wide logs keep this thread busiest,
                    # long ones that thread). Same keys either way.
                    busy = self.last_decision is not None and not self.last_decision.done()
                    columns.warm(plan, self.seen.hashes if busy else None)
                    yield columns
            finally:
                reader.close()

        checked: set[int] = set()
        batches = prefetch(converted())
        # Three stages overlap: the reader thread converts batch k+1 (and hashes its
        # ids) while this thread validates it, while the de-duplication thread decides
        # the batches before it; batch k's chunks are yielded once its decision is back.
        # Decisions are still made one batch after another, in log order. Up to
        # _IN_FLIGHT batches wait for theirs, so that thread finds the next batch queued
        # when it finishes one (its work varies: a spill takes a few batches' time),
        # unless they are wide (their columns over _IN_FLIGHT_BYTES): then one waits.
        pending: deque[_Pending] = deque()
        emitting = False
        try:
            try:
                for columns in batches:
                    parts = self._prepare(columns, file, checked)
                    pending.append(_Pending(columns, parts, self._decide(columns, parts)))
                    while len(pending) > _IN_FLIGHT or (
                        len(pending) > 1
                        and sum(p.columns.batch.nbytes for p in pending) > _IN_FLIGHT_BYTES
                    ):
                        emitting = True
                        yield from self._emit(pending.popleft())
                        emitting = False
            except Exception:
                # A batch failed to read or validate: the batches before it were read
                # whole and count, as they did before the pipeline had stages. Not when
                # emitting a batch failed: the batch after it cannot count without it.
                if not emitting:
                    while pending:
                        yield from self._emit(pending.popleft())
                raise
            while pending:
                yield from self._emit(pending.popleft())
        finally:
            for waiting in pending:
                if waiting.decision is not None:
                    waiting.decision.cancel()
            # never leave one running on a closing seen-set
            wait([p.decision for p in pending if p.decision is not None])
            batches.close()  # stops the reader thread now, even when a batch failed

    # ---------------------------------------------------------------- one batch

    def _prepare(self, columns: BatchColumns, file: LogFile, checked: set[int]) -> list[_Part]:
        """Attribute and validate one batch: its parts, before de-duplication."""
        plan = self.plan
        stats = self.stats
        batch = columns.batch
        if batch.malformed:
            stats.rows_read += len(batch.malformed)
            self.quarantine.add_malformed(batch.malformed, file.name, UNATTRIBUTED)
        if batch.refused:
            stats.rows_read += len(batch.refused)
            self.quarantine.add_malformed(
                [(number, text) for number, text, _ in batch.refused],
                file.name,
                UNATTRIBUTED,
                reasons=[reason for _, _, reason in batch.refused],
            )
        n = batch.n
        if n == 0:
            self.quarantine.flush()
            return []
        ordinal = self._attribute(columns, file)
        if batch.invalid_text is not None:
            self._quarantine_invalid_text(columns, file, ordinal, batch.invalid_text)
            ordinal[batch.invalid_text] = _REFUSED
        group_of = np.where(ordinal >= 0, plan.group_of[np.maximum(ordinal, 0)], -1)
        present = np.flatnonzero(np.bincount(group_of + 1, minlength=len(plan.groups) + 1)[1:])
        for g in present.tolist():
            if g not in checked:
                group = plan.groups[g]
                missing = [c for c in group.required() if c not in batch.columns]
                if missing:
                    models = group.models if len(plan.groups) > 1 else []
                    raise MissingColumnError(file.name, missing, batch.found, models)
                checked.add(g)
        stats.rows_read += n
        unattributed = np.flatnonzero((ordinal < 0) & (ordinal != _REFUSED))
        if len(unattributed):
            self._quarantine_unattributed(columns, file, ordinal, unattributed)
        whole = len(present) == 1 and not np.any(ordinal < 0)
        parts = [
            self._validate(
                columns,
                file,
                plan.groups[g],
                ordinal,
                None if whole else np.flatnonzero(group_of == g),
            )
            for g in present.tolist()
        ]
        self.quarantine.flush()  # a batch's quarantine is whole once it is validated
        return parts

    def _emit(self, pending: _Pending) -> Iterator[ModelChunk]:
        """Apply a batch's de-duplication decision, then yield its chunks."""
        if pending.decision is not None:
            self._drop_duplicates(pending.parts, pending.decision.result())
        for part in pending.parts:
            yield from self._chunks(pending.columns, part)

    def _attribute(self, columns: BatchColumns, file: LogFile) -> I32:
        """Model ordinal per row: -1 = unknown model id, -2 = no model id."""
        batch = columns.batch
        n = batch.n
        ordinal = np.full(n, -2, np.int32)
        any_column = False
        for column, ids in self.plan.model_id_columns.items():
            if not columns.has(column):
                continue
            any_column = True
            codes, names = columns.categorical(column) or (np.full(n, -1, np.int32), [])
            lookup = np.array([ids.get(m, -1) if m else -2 for m in names] + [-2], np.int32)
            mine = lookup[codes]
            better = (ordinal < 0) & (mine > ordinal)
            ordinal[better] = mine[better]
        if not any_column:
            self.plan.check_schema(file.name, batch.found)
        return ordinal

    def _first_mapping(self, columns: BatchColumns) -> ColumnMapping:
        """The mapping to show a refused row by: the first whose model_id column the
        file has."""
        plan = self.plan
        return next(
            (g.mapping for g in plan.groups if g.mapping.model_id in columns.batch.columns),
            plan.groups[0].mapping,
        )

    def _quarantine_invalid_text(
        self, columns: BatchColumns, file: LogFile, ordinal: I32, rows: Idx
    ) -> None:
        """Rows with a cell that is not UTF-8, counted under their model when their model
        id itself was readable."""
        models = [self.plan.models[o] if o >= 0 else UNATTRIBUTED for o in ordinal[rows].tolist()]
        mapping = self._first_mapping(columns)
        self.quarantine.add(
            columns.batch,
            file.name,
            rows,
            ["invalid_text"] * len(rows),
            models,
            model_column=mapping.model_id,
            id_column=mapping.prediction_id,
        )

    def _quarantine_unattributed(
        self, columns: BatchColumns, file: LogFile, ordinal: I32, rows: Idx
    ) -> None:
        batch = columns.batch
        # Which prediction_id column to judge by when the model is unknown: the first
        # mapping whose model_id column this file has.
        mapping = self._first_mapping(columns)
        ids = batch.columns.get(mapping.prediction_id)
        missing_id = (
            np.ones(len(rows), bool)
            if ids is None
            else coerce.missing_text(ids.take(pa.array(rows)))
        )
        self.quarantine.add(
            batch,
            file.name,
            rows,
            attribution_reasons(ordinal[rows] == -2, missing_id),
            [UNATTRIBUTED] * len(rows),
            model_column=mapping.model_id,
            id_column=mapping.prediction_id,
        )

    def _validate(
        self,
        columns: BatchColumns,
        file: LogFile,
        group: MappingGroup,
        ordinal_all: I32,
        rows: Idx | None,
    ) -> _Part:
        """Quarantine the group's bad rows, count those outside the windows, keep the rest."""
        plan = self.plan
        mapping = group.mapping
        ordinal = ordinal_all if rows is None else ordinal_all[rows]
        checks = check_rows(columns, mapping, rows)
        if len(checks.bad):
            bad = checks.bad
            at = bad if rows is None else rows[bad]
            reasons = reason_names(checks.codes)
            models = [plan.models[o] for o in ordinal[bad].tolist()]
            self.quarantine.add(
                columns.batch,
                file.name,
                at,
                reasons,
                models,
                model_column=mapping.model_id,
                id_column=mapping.prediction_id,
            )
            self._examples(columns, group, at, reasons, models)
        # Valid rows outside the model's windows are not tonight's business.
        ts = columns.timestamps(mapping.timestamp)[0]
        ts = ts if rows is None else ts[rows]
        if len(group.ordinals) == 1:
            lo, hi = plan.lo[group.ordinals[0]], plan.hi[group.ordinals[0]]
        else:
            lo, hi = plan.lo[ordinal], plan.hi[ordinal]
        valid = checks.valid
        kept = np.flatnonzero(valid & (ts >= lo) & (ts < hi))
        self.stats.rows_out_of_window += int(np.count_nonzero(valid)) - len(kept)
        return _Part(group, rows, ordinal, kept)

    def _examples(
        self,
        columns: BatchColumns,
        group: MappingGroup,
        at: Idx,
        reasons: list[str],
        models: list[str],
    ) -> None:
        """One cell as logged per (model, reason) not yet seen: what the console shows
        when most of a model's rows are refused."""
        known = self.stats.quarantine_examples
        first: dict[tuple[str, str], int] = {}
        for i, key in enumerate(zip(models, reasons, strict=True)):
            if key not in first and key[1] not in known.get(key[0], {}):
                first[key] = i
        for (model, reason), i in first.items():
            field = REASON_FIELD.get(reason)
            column = None if field is None else getattr(group.logged, field)
            values = None if column is None else columns.batch.columns.get(column)
            if field == "error" and group.transforms.error_from_status is not None:
                values = columns.batch.columns.get(group.transforms.error_from_status.column)
            cell = None if values is None else values[int(at[i])].as_py()
            if cell is None:
                text = "(missing)"
            else:
                text = repr(cell) if isinstance(cell, str) else str(cell)
            self.stats.example(model, reason, text)

    def _decide(self, columns: BatchColumns, parts: list[_Part]) -> Future[list[Bool]] | None:
        """Start the de-duplication decision of a batch's kept rows, part by part, on the
        de-duplication thread (the parts' ids are gathered here, on this thread).

        A model belongs to one mapping group, so no two parts share a model and the
        parts' order within the batch cannot change which row of a (model, id) is first.
        The seen-set compares id bytes: only a true repeat is dropped.
        """
        work = []
        for part in parts:
            if len(part.kept) == 0:
                continue
            name = part.group.mapping.prediction_id
            ids = columns.text(name)
            hashes = columns.hashed(name)  # None: the de-duplication thread hashes them
            at = part.kept if part.rows is None else part.rows[part.kept]
            if len(at) != columns.n:
                ids = ids.take(pa.array(at))
                hashes = None if hashes is None else hashes[at]
            ordinals = part.group.ordinals
            models = ordinals[0] if len(ordinals) == 1 else part.ordinal[part.kept]
            work.append((ids, models, hashes))
        # A file's first batch carries its row count; kept until a batch has work (a
        # first batch whose rows all fall outside the windows has none).
        self.expected += columns.batch.file_rows
        if not work:
            return None
        seen = self.seen
        expected, self.expected = self.expected, 0

        def decide() -> list[Bool]:
            if expected:  # a file's first batch: size the filter for all its rows at once
                seen.expect(expected)
            return [seen.add(ids, models, hashes=hashes) for ids, models, hashes in work]

        self.last_decision = self.deduper.submit(decide)
        return self.last_decision

    def _drop_duplicates(self, parts: list[_Part], decided: list[Bool]) -> None:
        """Drop the kept rows the seen-set found to be repeats (``decided``: one mask per
        part with kept rows, in order), and count them."""
        plan = self.plan
        stats = self.stats
        masks = iter(decided)
        for part in parts:
            if len(part.kept) == 0:
                continue
            mine = next(masks)
            if not mine.any():
                continue
            counts = np.bincount(part.ordinal[part.kept[mine]], minlength=len(plan.models))
            for o in np.flatnonzero(counts).tolist():
                stats.count(stats.duplicates_by_model, plan.models[o], int(counts[o]))
            stats.rows_duplicate += int(np.count_nonzero(mine))
            part.kept = part.kept[~mine]

    def _chunks(self, columns: BatchColumns, part: _Part) -> Iterator[ModelChunk]:
        plan = self.plan
        stats = self.stats
        mapping = part.group.mapping
        kept = part.kept
        if len(kept) == 0:
            return
        at: Idx | None = kept if part.rows is None else part.rows[kept]
        if part.rows is None and len(kept) == columns.n:
            at = None  # every row of the batch: no copies
        stats.rows_used += len(kept)
        naive = columns.timestamps(mapping.timestamp)[2]
        naive = naive if at is None else naive[at]
        if naive.any():
            stats.naive_timestamps += int(np.count_nonzero(naive))
            owners = part.ordinal[kept]
            for o, n in enumerate(np.bincount(owners[naive], minlength=len(plan.models))):
                stats.count(stats.naive_by_model, plan.models[o], int(n))
        correct = columns.correct(mapping)
        quality = (
            columns.floats(mapping.quality_score)[0] if columns.has(mapping.quality_score) else None
        )
        if self.labels is not None:
            correct, quality, joined = self.labels.join(
                columns,
                mapping,
                np.arange(columns.n) if at is None else at,
                lambda: plan.salt[part.ordinal[part.kept]],
                correct,
                quality,
            )
            stats.labels_joined += joined
        error = columns.booleans(mapping.error)[0] == 1 if columns.has(mapping.error) else None
        format_valid = (
            columns.booleans(mapping.format_valid)[0] if columns.has(mapping.format_valid) else None
        )
        followup = columns.booleans(mapping.followup)[0] if columns.has(mapping.followup) else None
        prefix = mapping.feature_prefix
        features = {
            name[len(prefix) :]: converted
            for name in columns.batch.columns
            if name.startswith(prefix)
            and name != prefix
            and name not in plan.contract
            and (converted := columns.feature(name)) is not None
        }
        if len(part.group.ordinals) == 1:
            split = [(part.group.ordinals[0], at)]
        else:
            owners = part.ordinal[kept]
            where = kept if part.rows is None else part.rows[kept]
            counts = np.bincount(owners, minlength=len(plan.models))
            # One stable sort (radix, on 16-bit ordinals) puts each model's rows together
            # in row order, instead of a mask and a gather per model.
            small = owners.astype(np.uint16) if len(plan.models) <= 1 << 16 else owners
            grouped = where[np.argsort(small, kind="stable")]
            ends = np.cumsum(counts)
            split = [
                (o, grouped[ends[o] - counts[o] : ends[o]]) for o in np.flatnonzero(counts).tolist()
            ]
        ts = columns.timestamps(mapping.timestamp)[0]
        for o, rows in split:

            def pick(values: Any, rows: Idx | None = rows) -> Any:
                if values is None or rows is None:
                    return values
                return values[rows]

            def category(name: str, rows: Idx | None = rows) -> Categorical | None:
                whole = columns.categorical(name) if columns.has(name) else None
                return None if whole is None else coerce.subset_categorical(whole, rows)

            def feature(values: Any, rows: Idx | None = rows) -> Any:
                if isinstance(values, tuple):  # text: the batch's codes and dictionary
                    return coerce.subset_categorical(values, rows, cut=False)
                return pick(values, rows)

            yield ModelChunk(
                model_id=plan.models[o],
                id_hash=(
                    pick(columns.id_hash(mapping.prediction_id)) if plan.samples_drift else None
                ),
                timestamp_ns=pick(ts),
                confidence=pick(columns.floats(mapping.confidence)[0]),
                latency_ms=pick(columns.floats(mapping.latency_ms)[0]),
                error=pick(error),
                correct=pick(correct),
                quality_score=pick(quality),
                output_type=category(mapping.output_type),
                failure_mode=category(mapping.failure_mode),
                format_valid=pick(format_valid),
                segment=category(mapping.segment),
                prediction=category(mapping.prediction),
                features={k: feature(v) for k, v in features.items()},
                followup=pick(followup),
            )
