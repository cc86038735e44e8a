"""Alembic environment: runs inside the connection and transaction CaseLog hands it (see caselog.db.schema)."""

from __future__ import annotations

from alembic import context

from caselog.db.models import Base
from caselog.db.tables import in_models

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when someone runs the alembic command by hand
    raise SystemExit("Run migrations with 'caselog init', which opens the database the way CaseLog does.")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
    include_name=in_models,
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
