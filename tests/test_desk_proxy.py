"""Behind a reverse proxy: the desk believes ``X-Forwarded-For`` and the SSO header only
from the addresses it was told to trust.

The desk runs with ``--trusted-proxy 127.0.0.2 --sso-header X-Forwarded-User``. The
"proxy" is a client connecting from 127.0.0.2 (a loopback address of its own), anyone
else connects from 127.0.0.1: the same machine, a different peer address, as the desk
sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from desk_server import DeskServer, PreparedDesk, http, prepare_state

from ladder import audit
from ladder.store import LadderStore

PROXY = "127.0.0.2"
SSO = "X-Forwarded-User"

Desk = tuple[DeskServer, PreparedDesk]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("desk-proxy")
    prepared = prepare_state(f"sqlite:///{folder / 'state.db'}", folder, models=3)
    with DeskServer(
        prepared, folder / "server.log", extra=("--trusted-proxy", PROXY, "--sso-header", SSO)
    ) as server:
        yield server, prepared


def _via(prepared: PreparedDesk, step: str) -> dict[str, str]:
    with LadderStore(prepared.state_url) as store:
        row = next(
            e for e in store.read(audit.entries) if e.subject == step and e.action == "step.approve"
        )
    via: dict[str, str] = row.payload["via"]
    return via


def test_the_sso_header_is_believed_only_from_the_trusted_proxy(desk: Desk) -> None:
    server, _ = desk
    from_proxy = http("GET", server.url("/api/inbox"), headers={SSO: "bob"}, source=PROXY)
    from_elsewhere = http("GET", server.url("/api/inbox"), headers={SSO: "bob"}, source="127.0.0.1")
    stranger = http("GET", server.url("/api/inbox"), headers={SSO: "mallory"}, source=PROXY)
    page = http("GET", server.url("/inbox"), headers={SSO: "bob"}, source=PROXY)

    assert from_proxy.status == 200 and from_proxy.json()["person"] == "bob"
    assert from_elsewhere.status == 401
    assert stranger.status == 403
    assert stranger.json()["detail"] == (
        "X-Forwarded-User names 'mallory', who is not among the people pinned in the state store"
    )
    assert page.status == 200 and "Inbox" in page.text and ">bob<" in page.text
    assert "modelhealth_desk" in page.cookies()  # a session, so its forms carry a CSRF token


def test_a_decision_records_the_forwarded_address_only_through_the_trusted_proxy(
    desk: Desk,
) -> None:
    server, prepared = desk
    forwarded = {"X-Forwarded-For": "198.51.100.7"}
    through_proxy = http(
        "POST",
        server.url(f"/api/steps/{prepared.steps['model-2']}/approve"),
        headers={SSO: "bob", **forwarded},
        body={"reason": "via SSO"},
        source=PROXY,
    )
    direct = http(
        "POST",
        server.url(f"/api/steps/{prepared.steps['model-3']}/approve"),
        token=prepared.tokens["bob"],
        headers={"X-Forwarded-For": "203.0.113.9"},
        body={"reason": "direct"},
        source="127.0.0.1",
    )

    assert through_proxy.status == 200 and direct.status == 200
    assert _via(prepared, prepared.steps["model-2"]) == {
        "channel": "api",
        "address": "198.51.100.7",
    }
    assert _via(prepared, prepared.steps["model-3"]) == {"channel": "api", "address": "127.0.0.1"}


def test_failed_sign_ins_from_one_address_are_throttled(desk: Desk) -> None:
    server, prepared = desk
    source = "127.0.0.3"
    answers = [
        http("GET", server.url("/api/inbox"), token=f"mh_guess{i}", source=source).status
        for i in range(11)
    ]
    still_refused = http(
        "GET", server.url("/api/inbox"), token=prepared.tokens["bob"], source=source
    )
    elsewhere = http(
        "GET", server.url("/api/inbox"), token=prepared.tokens["bob"], source="127.0.0.4"
    )

    assert answers == [401] * 10 + [429]
    assert still_refused.status == 429
    assert "too many failed sign-ins from 127.0.0.3" in still_refused.json()["detail"]
    assert elsewhere.status == 200


def test_an_sso_header_without_a_trusted_proxy_is_refused_at_start(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from modelhealth.cli import app

    prepared = prepare_state(f"sqlite:///{tmp_path / 'state.db'}", tmp_path, people=())
    result = CliRunner().invoke(
        app,
        [
            "serve",
            "--register",
            str(prepared.register_path),
            "--state",
            prepared.state_url,
            "--sso-header",
            SSO,
        ],
    )
    assert result.exit_code == 2
    assert "--sso-header needs --trusted-proxy" in " ".join(result.output.split())


def test_under_a_path_prefix_links_and_cookies_stay_under_it(tmp_path: Path) -> None:
    import re

    from desk_server import cookie_value

    from modelhealth.serve.identity import COOKIE

    prepared = prepare_state(f"sqlite:///{tmp_path / 'state.db'}", tmp_path, people=("bob",))
    # The proxy serves https://desk.example.com/ops/… and strips /ops before passing on.
    with DeskServer(
        prepared, tmp_path / "server.log", extra=("--public-url", "https://desk.example.com/ops")
    ) as server:
        stranger = http("GET", server.url("/steps/step-1"))
        form = http("GET", server.url("/login?next=/steps/step-1"))
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        signed_in = http(
            "POST",
            server.url("/login"),
            form={"token": prepared.tokens["bob"], "csrf": csrf[1], "next": "/steps/step-1"},
            cookies={COOKIE: cookie_value(form, COOKIE) or ""},
        )
        page = http(
            "GET",
            server.url("/steps/step-1"),
            cookies={COOKIE: cookie_value(signed_in, COOKIE) or ""},
        )
        api = http("GET", server.url("/api/inbox"), token=prepared.tokens["bob"]).json()

    assert stranger.status == 303
    assert stranger.header("Location") == "/ops/login?next=/steps/step-1"
    assert signed_in.header("Location") == "/ops/steps/step-1"
    session = signed_in.cookies()[COOKIE].lower()
    assert "path=/ops" in session and "secure" in session
    assert page.status == 200
    assert 'href="/ops/static/desk.css"' in page.text
    assert 'action="/ops/steps/step-1/approve"' in page.text
    assert api["mine"][0]["url"] == "https://desk.example.com/ops/steps/step-1"
