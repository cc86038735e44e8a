"""Property tests: every valid case round-trips exactly; every broken one is refused and nothing is written."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caselog import vocab
from caselog.errors import InvalidInput
from caselog.records import case_to_contract
from caselog.service import CaseService
from caselog.validation import INVISIBLE_RE, validate_case
from tests.factories import TODAY, case_file

#: Format version 1's outcome measures: always in an outcome (version 3's answers only when recorded).
_V1_MEASURES = ("nrs_back", "nrs_leg", "odi", "relief_percent")
#: Attempts without a death: the rules around one are worked by hand in tests/test_format_v3.py.
_LIVING_RESULTS = [r for r in vocab.FOLLOW_UP_RESULTS if r != "died"]

# Printable text in any script, already trimmed (stored text is trimmed, so only trimmed text round-trips).
# No text may hold bidi overrides or isolates; names may not hold invisible characters (docs/format.md).
_BIDI = "".join(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_chars = st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x85" + _BIDI + _INVISIBLE).filter(
    lambda char: not INVISIBLE_RE.fullmatch(char)
)
_multiline = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x85\r" + _BIDI + "".join(
    chr(c) for c in [*range(0, 9), *range(11, 32), *range(127, 160)]))  # fmt: skip


def _text(max_size: int, chars: st.SearchStrategy[str] = _chars) -> st.SearchStrategy[str]:
    return st.text(chars, min_size=1, max_size=max_size).map(str.strip).filter(bool)


def _optional(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def valid_cases(draw: st.DrawFn) -> dict[str, Any]:
    """A complete CASE object as export writes it: every field present, defaults filled in."""
    day = draw(st.dates(dt.date(2000, 1, 1), TODAY))
    age_days = draw(st.integers(0, 119 * 365))
    born = max(day - dt.timedelta(days=age_days), dt.date(1900, 1, 1))  # no date before 1900
    procedure = draw(st.sampled_from(list(vocab.PROCEDURES)))
    allowed = [lv for lv in vocab.LEVELS if not (lv == "C1-C2" and procedure in vocab.FACET_NERVE_PROCEDURES)]
    levels = draw(st.lists(st.sampled_from(allowed), min_size=1, max_size=6, unique=True))
    timed = draw(st.booleans())
    duration = draw(st.integers(1, 1440 if not timed else 600))
    start = end = None
    if timed:
        start_dt = dt.datetime.combine(day, dt.time(draw(st.integers(0, 23)), draw(st.integers(0, 59))))
        start = start_dt.strftime("%Y-%m-%dT%H:%M")
        end = (start_dt + dt.timedelta(minutes=duration)).strftime("%Y-%m-%dT%H:%M")
    kind = draw(st.sampled_from(list(vocab.ANESTHESIA_TYPES)))
    days_left = (TODAY - day).days
    complications = []
    for _ in range(draw(st.integers(0, 3))):
        timing = draw(st.sampled_from(["intraoperative", "postoperative", "late"] if days_left > 30
                                      else ["intraoperative", "postoperative"]))  # fmt: skip
        offset = {"intraoperative": 0, "postoperative": draw(st.integers(0, min(30, days_left))),
                  "late": draw(st.integers(31, max(31, days_left)))}[timing]  # fmt: skip
        onset = day + dt.timedelta(days=offset)
        resolved = draw(_optional(st.integers(0, (TODAY - onset).days)))
        category = draw(st.sampled_from(list(vocab.COMPLICATION_CATEGORIES)))
        complications.append({
            "category": category,
            "description": draw(_text(2000, _multiline)) if category == "other" else draw(_optional(_text(200))),
            "timing": timing,
            "onset_date": onset.isoformat(),
            "clavien_dindo": draw(st.sampled_from(list(vocab.CLAVIEN_DINDO_GRADES))),
            "treatment": draw(_optional(_text(100))),
            "resolved_date": None if resolved is None else (onset + dt.timedelta(days=resolved)).isoformat(),
            "review_status": draw(st.sampled_from(list(vocab.REVIEW_STATUSES))),
        })  # fmt: skip
    outcomes = []
    timepoints = draw(st.lists(st.sampled_from(list(vocab.TIMEPOINTS)), unique=True, max_size=4))
    for timepoint in timepoints:
        if timepoint == "baseline":
            when = day - dt.timedelta(days=draw(st.integers(0, 60)))
        elif days_left >= 1:
            when = day + dt.timedelta(days=draw(st.integers(1, days_left)))
        else:
            continue
        scores = {m: draw(_optional(st.integers(*vocab.OUTCOME_MEASURES[m]))) for m in _V1_MEASURES}
        if all(v is None for v in scores.values()):
            scores["odi"] = draw(st.integers(0, 100))
        outcomes.append({"timepoint": timepoint, "date": when.isoformat(), **scores,
                         **_v3_answers(draw, timepoint, day, when)})  # fmt: skip
    attempts = [
        {"timepoint": draw(st.sampled_from([t for t in vocab.TIMEPOINTS if t != "baseline"])),
         "date": (day + dt.timedelta(days=draw(st.integers(1, days_left)))).isoformat(),
         "result": draw(st.sampled_from(_LIVING_RESULTS)), "note": draw(_optional(_text(500, _multiline)))}
        for _ in range(draw(st.integers(0, 3)) if days_left >= 1 else 0)
    ]  # fmt: skip
    return {
        "case_number": None,
        "status": draw(st.sampled_from(["draft", "final"])),
        "patient": {
            "mrn": draw(st.from_regex(r"[A-Za-z0-9-]{1,20}", fullmatch=True)),
            "family_name": draw(_text(100)),
            "given_name": draw(st.one_of(st.just(""), _text(100))),
            "birth_date": born.isoformat(),
            "sex": draw(st.sampled_from(list(vocab.SEXES))),
        },
        "procedure_date": day.isoformat(),
        "facility": draw(_optional(_text(100))),
        "surgeon": draw(_text(100)),
        "assistants": draw(st.lists(_text(40), max_size=3)),
        "procedure": procedure,
        "procedure_detail": draw(_text(200)) if procedure == "other" else draw(_optional(_text(200))),
        "cpt_codes": draw(st.lists(st.from_regex(r"\d{4}[0-9A-Z]", fullmatch=True), unique=True, max_size=4)),
        "diagnosis_codes": draw(
            st.lists(st.from_regex(r"[A-Z]\d[0-9A-Z](\.[0-9A-Z]{1,4})?", fullmatch=True), unique=True, max_size=3)
        ),
        "indication": draw(_optional(_text(2000, _multiline))),
        "injury_related": draw(st.booleans()),
        "prior_block_relief_percent": draw(_optional(st.integers(0, 100))),
        "levels": [{"level": lv, "side": draw(st.sampled_from(list(vocab.SIDES)))} for lv in levels],
        "start_time": start,
        "end_time": end,
        "duration_minutes": duration,
        "anesthesia": {
            "type": kind,
            "sedation": draw(_optional(st.sampled_from(list(vocab.SEDATION_LEVELS))))
            if kind == "local_sedation"
            else None,
            "asa_class": draw(_optional(st.sampled_from(list(vocab.ASA_CLASSES)))),
            "emergency": draw(st.booleans()),
            "provider": draw(_optional(_text(100))),
        },
        "estimated_blood_loss_ml": draw(_optional(st.integers(0, 10000))),
        "disposition": draw(st.sampled_from(list(vocab.DISPOSITIONS))),
        "complications": complications,
        "outcomes": outcomes,
        "notes": draw(_optional(_text(10000, _multiline))),
        **({"follow_up_attempts": attempts} if attempts else {}),
    }


def _v3_answers(draw: st.DrawFn, timepoint: str, day: dt.date, when: dt.date) -> dict[str, Any]:
    """Format version 3's answers on an outcome, each present only when recorded (as export writes them)."""
    after = timepoint != "baseline"
    drawn: dict[str, Any] = {
        "nrs_neck": draw(_optional(st.integers(0, 10))),
        "nrs_arm": draw(_optional(st.integers(0, 10))),
        "ndi": draw(_optional(st.integers(0, 100))),
        "pgic": draw(_optional(st.integers(1, 7))) if after else None,
        "work_status": draw(_optional(st.sampled_from(list(vocab.WORK_STATUSES)))),
        "analgesics": draw(_optional(st.sampled_from(list(vocab.ANALGESIC_USE)))),
        "returned_to_activities": draw(_optional(st.dates(day, when).map(dt.date.isoformat))) if after else None,
        "physical_therapy": draw(_optional(st.booleans())),
    }
    return {key: value for key, value in drawn.items() if value is not None}


def _sparse(case: dict[str, Any], drop: list[bool]) -> dict[str, Any]:
    """The same case as a person might write it: optional fields left out instead of null or empty."""
    optional_top = ["case_number", "status", "facility", "assistants", "procedure_detail", "cpt_codes",
                    "diagnosis_codes", "indication", "injury_related", "prior_block_relief_percent",
                    "estimated_blood_loss_ml", "complications", "outcomes", "notes"]  # fmt: skip
    defaults = {"status": "draft", "injury_related": False}
    sparse = dict(case)
    for key, flag in zip(optional_top, itertools.cycle(drop or [False]), strict=False):
        value = sparse[key]
        if flag and (value is None or value == [] or value is False or defaults.get(key) == value):
            del sparse[key]
    return sparse


@settings(max_examples=200, deadline=None)
@given(valid_cases(), st.lists(st.booleans(), min_size=1, max_size=14))
def test_every_valid_case_round_trips_exactly(case: dict[str, Any], drop: list[bool]) -> None:
    record, problems = validate_case(_sparse(case, drop), today=TODAY)
    assert problems == []
    assert record is not None
    assert case_to_contract(record) == case


_counter = itertools.count()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(valid_cases())
def test_valid_cases_round_trip_through_the_database(service: CaseService, case: dict[str, Any]) -> None:
    case["patient"]["mrn"] = f"H-{next(_counter)}"  # one MRN per example: no clash with earlier patients
    [number] = service.import_cases(case_file(case))
    stored = case_to_contract(service.get_case(number).record)
    assert stored == {**case, "case_number": number}


BREAKERS: list[Callable[[dict[str, Any]], None]] = [
    lambda c: c.update(procedure="fusion"),
    lambda c: c["levels"].append(dict(c["levels"][0])),
    lambda c: c.update(levels=[]),
    lambda c: c["patient"].update(sex="F"),
    lambda c: c["patient"].update(birth_date=f"{int(c['procedure_date'][:4]) - 122}-01-01"),
    lambda c: c.update(procedure_date=(TODAY + dt.timedelta(days=1)).isoformat()),
    lambda c: c.update(duration_minutes=0, start_time=None, end_time=None),
    lambda c: c["anesthesia"].update(type="hypnosis"),
    lambda c: c.update(disposition=None),
    lambda c: c.update(notes="bell\x07"),
    lambda c: c.update(cpt_codes=["ABCDE"]),
    lambda c: c.update(extra_field=1),
    lambda c: c.update(estimated_blood_loss_ml=-1),
    lambda c: c["patient"].update(mrn="has space"),
    lambda c: c.update(outcomes=[{"timepoint": "6w", "date": c["procedure_date"], "odi": 5}]),
    lambda c: c.update(
        complications=[
            {"category": "hematoma", "timing": "late", "onset_date": c["procedure_date"], "clavien_dindo": "I"}
        ]
    ),
]


@settings(max_examples=150, deadline=None)
@given(valid_cases(), st.sampled_from(range(len(BREAKERS))))
def test_broken_cases_are_refused(case: dict[str, Any], which: int) -> None:
    BREAKERS[which](case)
    record, problems = validate_case(case, today=TODAY)
    assert record is None and problems


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(valid_cases(), min_size=1, max_size=4), st.sampled_from(range(len(BREAKERS))))
def test_a_broken_case_in_a_file_writes_nothing(service: CaseService, cases: list[dict[str, Any]], which: int) -> None:
    for case in cases:
        case["patient"]["mrn"] = f"B-{next(_counter)}"
    BREAKERS[which](cases[-1])
    try:
        service.import_cases(case_file(*cases))
        raise AssertionError("an invalid file was imported")
    except InvalidInput:
        pass
    assert service.count() == 0
