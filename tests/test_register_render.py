"""Rendering the register: the sign-off document, effective JSON, and the JSON Schema."""

from __future__ import annotations

import itertools
import json
import re
import textwrap
from datetime import date
from pathlib import Path

import jsonschema
import pytest
import yaml

from thresholds import (
    LoadedRegister,
    ModelEntry,
    RegisterError,
    load_register,
    parse_register,
    register_json_schema,
    render_json,
    render_markdown,
)
from thresholds.render import effective_thresholds_table

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "register.yaml"
# the effective p95 limit of each example model, in ms
EXAMPLE_P95 = {"support-assistant": "3500", "invoice-extractor": "1500", "churn-classifier": "60"}


@pytest.fixture(scope="module")
def example() -> LoadedRegister:
    return load_register(EXAMPLE)


def parse(text: str) -> LoadedRegister:
    return parse_register(textwrap.dedent(text), source="register.yaml")


def section(markdown: str, model_id: str) -> str:
    """The part of the document about one model."""
    start = markdown.index(f"## Model `{model_id}`")
    end = markdown.find("\n## Model ", start + 1)
    return markdown[start : end if end != -1 else None]


def table_rows(markdown: str) -> list[list[str]]:
    """Cells of every table row, split on pipes that are not escaped."""
    rows = []
    for line in markdown.splitlines():
        if line.startswith("|"):
            cells = re.split(r"(?<!\\)\|", line)
            assert cells[0] == "" and cells[-1] == "", line
            rows.append([cell.strip() for cell in cells[1:-1]])
    return rows


# ------------------------------------------------------------------ markdown


def test_the_document_names_the_register_and_its_version(example: LoadedRegister) -> None:
    markdown = render_markdown(example)

    assert markdown.startswith("# Performance threshold register: acme-support\n")
    assert f"`{example.version}`" in markdown
    assert "Generated on" not in markdown


def test_the_generated_on_line_appears_only_when_a_date_is_given(
    example: LoadedRegister,
) -> None:
    dated = render_markdown(example, generated_on=date(2024, 5, 1))

    assert "- **Generated on:** 2024-05-01" in dated
    assert dated.replace("- **Generated on:** 2024-05-01\n", "") == render_markdown(example)


def test_rendering_is_deterministic(example: LoadedRegister) -> None:
    assert render_markdown(example) == render_markdown(load_register(EXAMPLE))
    assert render_json(example) == render_json(load_register(EXAMPLE))


def test_every_model_has_its_owner_and_effective_p95(example: LoadedRegister) -> None:
    markdown = render_markdown(example)

    for entry in example.register.models:
        part = section(markdown, entry.id)
        assert f"| Owner | {entry.owner}" in part
        assert f"| Latency p95 | ≤ {EXAMPLE_P95[entry.id]} | ms |" in part


def test_inherited_and_overridden_limits_are_both_rendered(example: LoadedRegister) -> None:
    markdown = render_markdown(example)

    # ece_max 0.08 comes from defaults; churn-classifier sets 0.05
    assert "| Calibration: ECE ceiling | ≤ 0.08 |" in section(markdown, "support-assistant")
    assert "| Calibration: ECE ceiling | ≤ 0.05 |" in section(markdown, "churn-classifier")
    assert "| Minimum samples | ≥ 200 | rows per window |" in section(markdown, "invoice-extractor")
    assert "| Error-rate ceiling, output type summary | ≤ 0.05 |" in section(
        markdown, "support-assistant"
    )
    assert "| Throughput floor | not checked |" in section(markdown, "invoice-extractor")


def test_approvers_and_who_holds_the_role_are_listed(example: LoadedRegister) -> None:
    part = section(render_markdown(example), "invoice-extractor")

    assert "| model_owner | every ladder step that needs approval | alice, bob |" in part


def test_ladder_settings_are_listed(example: LoadedRegister) -> None:
    markdown = render_markdown(example)
    churn = section(markdown, "churn-classifier")

    assert "- **Allowed rungs:** fine_tuning, hybrid_routing, full_replacement" in churn
    assert "- **Budget:** 30,000 USD per quarter" in churn
    assert "- **Budget:** 60,000 USD per quarter" in section(markdown, "invoice-extractor")
    assert "| fine_tuning | 18,000 USD | default | 25,000 USD |" in section(
        markdown, "support-assistant"
    )


def test_every_model_has_a_sign_off_block(example: LoadedRegister) -> None:
    markdown = render_markdown(example)

    assert markdown.count("### Sign-off") == 3
    for entry in example.register.models:
        part = section(markdown, entry.id)
        sign_off = part[part.index("### Sign-off") :]
        assert f"| Owner | {entry.owner} |" in sign_off
        assert re.search(r"\| Date \| _{8,} \|", sign_off)
        assert re.search(r"\| Signature \| _{8,} \|", sign_off)
        assert example.version in sign_off


def tables(markdown: str) -> list[list[list[str]]]:
    """Each table of the document as its rows of cells."""
    groups = itertools.groupby(markdown.splitlines(), key=lambda line: line.startswith("|"))
    return [table_rows("\n".join(lines)) for is_table, lines in groups if is_table]


def test_every_table_row_has_as_many_cells_as_its_header(example: LoadedRegister) -> None:
    found = tables(render_markdown(example))

    # per model: about, thresholds, approvers, response windows, sign-off (+ rung overrides
    # for one model)
    assert len(found) == 3 * 5 + 1
    for table in found:
        assert all(len(row) == len(table[0]) for row in table), table
        assert set(table[1]) == {"---"}


HOSTILE = """\
    name: "ops | prod\\nregister"
    description: "first | line\\n--- | ---"
    people:
      "ann|e": [model_owner]
    models:
      - id: "router|v2"
        owner: "ann|e"
        description: "Routes tickets | splits by intent\\nsecond line <script>x</script>"
        output_types: ["a|b"]
        thresholds:
          error_rate: {max: 0.1, by_output_type: {"a|b": 0.2}}
"""


def test_pipes_and_newlines_in_user_strings_cannot_break_a_table() -> None:
    markdown = render_markdown(parse(HOSTILE))

    assert "Routes tickets \\| splits by intent<br>second line \\<script>" in markdown
    assert "| Owner | ann\\|e |" in markdown
    assert "| Output types | a\\|b |" in markdown
    assert "| Error-rate ceiling, output type a\\|b | ≤ 0.2 |" in markdown
    assert "| model_owner | every ladder step that needs approval | ann\\|e |" in markdown
    for table in tables(markdown):
        assert all(len(row) == len(table[0]) for row in table), table
    assert re.search(r"(?<!\\)<script>", markdown) is None


def test_a_newline_in_the_register_name_stays_in_the_title() -> None:
    markdown = render_markdown(parse(HOSTILE))

    assert markdown.splitlines()[0] == "# Performance threshold register: ops \\| prod register"
    assert "> first \\| line" in markdown
    assert "> --- \\| ---" in markdown


def test_a_backslash_before_a_pipe_does_not_unescape_it() -> None:
    loaded = parse("""\
        name: t
        models:
          - id: a
            owner: 'x\\|y'
    """)

    markdown = render_markdown(loaded)

    assert "| Owner | x\\\\\\|y |" in markdown
    assert all(len(row) == len(table[0]) for table in tables(markdown) for row in table)


def test_infinite_limits_are_refused_so_render_never_shows_one() -> None:
    # An infinite ceiling would load and silently never fire; the schema refuses it.
    with pytest.raises(RegisterError) as caught:
        parse("""\
            name: t
            models:
              - id: a
                owner: alice
                thresholds: {latency_ms: {p99: .inf}}
                ladder: {budget: {amount: .inf}}
        """)
    fields = {p.field for p in caught.value.problems}
    assert fields == {"models[0].thresholds.latency_ms.p99", "models[0].ladder.budget.amount"}


# --------------------------------------------------------------- settings table


def test_the_settings_table_lists_every_effective_threshold(example: LoadedRegister) -> None:
    rows = effective_thresholds_table(example.register.model("support-assistant"))
    by_setting = {setting: (value, unit) for setting, value, unit in rows}

    assert len(by_setting) == len(rows)
    assert by_setting["Quality floor (accuracy)"] == ("≥ 0.88", "share of labeled rows correct")
    assert by_setting["Error-rate ceiling, overall"][0] == "≤ 0.03"
    assert by_setting["Error-rate ceiling, output type summary"][0] == "≤ 0.05"
    assert by_setting["Latency p50"] == ("≤ 1200", "ms")
    assert by_setting["Latency p95"] == ("≤ 3500", "ms")
    assert by_setting["Latency p99"] == ("≤ 6000", "ms")
    assert by_setting["Throughput floor"] == ("≥ 20", "predictions per hour")
    assert by_setting["Confidence minimum"][0] == "0.6"
    assert by_setting["Confidence band: served automatically"][0] == "≥ 0.9"
    assert by_setting["Confidence band: human review"][0] == "0.6 to < 0.9"
    assert by_setting["Confidence band: general queue"][0] == "< 0.6"
    assert by_setting["Escalation rate (rows below the auto band)"][0] == (
        "0.15 to 0.4 (warning outside)"
    )
    assert by_setting["Re-escalation rate (logs' followup marker)"][0] == "≤ 0.05 (warning above)"
    assert by_setting["Label coverage minimum (below it quality is blind)"][0] == "≥ 0.05"
    assert by_setting["Labels may arrive late by"][0] == "not at all"
    assert by_setting["Calibration: ECE ceiling"][0] == "≤ 0.08"
    assert by_setting["Calibration drift: ECE rise ceiling"][0] == "≤ 0.05"
    assert by_setting["Drift: share of drifted features"][0] == "≤ 0.5"
    assert by_setting["Drift: sample size"][0] == "5000"
    assert by_setting["Minimum samples"][0] == "≥ 200"
    assert by_setting["Confidence level of intervals"][0] == "0.95"


def test_switched_off_limits_read_not_checked() -> None:
    entry = ModelEntry(
        id="m",
        owner="o",
        thresholds={  # type: ignore[arg-type]
            "quality": None,
            "drift": {"enabled": False},
            "confidence": {"escalation_rate": None, "reescalation_rate": None},
        },
    )

    rows = {setting: value for setting, value, _ in effective_thresholds_table(entry)}

    assert rows["Quality floor"] == "not checked"
    assert "Label coverage minimum (below it quality is blind)" not in rows
    assert rows["Escalation rate (rows below the auto band)"] == "not checked"
    assert rows["Re-escalation rate (logs' followup marker)"] == "not checked"
    assert rows["Data and prediction drift"] == "not checked"
    assert rows["Latency p95"] == "not checked"
    assert "Drift: sample size" not in rows


def test_a_quality_score_floor_is_labelled_as_such() -> None:
    entry = ModelEntry(
        id="m",
        owner="o",
        thresholds={"quality": {"metric": "quality_score", "min": 0.725}},  # type: ignore[arg-type]
    )

    setting, value, _ = effective_thresholds_table(entry)[0]

    assert (setting, value) == ("Quality floor (mean quality score)", "≥ 0.725")


# ---------------------------------------------------------------------- JSON


def test_render_json_round_trips_with_effective_values(example: LoadedRegister) -> None:
    text = render_json(example)
    data = json.loads(text)

    assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert (data["name"], data["version"]) == ("acme-support", example.version)
    models = {m["id"]: m for m in data["models"]}
    assert list(models) == ["support-assistant", "invoice-extractor", "churn-classifier"]
    assert models["support-assistant"]["thresholds"]["calibration"]["ece_max"] == 0.08
    assert models["churn-classifier"]["thresholds"]["calibration"]["ece_max"] == 0.05
    assert models["invoice-extractor"]["thresholds"]["min_samples"] == 200
    assert models["invoice-extractor"]["thresholds"]["latency_ms"]["p95"] == 1500
    assert models["churn-classifier"]["ladder"]["budget"] == {
        "amount": 30000.0,
        "currency": "USD",
        "period": "quarter",
    }
    for entry, dumped in zip(example.register.models, data["models"], strict=True):
        assert ModelEntry.model_validate(dumped) == entry


def test_render_json_is_strict_json_with_string_tier_keys() -> None:
    loaded = parse("""\
        name: t
        models:
          - id: a
            owner: alice
            ladder:
              sla: {ack_hours: {1: 4, 4: 0.5}}
    """)

    def refuse(constant: str) -> None:
        raise AssertionError(f"not JSON: {constant}")

    data = json.loads(render_json(loaded), parse_constant=refuse)

    assert data["models"][0]["ladder"]["sla"]["ack_hours"] == {"1": 4.0, "4": 0.5}
    assert ModelEntry.model_validate(data["models"][0]) == loaded.register.models[0]


# -------------------------------------------------------------- JSON Schema


def test_the_json_schema_validates_the_example_register() -> None:
    schema = register_json_schema()
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))

    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(document)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "modelhealth threshold register"
    assert {"name", "models"} <= set(schema["required"])


@pytest.mark.parametrize(
    ("old", "new", "complaint"),
    [
        ("error_rate: {max: 0.01}", "error_rate: {max: 1.5}", "maximum"),
        ("owner: bob", "ownr: bob", "Additional properties"),
        ("allowed_rungs: [fine_tuning,", "allowed_rungs: [fine_tunning,", "is not one of"),
        ("  criticality: 2\n", "  criticality: 9\n", "maximum"),
    ],
)
def test_the_json_schema_rejects_what_the_loader_rejects(
    old: str, new: str, complaint: str
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    document = yaml.safe_load(text.replace(old, new))

    errors = list(jsonschema.Draft202012Validator(register_json_schema()).iter_errors(document))

    assert len(errors) == 1
    assert complaint in errors[0].message


def test_each_models_response_windows_and_reminder_cadence_are_in_the_document() -> None:
    loaded = parse("""
        name: windows
        people: {alice: [model_owner]}
        models:
          - id: default-windows
            owner: alice
          - id: fast-team
            owner: alice
            ladder:
              sla: {ack_hours: {2: 8}, decide_hours: {1: 0.5}, remind_after: 15m,
                    next_level_after: 1h}
        """)
    markdown = render_markdown(loaded)

    default = table_rows(section(markdown, "default-windows").split("### Response windows")[1])
    assert default[:6] == [
        ["Tier", "Acknowledge within", "Decide within"],
        ["---", "---", "---"],
        ["1 operational", "7 d", "14 d"],
        # Seed 000's tier 2: a mitigation plan communicated in 24 h, resolved in 48 h.
        ["2 delivery risk", "24 h (a mitigation plan communicated)", "48 h (resolved)"],
        ["3 relationship threat", "2 h", "24 h"],
        ["4 critical", "immediately", "4 h"],
    ]
    fast = section(markdown, "fast-team")
    fast_rows = table_rows(fast.split("### Response windows")[1])
    assert fast_rows[2:4] == [
        ["1 operational", "7 d", "30 min"],
        ["2 delivery risk", "8 h (a mitigation plan communicated)", "48 h (resolved)"],
    ]
    assert "re-notified after 15 min and goes to the next level" in fast
    assert "after 1 h; tier 4 notifies everyone at once" in fast


def test_teams_working_hours_managers_and_on_call_are_in_the_document() -> None:
    loaded = parse("""
        name: routed
        people: {alice: [model_owner], bob: [model_owner], erin: [on_call]}
        routing:
          default_team: berlin
          teams:
            berlin: {timezone: Europe/Berlin, hours: "08:30-17:30", holidays: [2026-12-24],
                     members: [alice, bob]}
          escalate_to: {bob: alice}
        models:
          - id: m
            owner: alice
        """)
    markdown = render_markdown(loaded)
    routing = markdown.split("## Routing")[1].split("## Model")[0]
    assert table_rows(routing)[2] == [
        "berlin (default)",
        "Europe/Berlin",
        "mon, tue, wed, thu, fri",
        "08:30-17:30",
        "2026-12-24",
        "alice, bob",
    ]
    assert "- **Next level:** bob → alice" in routing
    assert "- **On call (`on_call`):** erin" in routing
    assert "## Routing" not in render_markdown(
        parse("""
        name: plain
        people: {alice: [model_owner]}
        models: [{id: m, owner: alice}]
        """)
    )
