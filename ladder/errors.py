"""Errors raised by the escalation ladder.

Hierarchy::

    LadderError              something the ladder could not do
    ├── NotFound             an escalation, step or event id that does not exist
    ├── Refused              a person or a guardrail said no: role missing, separation of
    │                        duties, counted twice, budget, `--as` not allowed, wrong state
    │                        (including "already approved" for the loser of a race)
    └── StoreError           the state store is unusable (schema, locked past all retries)

The command line maps every :class:`LadderError` to exit code 2 with its message:
these are expected outcomes of asking, never crashes.
"""

from __future__ import annotations

__all__ = ["LadderError", "NotFound", "Refused", "StoreError"]


class LadderError(Exception):
    """Base class of every error the ladder raises on purpose."""


class NotFound(LadderError):
    """The id names nothing in the state store."""


class Refused(LadderError):
    """The action is not allowed; the message says who or what refused and why."""


class StoreError(LadderError):
    """The state store cannot be used (unreachable, locked past every retry, wrong schema)."""
