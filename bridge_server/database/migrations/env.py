"""Alembic's entry: migrations run on the connection the server hands over (never a URL of its own)."""

from __future__ import annotations

from alembic import context

from bridge_server.database.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  # SQLite cannot alter a table in place: Alembic copies it ("batch" mode).
                  render_as_batch=connection.dialect.name == "sqlite", transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
