"""The day's schedule in: lines checked as an import's cases are, named by line, all or nothing; completing
one creates its draft case and marks it done together."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from caselog import schedule
from caselog.accounts import AccountService, Actor
from caselog.cli import main
from caselog.db.engine import Database
from caselog.errors import Conflict, InvalidInput, NotFound, NotPermitted
from caselog.schedule import ScheduledProcedure
from caselog.service import CaseService
from tests.factories import TODAY, case_file, make_case

HEADER = "date,MRN,name,birth date,sex,procedure,levels,surgeon"
NGUYEN = (
    '2025-06-30,MRN-1001,"Nguyễn, Thị Hồng",1961-04-12,F,medial_branch_block,L4-L5 bilateral; L5-S1 left,'
    "Dr. Amara Okafor"
)
OKOYE = "2025-07-01,MRN-2002,Okoye,1950-01-01,male,Laminectomy,L3-L4 bilateral,Dr. Priya Raman"


def _file(tmp_path: Path, *lines: str, header: str = HEADER, name: str = "day.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def _problems(service: CaseService, path: Path) -> list[str]:
    with pytest.raises(InvalidInput) as caught:
        schedule.import_schedule(service, path)
    return [str(p) for p in caught.value.problems]


def test_a_schedule_becomes_procedures_to_complete_not_cases(service: CaseService, tmp_path: Path) -> None:
    """A future day is fine (the list comes the day before); no case exists until one is completed."""
    entries = schedule.import_schedule(service, _file(tmp_path, NGUYEN, OKOYE))
    assert [e.source_line for e in entries] == [2, 3]
    waiting = schedule.to_complete(service)
    assert waiting == entries
    first = waiting[0]
    assert (first.patient.family_name, first.patient.given_name, first.patient.sex) == ("Nguyễn", "Thị Hồng", "female")
    assert first.case_data() == {
        "patient": {"mrn": "MRN-1001", "family_name": "Nguyễn", "given_name": "Thị Hồng", "birth_date": "1961-04-12",
                    "sex": "female"},
        "procedure_date": "2025-06-30", "procedure": "medial_branch_block",
        "levels": [{"level": "L4-L5", "side": "bilateral"}, {"level": "L5-S1", "side": "left"}],
        "surgeon": "Dr. Amara Okafor",
    }  # fmt: skip
    assert (waiting[1].procedure, waiting[1].patient.given_name, waiting[1].levels_text) == (
        "laminectomy", "", "L3-L4 bilateral")  # fmt: skip
    assert service.count() == 0
    (entry,) = [e for e in service.audit_trail() if e.action == "schedule_import"]
    assert entry.details == {
        "file": "day.csv",
        "entries": [e.id for e in entries],
        "days": ["2025-06-30", "2025-07-01"],
    }
    assert "Nguy" not in repr(entry.details)  # administrators read the trail: no patient in it


BAD_LINES = [
    ("2025-06-30,MRN 1,\"A, B\",1961-04-12,F,laminotomy,L4-L5 left,Dr. X",
     "day.csv:3: mrn: 'MRN 1' is not a valid MRN (1 to 20 letters, digits and '-')"),
    ("2025-06-30,MRN-9,\", B\",1961-04-12,F,laminotomy,L4-L5 left,Dr. X", "day.csv:3: name (family name): is required"),
    ("2025-06-30,MRN-9,\"A, B\",2025-07-01,F,laminotomy,L4-L5 left,Dr. X",
     "day.csv:3: birth_date: 2025-07-01 is after the procedure date 2025-06-30"),
    ("2025-06-30,MRN-9,\"A, B\",1961-04-12,X,laminotomy,L4-L5 left,Dr. X", "day.csv:3: sex: unknown sex 'x'"),
    ("2025-06-31,MRN-9,\"A, B\",1961-04-12,F,laminotomy,L4-L5 left,Dr. X",
     "day.csv:3: date: '2025-06-31' is not a real date"),
    ("2025-06-30,MRN-9,\"A, B\",1961-04-12,F,fusion,L4-L5 left,Dr. X",
     "day.csv:3: procedure: unknown procedure 'fusion'"),
    ("2025-06-30,MRN-9,\"A, B\",1961-04-12,F,laminotomy,L6-L7 left,Dr. X", "day.csv:3: levels: unknown level 'L6-L7'"),
    ("2025-06-30,MRN-9,\"A, B\",1961-04-12,F,endoscopic_rhizotomy,C1-C2 left,Dr. X",
     "day.csv:3: levels: C1-C2 is not a facet-nerve target (endoscopic rhizotomy is not done there)"),
    ("2025-06-30,MRN-9,\"A, B\",1961-04-12,F,laminotomy,L4-L5,Dr. X",
     "day.csv:3: levels: 'L4-L5' is not a level and a side (e.g. 'L4-L5 bilateral')"),
    ("2025-06-30,MRN-9,\"A, B\",1961-04-12,F,laminotomy,,Dr. X", "day.csv:3: levels: at least one level is required"),
    ("2025-06-30,MRN-9,\"A, B\",1961-04-12,F,laminotomy,L4-L5 left,", "day.csv:3: surgeon: is required"),
    ("2025-06-30,MRN-9,\"A, B\",1961-04-12,F,laminotomy", "day.csv:3: has 6 values for 8 columns"),
    (NGUYEN.replace("Thị Hồng", "Thi Hong"),
     "day.csv:3: MRN MRN-1001 is Nguyễn, Thị Hồng (born 1961-04-12, female) at line 2 but Nguyễn, Thi Hong (born "
     "1961-04-12, female) here; one MRN is one patient"),
    (NGUYEN, "day.csv:3: Medial branch block for MRN MRN-1001 on 2025-06-30 is already on the list to complete "
             "(line 2)"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "problem"), BAD_LINES, ids=[p.split(": ")[1] for _, p in BAD_LINES])
def test_each_problem_is_named_by_line_and_nothing_is_added(
    service: CaseService, tmp_path: Path, line: str, problem: str
) -> None:
    path = _file(tmp_path, NGUYEN, line)
    assert _problems(service, path) == [problem.replace("day.csv", str(path))]
    assert schedule.to_complete(service) == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (HEADER.replace("surgeon", "room") + "\n", ":1: unknown column 'room'; the columns are date, mrn, name, "
                                                   "birth_date, sex, procedure, levels, surgeon"),
        (HEADER.replace(",surgeon", "") + "\n", ":1: column 'surgeon' is missing"),
        (HEADER.replace(",", ";") + "\n", ":1: the columns are separated by ';': save the file with commas (CSV)"),
        (HEADER + "\n", ": holds no scheduled procedures (only the line of column names)"),
        ("", ": is empty: the first line names the columns"),
    ],
)  # fmt: skip
def test_a_file_that_is_not_a_schedule_is_refused(
    service: CaseService, tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "day.csv"
    path.write_text(content, encoding="utf-8")
    assert _problems(service, path)[0] == f"{path}{problem}"


def test_not_utf8_missing_and_folder(service: CaseService, tmp_path: Path) -> None:
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "\n" + NGUYEN + "\n").encode("utf-8").replace("ễ".encode(), b"\xe9"))
    assert "is not UTF-8 text" in _problems(service, latin)[0]
    assert _problems(service, tmp_path / "missing.csv") == [f"{tmp_path / 'missing.csv'}: file not found"]
    assert _problems(service, tmp_path) == [f"{tmp_path}: is a folder, not a file"]


def test_a_known_patient_is_matched_by_mrn_with_the_import_identity_check(service: CaseService, tmp_path: Path) -> None:
    service.import_cases(case_file(make_case()))  # MRN-1001 is Nguyễn, Thị Hồng, born 1961-04-12, female
    wrong = _file(tmp_path, NGUYEN.replace("1961-04-12", "1961-04-21"))
    assert _problems(service, wrong) == [
        f"{wrong}:2: MRN MRN-1001 is already registered to Nguyễn, Thị Hồng (born 1961-04-12, female); this line gives "
        "Nguyễn, Thị Hồng (born 1961-04-21, female). One MRN is one patient: correct the schedule, or the patient's "
        "cases first"
    ]
    assert len(schedule.import_schedule(service, _file(tmp_path, NGUYEN))) == 1


def test_a_waiting_procedure_is_not_scheduled_twice_and_keeps_its_patient(service: CaseService, tmp_path: Path) -> None:
    schedule.import_schedule(service, _file(tmp_path, NGUYEN, name="monday.csv"))
    again = _file(tmp_path, NGUYEN, name="again.csv")
    assert _problems(service, again) == [
        f"{again}:2: Medial branch block for MRN MRN-1001 on 2025-06-30 is already on the list to complete "
        "(monday.csv line 2)"
    ]
    other = _file(tmp_path, OKOYE.replace("MRN-2002", "MRN-1001"), name="other.csv")
    assert _problems(service, other) == [
        f"{other}:2: MRN MRN-1001 is waiting to be completed as Nguyễn, Thị Hồng (born 1961-04-12, female) (monday.csv "
        "line 2); this line gives Okoye (born 1950-01-01, male)"
    ]
    assert len(schedule.to_complete(service)) == 1


def _completed(entry: ScheduledProcedure, **changes: Any) -> dict[str, Any]:
    data = entry.case_data()
    data.update(duration_minutes=30, anesthesia={"type": "local"}, disposition="same_day_discharge", **changes)
    return data


def test_completing_creates_the_draft_and_marks_the_procedure_done_together(
    service: CaseService, tmp_path: Path
) -> None:
    first, second = schedule.import_schedule(
        service, _file(tmp_path, NGUYEN, OKOYE.replace("2025-07-01", "2025-06-30"))
    )
    view = schedule.complete(service, first.id, _completed(first))
    assert (view.status, view.record.patient.mrn, view.record.levels_text) == (
        "draft", "MRN-1001", "L4-L5 bilateral; L5-S1 left")  # fmt: skip
    assert schedule.to_complete(service) == [second]
    done = [e for e in service.audit_trail() if e.action == "schedule_done"]
    assert [(e.record_id, e.details) for e in done] == [(str(first.id), {"case_number": view.case_number})]
    with pytest.raises(Conflict, match="completed by someone else"):
        schedule.complete(service, first.id, _completed(first))
    with pytest.raises(NotFound):
        schedule.complete(service, 999_999, _completed(first))
    assert service.count() == 1  # neither refusal left a case behind


def test_a_case_that_is_not_valid_yet_leaves_the_procedure_waiting(service: CaseService, tmp_path: Path) -> None:
    """The schedule's stand-ins never reach a case: without a duration the case is refused."""
    (entry,) = schedule.import_schedule(service, _file(tmp_path, NGUYEN))
    with pytest.raises(InvalidInput, match="duration_minutes"):
        schedule.complete(service, entry.id, entry.case_data())
    tomorrow = _file(tmp_path, OKOYE, name="tomorrow.csv")
    (planned,) = schedule.import_schedule(service, tomorrow)
    with pytest.raises(InvalidInput, match="in the future"):
        schedule.complete(service, planned.id, _completed(planned))
    assert len(schedule.to_complete(service)) == 2 and service.count() == 0


def test_a_procedure_that_will_not_happen_is_taken_off_with_a_reason(service: CaseService, tmp_path: Path) -> None:
    first, second = schedule.import_schedule(service, _file(tmp_path, NGUYEN, OKOYE))
    with pytest.raises(InvalidInput, match="needs a reason"):
        schedule.cancel(service, first.id, reason="  ")
    schedule.cancel(service, first.id, reason="Patient did not come")
    assert schedule.to_complete(service) == [second]
    (entry,) = [e for e in service.audit_trail() if e.action == "schedule_cancel"]
    assert (entry.record_id, entry.reason) == (str(first.id), "Patient did not come")
    with pytest.raises(Conflict, match="cancelled by someone else"):
        schedule.complete(service, first.id, _completed(first))
    with pytest.raises(Conflict, match="cancelled by someone else"):
        schedule.cancel(service, first.id, reason="again")
    assert service.count() == 0
    # Taken off, it may be scheduled again (the patient comes another day, or after all).
    assert len(schedule.import_schedule(service, _file(tmp_path, NGUYEN, name="again.csv"))) == 1


def test_quality_staff_may_read_the_list_but_not_import_or_complete(db: Database, tmp_path: Path) -> None:
    accounts = AccountService(db)
    accounts.add_account("boss", role="admin", full_name="Clinic Admin", password="correct horse battery")
    admin = AccountService(db, Actor("boss", "Clinic Admin", "admin"))
    for name, role in (("quinn", "quality"), ("cole", "coordinator")):
        admin.add_account(name, role=role, full_name=name.title(), password="correct horse battery")
    quality = CaseService(db, actor=Actor("quinn", "Quinn", "quality"), today=lambda: TODAY)
    coordinator = CaseService(db, actor=Actor("cole", "Cole", "coordinator"), today=lambda: TODAY)
    path = _file(tmp_path, NGUYEN)
    with pytest.raises(NotPermitted):
        schedule.import_schedule(quality, path)
    (entry,) = schedule.import_schedule(coordinator, path)
    assert schedule.to_complete(quality) == [entry]
    with pytest.raises(NotPermitted):
        schedule.complete(quality, entry.id, _completed(entry))
    with pytest.raises(NotPermitted):
        schedule.to_complete(CaseService(db, actor=Actor("boss", "Clinic Admin", "admin")))
    assert [e.details["attempted"] for e in quality.audit_trail() if e.action == "refused"] == [
        "schedule_import", "schedule_complete", "schedule_list"]  # fmt: skip


def test_the_command_line_imports_and_names_lines(
    db_target: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _file(tmp_path, NGUYEN, OKOYE)
    _file(tmp_path, NGUYEN, '2025-06-30,MRN-9,"A, B",1961-04-12,F,laminotomy,L6-L7 left,', name="bad.csv")
    assert main(["--db", db_target, "import", "--format", "schedule", "bad.csv"]) == 2
    assert capsys.readouterr().err.splitlines()[-2:] == [
        "bad.csv:3: surgeon: is required", "bad.csv:3: levels: unknown level 'L6-L7'"]  # fmt: skip
    assert main(["--db", db_target, "import", "--format", "schedule", "day.csv"]) == 0
    assert capsys.readouterr().out == "Added 2 scheduled procedures to complete (2025-06-30, 2025-07-01).\n"
    assert main(["--db", db_target, "import", "--format", "schedule", "missing.csv"]) == 2
