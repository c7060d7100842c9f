"""The ladder schema as modelhealth 0.1 created it (``ladder_meta.schema_version`` "1").

A database made before Alembic is stamped at this revision by
:func:`ladder.schema.upgrade_store` after its tables are checked, then upgraded.

Revision ID: 0001_initial
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ladder_meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "ladder_nights",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("night", sa.Date, nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("triggers", sa.JSON, nullable=False),
        sa.Column("max_tier", sa.Integer, nullable=False),
        sa.Column("dominant_mode", sa.String(64)),
        sa.Column("failure_modes", sa.JSON, nullable=False),
        sa.Column("window_start", sa.DateTime),
        sa.Column("window_end", sa.DateTime),
        sa.Column("report_digest", sa.String(64), nullable=False),
        sa.Column("summary", sa.JSON, nullable=False),
        sa.Column("run_id", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("decision_kind", sa.String(32), nullable=False),
        sa.Column("decision_reason", sa.Text, nullable=False),
        sa.Column("decision_due_at", sa.DateTime),
        sa.Column("escalation_id", sa.Integer),
        sa.UniqueConstraint("model_id", "night", name="uq_night_per_model"),
    )
    op.create_table(
        "ladder_escalations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.String(200), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tier", sa.Integer, nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("opened_night", sa.Date),
        sa.Column("dominant_mode", sa.String(64)),
        sa.Column("rule", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("first_trigger_at", sa.DateTime),
        sa.Column("policy_snapshot", sa.Text, nullable=False),
        sa.Column("closed_at", sa.DateTime),
        sa.Column("outcome", sa.Text, nullable=False),
    )
    op.create_index("ix_escalation_open", "ladder_escalations", ["model_id", "status"])
    op.create_table(
        "ladder_steps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "escalation_id", sa.Integer, sa.ForeignKey("ladder_escalations.id"), nullable=False
        ),
        sa.Column("model_id", sa.String(200), nullable=False, index=True),
        sa.Column("rung", sa.String(64), nullable=False),
        sa.Column("direction", sa.String(8), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("mode", sa.String(64)),
        sa.Column("tier", sa.Integer, nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("requested_at", sa.DateTime, nullable=False),
        *[
            sa.Column(name, sa.DateTime)
            for name in (
                "ack_due_at",
                "decide_due_at",
                "expire_at",
                "acked_at",
            )
        ],
        sa.Column("acked_by", sa.String(200)),
        *[
            sa.Column(name, sa.DateTime)
            for name in (
                "ack_reminded_at",
                "decision_reminded_at",
                "escalated_at",
                "approved_at",
                "applied_at",
            )
        ],
        sa.Column("applied_by", sa.String(200)),
        sa.Column("evaluation_ends_at", sa.DateTime),
        sa.Column("closed_at", sa.DateTime),
        sa.Column("cost", sa.Float, nullable=False),
        sa.Column("currency", sa.String(8), nullable=False),
        sa.Column("approvals_required", sa.Integer, nullable=False),
        sa.Column("packet", sa.JSON, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "ladder_approvals",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("step_id", sa.Integer, sa.ForeignKey("ladder_steps.id"), nullable=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("decision", sa.String(8), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.UniqueConstraint("step_id", "person", name="uq_one_decision_per_person"),
    )
    op.create_table(
        "ladder_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.String(200), nullable=False, index=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("occurred_at", sa.DateTime, nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("recorded_by", sa.String(200), nullable=False),
        sa.Column("processed_at", sa.DateTime),
        sa.Column("processed_note", sa.Text, nullable=False),
    )
    op.create_table(
        "ladder_notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("model_id", sa.String(200), nullable=False),
        sa.Column("step_id", sa.Integer, sa.ForeignKey("ladder_steps.id")),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("recipients", sa.JSON, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("sent_at", sa.DateTime),
        sa.Column("last_error", sa.Text, nullable=False),
    )
    op.create_index("ix_notification_due", "ladder_notifications", ["status", "next_attempt_at"])
    op.create_table(
        "ladder_audit",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.execute("INSERT INTO ladder_meta (key, value) VALUES ('schema_version', '1')")
