"""The de-identified research export: nothing that names a patient leaves, pseudonyms are stable, intervals true."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from caselog import exports, research
from caselog.accounts import AccountService, Actor
from caselog.cli import main
from caselog.db.engine import Database
from caselog.db.schema import open_database
from caselog.errors import InvalidInput, NotPermitted
from caselog.records import CaseFilter
from caselog.service import CaseService
from tests.factories import TODAY, case_file, make_case, simple_case

PASSWORD = "correct horse battery"
MARK = "zqx"  # in every identifier and free text of the source, in any letter case


def _marked_cases() -> list[dict[str, Any]]:
    """Three patients; every identifier and every free-text field carries the marker."""
    first = make_case(
        patient={"mrn": "ZQX-1", "family_name": "Zqxfamily", "given_name": "Zqxgiven", "birth_date": "1931-02-03",
                 "sex": "female"},
        facility="Zqx Facility", surgeon="Dr. Zqx Surgeon", assistants=["Zqx Assistant"],
        procedure="other", procedure_detail="Zqx detail", indication="Zqx indication", notes="Zqx notes",
        anesthesia={"type": "local_sedation", "sedation": "moderate", "asa_class": "II", "provider": "Zqx Provider"},
        referring_physician="Dr. Zqx Referrer, 1 Zqx Street", copy_to=["Zqx Copy, 2 Zqx Road"],
        outside_policy_reason="Zqx policy reason",
        complications=[{"category": "other", "description": "Zqx description", "treatment": "Zqx treatment",
                        "timing": "postoperative", "onset_date": "2025-03-16", "resolved_date": "2025-03-20",
                        "clavien_dindo": "I"}],
    )  # fmt: skip
    block = make_case(
        patient={"mrn": "ZQX-2", "family_name": "Zqxother", "given_name": "", "birth_date": "1970-05-06",
                 "sex": "male"},
        procedure="medial_branch_block", cpt_codes=["64493"], surgeon="Dr. Zqx Surgeon", notes="Zqx second note",
        levels=[{"level": "L4-L5", "side": "bilateral", "volume_ml": 0.5}], complications=[],
        block={"anesthetic": "other", "anesthetic_detail": "Zqx anesthetic", "pain_before": 8,
               "diary": [{"time": "30min", "pain": 2}, {"time": "2h", "pain": 4}], "activities_possible": True},
    )  # fmt: skip
    later = simple_case(
        "2025-05-02",
        patient=first["patient"],
        surgeon="Zqx Second Surgeon",
        procedure="laminotomy",
        cpt_codes=["63030"],
        indication="Zqx later indication",
    )
    return [first, block, later]


@pytest.fixture
def marked(service: CaseService) -> CaseService:
    service.import_cases(case_file(*_marked_cases()))
    service.set_review("2025-00001", 0, review_status="closed", notes="Zqx review notes")
    return service


def _members(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name).decode("utf-8-sig") for name in archive.namelist()}


def _rows(path: Path, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_members(path)[name])))


def _export(service: CaseService, path: Path, case_filter: CaseFilter | None = None) -> int:
    return exports.export_cases(service, case_filter or CaseFilter(), "research", path)


def test_no_identifier_or_free_text_of_the_source_appears_anywhere(marked: CaseService, tmp_path: Path) -> None:
    out = tmp_path / "research.zip"
    assert _export(marked, out) == 3
    raw = out.read_bytes()
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        texts = {name: archive.read(name) for name in names}
        comment = archive.comment
    assert sorted(names) == [
        "README.txt",
        "cases.csv",
        "complications.csv",
        "follow_up_attempts.csv",
        "levels.csv",
        "outcomes.csv",
    ]
    for blob in [comment, *texts.values(), *(n.encode() for n in names)]:
        assert MARK not in blob.decode("utf-8", errors="replace").casefold()
    # The archive's own bytes (headers, anything stored uncompressed): compressed data is random enough to hold
    # the three-letter marker by chance, so look there for the whole marked values instead.
    whole = raw.decode("latin-1").casefold()
    for value in ("zqx-1", "zqx-2", "zqxfamily", "zqxgiven", "zqx notes", "zqx facility", "dr. zqx surgeon"):
        assert value not in whole
    everything = "\n".join(t.decode("utf-8") for t in texts.values())
    for gone in ("1931-02-03", "1970-05-06", "2025-00001", "2025-00002", "2025-00003", "Nguy"):
        assert gone not in everything
    # What stays is there: ages (the 1931 patient is 94: "90+"), codes, levels, scores.
    cases = _rows(out, "cases.csv")
    assert sorted(c["age_at_procedure"] for c in cases) == ["54", "90+", "90+"]
    assert {c["procedure"] for c in cases} == {"other", "medial_branch_block", "laminotomy"}
    assert {c["outside_policy"] for c in cases} == {"yes", "no"}
    block = next(c for c in cases if c["procedure"] == "medial_branch_block")
    assert (block["block_anesthetic"], block["block_diary"], block["block_peak_relief_percent"]) == (
        "other", "30min 2; 2h 4", "75")  # fmt: skip
    assert [r["volume_ml"] for r in _rows(out, "levels.csv") if r["case_pseudonym"] == block["case_pseudonym"]] == [
        "0.5"
    ]


def test_every_date_moves_and_a_patients_intervals_stay_true(marked: CaseService, tmp_path: Path) -> None:
    out = tmp_path / "research.zip"
    _export(marked, out)
    cases = _rows(out, "cases.csv")
    first = [c for c in cases if c["age_at_procedure"] == "90+"]
    assert len({c["patient_pseudonym"] for c in first}) == 1  # one patient, two cases
    by_date = sorted(dt.date.fromisoformat(c["procedure_date"]) for c in first)
    true_dates = [dt.date(2025, 3, 14), dt.date(2025, 5, 2)]
    shift = by_date[0] - true_dates[0]
    assert shift != dt.timedelta(0) and abs(shift.days) <= research.MAX_SHIFT_DAYS
    assert by_date[1] - by_date[0] == true_dates[1] - true_dates[0]
    complication = _rows(out, "complications.csv")[0]
    assert complication["onset_day_after_procedure"] == "2"
    assert dt.date.fromisoformat(complication["onset_date"]) - shift == dt.date(2025, 3, 16)
    assert dt.date.fromisoformat(complication["resolved_date"]) - shift == dt.date(2025, 3, 20)
    outcomes = [o for o in _rows(out, "outcomes.csv") if o["patient_pseudonym"] == first[0]["patient_pseudonym"]]
    baseline = next(o for o in outcomes if o["timepoint"] == "baseline" and o["case_pseudonym"] == complication[
        "case_pseudonym"])  # fmt: skip
    assert baseline["day_after_procedure"] == "-13"
    assert dt.date.fromisoformat(baseline["date"]) - shift == dt.date(2025, 3, 1)


def test_the_same_patient_keeps_the_same_pseudonym_and_shift_across_exports(
    marked: CaseService, tmp_path: Path
) -> None:
    _export(marked, tmp_path / "one.zip")
    _export(marked, tmp_path / "two.zip", CaseFilter(procedure="laminotomy"))
    one = {c["case_pseudonym"]: c for c in _rows(tmp_path / "one.zip", "cases.csv")}
    (two,) = _rows(tmp_path / "two.zip", "cases.csv")
    assert one[two["case_pseudonym"]] == two
    assert re.fullmatch(r"P-[0-9A-F]{16}", two["patient_pseudonym"])
    assert re.fullmatch(r"S-[0-9A-F]{8}", two["surgeon_pseudonym"])


def test_another_database_gives_other_pseudonyms(marked: CaseService, tmp_path: Path) -> None:
    other_db = open_database(tmp_path / "other.sqlite3")
    try:
        other = CaseService(other_db, today=lambda: TODAY)
        other.import_cases(case_file(*_marked_cases()))
        _export(marked, tmp_path / "here.zip")
        _export(other, tmp_path / "there.zip")
    finally:
        other_db.close()
    here = {c["patient_pseudonym"] for c in _rows(tmp_path / "here.zip", "cases.csv")}
    there = {c["patient_pseudonym"] for c in _rows(tmp_path / "there.zip", "cases.csv")}
    assert len(here) == len(there) == 2 and not here & there


def test_the_key_is_made_once_audited_without_its_value_and_never_printed(marked: CaseService, tmp_path: Path) -> None:
    _export(marked, tmp_path / "one.zip")
    _export(marked, tmp_path / "two.zip")
    key = research.research_key(marked).hex()
    trail = marked.audit_trail()
    made = [e for e in trail if e.action == "research_key"]
    assert len(made) == 1
    assert key not in repr(trail)
    for name in ("one.zip", "two.zip"):
        assert key not in "".join(_members(tmp_path / name).values())
    assert marked.clinic_setting(research.KEY_NAME) is None  # not a setting every role could read
    exported = [e.details for e in trail if e.action == "export"]
    assert exported[0] == {"format": "research", "cases": 3, "filters": {}, "file": str(tmp_path / "one.zip")}


ACTORS = {role: Actor(f"{role}1", f"A {role}", role) for role in ("admin", "quality", "surgeon", "coordinator")}


@pytest.fixture
def with_accounts(db: Database, marked: CaseService) -> Database:
    AccountService(db).add_account("admin1", role="admin", full_name="A admin", password=PASSWORD)
    admin = AccountService(db, ACTORS["admin"])
    for actor in ACTORS.values():
        if actor.role != "admin":
            admin.add_account(actor.username, role=actor.role, full_name=actor.full_name, password=PASSWORD)
    return db


@pytest.mark.parametrize("role", ["surgeon", "coordinator", "admin"])
def test_only_quality_staff_release_research_data(with_accounts: Database, tmp_path: Path, role: str) -> None:
    service = CaseService(with_accounts, actor=ACTORS[role], today=lambda: TODAY)
    out = tmp_path / "research.zip"
    with pytest.raises(NotPermitted, match="only quality staff"):
        _export(service, out)
    assert not out.exists()
    quality = CaseService(with_accounts, actor=ACTORS["quality"], today=lambda: TODAY)
    refused = [e for e in quality.audit_trail() if e.action == "refused"]
    assert refused[-1].details["attempted"] == "research_export"
    assert not [e for e in quality.audit_trail() if e.action == "research_key"]  # refused before a key is made
    assert _export(quality, out) == 3


def test_the_command_line_writes_the_zip_and_needs_output(db_target: str, tmp_path: Path) -> None:
    db = open_database(db_target)
    try:
        CaseService(db, today=lambda: TODAY).import_cases(case_file(make_case()))
    finally:
        db.close()
    out = tmp_path / "research.zip"
    assert main(["--db", db_target, "export", "--format", "research", "--output", str(out)]) == 0
    assert [c["procedure"] for c in _rows(out, "cases.csv")] == ["endoscopic_rhizotomy"]
    with pytest.raises(InvalidInput, match="needs --output"):
        exports.stream_cases(CaseService(open_database(db_target)), CaseFilter(), "research", io.StringIO())
    assert exports.FORMATS["research"].dialog_filter.endswith("(*.zip)")
