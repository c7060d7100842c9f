"""Webhook notifications: what the message says, delivery against a real local HTTP server,
and the outbox in a real SQLite state store that every notification leaves through."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from webhook_receiver import Receiver, serve_webhook

from ladder.store import LadderStore, insert_notification
from ladder.tables import notifications
from modelhealth.outputs.notify.message import build_message, escape_mrkdwn, models_at_or_above
from modelhealth.outputs.notify.outbox import deliver_due, notify_night, queue_report_message
from modelhealth.outputs.notify.webhook import DeliveryResult, Notification, deliver
from monitor.report import Breach, IngestSummary, ModelReport, Recommendation, Report, TimeWindow

WINDOW = TimeWindow(
    start=datetime(2024, 4, 30, tzinfo=timezone.utc), end=datetime(2024, 5, 1, tzinfo=timezone.utc)
)


# --- a small report factory ------------------------------------------------------------------


def model(model_id: str, status: str, *breaches: Breach, **extra: Any) -> ModelReport:
    return ModelReport(
        model_id=model_id,
        status=status,  # type: ignore[arg-type]
        window=WINDOW,
        reference_window=WINDOW,
        breaches=list(breaches),
        **extra,
    )


def breach(
    threshold: str, level: str, observed: float | None, limit: float | None, tier: int
) -> Breach:
    return Breach(threshold=threshold, level=level, observed=observed, limit=limit, tier=tier)  # type: ignore[arg-type]


def make_report(*models: ModelReport, register: str = "support") -> Report:
    return Report(
        run_id="chk-20240501-a1b2",
        as_of="2024-05-01",
        register_name=register,
        register_version="7",
        generated_at=datetime(2024, 5, 1, 2, 0, tzinfo=timezone.utc),
        status="blind",
        ingest=IngestSummary(),
        models=list(models),
    )


def a_night() -> Report:
    """Five models: a tier-3 quality breach, a tier-2 latency breach, a warning, a blind
    model, and two that need no one's attention."""
    return make_report(
        model(
            "triage",
            "breach",
            breach("quality", "breach", 0.78, 0.85, 3),
            breach("error_rate", "warning", 0.061, 0.05, 2),
            dominant_failure_mode="hallucination",
            recommendation=Recommendation(
                id="esc-1",
                rung="retrieval_augmentation",
                status="pending_approval",
                tier=3,
                summary="add retrieval",
            ),
        ),
        model("summarizer", "breach", breach("latency_ms.p95", "breach", 2100.0, 1500.0, 2)),
        model("faq-bot", "warning", breach("calibration.ece", "warning", 0.09, 0.08, 1)),
        model("pricing", "blind", breach("blind", "blind", None, None, 3)),
        model("ok-bot", "healthy"),
        model("new-bot", "insufficient_data"),
    )


def model_lines(message: dict[str, Any]) -> list[str]:
    """The per-model lines of the message's sections (the report link excluded)."""
    lines: list[str] = []
    for block in message["blocks"]:
        if block["type"] == "section" and not block["text"]["text"].startswith("Report:"):
            lines += block["text"]["text"].splitlines()
    return lines


# --- a real webhook receiver -------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serve_webhook() as running:
        yield running


class Sleeps:
    """Records the back-off delays ``deliver`` asks for, without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


# --- the message -------------------------------------------------------------------------------


def test_the_message_has_one_line_per_finding_and_the_report_link(receiver: Receiver) -> None:
    report = a_night()
    message = build_message(
        report, level="warning", report_location="https://reports.example/2024-05-01/report.html"
    )
    assert message is not None

    lines = model_lines(message)
    assert len(lines) == 4
    # Worst first: blind, then breaches by tier, then warnings.
    assert [line.split("*")[1] for line in lines] == ["pricing", "triage", "summarizer", "faq-bot"]
    assert "quality 0.78 &lt; 0.85 breach (tier 3)" in lines[1]
    assert "error_rate 0.061 &gt; 0.05 warning (tier 2)" in lines[1]
    assert "mode hallucination" in lines[1]
    assert "next: retrieval_augmentation (pending_approval)" in lines[1]
    assert "latency_ms.p95 2100 &gt; 1500 breach (tier 2)" in lines[2]
    assert "ok-bot" not in json.dumps(message) and "new-bot" not in json.dumps(message)
    assert message["blocks"][0] == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": "modelhealth: 4 models at or above warning on 2024-05-01",
        },
    }
    link = "<https://reports.example/2024-05-01/report.html|open the report>"
    assert message["blocks"][-1]["text"]["text"] == f"Report: {link}"
    assert message["text"].endswith(f"Report: {link}")

    result = deliver(
        Notification(url=receiver.url, payload=message, key="chk-20240501-a1b2:warning")
    )

    assert result == DeliveryResult(ok=True, attempts=1, status_code=200, error=None)
    ((path, headers, _),) = receiver.received
    assert path == "/services/T000/B000/s3cretT0ken"
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Idempotency-Key"] == "chk-20240501-a1b2:warning"
    assert receiver.payloads == [message]


def test_hostile_strings_cannot_ping_channels_or_inject_links() -> None:
    hostile = "<!channel> <script>"
    report = make_report(
        model(
            hostile,
            "breach",
            breach("quality & <http://evil|ok>", "breach", 0.5, 0.8, 3),
            recommendation=Recommendation(
                id="x", rung="<!here>", status="pending", tier=3, summary="s"
            ),
        ),
        register="<@U123> & co",
    )
    message = build_message(report, level="breach", report_location="/srv/out/<b>&report.html")
    assert message is not None
    text = json.dumps(message)

    for raw in ("<!channel>", "<script>", "<!here>", "<@U123>", "<http://evil", "<b>"):
        assert raw not in text
    assert "&lt;!channel&gt; &lt;script&gt;" in model_lines(message)[0]
    assert "quality &amp; &lt;http://evil|ok&gt;" in model_lines(message)[0]
    assert "&lt;@U123&gt; &amp; co" in message["text"]
    assert message["blocks"][-1]["text"]["text"] == "Report: `/srv/out/&lt;b&gt;&amp;report.html`"
    assert escape_mrkdwn("a & b < c > d") == "a &amp; b &lt; c &gt; d"


@pytest.mark.parametrize(
    ("level", "expected"),
    [
        ("warning", ["pricing", "triage", "summarizer", "faq-bot"]),
        ("breach", ["pricing", "triage", "summarizer"]),
        # tier3: a breach or blind finding of tier ≥ 3; the tier-2 latency breach is not one.
        ("tier3", ["pricing", "triage"]),
    ],
)
def test_levels_select_findings_as_fail_on_does(level: str, expected: list[str]) -> None:
    report = a_night()
    assert [m.model_id for m in models_at_or_above(report, level)] == expected
    message = build_message(report, level=level, report_location="out/report.html")
    assert message is not None
    assert [line.split("*")[1] for line in model_lines(message)] == expected


def test_a_tier3_warning_alone_does_not_reach_tier3() -> None:
    report = make_report(model("faq-bot", "warning", breach("quality", "warning", 0.8, 0.85, 3)))
    assert build_message(report, level="tier3", report_location="r.html") is None
    assert build_message(report, level="warning", report_location="r.html") is not None


def test_nothing_to_say_is_no_message() -> None:
    report = make_report(model("ok-bot", "healthy"), model("new-bot", "insufficient_data"))
    for level in ("warning", "breach", "tier3"):
        assert build_message(report, level=level, report_location="r.html") is None


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="warning, breach, tier3"):
        build_message(a_night(), level="critical", report_location="r.html")


def test_a_very_large_night_stays_within_slack_limits() -> None:
    models = [
        model(
            f"model-{i:03d}", "breach", *(breach(f"t{j}", "breach", 2.0, 1.0, 3) for j in range(6))
        )
        for i in range(400)
    ]
    message = build_message(make_report(*models), level="breach", report_location="r.html")
    assert message is not None
    assert len(message["blocks"]) <= 50
    assert all(
        len(block["text"]["text"]) <= 3000
        for block in message["blocks"]
        if block["type"] == "section"
    )
    shown = len(model_lines(message))
    assert shown == 50
    assert f"…and {400 - shown} more in the report." in json.dumps(message, ensure_ascii=False)
    assert "+2 more" in model_lines(message)[0]  # six breaches, four spelled out


# --- delivery ----------------------------------------------------------------------------------


def notification(receiver: Receiver) -> Notification:
    return Notification(url=receiver.url, payload={"text": "hello"}, key="chk:breach")


def test_server_errors_are_retried_with_exponential_backoff(receiver: Receiver) -> None:
    receiver.answer(500, b"oops")
    receiver.answer(503, b"busy")
    receiver.answer(200, b"ok")
    sleeps = Sleeps()

    result = deliver(notification(receiver), sleep=sleeps)

    assert result == DeliveryResult(ok=True, attempts=3, status_code=200, error=None)
    assert sleeps.delays == [0.5, 1.0]
    assert receiver.payloads == [{"text": "hello"}] * 3
    assert {headers["Idempotency-Key"] for _, headers, _ in receiver.received} == {"chk:breach"}


def test_a_client_error_is_not_retried(receiver: Receiver) -> None:
    receiver.answer(400, b"invalid_payload")
    sleeps = Sleeps()

    result = deliver(notification(receiver), sleep=sleeps)

    assert not result.ok
    assert (result.attempts, result.status_code) == (1, 400)
    assert result.error is not None and "HTTP 400: invalid_payload" in result.error
    assert sleeps.delays == []
    assert len(receiver.received) == 1


def test_rate_limiting_honours_a_short_retry_after(receiver: Receiver) -> None:
    receiver.answer(429, b"slow down", Retry_After="3")
    receiver.answer(200)
    sleeps = Sleeps()

    result = deliver(notification(receiver), sleep=sleeps)

    assert (result.ok, result.attempts) == (True, 2)
    assert sleeps.delays == [3.0]


def test_a_long_retry_after_is_left_for_the_next_run(receiver: Receiver) -> None:
    receiver.answer(429, b"slow down", Retry_After="120")
    sleeps = Sleeps()

    result = deliver(notification(receiver), sleep=sleeps)

    assert (result.ok, result.attempts, result.status_code) == (False, 1, 429)
    assert result.error is not None and "retry after 120 s" in result.error
    assert sleeps.delays == []


def test_a_redirect_is_reported_not_followed(receiver: Receiver) -> None:
    receiver.answer(301, b"", Location="https://hooks.example/new/s3cretT0ken")

    result = deliver(notification(receiver), sleep=Sleeps())

    assert (result.ok, result.attempts, result.status_code) == (False, 1, 301)
    assert result.error is not None and "update the webhook URL" in result.error
    assert "s3cretT0ken" not in result.error
    assert len(receiver.received) == 1


def test_a_closed_port_fails_after_every_attempt_without_raising() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler) as probe:
        port = probe.server_address[1]  # bound, then closed: nothing listens here now
    sleeps = Sleeps()
    url = f"http://127.0.0.1:{port}/services/T000/B000/s3cretT0ken"

    result = deliver(Notification(url=url, payload={"text": "x"}, key="k"), sleep=sleeps)

    assert (result.ok, result.attempts, result.status_code) == (False, 4, None)
    assert result.error is not None and "unreachable" in result.error
    assert "refused" in result.error.lower()
    assert "s3cretT0ken" not in result.error and "127.0.0.1" in result.error
    assert sleeps.delays == [0.5, 1.0, 2.0]


def test_a_receiver_that_hangs_times_out_and_is_retried(receiver: Receiver) -> None:
    receiver.delay_s = 1.0
    started = time.monotonic()

    result = deliver(notification(receiver), attempts=2, timeout_s=0.2, sleep=Sleeps())

    assert (result.ok, result.attempts, result.status_code) == (False, 2, None)
    assert result.error is not None and "timed out" in result.error
    assert time.monotonic() - started < 2


def test_the_webhook_secret_stays_out_of_repr() -> None:
    note = Notification(url="https://hooks.slack.com/services/T0/B0/s3cret", payload={}, key="k")
    assert "s3cret" not in repr(note)
    assert note.target == "https://hooks.slack.com/…"


def test_a_non_http_url_is_refused_without_sending() -> None:
    result = deliver(Notification(url="file:///etc/passwd", payload={}, key="k"), sleep=Sleeps())
    assert (result.ok, result.attempts) == (False, 0)


# --- the outbox --------------------------------------------------------------------------------

RUN_AT = datetime(2024, 5, 1, 6, 0, tzinfo=timezone.utc)
REPORT_AT = "/srv/reports/2024-05-01/report.html"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LadderStore]:
    with LadderStore(f"sqlite:///{tmp_path / 'state.db'}") as opened:
        yield opened


def outbox_rows(store: LadderStore) -> list[tuple[str, str, int]]:
    """(kind, status, attempts) of every outbox row, oldest first."""
    return store.read(
        lambda c: [
            (r.kind, r.status, r.attempts)
            for r in c.execute(
                select(
                    notifications.c.kind, notifications.c.status, notifications.c.attempts
                ).order_by(notifications.c.id)
            )
        ]
    )


def test_a_night_is_announced_once_however_often_it_is_rerun(
    store: LadderStore, receiver: Receiver
) -> None:
    report = a_night()

    first = notify_night(
        store, report, url=receiver.url, level="breach", location=REPORT_AT, now=RUN_AT
    )
    rerun = notify_night(
        store,
        report,
        url=receiver.url,
        level="breach",
        location=REPORT_AT,
        now=RUN_AT + timedelta(hours=1),
    )

    assert (first.sent, first.failed, rerun.sent, rerun.failed) == (1, [], 0, [])
    assert outbox_rows(store) == [("webhook", "sent", 1)]
    [payload] = receiver.payloads
    assert payload == build_message(report, level="breach", report_location=REPORT_AT)
    assert "key" not in payload  # the dedup key stays in the outbox
    assert receiver.received[0][1]["Idempotency-Key"] == "outbox-1"


def test_nothing_at_the_level_queues_nothing(store: LadderStore, receiver: Receiver) -> None:
    quiet = make_report(model("ok-bot", "healthy"), model("faq-bot", "warning"))

    assert not queue_report_message(store, quiet, level="breach", location=REPORT_AT, now=RUN_AT)
    assert outbox_rows(store) == []
    assert deliver_due(store, url=receiver.url, now=RUN_AT).sent == 0
    assert receiver.received == []


def test_a_webhook_that_is_down_keeps_the_message_for_a_later_run(
    store: LadderStore, receiver: Receiver
) -> None:
    for _ in range(4):  # every attempt of the first run
        receiver.answer(503, b"maintenance")
    receiver.answer(200)
    send = partial(deliver, sleep=Sleeps())

    down = notify_night(
        store,
        a_night(),
        url=receiver.url,
        level="breach",
        location=REPORT_AT,
        now=RUN_AT,
        send=send,
    )
    too_soon = deliver_due(store, url=receiver.url, now=RUN_AT + timedelta(seconds=30), send=send)
    later = deliver_due(store, url=receiver.url, now=RUN_AT + timedelta(minutes=1), send=send)

    assert down.sent == 0
    [failure] = down.failed
    assert failure.startswith("notification 1: webhook http://127.0.0.1:")
    assert "HTTP 503: maintenance (gave up after 4 attempts)" in failure
    assert "s3cretT0ken" not in failure
    assert (too_soon.sent, too_soon.failed) == (0, [])  # waits a minute after a failed run
    assert (later.sent, later.failed) == (1, [])
    assert len(receiver.received) == 5
    assert outbox_rows(store) == [("webhook", "sent", 2)]


def test_the_ladders_own_notifications_say_what_why_and_for_whom(
    store: LadderStore, receiver: Receiver
) -> None:
    store.write(
        lambda c: insert_notification(
            c,
            model_id="triage",
            kind="approval_requested",
            recipients=("bob", "alice"),
            payload={"decision": "escalate", "summary": "add retrieval", "reason": "persisted"},
            at=RUN_AT,
            step_id=None,
        )
    )
    store.write(
        lambda c: insert_notification(
            c,
            model_id="<!channel>",
            kind="decision_reminder",
            recipients=(),
            payload={
                "reason": "approval due in 2 h",
                "unroutable": True,
                "route": "UNROUTABLE: no configured person can be reached",
            },
            at=RUN_AT,
        )
    )

    run = deliver_due(store, url=receiver.url, now=RUN_AT)

    assert (run.sent, run.failed) == (2, [])
    first, second = receiver.payloads
    assert first["text"] == (
        "Approval requested: triage — add retrieval · Why: persisted · For: alice, bob"
    )
    assert second["text"] == (
        ":rotating_light: Reminder: the decision is overdue: &lt;!channel&gt; — approval due "
        "in 2 h · Routing: UNROUTABLE: no configured person can be reached · *UNROUTABLE*: "
        "nobody configured could be reached; this goes to everyone it concerns at the "
        "highest priority"
    )
    assert second["blocks"][0]["text"]["text"].startswith("*:rotating_light: Reminder")


def test_a_step_notification_links_to_the_desk(store: LadderStore, receiver: Receiver) -> None:
    from ladder_factories import HALLUCINATING_TEST_NIGHTS, Timeline, make_register

    tl = Timeline(store, make_register())
    for breaches, mode in HALLUCINATING_TEST_NIGHTS:
        tl.play(breaches, mode=mode)

    run = deliver_due(store, url=receiver.url, now=tl.now, public_url="https://desk.example/")

    assert run.sent == 1
    [message] = receiver.payloads
    assert message["text"].startswith(
        "Approval requested: support-assistant (step-1) — support-assistant has"
    )
    assert message["text"].endswith(" · For: bob · <https://desk.example/steps/step-1|Open step-1>")


@pytest.mark.parametrize(("tier", "icon"), [(2, ""), (3, ":warning: "), (4, ":rotating_light: ")])
def test_the_tier_sets_the_messages_urgency(
    store: LadderStore, receiver: Receiver, tier: int, icon: str
) -> None:
    store.write(
        lambda c: insert_notification(
            c,
            model_id="triage",
            kind="resolved",
            recipients=("alice",),
            payload={"tier": tier, "reason": "recovered"},
            at=RUN_AT,
        )
    )

    deliver_due(store, url=receiver.url, now=RUN_AT)

    assert receiver.payloads[0]["text"] == f"{icon}Resolved: triage — recovered · For: alice"
