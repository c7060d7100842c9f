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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.client import HTTPConnection
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urlsplit

from chromium import kill_group
from ladder_factories import (
    HALLUCINATING_TEST_NIGHTS,
    MODEL,
    REGISTER_YAML,
    START,
    Timeline,
    run_time,
)

from ladder.audit import Origin
from ladder.store import LadderStore
from ladder.tokens import create_token
from thresholds.loader import parse_register
from thresholds.schema import Register

__all__ = [
    "ADMIN_ORIGIN",
    "DeskServer",
    "PreparedDesk",
    "Reply",
    "cookie_value",
    "free_port",
    "http",
    "models_yaml",
    "prepare_state",
]

ADMIN_ORIGIN = Origin("cli", "test-admin:/dev/pts/0")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PreparedDesk:
    """A state store with steps waiting for approval, and what the tests sign in with."""

    state_url: str
    register_path: Path
    register: Register
    now: datetime
    steps: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def issue_tokens(self, store: LadderStore, people: Iterable[str]) -> None:
        """A 30-day desk token for each person, issued an hour ago by carol (ml_lead)."""
        for person in people:
            issued = create_token(
                store,
                person=person,
                register=self.register,
                admin="carol",
                now=self.now - timedelta(hours=1),
                lifetime=timedelta(days=30),
                origin=ADMIN_ORIGIN,
            )
            self.tokens[person] = issued.token


def models_yaml(models: list[str], *, owner: str = "alice") -> str:
    """Register entries for more models like the test register's support-assistant."""
    return "".join(f"  - id: {m}\n    owner: {owner}\n    criticality: 2\n" for m in models)


def prepare_state(
    state_url: str,
    folder: Path,
    *,
    models: int = 1,
    people: tuple[str, ...] = ("bob", "alice", "dave"),
    register_yaml: str | None = None,
) -> PreparedDesk:
    """Two nights of hallucination for each of ``models`` models (support-assistant,
    model-2, model-3 …): each gets a step (retrieval augmentation, requested by alice,
    the owner) that waits for one approval from a model owner who is not alice. Tokens
    for ``people``, issued by carol (ml_lead) through the real token path.

    ``register_yaml`` replaces the test register (it must keep ``{extra_models}``)."""
    extra = [f"model-{i}" for i in range(2, models + 1)]
    template = register_yaml or REGISTER_YAML
    text = template.replace("{extra_models}", models_yaml(extra))
    path = folder / "register.yaml"
    path.write_text(text)
    reg = parse_register(text, source=str(path)).register
    with LadderStore(state_url) as store:
        now = run_time(START)
        prepared = PreparedDesk(state_url, path, reg, now)
        for model in [MODEL, *extra]:
            timeline = Timeline(store, reg, model_id=model)
            for breaches, mode in HALLUCINATING_TEST_NIGHTS:
                timeline.play(breaches, mode=mode)
            assert timeline.last is not None and timeline.last.status == "pending", timeline.last
            prepared.steps[model] = timeline.last.id
            now = timeline.office_hours(9)
        prepared.now = now
        prepared.issue_tokens(store, people)
    return prepared


@dataclass(frozen=True)
class Reply:
    """One HTTP response."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (any case)."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def cookies(self) -> dict[str, str]:
        """``Set-Cookie`` headers by cookie name (the whole header line)."""
        return {v.split("=", 1)[0]: v for k, v in self.headers if k.lower() == "set-cookie"}

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)


def http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    body: Any = None,
    form: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    cookies: Mapping[str, str] | None = None,
    source: str | None = None,
    timeout: float = 60.0,
) -> Reply:
    """One request from ``source`` (a loopback address; default the kernel's choice);
    redirects are not followed and every status is returned, never raised."""
    parts = urlsplit(url)
    sent = dict(headers or {})
    data: bytes | None = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    if form is not None:
        data = urlencode(form).encode()
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    if cookies:
        sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    conn = HTTPConnection(
        parts.hostname or "127.0.0.1",
        parts.port,
        timeout=timeout,
        source_address=(source, 0) if source else None,
    )
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path or "/", body=data, headers=sent)
        response = conn.getresponse()
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        conn.close()


def cookie_value(reply: Reply, name: str) -> str | None:
    """The value a response sets for cookie ``name`` (None: not set)."""
    line = reply.cookies().get(name)
    return None if line is None else line.split(";", 1)[0].split("=", 1)[1]


class DeskServer:
    """``modelhealth serve`` in its own process group, on a free port of 127.0.0.1."""

    def __init__(
        self,
        prepared: PreparedDesk,
        log: Path,
        *,
        extra: tuple[str, ...] = (),
        now: datetime | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.prepared, self.log = prepared, log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.args = [
            sys.executable,
            "-m",
            "modelhealth",
            "serve",
            "--register",
            str(prepared.register_path),
            "--state",
            prepared.state_url,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--now",
            (now or prepared.now).isoformat(),
            "--tick-every",
            "0",
            *extra,
        ]
        self.env = {**os.environ, **(env or {})}
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> DeskServer:
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                self.args,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"modelhealth serve exited with {self._process.returncode}: "
                    f"{self.log.read_text(errors='replace')[-3000:]}"
                )
            with contextlib.suppress(OSError):
                if http("GET", self.base + "/healthz", timeout=2).status == 200:
                    return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"the desk did not answer /healthz in 90 s: "
            f"{self.log.read_text(errors='replace')[-3000:]}"
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
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
