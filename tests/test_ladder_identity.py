"""Approvals cannot be made in someone else's name.

* the CLI acts as the real OS account: ``LOGNAME=bob`` does not make anyone bob;
* the people, roles and identity section are pinned in the store on first use; a
  register copy that promotes dave is refused, naming what differs; an admin adopts a new
  version with ``ladder register pin``, never promoting themselves; the nightly check
  keeps routing by the pinned people when the file changes;
* ``apply`` re-checks the money: a step approved at USD 12,600 is not applied once the
  budget is cut to USD 5,000;
* every decision records the channel and the source address it came from.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from ladder_factories import (
    HALLUCINATING_TEST_NIGHTS,
    REGISTER_YAML,
    Timeline,
    make_register,
    steps_of,
)

from ladder import audit
from ladder.actions import apply_step, approve
from ladder.audit import Origin
from ladder.errors import Refused
from ladder.pins import current_pin, pin_register
from ladder.proof import prove
from ladder.store import LadderStore

ROOT = Path(__file__).resolve().parents[1]
ME = pwd.getpwuid(os.getuid()).pw_name


@pytest.fixture
def store(state_url: str) -> Iterator[LadderStore]:
    handle = LadderStore(state_url)
    yield handle
    handle.close()


def opened(store: LadderStore, register_yaml: str = "", top_yaml: str = "") -> Timeline:
    tl = Timeline(store, make_register(register_yaml, top_yaml=top_yaml))
    for breaches, mode in HALLUCINATING_TEST_NIGHTS:
        tl.play(breaches, mode=mode)
    return tl


def with_people(**people: list[str]) -> object:
    return make_register().model_copy(
        update={
            "people": {
                "alice": ["model_owner", "ml_lead"],
                "bob": ["model_owner"],
                "carol": ["ml_lead", "finance"],
                "dave": ["ml_engineer"],
                **people,
            }
        }
    )


def test_logname_does_not_make_the_os_account_bob(tmp_path: Path) -> None:
    assert ME != "bob"
    register = tmp_path / "register.yaml"
    register.write_text(
        REGISTER_YAML.replace("{extra_models}", "").replace(
            "identity:\n  allow_as: true", "identity:\n  source: os_user\n  allow_as: false"
        )
    )
    store = LadderStore(f"sqlite:///{tmp_path / 'state.db'}")
    from thresholds.loader import load_register

    tl = Timeline(store, load_register(register).register)
    for breaches, mode in HALLUCINATING_TEST_NIGHTS:
        tl.play(breaches, mode=mode)
    env = {**os.environ, "LOGNAME": "bob", "USER": "bob", "USERNAME": "bob"}

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "modelhealth",
            "ladder",
            "approve",
            "step-1",
            "--register",
            str(register),
            "--state",
            store.url,
            "--now",
            tl.office_hours().isoformat(),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )

    assert result.returncode == 2, result.stderr
    assert f"'{ME}' is not among the register's people" in " ".join(result.stderr.split())
    assert steps_of(store)[0].approvers == ()
    last = store.read(audit.entries)[-1]
    assert (last.actor, last.action) == (ME, "refused.approve")
    assert last.payload["via"]["channel"] == "cli"
    store.close()


def test_a_register_copy_that_promotes_dave_is_refused_naming_the_difference(
    store: LadderStore,
) -> None:
    tl = opened(store)
    forged = with_people(dave=["ml_engineer", "model_owner"])

    with pytest.raises(Refused) as refused:
        approve(store, "step-1", person="dave", register=forged, now=tl.office_hours())

    message = str(refused.value)
    assert "differs from the people, roles and identity pinned in the state store" in message
    assert "dave: ml_engineer → ml_engineer, model_owner" in message
    assert "a holder of ml_lead adopts it with `modelhealth ladder register pin" in message
    assert steps_of(store)[0].status == "pending"
    last = store.read(audit.entries)[-1]
    assert (last.actor, last.action) == ("dave", "refused.approve")
    assert "dave: ml_engineer → ml_engineer, model_owner" in last.reason


def test_only_an_admin_pins_a_new_register_and_never_promotes_themselves(
    store: LadderStore,
) -> None:
    tl = opened(store)
    now = tl.office_hours()
    promoted = with_people(dave=["ml_engineer", "model_owner"])

    def pin(register: object, person: str) -> object:
        return store.write(
            lambda c: pin_register(
                c,
                register,
                person=person,
                now=now,  # type: ignore[arg-type]
                reason="dave covers for bob",
            )
        )

    with pytest.raises(Refused, match="bob holds none of ml_lead in pin 1"):
        pin(promoted, "bob")
    with pytest.raises(
        Refused,
        match="self-promotion: carol may not pin a register that grants themselves model_owner",
    ):
        pin(with_people(carol=["ml_lead", "finance", "model_owner"]), "carol")
    admin_owners = make_register(top_yaml="").model_copy(
        update={
            "identity": make_register().identity.model_copy(
                update={"admin_roles": ["ml_lead", "finance"]}
            )
        }
    )
    with pytest.raises(Refused, match="self-promotion: carol may not make a role they hold"):
        pin(admin_owners, "carol")

    adopted, changes = pin(promoted, "carol")  # type: ignore[misc]

    assert changes == ["dave: ml_engineer → ml_engineer, model_owner"]
    assert (adopted.version, adopted.pinned_by) == (2, "carol")
    result = approve(store, "step-1", person="dave", register=promoted, now=now)
    assert result.status == "approved"
    pinned = next(
        e for e in store.read(audit.entries) if e.action == "register.pinned" and e.actor == "carol"
    )
    assert pinned.reason == "dave covers for bob"
    assert store.read(prove).ok


def test_the_nightly_check_keeps_the_pinned_people_and_says_so_once(store: LadderStore) -> None:
    tl = opened(store)
    tl.register = with_people(dave=["ml_engineer", "model_owner"])  # type: ignore[assignment]

    tl.healthy(1)
    tl.healthy(1)

    # Not dave; carol (ml_lead) may decide too since the step went to the next level.
    assert tl.last is not None and tl.last.approvers == ["bob", "carol"]
    differs = [e for e in store.read(audit.entries) if e.action == "register.differs"]
    assert len(differs) == 1
    assert "dave: ml_engineer → ml_engineer, model_owner" in differs[0].reason
    pin = store.read(current_pin)
    assert pin is not None and pin.version == 1 and "model_owner" not in pin.people["dave"]


def test_apply_refuses_a_step_approved_at_12_6k_after_the_budget_is_cut_to_5k(
    store: LadderStore,
) -> None:
    tl = opened(store)
    now = tl.office_hours()
    approve(store, "step-1", person="bob", register=tl.register, now=now)
    cut = make_register("ladder:\n  budget: {amount: 5000, currency: USD, period: quarter}")

    with pytest.raises(Refused) as refused:
        apply_step(store, "step-1", person="dave", register=cut, now=now + timedelta(hours=1))

    assert str(refused.value) == (
        "the guardrails are checked again at apply: step-1 (retrieval_augmentation) was "
        "approved at USD 12,600 but the quarter's budget for support-assistant is now "
        "USD 5,000 with USD 0 committed by other steps since 2025-04-01: applying it would "
        "overspend by USD 7,600; to go on, raise ladder.budget.amount for support-assistant "
        "to at least USD 12,600, or reject it: `modelhealth ladder reject step-1 --reason …`"
    )
    assert steps_of(store)[0].status == "approved"
    applied = apply_step(
        store, "step-1", person="dave", register=tl.register, now=now + timedelta(hours=2)
    )
    assert applied.status == "evaluating"


def test_a_decision_records_its_channel_and_source_address(store: LadderStore) -> None:
    tl = opened(store)

    approve(
        store,
        "step-1",
        person="bob",
        register=tl.register,
        now=tl.office_hours(),
        origin=Origin("web", "203.0.113.7"),
    )

    row = next(e for e in store.read(audit.entries) if e.action == "step.approve")
    assert (row.actor, row.payload["via"]) == ("bob", {"channel": "web", "address": "203.0.113.7"})
