"""The HTML page's template ships compiled, and is never used stale.

Compiling the 43 KB template took 0.07 s of every check, so ``compiled/`` holds Jinja2's
own compilation of it with a ``KEY`` naming what it was compiled from. These tests pin
the three promises of :mod:`modelhealth.outputs.html.render`: the committed copy is
what the source compiles to today (``make templates`` after editing the template), a
page rendered from it is the page the source renders, and a copy whose key does not
match is ignored for the source.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jinja2 import ModuleLoader, PackageLoader
from report_factory import hostile_report, nightly_ladders, nightly_report, nightly_trends

from modelhealth.outputs.html import render
from modelhealth.outputs.html.render import COMPILED, compile_templates, compiled_key, render_html


@pytest.fixture
def fresh_environment() -> Iterator[None]:
    """Each test sees ``_environment`` built anew, and leaves none of its own behind."""
    render._environment.cache_clear()
    yield
    render._environment.cache_clear()


def _modules(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.glob("tmpl_*.py"))}


def test_the_committed_compiled_template_is_what_the_source_compiles_to(tmp_path: Path) -> None:
    assert (COMPILED / "KEY").read_text().strip() == compiled_key(), "run `make templates`"
    fresh = compile_templates(tmp_path / "compiled")
    assert _modules(fresh) == _modules(COMPILED) != {}
    assert (fresh / "KEY").read_text() == (COMPILED / "KEY").read_text()


def test_a_page_from_the_compiled_template_is_the_page_from_the_source(
    fresh_environment: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = nightly_report()
    hostile, hostile_trends, hostile_ladders = hostile_report()
    assert isinstance(render._environment().loader, ModuleLoader)
    compiled = [
        render_html(report, trends=nightly_trends(report), ladders=nightly_ladders(report)),
        render_html(hostile, trends=hostile_trends, ladders=hostile_ladders),
    ]
    render._environment.cache_clear()
    monkeypatch.setattr(render, "COMPILED", Path("/nonexistent"))
    assert isinstance(render._environment().loader, PackageLoader)
    source = [
        render_html(report, trends=nightly_trends(report), ladders=nightly_ladders(report)),
        render_html(hostile, trends=hostile_trends, ladders=hostile_ladders),
    ]
    assert compiled == source
    assert len(compiled[0]) > 10_000


def test_a_compiled_copy_that_does_not_match_the_source_is_not_used(
    fresh_environment: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stale = compile_templates(tmp_path / "compiled")
    # What a copy compiled before the template was edited looks like: another key, and
    # a module that renders something else.
    (stale / "KEY").write_text("0" * 64 + "\n")
    for module in stale.glob("tmpl_*.py"):
        module.write_text(module.read_text().replace("<!DOCTYPE html>", "<!DOCTYPE stale>"))
    monkeypatch.setattr(render, "COMPILED", stale)
    assert isinstance(render._environment().loader, PackageLoader)
    page = render_html(nightly_report())
    assert page.startswith("<!DOCTYPE html>") and "stale" not in page[:100]
    # The same copy with the right key is used: so the key, not chance, decided above.
    (stale / "KEY").write_text(compiled_key() + "\n")
    render._environment.cache_clear()
    assert isinstance(render._environment().loader, ModuleLoader)
    assert render_html(nightly_report()).startswith("<!DOCTYPE stale>")
