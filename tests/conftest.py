"""Shared fixtures: a real headless Chromium for every test that checks a page, and a
real PostgreSQL server for the state-store tests (both backends run the same tests)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

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


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A real Dask LocalCluster: two worker processes, one thread each, no dashboard.
    Missing Dask fails the tests that use it (``make install`` includes the extra)."""
    from components import import_component

    distributed = import_component("distributed", "pip install -e '.[dask]'")
    local = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        # Its health/metrics HTTP server on a free port, not 8787: a busy 8787 (another
        # cluster on the machine) makes distributed leak a socket (a ResourceWarning).
        scheduler_kwargs={"dashboard_address": ":0"},
        silence_logs=logging.CRITICAL,  # a task failure a test expects is not news
    )
    try:
        yield local
    finally:
        local.close()
