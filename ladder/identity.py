"""Who is acting: the identity an approval, rejection or event is recorded under.

By default the real operating-system account running the command
(``pwd.getpwuid(os.getuid())``): ``$USER`` and ``$LOGNAME`` are set by whoever starts the
process and are never consulted. A register may explicitly choose an environment
variable instead (``identity.source: env``), e.g. set by a CI system or an SSO wrapper;
that mode trusts whoever sets the environment. ``--as USER`` is honoured only when the
register says ``identity.allow_as: true`` (demos, tests, shared service accounts);
otherwise it is refused, and the caller records the refusal in the audit log.

Which register's identity section counts is settled by the pin (:mod:`ladder.pins`): a
decision made under a register whose identity section differs from the pinned one is
refused before anything is written.
"""

from __future__ import annotations

import os
import pwd
import socket
import sys
from collections.abc import Mapping

from ladder.audit import Origin
from ladder.errors import Refused
from thresholds.schema import Register

__all__ = ["cli_origin", "current_user", "os_account", "resolve_actor"]


def os_account() -> str:
    """The name of the real account running this process (not ``$USER``/``$LOGNAME``)."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid-{uid}"


def cli_origin() -> Origin:
    """Where a command-line decision comes from: ``host:terminal`` (``-`` off a terminal)."""
    tty = "-"
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            if stream is not None and stream.isatty():
                tty = os.ttyname(stream.fileno())
                break
        except (OSError, ValueError, AttributeError):
            continue
    return Origin("cli", f"{socket.gethostname()}:{tty}")


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
    return os_account()


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
