"""The case list at a million cases: a trigram index for `--search`, and indexes that serve each sortable column.

- SQLite: an FTS5 table with the trigram tokenizer over case_search (external content: the text is stored once),
  kept in step by triggers on case_search, so every write (the app, the command line, an import, a restore, a
  direct edit of the file) updates it. Filled from the existing rows here.
- PostgreSQL: a pg_trgm GIN index on case_search.text, which serves `LIKE '%text%'` itself. Where the server
  cannot provide pg_trgm (an extension a database owner may create since PostgreSQL 13), the upgrade goes on
  without it and a search reads the whole table, as before.
- The duration and anesthesia columns' indexes go on with the case number, the list's tie-break; each filter
  column's index ends with the other filter columns, so a count of any combination reads one index.

Every existing case keeps its values; nothing is rewritten but indexes.

Revision ID: 0011_list
Revises: 0010_dashboard
Create Date: 2026-11-30 14:20:00
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import exc

revision = "0011_list"
down_revision = "0010_dashboard"
branch_labels = None
depends_on = None

#: Each filter column's index: its columns before (0009) and after (0011).
_FILTER_INDEXES = {
    "ix_cases_date_number": (["procedure_date", "case_number"], ["surgeon", "procedure", "status"]),
    "ix_cases_surgeon_date": (["surgeon", "procedure_date", "case_number"], ["procedure", "status"]),
    "ix_cases_procedure_date": (["procedure", "procedure_date", "case_number"], ["surgeon", "status"]),
    "ix_cases_status_date": (["status", "procedure_date", "case_number"], ["surgeon", "procedure"]),
}

# Written out, not read from caselog.db.tables: a migration describes the schema as it was made.
_SQLITE = [
    "CREATE VIRTUAL TABLE case_search_fts USING fts5("
    "text, content='case_search', content_rowid='case_id', tokenize='trigram')",
    "CREATE TRIGGER case_search_fts_insert AFTER INSERT ON case_search BEGIN "
    "INSERT INTO case_search_fts(rowid, text) VALUES (new.case_id, new.text); END",
    "CREATE TRIGGER case_search_fts_delete AFTER DELETE ON case_search BEGIN "
    "INSERT INTO case_search_fts(case_search_fts, rowid, text) VALUES ('delete', old.case_id, old.text); END",
    "CREATE TRIGGER case_search_fts_update AFTER UPDATE ON case_search BEGIN "
    "INSERT INTO case_search_fts(case_search_fts, rowid, text) VALUES ('delete', old.case_id, old.text); "
    "INSERT INTO case_search_fts(rowid, text) VALUES (new.case_id, new.text); END",
    "INSERT INTO case_search_fts(case_search_fts) VALUES ('rebuild')",
    "ANALYZE cases",  # the planner's figures for the new indexes (a few seconds at a million cases)
]
_SQLITE_DOWN = [
    "DROP TRIGGER case_search_fts_update",
    "DROP TRIGGER case_search_fts_delete",
    "DROP TRIGGER case_search_fts_insert",
    "DROP TABLE case_search_fts",
]


def upgrade() -> None:
    op.create_index(op.f("ix_cases_duration_number"), "cases", ["duration_minutes", "case_number"], unique=False)
    op.create_index(op.f("ix_cases_anesthesia_number"), "cases", ["anesthesia_type", "case_number"], unique=False)
    op.drop_index(op.f("ix_cases_duration"), table_name="cases")
    op.drop_index(op.f("ix_cases_anesthesia"), table_name="cases")
    for name, (columns, covering) in _FILTER_INDEXES.items():
        op.drop_index(op.f(name), table_name="cases")
        op.create_index(op.f(name), "cases", columns + covering, unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in _SQLITE:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        try:
            with bind.begin_nested():  # a server without the extension leaves the rest of the upgrade intact
                op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except exc.DBAPIError:
            return
        op.execute("CREATE INDEX ix_case_search_text_trgm ON case_search USING gin (text gin_trgm_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in _SQLITE_DOWN:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_case_search_text_trgm")
    for name, (columns, _covering) in _FILTER_INDEXES.items():
        op.drop_index(op.f(name), table_name="cases")
        op.create_index(op.f(name), "cases", columns, unique=False)
    op.create_index(op.f("ix_cases_anesthesia"), "cases", ["anesthesia_type"], unique=False)
    op.create_index(op.f("ix_cases_duration"), "cases", ["duration_minutes"], unique=False)
    op.drop_index(op.f("ix_cases_anesthesia_number"), table_name="cases")
    op.drop_index(op.f("ix_cases_duration_number"), table_name="cases")
