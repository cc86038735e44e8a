"""PostgreSQL plans a broad search's first page from a truer count of its matches.

The planner guesses how many cases a `LIKE '%text%'` search matches from a sample of the search texts: the
default sample (a histogram of 101 texts) held no "иванова" at a million cases, though 22,171 cases (2.2%) match,
so it planned for 100 matches: every match's case and patient was read and sorted for a page of 100 (382 ms).
With 1,001 texts sampled it expects about the right share and walks the cases in the list's order, checking
each one's search row, until the page is full (22 ms). Counts and pages are the same rows; only the plan
changes. SQLite plans the search from its own trigram index and is left as it is.

Revision ID: 0015_search_statistics
Revises: 0014_list_sort
Create Date: 2026-11-30 20:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0015_search_statistics"
down_revision = "0014_list_sort"
branch_labels = None
depends_on = None

#: Texts sampled for the search column's statistics (PostgreSQL's default is 100, a histogram of 101).
SEARCH_STATISTICS = 1000


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE case_search ALTER COLUMN text SET STATISTICS {SEARCH_STATISTICS}")
        op.execute("ANALYZE case_search")  # the new sample now, not at autovacuum's next visit (seconds at 1M)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE case_search ALTER COLUMN text SET STATISTICS -1")
