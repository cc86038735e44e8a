"""The case list at scale (issue 18): its indexed filters, counts and search find exactly what a plain reading of
every case finds, and the search's trigram index follows every write and every upgrade."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import text

from caselog.db import queries
from caselog.db.engine import Database
from caselog.db.schema import head_revision, open_database, upgrade
from caselog.db.store import search_text
from caselog.db.transfer import copy_database
from caselog.demo import generate_cases
from caselog.records import CaseFilter, CaseListItem, CaseView, case_to_contract
from caselog.service import CaseService
from tests.factories import TODAY, case_file, simple_case
from tests.helpers.migrations import downgrade

SORTS = ("procedure_date", "case_number", "patient", "mrn", "procedure", "duration", "anesthesia", "surgeon", "status")
#: Texts that need care: LIKE's own wildcards and escape, FTS5's quote, fewer than three characters, a folding
#: that changes length (ß), a text across two parts (family and given name), and one nobody has.
ODD_NOTES = ("50% relief_at 6w \\ back", 'said "not again"', "Straße work")
SEARCHES = ("иванова", "ivanova", "50%", "_at", "\\", '"not', "%", "ß", "STRASSE", "ss", "ab", "a", "2024-000", "d00",
            "axial pain", "nguyễn\nthị", "zzzz-nobody", "  tolerated  ")  # fmt: skip


def _stored(service: CaseService, cases: int) -> None:
    service.add_records(generate_cases(cases, seed=18, until=TODAY, years=3))
    for i, note in enumerate(ODD_NOTES):
        service.create_case(simple_case(f"2025-0{i + 1}-10", notes=note, patient={
            "mrn": f"ODD-{i}", "family_name": "Nguyễn", "given_name": "Thị", "birth_date": "1960-01-01",
            "sex": "female"}))  # fmt: skip


def _everything(service: CaseService) -> tuple[dict[str, CaseListItem], dict[str, CaseView]]:
    items = {r.case_number: r for r in service.query(CaseFilter(), limit=None)}
    views = {v.case_number: v for v in service.iter_cases()}
    return items, views


def _matches(f: CaseFilter, item: CaseListItem, view: CaseView) -> bool:
    """The reference: each filter read straight off the whole case, no index, no SQL."""
    record = view.record
    needle = (f.search or "").strip().casefold()
    return all((
        f.date_from is None or item.procedure_date >= f.date_from,
        f.date_to is None or item.procedure_date <= f.date_to,
        not f.surgeon or item.surgeon == f.surgeon,
        not f.procedure or item.procedure == f.procedure,
        not f.status or item.status == f.status,
        not f.level or any(lv.level == f.level for lv in record.levels),
        not f.with_complications or bool(record.complications),
        not needle or needle in search_text(item.case_number, record),
    ))  # fmt: skip


def _filters(items: dict[str, CaseListItem]) -> list[CaseFilter]:
    first = next(iter(items.values()))
    alone = [
        CaseFilter(),
        CaseFilter(date_from=dt.date(2024, 1, 1), date_to=dt.date(2024, 6, 30)),
        CaseFilter(surgeon=first.surgeon),
        CaseFilter(procedure="medial_branch_block"),
        CaseFilter(level="L4-L5"),
        CaseFilter(status="draft"),
        CaseFilter(with_complications=True),
        *(CaseFilter(search=s) for s in (*SEARCHES, first.mrn, first.case_number)),
    ]
    combined = [
        CaseFilter(surgeon=first.surgeon, level="L5-S1", date_from=dt.date(2023, 6, 1)),
        CaseFilter(status="final", with_complications=True),
        CaseFilter(level="L4-L5", with_complications=True),
        CaseFilter(level="L4-L5", search="ivanova"),
        CaseFilter(date_from=dt.date(2024, 1, 1), search="tolerated"),
        CaseFilter(surgeon=first.surgeon, search="axial pain", with_complications=True),
        CaseFilter(procedure="radiofrequency_ablation", status="final", search="ова"),
    ]
    return alone + combined


@pytest.mark.parametrize("driving_limit", [queries.DRIVING_LIMIT, 40])
def test_every_filter_and_sort_finds_what_reading_every_case_finds(
    service: CaseService, driving_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counts, whole lists and first pages equal a plain reading of every case: the trigram index, the counts
    taken in a part's own table and the plans driven by a part (IN) or by the list's index (EXISTS: a part
    matching 40 cases or more, at the lower limit) change how fast, never which cases."""
    monkeypatch.setattr(queries, "DRIVING_LIMIT", driving_limit)
    _stored(service, 1200)
    items, views = _everything(service)
    for f in _filters(items):
        expected = {n for n, item in items.items() if _matches(f, item, views[n])}
        assert service.count(f) == len(expected), f
        assert {r.case_number for r in service.query(f, limit=None)} == expected, f
    # Every sort's first page: the same cases in the same order as the plain list of exactly the expected cases.
    for f in (CaseFilter(), CaseFilter(search="ova"), CaseFilter(level="L4-L5"), CaseFilter(with_complications=True)):
        expected_numbers = tuple(n for n, item in items.items() if _matches(f, item, views[n]))
        for sort in SORTS:
            for descending in (False, True):
                page = [r.case_number for r in service.query(f, sort=sort, descending=descending, limit=100)]
                plain = service.query(CaseFilter(case_numbers=expected_numbers), sort=sort, descending=descending,
                                      limit=100)  # fmt: skip
                assert page == [r.case_number for r in plain], (f, sort, descending)


def _found(service: CaseService, search: str) -> set[str]:
    return {r.case_number for r in service.query(CaseFilter(search=search))}


def _index_agrees(db: Database) -> None:
    """SQLite: the FTS5 index holds exactly the search table's text (its own integrity check compares them).
    PostgreSQL: the trigram index is there (the server maintains it with the table)."""
    with db.write() as session:
        if db.is_sqlite:
            session.execute(text("INSERT INTO case_search_fts(case_search_fts, rank) VALUES ('integrity-check', 1)"))
        else:
            found = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_case_search_text_trgm'"
            assert "gin_trgm_ops" in session.execute(text(found)).scalar_one()


def test_the_search_index_follows_every_write(service: CaseService, db: Database) -> None:
    """Add, edit, rename the patient, delete, import and a direct edit of the table: a search finds the text a
    case holds now, never the text it held before."""
    added = service.create_case(simple_case("2025-02-01", notes="Graphite marker used"))
    number = added.case_number
    assert _found(service, "graphite") == {number}
    case = service.get_case(number)
    changed = case_to_contract(case.record)
    changed.update(notes="Cobalt marker used", patient={**changed["patient"], "family_name": "Quixley"})
    service.update_case(number, changed, expected_version=case.version)
    assert _found(service, "graphite") == set()
    assert _found(service, "cobalt") == {number}
    assert _found(service, "quixley") == {number}
    patient = {"mrn": "IMP-1", "family_name": "Rowe", "given_name": "Ada", "birth_date": "1970-02-02", "sex": "female"}
    imported = service.import_cases(case_file(simple_case("2025-02-02", notes="Zirconia marker", patient=patient)))
    assert _found(service, "zirconia") == set(imported)
    with db.write() as session:  # a direct edit of the search table, as a database tool would make it
        session.execute(text("UPDATE case_search SET text = 'hand edited' WHERE text LIKE '%zirconia%'"))
    assert _found(service, "zirconia") == set()
    assert _found(service, "hand edited") == set(imported)
    _index_agrees(db)
    service.delete_case(number, reason="entered twice")
    assert _found(service, "cobalt") == set()
    _index_agrees(db)


def test_a_schema_0009_database_upgrades_with_its_search_index_filled(service: CaseService, db: Database) -> None:
    """Cases stored before 0011 are found by the new index at once, exactly as reading every case finds them."""
    downgrade(db, "0009")
    _stored(service, 300)  # written at schema 0009: no trigram index to keep in step
    result = upgrade(db, copy_first=False)
    assert (result.previous, result.current) == ("0009", head_revision())
    _index_agrees(db)
    items, views = _everything(service)
    for search in ("ова", "straße", "tolerated", "d00"):
        f = CaseFilter(search=search)
        expected = {n for n, item in items.items() if _matches(f, item, views[n])}
        assert expected and service.count(f) == len(expected)
        assert {r.case_number for r in service.query(f)} == expected


@pytest.mark.parametrize("search", ["", "   "])
def test_a_blank_search_is_no_filter(service: CaseService, search: str) -> None:
    _stored(service, 20)
    assert service.count(CaseFilter(search=search)) == service.count() == 23


def test_a_copy_to_another_database_is_searchable_at_once(service: CaseService, db: Database, tmp_path: Path) -> None:
    """copy-to writes the search table row by row into a new database: its trigram index follows (triggers)."""
    _stored(service, 40)
    target = open_database(tmp_path / "copy.sqlite3")
    try:
        copy_database(db, target)
        copied = CaseService(target, today=lambda: TODAY)
        for search in ("straße", "ова", "odd-1"):
            assert _found(copied, search) == _found(service, search) != set()
        _index_agrees(target)
    finally:
        target.close()
