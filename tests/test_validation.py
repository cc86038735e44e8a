"""One test per validation rule of the contract, each with the message a user reads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from caselog.validation import validate_case, validate_file
from tests.factories import TODAY, case_file, make_case

Case = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Case], None]:
    """A change at a dotted path (`patient.mrn`, `levels.0.side`); value DELETE removes the key."""

    def apply(case: Case) -> None:
        *parents, last = path.split(".")
        target: Any = case
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        if value is DELETE:
            del target[int(last) if last.isdigit() else last]
        elif last.isdigit():
            target[int(last)] = value
        else:
            target[last] = value

    return apply


DELETE = object()


def _several(*changes: Callable[[Case], None]) -> Callable[[Case], None]:
    def apply(case: Case) -> None:
        for change in changes:
            change(case)

    return apply


RULES: list[tuple[str, Callable[[Case], None], str]] = [
    ("unknown top-level key", _set("surgeon_name", "x"), "surgeon_name: unknown field"),
    ("unknown patient key", _set("patient.ssn", "1"), "patient.ssn: unknown field"),
    ("case number format", _set("case_number", "25-1"), "case_number: must look like YYYY-NNNNN"),
    ("case number year", _set("case_number", "2024-00001"), "case_number: year 2024 does not match"),
    ("case number zero", _set("case_number", "2025-00000"), "case_number: running number 00000"),
    ("status amended not importable", _set("status", "amended"), "status: unknown status 'amended'"),
    ("mrn required", _set("patient.mrn", DELETE), "patient.mrn: is required"),
    ("mrn characters", _set("patient.mrn", "12 34"), "patient.mrn: '12 34' is not a valid MRN"),
    ("mrn length", _set("patient.mrn", "A" * 21), "patient.mrn: 'AAAAAAAAAAAAAAAAAAAAA' is not a valid MRN"),
    ("mrn type", _set("patient.mrn", 1234), "patient.mrn: must be text, not a number"),
    ("family name required", _set("patient.family_name", "   "), "patient.family_name: is required"),
    ("family name length", _set("patient.family_name", "x" * 101), "patient.family_name: is 101 characters long"),
    ("given name length", _set("patient.given_name", "x" * 101), "patient.given_name: is 101 characters long"),
    ("birth date required", _set("patient.birth_date", DELETE), "patient.birth_date: is required"),
    ("birth date format", _set("patient.birth_date", "12/04/1961"), "patient.birth_date: must be a date as YYYY-MM-DD"),
    ("birth date real", _set("patient.birth_date", "1961-02-30"),
     "patient.birth_date: '1961-02-30' is not a real date"),
    ("birth after procedure", _set("patient.birth_date", "2025-03-15"), "patient.birth_date: 2025-03-15 is after"),
    ("age over 120", _set("patient.birth_date", "1904-03-13"), "patient.birth_date: gives an age of 121"),
    ("sex vocabulary", _set("patient.sex", "f"), "patient.sex: unknown sex 'f'"),
    ("patient required", _set("patient", DELETE), "patient: is required"),
    ("procedure date required", _set("procedure_date", DELETE), "procedure_date: is required"),
    ("procedure date future", _set("procedure_date", "2025-07-01"), "procedure_date: 2025-07-01 is in the future"),
    ("facility length", _set("facility", "f" * 101), "facility: is 101 characters long"),
    ("surgeon required", _set("surgeon", ""), "surgeon: is required"),
    ("surgeon length", _set("surgeon", "s" * 101), "surgeon: is 101 characters long"),
    ("assistants type", _set("assistants", "Sam"), "assistants: must be a list, not text"),
    ("assistant item type", _set("assistants", [3]), "assistants[0]: must be text, not a number"),
    ("procedure vocabulary", _set("procedure", "fusion"), "procedure: unknown procedure 'fusion'"),
    ("procedure required", _set("procedure", DELETE), "procedure: is required"),
    ("other needs detail", _set("procedure", "other"), "procedure_detail: is required"),
    ("detail length", _set("procedure_detail", "d" * 201), "procedure_detail: is 201 characters long"),
    ("cpt format", _set("cpt_codes", ["6463"]), "cpt_codes[0]: '6463' is not a valid code"),
    ("cpt lowercase letter", _set("cpt_codes", ["0275t"]), "cpt_codes[0]: '0275t' is not a valid code"),
    ("cpt repeat", _set("cpt_codes", ["64635", "64635"]), "cpt_codes[1]: '64635' is listed twice"),
    ("icd format", _set("diagnosis_codes", ["M47816"]), "diagnosis_codes[0]: 'M47816' is not a valid code"),
    ("icd repeat", _set("diagnosis_codes", ["M47.816", "M47.816"]), "diagnosis_codes[1]: 'M47.816' is listed twice"),
    ("indication length", _set("indication", "i" * 2001), "indication: is 2001 characters long"),
    ("injury boolean", _set("injury_related", "yes"), "injury_related: must be true or false, not text"),
    ("prior relief range", _set("prior_block_relief_percent", 101), "prior_block_relief_percent: 101 is out of range"),
    ("prior relief integer", _set("prior_block_relief_percent", 50.5), "prior_block_relief_percent: must be a whole"),
    ("levels required", _set("levels", []), "levels: at least one level is required"),
    ("levels missing", _set("levels", DELETE), "levels: at least one level is required"),
    ("level vocabulary", _set("levels.0.level", "L6-L7"), "levels[0].level: unknown level 'L6-L7'"),
    ("side vocabulary", _set("levels.0.side", "both"), "levels[0].side: unknown side 'both'"),
    ("level once", _set("levels.1.level", "L4-L5"), "levels[1].level: L4-L5 is already listed at levels[0]"),
    ("no facet nerve at C1-C2", _set("levels.0.level", "C1-C2"), "levels[0].level: C1-C2 is not a facet-nerve target"),
    ("level unknown key", _set("levels.0.note", "x"), "levels[0].note: unknown field"),
    ("times both or neither", _set("end_time", DELETE), "end_time: start and end time go together"),
    ("start on procedure date", _several(_set("start_time", "2025-03-13T23:00"), _set("duration_minutes", DELETE)),
     "start_time: 2025-03-13T23:00 is not on the procedure date"),
    ("end after start", _set("end_time", "2025-03-14T08:00"), "end_time: must be after the start time"),
    ("time format", _set("start_time", "2025-03-14 08:30"), "start_time: must be a local time as YYYY-MM-DDTHH:MM"),
    ("duration matches times", _set("duration_minutes", 70), "duration_minutes: is 70 but start to end is 75"),
    ("duration required without times",
     _several(_set("start_time", DELETE), _set("end_time", DELETE), _set("duration_minutes", DELETE)),
     "duration_minutes: is required when start and end time are not given"),
    ("duration range", _several(_set("start_time", DELETE), _set("end_time", DELETE), _set("duration_minutes", 0)),
     "duration_minutes: 0 is out of range (1 to 1440)"),
    ("duration boolean", _set("duration_minutes", True), "duration_minutes: must be a whole number, not a boolean"),
    ("anesthesia required", _set("anesthesia", DELETE), "anesthesia: is required"),
    ("anesthesia type", _set("anesthesia.type", "ether"), "anesthesia.type: unknown anesthesia type 'ether'"),
    ("sedation only with local_sedation", _set("anesthesia.type", "general"),
     "anesthesia.sedation: applies only to 'local_sedation'"),
    ("sedation vocabulary", _set("anesthesia.sedation", "heavy"), "anesthesia.sedation: unknown sedation 'heavy'"),
    ("asa vocabulary", _set("anesthesia.asa_class", "VII"), "anesthesia.asa_class: unknown ASA class 'VII'"),
    ("emergency boolean", _set("anesthesia.emergency", 1), "anesthesia.emergency: must be true or false"),
    ("provider length", _set("anesthesia.provider", "p" * 101), "anesthesia.provider: is 101 characters long"),
    ("blood loss range", _set("estimated_blood_loss_ml", 10001), "estimated_blood_loss_ml: 10001 is out of range"),
    ("blood loss negative", _set("estimated_blood_loss_ml", -1), "estimated_blood_loss_ml: -1 is out of range"),
    ("disposition required", _set("disposition", DELETE), "disposition: is required"),
    ("disposition vocabulary", _set("disposition", "home"), "disposition: unknown disposition 'home'"),
    ("complication category", _set("complications.0.category", "pain"), "complications[0].category: unknown category"),
    ("other complication needs description", _set("complications.0.category", "other"),
     "complications[0].description: is required"),
    ("complication timing", _set("complications.0.timing", "early"), "complications[0].timing: unknown timing"),
    ("onset required", _set("complications.0.onset_date", DELETE), "complications[0].onset_date: is required"),
    ("onset before procedure", _set("complications.0.onset_date", "2025-03-13"),
     "complications[0].onset_date: 2025-03-13 is before the procedure date"),
    ("onset in future", _set("complications.0.onset_date", "2025-07-02"),
     "complications[0].onset_date: 2025-07-02 is in the future"),
    ("intraoperative on procedure date", _set("complications.0.timing", "intraoperative"),
     "complications[0].onset_date: an intraoperative complication starts on the procedure date"),
    ("postoperative within 30 days", _set("complications.0.onset_date", "2025-04-14"),
     "complications[0].onset_date: is 31 days after the procedure; postoperative means within 30 days"),
    ("late after 30 days", _set("complications.0.timing", "late"),
     "complications[0].onset_date: is 2 days after the procedure; late means more than 30 days"),
    ("grade vocabulary", _set("complications.0.clavien_dindo", "3a"),
     "complications[0].clavien_dindo: unknown Clavien-Dindo grade '3a'"),
    ("grade required", _set("complications.0.clavien_dindo", DELETE), "complications[0].clavien_dindo: is required"),
    ("resolved before onset", _set("complications.0.resolved_date", "2025-03-15"),
     "complications[0].resolved_date: 2025-03-15 is before the onset date"),
    ("review status vocabulary", _set("complications.0.review_status", "done"),
     "complications[0].review_status: unknown review status 'done'"),
    ("treatment length", _set("complications.0.treatment", "t" * 2001), "complications[0].treatment: is 2001"),
    ("timepoint vocabulary", _set("outcomes.1.timepoint", "1y"), "outcomes[1].timepoint: unknown timepoint '1y'"),
    ("timepoint once", _set("outcomes.1.timepoint", "baseline"), "outcomes[1].timepoint: 'baseline' is already"),
    ("baseline not after procedure", _set("outcomes.0.date", "2025-03-15"),
     "outcomes[0].date: a baseline is taken on or before the procedure date"),
    ("follow-up after procedure", _set("outcomes.1.date", "2025-03-14"),
     "outcomes[1].date: a follow-up is after the procedure date"),
    ("outcome needs a measure", _set("outcomes.1", {"timepoint": "6w", "date": "2025-04-25"}),
     "outcomes[1]: needs at least one of nrs_back, nrs_leg, odi, relief_percent"),
    ("nrs range", _set("outcomes.0.nrs_back", 11), "outcomes[0].nrs_back: 11 is out of range (0 to 10)"),
    ("odi range", _set("outcomes.0.odi", 101), "outcomes[0].odi: 101 is out of range (0 to 100)"),
    ("relief range", _set("outcomes.1.relief_percent", -5), "outcomes[1].relief_percent: -5 is out of range"),
    ("outcome unknown key", _set("outcomes.0.vas", 3), "outcomes[0].vas: unknown field"),
    ("notes length", _set("notes", "n" * 10001), "notes: is 10001 characters long"),
    ("control characters", _set("notes", "bad\x07bell"), "notes: contains a control character"),
    ("carriage return is a control character", _set("indication", "a\rb"), "indication: contains a control"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in RULES], ids=[name for name, _, _ in RULES])
def test_rule_refuses_with_message(change: Callable[[Case], None], expected: str) -> None:
    case = make_case()
    change(case)
    record, problems = validate_case(case, today=TODAY)
    assert record is None
    messages = [str(p) for p in problems]
    assert any(m.startswith(expected) or expected in m for m in messages), messages


def test_valid_case_passes_and_fills_defaults() -> None:
    record, problems = validate_case(make_case(), today=TODAY)
    assert problems == []
    assert record is not None
    assert record.status == "draft"
    assert record.complications[0].review_status == "open"
    assert record.anesthesia.emergency is False
    assert record.injury_related is False


def test_every_problem_is_reported_at_once_with_its_path() -> None:
    case = make_case()
    case["levels"][0]["level"] = "L6-L7"
    case["patient"]["sex"] = "x"
    case["disposition"] = "home"
    _, problems = validate_case(case, path="cases[3]", today=TODAY)
    assert [str(p) for p in problems] == [
        "cases[3].patient.sex: unknown sex 'x'",
        "cases[3].levels[0].level: unknown level 'L6-L7'",
        "cases[3].disposition: unknown disposition 'home'",
    ]


def test_text_is_trimmed_and_unicode_kept() -> None:
    case = make_case()
    case["patient"]["family_name"] = "  Łukasik-O'Brien \t"
    case["notes"] = "line one\n\tline two  "
    record, problems = validate_case(case, today=TODAY)
    assert problems == [] and record is not None
    assert record.patient.family_name == "Łukasik-O'Brien"
    assert record.notes == "line one\n\tline two"


def test_mononym_and_blank_optional_fields() -> None:
    case = make_case(facility="   ", indication=None)
    case["patient"]["given_name"] = ""
    record, problems = validate_case(case, today=TODAY)
    assert problems == [] and record is not None
    assert record.patient.given_name == "" and record.patient.display_name == "Nguyễn"
    assert record.facility is None


def test_duration_alone_is_enough_and_times_fill_duration() -> None:
    case = make_case()
    del case["start_time"], case["end_time"]
    record, problems = validate_case(case, today=TODAY)
    assert problems == [] and record is not None and record.duration_minutes == 75
    case = make_case()
    del case["duration_minutes"]
    record, problems = validate_case(case, today=TODAY)
    assert problems == [] and record is not None and record.duration_minutes == 75


def test_laminectomy_may_be_at_c1_c2_and_other_needs_detail_only() -> None:
    c1_c2 = make_case(procedure="laminectomy", levels=[{"level": "C1-C2", "side": "bilateral"}])
    record, problems = validate_case(c1_c2, today=TODAY)
    assert problems == [] and record is not None
    record, problems = validate_case(make_case(procedure="other", procedure_detail="SI joint fusion"), today=TODAY)
    assert problems == []


def test_postoperative_on_day_30_and_late_on_day_31_are_valid() -> None:
    case = make_case()
    case["complications"][0]["onset_date"] = "2025-04-13"
    assert validate_case(case, today=TODAY)[1] == []
    case["complications"][0].update(timing="late", onset_date="2025-04-14")
    assert validate_case(case, today=TODAY)[1] == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ([], ": must be an object, not a list"),
        ({"format": "other", "version": 1, "cases": []}, "format: must be 'caselog-cases', not 'other'"),
        ({"format": "caselog-cases", "version": 5, "cases": []}, "version: must be 1, 2, 3 or 4, not 5"),
        ({"format": "caselog-cases", "version": True, "cases": []}, "version: must be 1, 2, 3 or 4, not True"),
        ({"format": "caselog-cases", "version": 1, "cases": {}}, "cases: must be a list, not an object"),
        ({"format": "caselog-cases", "version": 1, "cases": [], "extra": 1}, "extra: unknown field"),
        ({"format": "caselog-cases", "version": 1, "cases": [3]}, "cases[0]: must be an object, not a number"),
    ],
)
def test_file_level_problems(data: object, expected: str) -> None:
    _, problems = validate_file(data, today=TODAY)
    assert any(expected.lstrip(": ") in str(p) for p in problems), [str(p) for p in problems]


def test_case_number_repeated_within_a_file() -> None:
    a = make_case(case_number="2025-00007")
    b = make_case(case_number="2025-00007")
    _, problems = validate_file(case_file(a, b), today=TODAY)
    assert [str(p) for p in problems] == ["cases[1].case_number: 2025-00007 is also used by cases[0]"]


TEXT_RULES = [
    ("override in a family name", "patient.family_name", "Smith\u202eenaJ", "a text-direction control (U+202E)"),
    ("isolate in a surgeon", "surgeon", "Dr.\u2066 Okafor", "contains a text-direction control (U+2066)"),
    ("override in notes", "notes", "dose 5\u202e0 mg", "contains a text-direction control (U+202E)"),
    ("override in a complication", "complications.0.treatment", "\u202dice", "contains a text-direction control"),
    ("lone surrogate in a given name", "patient.given_name", "Zo\ud800", "contains a broken character (lone"),
    ("lone surrogate in notes", "notes", "\udc80", "contains a broken character"),
    ("zero-width space in a family name", "patient.family_name", "Ngu\u200byen", "invisible character (U+200B)"),
    ("word joiner in a facility", "facility", "River\u2060side", "invisible character (U+2060)"),
    ("byte-order mark in an assistant", "assistants.0", "\ufeffSam", "invisible character (U+FEFF)"),
    ("zero-width joiner in a provider", "anesthesia.provider", "Dr.\u200dLee", "invisible character (U+200D)"),
    ("zero-width non-joiner in a surgeon", "surgeon", "Okafor\u200c", "invisible character (U+200C)"),
]  # fmt: skip


@pytest.mark.parametrize(("field", "text", "expected"), [r[1:] for r in TEXT_RULES], ids=[r[0] for r in TEXT_RULES])
def test_text_that_shows_other_than_it_is_stored_is_refused(field: str, text: str, expected: str) -> None:
    case = make_case()
    _set(field, text)(case)
    record, problems = validate_case(case, today=TODAY)
    where = field.replace(".0.", "[0].").replace(".0", "[0]")
    assert record is None and [str(p) for p in problems] == [f"{where}: {problems[0].message}"]
    assert expected in problems[0].message


def test_joiners_that_scripts_need_are_kept_in_names_and_invisibles_in_free_text() -> None:
    case = make_case()
    case["patient"]["family_name"] = "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647"  # Persian: ZWNJ between letters
    case["patient"]["given_name"] = "\u0915\u094d\u200d\u0937"  # Devanagari: ZWJ after a virama
    case["notes"] = "pasted\u200b from the referral letter"
    record, problems = validate_case(case, today=TODAY)
    assert problems == [] and record is not None
    assert "\u200c" in record.patient.family_name and "\u200b" in (record.notes or "")


def test_an_emoji_sequence_stored_by_an_earlier_release_is_still_a_valid_name() -> None:
    """A joiner between two pictographs draws one visible emoji; alone or between letters it stays refused."""
    case = make_case(facility="Family \U0001f469\u200d\U0001f469\u200d\U0001f467 Klinik")
    case["patient"]["family_name"] = "Family \U0001f44b\U0001f3fd\u200d\U0001f468"  # after a skin tone too
    record, problems = validate_case(case, today=TODAY)
    assert problems == [] and record is not None
    for name in ("Lee\u200d\U0001f469", "\U0001f469\u200dLee", "\U0001f469\u200d"):
        case["patient"]["family_name"] = name
        assert validate_case(case, today=TODAY)[0] is None, repr(name)


def test_an_unknown_key_with_a_lone_surrogate_is_named_printably() -> None:
    case = make_case()
    case["\ud800x"] = 1
    _, problems = validate_case(case, today=TODAY)
    assert [str(p) for p in problems] == ["'\\ud800x': unknown field"]
    str(problems[0]).encode("utf-8")  # prints on any terminal


@pytest.mark.parametrize(
    ("field", "value"),
    [("procedure_date", "1899-12-31"), ("patient.birth_date", "1899-06-01"),
     ("complications.0.onset_date", "1850-01-01"), ("outcomes.0.date", "0001-01-01")],
)  # fmt: skip
def test_dates_before_1900_are_refused(field: str, value: str) -> None:
    case = make_case()
    _set(field, value)(case)
    _, problems = validate_case(case, today=TODAY)
    where = field.replace(".0.", "[0].")
    assert f"{where}: {value} is before 1900" in [str(p) for p in problems]


def test_a_procedure_in_1900_is_accepted() -> None:
    patient = {**make_case()["patient"], "birth_date": "1900-01-01"}
    case = make_case(procedure_date="1900-01-02", start_time=None, end_time=None, duration_minutes=30,
                     complications=[], outcomes=[], patient=patient)  # fmt: skip
    record, problems = validate_case(case, today=TODAY)
    assert problems == [] and record is not None
