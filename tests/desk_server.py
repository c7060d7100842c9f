"""The escalation desk as a user meets it: ``modelhealth serve`` in a subprocess on
127.0.0.1, over a state store prepared by the real nightly path, and plain HTTP.

:func:`prepare_state` plays a timeline through :func:`ladder.nightly.decide_night`
until a step waits for approval, and issues desk tokens through
:func:`ladder.tokens.create_token` as an admin would. :class:`DeskServer` starts the
real command (uvicorn inside), waits for ``/healthz``, and stops the process group at
the end whatever happened. :func:`http` is one request with the standard library.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from chromium import kill_group
from ladder_factories import HALLUCINATING_TEST_NIGHTS, Timeline, make_register

from ladder.audit import Origin
from ladder.store import LadderStore
from ladder.tokens import create_token
from thresholds.schema import Register

__all__ = ["DeskServer", "PreparedDesk", "Reply", "free_port", "http", "prepare_state"]

ADMIN_ORIGIN = Origin("cli", "test-admin:/dev/pts/0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PreparedDesk:
    """A state store with step-1 waiting for approval, and what the tests sign in with."""

    state_url: str
    register_path: Path
    register: Register
    now: datetime
    tokens: dict[str, str] = field(default_factory=dict)


def prepare_state(
    state_url: str, folder: Path, *, people: tuple[str, ...] = ("bob", "alice", "dave"),
    register_yaml: str | None = None, register: Register | None = None,
) -> PreparedDesk:
    """Two nights of hallucination: step-1 (retrieval augmentation, requested by alice,
    the owner) waits for one approval from a model owner who is not alice; tokens for
    ``people``, issued by carol (ml_lead) through the real token path."""
    from ladder_factories import REGISTER_YAML

    text = register_yaml or REGISTER_YAML.replace("{extra_models}", "")
    path = folder / "register.yaml"
    path.write_text(text)
    reg = register or make_register()
    with LadderStore(state_url) as store:
        timeline = Timeline(store, reg)
        for breaches, mode in HALLUCINATING_TEST_NIGHTS:
            timeline.play(breaches, mode=mode)
        assert timeline.last is not None and timeline.last.id == "step-1", timeline.last
        now = timeline.office_hours(9)
        prepared = PreparedDesk(state_url, path, reg, now)
        for person in people:
            issued = create_token(store, person=person, register=reg, admin="carol",
                                  now=now - timedelta(hours=1), lifetime=timedelta(days=30),
                                  origin=ADMIN_ORIGIN)
            prepared.tokens[person] = issued.token
    return prepared


@dataclass(frozen=True)
class Reply:
    """One HTTP response."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    method: str, url: str, *, token: str | None = None, body: Any = None,
    headers: Mapping[str, str] | None = None, timeout: float = 60.0,
) -> Reply:
    """One request; every status is returned, never raised."""
    sent = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=data, method=method, headers=sent)

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return Reply(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return Reply(exc.code, dict(exc.headers), exc.read())


class DeskServer:
    """``modelhealth serve`` in its own process group, on a free port of 127.0.0.1."""

    def __init__(
        self, prepared: PreparedDesk, log: Path, *, extra: tuple[str, ...] = (),
        now: datetime | None = None, env: Mapping[str, str] | None = None,
    ) -> None:
        self.prepared, self.log = prepared, log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.args = [
            sys.executable, "-m", "modelhealth", "serve",
            "--register", str(prepared.register_path), "--state", prepared.state_url,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--now", (now or prepared.now).isoformat(), "--tick-every", "0", *extra,
        ]
        self.env = {**os.environ, **(env or {})}
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> DeskServer:
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self.env, start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"modelhealth serve exited with {self._process.returncode}: "
                                   f"{self.log.read_text(errors='replace')[-3000:]}")
            with contextlib.suppress(OSError):
                if http("GET", self.base + "/healthz", timeout=2).status == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the desk did not answer /healthz in 90 s: "
                           f"{self.log.read_text(errors='replace')[-3000:]}")

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        """SIGTERM (uvicorn shuts down cleanly), then SIGKILL; never raises."""
        process, self._process = self._process, None
        if process is not None:
            kill_group(process, term_wait=10.0)

    def url(self, path: str) -> str:
        return self.base + path
