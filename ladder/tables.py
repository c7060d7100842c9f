"""The ladder's database schema (SQLAlchemy Core), portable across SQLite and PostgreSQL.

Times are stored as naive UTC (``UTCDateTime`` converts at the boundary) because SQLite
has no time-zone type; everything above this module sees aware UTC datetimes.

The schema is versioned by Alembic revisions in :mod:`ladder.migrations`: this module
describes the newest revision (:data:`HEAD_REVISION`); a test checks that upgrading an
empty database through every revision gives exactly these tables.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = [
    "HEAD_REVISION",
    "PROJECTED_TABLES",
    "SCHEMA_VERSION",
    "UTCDateTime",
    "absences",
    "approvals",
    "audit_log",
    "briefs",
    "escalations",
    "events",
    "meta",
    "metadata",
    "nights",
    "notifications",
    "pins",
    "reviews",
    "steps",
    "tokens",
]

#: ``ladder_meta.schema_version``: what a modelhealth before Alembic checked ("1"), so an
#: older modelhealth refuses a database this one created instead of misreading it.
SCHEMA_VERSION = "2"
#: The Alembic revision these tables describe (``ladder/migrations/versions``).
HEAD_REVISION = "0005_mitigation_clock"


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the ladder store; pass UTC")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=timezone.utc)


metadata = MetaData()

meta = Table(
    "ladder_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

nights = Table(
    "ladder_nights",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", String(200), nullable=False),
    Column("night", Date, nullable=False),
    Column("status", String(32), nullable=False),
    Column("triggers", JSON, nullable=False),
    Column("max_tier", Integer, nullable=False),
    Column("dominant_mode", String(64)),
    Column("failure_modes", JSON, nullable=False),
    Column("window_start", UTCDateTime),
    Column("window_end", UTCDateTime),
    Column("report_digest", String(64), nullable=False),
    # Headline metrics of the night, for trend charts (quality, error_rate, latency_p95, ece).
    Column("summary", JSON, nullable=False, default=dict),
    Column("run_id", String(200), nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("decision_kind", String(32), nullable=False),
    Column("decision_reason", Text, nullable=False),
    Column("decision_due_at", UTCDateTime),
    Column("escalation_id", Integer),
    UniqueConstraint("model_id", "night", name="uq_night_per_model"),
)

escalations = Table(
    "ladder_escalations",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", String(200), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("tier", Integer, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("opened_night", Date),
    Column("dominant_mode", String(64)),
    Column("rule", Text, nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("first_trigger_at", UTCDateTime),
    Column("policy_snapshot", Text, nullable=False),
    Column("closed_at", UTCDateTime),
    Column("outcome", Text, nullable=False, default=""),
    # The SLA clock of a mitigation (ladder.mitigation); steps carry their own.
    Column("ack_due_at", UTCDateTime),
    Column("acked_at", UTCDateTime),
    Column("acked_by", String(200)),
    Column("ack_reminded_at", UTCDateTime),
    Column("escalated_at", UTCDateTime),
)
Index("ix_escalation_open", escalations.c.model_id, escalations.c.status)

steps = Table(
    "ladder_steps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("escalation_id", Integer, ForeignKey("ladder_escalations.id"), nullable=False),
    Column("model_id", String(200), nullable=False, index=True),
    Column("rung", String(64), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("status", String(24), nullable=False),
    Column("mode", String(64)),
    Column("tier", Integer, nullable=False),
    Column("requested_by", String(200), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("ack_due_at", UTCDateTime),
    Column("decide_due_at", UTCDateTime),
    Column("expire_at", UTCDateTime),
    Column("acked_at", UTCDateTime),
    Column("acked_by", String(200)),
    Column("ack_reminded_at", UTCDateTime),
    Column("decision_reminded_at", UTCDateTime),
    Column("escalated_at", UTCDateTime),
    Column("approved_at", UTCDateTime),
    Column("applied_at", UTCDateTime),
    Column("applied_by", String(200)),
    Column("evaluation_ends_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("cost", Float, nullable=False, default=0.0),
    Column("currency", String(8), nullable=False, default="USD"),
    Column("approvals_required", Integer, nullable=False, default=0),
    Column("packet", JSON, nullable=False),
    Column("reason", Text, nullable=False, default=""),
    # Compare-and-set token: every update checks and bumps it, so two writers that
    # read the same version cannot both win.
    Column("version", Integer, nullable=False, default=0),
)

approvals = Table(
    "ladder_approvals",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("step_id", Integer, ForeignKey("ladder_steps.id"), nullable=False),
    Column("person", String(200), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("decision", String(8), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("step_id", "person", name="uq_one_decision_per_person"),
)

events = Table(
    "ladder_events",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", String(200), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("payload", JSON, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("processed_at", UTCDateTime),
    Column("processed_note", Text, nullable=False, default=""),
)

notifications = Table(
    "ladder_notifications",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("model_id", String(200), nullable=False),
    Column("step_id", Integer, ForeignKey("ladder_steps.id")),
    Column("kind", String(32), nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("last_error", Text, nullable=False, default=""),
    # A sender claims a row by compare-and-set on these two, so one message is delivered
    # once however many processes drain the outbox at the same time.
    Column("lease_owner", String(80)),
    Column("lease_until", UTCDateTime),
    # Start of the current series of attempts (queued, or re-sent by a person): the
    # maximum age of a message counts from here. NULL means ``created_at``.
    Column("queued_at", UTCDateTime),
    # When it became a dead letter (status "dead"), and how often a person re-sent it.
    Column("dead_at", UTCDateTime),
    Column("resends", Integer, nullable=False, default=0, server_default="0"),
)
Index("ix_notification_due", notifications.c.status, notifications.c.next_attempt_at)

#: People away (``modelhealth people away``): their escalations go to the delegate, or
#: to the on-call role. Decisions, so the log proves them like every other state table.
absences = Table(
    "ladder_absences",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("person", String(200), nullable=False, index=True),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("until", UTCDateTime, nullable=False),
    Column("delegate", String(200)),
    Column("reason", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("cleared_at", UTCDateTime),
    Column("cleared_by", String(200)),
)

#: Append-only. ``payload`` and ``at`` are stored as the exact text that was hashed, so
#: verification never depends on how a driver round-trips JSON or timestamps.
audit_log = Table(
    "ladder_audit",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(64), nullable=False),
    Column("subject", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    # HMAC-SHA256 chain over the same rows, with a key the database's writers need not
    # hold (``audit.key_file`` / ``audit.key_env`` in the register); "" when unkeyed.
    Column("mac", String(64), nullable=False, default="", server_default=""),
)

#: The register's people, roles and identity section as the store adopted them. The
#: newest row is in force; decisions made with a register that differs are refused.
pins = Table(
    "ladder_pins",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False, unique=True),
    Column("people", JSON, nullable=False),
    Column("identity", JSON, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("register_name", String(200), nullable=False),
    Column("pinned_at", UTCDateTime, nullable=False),
    Column("pinned_by", String(200), nullable=False),
    Column("reason", Text, nullable=False, default=""),
)

#: Personal tokens for the escalation desk: only a SHA-256 of each token is kept.
tokens = Table(
    "ladder_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("person", String(200), nullable=False, index=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("hint", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),
    Column("revoked_by", String(200)),
)

#: Every stakeholder brief sent about an escalation: one row per version, re-issued only
#: when its content (``digest``) changed. ``sent_at`` is when it went into the outbox, so
#: "time to communication" is measured from the escalation opening to the first row.
briefs = Table(
    "ladder_briefs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("escalation_id", Integer, ForeignKey("ladder_escalations.id"), nullable=False),
    Column("model_id", String(200), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("tier", Integer, nullable=False),
    Column("content", JSON, nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
    Column("sent_by", String(200), nullable=False),
    Column("next_update_due", UTCDateTime),
    Column("notification_id", Integer),
    UniqueConstraint("escalation_id", "version", name="uq_brief_version"),
)

#: Post-incident reviews: one per escalation of tier 3 or above, opened prefilled and
#: closed with what went well, what to improve and follow-up actions. ``record`` keeps the
#: prefilled part (timeline, SLA misses, metrics before and after) as it was at closing.
reviews = Table(
    "ladder_reviews",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "escalation_id", Integer, ForeignKey("ladder_escalations.id"), nullable=False, unique=True
    ),
    Column("model_id", String(200), nullable=False, index=True),
    Column("tier", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("opened_by", String(200), nullable=False),
    Column("went_well", Text, nullable=False, default=""),
    Column("improve", Text, nullable=False, default=""),
    Column("actions", JSON, nullable=False),
    Column("repeat_of", Integer),
    Column("record", JSON),
    Column("closed_at", UTCDateTime),
    Column("closed_by", String(200)),
    Column("version", Integer, nullable=False, default=0),
)

#: The state tables that are a projection of the audit log (``ladder audit verify``
#: replays the log and compares it with each). The outbox and ``ladder_meta`` are
#: delivery and bookkeeping, not decisions.
PROJECTED_TABLES = (
    nights,
    escalations,
    steps,
    approvals,
    events,
    pins,
    tokens,
    briefs,
    reviews,
    absences,
)
