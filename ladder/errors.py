"""Errors raised by the escalation ladder.

Hierarchy::

    LadderError              something the ladder could not do
    ├── NotFound             an escalation, step, event or token id that does not exist
    ├── Refused              a person or a guardrail said no: role missing, separation of
    │                        duties, counted twice, budget, `--as` not allowed, wrong state
    │                        (including "already approved" for the loser of a race), a
    │                        register whose people/roles/identity differ from the pinned ones
    ├── Tampered             the audit log does not prove the state (edited, truncated or
    │                        changed behind its back): nothing is decided on such a store
    └── StoreError           the state store is unusable (schema, locked past all retries,
                             audit key missing)

The command line maps :class:`Tampered` to exit code 4 and every other
:class:`LadderError` to exit code 2 with its message: these are expected outcomes of
asking, never crashes.
"""

from __future__ import annotations

__all__ = ["LadderError", "NotFound", "Refused", "StoreError", "Tampered"]


class LadderError(Exception):
    """Base class of every error the ladder raises on purpose."""


class NotFound(LadderError):
    """The id names nothing in the state store."""


class Refused(LadderError):
    """The action is not allowed; the message says who or what refused and why."""


class Tampered(LadderError):
    """The audit log does not prove the state; the message says what differs and how to
    investigate."""


class StoreError(LadderError):
    """The state store cannot be used (unreachable, locked past every retry, wrong schema)."""
