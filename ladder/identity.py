"""Who is acting: the identity an approval, rejection or event is recorded under.

By default the operating-system user (``getpass.getuser()``); a register may name an
environment variable instead (``identity.source: env``), e.g. set by a CI system or an
SSO wrapper. ``--as USER`` is honoured only when the register says ``identity.allow_as:
true`` (demos, tests, shared service accounts); otherwise it is refused, and the caller
records the refusal in the audit log.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping

from ladder.errors import Refused
from thresholds.schema import Register

__all__ = ["current_user", "resolve_actor"]


def current_user(register: Register, *, environ: Mapping[str, str] | None = None) -> str:
    """The identity the register's ``identity.source`` yields, without ``--as``.

    Raises
    ------
    Refused
        When the source is ``env`` and the variable is unset or empty.
    """
    settings = register.identity
    if settings.source == "env":
        env = os.environ if environ is None else environ
        value = env.get(settings.env_var, "").strip()
        if not value:
            raise Refused(
                f"register {register.name!r} takes identities from ${settings.env_var}, "
                "which is not set"
            )
        return value
    return getpass.getuser()


def resolve_actor(
    register: Register, *, as_user: str | None = None, environ: Mapping[str, str] | None = None
) -> str:
    """The person to record as acting.

    Raises
    ------
    Refused
        When ``as_user`` is given but the register does not allow ``--as``, or the
        identity source yields nobody.
    """
    if as_user is not None:
        if not register.identity.allow_as:
            try:
                actual = current_user(register, environ=environ)
            except Refused:
                actual = "unknown"
            raise Refused(
                f"--as {as_user} refused: register {register.name!r} does not allow acting as "
                f"someone else (identity.allow_as is false); you are {actual}"
            )
        as_user = as_user.strip()
        if not as_user:
            raise Refused("--as needs a name")
        return as_user
    return current_user(register, environ=environ)
