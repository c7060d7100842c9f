"""Process records: stakeholder briefs (``ladder_briefs``) and post-incident reviews
(``ladder_reviews``). Both are state tables the audit log proves.

``ladder_meta.schema_version`` stays "2": only modelhealth before Alembic reads it, and
it refuses anything but "1" already.

Revision ID: 0003_records
Revises: 0002_proof
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_records"
down_revision = "0002_proof"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ladder_briefs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "escalation_id", sa.Integer, sa.ForeignKey("ladder_escalations.id"), nullable=False
        ),
        sa.Column("model_id", sa.String(200), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("tier", sa.Integer, nullable=False),
        sa.Column("content", sa.JSON, nullable=False),
        sa.Column("sent_at", sa.DateTime, nullable=False),
        sa.Column("sent_by", sa.String(200), nullable=False),
        sa.Column("next_update_due", sa.DateTime),
        sa.Column("notification_id", sa.Integer),
        sa.UniqueConstraint("escalation_id", "version", name="uq_brief_version"),
    )
    op.create_table(
        "ladder_reviews",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "escalation_id",
            sa.Integer,
            sa.ForeignKey("ladder_escalations.id"),
            nullable=False,
            unique=True,
        ),
        sa.Column("model_id", sa.String(200), nullable=False, index=True),
        sa.Column("tier", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("due_at", sa.DateTime, nullable=False),
        sa.Column("opened_at", sa.DateTime, nullable=False),
        sa.Column("opened_by", sa.String(200), nullable=False),
        sa.Column("went_well", sa.Text, nullable=False),
        sa.Column("improve", sa.Text, nullable=False),
        sa.Column("actions", sa.JSON, nullable=False),
        sa.Column("repeat_of", sa.Integer),
        sa.Column("record", sa.JSON),
        sa.Column("closed_at", sa.DateTime),
        sa.Column("closed_by", sa.String(200)),
        sa.Column("version", sa.Integer, nullable=False),
    )
