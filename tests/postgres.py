"""A throwaway PostgreSQL server for the state-store tests, from Debian's binaries.

``initdb`` into a fresh temporary folder, ``pg_ctl start`` listening on 127.0.0.1 at a
free port (and on a unix socket in the same folder), one database per test, ``pg_ctl
stop`` at the end of the session. PostgreSQL refuses to run as root, so when the tests
run as root the server runs as the Debian ``postgres`` account (or, where there is none,
an unprivileged ``modelhealth-pg`` account created here) and the folder is given to it.

The server is the real thing; only durability is relaxed (``fsync=off``) because the
data is thrown away. A missing PostgreSQL fails the suite: install Debian's
``postgresql`` (``make test`` does).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresServer", "find_bindir"]

FALLBACK_USER = "modelhealth-pg"


def find_bindir() -> Path | None:
    """Debian's newest ``/usr/lib/postgresql/<major>/bin`` (or ``$MODELHEALTH_PG_BINDIR``)."""
    configured = os.environ.get("MODELHEALTH_PG_BINDIR")
    if configured:
        return Path(configured) if (Path(configured) / "initdb").exists() else None
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        return None

    def major(path: str) -> float:
        try:
            return float(Path(path).parts[-3])
        except ValueError:
            return 0.0

    return Path(max(found, key=major)).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_user() -> str | None:
    """The account the server runs as; ``None`` means the current (non-root) user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", FALLBACK_USER):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER],
        check=True,
        capture_output=True,
    )
    return FALLBACK_USER


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder; :meth:`database` makes a fresh DB."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user = _server_user()
        # Not under pytest's tmp dir: that is private to root, and the server is not root.
        self.root = Path(tempfile.mkdtemp(prefix="modelhealth-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._names = itertools.count(1)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            check=True,
            capture_output=True,
            text=True,
            user=self.user,
            timeout=120,
            cwd=self.root,
        )

    def start(self) -> PostgresServer:
        """initdb and start; raises ``subprocess.CalledProcessError`` with the log."""
        if self.user is not None:
            shutil.chown(self.root, user=self.user)
        self.root.chmod(0o700)
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        )
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        try:
            self._run(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.root / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            )
        except subprocess.CalledProcessError as exc:
            log = (self.root / "server.log").read_text(errors="replace")
            raise RuntimeError(f"postgres did not start: {exc.stderr}\n{log}") from exc
        return self

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def admin_url(self) -> str:
        """A URL of the ``postgres`` database (for creating others)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database(self, prefix: str = "state") -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"
