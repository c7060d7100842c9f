"""The policy in force for one model: everything a ladder decision depends on.

A :class:`Policy` is built from the model's register entry (rungs, response matrix,
budget, rules, SLA clocks) and the register's people. When an escalation opens, the
policy is **snapshotted** into the store as JSON and every later decision about that
escalation uses the snapshot, so editing the register does not change a decision
that is already open. Only an external event (``modelhealth ladder event add``)
reopens the cost-benefit decision and re-takes the snapshot.

One deliberate exception: *who holds which role* is always read from the current
register (:meth:`Policy.with_people`). Requirements are frozen; membership is live,
so revoking someone's role takes effect immediately, even on open items.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final

from pydantic import BaseModel, ConfigDict

from ladder.matrix import MatrixEntry, effective_matrix
from ladder.rungs import Rung, effective_rungs
from ladder.sla import SlaClocks, sla_clocks
from thresholds.schema import Budget, IncidentSettings, ModelEntry, Register, RuleSettings

__all__ = ["PERIOD_MONTHS", "Policy", "build_policy"]

PERIOD_MONTHS: Final[Mapping[str, int]] = {"month": 1, "quarter": 3, "year": 12}


class Policy(BaseModel):
    """The rules, rungs, money and people a model's ladder decisions are taken under."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_id: str
    owner: str
    criticality: int
    taken_at: datetime
    register_name: str = ""
    register_version: str | None = None
    rungs: tuple[Rung, ...]
    matrix: dict[str, MatrixEntry]
    budget: Budget
    rules: RuleSettings
    sla: SlaClocks
    people: dict[str, tuple[str, ...]]
    #: Briefs, post-incident reviews, repeats. Snapshots taken before it existed get the
    #: defaults.
    incident: IncidentSettings = IncidentSettings()

    # ----------------------------------------------------------------- rungs

    def rung(self, rung_id: str) -> Rung | None:
        """The rung if this model may use it, else ``None``."""
        for rung in self.rungs:
            if rung.id == rung_id:
                return rung
        return None

    @property
    def budget_months(self) -> int:
        """Length of the budget period in months."""
        return PERIOD_MONTHS[self.budget.period]

    # ---------------------------------------------------------------- people

    def roles_of(self, person: str) -> frozenset[str]:
        """Roles ``person`` holds (empty when the register does not know them)."""
        return frozenset(self.people.get(person, ()))

    def holders(self, roles: Iterable[str]) -> tuple[str, ...]:
        """People holding any of ``roles``, sorted by name."""
        wanted = set(roles)
        return tuple(sorted(p for p, held in self.people.items() if wanted & set(held)))

    def escalation_chain(self, rung: Rung) -> tuple[str, ...]:
        """Who an overdue decision on ``rung`` is escalated to: holders of its
        ``escalate_to`` roles, else the model owner, so an escalation always reaches someone."""
        chain = self.holders(rung.approval.escalate_to)
        return chain or (self.owner,)

    def with_people(self, people: Mapping[str, Iterable[str]]) -> Policy:
        """This policy with role membership replaced by ``people`` (the live register)."""
        return self.model_copy(update={"people": {p: tuple(r) for p, r in people.items()}})

    # ------------------------------------------------------------ snapshots

    def to_json(self) -> str:
        """The snapshot stored with an escalation."""
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> Policy:
        """A snapshot read back from the store."""
        return cls.model_validate_json(text)


def build_policy(
    entry: ModelEntry,
    register: Register,
    *,
    now: datetime,
    register_version: str | None = None,
) -> Policy:
    """The policy the register puts in force for ``entry`` at ``now``."""
    return Policy(
        model_id=entry.id,
        owner=entry.owner,
        criticality=entry.criticality,
        taken_at=now,
        register_name=register.name,
        register_version=register_version,
        rungs=effective_rungs(entry),
        matrix=effective_matrix(entry, register),
        budget=entry.ladder.budget,
        rules=entry.ladder.rules,
        sla=sla_clocks(entry.ladder.sla),
        people={person: tuple(roles) for person, roles in register.people.items()},
        incident=entry.ladder.incident,
    )
