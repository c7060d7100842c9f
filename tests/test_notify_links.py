"""Every link in a notification points at the step's page on the escalation desk
(``--public-url``), and nothing in the text can become a link or a ping."""

from __future__ import annotations

from test_notify import breach, make_report, model, model_lines

from ladder.outbox import QueuedNotification
from modelhealth.outputs.notify.message import (
    build_message,
    outbox_message,
    step_link,
    step_url,
)
from monitor.report import Recommendation

DESK = "https://ops.example.com/modelhealth"


def _step(step_id: str) -> Recommendation:
    return Recommendation(
        id=step_id, rung="retrieval_augmentation", status="pending", tier=3, summary="add retrieval"
    )


def test_a_models_step_in_play_links_to_its_page_on_the_desk() -> None:
    report = make_report(
        model(
            "triage",
            "breach",
            breach("quality", "breach", 0.78, 0.85, 3),
            recommendation=_step("step-12"),
        ),
        model(
            "pricing",
            "breach",
            breach("quality", "breach", 0.7, 0.85, 3),
            recommendation=_step("esc-4"),
        ),
    )

    linked = build_message(
        report, level="breach", report_location="/srv/report.html", public_url=DESK + "/"
    )
    plain = build_message(report, level="breach", report_location="/srv/report.html")

    assert linked is not None and plain is not None
    triage, pricing = sorted(model_lines(linked))[::-1]
    assert triage.endswith(
        "next: retrieval_augmentation (pending) · "
        "<https://ops.example.com/modelhealth/steps/step-12|open step-12>"
    )
    assert "<https://" not in pricing  # an escalation without a step has no page to open
    assert all("<https://" not in line for line in model_lines(plain))


def test_a_ladder_notification_links_its_step_and_escapes_what_people_wrote() -> None:
    item = QueuedNotification(
        id=7,
        model_id="<!channel>",
        step_id=3,
        kind="approval_requested",
        recipients=("bob",),
        payload={"summary": "approve <http://evil|this> & more", "key": "dedup"},
        attempts=0,
    )

    message = outbox_message(item, public_url=DESK)

    assert "key" not in message
    headline, body = (block["text"]["text"] for block in message["blocks"])
    assert headline == "*Approval requested: &lt;!channel&gt; (step-3)*"
    assert body.splitlines() == [
        "approve &lt;http://evil|this&gt; &amp; more",
        "For: bob",
        "<https://ops.example.com/modelhealth/steps/step-3|Open step-3>",
    ]
    # The only link in the whole message is the desk's: nothing people wrote became one.
    assert message["text"].count("<https://") == 1
    assert step_url(DESK + "/", "step-3") == "https://ops.example.com/modelhealth/steps/step-3"
    assert step_link(DESK, 3) == step_url(DESK, "step-3")
