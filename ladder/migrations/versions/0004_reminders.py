"""Reminders, routing and a reliable outbox: people away with their delegates
(``ladder_absences``, proven by the audit log like every state table), and outbox rows
claimed with a lease, retried up to a maximum age, then kept as dead letters.

Rows the outbox had given up on (``failed``) become dead letters: shown and re-sendable.

Revision ID: 0004_reminders
Revises: 0003_records
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_reminders"
down_revision = "0003_records"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ladder_absences",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person", sa.String(200), nullable=False, index=True),
        sa.Column("starts_at", sa.DateTime, nullable=False),
        sa.Column("until", sa.DateTime, nullable=False),
        sa.Column("delegate", sa.String(200)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("cleared_at", sa.DateTime),
        sa.Column("cleared_by", sa.String(200)),
    )
    with op.batch_alter_table("ladder_notifications") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(80)))
        batch.add_column(sa.Column("lease_until", sa.DateTime))
        batch.add_column(sa.Column("queued_at", sa.DateTime))
        batch.add_column(sa.Column("dead_at", sa.DateTime))
        batch.add_column(sa.Column("resends", sa.Integer, nullable=False, server_default="0"))
    op.execute(
        "UPDATE ladder_notifications SET status = 'dead', dead_at = next_attempt_at "
        "WHERE status = 'failed'"
    )
