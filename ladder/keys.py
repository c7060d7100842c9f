"""The audit key and head file a register names, and a store opened with them.

The register never holds the key: ``audit.key_file`` names a file and ``audit.key_env``
an environment variable. Teams that keep the key away from whoever can write the
database (the DBA, a shared host's other users) get a chain those writers cannot forge;
every modelhealth process that writes needs the key (:mod:`ladder.audit`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from ladder.anchors import Anchor, HeadFile
from ladder.errors import StoreError
from ladder.store import LadderStore
from thresholds.schema import Register

__all__ = ["MIN_KEY_BYTES", "audit_key", "head_anchors", "open_store"]

#: A key shorter than this is refused: HMAC-SHA256 wants 32 bytes of secret.
MIN_KEY_BYTES: Final = 32


def audit_key(register: Register, *, environ: Mapping[str, str] | None = None) -> bytes | None:
    """The key the register names, or ``None`` when it names none.

    Raises
    ------
    StoreError
        The named file or variable is missing, unreadable or too short.
    """
    settings = register.audit
    if settings.key_env:
        env = os.environ if environ is None else environ
        value = env.get(settings.key_env, "").strip().encode("utf-8")
        where = f"${settings.key_env}"
    elif settings.key_file:
        path = Path(settings.key_file).expanduser()
        try:
            value = path.read_bytes().strip()
        except OSError as exc:
            raise StoreError(f"cannot read the audit key file {path}: {exc.strerror}") from exc
        where = str(path)
    else:
        return None
    if len(value) < MIN_KEY_BYTES:
        raise StoreError(
            f"register {register.name!r} names the audit key {where}, which is "
            f"{'unset' if not value else f'only {len(value)} bytes'}; it needs at least "
            f"{MIN_KEY_BYTES} (e.g. `openssl rand -hex 32`)"
        )
    return value


def open_store(url: str | None, register: Register | None = None) -> LadderStore:
    """A store with the audit key and head file ``register`` names (none without one)."""
    if register is None:
        return LadderStore(url)
    head = register.audit.head_file
    return LadderStore(
        url,
        audit_key=audit_key(register),
        head_file=Path(head).expanduser() if head else "auto",
    )


def head_anchors(store: LadderStore) -> list[Anchor]:
    """The anchors in the store's head file (none when it keeps no head file)."""
    return [] if store.head_file is None else HeadFile(store.head_file).anchors()
