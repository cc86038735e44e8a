"""First schema: patients, cases, treated levels, complications, outcome scores, counters, amendments.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 12:45:25.051675
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_case_counters")),
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mrn", sa.String(length=20), nullable=False),
        sa.Column("family_name", sa.String(length=100), nullable=False),
        sa.Column("given_name", sa.String(length=100), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("mrn", name=op.f("uq_patients_mrn")),
    )
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.create_index("ix_patients_name", ["family_name", "given_name"], unique=False)

    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("procedure_date", sa.Date(), nullable=False),
        sa.Column("facility", sa.String(length=100), nullable=True),
        sa.Column("surgeon", sa.String(length=100), nullable=False),
        sa.Column("assistants", sa.JSON(), nullable=False),
        sa.Column("procedure", sa.String(length=32), nullable=False),
        sa.Column("procedure_detail", sa.String(length=200), nullable=True),
        sa.Column("cpt_codes", sa.JSON(), nullable=False),
        sa.Column("diagnosis_codes", sa.JSON(), nullable=False),
        sa.Column("indication", sa.Text(), nullable=True),
        sa.Column("injury_related", sa.Boolean(), nullable=False),
        sa.Column("prior_block_relief_percent", sa.Integer(), nullable=True),
        sa.Column("start_time", sa.DateTime(), nullable=True),
        sa.Column("end_time", sa.DateTime(), nullable=True),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("anesthesia_type", sa.String(length=32), nullable=False),
        sa.Column("sedation", sa.String(length=16), nullable=True),
        sa.Column("asa_class", sa.String(length=4), nullable=True),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("anesthesia_provider", sa.String(length=100), nullable=True),
        sa.Column("estimated_blood_loss_ml", sa.Integer(), nullable=True),
        sa.Column("disposition", sa.String(length=32), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("signed_by", sa.String(length=100), nullable=True),
        sa.Column("signed_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('draft', 'final', 'amended')", name=op.f("ck_cases_status")),
        sa.CheckConstraint("duration_minutes BETWEEN 1 AND 1440", name=op.f("ck_cases_duration")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_cases_version")),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], name=op.f("fk_cases_patient_id_patients")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("case_number", name=op.f("uq_cases_case_number")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_anesthesia", ["anesthesia_type"], unique=False)
        batch_op.create_index("ix_cases_date_number", ["procedure_date", "case_number"], unique=False)
        batch_op.create_index("ix_cases_duration", ["duration_minutes"], unique=False)
        batch_op.create_index(batch_op.f("ix_cases_patient_id"), ["patient_id"], unique=False)
        batch_op.create_index("ix_cases_procedure_date", ["procedure", "procedure_date", "case_number"], unique=False)
        batch_op.create_index("ix_cases_status_date", ["status", "procedure_date", "case_number"], unique=False)
        batch_op.create_index("ix_cases_surgeon_date", ["surgeon", "procedure_date", "case_number"], unique=False)

    op.create_table(
        "case_amendments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("amended_at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("previous_version", sa.Integer(), nullable=False),
        sa.Column("previous_content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_amendments_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_amendments")),
    )
    with op.batch_alter_table("case_amendments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_case_amendments_case_id"), ["case_id"], unique=False)

    op.create_table(
        "case_search",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_search_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_search")),
    )
    op.create_table(
        "complications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("timing", sa.String(length=16), nullable=False),
        sa.Column("onset_date", sa.Date(), nullable=False),
        sa.Column("clavien_dindo", sa.String(length=4), nullable=False),
        sa.Column("treatment", sa.Text(), nullable=True),
        sa.Column("resolved_date", sa.Date(), nullable=True),
        sa.Column("review_status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_complications_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complications")),
    )
    with op.batch_alter_table("complications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_complications_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_complications_onset_date"), ["onset_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_complications_review_status"), ["review_status"], unique=False)

    op.create_table(
        "outcome_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("timepoint", sa.String(length=8), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("nrs_back", sa.Integer(), nullable=True),
        sa.Column("nrs_leg", sa.Integer(), nullable=True),
        sa.Column("odi", sa.Integer(), nullable=True),
        sa.Column("relief_percent", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_outcome_scores_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_scores")),
        sa.UniqueConstraint("case_id", "timepoint", name="uq_outcome_scores_case_timepoint"),
    )
    with op.batch_alter_table("outcome_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outcome_scores_case_id"), ["case_id"], unique=False)

    op.create_table(
        "treated_levels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("side", sa.String(length=10), nullable=False),
        sa.CheckConstraint("side IN ('left', 'right', 'bilateral')", name=op.f("ck_treated_levels_side")),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_treated_levels_case_id_cases"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treated_levels")),
        sa.UniqueConstraint("case_id", "level", name="uq_treated_levels_case_level"),
    )
    with op.batch_alter_table("treated_levels", schema=None) as batch_op:
        batch_op.create_index("ix_treated_levels_level_case", ["level", "case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("treated_levels", schema=None) as batch_op:
        batch_op.drop_index("ix_treated_levels_level_case")

    op.drop_table("treated_levels")
    with op.batch_alter_table("outcome_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outcome_scores_case_id"))

    op.drop_table("outcome_scores")
    with op.batch_alter_table("complications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_complications_review_status"))
        batch_op.drop_index(batch_op.f("ix_complications_onset_date"))
        batch_op.drop_index(batch_op.f("ix_complications_case_id"))

    op.drop_table("complications")
    op.drop_table("case_search")
    with op.batch_alter_table("case_amendments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_case_amendments_case_id"))

    op.drop_table("case_amendments")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_surgeon_date")
        batch_op.drop_index("ix_cases_status_date")
        batch_op.drop_index("ix_cases_procedure_date")
        batch_op.drop_index(batch_op.f("ix_cases_patient_id"))
        batch_op.drop_index("ix_cases_duration")
        batch_op.drop_index("ix_cases_date_number")
        batch_op.drop_index("ix_cases_anesthesia")

    op.drop_table("cases")
    with op.batch_alter_table("patients", schema=None) as batch_op:
        batch_op.drop_index("ix_patients_name")

    op.drop_table("patients")
    op.drop_table("case_counters")
