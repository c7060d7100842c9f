"""Loading a threshold register: inheritance, versions, and hostile or broken files."""

from __future__ import annotations

import re
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from thresholds import (
    LoadedRegister,
    ModelEntry,
    Problem,
    RegisterError,
    load_register,
    parse_register,
)
from thresholds.loader import MAX_DEPTH, MAX_REGISTER_BYTES, register_version

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "register.yaml"


def parse(text: str) -> LoadedRegister:
    return parse_register(textwrap.dedent(text), source="register.yaml")


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(RegisterError) as caught:
        parse(text)
    return caught.value.problems


def model(loaded: LoadedRegister, model_id: str) -> ModelEntry:
    return loaded.register.model(model_id)


# ---------------------------------------------------------------- the example


def test_example_register_loads_with_its_three_models() -> None:
    loaded = load_register(EXAMPLE)

    assert loaded.register.name == "acme-support"
    assert [m.id for m in loaded.register.models] == [
        "support-assistant",
        "invoice-extractor",
        "churn-classifier",
    ]
    assert [m.owner for m in loaded.register.models] == ["alice", "bob", "carol"]
    assert loaded.source == str(EXAMPLE)
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", loaded.version)


def test_example_models_inherit_what_they_do_not_set() -> None:
    loaded = load_register(EXAMPLE)
    assistant = model(loaded, "support-assistant")
    churn = model(loaded, "churn-classifier")
    invoice = model(loaded, "invoice-extractor")

    # defaults set min_samples 200 and ece_max 0.08 (built-in: 100 and 0.1)
    assert assistant.thresholds.min_samples == 200
    assert assistant.thresholds.calibration.ece_max == 0.08
    # churn overrides ece_max but keeps the defaults' sibling drift_max
    assert churn.thresholds.calibration.ece_max == 0.05
    assert churn.thresholds.calibration.drift_max == 0.05
    # churn overrides budget amount; currency comes from defaults, the rest from built-ins
    assert churn.ladder.budget.amount == 30_000
    assert churn.ladder.budget.currency == "USD"
    assert invoice.ladder.budget.amount == 60_000
    # criticality: defaults say 2, assistant says 3, churn says 1
    assert (assistant.criticality, invoice.criticality, churn.criticality) == (3, 2, 1)
    # nothing anywhere sets drift_p_value: the schema's own default
    assert churn.thresholds.calibration.drift_p_value == 0.01
    # per-model column remapping keeps the other contract names
    assert invoice.columns.confidence == "score"
    assert invoice.columns.latency_ms == "duration_ms"
    assert invoice.columns.timestamp == "timestamp"


INHERITANCE = """\
    name: inheritance
    people:
      alice: [model_owner, ml_lead]
    defaults:
      owner: alice
      output_types: [answer, summary]
      approver_roles: [model_owner, ml_lead]
      thresholds:
        error_rate: {max: 0.03}
        latency_ms: {p50: 100, p95: 400, p99: 900}
      ladder:
        allowed_rungs: [prompt_optimization, retrieval_augmentation, fine_tuning]
        rules:
          persistence_k: 2
          persistence_n: 4
          co_fire: [[quality, error_rate], [latency_ms.p95, throughput]]
    models:
      - id: plain
      - id: strict
        thresholds:
          error_rate: {max: 0.01}
      - id: slow
        thresholds:
          latency_ms: {p95: 500}
      - id: narrow
        output_types: [json]
        approver_roles: [ml_lead]
        ladder:
          allowed_rungs: [fine_tuning]
          rules:
            co_fire: [[quality]]
"""


def test_a_model_that_sets_nothing_gets_the_defaults() -> None:
    plain = model(parse(INHERITANCE), "plain")

    assert plain.owner == "alice"
    assert plain.thresholds.error_rate.max == 0.03
    assert (plain.thresholds.latency_ms.p50, plain.thresholds.latency_ms.p95) == (100, 400)
    assert plain.output_types == ["answer", "summary"]
    assert plain.ladder.rules.persistence_n == 4


def test_a_model_override_wins_over_the_defaults() -> None:
    loaded = parse(INHERITANCE)

    assert model(loaded, "strict").thresholds.error_rate.max == 0.01
    assert model(loaded, "plain").thresholds.error_rate.max == 0.03


def test_overriding_one_latency_percentile_keeps_the_others_from_defaults() -> None:
    latency = model(parse(INHERITANCE), "slow").thresholds.latency_ms

    assert (latency.p50, latency.p95, latency.p99) == (100, 500, 900)


def test_lists_replace_rather_than_merge() -> None:
    narrow = model(parse(INHERITANCE), "narrow")

    assert narrow.output_types == ["json"]
    assert narrow.approver_roles == ["ml_lead"]
    assert narrow.ladder.allowed_rungs == ["fine_tuning"]
    assert narrow.ladder.rules.co_fire == [["quality"]]
    # the mapping around the replaced list still merged
    assert narrow.ladder.rules.persistence_n == 4


def test_a_model_may_switch_off_an_inherited_quality_floor_with_null() -> None:
    loaded = parse("""\
        name: t
        defaults:
          owner: alice
          thresholds:
            quality: {metric: quality_score, min: 0.7}
        models:
          - id: judged
          - id: unjudged
            thresholds:
              quality: null
    """)

    judged = model(loaded, "judged").thresholds.quality
    assert judged is not None and (judged.metric, judged.min) == ("quality_score", 0.7)
    assert model(loaded, "unjudged").thresholds.quality is None


def test_yaml_merge_keys_can_be_overridden() -> None:
    loaded = parse("""\
        name: t
        models:
          - id: a
            owner: alice
            thresholds: &shared
              error_rate: {max: 0.02}
              min_samples: 50
          - id: b
            owner: alice
            thresholds:
              <<: *shared
              min_samples: 70
    """)

    b = model(loaded, "b")
    assert (b.thresholds.error_rate.max, b.thresholds.min_samples) == (0.02, 70)


def test_yaml_merge_keys_without_overrides_are_expanded() -> None:
    loaded = parse("""\
        name: t
        models:
          - id: a
            owner: alice
            thresholds: &shared
              error_rate: {max: 0.02}
          - id: b
            owner: alice
            thresholds:
              min_samples: 70
              <<: *shared
    """)

    b = model(loaded, "b")
    assert (b.thresholds.error_rate.max, b.thresholds.min_samples) == (0.02, 70)


# ------------------------------------------------------------------- versions


def test_version_is_the_content_hash_of_the_document() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")

    loaded = parse_register(text, source="anywhere.yaml")

    assert loaded.version == load_register(EXAMPLE).version
    assert loaded.version == register_version(yaml.safe_load(text))


def test_version_ignores_comments_whitespace_key_order_and_style() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    version = parse_register(text).version
    data = yaml.safe_load(text)
    commented = "# signed off 2024-05-01\n" + text.replace(
        "criticality: 3", "criticality: 3   # raised after the March incident"
    )
    reindented = yaml.safe_dump(data, indent=4, sort_keys=False, default_flow_style=False)
    reordered = yaml.safe_dump(data, sort_keys=True, default_flow_style=True, width=60)
    # the same settings with the top-level keys in reverse order
    reversed_top = yaml.safe_dump(dict(reversed(list(data.items()))), sort_keys=False)

    assert commented != text and reindented != text and reordered != text
    for variant in (commented, reindented, reordered, reversed_top, text + "\n\n\n"):
        assert parse_register(variant).version == version


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("error_rate: {max: 0.01}", "error_rate: {max: 0.011}"),
        ("p95: 60,", "p95: 61,"),
        ("owner: bob", "owner: alice"),
        ("allow_as: true", "allow_as: false"),
        ("- id: churn-classifier", "- id: churn-model"),
        ("period: quarter}\n    rules", "period: month}\n    rules"),
        ("Extracts invoice fields", "Extracts invoice totals"),
    ],
)
def test_version_changes_when_any_value_changes(old: str, new: str) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count(old) == 1, old

    assert parse_register(text.replace(old, new)).version != parse_register(text).version


# ------------------------------------------------------------ hostile files


def test_python_object_tags_are_refused_and_never_executed(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    register = tmp_path / "register.yaml"
    register.write_text(
        f'name: !!python/object/apply:os.system ["echo hi > {marker}"]\nmodels: []\n',
        encoding="utf-8",
    )

    with pytest.raises(RegisterError) as caught:
        load_register(register)

    assert not marker.exists()
    refused = [p for p in caught.value.problems if "python/object/apply" in p.reason]
    assert len(refused) == 1
    assert (refused[0].line, refused[0].field) == (1, "name")
    assert "not allowed" in refused[0].reason
    assert "loaded safely" in refused[0].reason


@pytest.mark.parametrize(
    "value",
    [
        "!!python/name:os.system",
        "!!python/object/new:subprocess.Popen [[touch, /tmp/never]]",
        "!!python/module:os",
        "!custom 3",
    ],
)
def test_every_non_standard_tag_is_refused(value: str) -> None:
    problems = problems_of(f"name: t\nmodels:\n  - id: {value}\n    owner: alice\n")

    refused = [p for p in problems if "is not allowed" in p.reason]
    assert [(p.line, p.field) for p in refused] == [(3, "models[0].id")]


def test_a_billion_laughs_document_is_refused_fast() -> None:
    levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        levels.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    text = "name: bomb\nmodels: []\n" + "\n".join(levels) + "\n"

    started = time.perf_counter()
    with pytest.raises(RegisterError) as caught:
        parse_register(text)
    elapsed = time.perf_counter() - started

    assert elapsed < 2.0
    [problem] = caught.value.problems
    assert "alias" in problem.reason
    assert "100000 values" in problem.reason


def test_a_50_mb_file_is_refused_by_its_size_without_being_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = tmp_path / "huge.yaml"
    with huge.open("wb") as handle:  # sparse: costs no disk and no time
        handle.truncate(50 * 1024 * 1024)

    def never(*_args: object, **_kwargs: object) -> bytes:
        raise AssertionError("the loader read a file it should have refused by size")

    monkeypatch.setattr(Path, "read_bytes", never)
    monkeypatch.setattr(Path, "read_text", never)
    with pytest.raises(RegisterError) as caught:
        load_register(huge)

    [problem] = caught.value.problems
    assert (problem.file, problem.line, problem.field) == (str(huge), 0, "(file)")
    assert "52.4 MB" in problem.reason
    assert f"{MAX_REGISTER_BYTES / 1e6:.0f} MB" in problem.reason


@pytest.mark.parametrize(
    "text",
    [
        "[" * 10_000,
        "[" * 10_000 + "]" * 10_000,
        "{a: " * 10_000 + "1" + "}" * 10_000,
        "a:\n" + "".join("  " * depth + "b:\n" for depth in range(1, 2_000)),
    ],
    ids=["unclosed-brackets", "closed-brackets", "flow-mappings", "block-mappings"],
)
def test_deeply_nested_documents_are_refused_cleanly(text: str) -> None:
    with pytest.raises(RegisterError) as caught:
        parse_register(text)

    [problem] = caught.value.problems
    assert problem.field == "(document)"
    assert f"nested deeper than {MAX_DEPTH} levels" in problem.reason


def test_nesting_just_within_the_limit_is_not_refused_for_depth() -> None:
    nested = "x: " + "[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2)
    problems = problems_of(f"name: t\nmodels: []\n{nested}\n")

    assert not any("nested deeper" in p.reason for p in problems)
    assert [p.field for p in problems] == ["x"]


def test_duplicate_keys_are_refused_naming_both_lines() -> None:
    problems = problems_of("""\
        name: t
        models:
          - id: a
            owner: alice
            thresholds: {min_samples: 10}
            owner: bob
    """)

    assert [(p.line, p.field) for p in problems] == [(6, "models[0].owner")]
    assert "duplicate key" in problems[0].reason
    assert "line 4" in problems[0].reason


def test_non_utf8_bytes_are_refused(tmp_path: Path) -> None:
    register = tmp_path / "latin1.yaml"
    register.write_bytes("name: café\nmodels: []\n".encode("latin-1"))

    with pytest.raises(RegisterError) as caught:
        load_register(register)

    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (0, "(file)")
    assert "not UTF-8" in problem.reason


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_register_is_refused(text: str) -> None:
    with pytest.raises(RegisterError) as caught:
        parse_register(text)

    assert [(p.line, p.field, p.reason) for p in caught.value.problems] == [
        (1, "(document)", "the register is empty")
    ]


@pytest.mark.parametrize("text", ["---\n", "null\n", "~\n"])
def test_a_register_that_is_only_null_is_refused_with_a_reason(text: str) -> None:
    with pytest.raises(RegisterError) as caught:
        parse_register(text)

    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].line == 1


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    register = tmp_path / "empty.yaml"
    register.write_bytes(b"")

    with pytest.raises(RegisterError, match="the register is empty"):
        load_register(register)


@pytest.mark.parametrize("text", ["- id: a\n  owner: alice\n", "just a sentence\n", "42\n"])
def test_a_register_that_is_not_a_mapping_is_refused(text: str) -> None:
    with pytest.raises(RegisterError) as caught:
        parse_register(text)

    assert [(p.line, p.reason) for p in caught.value.problems] == [
        (1, "the register must be a YAML mapping")
    ]


def test_a_missing_file_and_a_directory_are_refused(tmp_path: Path) -> None:
    with pytest.raises(RegisterError, match="cannot read"):
        load_register(tmp_path / "nope.yaml")
    with pytest.raises(RegisterError, match="is a directory"):
        load_register(tmp_path)


def test_broken_yaml_syntax_names_the_line() -> None:
    problems = problems_of("""\
        name: t
        models:
          - id: a
            owner: [alice
          - id: b
    """)

    [problem] = problems
    assert problem.reason.startswith("not valid YAML")
    assert problem.line == 5


def test_register_error_lists_every_problem_in_its_message() -> None:
    problems = problems_of("""\
        name: t
        models:
          - id: a
            owner: alice
            criticality: 7
          - id: b
    """)

    error = RegisterError(problems)
    assert str(error).startswith("2 problems in the register:")
    assert "register.yaml:5: models[0].criticality:" in str(error)
    assert "register.yaml:6: models[1].owner: required but missing" in str(error)
