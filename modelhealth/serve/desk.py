"""The desk's handle on the ladder: the state store, the people pinned in it, the clock,
and the decisions it passes on to :mod:`ladder.actions` unchanged.

The people and roles the desk enforces are the ones pinned in the state store
(:mod:`ladder.pins`), never the register file it was started with: when the file
differs, the desk decides with the pinned people and identity section, and every page
says so (:attr:`Pinned.banner`) until an admin adopts the file with
``modelhealth ladder register pin``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeVar

from sqlalchemy.engine import Connection

from ladder.actions import ActionResult, acknowledge, approve, reject
from ladder.audit import Origin
from ladder.checkpoint import ProofCheckpoint, checkpoint_for
from ladder.keys import open_store
from ladder.pins import Pin, current_pin, differences
from ladder.store import LadderStore
from modelhealth.serve.settings import DeskSettings
from thresholds.schema import IdentitySettings, Register

__all__ = ["Action", "Desk", "Pinned", "pinned_register"]

T = TypeVar("T")
Action = Literal["approve", "reject", "ack"]


def pinned_register(register: Register, pin: Pin) -> Register:
    """``register`` with the people, roles and identity section of ``pin``: what every
    decision the desk passes on is checked against."""
    return register.model_copy(
        update={
            "people": {person: list(roles) for person, roles in pin.people.items()},
            "identity": IdentitySettings.model_validate(dict(pin.identity)),
        }
    )


@dataclass(frozen=True)
class Pinned:
    """The register as the desk enforces it, and how the file differs from the pin."""

    register: Register
    pin: Pin | None
    differences: tuple[str, ...] = ()

    @property
    def banner(self) -> str | None:
        """What every page says while the register file differs from the pin."""
        if self.pin is None:
            return (
                "no people are pinned in this state store yet: the first nightly check "
                "(or `modelhealth ladder register pin`) pins them; until then nobody can "
                "sign in"
            )
        if not self.differences:
            return None
        return (
            f"the register file differs from the people pinned in the state store "
            f"({self.pin.describe()}): {'; '.join(self.differences)}. The desk enforces "
            "the pinned version until an admin adopts the file with `modelhealth ladder "
            "register pin`."
        )


class Desk:
    """One desk over one state store (thread-safe: every call opens its own transaction)."""

    def __init__(self, settings: DeskSettings, register: Register) -> None:
        self.settings = settings
        self.file_register = register
        self.store: LadderStore = open_store(settings.state_url, register)
        self.checkpoint: ProofCheckpoint = checkpoint_for(self.store)

    def now(self) -> datetime:
        """The desk's clock."""
        return self.settings.clock()

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()

    # ------------------------------------------------------------------ reads

    def pinned(self, conn: Connection) -> Pinned:
        """The register in force, read in the caller's transaction."""
        pin = current_pin(conn)
        if pin is None:
            return Pinned(self.file_register, None)
        return Pinned(
            pinned_register(self.file_register, pin),
            pin,
            tuple(differences(pin, self.file_register)),
        )

    def read(self, work: Callable[[Connection, Pinned], T]) -> T:
        """Run ``work`` in one read snapshot, with the register in force."""
        return self.store.read(lambda conn: work(conn, self.pinned(conn)))

    # -------------------------------------------------------------- decisions

    def decide(
        self, action: Action, ref: str, *, person: str, origin: Origin, reason: str = ""
    ) -> ActionResult:
        """Pass one decision to the ladder, as ``person`` (authenticated by the caller)
        from ``origin``: the same functions, checks and audit rows as the CLI.

        Raises
        ------
        ladder.errors.LadderError
            ``Refused`` (role, separation of duties, budget, state …), ``NotFound``,
            ``Tampered``: the desk's one error handler turns them into responses.
        """
        register = self.store.read(lambda conn: self.pinned(conn).register)
        now = self.now()
        if action == "approve":
            return approve(
                self.store,
                ref,
                person=person,
                register=register,
                now=now,
                reason=reason,
                origin=origin,
            )
        if action == "reject":
            return reject(
                self.store,
                ref,
                person=person,
                register=register,
                now=now,
                reason=reason,
                origin=origin,
            )
        return acknowledge(
            self.store, ref, person=person, register=register, now=now, origin=origin, reason=reason
        )
