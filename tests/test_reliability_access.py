"""Who may decide, as an attacker and a clumsy user would test it, through real processes.

Every command runs as ``python -m modelhealth ladder …`` in its own process against a
state store in which the nightly check opened ``step-1`` (retrieval augmentation for the
support assistant, requested by its owner alice; one approval from ``model_owner``).

* Identity comes from the register's source: the operating-system user by default
  (``getpass.getuser()``, root in CI, so that user is put in ``people``), or an
  environment variable; ``--as`` is honoured only where ``identity.allow_as`` is true.
* Only holders of the rung's approver role decide; the requester may not approve their
  own step unless the rung's policy says so; acknowledging and applying need roles too.
* Every refusal exits 2 with a one-line reason, no traceback, and is in the audit log.
* The HTML report of a check whose register and logs are full of script payloads fires no
  dialog in Chromium, and the terminal output survives markup in names and reasons.

``tests/test_ladder_commands.py`` covers the same rules in-process; this file proves them
across process boundaries with the real identity sources.
"""

from __future__ import annotations

import getpass
import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromium import HeadlessChromium
from reliability_corpus import (
    HOSTILE,
    NIGHT,
    NOW,
    REGISTER_YAML,
    CliProcesses,
    CliResult,
    night_rows,
    shared_cli,
    write_parquet,
)

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "data" / "demo" / "logs"
ME = getpass.getuser()
ENV_VAR = "MODELHEALTH_RELIABILITY_ACTOR"
CLOCK = "2026-10-18T09:00:00+00:00"


def register_text(
    *, allow_as: bool, source: str = "os_user", requester_may_approve: bool = False
) -> str:
    """The example register with the OS user among the owners and the identity settings."""
    text = (ROOT / "data" / "register.yaml").read_text()
    identity = f"identity:\n  source: {source}\n  env_var: {ENV_VAR}\n  allow_as: " + (
        "true" if allow_as else "false"
    )
    text = text.replace(
        "identity:\n  source: os_user\n  allow_as: true          # the demo and tests act as "
        "named people",
        identity,
    )
    if ME not in ("alice", "bob", "carol", "dave"):
        text = text.replace(
            "  dave: [ml_engineer]\n", f"  dave: [ml_engineer]\n  {ME}: [model_owner]\n"
        )
    if requester_may_approve:
        text = text.replace(
            "retrieval_augmentation: {time_days: 7, evaluation_days: 5}",
            "retrieval_augmentation: {time_days: 7, evaluation_days: 5, "
            "approval: {requester_may_approve: true}}",
        )
    assert identity in text
    return text


@pytest.fixture(scope="module")
def cli() -> CliProcesses:
    return shared_cli()


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory, cli: CliProcesses) -> dict[bool, Path]:
    """State stores after the breach night: step-1 pending, requested by alice; one whose
    policy lets the requester approve, one whose policy does not."""
    home = tmp_path_factory.mktemp("access")
    out: dict[bool, Path] = {}
    commands = []
    for may in (False, True):
        register = home / f"register-{may}.yaml"
        register.write_text(register_text(allow_as=True, requester_may_approve=may))
        out[may] = home / f"state-{may}.db"
        commands.append(
            [
                "check",
                "--register",
                str(register),
                "--logs",
                str(LOGS),
                "--as-of",
                "2026-10-16",
                "--out",
                str(home / f"out-{may}"),
                "--state",
                f"sqlite:///{out[may]}",
                "--no-tracking",
                "--no-drift",
                "--now",
                "2026-10-17T06:00:00+00:00",
            ]
        )
    for result in cli.run_together(commands):
        assert result.code == 0, result.stderr
    for db in out.values():
        with sqlite3.connect(db) as conn:
            step = conn.execute("SELECT status, requested_by FROM ladder_steps").fetchall()
        assert step == [("pending", "alice")]
    return out


class Desk:
    """One state store and the registers to act under, with the audit log to read back."""

    def __init__(self, folder: Path, template: Path, cli: CliProcesses) -> None:
        self.folder = folder
        self.state = folder / "state.db"
        shutil.copyfile(template, self.state)
        self.cli = cli
        self.refusals = 0
        self._registers: dict[str, Path] = {}

    def register(self, **settings: object) -> Path:
        key = json.dumps(settings, sort_keys=True)
        if key not in self._registers:
            path = self.folder / f"register-{len(self._registers)}.yaml"
            path.write_text(register_text(**settings))  # type: ignore[arg-type]
            self._registers[key] = path
        return self._registers[key]

    def run(self, *args: str, register: Path, env: dict[str, str] | None = None) -> CliResult:
        result = self.cli.run(
            [
                "ladder",
                *args,
                "--register",
                str(register),
                "--state",
                f"sqlite:///{self.state}",
                "--now",
                CLOCK,
            ],
            env=env,
        )
        assert "Traceback" not in result.stdout + result.stderr, result.stderr
        if result.code == 2:
            assert result.stderr.startswith("error:"), result.stderr
            assert len(result.stderr.strip().splitlines()) <= 3, result.stderr
            self.refusals += 1
        return result

    def adopt(self, register: Path) -> None:
        """An admin (carol, ml_lead) pins ``register``'s identity section, as a team does
        before acting under a stricter one: the check pinned the demo's on first use."""
        from datetime import datetime

        from ladder.pins import pin_register
        from ladder.store import LadderStore
        from thresholds.loader import load_register

        loaded = load_register(register).register
        store = LadderStore(f"sqlite:///{self.state}")
        try:
            store.write(
                lambda c: pin_register(
                    c,
                    loaded,
                    person="carol",
                    now=datetime.fromisoformat(CLOCK),
                    reason="stricter identity",
                )
            )
        finally:
            store.close()

    def audit(self) -> list[tuple[str, str, str, str]]:
        with sqlite3.connect(self.state) as conn:
            return conn.execute(
                "SELECT actor, action, subject, reason FROM ladder_audit ORDER BY seq"
            ).fetchall()

    def refused(self) -> list[tuple[str, str, str, str]]:
        return [row for row in self.audit() if row[1].startswith("refused.")]

    def approvals(self) -> list[tuple[str, str]]:
        with sqlite3.connect(self.state) as conn:
            return conn.execute("SELECT person, decision FROM ladder_approvals").fetchall()


@pytest.fixture
def desk(tmp_path: Path, templates: dict[bool, Path], cli: CliProcesses) -> Iterator[Desk]:
    d = Desk(tmp_path, templates[False], cli)
    yield d
    # Every refusal the commands printed is in the audit log, and the chain still holds.
    assert len(d.refused()) == d.refusals
    verify = cli.run(["ladder", "audit", "verify", "--state", f"sqlite:///{d.state}"])
    assert verify.code == 0, verify.stdout + verify.stderr


def test_as_is_refused_everywhere_unless_the_register_allows_it_and_each_refusal_is_audited(
    desk: Desk,
) -> None:
    strict = desk.register(allow_as=False)
    attempts = [
        ("approve", "step-1", "--as", "bob"),
        ("reject", "step-1", "--as", "bob", "--reason", "no"),
        ("ack", "step-1", "--as", "bob"),
        ("apply", "step-1", "--as", "bob"),
        ("event", "add", "price_change", "--as", "bob"),
    ]
    for args in attempts:
        result = desk.run(*args, register=strict)
        assert result.code == 2
        assert "--as bob refused" in result.stderr and "identity.allow_as" in result.stderr
        assert f"you are {ME}" in result.stderr
    refused = desk.refused()
    assert [(actor, action) for actor, action, _, _ in refused] == [(ME, "refused.identity")] * len(
        attempts
    )
    assert [subject for _, _, subject, _ in refused] == [
        "step-1",
        "step-1",
        "step-1",
        "step-1",
        "event:price_change",
    ]
    assert desk.approvals() == []
    # The same --as under a register that allows it acts as bob.
    allowed = desk.run("approve", "step-1", "--as", "bob", register=desk.register(allow_as=True))
    assert allowed.code == 0, allowed.stderr
    assert desk.approvals() == [("bob", "approve")]


def test_without_as_the_operating_system_user_acts(desk: Desk) -> None:
    strict = desk.register(allow_as=False)
    desk.adopt(strict)
    ack = desk.run("ack", "step-1", register=strict)
    assert ack.code == 0, ack.stderr
    assert f"acknowledged by {ME}" in ack.stdout
    done = desk.run("approve", "step-1", "--reason", "grounding fixes this", register=strict)
    if ME == "alice":  # the requester: separation of duties
        assert done.code == 2
        return
    assert done.code == 0, done.stderr
    assert desk.approvals() == [(ME, "approve")]
    actions = [(actor, action) for actor, action, subject, _ in desk.audit() if subject == "step-1"]
    assert (ME, "step.acknowledged") in actions and (ME, "step.approve") in actions


def test_an_environment_variable_can_be_the_identity_source(desk: Desk) -> None:
    from_env = desk.register(allow_as=False, source="env")
    desk.adopt(from_env)
    unset = desk.run("approve", "step-1", register=from_env, env={ENV_VAR: ""})
    assert unset.code == 2 and f"${ENV_VAR}" in unset.stderr and "not set" in unset.stderr
    stranger = desk.run("approve", "step-1", register=from_env, env={ENV_VAR: "mallory"})
    assert stranger.code == 2 and "not among the register's people" in stranger.stderr
    as_anyone = desk.run(
        "approve", "step-1", "--as", "bob", register=from_env, env={ENV_VAR: "dave"}
    )
    assert as_anyone.code == 2 and "you are dave" in as_anyone.stderr
    bob = desk.run("approve", "step-1", register=from_env, env={ENV_VAR: "bob"})
    assert bob.code == 0, bob.stderr
    assert desk.approvals() == [("bob", "approve")]
    refused = [(actor, action) for actor, action, _, _ in desk.refused()]
    assert refused == [
        ("unknown", "refused.identity"),
        ("mallory", "refused.approve"),
        ("dave", "refused.identity"),
    ]


def test_only_holders_of_the_rungs_approver_role_decide(desk: Desk) -> None:
    named = desk.register(allow_as=True)
    dave = desk.run("approve", "step-1", "--as", "dave", register=named)
    assert dave.code == 2 and "dave holds ml_engineer" in dave.stderr
    assert "model_owner" in dave.stderr
    carol = desk.run("reject", "step-1", "--as", "carol", "--reason", "too dear", register=named)
    assert carol.code == 2 and "needs one of model_owner" in carol.stderr
    nobody = desk.run("ack", "step-1", "--as", "dave", register=named)
    assert nobody.code == 2 and "cannot acknowledge" in nobody.stderr
    ghost = desk.run("approve", "step-1", "--as", "ghost", register=named)
    assert ghost.code == 2 and "not among the register's people" in ghost.stderr
    early = desk.run("apply", "step-1", "--as", "bob", register=named)
    assert early.code == 2 and "only an approved step can be applied" in early.stderr
    assert desk.approvals() == []
    bob = desk.run("approve", "step-1", "--as", "bob", register=named)
    assert bob.code == 0, bob.stderr
    outsider = desk.run("apply", "step-1", "--as", "ghost", register=named)
    assert outsider.code == 2 and "not among the register's people" in outsider.stderr
    again = desk.run("approve", "step-1", "--as", "bob", register=named)
    assert again.code == 2 and "already approved" in again.stderr
    assert [(actor, action) for actor, action, _, _ in desk.refused()] == [
        ("dave", "refused.approve"),
        ("carol", "refused.reject"),
        ("dave", "refused.ack"),
        ("ghost", "refused.approve"),
        ("bob", "refused.apply"),
        ("ghost", "refused.apply"),
        ("bob", "refused.approve"),
    ]


def test_the_requester_may_not_approve_their_own_step_unless_the_policy_says_so(
    tmp_path: Path, templates: dict[bool, Path], cli: CliProcesses
) -> None:
    for name in ("forbidden", "allowed"):
        (tmp_path / name).mkdir()
    forbidden = Desk(tmp_path / "forbidden", templates[False], cli)
    own = forbidden.run(
        "approve", "step-1", "--as", "alice", register=forbidden.register(allow_as=True)
    )
    assert own.code == 2 and "separation of duties: alice requested step-1" in own.stderr
    assert [(a, b) for a, b, _, _ in forbidden.refused()] == [("alice", "refused.approve")]
    assert forbidden.approvals() == []
    # Rejecting your own request is always allowed: it spends nothing.
    withdraw = forbidden.run(
        "reject",
        "step-1",
        "--as",
        "alice",
        "--reason",
        "withdrawn",
        register=forbidden.register(allow_as=True),
    )
    assert withdraw.code == 0, withdraw.stderr

    allowed = Desk(tmp_path / "allowed", templates[True], cli)
    ok = allowed.run(
        "approve",
        "step-1",
        "--as",
        "alice",
        register=allowed.register(allow_as=True, requester_may_approve=True),
    )
    assert ok.code == 0, ok.stderr
    assert allowed.approvals() == [("alice", "approve")]
    assert len(forbidden.refused()) == forbidden.refusals == 1
    assert allowed.refused() == []


# ----------------------------------------------------------------- hostile strings


HOSTILE_NAME = "ops [/x] <script>alert(0)</script>"
HOSTILE_REGISTER = (
    REGISTER_YAML.replace("name: reliability", f'name: "{HOSTILE_NAME}"')
    .replace(
        "  - id: support-bot\n    owner: alice\n",
        "  - id: support-bot\n    owner: alice\n    criticality: 4\n"
        "    thresholds: {error_rate: {max: 0.005}}\n",
    )
    .replace(
        "people:\n",
        "failure_modes:\n  annotations:\n    \"<script>alert('xss')</script>\": hallucination\n"
        "people:\n",
    )
)


@pytest.fixture(scope="module")
def hostile_night(tmp_path_factory: pytest.TempPathFactory, cli: CliProcesses) -> Path:
    """A nightly check whose register name, annotations, segments, output types and feature
    names are script payloads and rich markup (one label 5 MB long), with the ladder
    escalating."""
    home = tmp_path_factory.mktemp("hostile")
    register = home / "register.yaml"
    register.write_text(HOSTILE_REGISTER)
    rows = night_rows()
    for i, row in enumerate(rows):
        row["failure_mode"] = HOSTILE[i % len(HOSTILE)] if i % 3 == 0 else None
        row["segment"] = HOSTILE[i % len(HOSTILE)] + " [/b]"
        row["output_type"] = HOSTILE[(i + 1) % len(HOSTILE)]
        row[f"feature.{HOSTILE[1]}"] = float(i % 7)
        row["error"] = i % 12 == 0
    rows[7]["output_type"] = "<b>" * (5 * 1024 * 1024 // 3)  # a 5 MB label, cut to 200 chars
    write_parquet(home / "logs.parquet", rows)
    result = cli.run(
        [
            "check",
            "--register",
            str(register),
            "--logs",
            str(home / "logs.parquet"),
            "--as-of",
            NIGHT,
            "--now",
            NOW,
            "--out",
            str(home / "out"),
            "--state",
            f"sqlite:///{home / 'state.db'}",
            "--no-tracking",
            "--no-drift",
        ]
    )
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert HOSTILE_NAME in result.stdout
    return home


def test_hostile_names_and_reasons_print_as_text_in_every_ladder_command(
    hostile_night: Path, cli: CliProcesses
) -> None:
    base = [
        "--register",
        str(hostile_night / "register.yaml"),
        "--state",
        f"sqlite:///{hostile_night / 'state.db'}",
    ]
    report = json.loads((hostile_night / "out" / "report.json").read_text())
    [bot] = [m for m in report["models"] if m["model_id"] == "support-bot"]
    step = bot["recommendation"]["id"]
    assert step.startswith("step-")
    reason = "see [/var/log/x] and [bold]this[/bold] <script>alert(1)</script>"
    commands = [
        ["ladder", "ack", step, "--as", "bob", *base],
        ["ladder", "reject", step, "--as", "bob", "--reason", reason, *base],
        ["ladder", "status", *base],
        ["ladder", "status", "support-bot", *base],
        ["ladder", "history", *base],
        ["ladder", "history", "support-bot", *base],
        ["ladder", "diagram", "--format", "text", "--model", "support-bot", *base],
        ["ladder", "matrix", "--model", "support-bot", *base[:2]],
        ["ladder", "stats", *base],
        ["thresholds", "validate", str(hostile_night / "register.yaml")],
        ["thresholds", "show", str(hostile_night / "register.yaml")],
    ]
    for args in commands:
        result = cli.run(args)
        assert result.code == 0, (args, result.stderr)
        assert "Traceback" not in result.stderr
    history = cli.run(["ladder", "history", *base, "--format", "table"])
    assert "[/var/log/x]" in history.stdout.replace("\n", "")
    missing = cli.run(["ladder", "approve", "step-99 [/x]", "--as", "bob", *base])
    assert missing.code == 2 and "step-99 [/x]" in missing.stderr


@pytest.mark.chromium
def test_the_html_report_of_a_hostile_night_fires_no_dialog(
    hostile_night: Path, browser: HeadlessChromium
) -> None:
    page = hostile_night / "out" / "report.html"
    html = page.read_text()
    assert "<script>alert(" not in html
    assert "<img" not in html
    loaded = browser.load(page.as_uri())
    assert loaded.loaded
    assert loaded.problems == []  # no dialog, no console error, no CSP violation
    assert browser.evaluate("document.querySelectorAll('img').length") == 0
    assert browser.evaluate("document.documentElement.scrollWidth") <= 1280
    assert page.stat().st_size < 300_000
    text = browser.evaluate("document.body.innerText")
    assert "<script>alert('xss')</script>" in text  # shown as text, not run


@pytest.mark.slow
@pytest.mark.chromium
def test_the_drift_pages_of_a_hostile_night_fire_no_dialog(
    tmp_path: Path, cli: CliProcesses, browser: HeadlessChromium
) -> None:
    rows = night_rows()
    payloads = ["</script><script>alert('value')</script>", "basic", "pro"]
    for i, row in enumerate(rows):
        # Tonight the hostile value and the hostile column shift, so both drift and are
        # drawn on the drill-down page (written only for drifted columns).
        tonight = row["timestamp"].startswith(NIGHT)
        row["feature.plan"] = payloads[0] if tonight else payloads[i % len(payloads)]
        row["feature.</script><script>alert('name')</script>"] = float(i % 5) + 10 * tonight
    write_parquet(tmp_path / "logs.parquet", rows)
    (tmp_path / "register.yaml").write_text(REGISTER_YAML)
    result = cli.run(
        [
            "check",
            "--register",
            str(tmp_path / "register.yaml"),
            "--logs",
            str(tmp_path / "logs.parquet"),
            "--as-of",
            NIGHT,
            "--now",
            NOW,
            "--out",
            str(tmp_path / "out"),
            "--no-ladder",
        ]
    )
    assert result.code == 0, result.stderr
    pages = sorted((tmp_path / "out").glob("drift-*.html"))
    assert pages
    for page in pages:
        loaded = browser.load(page.as_uri(), settle=1.0)
        assert loaded.loaded
        assert not loaded.dialogs, loaded.dialogs


# ------------------------------------------------------- terminal control characters

#: Escape sequences a hostile id can carry: retitle the window, clear the screen, recolour,
#: move the cursor home and overwrite; a C1 CSI (one byte in some terminals).
CONTROL_ID = "bot\x1b]0;owned\x07\x1b[2J\x1b[31m\x1b[H\r\x9b2J"
CONTROL_REGISTER = (
    REGISTER_YAML.replace("name: reliability", 'name: "ops\\e[2J"')
    .replace(
        "  - id: support-bot\n    owner: alice\n",
        '  - id: "bot\\e]0;owned\\a\\e[2J\\e[31m\\e[H\\r\\x9b2J"\n    owner: "eve\\e[8m"\n'
        "  - id: support-bot\n    owner: alice\n",
    )
    .replace("people:\n", 'people:\n  "eve\\e[8m": [model_owner]\n')
)


def test_control_characters_in_ids_and_names_are_escaped_on_the_console(
    tmp_path: Path, cli: CliProcesses
) -> None:
    """Ids, people, register names and reasons come from files others write: printed,
    an escape sequence would retitle, clear or recolour the reader's terminal (issue 17)."""
    register = tmp_path / "register.yaml"
    register.write_text(CONTROL_REGISTER)
    rows = night_rows()
    for row in rows[:40]:
        row["model_id"] = CONTROL_ID
    write_parquet(tmp_path / "logs.parquet", rows)
    missing = night_rows()
    for row in missing:
        del row["latency_ms"]
        row["feature.\x1b[2Jwipe"] = 1.0
    write_parquet(tmp_path / "missing.parquet", missing)
    state = ["--state", f"sqlite:///{tmp_path / 'state.db'}"]
    check = [
        "check",
        "--register",
        str(register),
        "--as-of",
        NIGHT,
        "--now",
        NOW,
        "--no-tracking",
        "--no-drift",
        *state,
    ]
    commands = [
        ["thresholds", "validate", str(register)],
        ["thresholds", "show", str(register)],
        ["thresholds", "render", str(register)],
        [*check, "--logs", str(tmp_path / "logs.parquet"), "--out", str(tmp_path / "out")],
        ["ladder", "status", "--register", str(register), *state],
        ["ladder", "history", "--register", str(register), *state],
        [
            "ladder",
            "event",
            "add",
            "regulatory_change",
            "--model",
            CONTROL_ID,
            "--note",
            "new rule \x1b[2J",
            "--as",
            "alice",
            "--register",
            str(register),
            *state,
        ],
        [*check, "--logs", str(tmp_path / "missing.parquet"), "--out", str(tmp_path / "o2")],
    ]
    seen_escaped = 0
    for args in commands:
        result = cli.run(args)
        said = result.stdout + result.stderr
        assert "Traceback" not in said, (args, said)
        assert result.code in (0, 2), (args, said)
        assert "\x1b" not in said and "\x9b" not in said, (args, said)
        seen_escaped += "\\x1b" in said
    # The ids were printed (escaped), not dropped: validate, show, render, the check's
    # summary, status, the event and the missing-column message all name them.
    assert seen_escaped >= 6, seen_escaped
