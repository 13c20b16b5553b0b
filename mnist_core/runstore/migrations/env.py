"""Alembic's environment: the store passes its own open connection (config.attributes)."""

from alembic import context

from mnist_core.runstore.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
