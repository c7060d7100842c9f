"""Shared fixtures: a real headless Chromium for every test that checks a page."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from chromium import CHROMIUM, HeadlessChromium, chromium_missing


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeadlessChromium]:
    """One browser for the session; skipped only when Chromium is missing outside CI."""
    if chromium_missing():
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(
                f"{CHROMIUM} is missing and CI is set: install it (apt-get install chromium)"
            )
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); CI=1 makes this fail")
    with HeadlessChromium(tmp_path_factory.mktemp("chromium-profile"), timeout=20.0) as chromium:
        yield chromium
