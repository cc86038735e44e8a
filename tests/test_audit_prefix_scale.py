"""The audit views' case-number filter (issue 18): on PostgreSQL an index in code point order serves it (schema
0014), and on both databases it selects exactly the entries whose case number starts with what was typed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, inspect, text

from caselog import audit
from caselog.audit import AuditFilter
from caselog.db.engine import Database
from caselog.db.schema import head_revision, upgrade
from caselog.service import CaseService
from tests.factories import simple_case
from tests.helpers.migrations import downgrade

#: Typed starts of a number: a year, a number's start, LIKE's own wildcards, a character past the surrogates'
#: gap and the last code point (no string follows it), and nothing that matches.
PREFIXES = ("2025", "2025-0000", "2025-%", "2025-_", "2025-\ud7ff", "2025-\U0010ffff", "2024", "1999")


def _cases(service: CaseService) -> list[str]:
    return [service.create_case(simple_case(f"2025-0{month}-10")).case_number for month in range(1, 7)]


def test_the_case_number_filter_selects_exactly_the_numbers_that_start_so(service: CaseService, db: Database) -> None:
    """Count and pages equal a plain reading of the trail for every typed start, on SQLite and PostgreSQL."""
    _cases(service)
    entries = list(audit.iter_entries(db))
    for prefix in PREFIXES:
        f = AuditFilter(case_number_prefix=prefix)
        expected = [e.id for e in entries if e.record_type == "case" and (e.record_id or "").startswith(prefix)]
        assert audit.count_entries(db, f) == len(expected), prefix
        assert [e.id for e in audit.iter_entries(db, f)] == expected, prefix
        assert [e.id for e in audit.page_of_entries(db, f, limit=3)] == expected[::-1][:3], prefix


def _explained(db: Database, f: AuditFilter) -> str:
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        audit.count_entries(db, f)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    (statement, parameters), *_ = [s for s in sent if "count(" in s[0]]
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("SET enable_seqscan = off")  # a few entries: the planner would read them all regardless
        cursor.execute("EXPLAIN " + statement, parameters)
        return "\n".join(row[0] for row in cursor.fetchall())
    finally:
        raw.rollback()
        raw.close()


def test_postgresql_finds_a_case_number_start_on_its_code_point_index(service: CaseService, db: Database) -> None:
    """PostgreSQL: the filter is a range of ix_audit_log_record_code_points (LIKE under the database's collation
    could only read every case entry)."""
    if db.is_sqlite:
        pytest.skip("SQLite's own text order is code point order: ix_audit_log_record serves the range")
    _cases(service)
    plan = _explained(db, AuditFilter(case_number_prefix="2025-0"))
    assert "ix_audit_log_record_code_points" in plan and "Index Cond" in plan, plan


def test_the_code_point_index_comes_and_goes_with_schema_0014(service: CaseService, db: Database) -> None:
    """Upgrading a 0013 database adds the index on PostgreSQL (nothing on SQLite) and keeps every entry; the
    downgrade takes it away."""
    numbers = _cases(service)

    def indexes() -> set[str]:
        with db.engine.connect() as conn:
            return {ix["name"] for ix in inspect(conn).get_indexes("audit_log") if ix["name"]}

    downgrade(db, "0013_number_order")
    assert "ix_audit_log_record_code_points" not in indexes()
    before = [(e.id, e.record_id) for e in audit.iter_entries(db)]
    result = upgrade(db, copy_first=False)
    assert (result.previous, result.current) == ("0013_number_order", head_revision())
    assert ("ix_audit_log_record_code_points" in indexes()) is (not db.is_sqlite)
    assert [(e.id, e.record_id) for e in audit.iter_entries(db)] == before
    f = AuditFilter(case_number_prefix=numbers[0])
    assert audit.count_entries(db, f) == sum(1 for _, number in before if number == numbers[0]) > 0
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == len(before)
