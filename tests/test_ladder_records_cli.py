"""``modelhealth ladder brief | pir | sla-review | stats`` through Typer's CliRunner, on a
store played forward on a fake clock (``--now`` on every command).

The stories are those of test_ladder_briefs.py and test_ladder_post_incident.py:
support-assistant (owner alice) breaches; bob approves, dave applies.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from ladder_factories import REGISTER_YAML, START, open_store, run_time
from sqlalchemy import select
from test_ladder_briefs import hallucinating
from test_ladder_commands import ladder
from test_ladder_post_incident import DUE, FAST_EVALUATION, RESOLVED, at, incident
from test_notify import Receiver, receiver  # noqa: F401  (a real local webhook)
from typer.testing import Result

from ladder.proof import prove
from ladder.store import LadderStore
from ladder.tables import notifications


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LadderStore]:
    handle = open_store(tmp_path)
    yield handle
    handle.close()


def register_file(tmp_path: Path, model_yaml: str = "") -> Path:
    path = tmp_path / "register.yaml"
    text = REGISTER_YAML.replace("{extra_models}", "")
    if model_yaml:
        indented = "\n".join("    " + line for line in model_yaml.strip("\n").splitlines())
        text = text.replace("    criticality: 2\n", "    criticality: 2\n" + indented + "\n", 1)
    path.write_text(text, encoding="utf-8")
    return path


def flat(result: Result) -> str:
    return " ".join(result.output.split())


# --------------------------------------------------------------------------- brief


def test_brief_prints_sends_once_and_delivers_through_the_webhook(
    store: LadderStore,
    tmp_path: Path,
    receiver: Receiver,  # noqa: F811
) -> None:
    hallucinating(store)
    reg = register_file(tmp_path)
    opened = run_time(START + timedelta(days=1))
    eight = (opened + timedelta(hours=8)).isoformat()

    shown = ladder(store, reg, "brief", "esc-1", when=eight)
    sent = ladder(
        store,
        reg,
        "brief",
        "esc-1",
        "--send",
        "--as",
        "alice",
        "--notify",
        receiver.url,
        when=eight,
    )
    again = ladder(
        store,
        reg,
        "brief",
        "esc-1",
        "--send",
        "--as",
        "alice",
        when=(opened + timedelta(hours=9)).isoformat(),
    )

    assert shown.exit_code == 0, shown.output
    assert "Of 1,800 answers checked on those nights, 400 (22.2%) were wrong" in flat(shown)
    assert "| Next update to stakeholders | alice | by " in shown.output
    assert sent.exit_code == 0, sent.output
    assert "sent version 1 of the brief for esc-1 to alice, bob, carol" in flat(sent)
    assert "delivered 2 notifications" in sent.output  # bob's approval request and the brief
    assert any(p["text"].startswith("# Stakeholder brief") for p in receiver.payloads)
    assert again.exit_code == 0, again.output
    assert (
        f"unchanged since version 1, sent {opened + timedelta(hours=8):%Y-%m-%d %H:%M} UTC:"
        " not sent again"
    ) in flat(again)
    assert store.read(prove).ok


def test_brief_as_an_html_page(store: LadderStore, tmp_path: Path) -> None:
    hallucinating(store)
    page = tmp_path / "brief.html"
    result = ladder(
        store,
        register_file(tmp_path),
        "brief",
        "esc-1",
        "--format",
        "html",
        "-o",
        str(page),
        when=at(2).isoformat(),
    )
    assert result.exit_code == 0, result.output
    html = page.read_text(encoding="utf-8")
    assert '<h2 id="impact">1. What is happening</h2>' in html
    assert "Content-Security-Policy" in html and "<script" not in html


def test_brief_refusals_exit_2_with_the_reason(store: LadderStore, tmp_path: Path) -> None:
    hallucinating(store)
    reg = register_file(tmp_path)
    bad_ref = ladder(store, reg, "brief", "step-1", when=at(2).isoformat())
    not_allowed = ladder(
        store, reg, "brief", "esc-1", "--send", "--as", "dave", when=at(2).isoformat()
    )
    unknown = ladder(store, reg, "brief", "esc-9", when=at(2).isoformat())
    bad_format = ladder(store, reg, "brief", "esc-1", "--format", "pdf")

    assert (bad_ref.exit_code, not_allowed.exit_code, unknown.exit_code, bad_format.exit_code) == (
        2,
        2,
        2,
        2,
    )
    assert "'step-1' is not an escalation id" in flat(bad_ref)
    assert "dave neither owns support-assistant" in flat(not_allowed)
    assert "there is no esc-9" in flat(unknown)
    assert "--format must be md or html, not 'pdf'" in flat(bad_format)
    assert "Traceback" not in bad_ref.output + not_allowed.output + unknown.output


# ----------------------------------------------------------------------------- pir


def test_pir_from_the_shell_notes_actions_then_closes_and_lists_it(
    store: LadderStore, tmp_path: Path
) -> None:
    incident(store)
    reg = register_file(tmp_path, FAST_EVALUATION)

    opened = ladder(
        store,
        reg,
        "pir",
        "esc-1",
        "--as",
        "alice",
        "--went-well",
        "the index was ready in a day",
        "--action",
        "bob|2025-04-30|page the on-call ML lead for tier 3",
        when=at(6).isoformat(),
    )
    wrong = ladder(
        store,
        reg,
        "pir",
        "esc-1",
        "--as",
        "alice",
        "--action",
        "eve|soon|x",
        when=at(6).isoformat(),
    )
    early_close = ladder(
        store, reg, "pir", "esc-1", "--as", "alice", "--close", when=at(6).isoformat()
    )
    closed = ladder(
        store,
        reg,
        "pir",
        "esc-1",
        "--as",
        "alice",
        "--improve",
        "nobody saw step-1 for 8 hours",
        "--close",
        "--format",
        "json",
        when=at(7).isoformat(),
    )
    listed = ladder(store, reg, "pir", "--list", "--format", "json", when=at(8).isoformat())

    assert opened.exit_code == 0, opened.output
    assert f"opened the review of esc-1 (due {DUE:%Y-%m-%d %H:%M} UTC)" in flat(opened)
    assert "| resolved | " + f"{RESOLVED:%Y-%m-%d %H:%M} UTC" in opened.output
    assert "- bob | 2025-04-30 | page the on-call ML lead for tier 3" in opened.output
    assert wrong.exit_code == 2
    assert "follow-up owner 'eve' is not one of the register's people" in flat(wrong)
    assert early_close.exit_code == 2
    assert "cannot close without what to improve" in flat(early_close)
    assert closed.exit_code == 0, closed.output
    review = json.loads(closed.output[: closed.output.rindex("}") + 1])
    assert (review["status"], review["closed_by"]) == ("closed", "alice")
    assert review["improve"] == "- nobody saw step-1 for 8 hours"
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert (row["escalation"], row["status"], row["closed_by"], row["actions"]) == (
        "esc-1",
        "closed",
        "alice",
        1,
    )
    assert store.read(prove).ok


def test_pir_round_trips_an_edited_file(store: LadderStore, tmp_path: Path) -> None:
    incident(store)
    reg = register_file(tmp_path, FAST_EVALUATION)
    page = tmp_path / "pir.md"
    written = ladder(
        store, reg, "pir", "esc-1", "--as", "alice", "-o", str(page), when=at(6).isoformat()
    )
    assert written.exit_code == 0, written.output
    text = page.read_text(encoding="utf-8")
    text = text.replace("## What went well\n\n", "## What went well\n\nretrieval held\n", 1)
    text = text.replace("## What to improve\n\n", "## What to improve\n\nbrief the users\n", 1)
    text = text.replace(
        "## Follow-up actions\n\n",
        "## Follow-up actions\n\n- carol | 2025-05-02 | brief template\n",
        1,
    )
    page.write_text(text, encoding="utf-8")

    result = ladder(
        store,
        reg,
        "pir",
        "esc-1",
        "--as",
        "alice",
        "--from",
        str(page),
        "--close",
        "--format",
        "json",
        when=at(7).isoformat(),
    )

    assert result.exit_code == 0, result.output
    review = json.loads(result.output[: result.output.rindex("}") + 1])
    assert (review["went_well"], review["improve"], review["actions"]) == (
        "retrieval held",
        "brief the users",
        [{"owner": "carol", "due": "2025-05-02", "text": "brief template"}],
    )
    assert review["status"] == "closed"


def test_pir_edits_in_the_editor(store: LadderStore, tmp_path: Path) -> None:
    incident(store)
    reg = register_file(tmp_path, FAST_EVALUATION)
    editor = tmp_path / "editor.sh"
    # An "editor" that writes under each editable heading, as a person would.
    editor.write_text(
        "#!/bin/sh\n"
        "sed -i -e 's/^## What went well$/## What went well\\n- fast rollback/' "
        "-e 's/^## What to improve$/## What to improve\\n- page sooner/' \"$1\"\n",
        encoding="utf-8",
    )
    editor.chmod(editor.stat().st_mode | stat.S_IXUSR)

    result = ladder(
        store,
        reg,
        "pir",
        "esc-1",
        "--as",
        "alice",
        "--edit",
        "--format",
        "json",
        when=at(6).isoformat(),
        env={**os.environ, "EDITOR": str(editor)},
    )

    assert result.exit_code == 0, result.output
    review = json.loads(result.output[: result.output.rindex("}") + 1])
    assert (review["went_well"], review["improve"]) == ("- fast rollback", "- page sooner")


def test_pir_list_shows_what_is_overdue(store: LadderStore, tmp_path: Path) -> None:
    incident(store)
    reg = register_file(tmp_path, FAST_EVALUATION)
    table = ladder(store, reg, "pir", "--list", when=(DUE + timedelta(days=1)).isoformat())
    assert table.exit_code == 0, table.output
    assert "esc-1" in table.output and "not opened (OVERDUE)" in flat(table)


# ---------------------------------------------------------------------- sla-review


def test_sla_review_of_a_week_counts_its_misses_next_to_the_week_before(
    store: LadderStore, tmp_path: Path
) -> None:
    incident(store)
    reg = register_file(tmp_path, FAST_EVALUATION)
    # esc-1 opened Tue 2025-04-08 02:00 (W15): acknowledgement due 04:00, met 10:00; brief
    # due 06:00, never sent. Its review falls due Sat 2025-04-19 02:00 (W16), not closed.
    later = "2025-04-21T08:00:00+00:00"

    w15 = ladder(store, reg, "sla-review", "--week", "2025-W15", when=later)
    w16 = ladder(store, reg, "sla-review", "--week", "last", "--send", when=later)
    again = ladder(store, reg, "sla-review", "--week", "2025-W16", "--send", when=later)
    bad = ladder(store, reg, "sla-review", "--week", "16", when=later)

    assert w15.exit_code == 0, w15.output
    assert "2 clocks ran out this week; 0 the week before (2025-W14)." in flat(w15)
    assert "| acknowledgement | step-1 | support-assistant | alice | 3 |" in w15.output
    assert "| communication | esc-1 | support-assistant | alice | 3 |" in w15.output
    assert w16.exit_code == 0, w16.output
    assert "1 clock ran out this week; 2 the week before (2025-W15)." in flat(w16)
    assert "| post incident review | 1 | 0 |" in w16.output
    assert "queued the review of 2025-W16" in w16.output
    assert "already queued with this content" in again.output
    queued = store.read(
        lambda c: c.execute(select(notifications).where(notifications.c.kind == "sla_review")).all()
    )
    assert len(queued) == 1 and queued[0].payload["text"].startswith(
        "# Weekly SLA-miss review: 2025-W16"
    )
    assert bad.exit_code == 2 and "a week is written 2026-W43" in flat(bad)


def test_stats_adds_acknowledgement_communication_and_misses(
    store: LadderStore, tmp_path: Path
) -> None:
    incident(store)
    result = ladder(store, None, "stats", "--format", "json", when=at(20).isoformat())

    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    # step-1 requested day 1 02:00, first seen (approved) at 10:00
    assert figures["time_to_acknowledgement"]["median_hours"] == 8.0
    assert figures["time_to_communication"]["count"] == 0
    # acknowledgement, communication and the review (overdue since day 12) ran out
    assert figures["sla_misses_by_tier"] == {"3": 3}
    assert figures["sla_misses_by_clock"] == {
        "acknowledgement": 1,
        "communication": 1,
        "post_incident_review": 1,
    }
    # eight weeks up to Sunday 2025-04-27 (W17); esc-1 opened in W15
    assert [(w["week"], w["total"]) for w in figures["weekly"]][-3:] == [
        ("2025-W15", 1),
        ("2025-W16", 0),
        ("2025-W17", 0),
    ]
    assert len(figures["weekly"]) == 8
    table = ladder(store, None, "stats", when=at(20).isoformat())
    assert "Time to communication (brief sent)" in table.output


def test_tick_queues_an_overdue_review_as_a_reminder_once_a_day(
    store: LadderStore, tmp_path: Path
) -> None:
    incident(store)
    reg = register_file(tmp_path, FAST_EVALUATION)

    before = ladder(store, reg, "tick", when=(DUE - timedelta(hours=1)).isoformat())
    late = ladder(store, reg, "tick", when=(DUE + timedelta(hours=1)).isoformat())
    same_day = ladder(store, reg, "tick", when=(DUE + timedelta(hours=2)).isoformat())

    assert before.exit_code == late.exit_code == same_day.exit_code == 0
    assert "support-assistant: review_overdue" not in before.output
    assert "support-assistant: review_overdue" in late.output
    assert "support-assistant: review_overdue" not in same_day.output
    rows = store.read(
        lambda c: c.execute(
            select(notifications).where(notifications.c.kind == "review_overdue")
        ).all()
    )
    assert len(rows) == 1
