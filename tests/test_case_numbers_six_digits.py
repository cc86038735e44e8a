"""Case numbers past 99,999 a year (format version 4): 2025-99999 is followed by 2025-100000, and everything that
orders cases orders their numbers as numbers within a year, where text would put 2025-100000 first."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text

from caselog import exports, fhir_import
from caselog.db.engine import Database
from caselog.errors import InvalidInput
from caselog.exchange import write_json
from caselog.quality import ComplicationFilter, list_complications
from caselog.records import CaseFilter
from caselog.reports.common import ReportSettings
from caselog.reports.surgeon_log import write_surgeon_log
from caselog.service import CaseService
from caselog.validation import FORMAT_VERSION, case_number_key, validate_case, validate_file
from tests.factories import TODAY, case_file, make_case, simple_case

#: In text order 2025-100000 and 2025-100001 come before 2025-99998; as numbers they come after it.
NUMBERS = ["2025-99998", "2025-99999", "2025-100000", "2025-100001"]
SHUFFLED = ["2025-100001", "2025-99998", "2025-100000", "2025-99999"]


def _mixed(service: CaseService) -> None:
    """Four cases on one day, given five- and six-digit numbers, in neither text nor number order."""
    service.import_cases(case_file(*(make_case(case_number=n) for n in SHUFFLED)))


def test_the_number_after_99999_has_six_digits_and_never_a_leading_zero() -> None:
    for number in ("2025-100000", "2025-999999", "2025-00001", "2025-99999"):
        record, problems = validate_case(make_case(case_number=number), today=TODAY)
        assert problems == [] and record is not None and record.case_number == number
    for number in ("2025-012345", "2025-1000000", "2025-0001"):
        _, problems = validate_case(make_case(case_number=number), today=TODAY)
        assert [p.path for p in problems] == ["case_number"], number


def test_a_version_3_file_with_a_six_digit_number_is_refused_by_name() -> None:
    data = {**case_file(make_case(case_number="2025-00001"), make_case(case_number="2025-100001")), "version": 3}
    _, problems = validate_file(data, today=TODAY)
    assert [str(p) for p in problems] == [
        "cases[1].case_number: '2025-100001' needs format version 4 (this file says version 3)"
    ]
    records, problems = validate_file({**data, "version": FORMAT_VERSION}, today=TODAY)
    assert problems == [] and len(records) == 2


def test_a_version_3_file_keeps_every_version_3_field() -> None:
    """Version 3's follow-up answers, timepoints and attempts are read from a version 3 file: only what version 4
    added is refused in it."""
    case = simple_case("2020-03-02")
    case["outcomes"] = [{"timepoint": "36m", "date": "2023-03-10", "nrs_back": 2, "pgic": 2, "work_status": "working"}]
    case["follow_up_attempts"] = [{"timepoint": "48m", "date": "2024-03-05", "result": "could_not_reach"}]
    records, problems = validate_file({**case_file(case), "version": 3}, today=TODAY)
    assert problems == [] and len(records) == 1
    _, problems = validate_file({**case_file(case), "version": 2}, today=TODAY)
    assert {p.path for p in problems} == {
        "cases[0].outcomes[0].timepoint", "cases[0].outcomes[0].pgic", "cases[0].outcomes[0].work_status",
        "cases[0].follow_up_attempts",
    }  # fmt: skip


def test_numbers_sort_as_numbers_within_their_year() -> None:
    assert sorted([*SHUFFLED, "2024-100000", "2026-00001"], key=case_number_key) == [
        "2024-100000", *NUMBERS, "2026-00001"
    ]  # fmt: skip


def test_the_next_free_number_skips_a_six_digit_number_given_in_an_import(service: CaseService) -> None:
    """The free-number lookup compared text ("2025-100001" < "2025-99999") and would have handed 100001 out
    again; it compares numbers."""
    service.import_cases(case_file(make_case(case_number="2025-100001")))
    service.db.engine.dispose()
    with service.db.write() as session:
        session.execute(text("UPDATE case_counters SET last_number = 99999 WHERE year = 2025"))
    numbers = service.import_cases(case_file(make_case(), make_case()))
    assert numbers == ["2025-100000", "2025-100002"]


def test_the_export_orders_by_date_then_number_as_a_number(service: CaseService) -> None:
    _mixed(service)
    out = io.StringIO()
    write_json(service.iter_cases(), out)
    exported = json.loads(out.getvalue())
    assert exported["version"] == 4
    assert [c["case_number"] for c in exported["cases"]] == NUMBERS


def test_csv_and_xlsx_carry_six_digit_numbers_in_order(service: CaseService, tmp_path: Path) -> None:
    _mixed(service)
    exports.export_cases(service, CaseFilter(), "csv", tmp_path / "cases.csv")
    with (tmp_path / "cases.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["case_number"] for r in rows] == NUMBERS
    exports.export_cases(service, CaseFilter(), "xlsx", tmp_path / "cases.xlsx")
    sheet = openpyxl.load_workbook(tmp_path / "cases.xlsx").worksheets[0]
    cells = [str(c.value) for c in next(sheet.iter_cols(min_row=2, max_col=1))]
    assert cells == NUMBERS


def test_fhir_carries_six_digit_numbers_there_and_back(service: CaseService, tmp_path: Path, db: Database) -> None:
    _mixed(service)
    exports.export_cases(service, CaseFilter(), "fhir", tmp_path / "cases.fhir.json")
    bundle = json.loads((tmp_path / "cases.fhir.json").read_text(encoding="utf-8"))
    service.db.engine.dispose()
    with service.db.write() as session:  # an empty log to read the bundle into
        for table in ("outcome_scores", "follow_up_attempts", "complications", "treated_levels", "case_search"):
            session.execute(text(f"DELETE FROM {table}"))
        session.execute(text("DELETE FROM cases"))
    assert sorted(fhir_import.import_bundle(service, bundle, where="cases.fhir.json")) == sorted(NUMBERS)


@pytest.mark.parametrize("descending", [False, True])
def test_the_case_list_sorts_by_number_as_numbers(service: CaseService, descending: bool) -> None:
    _mixed(service)
    expected = NUMBERS[::-1] if descending else NUMBERS
    for sort in ("case_number", "procedure_date", "surgeon", "patient"):
        rows = service.query(sort=sort, descending=descending)
        assert [r.case_number for r in rows] == expected, sort
    assert [r.case_number for r in service.query(sort="case_number", limit=2, offset=1)] == NUMBERS[1:3]


def test_search_finds_a_six_digit_number(service: CaseService) -> None:
    _mixed(service)
    assert [r.case_number for r in service.query(CaseFilter(search="2025-100001"))] == ["2025-100001"]
    assert service.get_case("2025-100000").case_number == "2025-100000"


def test_the_complication_log_sorts_by_number_as_numbers(service: CaseService) -> None:
    _mixed(service)
    for sort in ("case_number", "procedure_date"):
        entries = list_complications(service, ComplicationFilter(), sort=sort)
        assert [e.case_number for e in entries] == NUMBERS, sort


def test_the_surgeon_log_pdf_lists_numbers_in_number_order(service: CaseService, tmp_path: Path) -> None:
    _mixed(service)
    views = list(service.iter_cases())[::-1]  # the report orders them itself
    output = tmp_path / "log.pdf"
    write_surgeon_log(views, output, surgeon="Dr. Amara Okafor", date_from=None, date_to=None,
                      settings=ReportSettings())  # fmt: skip
    words = subprocess.run(["pdftotext", "-layout", str(output), "-"], capture_output=True, text=True, check=True)
    found = [w for w in words.stdout.split() if w in NUMBERS]
    assert found == NUMBERS


def test_the_last_number_of_a_year_is_named_when_the_year_is_full(service: CaseService) -> None:
    service.db.engine.dispose()
    with service.db.write() as session:
        session.execute(text("INSERT INTO case_counters (year, last_number) VALUES (2025, 999999)"))
    with pytest.raises(InvalidInput) as refused:
        service.create_case(make_case())
    assert str(refused.value.problems[0]) == (
        "case_number: the year 2025 has no case numbers left (the last is 2025-999999)"
    )
