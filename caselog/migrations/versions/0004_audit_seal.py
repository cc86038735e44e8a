"""The audit trail is sealed with a key kept outside the database, and the database gets a random id.

Each entry from this upgrade on carries an HMAC-SHA256 `seal` of its hash, and the chain's head row a seal
of the head; the key lives in each workstation's data folder (see `caselog.audit_anchor`), so rewriting the
chain or cutting its end cannot be hidden without it. Entries written before the upgrade stay covered by
the chain itself and by the workstations' checkpoints. The database id names the database in those
checkpoints (a copy put back in its place keeps the id, so a rollback is recognised).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 02:40:00
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild): SQLite keeps audit_log's triggers.
    op.add_column("audit_log", sa.Column("seal", sa.String(length=64), nullable=True))
    op.add_column("audit_head", sa.Column("database_id", sa.String(length=32), nullable=True))
    op.add_column("audit_head", sa.Column("key_id", sa.String(length=32), nullable=True))
    op.add_column("audit_head", sa.Column("sealed_from", sa.Integer(), nullable=True))
    op.add_column("audit_head", sa.Column("seal", sa.String(length=64), nullable=True))
    head = sa.table(
        "audit_head", sa.column("id", sa.Integer()), sa.column("last_id", sa.Integer()),
        sa.column("last_hash", sa.String()), sa.column("database_id", sa.String()),
        sa.column("sealed_from", sa.Integer()),
    )  # fmt: skip
    bind = op.get_bind()
    if bind.execute(sa.select(head.c.id).where(head.c.id == 1)).first() is None:
        bind.execute(sa.insert(head).values(id=1, last_id=0, last_hash="0" * 64))
    # Entries from the next one on are sealed; the key is made (or adopted) at the first one.
    bind.execute(
        sa.update(head).where(head.c.id == 1).values(database_id=uuid.uuid4().hex, sealed_from=head.c.last_id + 1)
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("seal")
        batch_op.drop_column("sealed_from")
        batch_op.drop_column("key_id")
        batch_op.drop_column("database_id")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("audit_log", "seal")
    else:
        # SQLite: DROP COLUMN keeps the table and its triggers (3.35+).
        op.execute("ALTER TABLE audit_log DROP COLUMN seal")
