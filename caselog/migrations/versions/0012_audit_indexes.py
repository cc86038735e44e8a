"""Indexes behind the audit views' filters: by user, by action and by time, each continuing with the entry
number (so a page, newest first, is a walk of the index) and holding the other two filters' columns (so a count or
a page of several filters together reads the index alone, never each entry's row).

Only indexes are added: no entry is read or written (the trail's triggers refuse updates and deletes, and an
index changes neither).

Revision ID: 0012_audit
Revises: 0011_list
Create Date: 2026-11-30 14:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0012_audit"
down_revision = "0011_list"
branch_labels = None
depends_on = None

_INDEXES = {
    "ix_audit_log_username": ["username", "id", "action", "occurred_at"],
    "ix_audit_log_action": ["action", "id", "username", "occurred_at"],
    "ix_audit_log_occurred_at": ["occurred_at", "id", "username", "action"],
}


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.create_index(name, "audit_log", columns, unique=False)


def downgrade() -> None:
    for name in _INDEXES:
        op.drop_index(name, table_name="audit_log")
