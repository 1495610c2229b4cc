"""Alembic environment: migrations run on a connection handed over by Replug."""

from alembic import context

from replug.storage.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Replug runs its migrations itself; start the server to migrate.")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
