"""Load a threshold register from YAML and report *every* problem at once.

How a register is read:

1. The file is size-checked and decoded as UTF-8.
2. PyYAML's safe *composer* builds a node tree; we build plain Python values from
   it ourselves so that every key keeps its line number, only the standard YAML
   tags are accepted (``!!python/object`` and friends are refused), duplicate keys
   are errors, and alias expansion and nesting depth are bounded (a "billion
   laughs" document is refused before it costs memory).
3. Each model is merged over the register's ``defaults`` (mappings merge, other
   values replace) and validated lazily with pydantic; cross-field rules run
   after. Problems carry file, line, field path and reason.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from thresholds.ambiguity import (
    boolean_problems,
    boolean_word,
    dotted,
    id_problem,
    number_surprise,
    without_echoes,
)
from thresholds.errors import Problem, RegisterError
from thresholds.schema import (
    AuditSettings,
    ColumnMapping,
    FailureModeSettings,
    IdentitySettings,
    IngestSettings,
    IngestTransforms,
    LadderSettings,
    ModelEntry,
    Register,
    RoutingSettings,
    Thresholds,
    Windows,
    parse_duration,
)
from thresholds.vocabulary import FAILURE_MODES, TRIGGER_NAMES

__all__ = [
    "MAX_ALIAS_EXPANSION",
    "MAX_DEPTH",
    "MAX_REGISTER_BYTES",
    "LoadedRegister",
    "RegisterDocument",
    "load_register",
    "parse_register",
]

#: A register is a hand-written document; anything this large is a mistake or an attack.
MAX_REGISTER_BYTES = 5 * 1024 * 1024
#: Values built from the node tree, counting every alias expansion.
MAX_ALIAS_EXPANSION = 100_000
#: Nesting depth of mappings and sequences.
MAX_DEPTH = 40

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}
_MERGE_TAG = "tag:yaml.org,2002:merge"

Path_ = tuple[str | int, ...]
_M = typing.TypeVar("_M", bound=BaseModel)


class ModelDefaults(BaseModel):
    """What ``defaults:`` may hold: any model setting but its id."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    owner: str | None = None
    description: str = ""
    criticality: int = Field(default=2, ge=1, le=4)
    approver_roles: list[str] = Field(default_factory=lambda: ["model_owner"])
    columns: ColumnMapping = Field(default_factory=ColumnMapping)
    ingest: IngestTransforms = Field(default_factory=IngestTransforms)
    windows: Windows = Field(default_factory=Windows)
    output_types: list[str] = Field(default_factory=list)
    thresholds: Thresholds = Field(default_factory=Thresholds)
    ladder: LadderSettings = Field(default_factory=LadderSettings)
    mlflow_registered_model: str | None = None


class ModelDocument(ModelDefaults):
    """A model as written in the file: settings it does not name come from ``defaults``."""

    id: str = Field(min_length=1, max_length=200)


class RegisterDocument(BaseModel):
    """The register file as written (the JSON Schema editors validate against)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    people: dict[str, list[str]] = Field(default_factory=dict)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    routing: RoutingSettings = Field(default_factory=RoutingSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    failure_modes: FailureModeSettings = Field(default_factory=FailureModeSettings)
    defaults: ModelDefaults = Field(default_factory=ModelDefaults)
    models: list[ModelDocument]


@dataclass(frozen=True)
class LoadedRegister:
    """A validated register with where it came from and its content hash."""

    register: Register
    source: str
    version: str
    document: Mapping[str, Any]


# --------------------------------------------------------------------------- YAML


class _Builder:
    """Turns a composed YAML node tree into Python values, recording key lines."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[Path_, int] = {}
        self.problems: list[Problem] = []
        #: Plain yes/no/on/off read as booleans: ``path → (line, text, value)``; whether
        #: that is a surprise depends on the setting (see :mod:`thresholds.yaml11`).
        self.boolean_words: dict[Path_, tuple[int, str, bool]] = {}
        self._built = 0
        self._scalar = yaml.constructor.SafeConstructor()

    def problem(self, line: int, field: str, reason: str) -> None:
        self.problems.append(Problem(self.source, line, field, reason))

    def build(self, node: yaml.Node, path: Path_, depth: int) -> Any:
        self._built += 1
        if self._built > MAX_ALIAS_EXPANSION:
            raise _Abort(
                node.start_mark.line + 1,
                f"document expands to more than {MAX_ALIAS_EXPANSION} values "
                "(anchors and aliases used as a 'billion laughs' bomb?)",
            )
        if depth > MAX_DEPTH:
            raise _Abort(node.start_mark.line + 1, f"nested deeper than {MAX_DEPTH} levels")
        if node.tag not in _STANDARD_TAGS:
            self.problem(
                node.start_mark.line + 1,
                dotted(path),
                f"YAML tag {node.tag!r} is not allowed: registers are loaded safely "
                "and hold only plain mappings, lists, strings, numbers and booleans",
            )
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            out = []
            for index, item in enumerate(node.value):
                self.lines.setdefault((*path, index), item.start_mark.line + 1)
                out.append(self.build(item, (*path, index), depth + 1))
            return out
        value = self._scalar.construct_object(node)
        if node.tag == "tag:yaml.org,2002:timestamp":
            return str(node.value)
        surprise = number_surprise(node, value) if isinstance(node, yaml.ScalarNode) else None
        if surprise is not None:
            self.problem(node.start_mark.line + 1, dotted(path), surprise)
        elif isinstance(node, yaml.ScalarNode) and boolean_word(node):
            self.boolean_words[path] = (node.start_mark.line + 1, str(node.value), bool(value))
        return value

    def _mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        seen: dict[Any, int] = {}
        inherited: list[tuple[dict[Any, Any], int]] = []
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                # `<<: *anchor` — built under a path of its own so its keys are not taken for
                # keys written here; explicit keys win over merged ones (YAML merge spec).
                merged = self.build(value_node, (*path, "<<"), depth + 1)
                for source in merged if isinstance(merged, list) else [merged]:
                    if isinstance(source, dict):
                        inherited.append((source, line))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problem(line, dotted(path), "keys must be plain")
                continue
            key = self._scalar.construct_object(key_node)
            if isinstance(key, bool) or key is None:
                # `no:` or `on:` as a key is a name (an output type, a segment), not a boolean.
                key = str(key_node.value)
            elif not isinstance(key, str | int):
                key = str(key)
            if key in seen:
                self.problem(
                    line, dotted((*path, key)), f"duplicate key (first given on line {seen[key]})"
                )
                continue
            seen[key] = line
            self.lines[(*path, key)] = line
            out[key] = self.build(value_node, (*path, key), depth + 1)
        for source, line in inherited:
            for key, value in source.items():
                if key not in out:
                    out[key] = value
                    self.lines.setdefault((*path, key), line)
        return out


class _Abort(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


@dataclass
class _Document:
    """A register file built into Python values, with where each key was written."""

    value: Any
    lines: dict[Path_, int]
    problems: list[Problem]
    boolean_words: dict[Path_, tuple[int, str, bool]]


def _read_document(text: str, source: str) -> _Document:
    builder = _Builder(source)

    def failed(line: int, reason: str) -> _Document:
        return _Document(None, {}, [Problem(source, line, "(document)", reason)], {})

    too_deep = f"nested deeper than {MAX_DEPTH} levels"
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        return failed(line, f"not valid YAML: {reason}")
    except yaml.YAMLError as exc:
        return failed(1, f"not valid YAML: {exc}")
    except RecursionError:
        return failed(1, too_deep)
    if node is None:
        return failed(1, "the register is empty")
    try:
        value = builder.build(node, (), 0)
    except _Abort as abort:
        return failed(abort.line, abort.reason)
    except RecursionError:
        return failed(1, too_deep)
    if value is None and not builder.problems:
        return failed(1, "the register is empty")
    return _Document(value, builder.lines, builder.problems, builder.boolean_words)


# ------------------------------------------------------------------ validation


def _deep_merge(base: Mapping[Any, Any], override: Mapping[Any, Any]) -> dict[Any, Any]:
    """Mappings merge key by key; anything else in ``override`` replaces ``base``."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _line_for(lines: Mapping[Path_, int], path: Path_) -> int | None:
    """Line of the longest prefix of ``path`` that the file spelled out."""
    for end in range(len(path), 0, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip Optional/Annotated so the structural type is left."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _allowed_keys(model: type[BaseModel], loc: Path_) -> list[str]:
    """Field names of the pydantic model found at ``loc`` below ``model``."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return []
            current = field.annotation
            continue
        origin = typing.get_origin(current)
        if origin in (list, dict):
            current = typing.get_args(current)[-1]
            continue
        return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _reason(error: Mapping[str, Any], model: type[BaseModel], loc: Path_) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        listing = f"; allowed here: {', '.join(allowed)}" if allowed else ""
        return f"unknown key {loc[-1]!r}{hint}{listing}"
    if kind == "missing":
        return "required but missing"
    message = str(error["msg"])
    if kind == "value_error":  # our validators' own words, without pydantic's prefix
        message = message.removeprefix("Value error, ")
    value = error.get("input")
    if isinstance(value, str | int | float | bool):
        return f"{message} (got {value!r})"
    return message


def _pydantic_problems(
    exc: ValidationError,
    model: type[BaseModel],
    source: str,
    lines: Mapping[Path_, int],
    prefix: Path_,
    skip: typing.Callable[[Path_, str], bool] = lambda _loc, _kind: False,
) -> Iterator[Problem]:
    for error in exc.errors():
        loc = tuple(error["loc"])
        if skip(loc, error["type"]):
            continue
        if loc and loc[-1] == "[key]":
            # pydantic marks a bad mapping key with a "[key]" step: name the key itself.
            loc = loc[:-1]
        path = (*prefix, *loc)
        line = _line_for(lines, path) or _line_for(lines, prefix) or 1
        yield Problem(source, line, dotted(path), _reason(error, model, loc))


def _semantic_problems(
    entry: ModelEntry | ModelDefaults,
    prefix: Path_,
    modes: frozenset[str],
    roles_held: frozenset[str] | None,
) -> Iterator[tuple[Path_, str]]:
    """Cross-field rules pydantic's per-field checks cannot see."""
    t = entry.thresholds
    lat = t.latency_ms
    order = [(n, v) for n, v in (("p50", lat.p50), ("p95", lat.p95), ("p99", lat.p99)) if v]
    for (low_name, low), (high_name, high) in itertools.pairwise(order):
        if high < low:
            yield (
                (*prefix, "thresholds", "latency_ms", high_name),
                f"{high_name} limit {high:g} ms is below the {low_name} limit {low:g} ms",
            )
    conf = t.confidence
    if conf.review > conf.auto:
        yield (
            (*prefix, "thresholds", "confidence", "review"),
            f"review band starts at {conf.review:g}, above the auto band at {conf.auto:g}",
        )
    declared = set(entry.output_types)
    for output_type in t.error_rate.by_output_type:
        if declared and output_type not in declared:
            yield (
                (*prefix, "thresholds", "error_rate", "by_output_type", output_type),
                f"output type {output_type!r} is not among output_types "
                f"({', '.join(sorted(declared))})",
            )
    rules = entry.ladder.rules
    if rules.persistence_k > rules.persistence_n:
        yield (
            (*prefix, "ladder", "rules", "persistence_k"),
            f"persistence_k={rules.persistence_k} exceeds persistence_n={rules.persistence_n}: "
            "the rule could never fire",
        )
    for i, group in enumerate(rules.co_fire):
        for j, trigger in enumerate(group):
            if trigger not in TRIGGER_NAMES and not trigger.startswith("error_rate."):
                yield (
                    (*prefix, "ladder", "rules", "co_fire", i, j),
                    f"unknown trigger {trigger!r}; known: {', '.join(TRIGGER_NAMES)}",
                )
    for mode in entry.ladder.response_matrix:
        if mode not in modes:
            yield (
                (*prefix, "ladder", "response_matrix", mode),
                f"unknown failure mode {mode!r}; known: {', '.join(sorted(modes))}",
            )
    sla = entry.ladder.sla
    for field in ("ack_hours", "decide_hours"):
        for tier in getattr(sla, field):
            if tier not in (1, 2, 3, 4):
                yield ((*prefix, "ladder", "sla", field, tier), "severity tiers are 1, 2, 3, 4")
    if parse_duration(sla.next_level_after) <= parse_duration(sla.remind_after):
        yield (
            (*prefix, "ladder", "sla", "next_level_after"),
            f"next_level_after {sla.next_level_after} must be later than remind_after "
            f"{sla.remind_after}: the approvers are reminded before the next level hears",
        )
    if roles_held is not None:
        wanted: list[tuple[Path_, str]] = [
            ((*prefix, "approver_roles"), role) for role in entry.approver_roles
        ]
        for rung, settings in entry.ladder.rungs.items():
            if settings.approval and settings.approval.roles:
                wanted += [
                    ((*prefix, "ladder", "rungs", rung, "approval", "roles"), role)
                    for role in settings.approval.roles
                ]
        for path, role in wanted:
            if role not in roles_held:
                yield path, f"role {role!r} is held by nobody in people: nobody could approve"


def _routing_problems(shell: RegisterDocument) -> Iterator[tuple[Path_, str]]:
    """Teams, managers and the default team must name people and teams that exist."""
    routing = shell.routing
    people = set(shell.people)
    known = ", ".join(sorted(people)) or "nobody"
    seen: dict[str, str] = {}
    for name, team in routing.teams.items():
        for i, person in enumerate(team.members):
            path: Path_ = ("routing", "teams", name, "members", i)
            if person not in people:
                yield path, f"{person!r} is not among people ({known})"
            elif person in seen:
                yield path, f"{person} is already a member of team {seen[person]!r}"
            else:
                seen[person] = name
    if routing.default_team is not None and routing.default_team not in routing.teams:
        teams = ", ".join(sorted(routing.teams)) or "none defined"
        yield (
            ("routing", "default_team"),
            (f"no team {routing.default_team!r} under routing.teams (teams: {teams})"),
        )
    for person, manager in routing.escalate_to.items():
        if person not in people:
            yield ("routing", "escalate_to", person), f"{person!r} is not among people ({known})"
        if manager not in people:
            yield (
                ("routing", "escalate_to", person),
                (f"{person}'s next level {manager!r} is not among people ({known})"),
            )
        elif manager == person:
            yield ("routing", "escalate_to", person), f"{person} cannot be their own next level"


def parse_register(text: str, *, source: str = "<register>") -> LoadedRegister:
    """Validate register YAML ``text``; raise :class:`RegisterError` with every problem."""
    read = _read_document(text, source)
    document, lines, problems = read.value, read.lines, read.problems
    problems += boolean_problems(
        read.boolean_words,
        source,
        register=RegisterDocument,
        model=ModelDocument,
        defaults=ModelDefaults,
    )
    if document is not None and not isinstance(document, dict):
        problems.append(Problem(source, 1, "(document)", "the register must be a YAML mapping"))
        document = None
    if document is None:
        raise RegisterError(problems)

    raw_defaults = document.get("defaults") or {}
    raw_models = document.get("models")
    top = {k: v for k, v in document.items() if k not in ("defaults", "models")}

    # Register-level fields (name, people, identity, audit, ingest, failure_modes) and unknown
    # top-level keys.
    try:
        shell = RegisterDocument.model_validate({**top, "models": []})
    except ValidationError as exc:
        shell = None
        problems += _pydantic_problems(exc, RegisterDocument, source, lines, ())
    if raw_models is None:
        problems.append(Problem(source, 1, "models", "required but missing: list the models"))
        raw_models = []
    elif not isinstance(raw_models, list):
        problems.append(Problem(source, lines.get(("models",), 1), "models", "must be a list"))
        raw_models = []

    modes = frozenset(FAILURE_MODES)
    if shell is not None:
        modes |= {m.id for m in shell.failure_modes.extra}
        for i, extra in enumerate(shell.failure_modes.extra):
            if extra.id in FAILURE_MODES:
                path: Path_ = ("failure_modes", "extra", i, "id")
                problems.append(
                    Problem(
                        source,
                        _line_for(lines, path) or 1,
                        dotted(path),
                        f"{extra.id!r} is already a built-in failure mode",
                    )
                )
        for text_value, mode in shell.failure_modes.annotations.items():
            if mode not in modes:
                path = ("failure_modes", "annotations", text_value)
                problems.append(
                    Problem(
                        source,
                        _line_for(lines, path) or 1,
                        dotted(path),
                        f"maps to unknown failure mode {mode!r}; known: {', '.join(sorted(modes))}",
                    )
                )
    if shell is not None:
        for path, reason in _routing_problems(shell):
            problems.append(Problem(source, _line_for(lines, path) or 1, dotted(path), reason))
    roles_held: frozenset[str] | None = None
    if shell is not None and shell.people:
        roles_held = frozenset(r for roles in shell.people.values() for r in roles)
    elif shell is None and isinstance(top.get("people"), dict):
        # Another register-level field is wrong: still check roles against people as written.
        written = [r for rs in top["people"].values() if isinstance(rs, list) for r in rs]
        roles_held = frozenset(str(r) for r in written) or None

    if not isinstance(raw_defaults, dict):
        problems.append(
            Problem(source, lines.get(("defaults",), 1), "defaults", "must be a mapping")
        )
        raw_defaults = {}

    def locate(path: Path_) -> int:
        return _line_for(lines, path) or lines.get(("defaults",)) or lines.get(("people",)) or 1

    defaults, field_problems = _validate(ModelDefaults, raw_defaults, ("defaults",), source, lines)
    problems += field_problems
    # Cross-field problems the defaults have on their own: reported once, at `defaults`,
    # not again for every model that inherits them.
    from_defaults: set[tuple[Path_, str]] = set()
    if defaults is not None:
        for path, reason in _semantic_problems(defaults, ("defaults",), modes, roles_held):
            if not _has_path(raw_defaults, path[1:]):
                continue  # a built-in default nobody wrote: blamed on the models using it
            from_defaults.add((path[1:], reason))
            problems.append(Problem(source, locate(path), dotted(path), reason))

    entries: list[ModelEntry] = []
    first_seen: dict[str, int] = {}
    for i, raw in enumerate(raw_models):
        prefix: Path_ = ("models", i)
        if not isinstance(raw, dict):
            problems.append(
                Problem(
                    source,
                    _line_for(lines, prefix) or 1,
                    dotted(prefix),
                    "each model must be a mapping with at least id and owner",
                )
            )
            continue
        raw_id = raw.get("id")
        if isinstance(raw_id, str):
            path = (*prefix, "id")
            ambiguous = id_problem(raw_id, first_seen)
            if ambiguous is not None:
                problems.append(
                    Problem(source, _line_for(lines, path) or 1, dotted(path), ambiguous)
                )
            first_seen.setdefault(raw_id, i)

        def inherited(loc: Path_, kind: str, raw: dict[Any, Any] = raw) -> bool:
            # A bad value the model inherited was already reported once, at `defaults`.
            return kind != "missing" and _has_path(raw_defaults, loc) and not _has_path(raw, loc)

        entry, field_problems = _validate(
            ModelEntry, _deep_merge(raw_defaults, raw), prefix, source, lines, inherited
        )
        problems += field_problems
        if entry is None:
            continue
        for path, reason in _semantic_problems(entry, prefix, modes, roles_held):
            if (path[len(prefix) :], reason) not in from_defaults:
                problems.append(Problem(source, locate(path), dotted(path), reason))
        if not field_problems:
            entries.append(entry)

    if problems:
        raise RegisterError(without_echoes(problems))
    assert shell is not None
    register = Register(
        name=shell.name,
        description=shell.description,
        people=shell.people,
        identity=shell.identity,
        audit=shell.audit,
        routing=shell.routing,
        ingest=shell.ingest,
        failure_modes=shell.failure_modes,
        models=entries,
    )
    return LoadedRegister(
        register=register, source=source, version=register_version(document), document=document
    )


def _validate(
    model: type[_M],
    data: dict[Any, Any],
    prefix: Path_,
    source: str,
    lines: Mapping[Path_, int],
    skip: typing.Callable[[Path_, str], bool] = lambda _loc, _kind: False,
) -> tuple[_M | None, list[Problem]]:
    """Validate ``data``; on failure also return a salvaged instance (bad values dropped)
    so cross-field rules can still be checked on the rest, in the same pass."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        problems = list(_pydantic_problems(exc, model, source, lines, prefix, skip))
        return _salvage(model, data, exc), problems


def _salvage(model: type[_M], data: dict[Any, Any], exc: ValidationError) -> _M | None:
    """``data`` with its invalid values removed (missing required ones filled with "?")."""
    pruned: Any = json.loads(json.dumps(_string_keys(data), default=str))
    for error in exc.errors():
        loc = tuple(part for part in error["loc"] if part != "[key]")
        if not loc:
            continue
        parent = _walk(pruned, loc[:-1])
        if error["type"] == "missing":
            if isinstance(parent, dict):
                parent[str(loc[-1])] = "?"
        elif isinstance(parent, dict):
            parent.pop(str(loc[-1]), None)
        elif isinstance(parent, list) and isinstance(loc[-1], int) and loc[-1] < len(parent):
            parent[loc[-1]] = None
    for container in _containers(pruned):
        container[:] = [v for v in container if v is not None]
    try:
        return model.model_validate(pruned)
    except ValidationError:
        return None


def _string_keys(value: Any) -> Any:
    """The same document with every mapping key as a string (JSON's only key type)."""
    if isinstance(value, dict):
        return {str(k): _string_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_string_keys(v) for v in value]
    return value


def _walk(value: Any, path: Path_) -> Any:
    for part in path:
        if isinstance(value, dict):
            value = value.get(part, value.get(str(part)))
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return None
    return value


def _containers(value: Any) -> Iterator[list[Any]]:
    if isinstance(value, list):
        yield value
        for item in value:
            yield from _containers(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _containers(item)


def _has_path(value: Any, path: Path_) -> bool:
    for part in path:
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return False
    return True


def register_version(document: Mapping[str, Any]) -> str:
    """A stable content hash: the same settings give the same version whatever the
    comments, key order or whitespace of the file."""
    canonical = json.dumps(
        _string_keys(document), sort_keys=True, separators=(",", ":"), default=str
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def load_register(path: str | Path) -> LoadedRegister:
    """Read and validate the register at ``path``.

    Raises
    ------
    RegisterError
        With every problem found (file, line, field, reason); also when the file is
        missing, unreadable, not UTF-8 or larger than :data:`MAX_REGISTER_BYTES`.
    """
    source = str(path)
    file = Path(path)
    try:
        size = file.stat().st_size
    except OSError as exc:
        raise RegisterError(
            [Problem(source, 0, "(file)", f"cannot read: {exc.strerror}")]
        ) from None
    if file.is_dir():
        raise RegisterError([Problem(source, 0, "(file)", "is a directory, not a register file")])
    if size > MAX_REGISTER_BYTES:
        raise RegisterError(
            [
                Problem(
                    source,
                    0,
                    "(file)",
                    f"is {size / 1e6:.1f} MB; a register may be at most "
                    f"{MAX_REGISTER_BYTES / 1e6:.0f} MB",
                )
            ]
        )
    try:
        text = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RegisterError(
            [Problem(source, 0, "(file)", f"is not UTF-8 text ({exc.reason})")]
        ) from None
    except OSError as exc:
        raise RegisterError(
            [Problem(source, 0, "(file)", f"cannot read: {exc.strerror}")]
        ) from None
    return parse_register(text, source=source)
