"""Alembic revisions of the ladder's state store (``modelhealth ladder db upgrade``).

Each schema change is one file in ``versions/``; :func:`ladder.schema.upgrade_store`
runs them on the caller's connection, so an upgrade never needs hand-written SQL.
"""
