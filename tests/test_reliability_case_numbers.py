"""Case numbers keep their form (YYYY-NNNNN, YYYY-NNNNNN past 99,999) whatever numbers an import gave before."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from caselog.db.schema import open_database
from caselog.errors import Conflict, InvalidInput
from caselog.service import CaseService
from caselog.validation import CASE_NUMBER_RE
from tests.factories import TODAY, case_file, simple_case


def test_after_the_99999th_number_of_a_year_the_next_has_six_digits(service: CaseService) -> None:
    """Format version 4: 2025-99999 is followed by 2025-100000, which still reads as a case number."""
    service.import_cases(case_file(simple_case("2025-01-02", case_number="2025-99998")))
    service.db.engine.dispose()
    with service.db.write() as session:
        session.execute(text("UPDATE case_counters SET last_number = 99998 WHERE year = 2025"))
    numbers = service.import_cases(case_file(simple_case("2025-01-03"), simple_case("2025-01-04")))
    assert numbers == ["2025-99999", "2025-100000"]
    assert all(CASE_NUMBER_RE.fullmatch(n) for n in numbers), numbers


def test_a_number_far_ahead_does_not_stop_the_years_numbering(service: CaseService) -> None:
    service.import_cases(case_file(simple_case("2025-01-02", case_number="2025-99999")))
    numbers = service.import_cases(case_file(simple_case("2025-01-03"), simple_case("2025-01-04")))
    assert numbers == ["2025-00001", "2025-00002"]
    assert service.create_case(simple_case("2025-01-05")).case_number == "2025-00003"


def test_automatic_numbers_skip_numbers_given_in_imports_even_deleted_ones(service: CaseService) -> None:
    service.import_cases(case_file(simple_case("2025-01-02", case_number="2025-00002"),
                                   simple_case("2025-01-02", case_number="2025-00004")))  # fmt: skip
    service.delete_case("2025-00004", reason="entered twice")
    numbers = service.import_cases(case_file(*(simple_case("2025-01-03") for _ in range(3))))
    assert numbers == ["2025-00001", "2025-00003", "2025-00005"]  # 00004 was a case once: never another


def test_the_last_free_number_is_handed_out_then_the_year_is_full(service: CaseService) -> None:
    service.import_cases(case_file(simple_case("2025-01-02", case_number="2025-999998")))
    service.db.engine.dispose()
    with service.db.write() as session:
        session.execute(text("UPDATE case_counters SET last_number = 999996 WHERE year = 2025"))
    assert service.create_case(simple_case("2025-01-03")).case_number == "2025-999997"
    assert service.create_case(simple_case("2025-01-03")).case_number == "2025-999999"
    with pytest.raises(InvalidInput) as refused:
        service.create_case(simple_case("2025-01-03"))
    assert "no case numbers left (the last is 2025-999999)" in refused.value.message


def test_given_and_automatic_numbers_from_two_workstations_at_once_never_clash(db_target: str) -> None:
    """One workstation imports cases with their old numbers while another adds cases: each import is kept or
    refused as 'already in use' (exit 2), never a clash found only when saving, and no number is given twice."""
    given = [f"2025-{n:05d}" for n in range(5, 25)]
    outcomes: dict[str, list[str]] = {"imported": [], "refused": [], "added": [], "clashes": []}

    def importer() -> None:
        db = open_database(db_target)
        service = CaseService(db, today=lambda: TODAY)
        try:
            for number in given:
                try:
                    outcomes["imported"] += service.import_cases(
                        case_file(simple_case("2025-01-02", case_number=number))
                    )
                except InvalidInput:
                    outcomes["refused"].append(number)
                except Conflict as exc:
                    outcomes["clashes"].append(exc.message)
        finally:
            db.close()

    def adder() -> None:
        db = open_database(db_target)
        service = CaseService(db, today=lambda: TODAY)
        try:
            for _ in range(40):
                try:
                    outcomes["added"].append(service.create_case(simple_case("2025-01-03")).case_number)
                except Conflict as exc:
                    outcomes["clashes"].append(exc.message)
        finally:
            db.close()

    threads = [threading.Thread(target=importer), threading.Thread(target=adder)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert outcomes["clashes"] == []
    assert len(outcomes["added"]) == 40
    stored = outcomes["imported"] + outcomes["added"]
    assert len(stored) == len(set(stored))
    assert sorted(outcomes["imported"] + outcomes["refused"]) == given
    assert set(outcomes["refused"]) <= set(outcomes["added"])  # refused only because an added case had it first
