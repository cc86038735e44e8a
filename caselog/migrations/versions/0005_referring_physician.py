"""Cases name their referring physician and who gets a copy of the summary (printed as address lines).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("referring_physician", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("copy_to", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("copy_to")
        batch_op.drop_column("referring_physician")
