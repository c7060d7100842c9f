"""Start and stop a real ``mlflow server`` for integration tests.

The server is the venv's own ``mlflow`` executable, bound to 127.0.0.1 on a free port,
with a SQLite backend store and proxied artifact serving (``--artifacts-destination``),
which is how teams usually run it. MLflow 3's server forks uvicorn workers (and, unless
disabled, a job runner with huey consumers), so it is started in a session of its own and
stopped by signalling that whole process group: a test run never leaves servers behind.

MLflow's default security middleware accepts ``Host: 127.0.0.1`` (localhost and private
addresses are allowed), so no ``--allowed-hosts`` flag is needed for local tests.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MlflowServer",
    "free_port",
    "mlflow_server",
    "start_mlflow_server",
    "stop_mlflow_server",
]


@dataclass
class MlflowServer:
    """A running ``mlflow server`` and where it keeps its data."""

    url: str
    process: subprocess.Popen[bytes]
    backend_store_uri: str
    artifacts_destination: Path
    log_path: Path
    command: list[str]

    def log_tail(self, n_chars: int = 4000) -> str:
        """The end of the server's combined stdout/stderr, for failure messages."""
        try:
            return self.log_path.read_text(errors="replace")[-n_chars:]
        except OSError:
            return "<no server log>"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _mlflow_executable() -> str:
    beside_python = Path(sys.executable).with_name("mlflow")
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("mlflow")
    if found is None:
        raise RuntimeError("no `mlflow` executable beside the interpreter or on PATH")
    return found


def start_mlflow_server(workdir: Path, *, startup_timeout_s: float = 60.0) -> MlflowServer:
    """Start ``mlflow server`` with its store under ``workdir``; return once /health answers.

    Raises
    ------
    RuntimeError
        When the server exits early or does not answer within ``startup_timeout_s``
        (the server is stopped first; the message carries its log).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    backend_store_uri = f"sqlite:///{(workdir / 'srv.db').resolve().as_posix()}"
    artifacts = (workdir / "art").resolve()
    command = [
        _mlflow_executable(),
        "server",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--backend-store-uri",
        backend_store_uri,
        "--artifacts-destination",
        str(artifacts),
        "--workers",
        "1",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    # The job runner (huey consumers for LLM-judge jobs) is not needed and slows startup.
    env["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"
    log_path = workdir / "mlflow-server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = MlflowServer(
        url=f"http://127.0.0.1:{port}",
        process=process,
        backend_store_uri=backend_store_uri,
        artifacts_destination=artifacts,
        log_path=log_path,
        command=command,
    )
    deadline = time.monotonic() + startup_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stop_mlflow_server(server)
            raise RuntimeError(
                f"mlflow server exited with {process.returncode} before answering:\n"
                f"{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    stop_mlflow_server(server)
    raise RuntimeError(
        f"mlflow server did not answer /health within {startup_timeout_s:.0f} s:\n"
        f"{server.log_tail()}"
    )


def stop_mlflow_server(server: MlflowServer, *, timeout_s: float = 10.0) -> None:
    """Stop the server and every process it forked (SIGTERM, then SIGKILL)."""
    process = server.process
    try:
        pgid = os.getpgid(process.pid)
    except ProcessLookupError:
        pgid = None
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if pgid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, sig)
        elif process.poll() is None:
            process.send_signal(sig)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; make sure no worker in its group outlived it.
        if pgid is not None and sig == signal.SIGTERM:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        return


@contextlib.contextmanager
def mlflow_server(workdir: Path, *, startup_timeout_s: float = 60.0) -> Iterator[MlflowServer]:
    """A running server for the duration of the ``with`` block; always stopped after."""
    server = start_mlflow_server(workdir, startup_timeout_s=startup_timeout_s)
    try:
        yield server
    finally:
        stop_mlflow_server(server)
