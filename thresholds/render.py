"""Render a loaded register for people and for machines.

* :func:`render_markdown` — the *performance threshold register* a model owner reads
  and signs: every effective threshold of every model, who may approve ladder steps,
  what the ladder may do and cost, and a sign-off block.
* :func:`render_json` — the same effective settings as JSON, for diffing and tooling.
* :func:`effective_thresholds_table` — the one list of threshold settings, shared by
  the Markdown document and ``modelhealth thresholds show``.
* :func:`register_json_schema` — the JSON Schema editors validate register files with.

Every function here is pure and deterministic: the same register renders to the same
bytes (the date appears only when the caller passes one).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import Any

from thresholds.loader import LoadedRegister, RegisterDocument
from thresholds.schema import (
    TIER_NAMES,
    ModelEntry,
    Register,
    RungSettings,
    describe_hours,
    parse_duration,
)
from thresholds.vocabulary import RUNGS

__all__ = [
    "ModelAppendix",
    "effective_thresholds_table",
    "register_json_schema",
    "render_json",
    "render_markdown",
]

#: JSON Schema dialect pydantic v2 generates.
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_SIGNATURE_BLANK = "_" * 24
_NEWLINES = re.compile(r"\r\n|\r|\n")


# ------------------------------------------------------------------- formatting


def _number(value: float) -> str:
    """A limit as a person would write it: ``1200`` not ``1200.0``, ``0.03`` not ``3e-02``."""
    if not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("∞" if value > 0 else "-∞")
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return format(value, ".10g")


def _money(amount: float, currency: str) -> str:
    if not math.isfinite(amount):
        return f"{_number(amount)} {currency}"
    whole = f"{amount:,.0f}" if float(amount).is_integer() else f"{amount:,.2f}"
    return f"{whole} {currency}"


def _text(text: str) -> str:
    """One line of user text in running Markdown: taken literally, never as a table
    delimiter or an HTML tag. Backslashes are doubled first so added escapes hold."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "\\<")


def _cell(text: str) -> str:
    """A user string made safe for one Markdown table cell: a pipe would end the
    cell and a newline the row, so pipes are escaped and newlines become ``<br>``."""
    return _NEWLINES.sub("<br>", _text(text))


def _inline(text: str) -> str:
    """A user string on one line of running text (headings, bullets)."""
    return " ".join(_NEWLINES.split(text)).strip()


def _code(text: str) -> str:
    """``text`` as an inline code span, with a fence longer than any backtick run in it."""
    text = _inline(text)
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """Markdown table lines; every cell is escaped here, so callers pass plain text."""
    lines = [
        "| " + " | ".join(_cell(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


# -------------------------------------------------------------- settings table


def effective_thresholds_table(entry: ModelEntry) -> list[tuple[str, str, str]]:
    """Every threshold ``entry`` is judged against, as ``(setting, value, unit)`` rows.

    The values are the *effective* ones, after the register's defaults were inherited.
    Ceilings read ``≤ x``, floors ``≥ x``; a limit that is switched off reads
    ``not checked``. Shares are fractions in [0, 1], latencies milliseconds.

    Parameters
    ----------
    entry : ModelEntry
        A model of a loaded register.

    Returns
    -------
    list of tuple of (str, str, str)
        Rows in a fixed order: quality, error rate (overall, then per output type in
        name order), latency p50/p95/p99, throughput, confidence, calibration, drift,
        sample and interval settings.
    """
    t = entry.thresholds
    rows: list[tuple[str, str, str]] = []

    if t.quality is None:
        rows.append(("Quality floor", "not checked", ""))
    elif t.quality.metric == "accuracy":
        rows.append(
            (
                "Quality floor (accuracy)",
                f"≥ {_number(t.quality.min)}",
                "share of labeled rows correct",
            )
        )
    else:
        rows.append(
            ("Quality floor (mean quality score)", f"≥ {_number(t.quality.min)}", "mean score, 0–1")
        )
    if t.quality is not None:
        rows.append(
            (
                "Label coverage minimum (below it quality is blind)",
                f"≥ {_number(t.labels.min_coverage)}",
                "share of rows labeled",
            )
        )
        rows.append(
            (
                "Labels may arrive late by",
                t.labels.max_delay or "not at all",
                "after the night ends",
            )
        )

    rows.append(
        (
            "Error-rate ceiling, overall",
            f"≤ {_number(t.error_rate.max)}",
            "share of rows with an error",
        )
    )
    for output_type in sorted(t.error_rate.by_output_type):
        ceiling = t.error_rate.by_output_type[output_type]
        rows.append(
            (
                f"Error-rate ceiling, output type {output_type}",
                f"≤ {_number(ceiling)}",
                "share of rows of that type with an error",
            )
        )

    for name in ("p50", "p95", "p99"):
        limit = getattr(t.latency_ms, name)
        value = "not checked" if limit is None else f"≤ {_number(limit)}"
        rows.append((f"Latency {name}", value, "ms"))

    if t.throughput is None:
        rows.append(("Throughput floor", "not checked", "predictions per hour"))
    else:
        rows.append(
            ("Throughput floor", f"≥ {_number(t.throughput.min_per_hour)}", "predictions per hour")
        )

    conf = t.confidence
    rows.append(("Confidence minimum", _number(conf.min), "confidence, 0–1"))
    rows.append(
        (
            "Share of rows below the confidence minimum",
            "not checked" if conf.max_share_below is None else f"≤ {_number(conf.max_share_below)}",
            "share of rows",
        )
    )
    rows.append(
        ("Confidence band: served automatically", f"≥ {_number(conf.auto)}", "confidence, 0–1")
    )
    rows.append(
        (
            "Confidence band: human review",
            f"{_number(conf.review)} to < {_number(conf.auto)}",
            "confidence, 0–1",
        )
    )
    rows.append(("Confidence band: general queue", f"< {_number(conf.review)}", "confidence, 0–1"))
    band = conf.escalation_rate
    rows.append(
        (
            "Escalation rate (rows below the auto band)",
            "not checked"
            if band is None
            else f"{_number(band.min)} to {_number(band.max)} ({band.level} outside)",
            "share of rows",
        )
    )
    again = conf.reescalation_rate
    rows.append(
        (
            "Re-escalation rate (logs' followup marker)",
            "not checked" if again is None else f"≤ {_number(again.max)} ({again.level} above)",
            "share of rows",
        )
    )

    cal = t.calibration
    rows.append(
        (
            "Calibration: ECE ceiling",
            f"≤ {_number(cal.ece_max)}",
            "top-label ECE, 15 equal-width bins",
        )
    )
    rows.append(
        (
            "Calibration drift: ECE rise ceiling",
            f"≤ {_number(cal.drift_max)}",
            "ECE increase over the reference window",
        )
    )
    rows.append(("Calibration drift: significance level", _number(cal.drift_p_value), "p-value"))

    drift = t.drift
    if not drift.enabled:
        rows.append(("Data and prediction drift", "not checked", ""))
    else:
        rows.append(("Drift: significance level", _number(drift.p_value), "p-value"))
        share = drift.max_share_drifted_features
        rows.append(
            ("Drift: share of drifted features", f"≤ {_number(share)}", "share of features")
        )
        rows.append(
            ("Drift: confidence distribution PSI", f"≤ {_number(drift.confidence_psi_max)}", "PSI")
        )
        rows.append(("Drift: sample size", _number(drift.sample_size), "rows per window"))

    rows.append(("Minimum samples", f"≥ {t.min_samples}", "rows per window"))
    rows.append(("Confidence level of intervals", _number(t.confidence_level), "two-sided"))
    return rows


# -------------------------------------------------------------------- markdown


def _holders(register: Register, role: str) -> str:
    people = sorted(person for person, roles in register.people.items() if role in roles)
    return ", ".join(people) if people else "nobody"


def _rungs_in_ladder_order(entry: ModelEntry) -> list[tuple[str, RungSettings]]:
    return sorted(entry.ladder.rungs.items(), key=lambda item: RUNGS.index(item[0]))


def _approval_rows(register: Register, entry: ModelEntry) -> list[tuple[str, str, str]]:
    rows = [
        (role, "every ladder step that needs approval", _holders(register, role))
        for role in entry.approver_roles
    ]
    for rung, settings in _rungs_in_ladder_order(entry):
        if settings.approval is None or not settings.approval.roles:
            continue
        rows += [
            (role, f"rung {rung}", _holders(register, role)) for role in settings.approval.roles
        ]
    return rows


def _rung_override_rows(entry: ModelEntry) -> list[tuple[str, ...]]:
    def money(value: float | None) -> str:
        return "default" if value is None else _money(value, entry.ladder.budget.currency)

    rows: list[tuple[str, ...]] = []
    for rung, s in _rungs_in_ladder_order(entry):
        approval = "default"
        if s.approval is not None and s.approval.min_approvals is not None:
            approval = f"{s.approval.min_approvals} approval(s)"
        rows.append(
            (
                rung,
                money(s.cost_one_off),
                money(s.cost_monthly),
                money(s.cost_ceiling),
                "default" if s.time_days is None else _number(s.time_days),
                "default" if s.evaluation_days is None else str(s.evaluation_days),
                approval,
            )
        )
    return rows


#: Lines a caller adds to each model's section, before its sign-off (the ladder's review
#: cadence protocol: this package cannot import the ladder).
ModelAppendix = Callable[[ModelEntry], Sequence[str]]


#: What each tier's windows mean, in the words of seed 000 where it names them.
_WINDOW_MEANING = {
    2: ("a mitigation plan communicated", "resolved"),
}


def _duration(text: str) -> str:
    return describe_hours(parse_duration(text).total_seconds() / 3600)


def _window_rows(entry: ModelEntry) -> list[tuple[str, str, str]]:
    sla = entry.ladder.sla
    rows = []
    for tier in (1, 2, 3, 4):
        ack, decide = describe_hours(sla.ack_within(tier)), describe_hours(sla.decide_within(tier))
        meaning = _WINDOW_MEANING.get(tier)
        if meaning is not None:
            ack, decide = f"{ack} ({meaning[0]})", f"{decide} ({meaning[1]})"
        rows.append((f"{tier} {TIER_NAMES[tier]}", ack, decide))
    return rows


def _model_section(
    register: Register, entry: ModelEntry, version: str, appendix: ModelAppendix | None = None
) -> list[str]:
    roles = sorted(register.roles_of(entry.owner))
    owner = entry.owner + (f" (roles: {', '.join(roles)})" if roles else "")
    windows = entry.windows
    about: list[tuple[str, str]] = [
        ("Owner", owner),
        ("Criticality", f"{entry.criticality} of 4"),
        ("Description", entry.description.strip() or "none given"),
        (
            "Windows",
            f"current {windows.current}, reference {windows.reference} "
            "(just before the current window)",
        ),
        ("Output types", ", ".join(entry.output_types) or "not declared"),
    ]
    if entry.mlflow_registered_model:
        about.append(("MLflow registered model", entry.mlflow_registered_model))
    lines = [f"## Model {_code(entry.id)}", ""]
    lines += _table(("Model", entry.id), about)

    lines += ["", "### Thresholds", ""]
    lines += _table(("Setting", "Limit", "Unit"), effective_thresholds_table(entry))

    lines += ["", "### Approvers", ""]
    lines += _table(("Role", "Needed for", "Held by"), _approval_rows(register, entry))

    ladder = entry.ladder
    allowed = [r for r in RUNGS if r in ladder.allowed_rungs]
    excluded = [r for r in RUNGS if r not in ladder.allowed_rungs]
    rules = ladder.rules
    budget = ladder.budget
    lines += [
        "",
        "### Escalation ladder",
        "",
        "- **Allowed rungs:** " + (", ".join(allowed) if allowed else "none"),
        "- **Excluded rungs:** " + (", ".join(excluded) if excluded else "none"),
        f"- **Budget:** {_money(budget.amount, budget.currency)} per {budget.period}",
        f"- **Persistence:** a breach on {rules.persistence_k} of {rules.persistence_n} "
        f"nights triggers a step; tier {rules.same_night_tier} or above acts the same night",
    ]
    overrides = _rung_override_rows(entry)
    if overrides:
        lines += [""]
        lines += _table(
            (
                "Rung",
                "One-off cost",
                "Monthly cost",
                "Cost ceiling",
                "Time (days)",
                "Evaluation (days)",
                "Approvals",
            ),
            overrides,
        )

    lines += ["", "### Response windows", ""]
    lines += _table(
        ("Tier", "Acknowledge within", "Decide within"),
        _window_rows(entry),
    )
    sla = ladder.sla
    lines += [
        "",
        f"- **Reminders:** a step nobody acknowledged is re-notified after "
        f"{_duration(sla.remind_after)} and goes to the next level (the approver's manager, "
        f"else the rung's `escalate_to` roles, else the on-call role) after "
        f"{_duration(sla.next_level_after)}; tier 4 notifies everyone at once, and tier 3 "
        "and 4 always page the on-call role. Requests that arrive outside a team's working "
        "hours go to a delegate or the on-call role too; for tier 1 and 2 the reminders count "
        "working hours.",
    ]
    if appendix is not None:
        lines += ["", *appendix(entry)]

    lines += [
        "",
        "### Sign-off",
        "",
        f"I accept these thresholds and ladder settings for {_code(entry.id)} "
        f"as of register version `{version}`.",
        "",
        *_table(
            ("", ""),
            [
                ("Owner", entry.owner),
                ("Date", _SIGNATURE_BLANK),
                ("Signature", _SIGNATURE_BLANK),
            ],
        ),
    ]
    return lines


def render_markdown(
    loaded: LoadedRegister,
    *,
    generated_on: date | None = None,
    appendix: ModelAppendix | None = None,
) -> str:
    """The performance threshold register as a Markdown document for sign-off.

    Parameters
    ----------
    loaded : LoadedRegister
        A validated register.
    generated_on : date, optional
        Printed under the title when given. Left out by default so the same register
        always renders to the same text (and the rendered file can be diffed).
    appendix : callable, optional
        Markdown lines added to each model's section before its sign-off block;
        ``modelhealth thresholds render`` adds the review cadence protocol
        (:func:`ladder.cadence.protocol_markdown`).

    Returns
    -------
    str
        GitHub-flavoured Markdown ending in a newline. User strings in tables have
        pipes and newlines escaped.
    """
    register = loaded.register
    lines = [
        f"# Performance threshold register: {_text(_inline(register.name))}",
        "",
        f"- **Register version:** `{loaded.version}`",
    ]
    if generated_on is not None:
        lines.append(f"- **Generated on:** {generated_on.isoformat()}")
    lines.append(f"- **Models:** {len(register.models)}")
    description = register.description.strip()
    if description:
        lines += ["", *(f"> {_text(line)}" for line in _NEWLINES.split(description))]
    lines += [
        "",
        "Limits below are the effective ones: each model's own settings over the register's "
        "defaults. Ceilings (≤) are breached when the interval of the measured value lies "
        "above them, floors (≥) when it lies below.",
    ]
    lines += _routing_section(register)
    for entry in register.models:
        lines += ["", *_model_section(register, entry, loaded.version, appendix)]
    return "\n".join(lines) + "\n"


def _routing_section(register: Register) -> list[str]:
    """Teams and their working hours, managers and the on-call role (when routed)."""
    routing = register.routing
    if not routing.teams and not routing.escalate_to:
        return []
    on_call = sorted(p for p, roles in register.people.items() if routing.on_call_role in roles)
    lines = ["", "## Routing", ""]
    if routing.teams:
        lines += _table(
            ("Team", "Timezone", "Working days", "Hours", "Holidays", "Members"),
            [
                (
                    name + (" (default)" if name == routing.default_team else ""),
                    team.timezone,
                    ", ".join(team.working_days),
                    team.hours,
                    ", ".join(d.isoformat() for d in team.holidays) or "none",
                    ", ".join(team.members) or "—",
                )
                for name, team in routing.teams.items()
            ],
        )
        lines.append("")
    managers = ", ".join(f"{p} → {m}" for p, m in sorted(routing.escalate_to.items()))
    lines += [
        f"- **Next level:** {managers or 'no manager named: the escalate_to roles'}",
        f"- **On call ({_code(routing.on_call_role)}):** {', '.join(on_call) or 'nobody'}",
    ]
    return lines


# ------------------------------------------------------------------------ JSON


def render_json(loaded: LoadedRegister) -> str:
    """The register's effective settings as JSON: ``{name, version, models}``.

    Each model is its full effective entry (defaults inherited), keys sorted, two-space
    indent, ending in a newline. The output is strict JSON: an infinite limit is
    written as the string ``"Infinity"``, which :class:`ModelEntry` validates back.
    """
    payload: dict[str, Any] = {
        "name": loaded.register.name,
        "version": loaded.version,
        "models": [_strict_json(entry.model_dump(mode="json")) for entry in loaded.register.models],
    }
    return json.dumps(payload, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _strict_json(value: Any) -> Any:
    """``value`` with non-finite floats as the strings pydantic reads back
    (``"Infinity"``, ``"-Infinity"``, ``"NaN"``): bare ``Infinity`` is not JSON, and
    a register may say ``.inf`` (an unlimited budget, say)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _strict_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_strict_json(item) for item in value]
    return value


def register_json_schema() -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a register file as written, defaults included."""
    schema = RegisterDocument.model_json_schema()
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        **schema,
        "title": "modelhealth threshold register",
    }
