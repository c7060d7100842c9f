"""The desk's documents: a model's page, the audit log verified on the page, the ladder
diagram, the response matrix and the ladder's statistics, as view models.

As in :mod:`modelhealth.serve.views`, every figure comes from a ladder function
(:func:`ladder.proof.prove`, :func:`ladder.diagram.ladder_mermaid`,
:func:`ladder.matrix.effective_matrix`, :func:`ladder.stats.compute_stats`); nothing is
decided here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.engine import Connection

from ladder import audit
from ladder.diagram import ModelMark, ladder_mermaid, models_on_rung, rung_approvers, rung_cost
from ladder.incident_store import incident_facts
from ladder.keys import head_anchors
from ladder.matrix import MatrixEntry, effective_matrix
from ladder.proof import ProofVerdict
from ladder.rungs import Rung, default_ladder, effective_rungs
from ladder.standing import model_mark
from ladder.state import Escalation, Night
from ladder.stats import LadderStats, compute_stats
from ladder.store import (
    LadderStore,
    NightRecord,
    list_escalations,
    load_state,
    model_ids,
    night_record,
)
from modelhealth.serve.desk import Pinned
from modelhealth.serve.views import TrendPanel, trend_panels
from thresholds.schema import ModelEntry

__all__ = [
    "AuditPage",
    "LadderPage",
    "MatrixPage",
    "ModelPage",
    "RungRow",
    "StatsPage",
    "audit_page",
    "known_models",
    "ladder_page",
    "matrix_page",
    "model_page",
    "stats_page",
]


def known_models(conn: Connection, pinned: Pinned) -> list[str]:
    """The register's models, then any the store knows that the register no longer lists."""
    listed = [m.id for m in pinned.register.models]
    return listed + [m for m in model_ids(conn) if m not in listed]


def _entry(pinned: Pinned, model_id: str) -> ModelEntry | None:
    try:
        return pinned.register.model(model_id)
    except KeyError:
        return None


# --------------------------------------------------------------------- model


@dataclass(frozen=True)
class NightRow:
    """One recorded night of a model and the decision taken on it."""

    night: Night
    record: NightRecord | None


@dataclass(frozen=True)
class ModelPage:
    """A model's place on the ladder, its nights and its escalations."""

    model_id: str
    entry: ModelEntry | None
    mark: ModelMark
    nights: list[NightRow]
    escalations: list[Escalation]
    panels: list[TrendPanel]


def model_page(conn: Connection, pinned: Pinned, model_id: str, today: date) -> ModelPage | None:
    """``None`` when neither the register nor the store knows ``model_id``."""
    if model_id not in known_models(conn, pinned):
        return None
    state = load_state(conn, model_id)
    rows = [NightRow(n, night_record(conn, model_id, n.night)) for n in reversed(state.nights)]
    last = state.nights[-1].night if state.nights else today
    entry = _entry(pinned, model_id)
    return ModelPage(
        model_id=model_id,
        entry=entry,
        mark=model_mark(conn, model_id),
        nights=rows[:60],
        escalations=list(reversed(list_escalations(conn, model_id=model_id))),
        panels=trend_panels(conn, model_id, entry, until=last, days=60),
    )


# --------------------------------------------------------------------- audit


@dataclass(frozen=True)
class AuditPage:
    """The audit log, newest first, and the verdict of a full proof taken on the page."""

    verdict: ProofVerdict
    entries: list[audit.AuditEntry]
    shown: int
    total: int


def audit_page(store: LadderStore, verdict: ProofVerdict, *, limit: int) -> AuditPage:
    """The newest ``limit`` rows; ``verdict`` is the proof the caller just ran."""
    rows = store.read(lambda c: audit.entries(c, limit=limit))
    return AuditPage(verdict, list(reversed(rows)), len(rows), verdict.chain.rows)


def anchors_of(store: LadderStore) -> int:
    """How many anchors the head file holds (shown next to the verdict)."""
    return len(head_anchors(store))


# ---------------------------------------------------------- ladder, matrix


@dataclass(frozen=True)
class RungRow:
    """One rung as the ladder document lists it."""

    index: int
    rung: Rung
    cost: str
    approvers: str
    models: list[str]


@dataclass(frozen=True)
class LadderPage:
    """The ladder as a Mermaid document and as a table."""

    title: str
    model_id: str | None
    mermaid: str
    rows: list[RungRow]
    models: list[str]


def ladder_page(conn: Connection, pinned: Pinned, model_id: str | None) -> LadderPage:
    """The shipped ladder with every model marked, or one model's rungs and costs."""
    register = pinned.register
    people = {p: list(r) for p, r in register.people.items()}
    entry = _entry(pinned, model_id) if model_id else None
    if entry is not None:
        rungs = effective_rungs(entry)
        currency = entry.ladder.budget.currency
        title = f"Escalation ladder — {entry.id}"
    else:
        rungs = default_ladder()
        currency = register.models[0].ladder.budget.currency if register.models else "USD"
        title = f"Escalation ladder — {register.name} (shipped defaults)"
    models = known_models(conn, pinned)
    marks = [model_mark(conn, m) for m in models if entry is None or m == entry.id]
    rows = [
        RungRow(
            i,
            rung,
            rung_cost(rung, currency),
            rung_approvers(rung, people),
            models_on_rung(rung.id, marks),
        )
        for i, rung in enumerate(rungs, start=1)
    ]
    return LadderPage(
        title=title,
        model_id=entry.id if entry is not None else None,
        mermaid=ladder_mermaid(rungs, marks, people=people, currency=currency, title=title),
        rows=rows,
        models=models,
    )


@dataclass(frozen=True)
class MatrixPage:
    """The failure-mode response matrix in force (for one model, with its overrides)."""

    title: str
    model_id: str | None
    rows: list[MatrixEntry]
    models: list[str]


def matrix_page(pinned: Pinned, model_id: str | None) -> MatrixPage:
    entry = _entry(pinned, model_id) if model_id else None
    rows = effective_matrix(entry, pinned.register)
    title = "Failure-mode response matrix" + (f" — {entry.id}" if entry else "")
    return MatrixPage(
        title,
        entry.id if entry else None,
        list(rows.values()),
        [m.id for m in pinned.register.models],
    )


# --------------------------------------------------------------------- stats


@dataclass(frozen=True)
class StatsPage:
    """The ladder's statistics since a date (or ever)."""

    stats: LadderStats
    since: datetime | None
    model_id: str | None
    models: list[str]


def stats_page(
    conn: Connection,
    pinned: Pinned,
    model_id: str | None,
    since: datetime | None,
    *,
    now: datetime,
) -> StatsPage:
    """The statistics ``ladder stats`` prints, with the SLA clocks judged at ``now``."""
    escalations = list_escalations(conn, model_id=model_id)
    facts = incident_facts(conn, model_id=model_id)
    return StatsPage(
        compute_stats(escalations, since=since, facts=facts, now=now),
        since,
        model_id,
        known_models(conn, pinned),
    )
