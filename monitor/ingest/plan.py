"""The register and the windows turned into lookup tables for vectorised reading.

Models whose ``columns`` mapping is the same are read together (a :class:`MappingGroup`);
:class:`IngestPlan` holds, per model ordinal, its group, its window bounds and its
duplicate salt, and which columns of a file ingest reads at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from monitor.chunk import WindowBounds
from monitor.errors import MissingColumnError
from monitor.ingest.dedup import model_salts
from monitor.ingest.transforms import DerivedColumn, derived_columns, read_mapping
from thresholds.schema import ColumnMapping, IngestSettings, IngestTransforms, Register

__all__ = ["ColumnSelection", "IngestPlan", "MappingGroup"]

#: Contract fields a model's rows cannot do without.
REQUIRED = ("prediction_id", "model_id", "timestamp", "confidence", "latency_ms")
OPTIONAL = (
    "output_type",
    "correct",
    "quality_score",
    "error",
    "failure_mode",
    "format_valid",
    "segment",
    "prediction",
    "label",
    "followup",
)
#: Low-cardinality text read dictionary-encoded (cheap to convert, cheap to hold).
DICTIONARY_FIELDS = (
    "model_id",
    "output_type",
    "failure_mode",
    "segment",
    "prediction",
    "label",
    "correct",
    "error",
    "format_valid",
    "followup",
)
JSON_TEXT_FIELDS = ("timestamp", "model_id", "output_type", "segment", "failure_mode")


@dataclass(frozen=True)
class ColumnSelection:
    """Which columns of a file the readers keep, and how they read them.

    ``contract`` names are read, and so is every column that starts with one of the
    feature ``prefixes`` (but is not the prefix alone); ``dictionary`` text columns are
    read dictionary-encoded; ``json_text`` keys of JSON Lines are read as text whatever
    their JSON type.
    """

    contract: frozenset[str]
    prefixes: tuple[str, ...] = ()
    dictionary: frozenset[str] = frozenset()
    json_text: frozenset[str] = frozenset()

    def wanted(self, names: Iterable[str]) -> list[str]:
        """The columns of a file that ingest reads, in file order."""
        return [
            n
            for n in names
            if n in self.contract or any(n.startswith(p) and n != p for p in self.prefixes)
        ]


@dataclass
class MappingGroup:
    """Registered models that share one column mapping and one set of ingest transforms.

    ``logged`` names the columns as the logs hold them; ``mapping`` is what ingest reads
    the contract through: the same names, or the derived columns of the group's
    transforms (:mod:`~monitor.ingest.transforms`).
    """

    logged: ColumnMapping
    transforms: IngestTransforms
    ordinals: list[int]
    models: list[str]

    def __post_init__(self) -> None:
        self.mapping = read_mapping(self.logged, self.transforms)
        self.derived: list[DerivedColumn] = derived_columns(self.logged, self.transforms)

    def required(self) -> list[str]:
        """Log columns a file must have to serve these models (declared sources too)."""
        names = [getattr(self.logged, name) for name in REQUIRED]
        if self.transforms.error_from_status is not None:
            names.append(self.transforms.error_from_status.column)
        if self.transforms.correct_from_prediction:
            names += [self.logged.prediction, self.logged.label]
        return names

    def columns(self) -> list[str]:
        names = [getattr(self.logged, name) for name in (*REQUIRED, *OPTIONAL)]
        if self.transforms.error_from_status is not None:
            names.append(self.transforms.error_from_status.column)
        return names


class IngestPlan:
    """The register and windows turned into lookup tables for vectorised reading."""

    def __init__(self, register: Register, windows: Mapping[str, WindowBounds]) -> None:
        self.models = [entry.id for entry in register.models]
        #: What one file may cost to read (line length, inflated size).
        self.limits: IngestSettings = register.ingest
        missing = [m for m in self.models if m not in windows]
        if missing:
            raise ValueError(f"no window bounds for registered model(s): {', '.join(missing)}")
        self.ordinal = {m: i for i, m in enumerate(self.models)}
        groups: dict[str, MappingGroup] = {}
        for entry in register.models:
            key = entry.columns.model_dump_json() + entry.ingest.model_dump_json()
            if key not in groups:
                groups[key] = MappingGroup(entry.columns, entry.ingest, [], [])
            groups[key].ordinals.append(self.ordinal[entry.id])
            groups[key].models.append(entry.id)
        self.groups = list(groups.values())
        self.group_of = np.zeros(len(self.models), np.int32)
        for g, group in enumerate(self.groups):
            self.group_of[group.ordinals] = g
        self.derived = [column for group in self.groups for column in group.derived]
        # Rows are attributed through each distinct model_id column, first group first.
        self.model_id_columns: dict[str, dict[str, int]] = {}
        for group in self.groups:
            ids = self.model_id_columns.setdefault(group.mapping.model_id, {})
            for model, ordinal in zip(group.models, group.ordinals, strict=True):
                ids.setdefault(model, ordinal)
        self.lo = np.array([windows[m].reference_start for m in self.models], np.int64)
        self.hi = np.array([windows[m].current_end for m in self.models], np.int64)
        # Duplicates are per model, in one seen-set.
        self.salt = model_salts(len(self.models))
        # Features serve drift only: a night that measures no drift never reads them
        # (for wide logs they are most of the bytes).
        drifting = {entry.id for entry in register.models if entry.thresholds.drift.enabled}
        #: Whether any model keeps a drift sample, the only reader of chunks' id hashes.
        self.samples_drift = bool(drifting)
        self.selection = ColumnSelection(
            contract=frozenset(name for g in self.groups for name in g.columns()),
            prefixes=tuple(
                sorted(
                    {
                        g.mapping.feature_prefix
                        for g in self.groups
                        if drifting.intersection(g.models)
                    }
                )
            ),
            dictionary=frozenset(
                getattr(g.logged, name) for g in self.groups for name in DICTIONARY_FIELDS
            ),
            json_text=frozenset(
                getattr(g.logged, name) for g in self.groups for name in JSON_TEXT_FIELDS
            ),
        )

    @property
    def contract(self) -> frozenset[str]:
        """Every log column some model's mapping names."""
        return self.selection.contract

    def check_schema(self, path: str, names: Sequence[str]) -> None:
        """Refuse a file whose columns cannot serve *any* registered model."""
        present = set(names)
        best: MappingGroup | None = None
        best_missing: list[str] = []
        for group in self.groups:
            missing = [c for c in group.required() if c not in present]
            if not missing:
                return
            if best is None or len(missing) < len(best_missing):
                best, best_missing = group, missing
        assert best is not None
        models = best.models if len(self.groups) > 1 else []
        raise MissingColumnError(path, best_missing, list(names), models)
