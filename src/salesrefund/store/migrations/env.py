"""Alembic environment: runs on the connection handed in by ``salesrefund.store.migrate``."""

from alembic import context

from salesrefund.store.tables import metadata

connection = context.config.attributes.get("connection")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
