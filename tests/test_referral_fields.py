"""The referring physician and copy recipients: an extension of the interchange format (docs/format.md)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl

from caselog.exchange import write_csv, write_json, write_xlsx
from caselog.records import case_to_contract
from caselog.service import CaseService
from caselog.validation import validate_case
from tests.factories import TODAY, case_file, make_case

REFERRAL = {
    "referring_physician": "Dr. Maria López, Riverside Family Practice, 12 Elm St, Springfield",
    "copy_to": ["Dr. Ken Ito, Pain Clinic", "Physiotherapy Dept."],
}
CONTRACT_KEYS = [
    "case_number", "status", "patient", "procedure_date", "facility", "surgeon", "assistants", "procedure",
    "procedure_detail", "cpt_codes", "diagnosis_codes", "indication", "injury_related", "prior_block_relief_percent",
    "levels", "start_time", "end_time", "duration_minutes", "anesthesia", "estimated_blood_loss_ml", "disposition",
    "complications", "outcomes", "notes",
]  # fmt: skip


def test_fields_round_trip_through_the_database_and_the_json_file(service: CaseService) -> None:
    (number,) = service.import_cases(case_file(make_case(**REFERRAL)))
    record = service.get_case(number).record
    assert record.referring_physician == REFERRAL["referring_physician"]
    assert record.copy_to == tuple(REFERRAL["copy_to"])
    out = io.StringIO()
    write_json(service.iter_cases(), out)
    exported = json.loads(out.getvalue())["cases"][0]
    assert exported["referring_physician"] == REFERRAL["referring_physician"]
    assert exported["copy_to"] == REFERRAL["copy_to"]
    again, problems = validate_case(exported, today=TODAY)
    assert not problems and again is not None and case_to_contract(again) == exported


def test_a_case_without_them_is_exactly_the_contracts_case(service: CaseService) -> None:
    """Consumers of the contract's version 1 refuse unknown keys: an export without referrals has none."""
    service.import_cases(case_file(make_case()))
    out = io.StringIO()
    write_json(service.iter_cases(), out)
    assert list(json.loads(out.getvalue())["cases"][0]) == CONTRACT_KEYS


def test_bad_values_are_named_by_their_path() -> None:
    case = make_case(referring_physician="x" * 201, copy_to=["Dr. A", 7, "  ", *["Dr. B"] * 10])
    record, problems = validate_case(case, path="cases[0]", today=TODAY)
    assert record is None
    paths = {p.path for p in problems}
    assert {"cases[0].referring_physician", "cases[0].copy_to[1]", "cases[0].copy_to[2]", "cases[0].copy_to"} <= paths
    assert validate_case(make_case(referring_physician="   "), today=TODAY)[0] is not None  # blank is absent


def test_spreadsheets_carry_them(service: CaseService, tmp_path: Path) -> None:
    service.import_cases(case_file(make_case(**REFERRAL)))
    out = io.StringIO()
    write_csv(service.iter_cases(), out)
    row = next(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    assert row["referring_physician"] == REFERRAL["referring_physician"]
    assert row["copy_to"] == "Dr. Ken Ito, Pain Clinic; Physiotherapy Dept."
    path = tmp_path / "cases.xlsx"
    with path.open("wb") as handle:
        write_xlsx(service.iter_cases(), handle)
    sheet = openpyxl.load_workbook(path)["Cases"]
    header = [c.value for c in sheet[1]]
    values = dict(zip(header, [c.value for c in sheet[2]], strict=True))
    assert values["Referring physician"] == REFERRAL["referring_physician"]
    assert values["Copy to"] == "Dr. Ken Ito, Pain Clinic; Physiotherapy Dept."
