"""Schema 0015: PostgreSQL samples ten times more search texts, so a broad search's first page is planned as the
walk of the list's order it is (issue 18: 382 ms to 22 ms for a family name at a million cases); SQLite is left
as it was. Counts and pages are the same rows: tests/test_list_scale*.py hold them to a plain reading."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, text

from caselog.db.engine import Database
from caselog.db.schema import upgrade
from caselog.records import CaseFilter
from caselog.service import CaseService
from tests.factories import simple_case
from tests.helpers.migrations import downgrade


def _search_statistics(db: Database) -> int | None:
    """The search column's sample size as PostgreSQL stores it (-1: the server's default); None on SQLite."""
    if db.is_sqlite:
        return None
    asked = "SELECT attstattarget FROM pg_attribute WHERE attrelid = 'case_search'::regclass AND attname = 'text'"
    with db.engine.connect() as conn:
        return int(conn.execute(text(asked)).scalar_one())


def _every_search_row(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(text("SELECT case_id, text FROM case_search ORDER BY case_id")).all())


def test_schema_0015_samples_more_search_texts_on_postgresql_and_keeps_every_row(
    service: CaseService, db: Database
) -> None:
    for n in range(5):
        service.create_case(simple_case(f"2025-03-1{n}", patient={
            "mrn": f"SEARCH-{n}", "family_name": "Иванова", "given_name": "Анна", "birth_date": "1960-01-01",
            "sex": "female"}))  # fmt: skip
    before = _every_search_row(db)
    expected = None if db.is_sqlite else 1000
    assert _search_statistics(db) == expected
    downgrade(db, "0014_list_sort")
    assert _search_statistics(db) == (None if db.is_sqlite else -1)
    assert _every_search_row(db) == before
    upgrade(db, copy_first=False)
    assert _search_statistics(db) == expected
    assert _every_search_row(db) == before
    assert service.count(CaseFilter(search="иванова")) == 5


def test_a_search_sorted_by_patient_reads_its_matches_before_the_page_on_postgresql(
    service: CaseService, db: Database
) -> None:
    """A name's matches lie together in the patients' order, which PostgreSQL's estimate cannot know: told the
    search matches 2% of the cases, it walked every patient in name order for a page (5.9 s at 1M). The page of a
    search that drives is cut from its matches, read whole first (a materialized CTE), in the same order."""
    for n in range(6):
        service.create_case(simple_case(f"2025-04-1{n}", patient={
            "mrn": f"NAME-{n}", "family_name": "Иванова" if n % 2 else "Петрова", "given_name": f"Анна{n}",
            "birth_date": "1960-01-01", "sex": "female"}))  # fmt: skip
    pages: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if ("ORDER BY" in statement and "FROM cases" in statement) or "matches" in statement:
            pages.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        page = service.query(CaseFilter(search="иванова"), sort="patient", descending=True, limit=2)
        by_mrn = service.query(CaseFilter(search="иванова"), sort="mrn", limit=10)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert [r.patient_name for r in page] == ["Иванова, Анна5", "Иванова, Анна3"]
    assert [r.mrn for r in by_mrn] == ["NAME-1", "NAME-3", "NAME-5"]
    materialized = [s for s in pages if "MATERIALIZED" in s]
    assert len(materialized) == (0 if db.is_sqlite else 2), pages
