"""What an attacker or a careless user tried against follow-up (issue 15), through the service and the real
command line.

Each test is one attempt that once got through: a damaged schedule nobody could repair, a dead patient still
on the call list through another case, a name no column could hold, digits of another script read as scores.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import subprocess
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from reportlab.pdfbase.pdfmetrics import stringWidth
from sqlalchemy import update

from caselog import audit
from caselog.db.tables import attempts_t
from caselog.followup import DueFollowUp, FollowUpService
from caselog.records import FollowUpAttempt
from caselog.reports.common import FONT, FONT_BOLD, ReportSettings, register_fonts, wrap_lines
from caselog.reports.followup_letters import write_call_list, write_patient_letters
from caselog.service import CaseService
from tests.factories import TODAY, case_file, make_case, simple_case
from tests.helpers.raw import raw_connect
from tests.test_cli import run, write

PASSWORD = "correct horse battery"


def _as(user: str) -> dict[str, str]:
    return {"CASELOG_USER": user, "CASELOG_PASSWORD": PASSWORD}


# ---- the schedule edited in the database file ---------------------------------------------------------------


def _clinic_with_schedule(tmp_path: Path, stored: str) -> str:
    """A database with an administrator and a coordinator, one RFA, and the schedule setting holding `stored`."""
    db = str(tmp_path / "clinic.sqlite3")
    assert run("init", db=db).returncode == 0
    new = {"CASELOG_NEW_PASSWORD": PASSWORD}
    assert run("user", "add", "admin", "--role", "admin", db=db, env=new).returncode == 0
    added = run("user", "add", "cole", "--role", "coordinator", db=db, env={**new, **_as("admin")})
    assert added.returncode == 0, added.stderr
    day = (dt.date.today() - dt.timedelta(days=14)).isoformat()
    source = write(tmp_path / "in.json", case_file(simple_case(day, procedure="radiofrequency_ablation", cpt_codes=[])))
    assert run("import", source, db=db, env=_as("cole")).returncode == 0
    with raw_connect(db) as con:
        con.execute(
            "INSERT OR REPLACE INTO clinic_settings (name, value, updated_at) "
            "VALUES ('follow_up_schedule', ?, '2025-01-01 00:00:00')",
            (stored,),
        )
    return db


@pytest.mark.parametrize("stored", ["{not json", "[]", '{"radiofrequency_ablation": ["baseline"]}'])
def test_an_administrator_repairs_a_damaged_schedule(tmp_path: Path, stored: str) -> None:
    """A schedule damaged in the file was refused everywhere, and the way out the message named (`schedule set`)
    read the damaged value first and failed too: nobody could ever repair it. `schedule reset` sets CaseLog's
    default over it (audited with the damaged text), and `set` on a damaged schedule says so."""
    db = _clinic_with_schedule(tmp_path, stored)
    refused = run("followups", "due", db=db, env=_as("cole"))
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    on_top = run("followups", "schedule", "set", "other", "2w", db=db, env=_as("admin"))
    assert on_top.returncode == 1 and "caselog followups schedule reset" in on_top.stderr, on_top.stderr
    assert run("followups", "schedule", "reset", db=db, env=_as("cole")).returncode == 4  # administrators only
    repaired = run("followups", "schedule", "reset", db=db, env=_as("admin"))
    assert repaired.returncode == 0, repaired.stderr
    assert "CaseLog's default" in repaired.stdout
    due = run("followups", "due", "--format", "json", db=db, env=_as("cole"))
    assert due.returncode == 0, due.stderr
    trail = run("audit", db=db, env=_as("admin")).stdout
    assert stored.split('"')[0] in trail and "follow_up_schedule" in trail


def test_the_damaged_schedule_message_names_the_repair(tmp_path: Path) -> None:
    """Text that is no JSON at all names the command that repairs it, as the policy's message does."""
    db = _clinic_with_schedule(tmp_path, "{not json")
    refused = run("followups", "counts", db=db, env=_as("cole"))
    assert refused.returncode == 1 and "caselog followups schedule reset" in refused.stderr, refused.stderr


# ---- a death on another case of the same patient ------------------------------------------------------------


def test_a_patient_who_died_is_not_called_about_another_case(service: CaseService) -> None:
    """The patient's death is recorded on one case (an RFA on the left); the same patient's other case (on the
    right, a week later) stayed on the coordinator's call list and its letter went out to a dead patient's
    home. A death is a fact about the patient: every case of theirs leaves the list and counts as died."""
    left, right = service.import_cases(case_file(
        simple_case("2025-03-23", procedure="radiofrequency_ablation", cpt_codes=[],
                    levels=[{"level": "L4-L5", "side": "left"}]),
        simple_case("2025-03-30", procedure="radiofrequency_ablation", cpt_codes=[],
                    levels=[{"level": "L4-L5", "side": "right"}]),
    ))  # fmt: skip
    follow = FollowUpService(service)
    assert {i.case_number for i in follow.due()} == {left, right}  # both 3 months due (overdue)
    follow.record_attempt(left, FollowUpAttempt("3m", TODAY - dt.timedelta(days=2), "died", "Told by the family"))
    assert [i.case_number for i in follow.due()] == []
    assert {(c.procedure, c.died) for c in follow.counts()} == {("radiofrequency_ablation", 2)}


def test_a_death_edited_before_an_outcome_in_the_file_keeps_the_patient_off_the_call_list(
    service: CaseService,
) -> None:
    """Someone holding the file moves a death before a recorded 3-month outcome (nothing in CaseLog can write
    that). The counts and the durability figures call the patient died, but the due list took the outcome
    after the death for a patient who came back, and listed the 6-month call to them."""
    (number,) = service.import_cases(case_file(
        simple_case("2024-12-30", procedure="radiofrequency_ablation", cpt_codes=[],
                    outcomes=[{"timepoint": "3m", "date": "2025-03-30", "nrs_back": 3}]),
    ))  # fmt: skip
    follow = FollowUpService(service)
    follow.record_attempt(number, FollowUpAttempt("6m", TODAY - dt.timedelta(days=1), "died"))
    with service.db.write() as session:
        session.execute(update(attempts_t).values(date=dt.date(2025, 3, 1)))
    assert [c.died for c in follow.counts()] == [1]
    assert [i.case_number for i in follow.due()] == []


# ---- scores typed on the command line -----------------------------------------------------------------------


@pytest.mark.parametrize("score", ["odi=٣٠", "nrs_back=５", "odi=1_0"])
def test_digits_of_another_script_are_not_a_score(db_target: str, tmp_path: Path, score: str) -> None:
    """`--score odi=٣٠` (Arabic-Indic digits) was read as ODI 30 by int(), a full-width digit pasted from a
    document the same, and `odi=1_0` as 10. Scores are ASCII digits, as the interchange format and the form
    take them."""
    assert run("import", write(tmp_path / "in.json", case_file(make_case())), db=db_target).returncode == 0
    result = run("followups", "record", "2025-00001", "--timepoint", "3m", "--date", "2025-06-14", "--score", score,
                 db=db_target)  # fmt: skip
    assert result.returncode == 2, result.stdout
    assert f"--score {score.split('=')[0]}:" in result.stderr and "is not a whole number" in result.stderr
    assert "Traceback" not in result.stderr
    shown = run("show", "2025-00001", "--json", db=db_target).stdout
    assert '"3m"' not in shown


@pytest.mark.parametrize("within", ["٣", "１４d"])
def test_digits_of_another_script_are_not_a_number_of_days(db_target: str, within: str) -> None:
    """`--within ٣` read as 3 days, as the scores were read."""
    result = run("followups", "due", "--within", within, db=db_target)
    assert result.returncode == 2 and "--within" in result.stderr and "Traceback" not in result.stderr


# ---- the call list's columns --------------------------------------------------------------------------------


def _graphemes_kept(lines: list[str]) -> bool:
    """No line starts with a combining mark torn from the letter it belongs to."""
    return all(not line or not unicodedata.combining(line[0]) for line in lines)


@pytest.mark.parametrize(
    ("value", "font"),
    [
        ("W" * 100 + ", " + "M" * 100, FONT_BOLD),  # a 100-character family and given name, no space to break at
        ("Z\u0301\u0302\u0303\u0304" * 20 + ", Ana", FONT_BOLD),  # a letter carrying four combining marks
        ("MRN-9999999999999999", FONT),  # the longest MRN the contract allows
    ],
)
def test_a_long_word_is_broken_to_fit_its_column(value: str, font: str) -> None:
    """The call list's patient and MRN columns (and every log's table) broke text only at spaces: a long name
    or MRN without one ran over the birth date and the case number beside it. A word wider than the column is
    broken between letters, never between a letter and its accents."""
    register_fonts()
    width = 90.0
    cell = wrap_lines(value, width, font)
    assert isinstance(cell, str)
    lines = cell.split("\n")
    assert all(stringWidth(line, font, 8) <= width for line in lines), lines
    kept = "".join(lines).replace(" …", "")
    assert kept in unicodedata.normalize("NFC", value).replace(" ", "")
    assert _graphemes_kept(lines)


def _pdf_words(path: Path) -> list[tuple[str, float, float]]:
    """Each word of the first page with its left and right edge, as poppler's pdftotext reads them."""
    html = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout  # fmt: skip
    found = re.findall(r'<word xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', html)
    return [(word, float(left), float(right)) for left, right, word in found]


def _due_row(number: str, timepoint: str, mrn: str = "MRN-1001", name: str = "Nguyễn, Thị Hồng") -> DueFollowUp:
    row: dict[str, Any] = {
        "birth_date": dt.date(1960, 1, 1), "procedure": "endoscopic_rhizotomy", "procedure_date": dt.date(2023, 5, 19),
        "surgeon": "Dr. Amara Okafor", "levels": "L4-L5 bilateral", "timepoint": timepoint, "due_date": TODAY,
        "status": "overdue", "days_overdue": 0, "attempts": 1, "last_attempt": None, "region": "lumbar",
    }  # fmt: skip
    return DueFollowUp(number, mrn, name, **row)


def test_a_call_list_with_long_names_keeps_every_cell_in_its_column(tmp_path: Path) -> None:
    """The whole call list: the long name and MRN stay left of the next column's text."""
    rows = [_due_row("2025-00001", "6w", "MRN-9999999999999999", "W" * 100 + ", " + "M" * 100)]
    out = tmp_path / "calls.pdf"
    write_call_list(rows, out, settings=ReportSettings(), today=TODAY)
    words = _pdf_words(out)
    born = next(left for word, left, _ in words if word == "1960-01-01")
    mrn_column = next(left for word, left, _ in words if word == "MRN")
    long_ones = [(word, right) for word, _, right in words if word.startswith(("WWW", "MMM", "MRN-9"))]
    assert long_ones
    for word, right in long_ones:
        limit = born if word.startswith("MRN-9") else mrn_column
        assert right <= limit + 0.5, (word, right, limit)


def test_recording_on_a_signed_case_leaves_it_signed_and_audited(service: CaseService) -> None:
    """A died attempt on a signed case through the service: the case stays signed and the trail holds the attempt
    as the new value (nothing is reopened to record a death)."""
    (number,) = service.import_cases(case_file(make_case(status="final",
                                                         outside_policy_reason="Blocks done elsewhere")))  # fmt: skip
    before = service.get_case(number)
    view = FollowUpService(service).record_attempt(number, FollowUpAttempt("3m", TODAY, "died"))
    assert (view.status, view.signed_by, view.version) == (before.status, before.signed_by, before.version + 1)
    entry = audit.entries(service.db, record_type="case", record_id=number)[-1]
    assert entry.action == "addendum"
    assert entry.changes["follow_up_attempts"][1][-1]["result"] == "died"


def test_a_letter_naming_several_follow_ups_keeps_its_footer_readable(tmp_path: Path) -> None:
    """A patient with three follow-ups due (two staged sides and an older procedure) got one letter whose footer
    named every case and timepoint, written over the "Generated ... by CaseLog" line beside it."""
    rows = [_due_row(f"2025-0000{n}", tp) for n, tp in ((1, "6w"), (2, "12m"), (3, "24m"))]
    out = tmp_path / "letters.pdf"
    write_patient_letters(rows, out, settings=ReportSettings())
    html = subprocess.run(["pdftotext", "-bbox", str(out), "-"], capture_output=True, text=True, check=True).stdout
    found = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', html)
    generated = next(float(top) for _, top, _, word in found if word == "Generated")
    line = sorted((float(left), float(right), word) for left, top, right, word in found
                  if abs(float(top) - generated) < 3)  # fmt: skip
    assert all(a[1] <= b[0] + 0.5 for a, b in itertools.pairwise(line)), line
    text = " ".join(word for _, _, word in line)
    assert "2025-00001" in text and "Page 1 of 1" in text
