"""Format version 3: the follow-up's answers on an outcome, the 36 and 48 month timepoints, and the attempts to
reach a patient for a follow-up.

Every door applies the same rules (validation), version 1 and 2 files are still read and refused when they use
a version 3 value, what is stored comes back exactly (export, import into an empty database, export again), and
a database made before schema 0009 upgrades with its outcomes kept."""

from __future__ import annotations

import copy
import csv
import datetime as dt
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect, text

from caselog import exports, vocab
from caselog.dates import add_months
from caselog.db.engine import Database
from caselog.db.schema import check_database, head_revision, open_database, upgrade
from caselog.db.transfer import copy_database
from caselog.errors import InvalidInput
from caselog.exchange import atomic_output, single_case, write_csv, write_json, write_xlsx
from caselog.fhir_import import bundle_to_cases
from caselog.records import CaseFilter, FollowUpAttempt, case_to_contract
from caselog.service import CaseService, classify_change
from caselog.validation import FORMAT_VERSION, validate_case, validate_file
from tests.factories import TODAY, simple_case
from tests.helpers.migrations import downgrade
from tests.helpers.raw import raw_connect

PROCEDURE_DATE = "2021-03-10"


def v3_case(**changes: Any) -> dict[str, Any]:
    """A cervical laminectomy followed for four years: neck and arm scores, NDI, PGIC, work, pain medication,
    the return to activities and physical therapy, a 36-month outcome and two calls at 48 months."""
    base: dict[str, Any] = {
        "procedure": "laminectomy",
        "cpt_codes": ["63045"],
        "diagnosis_codes": ["M48.02"],
        "prior_block_relief_percent": None,
        "indication": "Cervical stenosis with arm pain",
        "levels": [{"level": "C5-C6", "side": "bilateral"}],
        "outcomes": [
            {"timepoint": "baseline", "date": "2021-03-01", "nrs_neck": 7, "nrs_arm": 6, "ndi": 48,
             "work_status": "off_work_pain", "analgesics": "opioid"},
            {"timepoint": "3m", "date": "2021-06-12", "nrs_neck": 3, "nrs_arm": 1, "ndi": 20, "pgic": 2,
             "work_status": "working", "analgesics": "non_opioid", "returned_to_activities": "2021-05-20",
             "physical_therapy": True},
            {"timepoint": "36m", "date": "2024-03-15", "pgic": 1, "physical_therapy": False},
        ],
        "follow_up_attempts": [
            {"timepoint": "48m", "date": "2025-03-12", "result": "could_not_reach", "note": "Voicemail full"},
            {"timepoint": "48m", "date": "2025-03-10", "result": "could_not_reach"},
        ],
    }  # fmt: skip
    base.update(changes)
    return simple_case(PROCEDURE_DATE, **base)


def changed(case: dict[str, Any], part: str, index: int, **values: Any) -> dict[str, Any]:
    """`case` with one outcome or attempt changed (a value of None removes the key)."""
    case = copy.deepcopy(case)
    item = case[part][index]
    for key, value in values.items():
        if value is None:
            item.pop(key, None)
        else:
            item[key] = value
    return case


def problems_of(case: dict[str, Any]) -> list[str]:
    record, problems = validate_case(case, today=TODAY)
    assert (record is None) == bool(problems)
    return [str(p) for p in problems]


def v3_file(*cases: dict[str, Any], version: int = FORMAT_VERSION) -> dict[str, Any]:
    return {"format": "caselog-cases", "version": version, "cases": list(cases)}


# ---- the vocabulary -----------------------------------------------------------------------------------------


def test_timepoints_are_in_order_and_each_falls_due_by_days_or_by_months() -> None:
    assert list(vocab.TIMEPOINTS) == ["baseline", "2w", "6w", "3m", "6m", "12m", "24m", "36m", "48m", "5y"]
    assert (vocab.TIMEPOINTS["36m"], vocab.TIMEPOINTS["48m"]) == ("36 months", "48 months")
    assert set(vocab.TIMEPOINT_DUE) == set(vocab.TIMEPOINTS)
    follow_ups = [vocab.TIMEPOINT_DUE[t] for t in vocab.TIMEPOINTS if t != "baseline"]
    assert all((days == 0) != (months == 0) for days, months in follow_ups)
    day = dt.date(2021, 8, 31)
    due = [day + dt.timedelta(days=d) if d else add_months(day, m) for d, m in follow_ups]
    assert due == sorted(due) and due[0] == dt.date(2021, 9, 14) and due[2] == dt.date(2021, 11, 30)
    assert due[-1] == dt.date(2026, 8, 31)


def test_add_months_is_the_pathways_own() -> None:
    """One calendar rule for every module: the pathway re-exports caselog.dates' function."""
    from caselog import pathway

    assert pathway.add_months is add_months
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 29)


# ---- validation -----------------------------------------------------------------------------------------------


def test_a_version_3_case_is_read_with_every_answer() -> None:
    record, problems = validate_case(v3_case(), today=TODAY)
    assert problems == [] and record is not None
    baseline, three, thirty_six = record.outcomes
    assert (baseline.nrs_neck, baseline.nrs_arm, baseline.ndi, baseline.pgic) == (7, 6, 48, None)
    assert (baseline.work_status, baseline.analgesics, baseline.physical_therapy) == ("off_work_pain", "opioid", None)
    assert (three.pgic, three.returned_to_activities, three.physical_therapy) == (2, dt.date(2021, 5, 20), True)
    assert (thirty_six.timepoint, thirty_six.physical_therapy, thirty_six.nrs_back) == ("36m", False, None)
    assert record.follow_up_attempts == (
        FollowUpAttempt("48m", dt.date(2025, 3, 12), "could_not_reach", "Voicemail full"),
        FollowUpAttempt("48m", dt.date(2025, 3, 10), "could_not_reach"),
    )
    assert [a.date.day for a in record.attempts_by_date] == [10, 12]  # exports list them by date


def test_one_answer_is_enough_for_an_outcome() -> None:
    only_therapy = [{"timepoint": "6m", "date": "2021-09-10", "physical_therapy": False}]
    assert problems_of(v3_case(outcomes=only_therapy)) == []
    only_work = [{"timepoint": "baseline", "date": "2021-03-01", "work_status": "retired"}]
    assert problems_of(v3_case(outcomes=only_work)) == []


BASE = v3_case()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (changed(BASE, "outcomes", 1, nrs_neck=11), "outcomes[1].nrs_neck: 11 is out of range (0 to 10)"),
        (changed(BASE, "outcomes", 1, nrs_arm=-1), "outcomes[1].nrs_arm: -1 is out of range (0 to 10)"),
        (changed(BASE, "outcomes", 1, ndi=101), "outcomes[1].ndi: 101 is out of range (0 to 100)"),
        (changed(BASE, "outcomes", 1, pgic=0), "outcomes[1].pgic: 0 is out of range (1 to 7)"),
        (changed(BASE, "outcomes", 1, pgic=8), "outcomes[1].pgic: 8 is out of range (1 to 7)"),
        (changed(BASE, "outcomes", 1, pgic="2"), "outcomes[1].pgic: must be a whole number, not text"),
        (changed(BASE, "outcomes", 1, work_status="sick_leave"),
         "outcomes[1].work_status: unknown work status 'sick_leave'"),
        (changed(BASE, "outcomes", 1, analgesics="tramadol"),
         "outcomes[1].analgesics: unknown pain medication use 'tramadol'"),
        (changed(BASE, "outcomes", 1, physical_therapy="yes"),
         "outcomes[1].physical_therapy: must be true, false or null, not text"),
        (changed(BASE, "outcomes", 1, returned_to_activities="2021-03-09"),
         "outcomes[1].returned_to_activities: 2021-03-09 is before the procedure date 2021-03-10"),
        (changed(BASE, "outcomes", 1, returned_to_activities="2021-06-13"),
         "outcomes[1].returned_to_activities: 2021-06-13 is after this outcome's date 2021-06-12"),
        (changed(BASE, "outcomes", 1, returned_to_activities="20 May"),
         "outcomes[1].returned_to_activities: must be a date as YYYY-MM-DD"),
        (changed(BASE, "outcomes", 0, pgic=3), "outcomes[0].pgic: is not asked at baseline"),
        (changed(BASE, "outcomes", 0, returned_to_activities="2021-03-01"),
         "outcomes[0].returned_to_activities: is not asked at baseline"),
        (changed(BASE, "outcomes", 2, pgic=None, physical_therapy=None),
         "outcomes[2]: needs at least one of nrs_back, nrs_leg, odi, relief_percent, nrs_neck, nrs_arm, ndi, pgic, "
         "work_status, analgesics, returned_to_activities, physical_therapy"),
        (changed(BASE, "outcomes", 2, timepoint="30m"), "outcomes[2].timepoint: unknown timepoint '30m'"),
        (changed(BASE, "follow_up_attempts", 0, timepoint="baseline"),
         "follow_up_attempts[0].timepoint: an attempt is for a follow-up"),
        (changed(BASE, "follow_up_attempts", 0, timepoint="9m"),
         "follow_up_attempts[0].timepoint: unknown timepoint '9m'"),
        (changed(BASE, "follow_up_attempts", 0, timepoint=None), "follow_up_attempts[0].timepoint: is required"),
        (changed(BASE, "follow_up_attempts", 0, date="2021-03-10"),
         "follow_up_attempts[0].date: a follow-up attempt is after the procedure date 2021-03-10"),
        (changed(BASE, "follow_up_attempts", 0, date="2025-07-01"),
         "follow_up_attempts[0].date: 2025-07-01 is in the future"),
        (changed(BASE, "follow_up_attempts", 0, date=None), "follow_up_attempts[0].date: is required"),
        (changed(BASE, "follow_up_attempts", 0, result="busy"),
         "follow_up_attempts[0].result: unknown result 'busy'"),
        (changed(BASE, "follow_up_attempts", 0, result=None), "follow_up_attempts[0].result: is required"),
        (changed(BASE, "follow_up_attempts", 0, note="x" * 501),
         "follow_up_attempts[0].note: is 501 characters long; at most 500 are allowed"),
        (changed(BASE, "follow_up_attempts", 0, note="Rang\u202etwice"),
         "follow_up_attempts[0].note: contains a text-direction control"),
        (changed(BASE, "follow_up_attempts", 0, reason="no answer"),
         "follow_up_attempts[0].reason: unknown field"),
        (v3_case(follow_up_attempts={"timepoint": "48m"}), "follow_up_attempts: must be a list, not an object"),
        (v3_case(follow_up_attempts=["48m"]), "follow_up_attempts[0]: must be an object, not text"),
    ],
)  # fmt: skip
def test_each_rule_names_the_field(case: dict[str, Any], expected: str) -> None:
    found = problems_of(case)
    assert len(found) == 1 and found[0].startswith(expected), found


def test_a_death_is_recorded_once_and_nothing_is_dated_after_it() -> None:
    died = {"timepoint": "48m", "date": "2025-03-11", "result": "died", "note": "Told by the family"}
    assert problems_of(v3_case(follow_up_attempts=[died])) == []
    later_outcome = {"timepoint": "48m", "date": "2025-03-12", "nrs_neck": 2}
    case = v3_case(outcomes=[*BASE["outcomes"], later_outcome],
                   follow_up_attempts=[*BASE["follow_up_attempts"], died, {**died, "date": "2025-03-11"}])  # fmt: skip
    assert problems_of(case) == [
        "outcomes[3].date: 2025-03-12 is after the patient's death on 2025-03-11 (follow_up_attempts[2])",
        "follow_up_attempts[3].result: the patient's death is already recorded at follow_up_attempts[2]",
        "follow_up_attempts[0].date: 2025-03-12 is after the patient's death on 2025-03-11 (follow_up_attempts[2])",
    ]
    # On the day of the death is not after it.
    same_day = {"timepoint": "48m", "date": "2025-03-11", "nrs_neck": 2}
    assert problems_of(v3_case(outcomes=[*BASE["outcomes"], same_day], follow_up_attempts=[died])) == []


def test_attempts_are_optional_and_an_empty_list_is_none() -> None:
    record, problems = validate_case(v3_case(follow_up_attempts=[]), today=TODAY)
    assert problems == [] and record is not None and record.follow_up_attempts == ()
    assert "follow_up_attempts" not in case_to_contract(record)


# ---- versions -----------------------------------------------------------------------------------------------


def test_a_version_2_file_with_a_version_3_value_is_refused_by_name() -> None:
    case = v3_case()
    del case["follow_up_attempts"]
    v2 = v3_file(case, version=2)
    records, problems = validate_file(v2, today=TODAY)
    assert records and [str(p) for p in problems] == [
        "cases[0].outcomes[0].nrs_neck: needs format version 3 (this file says version 2)",
        "cases[0].outcomes[0].nrs_arm: needs format version 3 (this file says version 2)",
        "cases[0].outcomes[0].ndi: needs format version 3 (this file says version 2)",
        "cases[0].outcomes[0].work_status: needs format version 3 (this file says version 2)",
        "cases[0].outcomes[0].analgesics: needs format version 3 (this file says version 2)",
        "cases[0].outcomes[1].nrs_neck: needs format version 3 (this file says version 2)",
        "cases[0].outcomes[1].nrs_arm: needs format version 3 (this file says version 2)",
        "cases[0].outcomes[1].ndi: needs format version 3 (this file says version 2)",
        "cases[0].outcomes[1].pgic: needs format version 3 (this file says version 2)",
        "cases[0].outcomes[1].work_status: needs format version 3 (this file says version 2)",
        "cases[0].outcomes[1].analgesics: needs format version 3 (this file says version 2)",
        "cases[0].outcomes[1].returned_to_activities: needs format version 3 (this file says version 2)",
        "cases[0].outcomes[1].physical_therapy: needs format version 3 (this file says version 2)",
        "cases[0].outcomes[2].timepoint: '36m' needs format version 3 (this file says version 2)",
        "cases[0].outcomes[2].pgic: needs format version 3 (this file says version 2)",
        "cases[0].outcomes[2].physical_therapy: needs format version 3 (this file says version 2)",
    ]


def test_a_version_2_file_with_a_36_month_outcome_is_refused() -> None:
    plain = [{"timepoint": "baseline", "date": "2021-03-01", "nrs_back": 7},
             {"timepoint": "36m", "date": "2024-03-15", "nrs_back": 2}]  # fmt: skip
    case = v3_case(outcomes=plain)
    del case["follow_up_attempts"]
    _, problems = validate_file(v3_file(case, version=2), today=TODAY)
    assert [str(p) for p in problems] == [
        "cases[0].outcomes[1].timepoint: '36m' needs format version 3 (this file says version 2)"
    ]
    with pytest.raises(InvalidInput, match="'36m' needs format version 3"):
        single_case(v3_file(case, version=2), "case.json")
    # The same case in a version 3 file is read.
    records, problems = validate_file(v3_file(case), today=TODAY)
    assert problems == [] and len(records) == 1


def test_a_version_1_file_names_attempts_as_version_3_and_a_plain_one_is_still_read() -> None:
    case = v3_case(outcomes=[])
    _, problems = validate_file(v3_file(case, {**case, "block": None}, version=1), today=TODAY)
    assert [str(p) for p in problems] == [
        "cases[0].follow_up_attempts: needs format version 3 (this file says version 1)",
        "cases[1].block: needs format version 2 (this file says version 1)",
        "cases[1].follow_up_attempts: needs format version 3 (this file says version 1)",
    ]
    old = v3_case(outcomes=[{"timepoint": "24m", "date": "2023-03-10", "nrs_back": 2, "odi": 10}])
    del old["follow_up_attempts"]
    for version in (1, 2):
        records, problems = validate_file(v3_file(old, version=version), today=TODAY)
        assert problems == [] and len(records) == 1


def test_an_unknown_version_is_refused() -> None:
    _, problems = validate_file(v3_file(version=5), today=TODAY)
    assert [str(p) for p in problems] == ["version: must be 1, 2, 3 or 4, not 5"]


# ---- storage, exports ---------------------------------------------------------------------------------------


def _export_json(service: CaseService) -> dict[str, Any]:
    out = io.StringIO()
    write_json(service.iter_cases(), out)
    data: dict[str, Any] = json.loads(out.getvalue())
    return data


def test_export_import_export_keeps_every_version_3_value(service: CaseService, db_target: str) -> None:
    plain = simple_case("2025-01-10", outcomes=[{"timepoint": "baseline", "date": "2025-01-02", "odi": 40}],
                        patient={**BASE["patient"], "mrn": "MRN-2002"})  # fmt: skip
    service.import_cases(v3_file(v3_case(), plain))
    first = _export_json(service)
    assert first["version"] == FORMAT_VERSION
    by_mrn = {c["patient"]["mrn"]: c for c in first["cases"]}
    followed = by_mrn["MRN-1001"]
    assert followed["outcomes"][1] == {
        "timepoint": "3m", "date": "2021-06-12", "nrs_back": None, "nrs_leg": None, "odi": None,
        "relief_percent": None, "nrs_neck": 3, "nrs_arm": 1, "ndi": 20, "pgic": 2, "work_status": "working",
        "analgesics": "non_opioid", "returned_to_activities": "2021-05-20", "physical_therapy": True,
    }  # fmt: skip
    assert followed["outcomes"][2]["physical_therapy"] is False  # false is an answer, kept
    assert followed["follow_up_attempts"] == [
        {"timepoint": "48m", "date": "2025-03-12", "result": "could_not_reach", "note": "Voicemail full"},
        {"timepoint": "48m", "date": "2025-03-10", "result": "could_not_reach", "note": None},
    ]
    # A case without version 3 values is exactly the contract's: no new keys.
    assert "follow_up_attempts" not in by_mrn["MRN-2002"]
    assert list(by_mrn["MRN-2002"]["outcomes"][0]) == ["timepoint", "date", "nrs_back", "nrs_leg", "odi",
                                                      "relief_percent"]  # fmt: skip
    # The same file into an empty database (this one, its drafts deleted) gives the same cases.
    for case in first["cases"]:
        service.delete_case(case["case_number"], reason="re-import")
    with service.db.read() as session:
        assert session.execute(text("SELECT count(*) FROM follow_up_attempts")).scalar_one() == 0
    service.import_cases(first)
    assert _export_json(service)["cases"] == first["cases"]


def test_csv_counts_attempts_and_xlsx_has_the_answers_and_an_attempts_sheet(
    service: CaseService, tmp_path: Path
) -> None:
    service.import_cases(v3_file(v3_case()))
    out = io.StringIO()
    write_csv(service.iter_cases(), out)
    row = next(csv.DictReader(io.StringIO(out.getvalue().lstrip("\ufeff"))))
    assert (row["outcome_timepoints"], row["follow_up_attempts"]) == ("baseline 3m 36m", "2")
    target = tmp_path / "cases.xlsx"
    with atomic_output(target, "wb") as handle:
        write_xlsx(service.iter_cases(), handle)
    book = openpyxl.load_workbook(target)
    outcomes = list(book["Outcomes"].iter_rows(values_only=True))
    assert outcomes[0][8:] == ("NRS neck", "NRS arm", "NDI", "PGIC", "Work status", "Pain medication",
                               "Returned to activities", "Physical therapy")  # fmt: skip
    assert outcomes[2][8:] == (3, 1, 20, 2, "Working", "Non-opioid pain medication", dt.datetime(2021, 5, 20),
                               "yes")  # fmt: skip
    assert outcomes[1][11] is None and outcomes[3][15] == "no"
    attempts = list(book["Follow-up attempts"].iter_rows(values_only=True))
    assert attempts[0] == ("Case number", "Procedure date", "Timepoint", "Date", "Result", "Note")
    assert [(a[2], a[3], a[4], a[5]) for a in attempts[1:]] == [
        ("48m", dt.datetime(2025, 3, 10), "Could not reach", None),
        ("48m", dt.datetime(2025, 3, 12), "Could not reach", "Voicemail full"),
    ]


def test_research_export_keeps_the_answers_and_drops_the_attempts_note(service: CaseService, tmp_path: Path) -> None:
    marked = changed(v3_case(), "follow_up_attempts", 0, note="zqx daughter's number 555-0199")
    service.import_cases(v3_file(marked))
    out = tmp_path / "research.zip"
    assert exports.export_cases(service, CaseFilter(), "research", out) == 1
    with zipfile.ZipFile(out) as archive:
        texts = {name: archive.read(name).decode("utf-8-sig") for name in archive.namelist()}
    assert all("zqx" not in t and "555-0199" not in t for t in texts.values())
    outcomes = list(csv.DictReader(io.StringIO(texts["outcomes.csv"])))
    three = outcomes[1]
    assert (three["nrs_neck"], three["ndi"], three["pgic"], three["work_status"], three["analgesics"],
            three["physical_therapy"]) == ("3", "20", "2", "working", "non_opioid", "yes")  # fmt: skip
    shift = dt.date.fromisoformat(three["date"]) - dt.date(2021, 6, 12)
    assert dt.date.fromisoformat(three["returned_to_activities"]) - shift == dt.date(2021, 5, 20)
    attempts = list(csv.DictReader(io.StringIO(texts["follow_up_attempts.csv"])))
    assert list(attempts[0]) == ["case_pseudonym", "patient_pseudonym", "timepoint", "date", "day_after_procedure",
                                 "result"]  # fmt: skip
    assert [(a["day_after_procedure"], a["result"]) for a in attempts] == [("1461", "could_not_reach"),
                                                                            ("1463", "could_not_reach")]  # fmt: skip


def test_fhir_export_carries_the_scores_and_leaves_the_other_answers_out(service: CaseService) -> None:
    from fhir.resources.R4B.bundle import Bundle

    service.import_cases(v3_file(v3_case()))
    out = io.StringIO()
    exports.stream_cases(service, CaseFilter(), "fhir", out)
    bundle = json.loads(out.getvalue())
    Bundle.model_validate(bundle)
    content, _ = bundle_to_cases(bundle, mrn_system="urn:caselog:mrn", where="bundle.json")
    back = content["cases"][0]
    assert [(o["timepoint"], o.get("nrs_neck"), o.get("ndi"), o.get("pgic")) for o in back["outcomes"]] == [
        ("baseline", 7, 48, None), ("3m", 3, 20, 2), ("36m", None, None, 1)]  # fmt: skip
    assert "work_status" not in back["outcomes"][0] and "follow_up_attempts" not in back
    records, problems = validate_file(content, today=TODAY)
    assert problems == [] and len(records) == 1


# ---- the signed case: an addendum ---------------------------------------------------------------------------


def test_an_attempt_added_to_a_signed_case_is_an_audited_addendum(service: CaseService) -> None:
    (number,) = service.import_cases(v3_file(v3_case(follow_up_attempts=[])))
    service.sign_case(number)
    call = {"timepoint": "48m", "date": "2025-03-10", "result": "moved_away", "note": "Moved to Lisbon"}
    view = service.add_addendum(number, follow_up_attempts=[call])
    assert view.status == "final"
    assert view.record.follow_up_attempts == (FollowUpAttempt("48m", dt.date(2025, 3, 10), "moved_away",
                                                              "Moved to Lisbon"),)  # fmt: skip
    entry = service.history(number)[-1]
    assert entry.action == "addendum"
    assert entry.changes["follow_up_attempts"] == [None, [call]]  # the audit trail shows what was added
    # The same through an update of the whole case: appending is an addendum, changing one an amendment.
    content = case_to_contract(view.record)
    content["follow_up_attempts"].append({"timepoint": "5y", "date": "2025-06-01", "result": "declined"})
    assert service.update_case(number, content).status == "final"
    assert service.history(number)[-1].action == "addendum"
    content["follow_up_attempts"][0]["result"] = "declined"
    with pytest.raises(InvalidInput, match="amendment needs a reason"):
        service.update_case(number, content)


def test_classify_change_sees_an_appended_attempt_as_an_addendum() -> None:
    record, _ = validate_case(v3_case(), today=TODAY)
    assert record is not None
    fewer, _ = validate_case(v3_case(follow_up_attempts=BASE["follow_up_attempts"][:1]), today=TODAY)
    assert fewer is not None
    assert classify_change(fewer, record) == ("addendum", False)
    assert classify_change(record, fewer) == ("edit", False)


def test_the_database_refuses_what_validation_refuses(service: CaseService, db: Database) -> None:
    """A direct edit of the file cannot store an answer out of range or an unknown result."""
    (number,) = service.import_cases(v3_file(v3_case()))
    for statement in (
        "UPDATE outcome_scores SET pgic = 8 WHERE timepoint = '3m'",
        "UPDATE outcome_scores SET ndi = 101 WHERE timepoint = '3m'",
        "UPDATE outcome_scores SET work_status = 'sick' WHERE timepoint = '3m'",
        "UPDATE outcome_scores SET analgesics = 'tramadol' WHERE timepoint = '3m'",
        "UPDATE follow_up_attempts SET result = 'busy'",
        "UPDATE follow_up_attempts SET timepoint = 'baseline'",
    ):
        with pytest.raises(sa_exc.IntegrityError), db.engine.execution_options(caselog_write=True).begin() as conn:
            conn.execute(text(statement))
    assert service.get_case(number).record.outcomes[1].pgic == 2


def test_deleting_a_draft_deletes_its_attempts(service: CaseService, db: Database) -> None:
    (number,) = service.import_cases(v3_file(v3_case()))
    service.delete_case(number, reason="Entered twice")
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM follow_up_attempts")).scalar_one() == 0
    assert check_database(db).ok


# ---- schema 0009 --------------------------------------------------------------------------------------------


def test_a_database_at_schema_0008_upgrades_with_its_outcomes_kept(service: CaseService, db: Database) -> None:
    """Outcomes and cases stored before 0009 come back exactly; the new columns start empty (not asked)."""
    old = [
        simple_case("2024-05-02", outcomes=[
            {"timepoint": "baseline", "date": "2024-05-01", "nrs_back": 8, "nrs_leg": 4, "odi": 52},
            {"timepoint": "6w", "date": "2024-06-13", "nrs_back": 3, "relief_percent": 60},
            {"timepoint": "12m", "date": "2025-05-02", "nrs_back": 4, "nrs_leg": 0, "odi": 24,
             "relief_percent": 50}]),
        simple_case("2025-02-11", patient={**BASE["patient"], "mrn": "MRN-3003"}, outcomes=[
            {"timepoint": "2w", "date": "2025-02-25", "odi": 0}]),
    ]  # fmt: skip
    service.import_cases(v3_file(*old))
    before = _export_json(service)["cases"]
    downgrade(db, "0008")
    columns = {c["name"] for c in inspect(db.engine).get_columns("outcome_scores")}
    assert "pgic" not in columns and "follow_up_attempts" not in inspect(db.engine).get_table_names()
    with db.read() as session:  # the 0008 database really holds the outcomes
        assert session.execute(text("SELECT count(*) FROM outcome_scores")).scalar_one() == 4
    result = upgrade(db, copy_first=False)
    assert (result.previous, result.current) == ("0008", head_revision())
    after = _export_json(CaseService(db, today=lambda: TODAY))["cases"]
    assert after == before and after[0]["outcomes"][2]["odi"] == 24
    with db.read() as session:
        empty = session.execute(text("SELECT count(*) FROM outcome_scores WHERE pgic IS NULL AND ndi IS NULL "
                                     "AND work_status IS NULL AND physical_therapy IS NULL")).scalar_one()  # fmt: skip
    assert empty == 4
    assert check_database(db).ok


def test_the_command_line_refuses_a_version_2_file_with_a_version_3_value(tmp_path: Path) -> None:
    """`caselog import`: exit 2, each problem as `PATH: message` on stderr, nothing written; the same case in a
    version 3 file is imported and exported back with its answers."""
    from tests.test_cli import run

    db = str(tmp_path / "clinic.sqlite3")
    case = v3_case(outcomes=[{"timepoint": "36m", "date": "2024-03-15", "nrs_back": 2, "pgic": 1}])
    source = tmp_path / "old.json"
    source.write_text(json.dumps(v3_file(case, version=2)), encoding="utf-8")
    refused = run("import", str(source), db=db)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "cases[0].outcomes[0].timepoint: '36m' needs format version 3 (this file says version 2)" in refused.stderr
    assert "cases[0].follow_up_attempts: needs format version 3" in refused.stderr
    assert json.loads(run("export", db=db).stdout)["cases"] == []
    source.write_text(json.dumps(v3_file(case)), encoding="utf-8")
    assert run("import", str(source), db=db).returncode == 0
    exported = json.loads(run("export", db=db).stdout)
    assert exported["version"] == FORMAT_VERSION and exported["cases"][0]["outcomes"][0]["pgic"] == 1


def test_check_names_attempts_left_without_their_case(service: CaseService, db: Database) -> None:
    """`caselog check` finds attempts whose case is gone (a file edited without its foreign keys)."""
    service.import_cases(v3_file(v3_case()))
    assert check_database(db).ok
    if db.is_sqlite:
        assert db.sqlite_path is not None
        db.engine.dispose()
        with raw_connect(db.sqlite_path) as conn:  # foreign keys are off in a plain connection
            conn.execute("DELETE FROM cases")
        expected = "row 1 of follow_up_attempts points to a missing cases row"
    else:
        with db.engine.execution_options(caselog_write=True).begin() as conn:  # the owner drops the key
            conn.execute(text("ALTER TABLE follow_up_attempts DROP CONSTRAINT fk_follow_up_attempts_case_id_cases"))
            conn.execute(text("DELETE FROM cases"))
        expected = "2 follow-up attempts"
    assert expected in check_database(db).problems


def test_moving_to_the_clinic_database_carries_the_answers_and_attempts(tmp_path: Path, db: Database) -> None:
    """`caselog transfer` copies every table, the new one included (SQLite file into SQLite or PostgreSQL)."""
    source = open_database(tmp_path / "workstation.sqlite3")
    try:
        CaseService(source, today=lambda: TODAY).import_cases(v3_file(v3_case()))
        copied = copy_database(source, db)
        assert copied["follow_up_attempts"] == 2
        assert _export_json(CaseService(db, today=lambda: TODAY)) == _export_json(CaseService(source))
    finally:
        source.close()
