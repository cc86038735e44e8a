"""`caselog followups due|record|counts|schedule`: output formats, exit statuses, and nothing written on error.

The command line judges "today" by the real clock, so the cases here are dated relative to it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

import pytest

from caselog import audit, clinic
from caselog.accounts import AccountService, Actor
from caselog.cli import main
from caselog.db.schema import open_database
from caselog.service import CaseService
from tests.factories import case_file, make_case, simple_case
from tests.test_cli import run

TODAY = dt.date.today()
PASSWORD = "correct horse battery"


def _ago(days: int) -> str:
    return (TODAY - dt.timedelta(days=days)).isoformat()


def _patient(mrn: str) -> dict[str, Any]:
    return {**make_case()["patient"], "mrn": mrn}


@pytest.fixture
def numbers(db_target: str) -> list[str]:
    """An RFA whose 2 weeks fall due today, one whose 2 weeks fall due in 4 days (another surgeon), and another
    procedure whose 2 weeks are 6 days overdue; each of its own patient (a later case of the same patient at the
    same joints would end an earlier one's follow-up)."""
    db = open_database(db_target)
    try:
        return CaseService(db).import_cases(case_file(
            simple_case(_ago(14), procedure="radiofrequency_ablation", cpt_codes=[]),
            simple_case(_ago(10), procedure="radiofrequency_ablation", cpt_codes=[], surgeon="Dr. Priya Raman",
                        patient=_patient("MRN-2002")),
            simple_case(_ago(20), procedure="other", procedure_detail="Trigger point injection", cpt_codes=[],
                        patient=_patient("MRN-2003")),
        ))  # fmt: skip
    finally:
        db.close()


def cli(capsys: pytest.CaptureFixture[str], db: str, *args: str) -> tuple[int, str, str]:
    status = main(["--db", db, *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_due_as_a_table_csv_and_json(db_target: str, numbers: list[str], capsys: pytest.CaptureFixture[str]):
    status, out, _ = cli(capsys, db_target, "followups", "due")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["Due", "Status", "TP", "Case"]
    assert [n in line for n, line in zip([numbers[2], numbers[0], numbers[1]], lines[1:4], strict=True)] == [True] * 3
    assert "overdue 6 d" in lines[1] and "overdue 0 d" in lines[2] and "upcoming" in lines[3]
    assert lines[-1] == f"3 follow-ups (2 overdue) as of {TODAY.isoformat()}."

    status, out, _ = cli(capsys, db_target, "followups", "due", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out.lstrip("\ufeff"))))
    assert [(r["case_number"], r["timepoint"], r["status"], r["days_overdue"]) for r in rows] == [
        (numbers[2], "2w", "overdue", "6"), (numbers[0], "2w", "overdue", "0"), (numbers[1], "2w", "upcoming", "0"),
    ]  # fmt: skip
    assert rows[0]["patient"] == "Nguyễn, Thị Hồng" and rows[0]["birth_date"] == "1961-04-12"

    status, out, _ = cli(capsys, db_target, "followups", "due", "--format", "json", "--overdue")
    data = json.loads(out)
    assert data["as_of"] == TODAY.isoformat()
    assert [row["case_number"] for row in data["follow_ups"]] == [numbers[2], numbers[0]]
    assert data["follow_ups"][1]["due_date"] == TODAY.isoformat()


@pytest.mark.parametrize(("within", "listed"), [("3", False), ("3d", False), ("4", True), ("4d", True), ("1w", True)])
def test_within_counts_days_and_weeks(db_target: str, numbers: list[str], capsys: pytest.CaptureFixture[str],
                                      within: str, listed: bool):  # fmt: skip
    """The other surgeon's RFA falls due in 4 days."""
    _, out, _ = cli(capsys, db_target, "followups", "due", "--within", within, "--format", "json")
    assert (numbers[1] in out) is listed


def test_due_filters_and_a_file(db_target: str, numbers: list[str], capsys: pytest.CaptureFixture[str],
                                tmp_path: Path):  # fmt: skip
    _, out, _ = cli(capsys, db_target, "followups", "due", "--surgeon", "Dr. Priya Raman", "--format", "json")
    assert [row["case_number"] for row in json.loads(out)["follow_ups"]] == [numbers[1]]
    _, out, _ = cli(capsys, db_target, "followups", "due", "--procedure", "other", "--format", "json")
    assert [row["case_number"] for row in json.loads(out)["follow_ups"]] == [numbers[2]]
    target = tmp_path / "calls.csv"
    status, out, err = cli(capsys, db_target, "followups", "due", "--format", "csv", "--output", str(target))
    assert (status, out, err) == (0, f"Wrote 3 follow-ups due to {target}.\n", "")
    assert target.read_text(encoding="utf-8-sig").splitlines()[0].startswith("due_date,status,days_overdue")
    db = open_database(db_target)
    entry = audit.entries(db)[-1]
    db.close()
    assert entry.action == "export" and entry.details["follow-ups due"] == 3 and entry.details["file"] == str(target)


def test_a_repeat_ablation_takes_the_earlier_one_off_the_list(db_target: str, numbers: list[str],
                                                              capsys: pytest.CaptureFixture[str]):  # fmt: skip
    """The first RFA's patient had the left L5-S1 ablated again yesterday: its 2 weeks are no longer owed (the
    repeat's own come in 2 weeks); the others stay."""
    db = open_database(db_target)
    try:
        [repeat] = CaseService(db).import_cases(
            case_file(
                simple_case(
                    _ago(1),
                    procedure="radiofrequency_ablation",
                    cpt_codes=[],
                    levels=[{"level": "L5-S1", "side": "left"}],
                )
            )
        )
    finally:
        db.close()
    status, out, _ = cli(capsys, db_target, "followups", "due", "--format", "json", "--within", "14")
    assert status == 0
    assert [row["case_number"] for row in json.loads(out)["follow_ups"]] == [numbers[2], numbers[1], repeat]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--within", "3x"], "argument --within: '3x' is not a number of days (14, 14d or 2w)"),
        (["--within", "99999"], "argument --within: '99999' is more than 3660 days"),
        (["--output", "x.txt"], "--output: needs --format csv or json"),
        (["--procedure", "knee"], "argument --procedure: invalid choice"),
    ],
)
def test_bad_due_options_exit_2_naming_the_option(db_target: str, numbers: list[str], args: list[str], message: str,
                                                  capsys: pytest.CaptureFixture[str]):  # fmt: skip
    status, out, err = cli(capsys, db_target, "followups", "due", *args)
    assert status == 2 and message in err and out == "" and "Traceback" not in err


def _case(db_target: str, number: str) -> Any:
    db = open_database(db_target)
    try:
        return CaseService(db).get_case(number)
    finally:
        db.close()


def test_record_scores_then_an_attempt(db_target: str, numbers: list[str], capsys: pytest.CaptureFixture[str]):
    status, out, err = cli(capsys, db_target, "followups", "record", numbers[0], "--timepoint", "2w",
                           "--score", "nrs_back=3", "pgic=2", "--score", "physical_therapy=yes",
                           "--score", "work_status=working")  # fmt: skip
    assert status == 0, err
    assert out == f"Recorded the 2 weeks follow-up (scores) of case {numbers[0]}, now at version 2.\n"
    outcome = _case(db_target, numbers[0]).record.outcomes[-1]
    assert (outcome.timepoint, outcome.date, outcome.nrs_back, outcome.pgic) == ("2w", TODAY, 3, 2)
    assert (outcome.physical_therapy, outcome.work_status) == (True, "working")
    status, out, _ = cli(capsys, db_target, "followups", "record", numbers[2], "--timepoint", "2w",
                         "--result", "could_not_reach", "--note", "voicemail full")  # fmt: skip
    assert status == 0 and "(could not reach)" in out
    _, out, _ = cli(capsys, db_target, "followups", "due", "--format", "json")
    rows = {row["case_number"]: row for row in json.loads(out)["follow_ups"]}
    assert numbers[0] not in rows and rows[numbers[2]]["attempts"] == 1
    status, out, _ = cli(capsys, db_target, "followups", "record", numbers[2], "--timepoint", "2w",
                         "--result", "moved_away")  # fmt: skip
    assert status == 0
    _, out, _ = cli(capsys, db_target, "followups", "due", "--format", "json")
    assert numbers[2] not in out


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["--score", "nrs_back=11"], 2, "--score nrs_back: "),
        (["--score", "nrs_back=three"], 2, "--score nrs_back: 'three' is not a whole number"),
        (["--score", "knee=1"], 2, "--score: unknown score 'knee'"),
        (["--score", "nrs_back"], 2, "--score: 'nrs_back' is not KEY=VALUE"),
        (["--score", "physical_therapy=maybe"], 2, "--score physical_therapy: 'maybe': yes or no"),
        (["--score", "nrs_back=3", "--note", "x"], 2, "--note: goes with --result"),
        (["--score", "nrs_back=3", "--result", "died"], 2, "not allowed with argument"),
        (["--result", "could_not_reach", "--date", "2099-01-01"], 2, "--date: "),
        (["--score", "nrs_back=3", "--expect-version", "7"], 5, "was changed by someone else"),
    ],
)
def test_bad_records_write_nothing(db_target: str, numbers: list[str], capsys: pytest.CaptureFixture[str],
                                   args: list[str], status: int, message: str):  # fmt: skip
    code, out, err = cli(capsys, db_target, "followups", "record", numbers[0], "--timepoint", "2w", *args)
    assert (code, out) == (status, "") and message in err and "Traceback" not in err
    assert _case(db_target, numbers[0]).version == 1


def test_a_timepoint_recorded_twice_and_an_unknown_case(db_target: str, numbers: list[str],
                                                         capsys: pytest.CaptureFixture[str]):  # fmt: skip
    assert cli(capsys, db_target, "followups", "record", numbers[0], "--timepoint", "2w", "--score", "odi=30")[0] == 0
    status, _, err = cli(capsys, db_target, "followups", "record", numbers[0], "--timepoint", "2w", "--score", "odi=20")
    assert status == 2 and f"--timepoint: the 2 weeks follow-up of case {numbers[0]} is already recorded" in err
    status, _, err = cli(capsys, db_target, "followups", "record", "2020-99999", "--timepoint", "2w",
                         "--score", "odi=20")  # fmt: skip
    assert status == 3 and "2020-99999 not found" in err


def test_counts_table_and_json(db_target: str, numbers: list[str], capsys: pytest.CaptureFixture[str]):
    status, out, _ = cli(capsys, db_target, "followups", "counts")
    assert status == 0
    assert out.splitlines()[0].split()[:3] == ["Procedure", "Surgeon", "Cases"]
    assert out.splitlines()[-1].split() == ["All", "procedures", "All", "surgeons", "3", "1", "2", "0", "0"]
    _, out, _ = cli(capsys, db_target, "followups", "counts", "--procedure", "other", "--format", "json")
    data = json.loads(out)
    assert data["rows"] == [{"procedure": "other", "surgeon": "Dr. Amara Okafor", "cases": 1, "complete": 0,
                             "overdue": 1, "lost": 0, "died": 0}]  # fmt: skip


def test_schedule_show_and_set_by_an_administrator_only(db_target: str, capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch):  # fmt: skip
    status, out, _ = cli(capsys, db_target, "followups", "schedule", "show")
    assert status == 0 and "CaseLog's default" in out
    assert "Medial branch block   2 weeks" in out
    db = open_database(db_target)
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
    AccountService(db, Actor("boss", "Clinic Admin", "admin")).add_account(
        "cole", role="coordinator", full_name="Cole Mendez", password=PASSWORD
    )
    db.close()
    monkeypatch.setenv("CASELOG_PASSWORD", PASSWORD)
    monkeypatch.setenv("CASELOG_USER", "cole")
    status, _, err = cli(capsys, db_target, "followups", "schedule", "set", "other", "2w")
    assert status == 4 and "may not administer CaseLog" in err
    status, out, _ = cli(capsys, db_target, "followups", "schedule", "show", "--json")
    assert status == 0 and json.loads(out)["other"] == ["2w", "6w", "3m"]
    monkeypatch.setenv("CASELOG_USER", "boss")
    status, _, err = cli(capsys, db_target, "followups", "schedule", "set", "other", "2w", "7m", "baseline")
    assert status == 2 and "TIMEPOINT: '7m' is not a follow-up timepoint" in err and "'baseline'" in err
    status, out, err = cli(capsys, db_target, "followups", "schedule", "set", "other", "3m", "2w")
    assert status == 0, err
    assert "set by the clinic" in out and "Other                 2 weeks, 3 months" in out
    status, out, _ = cli(capsys, db_target, "followups", "schedule", "set", "laminotomy", "none")
    assert status == 0 and "Laminotomy            no follow-up" in out
    db = open_database(db_target)
    entry = audit.entries(db)[-1]
    db.close()
    assert entry.action == "clinic_setting" and entry.record_id == "follow_up_schedule"
    old, new = entry.changes["follow_up_schedule"]
    assert old["laminotomy"] == ["2w", "6w", "3m", "6m", "12m", "24m"] and new["laminotomy"] == []


def test_a_damaged_schedule_is_refused_with_how_to_repair_it(db_target: str, numbers: list[str],
                                                             capsys: pytest.CaptureFixture[str]):  # fmt: skip
    db = open_database(db_target)
    with db.write() as session:  # edited outside CaseLog: one procedure left
        clinic.write_setting(session, "follow_up_schedule", {"other": ["2w"]}, None)
    db.close()
    status, _, err = cli(capsys, db_target, "followups", "due")
    assert status == 1 and "follow-up schedule stored in the database is not valid" in err
    assert "caselog followups schedule set" in err and "Traceback" not in err


def test_the_console_script_runs_followups(db_target: str, numbers: list[str]):
    result = run("followups", "due", "--overdue", "--format", "json", db=db_target)
    assert result.returncode == 0, result.stderr
    assert [row["case_number"] for row in json.loads(result.stdout)["follow_ups"]] == [numbers[2], numbers[0]]
