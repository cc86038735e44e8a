"""The case list's sorts by duration and anesthesia beside a filter, and the audit views' case-number filter on
PostgreSQL, each served by an index.

- Duration and anesthesia: their indexes (0011) went on with the case number as text, but the list orders case
  numbers as numbers within a year (0013: year, length, text), so a page still sorted each value's cases, and
  beside a filter (one surgeon's 200,000 cases at 1M) SQLite read every matching case and sorted them all
  (430 ms). Each index now continues in the list's own order and then holds the filter columns, as the filter
  indexes do: a page walks the index, checks the filters in it and stops after 100 cases.
- The audit case-number filter asks for the entries whose case number starts with what was typed. SQLite finds
  them as a range of ix_audit_log_record (its text order is code point order). PostgreSQL's database collation
  (C.UTF-8, or a language's) may order text otherwise, so LIKE 'x%' could not use that index: every case entry was
  read. ix_audit_log_record_code_points holds the record number in the "C" collation (UTF-8 byte order, which is
  code point order), and the filter asks for the same range in it. PostgreSQL only.

Only indexes change: every case and audit entry keeps its values (the trail's triggers refuse changes anyway).

Revision ID: 0014_list_sort
Revises: 0013_number_order
Create Date: 2026-11-30 16:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_list_sort"
down_revision = "0013_number_order"
branch_labels = None
depends_on = None

# Written out, not read from caselog.db.models: a migration describes the schema as it was made.
_NUMBER_ORDER = ["substr(case_number, 1, 4)", "length(case_number)"]
_FILTERS = ["case_number", "procedure_date", "surgeon", "procedure", "status"]
_SORT_INDEXES = {  # new name: (column, name before)
    "ix_cases_duration_order": ("duration_minutes", "ix_cases_duration_number"),
    "ix_cases_anesthesia_order": ("anesthesia_type", "ix_cases_anesthesia_number"),
}


def upgrade() -> None:
    for name, (column, before) in _SORT_INDEXES.items():
        op.create_index(name, "cases", [column, *(sa.text(e) for e in _NUMBER_ORDER), *_FILTERS], unique=False)
        op.drop_index(before, table_name="cases")
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("ANALYZE cases")  # the planner's figures for the new indexes (a few seconds at a million cases)
    elif bind.dialect.name == "postgresql":
        op.execute('CREATE INDEX ix_audit_log_record_code_points ON audit_log (record_type, record_id COLLATE "C")')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_audit_log_record_code_points")
    for name, (column, before) in _SORT_INDEXES.items():
        op.create_index(before, "cases", [column, "case_number"], unique=False)
        op.drop_index(name, table_name="cases")
