"""Shared fixtures: a real headless Chromium for every test that checks a page."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from chromium import CHROMIUM, HeadlessChromium, chromium_missing
from components import missing_component


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadlessChromium]:
    """One browser for the session. A missing Chromium fails the tests that need it
    (``make chromium`` installs it) unless MODELHEALTH_ALLOW_SKIP=1 is set."""
    if chromium_missing():
        missing_component(str(CHROMIUM), "make chromium (apt-get install chromium)")
    with HeadlessChromium(tmp_path_factory.mktemp("chromium-profile"), timeout=20.0) as chromium:
        yield chromium
