"""The escalation ladder: from a nightly breach to an accountable, budgeted decision.

The nightly job calls :func:`decide_night`; people act through the ``modelhealth
ladder …`` commands (:mod:`modelhealth.cli.ladder`) or the functions in
:mod:`ladder.actions`. Decisions are pure functions (:func:`decide`,
:func:`evaluate_rules`, :func:`next_rung`, :func:`check_budget`, :func:`check_approval`,
:func:`due_reviews`, :func:`needs_reminder`, :func:`route`) over frozen
state; the store (:class:`LadderStore`) and the audit log sit at the edge. The process
records — the stakeholder brief (:func:`send_brief`), the post-incident review
(:func:`record_review`) and the weekly SLA-miss review (:func:`weekly_sla_review`) — are
kept with the same audit trail.
"""

from __future__ import annotations

from ladder.actions import (
    ActionResult,
    acknowledge,
    add_event,
    apply_step,
    approve,
    reject,
)
from ladder.anchors import Anchor, anchor_field, anchor_tags
from ladder.audit import AuditVerdict, Origin, verify
from ladder.briefs import Brief
from ladder.decide import Decision, DecisionKind, clock_decision, decide
from ladder.errors import LadderError, NotFound, Refused, StoreError, Tampered
from ladder.guardrails import (
    ApprovalVerdict,
    BudgetVerdict,
    CostEstimate,
    check_approval,
    check_budget,
    estimate_cost,
)
from ladder.identity import cli_origin, resolve_actor
from ladder.incident_actions import (
    current_brief,
    current_review,
    queue_overdue_reviews,
    record_review,
    send_brief,
    weekly_sla_review,
)
from ladder.keys import open_store
from ladder.matrix import MatrixEntry, effective_matrix, matrix_markdown
from ladder.nightly import NightDecisions, decide_night, record_night, tick
from ladder.pins import Pin, current_pin, pin_register
from ladder.policy import Policy, build_policy
from ladder.post_incident import PostIncidentReview, ReviewDue, due_reviews
from ladder.proof import ProofVerdict, prove
from ladder.recommender import HandoffPacket, next_rung
from ladder.reminders import Reason, ReminderEntry, needs_reminder
from ladder.review import EVENT_KINDS
from ladder.routing import Absence, Directory, Route, route
from ladder.rules import RuleOutcome, evaluate_rules
from ladder.rungs import ApprovalPolicy, Rung, default_ladder, effective_rungs
from ladder.sla import TIER_NAMES, SlaClocks, deadlines
from ladder.standing import ladder_position, recommendation_for
from ladder.state import Escalation, LadderState, Night, Step
from ladder.stats import LadderStats, compute_stats
from ladder.store import LadderStore, default_state_url
from ladder.tokens import AuthRefusal, Person, authenticate, create_token, revoke_tokens
from ladder.weekly import Week, WeeklySlaReview, parse_week

__all__ = [
    "EVENT_KINDS",
    "TIER_NAMES",
    "Absence",
    "ActionResult",
    "Anchor",
    "ApprovalPolicy",
    "ApprovalVerdict",
    "AuditVerdict",
    "AuthRefusal",
    "Brief",
    "BudgetVerdict",
    "CostEstimate",
    "Decision",
    "DecisionKind",
    "Directory",
    "Escalation",
    "HandoffPacket",
    "LadderError",
    "LadderState",
    "LadderStats",
    "LadderStore",
    "MatrixEntry",
    "Night",
    "NightDecisions",
    "NotFound",
    "Origin",
    "Person",
    "Pin",
    "Policy",
    "PostIncidentReview",
    "ProofVerdict",
    "Reason",
    "Refused",
    "ReminderEntry",
    "ReviewDue",
    "Route",
    "RuleOutcome",
    "Rung",
    "SlaClocks",
    "Step",
    "StoreError",
    "Tampered",
    "Week",
    "WeeklySlaReview",
    "acknowledge",
    "add_event",
    "anchor_field",
    "anchor_tags",
    "apply_step",
    "approve",
    "authenticate",
    "build_policy",
    "check_approval",
    "check_budget",
    "cli_origin",
    "clock_decision",
    "compute_stats",
    "create_token",
    "current_brief",
    "current_pin",
    "current_review",
    "deadlines",
    "decide",
    "decide_night",
    "default_ladder",
    "default_state_url",
    "due_reviews",
    "effective_matrix",
    "effective_rungs",
    "estimate_cost",
    "evaluate_rules",
    "ladder_position",
    "matrix_markdown",
    "needs_reminder",
    "next_rung",
    "open_store",
    "parse_week",
    "pin_register",
    "prove",
    "queue_overdue_reviews",
    "recommendation_for",
    "record_night",
    "record_review",
    "reject",
    "resolve_actor",
    "revoke_tokens",
    "route",
    "send_brief",
    "tick",
    "verify",
    "weekly_sla_review",
]
