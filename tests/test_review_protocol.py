"""Each model's review cadence protocol in the rendered register (seed 003's fourth
artifact): review frequency, drift and alert triggers, the events that reopen decisions
and the sunset criteria, taken from the model's effective settings."""

from __future__ import annotations

import textwrap
from pathlib import Path

from test_register_render import section, tables
from typer.testing import CliRunner

from ladder.cadence import protocol_markdown, review_protocol
from modelhealth.cli.app import app
from thresholds import parse_register

REGISTER = textwrap.dedent("""\
    name: cadence
    people:
      alice: [model_owner, ml_lead]
      bob: [model_owner]
    defaults:
      ladder:
        rules: {persistence_k: 2, persistence_n: 3, same_night_tier: 3}
    models:
      - id: support-assistant
        owner: alice
        criticality: 3
        ladder:
          rules: {review_every_days: 30, step_down_after_days: 45,
                  co_fire: [[drift.features, quality]]}
          incident: {brief_min_tier: 3, communicate_hours: {3: 2}, review_within_days: 5}
      - id: churn-classifier
        owner: bob
        criticality: 1
        thresholds:
          drift: {enabled: false}
          calibration: {drift_max: 0.03}
        ladder:
          allowed_rungs: [prompt_optimization, hybrid_routing]
""")


def test_the_protocol_states_the_models_own_settings() -> None:
    loaded = parse_register(REGISTER, source="register.yaml")
    entry = loaded.register.model("support-assistant")

    protocol = review_protocol(entry, loaded.register)

    assert protocol.frequency[0].startswith("The rung in force is reviewed every 30 days")
    assert protocol.frequency[1].startswith("After 45 days without a trigger")
    assert protocol.frequency[3] == (
        "An escalation of tier 3 or above sends a stakeholder brief (the first within 2 h at "
        "tier 3); one of tier 3 or above has a post-incident review within 5 days of closing."
    )
    assert "more than 0.5 of the features drifted" in protocol.drift_triggers[0]
    # criticality 3: magnitude 1..3 gives tiers 2..4; blind escalates at tier 3
    assert protocol.alert_triggers[2] == (
        "Severity for this model (criticality 3) runs from tier 2 (delivery risk) to tier 4 "
        "(critical) by how far past the limit; no data at all (blind) escalates at tier 3."
    )
    assert protocol.alert_triggers[3] == (
        "These triggers count only when they fire together: drift.features + quality."
    )
    assert [kind for kind, _, _ in protocol.events] == [
        "foundation_model_update",
        "regulatory_change",
        "price_change",
        "budget_change",
        "model_deprecation",
    ]
    assert dict((k, r) for k, _, r in protocol.events)["model_deprecation"] == "fine_tuning"
    assert len(protocol.sunset) == 6


def test_a_model_without_drift_checks_or_fine_tuning_says_so() -> None:
    loaded = parse_register(REGISTER, source="register.yaml")
    protocol = review_protocol(loaded.register.model("churn-classifier"), loaded.register)

    assert protocol.drift_triggers[0] == "Data and prediction drift are not checked for this model."
    assert protocol.drift_triggers[1].startswith(
        "Calibration drift (`calibration.drift`): ECE rose by more than 0.03"
    )
    assert "runs from tier 1 (operational) to tier 2 (delivery risk)" in protocol.alert_triggers[2]
    assert dict((k, r) for k, _, r in protocol.events)["model_deprecation"] == "—"
    assert [rung for rung, _ in protocol.sunset] == ["prompt_optimization", "hybrid_routing"]
    lines = protocol_markdown(protocol)
    assert lines[0] == "### Review cadence protocol"


def test_thresholds_render_puts_the_protocol_in_every_model_before_its_sign_off(
    tmp_path: Path,
) -> None:
    path = tmp_path / "register.yaml"
    path.write_text(REGISTER, encoding="utf-8")

    result = CliRunner().invoke(app, ["thresholds", "render", str(path)])

    assert result.exit_code == 0, result.output
    for model in ("support-assistant", "churn-classifier"):
        part = section(result.output, model)
        assert part.index("### Review cadence protocol") < part.index("### Sign-off")
        for heading in (
            "**Review frequency**",
            "**Drift triggers**",
            "**Alert triggers**",
            "**External events that reopen decisions**",
            "**Sunset criteria**",
        ):
            assert heading in part
    assert "`modelhealth ladder event add KIND --model churn-classifier`" in result.output
    for table in tables(result.output):
        assert all(len(row) == len(table[0]) for row in table), table
