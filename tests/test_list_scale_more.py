"""The case list's last plans at a million cases (issue 18): a page sorted by the patient walks the patients in
order, a broad search is checked case by case by its LIKE alone. Each finds exactly the rows, in exactly the order,
that a plain reading of every case gives (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import event, text

from caselog.db import queries
from caselog.db.engine import Database
from caselog.db.schema import upgrade
from caselog.records import CaseFilter, CaseListItem, CaseView
from caselog.service import CaseService
from tests.factories import simple_case
from tests.helpers.migrations import downgrade
from tests.test_list_scale import _everything, _matches, _stored


def _sort_key(sort: str, item: CaseListItem, view: CaseView) -> tuple[Any, ...]:
    """The list's order read off the case: the patient's name (or MRN), then the case number as a number."""
    patient = view.record.patient
    number = (item.case_number[:4], len(item.case_number), item.case_number)
    return (patient.family_name, patient.given_name, *number) if sort == "patient" else (patient.mrn, *number)


def _filters(items: dict[str, CaseListItem], views: dict[str, CaseView]) -> list[CaseFilter]:
    first = next(iter(items.values()))
    family = views[first.case_number].record.patient.family_name
    return [
        CaseFilter(),
        CaseFilter(surgeon=first.surgeon),
        CaseFilter(date_from=dt.date(2024, 1, 1), date_to=dt.date(2024, 12, 31)),
        CaseFilter(level="L4-L5"),
        CaseFilter(with_complications=True),
        CaseFilter(search=family),  # a name: its matches lie together in the patients' order
        CaseFilter(search="ova"),
        CaseFilter(search="tolerated"),  # a phrase of the notes: spread over every name
        CaseFilter(surgeon=first.surgeon, search="ova", level="L4-L5"),
        CaseFilter(status="final", search="a"),  # fewer than three characters: no trigram index to ask
    ]


@pytest.mark.parametrize(("driving_limit", "search_limit"), [(queries.DRIVING_LIMIT, queries.SEARCH_SORT_LIMIT),
                                                              (30, 60), (30, 1_000_000)])  # fmt: skip
def test_pages_sorted_by_patient_are_the_plain_order(
    service: CaseService, driving_limit: int, search_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sorted by patient name or MRN, either way, the first and a later page hold exactly the matching cases in
    the order of a plain sort of every case: walking the patients (the lower limits), reading a search's matches
    first, or sorting every match change how fast, never which rows or their order; the counts agree too."""
    monkeypatch.setattr(queries, "DRIVING_LIMIT", driving_limit)
    monkeypatch.setattr(queries, "SEARCH_SORT_LIMIT", search_limit)
    _stored(service, 900)
    items, views = _everything(service)
    for f in _filters(items, views):
        matching = [n for n, item in items.items() if _matches(f, item, views[n])]
        assert matching, f
        assert service.count(f) == len(matching), f
        for sort in ("patient", "mrn"):
            for descending in (False, True):
                plain = sorted(matching, key=lambda n, s=sort: _sort_key(s, items[n], views[n]), reverse=descending)
                for offset in (0, 100):
                    page = service.query(f, sort=sort, descending=descending, offset=offset, limit=100)
                    assert [r.case_number for r in page] == plain[offset : offset + 100], (f, sort, descending)


def _plan(db: Database, statement: str, parameters: Any) -> list[str]:
    raw = db.engine.raw_connection()
    try:
        return [row[3] for row in raw.cursor().execute("EXPLAIN QUERY PLAN " + statement, parameters)]
    finally:
        raw.close()


def test_a_broad_filter_sorted_by_patient_walks_the_patients_in_order(
    service: CaseService, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: a surgeon's cases sorted by patient name read the name index and each patient's cases, sorting only
    within a name (its own choice sorted every case of the surgeon: 360 ms at 1M); a filter of few cases still
    reads them and sorts them at once."""
    if not db.is_sqlite:
        pytest.skip("SQLite's page plan; PostgreSQL's planner chooses its own")
    monkeypatch.setattr(queries, "DRIVING_LIMIT", 30)
    _stored(service, 300)
    surgeon = service.surgeons()[0]
    captured: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
        if "ORDER BY patients.family_name" in statement:
            captured.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        service.query(CaseFilter(surgeon=surgeon), sort="patient", descending=True, limit=100)
        rare = service.query(CaseFilter(search="odd-1"), sort="patient", descending=True, limit=100)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(rare) == 1
    (broad, broad_parameters), (narrow, narrow_parameters) = captured
    walked = _plan(db, broad, broad_parameters)
    assert walked[0].startswith("SCAN patients USING") and "ix_patients_name" in walked[0], walked
    assert "USE TEMP B-TREE FOR RIGHT PART OF ORDER BY" in walked, walked
    assert "USE TEMP B-TREE FOR ORDER BY" in _plan(db, narrow, narrow_parameters)


def test_a_broad_search_checks_each_listed_case_by_its_like_alone(
    service: CaseService, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search matching DRIVING_LIMIT cases or more is checked case by case along the list's index: the page's
    statement asks the trigram index for nothing (its list of every match cost 50 ms of 113 at 1M), and the probe
    that finds it broad reads the index's table alone, which stops at the limit (as `case_id IN (...)` it listed
    every match first: 52 ms)."""
    if not db.is_sqlite:
        pytest.skip("the trigram index's FTS5 table is SQLite's")
    _stored(service, 40)
    with db.write() as session:  # a few thousand cases' worth of one phrase, as direct rows of the search table
        session.execute(text("UPDATE case_search SET text = text || ' axial pain'"))
    page_sql: list[str] = []
    probes: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "LIMIT" in statement and "ORDER BY" in statement:
            page_sql.append(statement)
        elif "MATCH" in statement:
            probes.append(" ".join(statement.split()))

    monkeypatch.setattr(queries, "DRIVING_LIMIT", 10)
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = service.query(CaseFilter(search="axial pain"), limit=100)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert len(page) == 43
    assert page_sql and all("case_search_fts" not in s for s in page_sql), page_sql
    assert probes and all("FROM case_search_fts WHERE case_search_fts MATCH" in s and "IN (" not in s
                          for s in probes), probes  # fmt: skip


def _key(sort: str, item: CaseListItem) -> tuple[Any, ...]:
    column = {"duration": item.duration_minutes, "anesthesia": item.anesthesia_type}[sort]
    return (column, item.case_number[:4], len(item.case_number), item.case_number)


def test_pages_sorted_by_duration_or_anesthesia_beside_a_filter_are_the_plain_order(service: CaseService) -> None:
    """Beside each filter on the cases' own columns, a page sorted by duration or anesthesia (walked along its
    schema 0014 index) holds exactly the matching cases in the order of a plain sort of every case."""
    _stored(service, 700)
    items, _views = _everything(service)
    first = next(iter(items.values()))
    for f in (CaseFilter(surgeon=first.surgeon), CaseFilter(status="draft"), CaseFilter(procedure=first.procedure),
              CaseFilter(date_from=dt.date(2024, 1, 1), surgeon=first.surgeon), CaseFilter()):  # fmt: skip
        matching = [n for n, item in items.items() if _matches(f, item, _views[n])]
        for sort in ("duration", "anesthesia"):
            for descending in (False, True):
                plain = sorted(matching, key=lambda n, s=sort: _key(s, items[n]), reverse=descending)
                page = service.query(f, sort=sort, descending=descending, offset=50, limit=100)
                assert [r.case_number for r in page] == plain[50:150], (f, sort, descending)


def test_a_surgeons_cases_sorted_by_duration_walk_its_index(service: CaseService, db: Database) -> None:
    """SQLite: one surgeon's page sorted by duration or anesthesia reads its index in order, checking the surgeon in
    it, and sorts nothing (before schema 0014 it sorted all 200,000 of the surgeon's cases at 1M: 430 ms)."""
    if not db.is_sqlite:
        pytest.skip("SQLite's page plan; PostgreSQL's planner chooses its own")
    _stored(service, 300)
    with db.write() as session:
        session.execute(text("ANALYZE"))
    surgeon = service.surgeons()[0]
    for sort, index in (("duration", "ix_cases_duration_order"), ("anesthesia", "ix_cases_anesthesia_order")):
        captured: list[tuple[str, Any]] = []

        def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
            if "LIMIT" in statement and "ORDER BY" in statement:
                captured.append((statement, parameters))  # noqa: B023 (used before the loop moves on)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            service.query(CaseFilter(surgeon=surgeon), sort=sort, descending=True, limit=100)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        plan = _plan(db, *captured[-1])
        assert any(index in step for step in plan) and not any("TEMP B-TREE" in step for step in plan), plan


def test_schema_0014_replaces_the_sort_indexes_and_keeps_every_case(service: CaseService, db: Database) -> None:
    """A 0013 database upgrades with every case as it was and the duration and anesthesia indexes in the list's
    order; the downgrade brings back 0013's."""
    _stored(service, 60)

    def sort_indexes() -> set[str]:  # read from the catalogue: SQLite's reflection leaves out expression indexes
        listed = ("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cases'" if db.is_sqlite
                  else "SELECT indexname FROM pg_indexes WHERE tablename = 'cases'")  # fmt: skip
        with db.engine.connect() as conn:
            names = set(conn.execute(text(listed)).scalars())
        return {n for n in names if n.startswith(("ix_cases_duration", "ix_cases_anesthesia"))}

    def every_case() -> list[Any]:
        with db.engine.connect() as conn:
            return list(conn.execute(text("SELECT * FROM cases ORDER BY id")).all())

    before = every_case()
    downgrade(db, "0013_number_order")
    assert sort_indexes() == {"ix_cases_duration_number", "ix_cases_anesthesia_number"}
    assert every_case() == before
    upgrade(db, copy_first=False)
    assert sort_indexes() == {"ix_cases_duration_order", "ix_cases_anesthesia_order"}
    assert every_case() == before


def test_an_ascii_search_alone_is_counted_by_the_trigram_index_alone(service: CaseService, db: Database) -> None:
    """SQLite: a search of three ASCII characters or more is counted in the trigram index without reading a case's
    row, and the count is exactly the cases a plain reading finds, also beside notes holding the characters a
    case-folding changes (the Kelvin sign, a dotted capital I, ß, accents) and a search row edited by hand in capitals
    (the list finds it too: LIKE and the index both fold ASCII case)."""
    _stored(service, 200)
    for i, note in enumerate(("Kelvin \u212a test", "\u0130stanbul IKI", "Straße café naïve")):
        service.create_case(simple_case(f"2025-03-1{i}", notes=note))
    with db.write() as session:  # a direct edit of the search table, in capitals
        session.execute(text("UPDATE case_search SET text = 'HAND EDITED' WHERE case_id = (SELECT min(case_id) "
                             "FROM case_search)"))  # fmt: skip
    items, views = _everything(service)
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    for search in ("axial pain", "K TEST", "k test", "stanbul", "i̇stanbul", "strasse", "cafe", "naive", "50%", "_at",
                   "tolerated", "hand edited", "2024-0"):  # fmt: skip
        f = CaseFilter(search=search)
        listed = {r.case_number for r in service.query(f, limit=None)}
        sent.clear()
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            counted = service.count(f)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert counted == len(listed), search
        if search != "hand edited":
            assert listed == {n for n, item in items.items() if _matches(f, item, views[n])}, search
        if db.is_sqlite and search.isascii():
            assert not any("case_search.text LIKE" in s for s in sent), (search, sent)
