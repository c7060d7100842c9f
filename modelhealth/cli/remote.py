"""``modelhealth ladder approve|reject|ack --server URL``: decide through the escalation desk.

The desk (``modelhealth serve``) authenticates the request with a personal desk token —
a secret issued by an admin (``modelhealth people token create``), read from
``--token-file`` or the ``MODELHEALTH_TOKEN`` environment variable. The token is the
identity: it is not a name the caller claims, so ``--as`` does not apply. The desk runs
the same ladder function as the local command and records the decision with channel
``api`` and this machine's address.

Exit codes: 0 done; 2 refused (the desk's reason), not authenticated, no such step, or
the desk unreachable; 4 the audit log does not prove the state.
"""

from __future__ import annotations

import json
import os
import stat
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Final, NoReturn
from urllib.parse import quote

from modelhealth.cli.common import err, fail, out

__all__ = ["TOKEN_ENV", "decide_through_desk", "read_token"]

#: The environment variable that may hold the caller's desk token.
TOKEN_ENV: Final = "MODELHEALTH_TOKEN"
#: Exit code when the desk says the audit log does not prove the state (as locally).
EXIT_TAMPERED: Final = 4


def read_token(path: Path | None) -> str:
    """The token in ``path``, else in ``$MODELHEALTH_TOKEN``; exits 2 when neither holds one."""
    if path is not None:
        try:
            text = path.expanduser().read_text(encoding="utf-8").strip()
            mode = path.expanduser().stat().st_mode
        except OSError as exc:
            fail(f"cannot read the token file {path}: {exc.strerror}")
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            err.print(
                f"warning: {path} can be read by other accounts; `chmod 600 {path}`", markup=False
            )
        if not text:
            fail(f"the token file {path} is empty")
        return text
    text = os.environ.get(TOKEN_ENV, "").strip()
    if not text:
        fail(
            f"--server needs your desk token: --token-file PATH or ${TOKEN_ENV} (an admin "
            "issues one with `modelhealth people token create`)"
        )
    return text


def _refused(status: int, body: dict[str, Any], server: str) -> NoReturn:
    detail = str(body.get("detail") or f"HTTP {status}")
    if status == 401:
        fail(f"the desk at {server} did not accept the token: {detail}")
    if body.get("refusal") == "tampered":
        fail(detail, EXIT_TAMPERED)
    fail(detail)


def decide_through_desk(
    server: str,
    action: str,
    step: str,
    *,
    reason: str,
    token_file: Path | None,
    as_user: str | None = None,
    timeout: float = 30.0,
) -> None:
    """POST one decision to the desk's API and print its outcome (or fail with the desk's
    reason and the exit code the local command would give)."""
    if as_user is not None:
        fail("--as does not apply with --server: the desk token says who you are")
    if not server.startswith(("http://", "https://")):
        fail(f"--server must be the desk's http(s) URL, not {server!r}")
    token = read_token(token_file)
    base = server.rstrip("/")
    request = urllib.request.Request(
        f"{base}/api/steps/{quote(step, safe='')}/{action}",
        data=json.dumps({"reason": reason}).encode("utf-8"),
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "modelhealth-cli",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        with exc:
            try:
                answer = json.loads(exc.read() or b"{}")
            except ValueError:
                answer = {}
        _refused(exc.code, answer if isinstance(answer, dict) else {}, base)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason_text = getattr(exc, "reason", exc)
        fail(f"cannot reach the desk at {base}: {reason_text}")
    out.print(str(body.get("message", body)), markup=False, highlight=False, soft_wrap=True)
