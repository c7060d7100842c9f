"""The escalation desk's API and sign-in, met the way a client meets them: the real
``modelhealth serve`` on 127.0.0.1, real HTTP, on SQLite and on PostgreSQL.

The state is prepared by the real nightly path: six models hallucinated for two nights,
so step-1 … step-6 each wait for one approval from a model owner who is not alice (the
owner, who requested them). Each test acts on its own step.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from desk_server import DeskServer, PreparedDesk, cookie_value, http, prepare_state
from ladder_factories import REGISTER_YAML
from typer.testing import CliRunner

from ladder import audit
from ladder.audit import Origin
from ladder.proof import prove
from ladder.store import LadderStore, step_by_id
from ladder.tokens import revoke_tokens
from modelhealth.cli import app
from modelhealth.serve.api import InboxOut
from modelhealth.serve.identity import COOKIE

Desk = tuple[DeskServer, PreparedDesk]


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def desk(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp(f"desk-api-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{folder / 'state.db'}"
    else:
        url = request.getfixturevalue("postgres_server").database("desk")
    prepared = prepare_state(url, folder, models=6, people=("bob", "alice", "dave", "carol"))
    with DeskServer(prepared, folder / "server.log") as server:
        yield server, prepared


def _rows(prepared: PreparedDesk, subject: str) -> list[audit.AuditEntry]:
    with LadderStore(prepared.state_url) as store:
        return [e for e in store.read(audit.entries) if e.subject == subject]


def test_health_needs_no_token_and_the_openapi_document_lists_every_endpoint(desk: Desk) -> None:
    server, _ = desk
    health = http("GET", server.url("/healthz"))
    document = http("GET", server.url("/openapi.json")).json()

    assert health.status == 200 and health.json()["status"] == "ok"
    assert health.json()["audit_rows"] > 0
    paths = document["paths"]
    assert set(paths) == {
        "/healthz",
        "/api/inbox",
        "/api/steps/{step_id}",
        "/api/steps/{step_id}/approve",
        "/api/steps/{step_id}/reject",
        "/api/steps/{step_id}/ack",
    }
    approve = paths["/api/steps/{step_id}/approve"]["post"]
    assert {"200", "401", "403", "404"} <= set(approve["responses"])
    assert approve["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/DecisionIn"
    )
    inbox_schema = paths["/api/inbox"]["get"]["responses"]["200"]["content"]["application/json"]
    assert inbox_schema["schema"]["$ref"].endswith("/InboxOut")
    assert "StepDetailOut" in document["components"]["schemas"]


def test_without_a_valid_token_the_api_answers_401_with_a_bearer_challenge(desk: Desk) -> None:
    server, _ = desk
    missing = http("GET", server.url("/api/inbox"))
    garbage = http("GET", server.url("/api/inbox"), token="mh_not-a-real-token")
    basic = http(
        "POST",
        server.url("/api/steps/step-1/approve"),
        body={"reason": "x"},
        headers={"Authorization": "Basic Ym9iOmJvYg=="},
    )

    assert [missing.status, garbage.status, basic.status] == [401, 401, 401]
    assert (missing.header("WWW-Authenticate") or "").startswith('Bearer realm="modelhealth"')
    assert missing.json()["refusal"] == "unauthenticated"
    assert "Authorization: Bearer" in missing.json()["detail"]
    assert garbage.json()["detail"] == "unknown token"
    assert "unknown token" in (garbage.header("WWW-Authenticate") or "")


def test_a_person_who_may_not_decide_gets_403_with_the_reason_the_cli_gives(
    desk: Desk, tmp_path: Path
) -> None:
    server, prepared = desk
    step = prepared.steps["model-2"]

    by_dave = http(
        "POST",
        server.url(f"/api/steps/{step}/approve"),
        token=prepared.tokens["dave"],
        body={"reason": "looks fine"},
    )
    by_alice = http(
        "POST",
        server.url(f"/api/steps/{step}/approve"),
        token=prepared.tokens["alice"],
        body={"reason": "my own request"},
    )
    cli = CliRunner().invoke(
        app,
        [
            "ladder",
            "approve",
            step,
            "--as",
            "dave",
            "--register",
            str(prepared.register_path),
            "--state",
            prepared.state_url,
            "--now",
            prepared.now.isoformat(),
        ],
    )

    assert by_dave.status == 403 and by_dave.json()["refusal"] == "refused"
    assert by_dave.json()["detail"] == (
        "dave holds ml_engineer; deciding retrieval_augmentation needs one of model_owner"
    )
    assert cli.exit_code == 2
    assert by_dave.json()["detail"] in " ".join(cli.output.split())
    assert by_alice.status == 403
    assert by_alice.json()["detail"].startswith(
        f"separation of duties: alice requested {step} (retrieval_augmentation, up) and may "
        "not approve it"
    )
    refused = [e for e in _rows(prepared, step) if e.action == "refused.approve"]
    assert [(e.actor, e.payload["via"]["channel"]) for e in refused] == [
        ("dave", "api"),
        ("alice", "api"),
        ("dave", "cli"),
    ]
    with LadderStore(prepared.state_url) as store:
        assert store.read(lambda c: step_by_id(c, int(step.split("-")[1]))).status == "pending"


def test_bob_approves_through_the_api_once_and_the_audit_log_names_him_the_channel_and_address(
    desk: Desk,
) -> None:
    server, prepared = desk
    step = prepared.steps["model-3"]
    url = server.url(f"/api/steps/{step}/approve")

    first = http("POST", url, token=prepared.tokens["bob"], body={"reason": "index is ready"})
    again = http("POST", url, token=prepared.tokens["bob"], body={"reason": "double click"})
    detail = http("GET", server.url(f"/api/steps/{step}"), token=prepared.tokens["bob"]).json()

    assert first.status == 200
    assert first.json() == {
        "step_id": step,
        "status": "approved",
        "message": f"{step} retrieval_augmentation approved; apply it with `modelhealth ladder "
        f"apply {step}`",
    }
    assert again.status == 403
    assert again.json()["detail"].startswith(
        f"{step} (retrieval_augmentation, up) is already approved"
    )
    assert detail["status"] == "approved"
    assert [(a["person"], a["decision"], a["reason"]) for a in detail["approvals"]] == [
        ("bob", "approve", "index is ready")
    ]
    decided = [e for e in _rows(prepared, step) if e.action == "step.approve"]
    assert len(decided) == 1
    assert (decided[0].actor, decided[0].payload["via"]) == (
        "bob",
        {"channel": "api", "address": "127.0.0.1"},
    )
    with LadderStore(prepared.state_url) as store:
        assert store.read(prove).ok


def test_the_inbox_puts_first_what_the_caller_may_act_on(desk: Desk) -> None:
    server, prepared = desk
    bob = http("GET", server.url("/api/inbox"), token=prepared.tokens["bob"]).json()
    dave = http("GET", server.url("/api/inbox"), token=prepared.tokens["dave"]).json()

    # What the desk sends is what its OpenAPI document promises.
    assert InboxOut.model_validate(bob).model_dump(mode="json") == bob

    assert bob["person"] == "bob" and bob["roles"] == ["model_owner"]
    waiting = {i["id"] for i in bob["mine"]}
    assert prepared.steps["model-6"] in waiting
    item = next(i for i in bob["mine"] if i["id"] == prepared.steps["model-6"])
    assert item["may"]["approve"]["allowed"] is True
    assert item["waiting_on"] == ["bob"]
    assert item["url"] == server.url(f"/steps/{item['id']}")
    dues = [i["next_deadline_at"] for i in bob["mine"]]
    assert dues == sorted(dues)
    assert dave["mine"] == []
    assert {i["id"] for i in dave["others"]} == waiting | {i["id"] for i in bob["others"]}


def test_a_rejection_needs_a_reason_and_then_settles_the_step(desk: Desk) -> None:
    server, prepared = desk
    step = prepared.steps["model-4"]
    url = server.url(f"/api/steps/{step}/reject")

    bare = http("POST", url, token=prepared.tokens["bob"], body={"reason": "  "})
    done = http("POST", url, token=prepared.tokens["bob"], body={"reason": "too costly now"})

    assert bare.status == 403 and bare.json()["detail"] == "a rejection needs a reason (--reason)"
    assert done.status == 200 and done.json()["status"] == "rejected"


def test_the_owner_acknowledges_and_reminders_stop(desk: Desk) -> None:
    server, prepared = desk
    step = prepared.steps["model-5"]

    acked = http(
        "POST",
        server.url(f"/api/steps/{step}/ack"),
        token=prepared.tokens["alice"],
        body={"reason": "looking at it with the retrieval team"},
    )
    by_dave = http(
        "POST", server.url(f"/api/steps/{step}/ack"), token=prepared.tokens["dave"], body={}
    )
    detail = http("GET", server.url(f"/api/steps/{step}"), token=prepared.tokens["bob"]).json()

    assert acked.status == 200 and acked.json()["message"] == f"{step} acknowledged by alice"
    assert by_dave.status == 403
    assert by_dave.json()["detail"].startswith("dave neither owns model-5 nor holds")
    assert detail["acknowledged_by"] == "alice"
    row = next(e for e in _rows(prepared, step) if e.action == "step.acknowledged")
    assert row.reason == "looking at it with the retrieval team"


def test_an_unknown_step_is_404(desk: Desk) -> None:
    server, prepared = desk
    bob = prepared.tokens["bob"]
    assert http("GET", server.url("/api/steps/step-999"), token=bob).json() == {
        "detail": "there is no step-999",
        "refusal": "not_found",
    }
    assert http("GET", server.url("/api/steps/nonsense"), token=bob).status == 404


def test_the_cli_decides_through_the_desk_with_a_token_file(desk: Desk, tmp_path: Path) -> None:
    server, prepared = desk
    step = prepared.steps["model-6"]
    token_file = tmp_path / "token"
    token_file.write_text(prepared.tokens["bob"] + "\n")
    token_file.chmod(0o600)
    runner = CliRunner()

    as_someone = runner.invoke(
        app,
        [
            "ladder",
            "approve",
            step,
            "--server",
            server.base,
            "--token-file",
            str(token_file),
            "--as",
            "alice",
        ],
    )
    wrong = runner.invoke(
        app,
        ["ladder", "approve", step, "--server", server.base],
        env={"MODELHEALTH_TOKEN": "mh_forged"},
    )
    refused = runner.invoke(
        app,
        ["ladder", "approve", step, "--server", server.base],
        env={"MODELHEALTH_TOKEN": prepared.tokens["dave"]},
    )
    done = runner.invoke(
        app,
        [
            "ladder",
            "approve",
            step,
            "--server",
            server.base,
            "--token-file",
            str(token_file),
            "--reason",
            "from my laptop",
        ],
    )

    assert as_someone.exit_code == 2 and "--as does not apply with --server" in as_someone.output
    assert wrong.exit_code == 2 and "did not accept the token: unknown token" in wrong.output
    assert refused.exit_code == 2 and "dave holds ml_engineer" in refused.output
    assert done.exit_code == 0, done.output
    assert f"{step} retrieval_augmentation approved" in done.output
    row = next(e for e in _rows(prepared, step) if e.action == "step.approve")
    assert (row.actor, row.reason, row.payload["via"]["channel"]) == (
        "bob",
        "from my laptop",
        "api",
    )


def test_pages_send_a_stranger_to_the_login_page(desk: Desk) -> None:
    server, _ = desk
    page = http("GET", server.url("/steps/step-1"))
    post = http("POST", server.url("/steps/step-1/approve"), form={"reason": "x"})

    assert page.status == 303 and page.header("Location") == "/login?next=/steps/step-1"
    assert post.status == 303 and (post.header("Location") or "").startswith("/login")


def test_signing_in_sets_a_signed_httponly_session_that_ends_when_the_token_is_revoked(
    desk: Desk,
) -> None:
    server, prepared = desk
    form = http("GET", server.url("/login?next=/inbox"))
    anonymous = cookie_value(form, COOKIE)
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert form.status == 200 and anonymous is not None and csrf is not None

    no_csrf = http(
        "POST",
        server.url("/login"),
        form={"token": prepared.tokens["carol"]},
        cookies={COOKIE: anonymous},
    )
    bad = http(
        "POST",
        server.url("/login"),
        form={"token": "mh_nope", "csrf": csrf[1]},
        cookies={COOKIE: anonymous},
    )
    signed_in = http(
        "POST",
        server.url("/login"),
        form={"token": prepared.tokens["carol"], "csrf": csrf[1], "next": "/inbox"},
        cookies={COOKIE: anonymous},
    )
    session = cookie_value(signed_in, COOKIE)
    forged = (session or "")[:-2] + ("AA" if not (session or "").endswith("AA") else "BB")

    assert no_csrf.status == 403 and "CSRF token is missing" in no_csrf.text
    assert bad.status == 401 and "Not signed in: unknown token" in bad.text
    assert signed_in.status == 303 and signed_in.header("Location") == "/inbox"
    line = signed_in.cookies()[COOKIE].lower()
    assert "httponly" in line and "samesite=lax" in line and "secure" not in line
    assert http("GET", server.url("/inbox"), cookies={COOKIE: session or ""}).status == 200
    assert http("GET", server.url("/inbox"), cookies={COOKIE: forged}).status == 303

    with LadderStore(prepared.state_url) as store:
        revoke_tokens(
            store,
            "carol",
            register=prepared.register,
            admin="alice",
            now=prepared.now + timedelta(minutes=1),
            origin=Origin("cli", "test"),
        )
    after = http("GET", server.url("/inbox"), cookies={COOKIE: session or ""})
    api = http("GET", server.url("/api/inbox"), token=prepared.tokens["carol"])
    assert after.status == 303 and (after.header("Location") or "").startswith("/login")
    assert api.status == 401 and "was revoked" in api.json()["detail"]


def test_a_register_file_that_differs_from_the_pin_changes_nothing_but_shows_a_banner(
    tmp_path: Path,
) -> None:
    prepared = prepare_state(f"sqlite:///{tmp_path / 'state.db'}", tmp_path, people=("bob", "dave"))
    # The file now makes dave a model owner; the store's pin does not.
    prepared.register_path.write_text(
        REGISTER_YAML.replace("{extra_models}", "").replace(
            "dave: [ml_engineer]", "dave: [ml_engineer, model_owner]"
        )
    )
    with DeskServer(prepared, tmp_path / "server.log") as server:
        refused = http(
            "POST",
            server.url("/api/steps/step-1/approve"),
            token=prepared.tokens["dave"],
            body={"reason": "the file says I may"},
        )
        login = http("GET", server.url("/login"))

    assert refused.status == 403
    assert refused.json()["detail"] == (
        "dave holds ml_engineer; deciding retrieval_augmentation needs one of model_owner"
    )
    assert "the register file differs from the people pinned in the state store" in login.text
    assert "dave: ml_engineer → ml_engineer, model_owner" in login.text
