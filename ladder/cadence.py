"""Each model's review cadence protocol, as the sign-off document states it: how often the
decision for the rung in force is reviewed, which drift and alert triggers reopen or open
decisions, which external events reopen them, and when a rung is retired (its sunset
criteria). Pure: built from the register entry and the rungs the ladder ships.

``modelhealth thresholds render`` adds :func:`protocol_markdown` to each model's section,
so the owner signs the protocol with the thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from ladder.incident import communicate_within
from ladder.review import EVENT_KINDS
from ladder.rungs import effective_rungs
from ladder.sla import TIER_NAMES
from thresholds.schema import ModelEntry, Register

__all__ = [
    "EVENT_EFFECTS",
    "EVENT_RULE",
    "ReviewProtocol",
    "protocol_markdown",
    "review_protocol",
]

#: When to record each external event.
EVENT_EFFECTS: Final[Mapping[str, str]] = {
    "foundation_model_update": "the provider updated or replaced the base model",
    "regulatory_change": "a rule about what the model may say or decide changed",
    "price_change": "the price of the model, its provider or a rung changed",
    "budget_change": "the model's ladder budget changed",
    "model_deprecation": "the base model is deprecated or scheduled for removal",
}
#: What any event does on the next nightly run (:mod:`ladder.decide`, :mod:`ladder.review`).
EVENT_RULE: Final = (
    "On the next nightly run any event reopens an open escalation under the register as it "
    "then stands (a step blocked by budget is judged again), reviews the rung in force "
    "(keep or retire it), and retires every rung whose sunset criteria name it."
)


def _number(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class ReviewProtocol:
    """One model's review cadence protocol, as sentences grouped by heading."""

    model_id: str
    frequency: list[str] = field(default_factory=list)
    drift_triggers: list[str] = field(default_factory=list)
    alert_triggers: list[str] = field(default_factory=list)
    #: (kind, when to record it, the rungs it retires)
    events: list[tuple[str, str, str]] = field(default_factory=list)
    sunset: list[tuple[str, str]] = field(default_factory=list)


def review_protocol(entry: ModelEntry, register: Register) -> ReviewProtocol:
    """The protocol the register puts in force for ``entry``."""
    del register  # the protocol reads the entry's effective settings only (for now)
    rules = entry.ladder.rules
    incident = entry.ladder.incident
    first_brief = communicate_within(incident, incident.brief_min_tier).total_seconds() / 3600
    low = max(1, min(4, 1 + entry.criticality - 2))
    high = max(1, min(4, 3 + entry.criticality - 2))
    frequency = [
        f"The rung in force is reviewed every {rules.review_every_days} days after it went "
        "into force or was last reviewed: approve to keep it, reject to retire it.",
        f"After {rules.step_down_after_days} days without a trigger, a rung that costs money "
        "every month is recommended for a step down.",
        "Every week the SLA-miss review (`modelhealth ladder sla-review --week last`) lists the "
        "clocks that ran out and suggests thresholds or windows to tighten or loosen.",
        f"An escalation of tier {incident.brief_min_tier} or above sends a stakeholder brief "
        f"(the first within {_number(first_brief)} h at tier {incident.brief_min_tier}); one "
        f"of tier {incident.review_min_tier} or above has a post-incident review within "
        f"{incident.review_within_days} days of closing.",
    ]
    drift = entry.thresholds.drift
    cal = entry.thresholds.calibration
    drift_triggers = []
    if drift.enabled:
        drift_triggers += [
            f"Data, prediction or confidence drift (`drift.features`, `drift.prediction`, "
            f"`drift.confidence`): more than {_number(drift.max_share_drifted_features)} of the "
            f"features drifted (Evidently, significance {_number(drift.p_value)}), or the "
            f"confidence distribution moved by a PSI over {_number(drift.confidence_psi_max)}. "
            "A drift breach or warning on any night reopens the cost-benefit decision for the "
            "rung in force (a review step).",
        ]
    else:
        drift_triggers.append("Data and prediction drift are not checked for this model.")
    drift_triggers.append(
        f"Calibration drift (`calibration.drift`): ECE rose by more than {_number(cal.drift_max)} "
        f"against the reference window (significance {_number(cal.drift_p_value)}); it is an "
        "alert trigger like any other."
    )
    alert_triggers = [
        "A breach — the interval of a measured value entirely beyond its limit in the "
        "thresholds above — is a trigger; a warning (point estimate only) is watched.",
        f"Triggers on {rules.persistence_k} of the last {rules.persistence_n} nights open an "
        f"escalation; tier {rules.same_night_tier} ({TIER_NAMES[rules.same_night_tier]}) or "
        "above acts the same night.",
        f"Severity for this model (criticality {entry.criticality}) runs from tier {low} "
        f"({TIER_NAMES[low]}) to tier {high} ({TIER_NAMES[high]}) by how far past the limit; "
        f"no data at all (blind) escalates at tier {max(2, entry.criticality)}.",
    ]
    if rules.co_fire:
        groups = "; ".join(" + ".join(g) for g in rules.co_fire)
        alert_triggers.append(f"These triggers count only when they fire together: {groups}.")
    rungs = effective_rungs(entry)
    events = [
        (kind, EVENT_EFFECTS[kind], ", ".join(r.id for r in rungs if kind in r.sunset_on) or "—")
        for kind in EVENT_KINDS
    ]
    sunset = []
    for rung in rungs:
        text = rung.sunset_criteria or "No sunset criteria."
        if rung.sunset_on:
            text += " Retired automatically on: " + ", ".join(rung.sunset_on) + "."
        sunset.append((rung.id, text))
    return ReviewProtocol(entry.id, frequency, drift_triggers, alert_triggers, events, sunset)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def protocol_markdown(protocol: ReviewProtocol) -> list[str]:
    """The protocol as Markdown lines under a ``### Review cadence protocol`` heading."""
    lines = ["### Review cadence protocol", "", "**Review frequency**", ""]
    lines += [f"- {line}" for line in protocol.frequency]
    lines += ["", "**Drift triggers**", ""]
    lines += [f"- {line}" for line in protocol.drift_triggers]
    lines += ["", "**Alert triggers**", ""]
    lines += [f"- {line}" for line in protocol.alert_triggers]
    lines += [
        "",
        "**External events that reopen decisions**",
        "",
        EVENT_RULE + " Record one "
        f"with `modelhealth ladder event add KIND --model {protocol.model_id}`.",
        "",
        "| Event | Record it when | Retires |",
        "|---|---|---|",
    ]
    lines += [
        f"| `{kind}` | {_cell(when)} | {_cell(retires)} |"
        for kind, when, retires in protocol.events
    ]
    lines += ["", "**Sunset criteria**", "", "| Rung | When it is retired |", "|---|---|"]
    lines += [f"| `{rung}` | {_cell(text)} |" for rung, text in protocol.sunset]
    return lines
