"""The coordinator's papers: the call list prints every follow-up listed with a blank column for the outcome, and
the patient letter gives each patient one page asking for the scores of the region treated, in boxes."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from caselog.errors import InvalidInput
from caselog.followup import DueFollowUp
from caselog.reports import ReportSettings
from caselog.reports.followup_letters import write_call_list, write_patient_letters

SETTINGS = ReportSettings(facility_name="Riverside Spine Center")
TODAY = dt.date(2025, 6, 30)

LUMBAR = DueFollowUp(
    case_number="2025-00041", mrn="MRN-7731", patient_name="Nguyễn, Thị Hồng", birth_date=dt.date(1961, 4, 12),
    procedure="radiofrequency_ablation", procedure_date=dt.date(2025, 3, 20), surgeon="Dr. Amara Okafor",
    levels="L4-L5 left, L5-S1 bilateral", timepoint="3m", due_date=dt.date(2025, 6, 20), status="overdue",
    days_overdue=10, attempts=2, last_attempt=dt.date(2025, 6, 27), region="lumbar",
)  # fmt: skip
CERVICAL = DueFollowUp(
    case_number="2025-00057", mrn="MRN-8802", patient_name="Okoye, Chidi", birth_date=dt.date(1949, 11, 2),
    procedure="endoscopic_rhizotomy", procedure_date=dt.date(2025, 6, 19), surgeon="Dr. Priya Raman",
    levels="C5-C6 bilateral", timepoint="2w", due_date=dt.date(2025, 7, 3), status="upcoming", days_overdue=0,
    attempts=0, last_attempt=None, region="cervical",
)  # fmt: skip


def pages_text(path: Path) -> list[str]:
    return [" ".join((page.extract_text() or "").split()) for page in PdfReader(str(path)).pages]


def test_the_call_list_prints_each_follow_up_with_room_for_the_outcome(tmp_path: Path) -> None:
    path = tmp_path / "calls.pdf"
    write_call_list([LUMBAR, CERVICAL], path, settings=SETTINGS, today=TODAY, scope="Due this week and overdue")
    (page,) = pages_text(path)
    assert "Follow-up call list" in page and "Riverside Spine Center" in page
    assert "Due this week and overdue · as of 2025-06-30 · 2 follow-ups, 1 overdue" in page
    assert "Outcome (write here)" in page
    for row, words in ((LUMBAR, ("RF ablation", "3 months", "2025-06-20")),
                       (CERVICAL, ("Endoscopic", "2 weeks", "2025-07-03"))):  # fmt: skip
        for value in (row.patient_name, row.mrn, row.birth_date.isoformat(), row.case_number, *words):
            assert value in page, value
    # The lumbar row: 10 days overdue, 2 calls made; the cervical one is not overdue (no number), 0 calls.
    assert re.search(r"2025-06-20 10 2\b", page), page
    assert re.search(r"2025-07-03 0\b", page), page


def test_a_long_call_list_runs_over_pages_with_its_heading_on_each(tmp_path: Path) -> None:
    rows = [dataclasses.replace(LUMBAR, case_number=f"2025-{n:05d}", mrn=f"MRN-{n}") for n in range(60)]
    path = tmp_path / "calls.pdf"
    write_call_list(rows, path, settings=SETTINGS, today=TODAY)
    pages = pages_text(path)
    assert len(pages) > 1
    assert all("Outcome (write here)" in p for p in pages)
    assert all(f"2025-{n:05d}" in " ".join(pages) for n in range(60))


def test_an_empty_call_list_says_there_is_nobody_to_call(tmp_path: Path) -> None:
    path = tmp_path / "calls.pdf"
    write_call_list([], path, settings=SETTINGS, today=TODAY)
    assert "nobody to call" in pages_text(path)[0]


def test_a_letter_asks_for_the_scores_of_the_region_treated(tmp_path: Path) -> None:
    path = tmp_path / "letters.pdf"
    write_patient_letters([LUMBAR, CERVICAL], path, settings=SETTINGS)
    lumbar, cervical = pages_text(path)
    assert "Nguyễn, Thị Hồng" in lumbar and "MRN MRN-7731" in lumbar and "1961-04-12" in lumbar
    assert "Oswestry Disability Index" in lumbar and "Pain in your back" in lumbar and "leg" in lumbar
    assert "Neck Disability Index" not in lumbar and "neck today" not in lumbar
    assert "Neck Disability Index" in cervical and "Pain in your neck" in cervical and "arm" in cervical
    assert "Oswestry" not in cervical
    for page in (lumbar, cervical):
        assert "1 = very much improved" in page and "7 = very much worse" in page  # PGIC, as a number
        assert "Off work because of pain" in page and "Opioid pain medication" in page
        assert "physical therapy" in page and "normal activities" in page
        assert "Please bring or send this page back to Riverside Spine Center" in page
        assert "Confidential" not in page  # the staff notice speaks to staff, not to the patient
    assert "3 months follow-up due on 2025-06-20" in lumbar and "Case 2025-00041 3 months" in lumbar


def test_a_patient_with_two_follow_ups_due_gets_one_letter_naming_both(tmp_path: Path) -> None:
    second = dataclasses.replace(CERVICAL, mrn=LUMBAR.mrn, patient_name=LUMBAR.patient_name)
    path = tmp_path / "letters.pdf"
    write_patient_letters([LUMBAR, second, CERVICAL], path, settings=SETTINGS)
    first, other = pages_text(path)
    assert "2025-00041" in first and "2025-00057" in first
    assert "Oswestry Disability Index" in first and "Neck Disability Index" in first  # both regions' scores
    assert "Okoye, Chidi" in other


def test_a_letter_to_a_missing_folder_is_refused_before_any_work(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="does not exist"):
        write_patient_letters([LUMBAR], tmp_path / "nowhere" / "letters.pdf", settings=SETTINGS)
    assert not (tmp_path / "nowhere").exists()
