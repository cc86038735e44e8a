"""The day's schedule waiting to be completed as cases, and the clinic's secrets (the research export's
pseudonym key), kept apart from the clinic settings every role may read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 08:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "clinic_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_clinic_secrets")),
    )
    op.create_table(
        "scheduled_procedures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("procedure_date", sa.Date(), nullable=False),
        sa.Column("mrn", sa.String(length=20), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("procedure", sa.String(length=32), nullable=False),
        sa.Column("levels", sa.JSON(), nullable=False),
        sa.Column("surgeon", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("source_line", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("imported_by", sa.String(length=50), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("case_number", sa.String(length=16), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('to_complete', 'done', 'cancelled')", name=op.f("ck_scheduled_procedures_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scheduled_procedures")),
    )
    op.create_index(
        "ix_scheduled_procedures_status_date", "scheduled_procedures", ["status", "procedure_date"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_scheduled_procedures_status_date", table_name="scheduled_procedures")
    op.drop_table("scheduled_procedures")
    op.drop_table("clinic_secrets")
