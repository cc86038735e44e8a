"""Values an SQLite file holds but CaseLog cannot read: what a direct edit of the file leaves behind.

SQLite keeps whatever is written into a column ('garbage' in a date, text in a number), and the first read of that
row then fails deep inside the database library. `caselog check` runs these queries so the damage is named (table,
column, which cases) instead of surfacing as an unexpected error in the list, a report or the audit check.
PostgreSQL enforces its column types itself, so the check is for SQLite only.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Date, DateTime, Float, Integer, LargeBinary, String, Table, text
from sqlalchemy.orm import Session

from caselog.db.models import Base

#: At most this many cases or rows are named per column; the count says how many there are.
NAMED = 3

_DIGITS_DATE = "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'"
# date(x, '+0 days') normalises 2024-02-30 to 2024-03-01, so comparing it with x finds days a month does not have
# (date(x) alone keeps them, and Python cannot read them).


def _unreadable(column: Column[object], c: str) -> tuple[str, str] | None:
    """The SQL condition true for a value of `column` (written `c` in the query) that its type cannot read, and
    what it should have been."""
    kind = column.type
    if isinstance(kind, DateTime):
        return (f"(typeof({c}) <> 'text' OR substr({c}, 1, 10) NOT GLOB {_DIGITS_DATE} "
                f"OR date(substr({c}, 1, 10), '+0 days') IS NOT substr({c}, 1, 10) OR datetime({c}) IS NULL)",
                "a date and time")  # fmt: skip
    if isinstance(kind, Date):
        return f"(typeof({c}) <> 'text' OR {c} NOT GLOB {_DIGITS_DATE} OR date({c}, '+0 days') IS NOT {c})", "a date"
    if isinstance(kind, JSON):
        return f"(typeof({c}) <> 'text' OR NOT json_valid({c}))", "readable JSON"
    if isinstance(kind, Boolean):
        return f"(typeof({c}) <> 'integer' OR {c} NOT IN (0, 1))", "yes or no"
    if isinstance(kind, Integer):
        return f"typeof({c}) <> 'integer'", "a whole number"
    if isinstance(kind, Float):
        return f"typeof({c}) NOT IN ('real', 'integer')", "a number"
    if isinstance(kind, LargeBinary):
        return f"typeof({c}) <> 'blob'", "binary data"
    if isinstance(kind, String):
        return f"typeof({c}) <> 'text'", "text"
    return None


def _which(session: Session, table: Table, condition: str) -> str:
    """The first few cases (by case number) or rows (by key) holding an unreadable value: `condition` (on the
    table's alias `t`) is true for them."""
    if table.name == "cases":
        sql = f"SELECT t.case_number FROM cases t WHERE {condition} ORDER BY t.id LIMIT {NAMED}"
        return ", ".join(f"case {n}" for n in session.execute(text(sql)).scalars())
    if "case_id" in table.c:
        sql = (f'SELECT c.case_number FROM "{table.name}" t JOIN cases c ON c.id = t.case_id '
               f"WHERE {condition} ORDER BY t.rowid LIMIT {NAMED}")  # fmt: skip
        found = [f"case {n}" for n in session.execute(text(sql)).scalars()]
        if found:
            return ", ".join(found)
    key = next(iter(table.primary_key.columns), None)
    if key is None:
        return ""
    sql = f'SELECT t."{key.name}" FROM "{table.name}" t WHERE {condition} ORDER BY 1 LIMIT {NAMED}'
    return ", ".join(f"row {k}" for k in session.execute(text(sql)).scalars())


def unreadable_values(session: Session) -> list[str]:
    """One line per column holding values its type cannot read: `cases.procedure_date: 1 value is not a date
    (case 2021-00003)`. Empty when every stored value reads back. One pass over each table counts every column."""
    problems: list[str] = []
    for table in Base.metadata.sorted_tables:
        # Each column's condition is built once (on the alias `t`) and serves both the count and the naming.
        checked = [(column, f"{ref} IS NOT NULL AND {found[0]}", found[1]) for column in table.columns
                   if (found := _unreadable(column, ref := f't."{column.name}"')) is not None]  # fmt: skip
        if not checked:
            continue
        sums = ", ".join(f"coalesce(sum({condition}), 0)" for _, condition, _ in checked)
        counts = session.execute(text(f'SELECT {sums} FROM "{table.name}" t')).one()
        for (column, condition, expected), count in zip(checked, counts, strict=True):
            if not count:
                continue
            values = "value is" if count == 1 else "values are"
            which = _which(session, table, condition)
            problems.append(f"{table.name}.{column.name}: {count} {values} not {expected}"
                            + (f" ({which})" if which else ""))  # fmt: skip
    return problems
