"""The desk's HTTP API: the inbox, a step, and decisions, as JSON (OpenAPI at
``/openapi.json``, browsable at ``/docs``).

Every request authenticates with ``Authorization: Bearer <token>`` (or the SSO header
from a trusted proxy); a decision is passed to the same ladder function the CLI and the
pages call, recorded with channel ``api`` and the client's address. Errors are
``{"detail": <the ladder's reason>, "refusal": <kind>}`` (:mod:`modelhealth.serve.errors`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ladder import audit
from ladder.actions import parse_step_ref
from ladder.audit import Origin
from ladder.guardrails import ApprovalVerdict
from modelhealth.outputs.notify.message import step_url
from modelhealth.serve.desk import Action
from modelhealth.serve.identity import Authenticated, api_person, desk_of
from modelhealth.serve.views import Money, StepCard, inbox, step_page

__all__ = [
    "DecisionIn",
    "DecisionOut",
    "ErrorOut",
    "HealthOut",
    "InboxOut",
    "StepDetailOut",
    "StepOut",
    "router",
    "step_link",
]

router = APIRouter()


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ErrorOut(_Out):
    """Why a request was refused."""

    detail: str = Field(description="The reason, as the CLI prints it.")
    refusal: Literal[
        "unauthenticated",
        "refused",
        "tampered",
        "not_found",
        "forbidden",
        "store",
        "bad_request",
        "http",
    ]


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "No valid token (see `WWW-Authenticate`)."},
    403: {"model": ErrorOut, "description": "Refused, with the ladder's reason."},
    404: {"model": ErrorOut, "description": "No such step."},
}


class HealthOut(_Out):
    status: Literal["ok"]
    audit_rows: int = Field(description="Rows in the audit log (a read of the state store).")


class VerdictOut(_Out):
    allowed: bool
    reason: str


class MayOut(_Out):
    """What the caller may do on the step, with the ladder's reasons."""

    approve: VerdictOut
    reject: VerdictOut
    acknowledge: VerdictOut


class DeadlinesOut(_Out):
    acknowledge_by: datetime
    decide_by: datetime
    escalate_at: datetime
    expire_at: datetime


class ApprovalOut(_Out):
    person: str
    decision: Literal["approve", "reject"]
    at: datetime
    roles: list[str]
    reason: str


class StepOut(_Out):
    """A step waiting for people, as the inbox lists it."""

    id: str = Field(examples=["step-12"])
    url: str = Field(description="The step's page on the desk.")
    model_id: str
    kind: str = Field(description="approval, review or step-down")
    rung: str
    rung_title: str
    status: str
    tier: int
    tier_name: str
    summary: str
    requested_by: str
    requested_at: datetime
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    approvals: list[ApprovalOut]
    approvals_required: int
    approvals_needed: int
    waiting_on: list[str] = Field(description="Who may still approve.")
    deadlines: DeadlinesOut
    next_deadline: str = Field(examples=["decide by"])
    next_deadline_at: datetime
    may: MayOut


class InboxOut(_Out):
    """What waits for the caller (earliest deadline first) and for others."""

    person: str
    roles: list[str]
    now: datetime
    mine: list[StepOut]
    others: list[StepOut]


class StepDetailOut(StepOut):
    """A step with its whole handoff packet."""

    packet: dict[str, Any] = Field(description="The handoff packet stored with the step.")
    cost: Money | None
    mitigation: str | None
    long_term_fix: str | None
    resolution_owner: str | None


class DecisionIn(BaseModel):
    """The reason recorded with a decision (required to reject)."""

    reason: str = Field("", max_length=4000)


class DecisionOut(_Out):
    step_id: str
    status: str
    message: str


def step_link(request: Request, ref: str) -> str:
    """The step page's URL: under ``--public-url``, else on the address asked."""
    public = desk_of(request).settings.public_url
    return step_url(public, ref) if public else str(request.url_for("step_view", ref=ref))


def _links(request: Request) -> str:
    """``…/steps/`` once per request (``url_for`` walks the routes)."""
    return step_link(request, "step-0").removesuffix("step-0")


def _verdict(v: ApprovalVerdict) -> VerdictOut:
    return VerdictOut.model_construct(allowed=v.allowed, reason=v.reason)


def _step_out(card: StepCard, links: str) -> dict[str, Any]:
    """The fields of :class:`StepOut`, nested models built without validation: the
    values come from the store's typed records (a test validates the whole output)."""
    step = card.step
    label, due = card.next_deadline
    return dict(
        id=card.ref,
        url=links + card.ref,
        model_id=step.model_id,
        kind=card.kind,
        rung=step.rung,
        rung_title=card.rung.title,
        status=step.status,
        tier=step.tier,
        tier_name=card.tier_name,
        summary=card.summary,
        requested_by=step.requested_by,
        requested_at=step.requested_at,
        acknowledged_by=step.acked_by,
        acknowledged_at=step.acked_at,
        approvals=[
            ApprovalOut.model_construct(
                person=a.person, decision=a.decision, at=a.at, roles=list(a.roles), reason=a.reason
            )
            for a in step.approvals
        ],
        approvals_required=step.approvals_required,
        approvals_needed=card.needed,
        waiting_on=list(card.waiting_on),
        deadlines=DeadlinesOut.model_construct(
            acknowledge_by=card.clocks.ack_due,
            decide_by=card.clocks.decide_due,
            escalate_at=card.clocks.escalate_at,
            expire_at=card.clocks.expire_at,
        ),
        next_deadline=label,
        next_deadline_at=due,
        may=MayOut.model_construct(
            approve=_verdict(card.may.approve),
            reject=_verdict(card.may.reject),
            acknowledge=_verdict(card.may.acknowledge),
        ),
    )


Caller = Annotated[Authenticated, Depends(api_person)]


@router.get("/healthz", response_model=HealthOut, tags=["health"])
def healthz(request: Request) -> HealthOut:
    """200 while the state store answers (no authentication)."""
    rows = desk_of(request).store.read(lambda c: audit.head(c)[0])
    return HealthOut(status="ok", audit_rows=rows)


@router.get("/api/inbox", response_model=InboxOut, responses=ERRORS, tags=["inbox"])
def api_inbox(request: Request, caller: Caller) -> Response:
    """What waits for the caller: approvals, acknowledgements and reviews they may act
    on, earliest deadline first; and what waits for others."""
    desk = desk_of(request)
    now = desk.now()
    cache = request.app.state.waiting
    box = desk.read(
        lambda conn, pinned: inbox(conn, pinned, caller.name, now, recent=False, cache=cache)
    )
    links = _links(request)
    out = InboxOut.model_construct(
        person=caller.name,
        roles=list(caller.roles),
        now=now,
        mine=[StepOut.model_construct(**_step_out(c, links)) for c in box.mine],
        others=[StepOut.model_construct(**_step_out(c, links)) for c in box.others],
    )
    # Built from typed records without validating each field, and sent as is: when fifty
    # people poll, validation costs more than the inbox (tests validate it as InboxOut).
    return Response(out.model_dump_json(), media_type="application/json")


@router.get("/api/steps/{step_id}", response_model=StepDetailOut, responses=ERRORS, tags=["steps"])
def api_step(request: Request, step_id: str, caller: Caller) -> StepDetailOut:
    """One step: its handoff packet, approvals, deadlines and what the caller may do."""
    desk = desk_of(request)
    number, now = parse_step_ref(step_id), desk.now()
    view = desk.read(lambda conn, pinned: step_page(conn, pinned, number, caller.name, now))
    entry = view.matrix_entry
    cost = view.money
    return StepDetailOut(
        **_step_out(view.card, _links(request)),
        packet=view.raw_packet,
        cost=cost,
        mitigation=entry.mitigation if entry else None,
        long_term_fix=entry.long_term_fix if entry else None,
        resolution_owner=entry.owner if entry else None,
    )


def _decide(
    request: Request, action: Action, step_id: str, body: DecisionIn, caller: Authenticated
) -> DecisionOut:
    result = desk_of(request).decide(
        action,
        step_id,
        person=caller.name,
        origin=Origin("api", caller.address),
        reason=body.reason,
    )
    return DecisionOut(
        step_id=f"step-{result.step_id}", status=result.status, message=result.message
    )


@router.post(
    "/api/steps/{step_id}/approve", response_model=DecisionOut, responses=ERRORS, tags=["decisions"]
)
def api_approve(request: Request, step_id: str, body: DecisionIn, caller: Caller) -> DecisionOut:
    """Approve: counts once per person; roles, separation of duties and budget checked."""
    return _decide(request, "approve", step_id, body, caller)


@router.post(
    "/api/steps/{step_id}/reject", response_model=DecisionOut, responses=ERRORS, tags=["decisions"]
)
def api_reject(request: Request, step_id: str, body: DecisionIn, caller: Caller) -> DecisionOut:
    """Reject (a reason is required); one rejection settles the step."""
    return _decide(request, "reject", step_id, body, caller)


@router.post(
    "/api/steps/{step_id}/ack", response_model=DecisionOut, responses=ERRORS, tags=["decisions"]
)
def api_ack(request: Request, step_id: str, body: DecisionIn, caller: Caller) -> DecisionOut:
    """Acknowledge: reminders stop; the decision clock keeps running."""
    return _decide(request, "ack", step_id, body, caller)
