"""Every field of the table (caselog.fields) makes the whole trip unchanged: form → record → database → export
(JSON; CSV and XLSX where it is a column) → import → record."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pytestqt.qtbot import QtBot

from caselog import fields
from caselog.exchange import atomic_output, write_csv, write_json, write_xlsx
from caselog.records import case_to_contract
from caselog.reports.summary import write_case_summaries
from caselog.service import CaseService
from caselog.validation import validate_case
from tests.factories import TODAY, case_file, make_case
from tests.test_reports import GENERATED, SETTINGS, flat, make_view, pages_text
from ui.case_fields import CaseFields
from ui.detail_pane import case_html

#: For each field, changes to the factory's case that give it a value of its own (other than the default).
SAMPLES: dict[str, dict[str, Any]] = {
    "case_number": {"case_number": "2025-00042"},
    "status": {"status": "final"},
    "procedure_date": {"procedure_date": "2025-03-13", "start_time": "2025-03-13T08:30",
                       "end_time": "2025-03-13T09:45"},
    "facility": {"facility": "Riverside Spine Center – East"},
    "surgeon": {"surgeon": "Dr. Łucja Nowak"},
    "assistants": {"assistants": ["Sam Whitfield, PA-C", "Ana Ruiz"]},
    "procedure": {"procedure": "radiofrequency_ablation"},
    "procedure_detail": {"procedure_detail": "Cooled RF probes"},
    "cpt_codes": {"cpt_codes": ["64633", "64634"]},
    "diagnosis_codes": {"diagnosis_codes": ["M47.816", "M54.5"]},
    "indication": {"indication": "Facet pain\nafter a fall"},
    "injury_related": {"injury_related": True},
    "prior_block_relief_percent": {"prior_block_relief_percent": 70},
    "start_time": {"start_time": "2025-03-14T07:55", "duration_minutes": 110},
    "end_time": {"end_time": "2025-03-14T10:05", "duration_minutes": 95},
    "duration_minutes": {"start_time": None, "end_time": None, "duration_minutes": 95},
    "estimated_blood_loss_ml": {"estimated_blood_loss_ml": 150},
    "disposition": {"disposition": "overnight_observation"},
    "notes": {"notes": "Tolerated well.\nNo drain."},
    "referring_physician": {"referring_physician": "Dr. Maria López, Riverside Family Practice"},
    "copy_to": {"copy_to": ["Dr. Ken Ito, Pain Clinic", "Physiotherapy Dept."]},
    "fluoroscopy_time_s": {"fluoroscopy_time_s": 95},
    "outside_policy_reason": {"outside_policy_reason": "Second block declined: severe pain; payer agreed"},
}  # fmt: skip
#: Set by the service (a new case's number, a draft), never typed on the form.
NOT_ON_FORM = {"case_number", "status"}
SCALARS = [f for f in fields.FIELDS if f.kind != "part"]
BASE = validate_case(make_case(), today=TODAY)[0]


def test_every_field_of_the_table_has_a_sample() -> None:
    """A new field of the table needs a sample here, so the round trip below covers it."""
    assert set(SAMPLES) == {f.key for f in SCALARS}


def _through_the_form(qtbot: QtBot, case: dict[str, Any]) -> dict[str, Any]:
    """What the form hands over after showing the case: the CASE object as typed."""
    form = CaseFields(procedure_day=lambda: TODAY)
    qtbot.addWidget(form)
    form.set_data(case)
    return form.data()


def _from_cell(f: fields.Field, cell: Any) -> Any:
    """A CSV or XLSX cell read back as the record holds the field."""
    if cell in (None, ""):
        return () if f.kind in ("names", "codes") else False if f.kind == "bool" else None
    if f.kind == "bool":
        return cell == "yes"
    if f.kind == "int":
        return int(cell)
    if f.kind == "names":
        return tuple(cell.split("; "))
    if f.kind == "codes":
        return tuple(cell.split(" "))
    if f.kind == "date":
        return cell.date() if isinstance(cell, dt.datetime) else dt.date.fromisoformat(cell)
    if f.kind == "datetime":
        return cell if isinstance(cell, dt.datetime) else dt.datetime.strptime(cell, "%Y-%m-%d %H:%M")
    if f.kind == "choice" and f.choices is not None and cell in f.choices.values():
        return next(k for k, v in f.choices.items() if v == cell)  # XLSX writes the label
    return cell


@pytest.mark.parametrize("field", SCALARS, ids=lambda f: f.key)
def test_each_field_makes_the_whole_trip(
    field: fields.Field, service: CaseService, qtbot: QtBot, tmp_path: Path
) -> None:
    case = make_case(**SAMPLES[field.key])
    expected, problems = validate_case(case, today=TODAY)
    assert expected is not None, problems
    value = getattr(expected, field.key)
    assert value != getattr(BASE, field.key), "the sample must differ from the factory's case"

    # form -> record -> database
    if field.key in NOT_ON_FORM:
        (number,) = service.import_cases(case_file(case))
    else:
        typed = _through_the_form(qtbot, case)
        from_form, problems = validate_case(typed, today=TODAY)
        assert from_form == expected, problems
        number = service.create_case(typed).case_number
    stored = service.get_case(number).record
    assert getattr(stored, field.key) == value
    assert dataclasses.replace(stored, case_number=None, status="draft") == dataclasses.replace(
        expected, case_number=None, status="draft"
    )

    # export -> import -> record
    out = io.StringIO()
    write_json(service.iter_cases(), out)
    (exported,) = json.loads(out.getvalue())["cases"]
    assert exported[field.key] == fields.to_json(field, value)
    if field.key == "case_number":  # the number comes back only once the case holding it is gone
        service.delete_case(number, reason="imported again under its number")
    else:
        exported["case_number"] = None  # numbered afresh on import
    (again,) = service.import_cases(case_file(exported))
    assert service.get_case(again).record == dataclasses.replace(stored, case_number=again)

    # CSV and XLSX, where the field is a column
    if field.csv_column is not None:
        text = io.StringIO()
        write_csv([service.get_case(again)], text)
        (row,) = csv.DictReader(io.StringIO(text.getvalue().lstrip("\ufeff")))
        assert _from_cell(field, row[field.csv_column]) == value
    if field.xlsx_width:
        target = tmp_path / "cases.xlsx"
        with atomic_output(target, "wb") as handle:
            write_xlsx([service.get_case(again)], handle)
        sheet = openpyxl.load_workbook(target)["Cases"]
        headings = [c.value for c in sheet[1]]
        cell = sheet.cell(row=2, column=headings.index(field.heading) + 1).value
        assert _from_cell(field, cell) == value


def test_the_fluoroscopy_time_shows_on_the_pane_the_summary_and_the_form(qtbot: QtBot, tmp_path: Path) -> None:
    """The proof of issue 13: a field added to the table alone (and its column) shows wherever fields show."""
    view = make_view(fluoroscopy_time_s=95)
    assert "<td class='k'>Fluoroscopy time</td><td>95 s</td>" in case_html(view)
    out = tmp_path / "summary.pdf"
    write_case_summaries([view], out, settings=SETTINGS, generated_at=GENERATED)
    assert "Fluoroscopy time 95 s" in flat(" ".join(pages_text(out)))
    typed = _through_the_form(qtbot, case_to_contract(view.record))
    assert typed["fluoroscopy_time_s"] == 95
    without = case_to_contract(dataclasses.replace(view.record, fluoroscopy_time_s=None))
    assert "fluoroscopy_time_s" not in without and "fluoroscopy_time_s" not in _through_the_form(qtbot, without)
    record, _ = validate_case(without, today=TODAY)
    assert record is not None and "Fluoroscopy time" not in case_html(dataclasses.replace(view, record=record))
    write_case_summaries([dataclasses.replace(view, record=record)], out, settings=SETTINGS, generated_at=GENERATED)
    assert "Fluoroscopy" not in flat(" ".join(pages_text(out)))  # not logged: no empty line on every summary
