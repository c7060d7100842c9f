"""An operational mitigation (blind, availability) has an SLA clock of its own: when it
must be acknowledged, who acknowledged it, when it was reminded and escalated.

Revision ID: 0005_mitigation_clock
Revises: 0004_reminders
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_mitigation_clock"
down_revision = "0004_reminders"
branch_labels = None
depends_on = None

_COLUMNS = ("ack_due_at", "acked_at", "ack_reminded_at", "escalated_at")


def upgrade() -> None:
    for name in _COLUMNS:
        op.add_column("ladder_escalations", sa.Column(name, sa.DateTime))
    op.add_column("ladder_escalations", sa.Column("acked_by", sa.String(200)))
