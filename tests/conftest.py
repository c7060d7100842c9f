"""Shared fixtures: a real headless Chromium for every test that checks a page, and a
real PostgreSQL server for the state-store tests (both backends run the same tests)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from chromium import CHROMIUM, HeadlessChromium, chromium_missing
from components import missing_component
from postgres import PostgresServer, find_bindir


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadlessChromium]:
    """One browser for the session. A missing Chromium fails the tests that need it
    (``make chromium`` installs it) unless MODELHEALTH_ALLOW_SKIP=1 is set."""
    if chromium_missing():
        missing_component(str(CHROMIUM), "make chromium (apt-get install chromium)")
    with HeadlessChromium(tmp_path_factory.mktemp("chromium-profile"), timeout=20.0) as chromium:
        yield chromium


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the session. Missing PostgreSQL fails."""
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL is not installed: the state store is tested on a real server "
            "(apt-get install postgresql, or `make test`, which installs it)"
        )
    server = PostgresServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def state_url(request: pytest.FixtureRequest, tmp_path: os.PathLike[str]) -> str:
    """A fresh, empty state store URL on each backend: a SQLite file, a PostgreSQL DB."""
    if request.param == "sqlite":
        return f"sqlite:///{os.path.join(tmp_path, 'state.db')}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.database()
