"""The dashboard's durability figures read each patient's latest case: an index on the patient and the procedure
date answers it from the index alone (one seek per side), instead of reading every case of the patient.

No data changes.

Revision ID: 0010_dashboard
Revises: 0009
Create Date: 2026-11-30 14:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0010_dashboard"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_patient_date", "cases", ["patient_id", "procedure_date"])


def downgrade() -> None:
    op.drop_index("ix_cases_patient_date", table_name="cases")
