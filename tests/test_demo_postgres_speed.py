"""The demo and imports write PostgreSQL by COPY, their lookups planned with their values (issue 18: a million
demo cases took 160 minutes there). What that could break: search, the audit trail, the year counters, text that
COPY must escape, all-or-nothing, a demo added to a database that has cases. Both backends unless named."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy.exc
from sqlalchemy import text

from caselog import audit, demo
from caselog.bulk import copy_rows, plan_with_values
from caselog.db import store
from caselog.records import CaseFilter, CaseRecord
from caselog.service import CaseService
from caselog.validation import case_number_key

UNTIL = dt.date(2025, 6, 30)
#: More cases than one lookup chunk (store.CHUNK) per batch, and several batches: the path a large demo takes.
CASES, BATCH = 1300, 600


def _postgresql_only(service: CaseService) -> None:
    if service.db.is_sqlite:
        pytest.skip("PostgreSQL's COPY and plan settings")


def _counters(service: CaseService) -> dict[int, int]:
    with service.db.read() as session:
        rows = session.execute(text("SELECT year, last_number FROM case_counters"))
        return {row.year: row.last_number for row in rows}


def test_search_finds_the_demos_cases_right_after_it(service: CaseService) -> None:
    """The search rows (and PostgreSQL's trigram index over them) hold every case the demo wrote."""
    records = demo.generate_cases(CASES, seed=7, until=UNTIL)
    service.add_record_stream(records, batch=BATCH)
    family = records[-1].patient.family_name
    expected = sum(1 for r in records if family.casefold() in r.patient.family_name.casefold())
    assert expected > 0
    assert service.count(CaseFilter(search=family.upper())) == expected
    listed = service.query(CaseFilter(search=family), limit=5)
    assert listed and all(family in item.patient_name for item in listed)


def test_the_trail_verifies_and_each_years_counter_is_its_last_number_after_a_demo(service: CaseService) -> None:
    """verify replays every case from its entry: the rows COPY wrote are the records, field for field."""
    _, first, last = service.add_record_stream(demo.generate_cases(CASES, seed=8, until=UNTIL), batch=BATCH)
    assert first and last
    assert audit.verify(service.db).ok
    with service.db.read() as session:
        numbers = session.execute(text("SELECT case_number FROM cases")).scalars().all()
    highest: dict[int, int] = {}
    for number in numbers:
        year, running, _ = case_number_key(number)
        highest[year] = max(highest.get(year, 0), running)
    assert _counters(service) == highest
    assert len(numbers) == CASES


def test_text_copy_must_escape_comes_back_as_typed(service: CaseService) -> None:
    """Tabs, backslashes, line ends and COPY's own null marker (\\N) in free text are stored as typed."""
    awkward = "left\tright \\ back\\slash\r\nnext line \\N end"
    base = demo.generate_cases(BATCH, seed=9, until=UNTIL)
    records = [dataclasses.replace(base[0], notes=awkward, indication="\\N"), *base[1:]]
    _, first, _ = service.add_record_stream(records, batch=BATCH)
    assert first is not None
    stored = service.get_case(first).record
    assert (stored.notes, stored.indication) == (awkward, "\\N")
    assert service.count(CaseFilter(search="back\\slash")) == 1
    assert audit.verify(service.db).ok


def test_a_demo_added_to_a_database_with_demo_cases_continues_their_numbers(service: CaseService) -> None:
    """A second demo meets the first one's patients under the same MRNs and numbers on after its cases."""
    service.add_record_stream(demo.generate_cases(700, seed=5, until=UNTIL), batch=BATCH)
    before = _counters(service)
    again = demo.generate_cases(CASES, seed=5, until=UNTIL)
    added, first, _ = service.add_record_stream(again, batch=BATCH)
    assert added == CASES and first is not None
    year, running, _ = case_number_key(first)
    assert running == before.get(year, 0) + 1
    assert service.count() == 700 + CASES
    with service.db.read() as session:
        patients = session.execute(text("SELECT count(*) FROM patients")).scalar_one()
    assert patients == len({r.patient.mrn for r in again})  # the first demo's patients are among the second's
    assert service.count(CaseFilter(search=again[0].patient.mrn)) >= 2
    assert audit.verify(service.db).ok


def _failing_after(records: list[CaseRecord], count: int) -> Iterator[CaseRecord]:
    yield from records[:count]
    raise RuntimeError("the demo's maker failed")


def test_a_postgresql_demo_failing_after_batches_went_in_leaves_nothing(service: CaseService) -> None:
    _postgresql_only(service)
    service.add_record_stream(demo.generate_cases(50, seed=1, until=UNTIL), batch=BATCH)
    head = audit.current_head(service.db)
    stored: list[int] = []
    with pytest.raises(RuntimeError, match="maker failed"):
        service.add_record_stream(
            _failing_after(demo.generate_cases(CASES, seed=2, until=UNTIL), 2 * BATCH + 10),
            batch=BATCH,
            progress=stored.append,
        )
    assert stored == [BATCH, 2 * BATCH]  # two batches had been copied in before the failure
    assert service.count() == 50
    assert audit.current_head(service.db) == head
    assert audit.verify(service.db).ok


def test_a_row_the_database_refuses_during_copy_is_sqlalchemys_integrity_error(service: CaseService) -> None:
    """COPY keeps the foreign keys; its failure reaches callers as an INSERT's would, and nothing stays."""
    _postgresql_only(service)
    row = {"case_id": 424242, "position": 0, "level": "L4-L5", "side": "left", "volume_ml": None}
    refused = pytest.raises(sqlalchemy.exc.IntegrityError, match="fk_treated_levels_case_id_cases")
    with refused as caught, service.db.write() as session:
        copy_rows(session.connection(), store.levels_t, tuple(row), [row])
    # PostgreSQL quotes the refused row in the error's context (patient data): it is left out, as an INSERT's
    # values are, and nothing chained to the error carries it either.
    told = "".join(str(e) for e in (caught.value, caught.value.orig, caught.value.__cause__, caught.value.__context__))
    assert "424242" not in told and "L4-L5" not in told, told
    with service.db.read() as session:
        assert session.execute(text("SELECT count(*) FROM treated_levels")).scalar_one() == 0


def test_bulk_lookups_are_planned_with_their_values_until_the_transaction_ends(service: CaseService) -> None:
    _postgresql_only(service)
    with service.db.write() as session:
        plan_with_values(session)
        assert session.execute(text("SHOW plan_cache_mode")).scalar_one() == "force_custom_plan"
    with service.db.read() as session:
        assert session.execute(text("SHOW plan_cache_mode")).scalar_one() == "auto"
