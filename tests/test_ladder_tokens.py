"""Desk tokens: an admin issues one for a pinned person; it is shown once, stored as a
hash, expires and can be revoked; :func:`authenticate` is what the desk will call."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from ladder_factories import REGISTER_YAML, START, Timeline, make_register, run_time
from sqlalchemy import text
from typer.testing import CliRunner

from ladder import audit
from ladder.audit import Origin
from ladder.errors import Refused
from ladder.proof import prove
from ladder.store import LadderStore
from ladder.tokens import AuthRefusal, Person, authenticate, create_token, revoke_tokens
from modelhealth.cli import app

NOW = run_time(START)
DESK = Origin("cli", "ops-host:/dev/pts/3")


@pytest.fixture
def store(state_url: str) -> Iterator[LadderStore]:
    handle = LadderStore(state_url)
    Timeline(handle, make_register()).healthy(1)  # the nightly check pinned the people
    yield handle
    handle.close()


def test_a_token_authenticates_its_person_until_it_expires(store: LadderStore) -> None:
    issued = create_token(
        store,
        person="bob",
        register=make_register(),
        admin="carol",
        now=NOW,
        lifetime=timedelta(days=90),
        origin=DESK,
    )

    assert issued.token.startswith("mh_") and len(issued.token) == 46
    assert authenticate(store, issued.token, NOW + timedelta(days=89)) == Person(
        "bob", ("model_owner",), issued.id
    )
    assert authenticate(store, issued.token, NOW + timedelta(days=90)) == AuthRefusal(
        f"token-{issued.id} expired on {issued.expires_at:%Y-%m-%d %H:%M} UTC"
    )
    assert authenticate(store, issued.token[:-1] + "x", NOW) == AuthRefusal("unknown token")
    assert authenticate(store, "Bearer nonsense", NOW) == AuthRefusal("not a modelhealth token")
    stored = store.read(lambda c: c.execute(text("SELECT digest, hint FROM ladder_tokens")).one())
    assert stored.digest == hashlib.sha256(issued.token.encode()).hexdigest()
    assert stored.hint == issued.token[-4:]
    row = store.read(audit.entries)[-1]
    assert (row.actor, row.action, row.payload["person"]) == ("carol", "token.created", "bob")
    assert issued.token not in str(row.payload)
    assert store.read(prove).ok


def test_a_revoked_token_no_longer_authenticates(store: LadderStore) -> None:
    register = make_register()
    first = create_token(
        store,
        person="bob",
        register=register,
        admin="carol",
        now=NOW,
        lifetime=timedelta(days=30),
        origin=DESK,
    )
    second = create_token(
        store,
        person="bob",
        register=register,
        admin="carol",
        now=NOW,
        lifetime=timedelta(days=30),
        origin=DESK,
    )

    assert revoke_tokens(store, "bob", register=register, admin="alice", now=NOW, origin=DESK) == [
        first.id,
        second.id,
    ]
    assert authenticate(store, first.token, NOW) == AuthRefusal(
        f"token-{first.id} was revoked on {NOW:%Y-%m-%d %H:%M} UTC by alice"
    )
    assert store.read(prove).ok


def test_only_an_admin_issues_tokens_and_only_for_pinned_people(store: LadderStore) -> None:
    register = make_register()
    with pytest.raises(Refused, match="bob holds none of ml_lead"):
        create_token(
            store,
            person="bob",
            register=register,
            admin="bob",
            now=NOW,
            lifetime=timedelta(days=1),
            origin=DESK,
        )
    with pytest.raises(Refused, match="'erin' is not among the pinned people"):
        create_token(
            store,
            person="erin",
            register=register,
            admin="carol",
            now=NOW,
            lifetime=timedelta(days=1),
            origin=DESK,
        )
    with pytest.raises(Refused, match="a token lives between 1 second and 366 days"):
        create_token(
            store,
            person="bob",
            register=register,
            admin="carol",
            now=NOW,
            lifetime=timedelta(days=400),
            origin=DESK,
        )


def test_a_person_removed_from_the_pinned_people_cannot_authenticate(store: LadderStore) -> None:
    from ladder.pins import pin_register

    issued = create_token(
        store,
        person="dave",
        register=make_register(),
        admin="carol",
        now=NOW,
        lifetime=timedelta(days=30),
        origin=DESK,
    )
    without_dave = make_register().model_copy(
        update={
            "people": {
                "alice": ["model_owner", "ml_lead"],
                "bob": ["model_owner"],
                "carol": ["ml_lead", "finance"],
            }
        }
    )
    store.write(lambda c: pin_register(c, without_dave, person="carol", now=NOW, reason="left"))

    assert authenticate(store, issued.token, NOW) == AuthRefusal(
        "dave is no longer among the pinned people"
    )


def test_people_token_commands_create_list_and_revoke(store: LadderStore, tmp_path: Path) -> None:
    register = tmp_path / "register.yaml"
    register.write_text(REGISTER_YAML.replace("{extra_models}", ""))
    runner = CliRunner()
    common = ["--register", str(register), "--state", store.url, "--now", NOW.isoformat()]

    created = runner.invoke(
        app, ["people", "token", "create", "bob", "--as", "carol", "--expires", "30d", *common]
    )
    refused = runner.invoke(app, ["people", "token", "create", "bob", "--as", "dave", *common])

    assert created.exit_code == 0, created.output
    token = created.output.split()[-1]
    assert token.startswith("mh_")
    assert "valid until 2025-05-08 02:00 UTC" in created.output
    assert isinstance(authenticate(store, token, NOW), Person)
    assert refused.exit_code == 2 and "dave holds none of ml_lead" in refused.output
    listed = runner.invoke(app, ["people", "token", "list", *common], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert f"…{token[-4:]}" in listed.output and "active" in listed.output
    assert token not in listed.output
    revoked = runner.invoke(app, ["people", "token", "revoke", "token-1", "--as", "alice", *common])
    assert revoked.exit_code == 0, revoked.output
    assert "revoked token-1" in revoked.output
    assert isinstance(authenticate(store, token, NOW), AuthRefusal)
