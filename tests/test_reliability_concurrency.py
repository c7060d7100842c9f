"""Many people deciding the same step at once while the nightly check runs, on SQLite.

Each round copies a state store in which ``step-1`` (retrieval augmentation for the
support assistant) waits for three approvals, then starts, each in its own process at
the same moment, six decisions on that step — approvals, a rejection, acknowledgements,
one person deciding twice from two terminals — while ``modelhealth check`` of the next
night writes to the same database (started first, with the decisions landing at a
seeded offset into its run). Whatever the interleaving:

* every command exits 0 (done) or 2 (refused, with a reason), never with "database is
  locked" or a traceback: the store retries locks and lost races with backoff;
* each decision is in the audit log exactly once: a recorded decision for exit 0, a
  ``refused.*`` row for exit 2 (an acknowledgement of an already acknowledged step
  changes nothing and says so);
* no update is lost: the approvals table holds exactly the decisions that exited 0, one
  per person, and the step's status follows from them in order (three approvals →
  approved; a rejection first → rejected; nothing is counted after the step settled);
* the night is recorded once, the audit chain verifies, the database is intact.

``tests/test_ladder_concurrency.py`` races two approvals in-process; this is the
command-line, many-process version with a writer of another kind in the mix.
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import time
from collections import Counter
from pathlib import Path

import pytest
from reliability_corpus import CliProcesses, CliResult, shared_cli

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "data" / "demo" / "logs"
ROUNDS = 4
#: Other seeds give other interleavings: MODELHEALTH_RELIABILITY_SEED=7 pytest …
SEED = int(os.environ.get("MODELHEALTH_RELIABILITY_SEED", "1017"))

#: The example register with more approvers, three approvals needed for the rung, and a
#: more generous lock budget is *not* configured: the defaults must cope.
PEOPLE = ("bob", "p1", "p2", "p3", "p4")


def register_text() -> str:
    text = (ROOT / "data" / "register.yaml").read_text()
    text = text.replace(
        "  dave: [ml_engineer]\n",
        "  dave: [ml_engineer]\n" + "".join(f"  {p}: [model_owner]\n" for p in PEOPLE[1:]),
    )
    text = text.replace(
        "retrieval_augmentation: {time_days: 7, evaluation_days: 5}",
        "retrieval_augmentation: {time_days: 7, evaluation_days: 5, approval: {min_approvals: 3}}",
    )
    assert "min_approvals: 3" in text and "p4: [model_owner]" in text
    return text


def check(home: Path, register: Path, night: str, state: Path) -> list[str]:
    morning = f"{night[:-2]}{int(night[-2:]) + 1:02d}T06:00:00+00:00"
    return [
        "check",
        "--register",
        str(register),
        "--logs",
        str(LOGS),
        "--as-of",
        night,
        "--out",
        str(home / "out" / night),
        "--state",
        f"sqlite:///{state}",
        "--no-tracking",
        "--no-drift",
        "--now",
        morning,
    ]


def decision(person: str, action: str, register: Path, state: Path) -> list[str]:
    args = [
        "ladder",
        action,
        "step-1",
        "--as",
        person,
        "--register",
        str(register),
        "--state",
        f"sqlite:///{state}",
        "--now",
        "2026-10-18T09:00:00+00:00",
    ]
    if action == "reject":
        args += ["--reason", f"{person} thinks retrieval will not fix it"]
    return args


@pytest.fixture(scope="module")
def cli() -> CliProcesses:
    return shared_cli()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, cli: CliProcesses) -> tuple[Path, Path]:
    """A register and a state store where step-1 waits for three approvals."""
    home = tmp_path_factory.mktemp("concurrency")
    register = home / "register.yaml"
    register.write_text(register_text())
    state = home / "template.db"
    result = cli.run(check(home, register, "2026-10-16", state))
    assert result.code == 0, result.stderr
    with sqlite3.connect(state) as conn:
        rows = conn.execute("SELECT id, status, approvals_required FROM ladder_steps").fetchall()
    assert rows == [(1, "pending", 3)]
    return register, state


def plan_round(rng: random.Random) -> list[tuple[str, str]]:
    """Six decisions on step-1: at least three approvals, someone deciding twice."""
    people = list(PEOPLE)
    rng.shuffle(people)
    actions = ["approve", "approve", "approve", rng.choice(["reject", "approve"]), "ack"]
    moves = list(zip(people, actions, strict=True))
    twice = rng.choice(moves)
    moves.append(twice)
    rng.shuffle(moves)
    return moves


def audit_rows(state: Path, first_seq: int) -> list[tuple[str, str]]:
    with sqlite3.connect(state) as conn:
        return conn.execute(
            "SELECT actor, action FROM ladder_audit WHERE seq > ? AND subject = 'step-1' "
            "ORDER BY seq",
            (first_seq,),
        ).fetchall()


def assert_clean(result: CliResult) -> None:
    text = result.stdout + result.stderr
    assert "Traceback" not in text, text
    assert "locked" not in text.lower(), text
    assert "busy" not in text.lower(), text


@pytest.mark.slow
def test_concurrent_decisions_and_a_check_record_each_decision_once(
    tmp_path: Path, template: tuple[Path, Path], cli: CliProcesses
) -> None:
    register, source = template
    rng = random.Random(SEED)
    operations = refusals = 0
    for round_no in range(ROUNDS):
        home = tmp_path / f"round-{round_no}"
        home.mkdir()
        state = home / "state.db"
        shutil.copyfile(source, state)
        with sqlite3.connect(state) as conn:
            (first_seq,) = conn.execute("SELECT MAX(seq) FROM ladder_audit").fetchone()
        moves = plan_round(rng)
        [nightly] = cli.start([check(home, register, "2026-10-17", state)])
        time.sleep(rng.uniform(0.0, 2.5))  # land the decisions somewhere in the check's run
        running = cli.start([decision(p, a, register, state) for p, a in moves])
        results = cli.wait(running)
        [night] = cli.wait([nightly])
        operations += len(moves) + 1

        assert night.code == 0, night.stderr
        assert_clean(night)
        for result in results:
            assert_clean(result)
            assert result.code in (0, 2), result.stderr
        refusals += sum(r.code == 2 for r in results)

        # Every decision is audited exactly once: done, or refused with a reason.
        audited = Counter(audit_rows(state, first_seq))
        done_word = {"approve": "step.approve", "reject": "step.reject", "ack": "step.acknowledged"}
        for result in results:
            if result.code == 2:
                assert result.stderr.startswith("error:"), result.stderr
        for person in PEOPLE:
            mine = [(a, r) for (p, a), r in zip(moves, results, strict=True) if p == person]
            for action in ("approve", "reject", "ack"):
                tried = [r for a, r in mine if a == action]
                done = [r for r in tried if r.code == 0]
                refused = [r for r in tried if r.code == 2]
                quiet = [r for r in done if "already acknowledged" in r.stdout]
                assert audited[(person, done_word[action])] == len(done) - len(quiet), (
                    person,
                    action,
                    [r.stdout + r.stderr for r in tried],
                )
                assert audited[(person, f"refused.{action}")] == len(refused), (
                    person,
                    action,
                    [r.stderr for r in refused],
                )

        with sqlite3.connect(state) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            decided = conn.execute(
                "SELECT person, decision FROM ladder_approvals WHERE step_id = 1 ORDER BY id"
            ).fetchall()
            status, approved_at = conn.execute(
                "SELECT status, approved_at FROM ladder_steps WHERE id = 1"
            ).fetchone()
            nights = conn.execute(
                "SELECT COUNT(*) FROM ladder_nights WHERE night = '2026-10-17' GROUP BY model_id"
            ).fetchall()
        # No lost update: exactly the decisions that exited 0, one per person.
        succeeded = sorted(
            (p, "approve" if a == "approve" else "reject")
            for (p, a), r in zip(moves, results, strict=True)
            if r.code == 0 and a in ("approve", "reject")
        )
        assert sorted(decided) == succeeded
        assert len({p for p, _ in decided}) == len(decided)
        # The status follows from the decisions in the order they were recorded.
        approvals = 0
        expected = "pending"
        for _person, kind in decided:
            assert expected == "pending", f"a decision was counted after the step {expected}"
            if kind == "reject":
                expected = "rejected"
            else:
                approvals += 1
                expected = "approved" if approvals == 3 else "pending"
        assert status == expected, (status, decided)
        assert (approved_at is not None) == (status == "approved")
        assert nights and {n for (n,) in nights} == {1}
        verify = cli.run(["ladder", "audit", "verify", "--state", f"sqlite:///{state}"])
        assert verify.code == 0, verify.stdout + verify.stderr
    print(
        f"\nconcurrency: {ROUNDS} rounds, {operations} concurrent operations, "
        f"{refusals} refused with a reason, 0 'database is locked'"
    )
