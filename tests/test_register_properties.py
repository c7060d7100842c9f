"""Properties of register loading over generated registers (hypothesis).

Valid registers always load, with deterministic versions and the inheritance rule
applied; registers with injected mistakes always fail with a RegisterError that names
every injected mistake at its field, and blame nothing that was not touched.
"""

from __future__ import annotations

import math
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from thresholds import RUNGS, LoadedRegister, RegisterError, parse_register
from thresholds.loader import register_version
from thresholds.schema import LadderSettings, LatencyLimits, ModelEntry, Thresholds, Windows

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

PEOPLE = {"alice": ["model_owner", "ml_lead"], "bob": ["model_owner"]}
BUILT_IN_ERROR_CEILING = 0.05

model_ids = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True)
shares = st.floats(min_value=0.0, max_value=1.0)
latency_triples = st.lists(
    st.floats(min_value=1.0, max_value=60_000.0), min_size=3, max_size=3
).map(sorted)


@st.composite
def model_documents(draw: st.DrawFn, model_id: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": model_id, "owner": draw(st.sampled_from(sorted(PEOPLE)))}
    thresholds: dict[str, Any] = {}
    if draw(st.booleans()):
        thresholds["error_rate"] = {"max": draw(shares)}
    if draw(st.booleans()):
        p50, p95, p99 = draw(latency_triples)
        thresholds["latency_ms"] = {"p50": p50, "p95": p95, "p99": p99}
    if draw(st.booleans()):
        thresholds["quality"] = {"metric": "accuracy", "min": draw(shares)}
    if draw(st.booleans()):
        thresholds["calibration"] = {"ece_max": draw(shares), "drift_max": draw(shares)}
    if draw(st.booleans()):
        thresholds["min_samples"] = draw(st.integers(min_value=1, max_value=10**6))
    if thresholds:
        doc["thresholds"] = thresholds
    if draw(st.booleans()):
        n = draw(st.integers(min_value=1, max_value=10))
        doc["ladder"] = {
            "allowed_rungs": draw(st.lists(st.sampled_from(RUNGS), min_size=1, unique=True)),
            "rules": {
                "persistence_k": draw(st.integers(min_value=1, max_value=n)),
                "persistence_n": n,
            },
        }
    return doc


@st.composite
def valid_registers(draw: st.DrawFn) -> dict[str, Any]:
    ids = draw(st.lists(model_ids, min_size=1, max_size=5, unique=True))
    register: dict[str, Any] = {"name": draw(model_ids), "people": PEOPLE}
    defaults: dict[str, Any] = {}
    if draw(st.booleans()):
        defaults["thresholds"] = {
            "error_rate": {"max": draw(shares)},
            "min_samples": draw(st.integers(min_value=1, max_value=1000)),
        }
    if draw(st.booleans()):
        defaults["ladder"] = {"budget": {"amount": draw(st.floats(0, 1e7))}}
    if defaults:
        register["defaults"] = defaults
    register["models"] = [draw(model_documents(model_id)) for model_id in ids]
    return register


def dump(register: dict[str, Any], **options: Any) -> str:
    return yaml.safe_dump(register, **{"sort_keys": False, **options})


def load(register: dict[str, Any], **options: Any) -> LoadedRegister:
    return parse_register(dump(register, **options), source="generated.yaml")


# ------------------------------------------------------------------ valid


@PROPERTY_SETTINGS
@given(valid_registers())
def test_valid_registers_load_with_a_deterministic_version(register: dict[str, Any]) -> None:
    loaded = load(register)

    assert [m.id for m in loaded.register.models] == [m["id"] for m in register["models"]]
    assert loaded.version == load(register).version
    assert loaded.version == load(register, sort_keys=True, indent=4).version
    assert loaded.version == load(register, default_flow_style=True, width=40).version
    assert loaded.version == register_version(register)


@PROPERTY_SETTINGS
@given(valid_registers())
def test_the_effective_error_ceiling_is_the_nearest_one_written(
    register: dict[str, Any],
) -> None:
    loaded = load(register)

    default = register.get("defaults", {}).get("thresholds", {}).get("error_rate", {})
    for doc, entry in zip(register["models"], loaded.register.models, strict=True):
        own = doc.get("thresholds", {}).get("error_rate", {})
        expected = own.get("max", default.get("max", BUILT_IN_ERROR_CEILING))
        assert entry.thresholds.error_rate.max == expected


@PROPERTY_SETTINGS
@given(valid_registers(), st.data())
def test_changing_any_model_value_changes_the_version(
    register: dict[str, Any], data: st.DataObject
) -> None:
    before = load(register).version
    index = data.draw(st.integers(min_value=0, max_value=len(register["models"]) - 1))
    changed = yaml.safe_load(dump(register))
    thresholds = changed["models"][index].setdefault("thresholds", {})
    thresholds["min_samples"] = thresholds.get("min_samples", 100) + 1

    assert load(changed).version != before


# ---------------------------------------------------------------- invalid

_ALLOWED_KEYS: dict[str, set[str]] = {
    "": set(ModelEntry.model_fields),
    "thresholds": set(Thresholds.model_fields),
    "thresholds.latency_ms": set(LatencyLimits.model_fields),
    "ladder": set(LadderSettings.model_fields),
    "windows": set(Windows.model_fields),
}
_SHARE_FIELDS = [
    ("error_rate", "max"),
    ("quality", "min"),
    ("calibration", "ece_max"),
    ("calibration", "drift_max"),
]

bad_shares = st.one_of(
    st.floats(min_value=1.0, max_value=100.0, exclude_min=True),
    st.floats(min_value=-1e6, max_value=0.0, exclude_max=True),
)
unknown_rungs = st.text(min_size=1, max_size=30).filter(lambda text: text not in RUNGS)


@st.composite
def mistakes(draw: st.DrawFn, n_models: int) -> tuple[int, str, Any]:
    """One mistake: (model index, kind, parameters)."""
    index = draw(st.integers(min_value=0, max_value=n_models - 1))
    kind = draw(st.sampled_from(["share", "latency", "unknown_key", "unknown_rung"]))
    if kind == "share":
        return index, kind, (draw(st.sampled_from(_SHARE_FIELDS)), draw(bad_shares))
    if kind == "latency":
        value = draw(st.floats(min_value=-1e6, max_value=0.0))
        return index, kind, (draw(st.sampled_from(["p50", "p95", "p99"])), value)
    if kind == "unknown_key":
        where = draw(st.sampled_from(sorted(_ALLOWED_KEYS)))
        key = draw(
            st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True).filter(
                lambda k: k not in _ALLOWED_KEYS[where]
            )
        )
        return index, kind, (where, key)
    return index, kind, draw(unknown_rungs)


def _section(doc: dict[str, Any], dotted: str) -> dict[str, Any]:
    for part in filter(None, dotted.split(".")):
        doc = doc.setdefault(part, {})
    return doc


def inject(register: dict[str, Any], mistake: tuple[int, str, Any]) -> str:
    """Apply one mistake to ``register`` in place; return the field path it must be named at."""
    index, kind, params = mistake
    doc = register["models"][index]
    prefix = f"models[{index}]"
    if kind == "share":
        (group, key), value = params
        _section(doc, f"thresholds.{group}")[key] = value
        return f"{prefix}.thresholds.{group}.{key}"
    if kind == "latency":
        percentile, value = params
        _section(doc, "thresholds.latency_ms")[percentile] = value
        return f"{prefix}.thresholds.latency_ms.{percentile}"
    if kind == "unknown_key":
        where, key = params
        _section(doc, where)[key] = 1
        return ".".join(filter(None, (prefix, where, key)))
    ladder = _section(doc, "ladder")
    rungs = ladder.setdefault("allowed_rungs", ["fine_tuning"])
    rungs.append(params)
    return f"{prefix}.ladder.allowed_rungs[{len(rungs) - 1}]"


@PROPERTY_SETTINGS
@given(valid_registers(), st.data())
def test_every_injected_mistake_is_named_in_one_register_error(
    register: dict[str, Any], data: st.DataObject
) -> None:
    injected = data.draw(st.lists(mistakes(len(register["models"])), min_size=1, max_size=6))
    expected = {inject(register, mistake) for mistake in injected}

    try:
        load(register)
    except RegisterError as error:
        problems = error.problems
    else:
        raise AssertionError(f"a register with mistakes at {sorted(expected)} loaded")

    named = {p.field for p in problems}
    assert expected <= named, f"not named: {sorted(expected - named)}"
    assert all(p.file == "generated.yaml" and p.line >= 1 for p in problems)
    touched = {f"models[{index}]" for index, _, _ in injected}
    for problem in problems:
        assert problem.field.split(".")[0].split("]")[0] + "]" in touched, problem


@PROPERTY_SETTINGS
@given(valid_registers(), st.data())
def test_an_unknown_key_is_reported_as_unknown_with_a_list_of_allowed_keys(
    register: dict[str, Any], data: st.DataObject
) -> None:
    index, kind, params = data.draw(
        mistakes(len(register["models"])).filter(lambda mistake: mistake[1] == "unknown_key")
    )
    field = inject(register, (index, kind, params))

    try:
        load(register)
    except RegisterError as error:
        [problem] = [p for p in error.problems if p.field == field]
    else:
        raise AssertionError(f"unknown key at {field} was accepted")
    assert problem.reason.startswith(f"unknown key {params[1]!r}")
    assert "allowed here:" in problem.reason


# Values of any shape, to throw at any position, including mappings that mix int and
# str keys (YAML allows both; register_version must still hash them).
junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**12), max_value=10**12)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=8) | st.integers(0, 9), children, max_size=3)
    ),
    max_leaves=8,
)
_JUNK_PATHS = [
    ("name",),
    ("people",),
    ("identity",),
    ("failure_modes",),
    ("failure_modes", "annotations"),
    ("defaults",),
    ("defaults", "thresholds"),
    ("defaults", "ladder", "rules"),
    ("models",),
    ("models", 0),
    ("models", 0, "id"),
    ("models", 0, "thresholds"),
    ("models", 0, "thresholds", "latency_ms"),
    ("models", 0, "thresholds", "error_rate", "by_output_type"),
    ("models", 0, "ladder"),
    ("models", 0, "ladder", "rungs"),
    ("models", 0, "ladder", "response_matrix"),
    ("models", 0, "ladder", "sla"),
    ("models", 0, "approver_roles"),
    ("models", 0, "output_types"),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_registers(), st.sampled_from(_JUNK_PATHS), junk)
def test_junk_anywhere_gives_a_register_error_or_a_register(
    register: dict[str, Any], path: tuple[str | int, ...], value: Any
) -> None:
    parent: Any = register
    for part in path[:-1]:
        parent = parent.setdefault(part, {}) if isinstance(part, str) else parent[part]
    parent[path[-1]] = value

    try:
        loaded = load(register)
    except RegisterError as error:
        assert error.problems
        assert all(isinstance(p.line, int) and p.line >= 1 for p in error.problems)
    else:
        for entry in loaded.register.models:
            limits = entry.thresholds.error_rate
            assert 0.0 <= limits.max <= 1.0 and not math.isnan(limits.max)
