"""Accounts, the tamper-evident audit trail, and review notes on complications.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 13:02:50.931341
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=False),
        sa.Column("full_name", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failed_sign_ins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("role IN ('surgeon', 'coordinator', 'quality', 'admin')", name=op.f("ck_accounts_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("username", name=op.f("uq_accounts_username")),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_id", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("username", sa.String(length=50), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("record_type", sa.String(length=16), nullable=False),
        sa.Column("record_id", sa.String(length=50), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_record", ["record_type", "record_id"], unique=False)

    with op.batch_alter_table("complications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_notes", sa.Text(), nullable=True))

    op.execute("INSERT INTO audit_head (id, last_id, last_hash) VALUES (1, 0, '" + "0" * 64 + "')")
    # Audit entries are written once and never changed: the database itself refuses updates and deletes.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION caselog_audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit entries cannot be changed or deleted'; END $$"
        )
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                "FOR EACH ROW EXECUTE FUNCTION caselog_audit_is_append_only()"
            )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit entries cannot be changed or deleted'); END"
            )


def downgrade() -> None:
    for event in ("update", "delete"):
        op.execute(
            f"DROP TRIGGER IF EXISTS audit_log_no_{event}"
            + (" ON audit_log" if op.get_bind().dialect.name == "postgresql" else "")
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS caselog_audit_is_append_only()")
    with op.batch_alter_table("complications", schema=None) as batch_op:
        batch_op.drop_column("review_notes")

    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_record")

    op.drop_table("audit_log")
    op.drop_table("audit_head")
    op.drop_table("accounts")
