"""The escalation desk in a real headless Chromium, as a model owner meets it.

The real ``modelhealth serve`` runs on 127.0.0.1 over a state the nightly path
prepared: step-1 (retrieval augmentation for support-assistant, requested by alice,
the owner) waits for one approval from a model owner who is not alice. In the browser:
alice (the requester) signs in and is refused with the reason; bob signs in, sees the
step in his inbox, opens it, a form without its CSRF token is refused, he approves with
a reason, and the audit page shows his decision and verifies the log. Every page is
loaded without a console error and photographed into ``out/test-screenshots/``; the
inbox and the step are checked at a phone's width too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from chromium import HeadlessChromium, PageLoad
from desk_server import DeskServer, prepare_state

from ladder import audit
from ladder.proof import prove
from ladder.store import LadderStore, step_by_id

pytestmark = pytest.mark.chromium

SCREENSHOTS = Path(__file__).resolve().parents[1] / "out" / "test-screenshots"


def _clean(load: PageLoad) -> PageLoad:
    assert load.loaded, load.url
    assert load.problems == [], load.problems
    return load


def _shot(browser: HeadlessChromium, tmp_path: Path, name: str) -> None:
    shot = browser.screenshot(tmp_path / f"desk-{name}.png")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOTS / shot.name)


def _sign_in(browser: HeadlessChromium, server: DeskServer, token: str) -> None:
    _clean(browser.load(server.url("/inbox")))
    assert browser.url.startswith(server.url("/login?next=/inbox"))
    browser.type_text("#token", token)
    _clean(browser.click("form[action='/login'] button[type=submit]"))


def test_bob_approves_step_1_in_the_browser_and_sees_it_in_the_audit_log(
    browser: HeadlessChromium, tmp_path: Path
) -> None:
    prepared = prepare_state(f"sqlite:///{tmp_path / 'state.db'}", tmp_path)
    browser.clear_cookies()
    browser.viewport(1280, 900)
    with DeskServer(prepared, tmp_path / "server.log") as server:
        # A wrong token is refused on the login page, with the reason.
        _clean(browser.load(server.url("/login")))
        browser.type_text("#token", "mh_this-is-not-anyones-token")
        assert browser.click("form[action='/login'] button[type=submit]").loaded
        assert browser.text("#problem") == "Not signed in: unknown token"
        _shot(browser, tmp_path, "login-refused")

        # alice requested step-1: she sees why she may not approve it, and is refused
        # if she submits anyway (a stale page, a crafted form).
        _sign_in(browser, server, prepared.tokens["alice"])
        _clean(browser.load(server.url("/steps/step-1")))
        reason = browser.text("#approve-verdict") or ""
        assert reason.startswith("You may not: separation of duties: alice requested step-1")
        assert browser.evaluate("document.querySelector('#approve-button').disabled") is True
        browser.evaluate(
            "document.querySelectorAll('#approve-form [disabled]')"
            ".forEach(function (e) { e.disabled = false; })"
        )
        browser.type_text("#approve-reason", "approving my own request")
        refused = browser.click("#approve-button")
        assert refused.loaded
        assert browser.text("h1") == "403 · Refused"
        assert (browser.text("#reason") or "").startswith(
            "separation of duties: alice requested step-1 (retrieval_augmentation, up) and may "
            "not approve it"
        )
        _shot(browser, tmp_path, "refused-requester")
        _clean(browser.load(server.url("/inbox")))
        _clean(browser.click("form.whoami button[type=submit]"))
        assert browser.url == server.url("/login")

        # bob: the step waits for him.
        _sign_in(browser, server, prepared.tokens["bob"])
        assert browser.url == server.url("/inbox")
        mine = browser.text("#mine-list") or ""
        assert "step-1" in mine and "support-assistant" in mine and "Retrieval augmentation" in mine
        assert "acknowledge by" in mine and "may approve: bob" in mine
        _shot(browser, tmp_path, "inbox")

        _clean(browser.click("#mine-list a.button"))
        assert browser.url == server.url("/steps/step-1")
        assert "recommend retrieval_augmentation for USD 12,600" in (browser.text("#summary") or "")
        assert (browser.text("#approve-verdict") or "").startswith(
            "If you approve: approval 1 of 1 by bob (model_owner)"
        )
        _shot(browser, tmp_path, "step")

        # A form without its CSRF token is refused and changes nothing.
        browser.evaluate("document.querySelector('#approve-form input[name=csrf]').remove()")
        browser.type_text("#approve-reason", "no token")
        no_csrf = browser.click("#approve-button")
        assert no_csrf.loaded
        assert browser.text("h1") == "403 · Refused"
        assert "CSRF token is missing" in (browser.text("#reason") or "")
        _shot(browser, tmp_path, "refused-csrf")
        with LadderStore(prepared.state_url) as store:
            assert store.read(lambda c: step_by_id(c, 1)).status == "pending"

        # The real approval.
        _clean(browser.load(server.url("/steps/step-1")))
        browser.type_text("#approve-reason", "the policy index is rebuilt and tested")
        _clean(browser.click("#approve-button"))
        assert browser.url == server.url("/steps/step-1")
        assert (browser.text(".flash") or "").startswith("step-1 retrieval_augmentation approved")
        assert "approved" in (browser.text("#step-title") or "")
        assert "bob approved" in (browser.text("#approvals") or "")
        _shot(browser, tmp_path, "step-approved")

        # The audit page: verified, and bob's decision through the web from 127.0.0.1.
        _clean(browser.load(server.url("/audit")))
        assert (browser.text("#verdict h2") or "") == "Verified: the log proves the state"
        assert "state.db.audit-head" in (browser.text("#anchor") or "")
        rows = browser.evaluate(
            "Array.from(document.querySelectorAll('#audit-rows tbody tr')).map(function (r) {"
            " return Array.from(r.cells).map(function (c) { return c.innerText; }); })"
        )
        approve_row = next(r for r in rows if r[3] == "step.approve")
        assert approve_row[2] == "bob" and approve_row[4] == "step-1"
        assert approve_row[5] == "web 127.0.0.1"
        assert approve_row[6] == "the policy index is rebuilt and tested"
        _shot(browser, tmp_path, "audit")

        documents = [
            ("/models/support-assistant", "model", "#nights", "hallucination"),
            ("/ladder", "ladder", "#rungs", "support-assistant (step-1 approved)"),
            ("/ladder", "ladder", "#mermaid", "flowchart TB"),
            ("/matrix", "matrix", "#matrix", "retrieval_augmentation"),
            ("/stats", "stats", "#by-tier", "2 · delivery risk"),
        ]
        for path, name, selector, expected in documents:
            _clean(browser.load(server.url(path)))
            assert expected in (browser.text(selector) or ""), (path, selector)
            _shot(browser, tmp_path, name)

        # A phone: nothing wider than the screen.
        browser.viewport(390, 844, mobile=True)
        for path, name in [("/inbox", "inbox-phone"), ("/steps/step-1", "step-phone")]:
            _clean(browser.load(server.url(path)))
            overflow = browser.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} is {overflow} px wider than a phone"
            _shot(browser, tmp_path, name)
        browser.viewport(1280, 2400)

    with LadderStore(prepared.state_url) as store:
        rows = store.read(audit.entries)
        assert store.read(prove).ok
    approvals = [e for e in rows if e.action == "step.approve"]
    assert [(e.actor, e.payload["via"]["channel"]) for e in approvals] == [("bob", "web")]
    assert [(e.actor, e.action) for e in rows if e.action.startswith("refused.")] == [
        ("alice", "refused.approve")
    ]


def test_the_demo_month_on_the_desk_draws_the_nights_behind_the_step(
    browser: HeadlessChromium, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from datetime import datetime, timezone

    from desk_server import PreparedDesk
    from test_ladder_history import REGISTER, demo_month

    from modelhealth.demo.story import _issue_desk_token
    from thresholds.loader import load_register

    month = demo_month(tmp_path_factory)
    for name in ("state.db", "state.db.audit-head"):
        shutil.copyfile(month.parent / name, tmp_path / name)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    loaded = load_register(REGISTER)
    issued = _issue_desk_token(url, loaded, ["bob"])  # what `make demo` prints
    assert issued is not None and issued.person == "bob"
    prepared = PreparedDesk(url, REGISTER, loaded.register, datetime.now(timezone.utc))
    browser.clear_cookies()
    browser.viewport(1280, 900)
    with DeskServer(prepared, tmp_path / "server.log") as server:
        _sign_in(browser, server, issued.token)
        _clean(browser.load(server.url("/steps/step-1")))
        charts = browser.evaluate("document.querySelectorAll('figure.panel svg.chart').length")
        marks = browser.evaluate(
            "Array.from(document.querySelectorAll('figure.panel svg.chart title'))"
            ".map(function (t) { return t.textContent; })"
        )
        assert charts == 4
        assert "2026-10-16: " in " ".join(marks) and "(Breach)" in " ".join(marks)
        assert "hallucination" in (browser.text("main") or "")
        _shot(browser, tmp_path, "demo-step")
        _clean(browser.load(server.url("/models/support-assistant")))
        nights = browser.evaluate("document.querySelectorAll('#nights tbody tr').length")
        assert nights == 30
        assert browser.text("#position") == "retrieval_augmentation"
        _shot(browser, tmp_path, "demo-model")
        _clean(browser.load(server.url("/stats")))
        decide = browser.evaluate(
            "Array.from(document.querySelectorAll('#durations tbody tr')).map(function (r) {"
            " return r.innerText; })"
        )
        assert any(row.startswith("decide\t1\t3.0 h") for row in decide), decide
        _shot(browser, tmp_path, "demo-stats")
    browser.viewport(1280, 2400)
