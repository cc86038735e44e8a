"""The audit views' case-number filter served by an index on PostgreSQL.

The filter asks for the entries of the cases whose number starts with what was typed ("2024", "2024-0001"). SQLite
finds them as a range of ix_audit_log_record (its text order is code point order). PostgreSQL's database collation
(C.UTF-8, or a language's) may order text otherwise, so a range of that index is not exact there, and LIKE 'x%'
cannot use it either: every case entry was read (a million at 1M). This index holds the record number in the "C"
collation (byte order of UTF-8, which is code point order), and the filter asks for the same range in it.

Only an index is added, on PostgreSQL only: no entry is read or written (the trail's triggers refuse changes).

Revision ID: 0014_audit_prefix
Revises: 0013_number_order
Create Date: 2026-11-30 16:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0014_audit_prefix"
down_revision = "0013_number_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute('CREATE INDEX ix_audit_log_record_code_points ON audit_log (record_type, record_id COLLATE "C")')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_audit_log_record_code_points")
