"""The patient's pathway: a block's anesthetic, volumes and pain diary, a reason for a case outside the clinic's
policy, and the clinic-wide settings table that holds the policy.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 08:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("block_anesthetic", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("block_anesthetic_detail", sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column("block_pain_before", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("block_diary", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("block_activities_possible", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("outside_policy_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("treated_levels", schema=None) as batch_op:
        batch_op.add_column(sa.Column("volume_ml", sa.Float(), nullable=True))
    op.create_table(
        "clinic_settings",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=50), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_clinic_settings")),
    )


def downgrade() -> None:
    op.drop_table("clinic_settings")
    with op.batch_alter_table("treated_levels", schema=None) as batch_op:
        batch_op.drop_column("volume_ml")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("outside_policy_reason")
        batch_op.drop_column("block_activities_possible")
        batch_op.drop_column("block_diary")
        batch_op.drop_column("block_pain_before")
        batch_op.drop_column("block_anesthetic_detail")
        batch_op.drop_column("block_anesthetic")
