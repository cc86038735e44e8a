"""Taking a test database back to an older schema, as a downgrade test needs before it upgrades again."""

from __future__ import annotations

from alembic import command

from caselog.db.engine import Database
from caselog.db.schema import alembic_config


def downgrade(db: Database, revision: str) -> None:
    """Run the shipped migrations down to `revision` in one write transaction (the way `upgrade` runs them up)."""
    cfg = alembic_config()
    with db.engine.execution_options(caselog_write=True).begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
