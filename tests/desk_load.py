"""Many people on one desk at once: pollers refreshing their inbox while deciders approve.

The harness of ``tests/test_desk_load.py`` (which asserts that no decision is lost or
doubled) and of ``benchmarks/bench_desk.py`` (which prints response times). It drives
the real ``modelhealth serve`` over HTTP/1.1 keep-alive connections, one per client
thread, for a fixed time (and, if asked, on until the deciders have made a minimum
number of approvals, so a slow machine still tests something), and records every request.

The state (:func:`prepare_load_state`): ``models`` models each with a step waiting for
``approvals`` approvals from eight deciders (``d1`` … ``d8``, model owners; ``alice``,
the owner, requested every step), and ``pollers`` people who only look (``p01`` …).
Deciders read their inbox and approve, half the time the step at the top (so they race
each other on it), half the time one at random; every fifth success is sent twice, as a
double click would.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from typing import Any

from desk_server import PreparedDesk
from ladder_factories import HALLUCINATING_TEST_NIGHTS, START, model_report, report_for, run_time

from ladder.nightly import decide_night
from ladder.store import LadderStore
from thresholds.loader import parse_register

__all__ = [
    "DECIDERS",
    "LoadResult",
    "Request",
    "load_register_yaml",
    "percentile",
    "prepare_load_state",
    "run_load",
]

DECIDERS = tuple(f"d{i}" for i in range(1, 9))


def load_register_yaml(models: int, pollers: int, approvals: int) -> str:
    """A register whose retrieval-augmentation steps need ``approvals`` model owners."""
    people = ["  alice: [model_owner, ml_lead]", "  carol: [ml_lead]"]
    people += [f"  {d}: [model_owner]" for d in DECIDERS]
    people += [f"  p{i:02d}: [stakeholder]" for i in range(1, pollers + 1)]
    entries = "".join(
        f"  - id: load-{i:03d}\n    owner: alice\n    criticality: 2\n"
        for i in range(1, models + 1)
    )
    return (
        "name: desk-load\npeople:\n" + "\n".join(people) + "\n"
        "defaults:\n  approver_roles: [model_owner]\n  ladder:\n"
        "    budget: {amount: 60000, currency: USD, period: quarter}\n"
        "    rules: {persistence_k: 2, persistence_n: 3, same_night_tier: 3}\n"
        "    rungs:\n      retrieval_augmentation:\n"
        f"        approval: {{min_approvals: {approvals}}}\n"
        "models:\n" + entries
    )


def prepare_load_state(
    state_url: str, folder: Path, *, models: int, pollers: int, approvals: int
) -> PreparedDesk:
    """Two nights of hallucination for every model through the real nightly path, then
    desk tokens for every decider and poller, issued by carol."""
    text = load_register_yaml(models, pollers, approvals)
    path = folder / "register.yaml"
    path.write_text(text)
    register = parse_register(text, source=str(path)).register
    ids = [m.id for m in register.models]
    with LadderStore(state_url) as store:
        night = START
        for breaches, mode in HALLUCINATING_TEST_NIGHTS:
            report = report_for(
                night, [model_report(night, breaches, mode=mode, model_id=m) for m in ids]
            )
            decided = decide_night(store, report, register, now=run_time(night))
            night += timedelta(days=1)
        now = run_time(night - timedelta(days=1)) + timedelta(hours=7)
        prepared = PreparedDesk(state_url, path, register, now)
        prepared.steps = {m: rec.id for m, rec in decided.items() if rec is not None}
        assert len(prepared.steps) == models, decided
        prepared.issue_tokens(store, (*DECIDERS, *(f"p{i:02d}" for i in range(1, pollers + 1))))
    return prepared


@dataclass(frozen=True)
class Request:
    """One request a client made: what, how long it took, and how it ended."""

    client: str
    kind: str  # "inbox", "approve", "again" (a double click)
    seconds: float
    status: int  # 0: no response (a transport error)
    step: str | None = None
    detail: str = ""


@dataclass
class LoadResult:
    """Every request of a run, and how long the run took."""

    requests: list[Request] = field(default_factory=list)
    seconds: float = 0.0

    def of(self, *kinds: str) -> list[Request]:
        return [r for r in self.requests if r.kind in kinds]

    @property
    def approved(self) -> list[tuple[str, str]]:
        """(step, person) of every approval the clients saw succeed, in order."""
        return [(r.step or "", r.client) for r in self.of("approve") if r.status == 200]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile by nearest rank (``q`` in (0, 100])."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(int(-(-q * len(ordered) // 100)) - 1, 0)
    return ordered[min(rank, len(ordered) - 1)]


class _Client:
    """One person's keep-alive connection to the desk."""

    def __init__(self, host: str, port: int, name: str, token: str, out: list[Request]) -> None:
        self.host, self.port, self.name, self.token, self.out = host, port, name, token, out
        self.conn = HTTPConnection(host, port, timeout=120)

    def call(
        self,
        method: str,
        path: str,
        kind: str,
        step: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
            status = response.status
        except (OSError, HTTPException) as exc:
            self.out.append(
                Request(
                    self.name,
                    kind,
                    time.perf_counter() - started,
                    0,
                    step,
                    f"{type(exc).__name__}: {exc}",
                )
            )
            self.conn.close()
            self.conn = HTTPConnection(self.host, self.port, timeout=120)
            return 0, None
        elapsed = time.perf_counter() - started
        try:
            answer = json.loads(raw)
        except ValueError:
            answer = None
        detail = answer.get("detail", "") if isinstance(answer, dict) and status != 200 else ""
        self.out.append(Request(self.name, kind, elapsed, status, step, str(detail)))
        return status, answer


class _Stop:
    """When the clients stop: once ``seconds`` have passed and the deciders have seen
    ``min_approvals`` approvals succeed, or at ``cap`` seconds whatever happened."""

    def __init__(self, seconds: float, min_approvals: int, cap: float) -> None:
        now = time.monotonic()
        self.soft, self.hard = now + seconds, now + max(cap, seconds)
        self.min_approvals, self.approvals = min_approvals, 0
        self._lock = threading.Lock()

    def approved(self) -> None:
        with self._lock:
            self.approvals += 1

    def __call__(self) -> bool:
        now = time.monotonic()
        return now >= self.hard or (now >= self.soft and self.approvals >= self.min_approvals)


def _poller(client: _Client, stop: _Stop, think: float) -> None:
    try:
        while not stop():
            client.call("GET", "/api/inbox", "inbox")
            time.sleep(think)
    finally:
        client.conn.close()


def _decider(client: _Client, stop: _Stop, seed: int) -> None:
    try:
        _decide_until(client, stop, seed)
    finally:
        client.conn.close()


def _decide_until(client: _Client, stop: _Stop, seed: int) -> None:
    rng = random.Random(seed)
    successes = 0
    while not stop():
        status, inbox = client.call("GET", "/api/inbox", "inbox")
        mine = [i["id"] for i in (inbox or {}).get("mine", []) if i["may"]["approve"]["allowed"]]
        if status != 200 or not mine:
            time.sleep(0.05)
            continue
        step = mine[0] if rng.random() < 0.5 else rng.choice(mine)
        body = {"reason": f"{client.name} load decision"}
        status, _ = client.call("POST", f"/api/steps/{step}/approve", "approve", step, body)
        if status == 200:
            stop.approved()
            successes += 1
            if successes % 5 == 0:
                client.call("POST", f"/api/steps/{step}/approve", "again", step, body)


def run_load(
    host: str,
    port: int,
    prepared: PreparedDesk,
    *,
    seconds: float,
    pollers: int,
    think: float = 0.25,
    seed: int = 7,
    min_approvals: int = 0,
    cap: float = 0.0,
) -> LoadResult:
    """``pollers`` clients polling the inbox (every ``think`` s) and the eight deciders
    deciding, all at once for ``seconds``, and on until ``min_approvals`` approvals
    succeeded but never past ``cap`` seconds; returns every request."""
    result = LoadResult()
    lock = threading.Lock()
    buffers: list[list[Request]] = []
    threads = []
    stop = _Stop(seconds, min_approvals, cap)
    for i in range(1, pollers + 1):
        name = f"p{i:02d}"
        buffer: list[Request] = []
        buffers.append(buffer)
        client = _Client(host, port, name, prepared.tokens[name], buffer)
        threads.append(threading.Thread(target=_poller, args=(client, stop, think), daemon=True))
    for n, name in enumerate(DECIDERS):
        buffer = []
        buffers.append(buffer)
        client = _Client(host, port, name, prepared.tokens[name], buffer)
        threads.append(
            threading.Thread(target=_decider, args=(client, stop, seed + n), daemon=True)
        )
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(cap, seconds) + 180)
    result.seconds = time.perf_counter() - started
    with lock:
        for buffer in buffers:
            result.requests.extend(buffer)
    return result
