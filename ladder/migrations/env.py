"""Alembic environment: migrations run on the connection the store hands over."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
# Batch mode lets a later revision alter columns on SQLite (which rebuilds the table).
context.configure(connection=connection, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
