"""Validation of a threshold register: each mistake is named by line and field, and
every mistake in a document comes out in one RegisterError."""

from __future__ import annotations

import textwrap

import pytest

from thresholds import LoadedRegister, Problem, RegisterError, parse_register


def parse(text: str) -> LoadedRegister:
    return parse_register(textwrap.dedent(text), source="register.yaml")


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(RegisterError) as caught:
        parse(text)
    assert all(p.file == "register.yaml" for p in caught.value.problems)
    return caught.value.problems


def where(problems: list[Problem]) -> list[tuple[int, str]]:
    return [(p.line, p.field) for p in problems]


# The setting under test goes on line 9, inside models[0].thresholds.
ONE_MODEL = """\
name: t
people:
  alice: [model_owner]
models:
  - id: a
    owner: alice
    output_types: [json, label]
    thresholds:
      {setting}
"""


@pytest.mark.parametrize(
    ("setting", "field", "got"),
    [
        ("error_rate: {max: 1.5}", "error_rate.max", "1.5"),
        ("error_rate: {max: -0.01}", "error_rate.max", "-0.01"),
        ("error_rate: {by_output_type: {json: 1.2}}", "error_rate.by_output_type.json", "1.2"),
        ("quality: {min: -0.1}", "quality.min", "-0.1"),
        ("calibration: {ece_max: 2}", "calibration.ece_max", "2"),
        ("calibration: {drift_max: 1.01}", "calibration.drift_max", "1.01"),
        ("confidence: {max_share_below: 3}", "confidence.max_share_below", "3"),
        ("drift: {max_share_drifted_features: -1}", "drift.max_share_drifted_features", "-1"),
    ],
)
def test_a_share_outside_zero_one_is_named_by_line_and_field(
    setting: str, field: str, got: str
) -> None:
    problems = problems_of(ONE_MODEL.format(setting=setting))

    assert where(problems) == [(9, f"models[0].thresholds.{field}")]
    assert f"(got {got})" in problems[0].reason
    bound = "greater than or equal to 0" if got.startswith("-") else "less than or equal to 1"
    assert bound in problems[0].reason


def test_negative_latency_is_named() -> None:
    problems = problems_of(ONE_MODEL.format(setting="latency_ms: {p99: -5}"))

    assert where(problems) == [(9, "models[0].thresholds.latency_ms.p99")]
    assert "greater than 0" in problems[0].reason


def test_p95_below_p50_is_named_at_p95() -> None:
    problems = problems_of("""\
        name: t
        models:
          - id: a
            owner: alice
            thresholds:
              latency_ms:
                p50: 800
                p95: 300
    """)

    assert where(problems) == [(8, "models[0].thresholds.latency_ms.p95")]
    assert problems[0].reason == "p95 limit 300 ms is below the p50 limit 800 ms"


def test_p99_below_p95_is_named_at_p99() -> None:
    problems = problems_of(ONE_MODEL.format(setting="latency_ms: {p95: 200, p99: 150}"))

    assert where(problems) == [(9, "models[0].thresholds.latency_ms.p99")]
    assert "150" in problems[0].reason and "200" in problems[0].reason


def test_unknown_failure_mode_in_the_response_matrix_is_named() -> None:
    problems = problems_of("""\
        name: t
        models:
          - id: a
            owner: alice
            ladder:
              response_matrix:
                factual_error: {rung: fine_tuning}
                hallucinations: {rung: retrieval_augmentation}
    """)

    assert where(problems) == [(8, "models[0].ladder.response_matrix.hallucinations")]
    assert "unknown failure mode 'hallucinations'" in problems[0].reason
    assert "hallucination," in problems[0].reason  # the known ids are listed


def test_unknown_failure_mode_as_an_annotation_target_is_named() -> None:
    problems = problems_of("""\
        name: t
        failure_modes:
          annotations:
            "made up citation": hallucination
            "wrong refund amount": factual_eror
        models: []
    """)

    assert where(problems) == [(5, "failure_modes.annotations.wrong refund amount")]
    assert "unknown failure mode 'factual_eror'" in problems[0].reason


def test_a_register_added_failure_mode_is_known() -> None:
    loaded = parse("""\
        name: t
        failure_modes:
          extra:
            - {id: tone_violation, rung: prompt_optimization}
          annotations: {"rude reply": tone_violation}
        models:
          - id: a
            owner: alice
            ladder:
              response_matrix:
                tone_violation: {rung: few_shot_enrichment}
    """)

    assert "tone_violation" in loaded.register.failure_mode_ids
    rung = loaded.register.models[0].ladder.response_matrix["tone_violation"].rung
    assert rung == "few_shot_enrichment"


def test_unknown_rung_ids_are_named_wherever_they_appear() -> None:
    problems = problems_of("""\
        name: t
        failure_modes:
          extra:
            - {id: tone_violation, rung: prompt_tuning}
        models:
          - id: a
            owner: alice
            ladder:
              allowed_rungs:
                - prompt_optimization
                - fine_tunning
              response_matrix:
                hallucination: {rung: retreival_augmentation}
    """)

    assert where(problems) == [
        (4, "failure_modes.extra[0].rung"),
        (11, "models[0].ladder.allowed_rungs[1]"),
        (13, "models[0].ladder.response_matrix.hallucination.rung"),
    ]
    assert "(got 'prompt_tuning')" in problems[0].reason
    assert "(got 'fine_tunning')" in problems[1].reason
    assert "'fine_tuning'" in problems[1].reason  # the valid ids are listed
    assert "(got 'retreival_augmentation')" in problems[2].reason


def test_an_unknown_rung_as_a_rung_settings_key_is_named_at_its_line() -> None:
    problems = problems_of("""\
        name: t
        models:
          - id: a
            owner: alice
            ladder:
              rungs:
                fine_tuning: {cost_one_off: 5000}
                fine_tunning: {cost_one_off: 5000}
    """)

    [problem] = problems
    assert problem.line == 8
    assert problem.field.startswith("models[0].ladder.rungs.fine_tunning")
    assert "(got 'fine_tunning')" in problem.reason


def test_a_bad_dict_key_is_named_without_pydantic_internals() -> None:
    problems = problems_of("""\
        name: t
        models:
          - id: a
            owner: alice
            ladder:
              rungs: {fine_tunning: {cost_one_off: 5000}}
    """)

    assert where(problems) == [(6, "models[0].ladder.rungs.fine_tunning")]


def test_duplicate_model_ids_are_named_at_the_second_id() -> None:
    problems = problems_of("""\
        name: t
        models:
          - id: support-assistant
            owner: alice
          - id: churn
            owner: carol
          - id: support-assistant
            owner: bob
    """)

    assert where(problems) == [(7, "models[2].id")]
    assert problems[0].reason == "duplicate model id 'support-assistant' (also models[0])"


def test_a_missing_owner_is_named_at_its_model() -> None:
    problems = problems_of("""\
        name: t
        models:
          - id: a
            owner: alice
          - id: b
            description: nobody owns me
    """)

    assert where(problems) == [(5, "models[1].owner")]
    assert problems[0].reason == "required but missing"


def test_an_owner_in_defaults_satisfies_every_model() -> None:
    loaded = parse("""\
        name: t
        defaults: {owner: ml-platform-team}
        models:
          - id: a
          - id: b
            owner: bob
    """)

    assert [m.owner for m in loaded.register.models] == ["ml-platform-team", "bob"]


@pytest.mark.parametrize(
    ("typo", "line", "field", "meant"),
    [
        ("    tresholds: {}", 5, "models[0].tresholds", "thresholds"),
        ("    ownr: bob", 5, "models[0].ownr", "owner"),
        ("    thresholds: {min_sample: 5}", 5, "models[0].thresholds.min_sample", "min_samples"),
        ("    ladder: {budget: {ammount: 5}}", 5, "models[0].ladder.budget.ammount", "amount"),
        ("    windows: {curent: 1d}", 5, "models[0].windows.curent", "current"),
    ],
)
def test_an_unknown_key_is_named_with_a_did_you_mean(
    typo: str, line: int, field: str, meant: str
) -> None:
    text = "name: t\nmodels:\n  - id: a\n    owner: alice\n" + typo + "\n"

    with pytest.raises(RegisterError) as caught:
        parse_register(text, source="register.yaml")

    [problem] = caught.value.problems
    assert (problem.line, problem.field) == (line, field)
    assert f"(did you mean {meant!r}?)" in problem.reason
    assert "allowed here:" in problem.reason


def test_an_unknown_top_level_key_is_named_and_models_reported_missing() -> None:
    problems = problems_of("""\
        name: t
        modles:
          - id: a
            owner: alice
    """)

    assert where(problems) == [(1, "models"), (2, "modles")]
    assert "(did you mean 'models'?)" in problems[1].reason
    assert "required but missing" in problems[0].reason


def test_persistence_k_above_n_is_named_at_k() -> None:
    problems = problems_of("""\
        name: t
        models:
          - id: a
            owner: alice
            ladder:
              rules:
                persistence_n: 2
                persistence_k: 3
    """)

    assert where(problems) == [(8, "models[0].ladder.rules.persistence_k")]
    assert "persistence_k=3 exceeds persistence_n=2" in problems[0].reason


def test_a_role_held_by_nobody_is_named_where_it_is_required() -> None:
    problems = problems_of("""\
        name: t
        people:
          alice: [model_owner]
          carol: [finance]
        models:
          - id: a
            owner: alice
            approver_roles: [model_owner, cfo]
            ladder:
              rungs:
                full_replacement:
                  approval: {roles: [finance, vp_engineering]}
    """)

    assert where(problems) == [
        (8, "models[0].approver_roles"),
        (12, "models[0].ladder.rungs.full_replacement.approval.roles"),
    ]
    assert "role 'cfo' is held by nobody" in problems[0].reason
    assert "role 'vp_engineering' is held by nobody" in problems[1].reason


def test_many_mistakes_come_out_in_one_error() -> None:
    text = """\
        name: t
        people:
          alice: [model_owner]
        failure_modes:
          annotations: {"bad json": format_violations}
        models:
          - id: a
            owner: alice
            thresholds:
              error_rate: {max: 1.5}
              latency_ms: {p50: 900, p95: 400}
            ladder:
              allowed_rungs: [prompt_optimisation]
              rules: {persistence_k: 5, persistence_n: 3}
          - id: a
            owner: alice
            approver_roles: [cfo]
          - id: c
            tresholds: {}
    """

    problems = problems_of(text)

    assert where(problems) == [
        (5, "failure_modes.annotations.bad json"),
        (10, "models[0].thresholds.error_rate.max"),
        (11, "models[0].thresholds.latency_ms.p95"),
        (13, "models[0].ladder.allowed_rungs[0]"),
        (14, "models[0].ladder.rules.persistence_k"),
        (15, "models[1].id"),
        (17, "models[1].approver_roles"),
        (18, "models[2].owner"),
        (19, "models[2].tresholds"),
    ]
    with pytest.raises(RegisterError, match=r"^9 problems in the register:"):
        parse(text)


def test_the_other_model_of_a_broken_register_is_not_blamed() -> None:
    problems = problems_of("""\
        name: t
        models:
          - id: good
            owner: alice
            thresholds: {latency_ms: {p50: 100, p95: 300}}
          - id: bad
            owner: alice
            thresholds: {latency_ms: {p50: 100, p95: -300}}
    """)

    assert where(problems) == [(8, "models[1].thresholds.latency_ms.p95")]


# ----------------------------------------------------------- defaults, once


def test_a_bad_value_in_defaults_is_reported_once_at_defaults() -> None:
    problems = problems_of("""\
        name: t
        defaults:
          thresholds:
            error_rate: {max: 3}
            latencyms: {p50: 30}
        models:
          - id: a
            owner: alice
          - id: b
            owner: bob
          - id: c
            owner: carol
    """)

    assert where(problems) == [
        (4, "defaults.thresholds.error_rate.max"),
        (5, "defaults.thresholds.latencyms"),
    ]


def test_a_cross_field_mistake_in_defaults_is_reported_once_at_defaults() -> None:
    problems = problems_of("""\
        name: t
        defaults:
          thresholds:
            latency_ms: {p50: 300, p95: 100}
          ladder:
            rules: {persistence_k: 4}
        models:
          - id: a
            owner: alice
          - id: b
            owner: bob
    """)

    assert where(problems) == [
        (4, "defaults.thresholds.latency_ms.p95"),
        (6, "defaults.ladder.rules.persistence_k"),
    ]


def test_every_mistake_in_defaults_comes_out_at_once() -> None:
    problems = problems_of("""\
        name: t
        defaults:
          thresholds:
            error_rate: {max: 3}
            latency_ms: {p50: 300, p95: 100}
        models:
          - id: a
            owner: alice
    """)

    assert where(problems) == [
        (4, "defaults.thresholds.error_rate.max"),
        (5, "defaults.thresholds.latency_ms.p95"),
    ]


def test_a_model_that_overrides_a_bad_default_is_judged_on_its_own_value() -> None:
    problems = problems_of("""\
        name: t
        defaults:
          thresholds:
            error_rate: {max: 3}
        models:
          - id: a
            owner: alice
            thresholds:
              error_rate: {max: 4}
          - id: b
            owner: bob
            thresholds:
              error_rate: {max: 0.02}
    """)

    assert where(problems) == [
        (4, "defaults.thresholds.error_rate.max"),
        (9, "models[0].thresholds.error_rate.max"),
    ]


def test_a_model_p50_above_the_inherited_p95_is_reported() -> None:
    problems = problems_of("""\
        name: t
        defaults:
          thresholds:
            latency_ms: {p50: 100, p95: 300}
        models:
          - id: a
            owner: alice
            thresholds:
              latency_ms: {p50: 500}
    """)

    assert len(problems) == 1
    assert problems[0].field.startswith("models[0].thresholds.latency_ms")
    assert problems[0].line == 9


def test_a_model_persistence_n_below_the_inherited_k_is_reported() -> None:
    problems = problems_of("""\
        name: t
        defaults:
          ladder:
            rules: {persistence_k: 3, persistence_n: 3}
        models:
          - id: a
            owner: alice
            ladder:
              rules: {persistence_n: 1}
    """)

    assert len(problems) == 1
    assert problems[0].field.startswith("models[0].ladder.rules.persistence_")


def test_an_unheld_built_in_approver_role_is_not_blamed_on_absent_defaults() -> None:
    problems = problems_of("""\
        name: t
        people: {bob: [ml_lead]}
        models:
          - id: a
            owner: bob
          - id: b
            owner: bob
    """)

    assert not any(p.field.startswith("defaults") for p in problems)


def test_mixed_int_and_string_tier_keys_load() -> None:
    loaded = parse("""\
        name: t
        models:
          - id: a
            owner: alice
            ladder:
              sla: {ack_hours: {1: 4, "2": 8}}
    """)

    assert loaded.register.models[0].ladder.sla.ack_hours == {1: 4.0, 2: 8.0}


def test_an_infinite_throughput_floor_is_refused() -> None:
    problems = problems_of(ONE_MODEL.format(setting="throughput: {min_per_hour: .inf}"))

    assert where(problems) == [(9, "models[0].thresholds.throughput.min_per_hour")]


def test_a_yaml_boolean_word_as_a_key_is_named_as_written() -> None:
    problems = problems_of(ONE_MODEL.format(setting="error_rate: {by_output_type: {no: 0.1}}"))

    assert [p.field for p in problems] == ["models[0].thresholds.error_rate.by_output_type.no"]


ROUTING = """\
name: t
people:
  alice: [model_owner]
  bob: [model_owner, on_call]
routing:
  teams:
    berlin: {{timezone: {zone}, hours: "{hours}", members: [alice, zed]}}
    paris: {{timezone: Europe/Paris, members: [alice]}}
  default_team: lisbon
  escalate_to: {{bob: carl}}
models:
  - id: a
    owner: alice
    ladder: {{sla: {{remind_after: {remind}, next_level_after: 2h}}}}
"""


def test_routing_mistakes_are_named_with_their_lines() -> None:
    problems = problems_of(ROUTING.format(zone="Europe/Berln", hours="17:00-09:00", remind="3h"))
    assert [(p.line, p.field, p.reason) for p in problems] == [
        (
            7,
            "routing.teams.berlin.hours",
            "working hours '17:00-09:00' end before they start; a shift past midnight is two "
            "teams, or 24/7 on-call ('00:00-24:00') (got '17:00-09:00')",
        ),
        (
            7,
            "routing.teams.berlin.timezone",
            "unknown timezone 'Europe/Berln'; use an IANA name such as 'Europe/Berlin' or "
            "'America/New_York' (got 'Europe/Berln')",
        ),
        (
            14,
            "models[0].ladder.sla.next_level_after",
            "next_level_after 2h must be later than remind_after 3h: the approvers are reminded "
            "before the next level hears",
        ),
    ]
    # Once the teams themselves are valid: who is in them, and who is whose manager.
    problems = problems_of(ROUTING.format(zone="Europe/Berlin", hours="09:00-17:00", remind="30m"))
    assert [(p.line, p.field, p.reason) for p in problems] == [
        (7, "routing.teams.berlin.members[1]", "'zed' is not among people (alice, bob)"),
        (8, "routing.teams.paris.members[0]", "alice is already a member of team 'berlin'"),
        (9, "routing.default_team", "no team 'lisbon' under routing.teams (teams: berlin, paris)"),
        (10, "routing.escalate_to.bob", "bob's next level 'carl' is not among people (alice, bob)"),
    ]


@pytest.mark.parametrize(
    ("setting", "field", "says"),
    [
        ("labels: {min_coverage: 1.5}", "labels.min_coverage", "1.5"),
        ("labels: {max_delay: soon}", "labels.max_delay", "is not a duration"),
        (
            "confidence: {escalation_rate: {min: 0.5, max: 0.3}}",
            "confidence.escalation_rate",
            "escalation band min 0.5 must be below its max 0.3",
        ),
        (
            "confidence: {escalation_rate: {level: page}}",
            "confidence.escalation_rate.level",
            "page",
        ),
        ("confidence: {reescalation_rate: {max: 2}}", "confidence.reescalation_rate.max", "2"),
    ],
)
def test_label_and_routing_band_settings_are_validated_with_line_and_field(
    setting: str, field: str, says: str
) -> None:
    problems = problems_of(ONE_MODEL.format(setting=setting))

    assert where(problems) == [(9, f"models[0].thresholds.{field}")]
    assert says in problems[0].reason


def test_the_label_and_band_defaults_are_on() -> None:
    t = parse(ONE_MODEL.format(setting="{}")).register.models[0].thresholds
    assert (t.labels.min_coverage, t.labels.max_delay) == (0.05, None)
    band = t.confidence.escalation_rate
    assert band is not None and (band.min, band.max, band.level) == (0.15, 0.40, "warning")
