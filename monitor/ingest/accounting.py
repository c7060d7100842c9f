"""Where every row read went: the counters of one ingest, mergeable across files and workers."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["IngestStats"]


@dataclass
class IngestStats:
    """What ingest read and what became of it; mergeable across files and workers.

    ``rows_read == rows_used + rows_quarantined + rows_duplicate + rows_out_of_window``.
    ``naive_timestamps`` counts used rows whose time had no zone and was taken as UTC
    (``naive_by_model`` per model).
    ``unreadable`` lists files inside a directory that could not be read (with the
    reason in ``unreadable_reasons``); they were skipped. ``labels_joined`` counts used
    rows that found their prediction id in the labels file.
    """

    rows_read: int = 0
    rows_used: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_out_of_window: int = 0
    naive_timestamps: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    quarantined_by_model: dict[str, int] = field(default_factory=dict)
    duplicates_by_model: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    unreadable_reasons: dict[str, str] = field(default_factory=dict)
    labels_joined: int = 0
    naive_by_model: dict[str, int] = field(default_factory=dict)
    #: model → reason → rows, and model → reason → one example cell as logged.
    quarantined_by_model_reason: dict[str, dict[str, int]] = field(default_factory=dict)
    quarantine_examples: dict[str, dict[str, str]] = field(default_factory=dict)

    def merge(self, other: IngestStats) -> IngestStats:
        """Add ``other`` into this one (in place) and return it."""
        self.rows_read += other.rows_read
        self.rows_used += other.rows_used
        self.rows_quarantined += other.rows_quarantined
        self.rows_duplicate += other.rows_duplicate
        self.rows_out_of_window += other.rows_out_of_window
        self.naive_timestamps += other.naive_timestamps
        for mine, theirs in (
            (self.quarantined_by_reason, other.quarantined_by_reason),
            (self.quarantined_by_model, other.quarantined_by_model),
            (self.duplicates_by_model, other.duplicates_by_model),
        ):
            for key, count in theirs.items():
                mine[key] = mine.get(key, 0) + count
        self.count_all(self.naive_by_model, other.naive_by_model)
        for model, reasons in other.quarantined_by_model_reason.items():
            self.count_all(self.quarantined_by_model_reason.setdefault(model, {}), reasons)
        for model, examples in other.quarantine_examples.items():
            mine_examples = self.quarantine_examples.setdefault(model, {})
            for reason, example in examples.items():
                mine_examples.setdefault(reason, example)
        self.files.extend(other.files)
        self.unreadable.extend(other.unreadable)
        self.unreadable_reasons.update(other.unreadable_reasons)
        self.labels_joined += other.labels_joined
        return self

    def count(self, table: dict[str, int], key: str, n: int) -> None:
        if n:
            table[key] = table.get(key, 0) + n

    @staticmethod
    def count_all(table: dict[str, int], other: dict[str, int]) -> None:
        for key, n in other.items():
            table[key] = table.get(key, 0) + n

    def example(self, model: str, reason: str, value: str) -> None:
        """Keep the first example cell seen for a model's quarantine reason."""
        self.quarantine_examples.setdefault(model, {}).setdefault(reason, value)
