"""The audit log proves the state: a keyed (HMAC) chain beside the plain one, the pinned
people/roles/identity, and personal tokens for the escalation desk.

Revision ID: 0002_proof
Revises: 0001_initial
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_proof"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "ladder_audit",
        sa.Column("mac", sa.String(64), nullable=False, server_default=""),
    )
    op.create_table(
        "ladder_pins",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("version", sa.Integer, nullable=False, unique=True),
        sa.Column("people", sa.JSON, nullable=False),
        sa.Column("identity", sa.JSON, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("register_name", sa.String(200), nullable=False),
        sa.Column("pinned_at", sa.DateTime, nullable=False),
        sa.Column("pinned_by", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "ladder_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("person", sa.String(200), nullable=False, index=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("hint", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime),
        sa.Column("revoked_by", sa.String(200)),
    )
    op.execute("UPDATE ladder_meta SET value = '2' WHERE key = 'schema_version'")
