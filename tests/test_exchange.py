"""CSV and XLSX exports as a spreadsheet user opens them, and the JSON writer's exact shape."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import openpyxl
import pytest

from caselog.errors import InvalidInput
from caselog.exchange import atomic_output, write_csv, write_json, write_xlsx
from caselog.service import CaseService
from tests.factories import case_file, make_case, simple_case


@pytest.fixture
def seeded(service: CaseService) -> CaseService:
    service.import_cases(
        case_file(
            make_case(notes="=HYPERLINK(\"http://x\")"),
            simple_case("2024-02-03", procedure="laminectomy", levels=[{"level": "T12-L1", "side": "bilateral"}],
                        patient={"mrn": "Z-9", "family_name": "Łukasik-O'Brien", "given_name": "Zoë",
                                 "birth_date": "1970-01-01", "sex": "other"}),
        )
    )  # fmt: skip
    return service


def test_csv_opens_in_excel_with_accents_and_one_row_per_case(seeded: CaseService, tmp_path: Path) -> None:
    target = tmp_path / "cases.csv"
    with atomic_output(target, newline="") as out:
        assert write_csv(seeded.iter_cases(), out) == 2
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the byte-order mark Excel needs to read UTF-8
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["case_number"] for r in rows] == ["2024-00001", "2025-00001"]
    assert rows[0]["family_name"] == "Łukasik-O'Brien" and rows[0]["given_name"] == "Zoë"
    assert rows[1]["levels"] == "L4-L5 bilateral; L5-S1 left"
    assert (rows[1]["complication_count"], rows[1]["worst_clavien_dindo"]) == ("1", "I")
    assert (rows[0]["complication_count"], rows[0]["worst_clavien_dindo"]) == ("0", "")
    # Text that a spreadsheet would run as a formula is neutralised.
    assert rows[1]["notes"].startswith("'=HYPERLINK")


def test_xlsx_has_a_sheet_per_table_real_dates_and_frozen_headers(seeded: CaseService, tmp_path: Path) -> None:
    target = tmp_path / "cases.xlsx"
    with atomic_output(target, "wb") as out:
        write_xlsx(seeded.iter_cases(), out)
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["Cases", "Levels", "Complications", "Outcomes", "Follow-up attempts"]
    cases = book["Cases"]
    assert cases.freeze_panes == "A2"
    assert cases["A1"].value == "Case number" and cases["A1"].font.b
    assert cases["C2"].value == dt.datetime(2024, 2, 3) and cases["C2"].is_date
    assert cases["E2"].value == "Łukasik-O'Brien"
    assert cases.column_dimensions["E"].width == 20
    levels = [[c.value for c in row] for row in book["Levels"].iter_rows(min_row=2)]
    assert [(r[0], r[2], r[3]) for r in levels] == [
        ("2024-00001", "T12-L1", "bilateral"),
        ("2025-00001", "L4-L5", "bilateral"),
        ("2025-00001", "L5-S1", "left"),
    ]
    complications = list(book["Complications"].iter_rows(min_row=2, values_only=True))
    assert complications[0][2] == "Incision-site soreness or bruising" and complications[0][6] == "I"
    outcomes = list(book["Outcomes"].iter_rows(min_row=2, values_only=True))
    assert [(o[2], o[4]) for o in outcomes] == [("baseline", 8), ("6w", 2)]


def test_json_writer_is_the_contract_file(seeded: CaseService) -> None:
    out = io.StringIO()
    write_json(seeded.iter_cases(), out)
    data = json.loads(out.getvalue())
    assert list(data) == ["format", "version", "cases"]
    case = data["cases"][1]
    assert list(case)[:3] == ["case_number", "status", "patient"]
    assert case["anesthesia"] == {"type": "local_sedation", "sedation": "moderate", "asa_class": "II",
                                  "emergency": False, "provider": None}  # fmt: skip
    assert case["complications"][0]["review_status"] == "open"


def test_empty_export_is_a_valid_file() -> None:
    out = io.StringIO()
    assert write_json([], out) == 0
    assert json.loads(out.getvalue()) == {"format": "caselog-cases", "version": 4, "cases": []}


def test_failed_export_leaves_no_file(tmp_path: Path) -> None:
    target = tmp_path / "cases.json"
    with pytest.raises(RuntimeError), atomic_output(target) as out:
        out.write("partial")
        raise RuntimeError("disk went away")
    assert list(tmp_path.iterdir()) == []


def test_export_into_a_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as caught, atomic_output(tmp_path / "nope" / "x.csv"):
        pass
    assert "does not exist" in caught.value.message


def test_exported_file_is_readable_by_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "x.json"
    with atomic_output(target) as out:
        out.write("{}")
    assert target.stat().st_mode & 0o777 == 0o600


FORMULA_LIKE = {
    "family_name": '=HYPERLINK("http://evil","open")',
    "given_name": "+1+1",
    "facility": "@SUM(A1:A9)",
    "surgeon": "-2+3",
    "notes": "=cmd|' /C calc'!A0",
    "mrn": "-5",
}


@pytest.fixture
def formula_like(service: CaseService) -> CaseService:
    """A case whose user text all starts like a spreadsheet formula."""
    patient = {**make_case()["patient"], "mrn": FORMULA_LIKE["mrn"], "family_name": FORMULA_LIKE["family_name"],
               "given_name": FORMULA_LIKE["given_name"]}  # fmt: skip
    complication = {**make_case()["complications"][0], "category": "other", "description": "=1+1",
                    "treatment": "=2+2"}  # fmt: skip
    service.import_cases(case_file(make_case(patient=patient, facility=FORMULA_LIKE["facility"],
                                             surgeon=FORMULA_LIKE["surgeon"], notes=FORMULA_LIKE["notes"],
                                             complications=[complication])))  # fmt: skip
    return service


def test_xlsx_never_holds_a_formula_made_from_user_text(formula_like: CaseService, tmp_path: Path) -> None:
    target = tmp_path / "cases.xlsx"
    with atomic_output(target, "wb") as out:
        write_xlsx(formula_like.iter_cases(), out)
    book = openpyxl.load_workbook(target)
    cells = [cell for sheet in book for row in sheet.iter_rows() for cell in row if cell.value is not None]
    assert [c.coordinate for c in cells if c.data_type == "f"] == []
    texts = {c.value for c in cells if c.data_type == "s"}
    assert set(FORMULA_LIKE.values()) | {"=1+1", "=2+2"} <= texts  # unchanged, as text


def test_csv_neutralises_formula_like_text_and_mrns(formula_like: CaseService, tmp_path: Path) -> None:
    out = io.StringIO()
    write_csv(formula_like.iter_cases(), out)
    row = next(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    for column, value in FORMULA_LIKE.items():
        assert row[column] == f"'{value}", column


def test_nesting_is_limited_to_the_stated_depth() -> None:
    from caselog.exchange import MAX_NESTING, parse_interchange

    assert MAX_NESTING == 32  # as docs/format.md states
    assert parse_interchange(("[" * 32 + "]" * 32).encode(), "-") is not None
    with pytest.raises(InvalidInput) as refused:
        parse_interchange(("[" * 33 + "]" * 33).encode(), "in.json")
    assert str(refused.value) == "in.json: is nested more than 32 levels deep; not a case file"
