"""Case numbers past 99,999 a year (format version 4): an index in their numeric order within a year.

Text puts 2026-100000 before 2026-99999; the list's sort by number is by year, then length, then text, and this
index serves it (a page of a million cases sorted by number reads 100 index entries, not every case).

Revision ID: 0013_number_order
Revises: 0012_audit
Create Date: 2026-11-30 14:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_number_order"
down_revision = "0012_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_cases_number_order",
        "cases",
        [sa.text("substr(case_number, 1, 4)"), sa.text("length(case_number)"), sa.text("case_number")],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_cases_number_order", table_name="cases")
