"""Format version 3: the follow-up's answers on an outcome (neck and arm pain, NDI, PGIC, work, pain medication,
return to activities, physical therapy) and the attempts to reach a patient for a follow-up.

Every existing outcome keeps its values; the new columns start empty (not asked).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 11:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Written out, not read from caselog.vocab: a migration describes the schema as it was made, whatever later
# releases change in the vocabularies.
_CHECKS = {
    "nrs_neck": "nrs_neck BETWEEN 0 AND 10",
    "nrs_arm": "nrs_arm BETWEEN 0 AND 10",
    "ndi": "ndi BETWEEN 0 AND 100",
    "pgic": "pgic BETWEEN 1 AND 7",
    "work_status": "work_status IN ('working', 'off_work_pain', 'not_working_other', 'retired')",
    "analgesics": "analgesics IN ('none', 'non_opioid', 'opioid')",
}


def upgrade() -> None:
    with op.batch_alter_table("outcome_scores", schema=None) as batch_op:
        batch_op.add_column(sa.Column("nrs_neck", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("nrs_arm", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("ndi", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("pgic", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("work_status", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("analgesics", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("returned_to_activities", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("physical_therapy", sa.Boolean(), nullable=True))
        for name, condition in _CHECKS.items():
            batch_op.create_check_constraint(op.f(f"ck_outcome_scores_{name}"), condition)
    op.create_table(
        "follow_up_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("timepoint", sa.String(length=8), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "result IN ('could_not_reach', 'moved_away', 'declined', 'died')", name=op.f("ck_follow_up_attempts_result")
        ),
        sa.CheckConstraint(
            "timepoint IN ('2w', '6w', '3m', '6m', '12m', '24m', '36m', '48m', '5y')",
            name=op.f("ck_follow_up_attempts_timepoint"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_follow_up_attempts_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_attempts")),
    )
    op.create_index(op.f("ix_follow_up_attempts_case_id"), "follow_up_attempts", ["case_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_follow_up_attempts_case_id"), table_name="follow_up_attempts")
    op.drop_table("follow_up_attempts")
    with op.batch_alter_table("outcome_scores", schema=None) as batch_op:
        for name in reversed(list(_CHECKS)):
            batch_op.drop_constraint(op.f(f"ck_outcome_scores_{name}"), type_="check")
        batch_op.drop_column("physical_therapy")
        batch_op.drop_column("returned_to_activities")
        batch_op.drop_column("analgesics")
        batch_op.drop_column("work_status")
        batch_op.drop_column("pgic")
        batch_op.drop_column("ndi")
        batch_op.drop_column("nrs_arm")
        batch_op.drop_column("nrs_neck")
