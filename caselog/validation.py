"""Every rule of the contract in one place: turns a CASE object into a CaseRecord or a list of problems.

The importer, the service layer, the command line and the case form all call `validate_case`, so a rule
is written once and every door into the database applies it the same way.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from caselog import fields, vocab
from caselog.fields import DURATION_MINUTES_MAX, Field
from caselog.records import (
    Anesthesia,
    BlockDetails,
    CaseRecord,
    Complication,
    DiaryEntry,
    FollowUpAttempt,
    OutcomeScore,
    Patient,
    TreatedLevel,
)

FORMAT_NAME = "caselog-cases"
#: The version an export writes; import reads every version listed in READABLE_VERSIONS.
FORMAT_VERSION = 4
READABLE_VERSIONS = (1, 2, 3, 4)
#: What version 2 added (docs/format.md): a version 1 file holding one of these is refused, not guessed at.
V2_CASE_KEYS = frozenset({"block", "outside_policy_reason"})
V2_LEVEL_KEYS = frozenset({"volume_ml"})
#: What version 3 added: the follow-up's answers, the 36 and 48 month timepoints (vocab.V3_TIMEPOINTS) and the
#: attempts to reach a patient. A version 1 or 2 file holding one is refused the same way.
V3_CASE_KEYS = frozenset({"follow_up_attempts"})
V3_OUTCOME_KEYS = frozenset(
    {"nrs_neck", "nrs_arm", "ndi", "pgic", "work_status", "analgesics", "returned_to_activities", "physical_therapy"}
)
#: The longest note on a follow-up attempt: a line or two for the next caller ("number disconnected").
ATTEMPT_NOTE_MAX = 500
MAX_AGE_YEARS = 120
POSTOPERATIVE_DAYS = 30

MRN_RE = re.compile(r"[A-Za-z0-9-]{1,20}")
#: YYYY-NNNNN, and from 100,000 on YYYY-NNNNNN (never a leading zero in six digits): format version 4.
CASE_NUMBER_RE = re.compile(r"(\d{4})-(\d{5}|[1-9]\d{5})")
#: The highest running number of a year with five digits; above it a number has six (format version 4).
FIVE_DIGIT_LAST = 99_999


def case_number_key(case_number: str) -> tuple[int, int, str]:
    """What sorts case numbers as numbers within their year: 2026-99999 before 2026-100000 (their text does
    not). Anything else (a placeholder of a case not saved yet) sorts after every number, by its text."""
    found = CASE_NUMBER_RE.fullmatch(case_number)
    return (int(found[1]), int(found[2]), "") if found else (10_000, 0, case_number)


DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
DATETIME_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
# Refused in every text: control characters other than newline and tab (DEL and C1 included), lone surrogates
# (not characters at all), and the bidirectional overrides and isolates, which make text display in another
# order than it is stored ("Trojan Source").
UNSAFE_TEXT_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
# Also refused in names and identifiers: invisible characters that make two equal-looking names differ. These
# are Unicode's format characters (category Cf: zero-width spaces and joiners, the direction marks LRM, RLM and
# ALM, the soft hyphen, invisible operators, tags), the line and paragraph separators, the Hangul fillers, the
# combining grapheme joiner and the noncharacters. (Variation selectors stay: Japanese names choose a glyph with
# them.)
INVISIBLE_RE = re.compile(
    "[\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u180e\u200b-\u200f"
    "\u2028\u2029\u2060-\u2064\u206a-\u206f\u3164\ufdd0-\ufdef\ufeff\uffa0\ufff9-\ufffb\ufffe\uffff"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001"
    "\U000e0020-\U000e007f]"
)
ZWNJ, ZWJ = "\u200c", "\u200d"
#: What may follow a pictograph inside an emoji sequence: the emoji presentation selector and skin tones.
EMOJI_MODIFIERS = "\ufe0f\U0001f3fb\U0001f3fc\U0001f3fd\U0001f3fe\U0001f3ff"
VIRAMA = 9  # unicodedata.combining() of a virama: scripts of India use joiners after it
#: The earliest date accepted anywhere in a case (procedure, birth, complication, outcome).
MIN_DATE = dt.date(1900, 1, 1)

CASE_KEYS = fields.CASE_KEYS
PATIENT_KEYS = frozenset({"mrn", "family_name", "given_name", "birth_date", "sex"})
LEVEL_KEYS = frozenset({"level", "side", *V2_LEVEL_KEYS})
BLOCK_KEYS = frozenset({"anesthetic", "anesthetic_detail", "pain_before", "diary", "activities_possible"})
DIARY_KEYS = frozenset({"time", "pain"})
ANESTHESIA_KEYS = frozenset({"type", "sedation", "asa_class", "emergency", "provider"})
COMPLICATION_KEYS = frozenset(
    {"category", "description", "timing", "onset_date", "clavien_dindo", "treatment", "resolved_date", "review_status"}
)
#: An outcome's scores and answers, in the OUTCOME object's order: one of them at least is required.
OUTCOME_ANSWERS = (*vocab.OUTCOME_MEASURES, "work_status", "analgesics", "returned_to_activities", "physical_therapy")
OUTCOME_KEYS = frozenset({"timepoint", "date", *OUTCOME_ANSWERS})
ATTEMPT_KEYS = frozenset({"timepoint", "date", "result", "note"})
FILE_KEYS = frozenset({"format", "version", "cases"})


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input, at a field path such as `cases[3].levels[0].level`."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "text", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


class _Reader:
    """Reads one JSON object field by field, collecting problems instead of stopping at the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def obj(self, value: object, path: str, allowed: frozenset[str]) -> Mapping[str, Any] | None:
        if not isinstance(value, dict):
            self.fail(path, f"must be an object, not {_type_name(value)}")
            return None
        if not allowed.issuperset(value):
            for key in value:
                if key not in allowed:
                    shown = key if key.isprintable() else repr(key)  # never print a surrogate or an override
                    self.fail(join(path, shown), "unknown field")
        return value

    def text(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        *,
        required: bool,
        max_len: int,
        min_len: int = 1,
        name: bool = False,
    ) -> str | None:
        """A trimmed text field; blank optional text is stored as absent. `name`: a person's or place's name."""
        value = data.get(key)
        if value is None:
            if required:
                self.fail(join(path, key), "is required")
            return None
        if not isinstance(value, str):
            self.fail(join(path, key), f"must be text, not {_type_name(value)}")
            return None
        return self.clean_text(value, path, key, required=required, max_len=max_len, min_len=min_len, name=name)

    def clean_text(
        self,
        value: str,
        path: str,
        key: str | int,
        *,
        required: bool,
        max_len: int,
        min_len: int = 1,
        name: bool = False,
    ) -> str | None:
        """Trim and check text; the path is only built when something is wrong (10,000 cases make it count)."""
        value = value.strip()
        unsafe = UNSAFE_TEXT_RE.search(value)
        if unsafe:
            self.fail(join(path, key), _unsafe_message(unsafe.group()))
            return None
        if name and INVISIBLE_RE.search(value):
            hidden = _invisible_character(value)
            if hidden is not None:
                self.fail(
                    join(path, key), f"contains an invisible character (U+{ord(hidden):04X}); type the name again"
                )
                return None
        if len(value) > max_len:
            self.fail(join(path, key), f"is {len(value)} characters long; at most {max_len} are allowed")
            return None
        if len(value) < min_len:
            if required:
                self.fail(join(path, key), "is required" if min_len == 1 else f"needs at least {min_len} characters")
                return None
            return None
        return value

    def choice(
        self, data: Mapping[str, Any], key: str, path: str, vocabulary: Iterable[str], what: str, *, required: bool
    ) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(join(path, key), "is required")
            return None
        if not isinstance(value, str):
            self.fail(join(path, key), f"must be text, not {_type_name(value)}")
            return None
        if value not in vocabulary:
            self.fail(join(path, key), f"unknown {what} {value!r}")
            return None
        return value

    def integer(
        self, data: Mapping[str, Any], key: str, path: str, low: int, high: int, *, required: bool
    ) -> int | None:
        value = data.get(key)
        if type(value) is int and low <= value <= high:
            return value  # the common case, checked first: imports run this hundreds of thousands of times
        if value is None:
            if required:
                self.fail(join(path, key), "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(join(path, key), f"must be a whole number, not {_type_name(value)}")
            return None
        if not low <= value <= high:
            self.fail(join(path, key), f"{value} is out of range ({low} to {high})")
            return None
        return value

    def boolean(self, data: Mapping[str, Any], key: str, path: str) -> bool:
        value = data.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.fail(join(path, key), f"must be true or false, not {_type_name(value)}")
            return False
        return value

    def date(self, data: Mapping[str, Any], key: str, path: str, *, required: bool) -> dt.date | None:
        value = data.get(key)
        if value is None:
            if required:
                self.fail(join(path, key), "is required")
            return None
        if not isinstance(value, str) or not DATE_RE.fullmatch(value):
            self.fail(join(path, key), f"must be a date as YYYY-MM-DD, not {value!r}")
            return None
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            self.fail(join(path, key), f"{value!r} is not a real date")
            return None
        if day < MIN_DATE:
            self.fail(join(path, key), f"{value} is before 1900")
            return None
        return day

    def datetime(self, data: Mapping[str, Any], key: str, path: str) -> dt.datetime | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not DATETIME_RE.fullmatch(value):
            self.fail(join(path, key), f"must be a local time as YYYY-MM-DDTHH:MM, not {value!r}")
            return None
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            self.fail(join(path, key), f"{value!r} is not a real time")
            return None
        if moment.date() < MIN_DATE:
            self.fail(join(path, key), f"{value} is before 1900")
            return None
        return moment

    def items(self, data: Mapping[str, Any], key: str, path: str) -> list[Any]:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(join(path, key), f"must be a list, not {_type_name(value)}")
            return []
        return value

    def objects(
        self, data: Mapping[str, Any], key: str, path: str, allowed: frozenset[str]
    ) -> Iterator[tuple[int, str, Mapping[str, Any]]]:
        """Each object of a list (index, path, object); an item that is not an object is reported and skipped."""
        base = join(path, key)
        for i, value in enumerate(self.items(data, key, path)):
            item_path = f"{base}[{i}]"
            item = self.obj(value, item_path, allowed)
            if item is not None:
                yield i, item_path, item

    def codes(
        self, data: Mapping[str, Any], key: str, path: str, pattern: re.Pattern[str], example: str
    ) -> tuple[str, ...]:
        found: list[str] = []
        for i, value in enumerate(self.items(data, key, path)):
            where = join(join(path, key), i)
            if not isinstance(value, str):
                self.fail(where, f"must be text, not {_type_name(value)}")
            elif not pattern.fullmatch(value):
                self.fail(where, f"{value!r} is not a valid code (e.g. {example})")
            elif value in found:
                self.fail(where, f"{value!r} is listed twice")
            else:
                found.append(value)
        return tuple(found)


def _unsafe_message(char: str) -> str:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return f"contains a broken character (lone surrogate U+{code:04X}); the text was damaged on the way"
    if code >= 0x2000:
        return (
            f"contains a text-direction control (U+{code:04X}) that makes text show in another order than it "
            "is stored; remove it"
        )
    return "contains a control character (only newline and tab are allowed)"


def _invisible_character(text: str) -> str | None:
    """The first invisible character a name may not hold, or None.

    Joiners are letters' business in some scripts, as in internationalised domain names (RFC 5892,
    CONTEXTJ): a zero-width joiner or non-joiner after a virama (Devanagari, Tamil, ...) and a non-joiner
    between two Arabic-script letters (Persian names) are kept. So is a joiner between two pictographs, which
    draws them as one visible emoji (👩‍👧): names stored by earlier releases may hold such sequences.
    """
    for i, char in enumerate(text):
        if not INVISIBLE_RE.fullmatch(char):
            continue
        before = text[i - 1] if i else ""
        after = text[i + 1] if i + 1 < len(text) else ""
        if char in (ZWNJ, ZWJ) and before and unicodedata.combining(before) == VIRAMA:
            continue
        if char == ZWNJ and _arabic_letter(before) and _arabic_letter(after):
            continue
        if char == ZWJ and _pictograph(text[:i].rstrip(EMOJI_MODIFIERS)[-1:]) and _pictograph(after):
            continue
        return char
    return None


def _pictograph(char: str) -> bool:
    return bool(char) and unicodedata.category(char) == "So"


def _arabic_letter(char: str) -> bool:
    return bool(char) and unicodedata.name(char, "").startswith("ARABIC LETTER")


def validate_case(
    data: object,
    *,
    path: str = "",
    today: dt.date | None = None,
    allowed_statuses: frozenset[str] = vocab.IMPORTABLE_STATUSES,
) -> tuple[CaseRecord | None, list[Problem]]:
    """Check a CASE object against every rule of the contract.

    Returns the record (None when anything is wrong) and every problem found, each with its field path
    under `path`. Checks that need the database (an unused case number, a known MRN) are the service's.
    """
    today = today or dt.date.today()
    problems: list[Problem] = []
    r = _Reader(problems)
    case = r.obj(data, path, CASE_KEYS)
    if case is None:
        return None, problems

    case_number = case.get("case_number")
    where = join(path, "case_number")
    if case_number is not None and (not isinstance(case_number, str) or not CASE_NUMBER_RE.fullmatch(case_number)):
        r.fail(where, f"must look like YYYY-NNNNN (e.g. 2025-00042; from 100000 on YYYY-NNNNNN), not {case_number!r}")
        case_number = None
    elif isinstance(case_number, str) and case_number.endswith("-00000"):
        r.fail(where, "running number 00000 is not used; numbers start at 00001")
        case_number = None

    status = r.choice(case, "status", path, allowed_statuses, "status", required=False) or "draft"

    values = _read_fields(r, case, path)
    procedure_date = values["procedure_date"]
    if procedure_date is not None and procedure_date > today:
        r.fail(join(path, "procedure_date"), f"{procedure_date} is in the future")
        procedure_date = values["procedure_date"] = None
    if procedure_date is not None and isinstance(case_number, str) and int(case_number[:4]) != procedure_date.year:
        r.fail(where, f"year {case_number[:4]} does not match the procedure date's year {procedure_date.year}")
    procedure = values["procedure"]
    if procedure == "other" and values["procedure_detail"] is None and _blank(case.get("procedure_detail")):
        r.fail(join(path, "procedure_detail"), "is required")

    patient = _patient(r, case.get("patient"), join(path, "patient"), procedure_date)
    levels = _levels(r, case, path, procedure)
    values["start_time"], values["end_time"], values["duration_minutes"] = _timing(
        r, case, values, path, procedure_date
    )
    anesthesia = _anesthesia(r, case.get("anesthesia"), join(path, "anesthesia"))
    block = _block(r, case.get("block"), join(path, "block"), procedure)
    complications = _complications(r, case, path, procedure_date, today)
    outcomes = _outcomes(r, case, path, procedure_date, today)
    attempts = _attempts(r, case, path, procedure_date, today)
    _after_death(r, path, outcomes, attempts)

    if problems:
        return None, _in_object_order(problems, path)
    assert patient and anesthesia  # and every required field of the table: each reported a problem if absent
    record = CaseRecord(
        case_number=case_number if isinstance(case_number, str) else None,
        status=status,
        patient=patient,
        levels=tuple(levels),
        anesthesia=anesthesia,
        complications=tuple(complications),
        outcomes=tuple(o for _, o in outcomes),
        follow_up_attempts=tuple(a for _, a in attempts),
        block=block,
        **values,
    )
    return record, problems


_POSITION = {f.key: i for i, f in enumerate(fields.FIELDS)}
_KEY_RE = re.compile(r"[.\[]")


def _in_object_order(problems: list[Problem], path: str) -> list[Problem]:
    """Problems in the order of the fields in the object (as a reader scans it), each field's in found order."""
    skip = len(path) + 1 if path else 0

    def position(problem: Problem) -> int:
        key = _KEY_RE.split(problem.path[skip:], maxsplit=1)[0]
        return _POSITION.get(key, -1)

    return sorted(problems, key=position)


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_names(r: _Reader, case: Mapping[str, Any], path: str, f: Field) -> tuple[str, ...]:
    names = _names(r, case, f.key, path, max_len=f.max_len)
    if f.max_items and len(names) > f.max_items:
        r.fail(join(path, f.key), f"at most {f.max_items} names, not {len(names)}")
    return tuple(names)


def _reader_call(f: Field) -> str:
    """Source of the call that reads one field of the table by its kind's rules."""
    key, required = repr(f.key), f.required
    calls = {
        "int": f"r.integer(case, {key}, path, {f.low}, {f.high}, required={required})",
        "text": f"r.text(case, {key}, path, required={required}, max_len={f.max_len})",
        "name": f"r.text(case, {key}, path, required={required}, max_len={f.max_len}, name=True)",
        "choice": f"r.choice(case, {key}, path, F[{key}].choices, {f.short!r}, required={required})",
        "bool": f"r.boolean(case, {key}, path)",
        "date": f"r.date(case, {key}, path, required={required})",
        "datetime": f"r.datetime(case, {key}, path)",
        "names": f"_read_names(r, case, path, F[{key}])",
        "codes": f"r.codes(case, {key}, path, F[{key}].pattern, {f.example!r})",
    }
    return calls[f.kind]


#: The table's fields read by their kind's reader (case number and status have rules of their own).
_GENERIC: tuple[Field, ...] = tuple(f for f in fields.STORED if f.key != "status")
#: Every simple field of the table, read into a dict by key: the fast path of an import, written out once.
_read_fields: Callable[[_Reader, Mapping[str, Any], str], dict[str, Any]] = fields.compiled(
    "_read_fields",
    ["def _read_fields(r, case, path):", "    return {", *(f"        {f.key!r}: {_reader_call(f)}," for f in _GENERIC),
     "    }"],
    {"F": fields.BY_KEY, "_read_names": _read_names},
)  # fmt: skip


def _names(r: _Reader, case: Mapping[str, Any], key: str, path: str, *, max_len: int) -> list[str]:
    """A list of names (assistants, copy recipients): each text, required, trimmed."""
    names: list[str] = []
    for i, value in enumerate(r.items(case, key, path)):
        if not isinstance(value, str):
            r.fail(join(join(path, key), i), f"must be text, not {_type_name(value)}")
            continue
        name = r.clean_text(value, join(path, key), i, required=True, max_len=max_len, name=True)
        if name is not None:
            names.append(name)
    return names


def _patient(r: _Reader, value: object, path: str, procedure_date: dt.date | None) -> Patient | None:
    if value is None:
        r.fail(path, "is required")
        return None
    data = r.obj(value, path, PATIENT_KEYS)
    if data is None:
        return None
    mrn = data.get("mrn")
    if mrn is None:
        r.fail(join(path, "mrn"), "is required")
    elif not isinstance(mrn, str):
        r.fail(join(path, "mrn"), f"must be text, not {_type_name(mrn)}")
        mrn = None
    elif not MRN_RE.fullmatch(mrn.strip()):
        r.fail(join(path, "mrn"), f"{mrn!r} is not a valid MRN (1 to 20 letters, digits and '-')")
        mrn = None
    else:
        mrn = mrn.strip()
    family = r.text(data, "family_name", path, required=True, max_len=100, name=True)
    given = r.text(data, "given_name", path, required=False, max_len=100, name=True) or ""
    birth = r.date(data, "birth_date", path, required=True)
    if birth is not None and procedure_date is not None:
        if birth > procedure_date:
            r.fail(join(path, "birth_date"), f"{birth} is after the procedure date {procedure_date}")
            birth = None
        else:
            age = Patient("", "", "", birth, "").age_on(procedure_date)
            if age > MAX_AGE_YEARS:
                r.fail(join(path, "birth_date"), f"gives an age of {age} at the procedure; at most {MAX_AGE_YEARS}")
                birth = None
    sex = r.choice(data, "sex", path, vocab.SEXES, "sex", required=True)
    if mrn is None or family is None or birth is None or sex is None:
        return None
    return Patient(mrn=mrn, family_name=family, given_name=given, birth_date=birth, sex=sex)


def _levels(r: _Reader, case: Mapping[str, Any], path: str, procedure: str | None) -> list[TreatedLevel]:
    where = join(path, "levels")
    raw = case.get("levels")
    items = r.items(case, "levels", path)
    if not items and (raw is None or isinstance(raw, list)):
        r.fail(where, "at least one level is required")
    levels: list[TreatedLevel] = []
    seen: dict[str, int] = {}
    for i, value in enumerate(items):
        item_path = join(where, i)
        data = r.obj(value, item_path, LEVEL_KEYS)
        if data is None:
            continue
        level = r.choice(data, "level", item_path, vocab.LEVEL_INDEX, "level", required=True)
        side = r.choice(data, "side", item_path, vocab.SIDES, "side", required=True)
        if level is None or side is None:
            continue
        if level in seen:
            r.fail(
                join(item_path, "level"),
                f"{level} is already listed at levels[{seen[level]}]; one level appears once "
                "(left and right together is 'bilateral')",
            )
            continue
        if level == "C1-C2" and procedure in vocab.FACET_NERVE_PROCEDURES:
            name = vocab.in_sentence(vocab.PROCEDURE_SHORT[procedure])
            r.fail(join(item_path, "level"), f"C1-C2 is not a facet-nerve target ({name} is not done there)")
            continue
        seen[level] = i
        volume = _volume(r, data, item_path, procedure) if data.get("volume_ml") is not None else None
        levels.append(TreatedLevel(level=level, side=side, volume_ml=volume))
    return levels


def _volume(r: _Reader, data: Mapping[str, Any], path: str, procedure: str | None) -> float | None:
    """A block's injected volume at one level, in mL with at most two decimals (0.25, 0.5, 1)."""
    value = data["volume_ml"]
    where = join(path, "volume_ml")
    if isinstance(value, bool) or not isinstance(value, int | float):
        r.fail(where, f"must be a number of mL, not {_type_name(value)}")
        return None
    if procedure is not None and procedure != "medial_branch_block":
        r.fail(where, "only a medial branch block records an injected volume")
        return None
    if not 0 < value <= vocab.BLOCK_VOLUME_ML_MAX:
        r.fail(where, f"{value} mL is out of range (more than 0, at most {vocab.BLOCK_VOLUME_ML_MAX:g})")
        return None
    if abs(value * 100 - round(value * 100)) > 1e-6:
        r.fail(where, f"{value} mL has more than two decimals")
        return None
    return round(float(value), 2)


def _block(r: _Reader, value: object, path: str, procedure: str | None) -> BlockDetails | None:
    """A diagnostic block's anesthetic, pain before and diary (format version 2)."""
    if value is None:
        return None
    data = r.obj(value, path, BLOCK_KEYS)
    if data is None:
        return None
    if procedure is not None and procedure != "medial_branch_block":
        r.fail(path, "only a medial branch block records block details")
        return None
    anesthetic = r.choice(data, "anesthetic", path, vocab.BLOCK_ANESTHETICS, "anesthetic", required=True)
    detail = r.text(data, "anesthetic_detail", path, required=anesthetic == "other", max_len=100)
    before = r.integer(data, "pain_before", path, 0, 10, required=False)
    diary: dict[str, int] = {}
    base = join(path, "diary")
    for i, item in enumerate(r.items(data, "diary", path)):
        item_path = f"{base}[{i}]"
        entry = r.obj(item, item_path, DIARY_KEYS)
        if entry is None:
            continue
        time = r.choice(entry, "time", item_path, vocab.DIARY_TIMES, "diary time", required=True)
        pain = r.integer(entry, "pain", item_path, 0, 10, required=True)
        if time is not None and time in diary:
            r.fail(join(item_path, "time"), f"{time!r} is already in the diary")
        elif time is not None and pain is not None:
            diary[time] = pain
    if diary and before is None and data.get("pain_before") is None:
        r.fail(join(path, "pain_before"), "is required with a diary: relief is measured against it")
    elif diary and before == 0:
        r.fail(join(path, "pain_before"), "is 0: relief cannot be measured from no pain")
    activities = data.get("activities_possible")
    if activities is not None and not isinstance(activities, bool):
        r.fail(join(path, "activities_possible"), f"must be true, false or null, not {_type_name(activities)}")
        activities = None
    if anesthetic is None:
        return None
    ordered = tuple(DiaryEntry(t, diary[t]) for t in vocab.DIARY_TIMES if t in diary)
    return BlockDetails(anesthetic, detail, before, ordered, activities)


def version_problems(cases: object, version: object) -> list[Problem]:
    """Problems of a file's format version: one CaseLog reads, and no field of a later version than the file's
    (a version 2 field in a version 1 file, a version 3 field or timepoint in a version 1 or 2 file, a six-digit
    case number in a version 1, 2 or 3 file)."""
    if type(version) is not int or version not in READABLE_VERSIONS:
        readable = ", ".join(str(v) for v in READABLE_VERSIONS[:-1]) + f" or {READABLE_VERSIONS[-1]}"
        return [Problem("version", f"must be {readable}, not {version!r}")]
    if version == FORMAT_VERSION or not isinstance(cases, list):
        return []
    problems: list[Problem] = []

    def later(path: str, needed: int, what: str = "") -> None:
        problems.append(Problem(path, f"{what}needs format version {needed} (this file says version {version})"))

    for i, case in enumerate(cases):
        if not isinstance(case, dict):
            continue
        base = f"cases[{i}]"
        for key in sorted(V2_CASE_KEYS.intersection(case)) if version < 2 else ():
            later(f"{base}.{key}", 2)
        for j, level in enumerate(_listed(case, "levels") if version < 2 else ()):
            if isinstance(level, dict) and not V2_LEVEL_KEYS.isdisjoint(level):
                later(f"{base}.levels[{j}].volume_ml", 2)
        for j, outcome in enumerate(_listed(case, "outcomes") if version < 3 else ()):
            if not isinstance(outcome, dict):
                continue
            timepoint = outcome.get("timepoint")
            if isinstance(timepoint, str) and timepoint in vocab.V3_TIMEPOINTS:
                later(f"{base}.outcomes[{j}].timepoint", 3, f"{timepoint!r} ")
            for key in (k for k in OUTCOME_ANSWERS if k in V3_OUTCOME_KEYS and k in outcome):
                later(f"{base}.outcomes[{j}].{key}", 3)
        for key in sorted(V3_CASE_KEYS.intersection(case)) if version < 3 else ():
            later(f"{base}.{key}", 3)
        number = case.get("case_number")
        if isinstance(number, str) and CASE_NUMBER_RE.fullmatch(number) and len(number) > len("YYYY-NNNNN"):
            later(f"{base}.case_number", 4, f"{number!r} ")
    return problems


def _listed(case: Mapping[str, Any], key: str) -> list[Any]:
    value = case.get(key)
    return value if isinstance(value, list) else []


def _timing(
    r: _Reader, case: Mapping[str, Any], values: Mapping[str, Any], path: str, procedure_date: dt.date | None
) -> tuple[dt.datetime | None, dt.datetime | None, int | None]:
    """Start, end and duration together (each already read by its field's reader into `values`)."""
    start, end, duration = values["start_time"], values["end_time"], values["duration_minutes"]
    start_given, end_given = case.get("start_time") is not None, case.get("end_time") is not None
    duration_given = case.get("duration_minutes") is not None
    if start_given != end_given:
        missing = "end_time" if start_given else "start_time"
        r.fail(join(path, missing), "start and end time go together: give both or neither")
        return None, None, duration
    if start is None or end is None:
        if not start_given and not duration_given:
            r.fail(join(path, "duration_minutes"), "is required when start and end time are not given")
        return None, None, duration
    if procedure_date is not None and start.date() != procedure_date:
        r.fail(join(path, "start_time"), f"{start:%Y-%m-%dT%H:%M} is not on the procedure date {procedure_date}")
    if end <= start:
        r.fail(join(path, "end_time"), "must be after the start time")
        return start, end, duration
    minutes = int((end - start).total_seconds() // 60)
    if duration is not None and duration != minutes:
        r.fail(join(path, "duration_minutes"), f"is {duration} but start to end is {minutes} minutes")
    elif minutes > DURATION_MINUTES_MAX:
        r.fail(join(path, "end_time"), f"gives a duration of {minutes} minutes; at most {DURATION_MINUTES_MAX}")
    return start, end, minutes


def _anesthesia(r: _Reader, value: object, path: str) -> Anesthesia | None:
    if value is None:
        r.fail(path, "is required")
        return None
    data = r.obj(value, path, ANESTHESIA_KEYS)
    if data is None:
        return None
    kind = r.choice(data, "type", path, vocab.ANESTHESIA_TYPES, "anesthesia type", required=True)
    sedation = r.choice(data, "sedation", path, vocab.SEDATION_LEVELS, "sedation", required=False)
    if sedation is not None and kind is not None and kind != "local_sedation":
        r.fail(join(path, "sedation"), f"applies only to 'local_sedation', not to {kind!r}")
    asa = r.choice(data, "asa_class", path, vocab.ASA_CLASSES, "ASA class", required=False)
    emergency = r.boolean(data, "emergency", path)
    provider = r.text(data, "provider", path, required=False, max_len=100, name=True)
    if kind is None:
        return None
    return Anesthesia(type=kind, sedation=sedation, asa_class=asa, emergency=emergency, provider=provider)


def _not_future(r: _Reader, value: dt.date | None, path: str, key: str, today: dt.date) -> dt.date | None:
    if value is not None and value > today:
        r.fail(join(path, key), f"{value} is in the future")
        return None
    return value


def _complications(
    r: _Reader, case: Mapping[str, Any], path: str, procedure_date: dt.date | None, today: dt.date
) -> list[Complication]:
    found: list[Complication] = []
    for i, value in enumerate(r.items(case, "complications", path)):
        item_path = join(join(path, "complications"), i)
        data = r.obj(value, item_path, COMPLICATION_KEYS)
        if data is None:
            continue
        category = r.choice(data, "category", item_path, vocab.COMPLICATION_CATEGORIES, "category", required=True)
        description = r.text(data, "description", item_path, required=category == "other", max_len=2000)
        timing = r.choice(data, "timing", item_path, vocab.COMPLICATION_TIMINGS, "timing", required=True)
        onset = r.date(data, "onset_date", item_path, required=True)
        onset_path = join(item_path, "onset_date")
        onset = _not_future(r, onset, item_path, "onset_date", today)
        if onset is not None and procedure_date is not None:
            days = (onset - procedure_date).days
            if days < 0:
                r.fail(onset_path, f"{onset} is before the procedure date {procedure_date}")
            elif timing == "intraoperative" and days != 0:
                r.fail(onset_path, "an intraoperative complication starts on the procedure date")
            elif timing == "postoperative" and days > POSTOPERATIVE_DAYS:
                r.fail(onset_path, f"is {days} days after the procedure; postoperative means within 30 days")
            elif timing == "late" and days <= POSTOPERATIVE_DAYS:
                r.fail(onset_path, f"is {days} days after the procedure; late means more than 30 days")
        grade = r.choice(data, "clavien_dindo", item_path, vocab.CLAVIEN_DINDO_GRADES, "Clavien-Dindo grade",
                         required=True)  # fmt: skip
        treatment = r.text(data, "treatment", item_path, required=False, max_len=2000)
        resolved = r.date(data, "resolved_date", item_path, required=False)
        resolved = _not_future(r, resolved, item_path, "resolved_date", today)
        if resolved is not None and onset is not None and resolved < onset:
            r.fail(join(item_path, "resolved_date"), f"{resolved} is before the onset date {onset}")
        review = r.choice(data, "review_status", item_path, vocab.REVIEW_STATUSES, "review status", required=False)
        if category is None or timing is None or onset is None or grade is None:
            continue
        found.append(
            Complication(
                category=category,
                description=description,
                timing=timing,
                onset_date=onset,
                clavien_dindo=grade,
                treatment=treatment,
                resolved_date=resolved,
                review_status=review or "open",
            )
        )
    return found


def _outcomes(
    r: _Reader, case: Mapping[str, Any], path: str, procedure_date: dt.date | None, today: dt.date
) -> list[tuple[int, OutcomeScore]]:
    """Each outcome with its index in the list (the rules after a death name it)."""
    found: list[tuple[int, OutcomeScore]] = []
    seen: dict[str, int] = {}
    for i, item_path, data in r.objects(case, "outcomes", path, OUTCOME_KEYS):
        timepoint = r.choice(data, "timepoint", item_path, vocab.TIMEPOINTS, "timepoint", required=True)
        if timepoint is not None and timepoint in seen:
            r.fail(join(item_path, "timepoint"), f"{timepoint!r} is already recorded at outcomes[{seen[timepoint]}]")
            timepoint = None
        elif timepoint is not None:
            seen[timepoint] = i
        day = r.date(data, "date", item_path, required=True)
        day = _not_future(r, day, item_path, "date", today)
        if day is not None and procedure_date is not None and timepoint is not None:
            if timepoint == "baseline" and day > procedure_date:
                r.fail(join(item_path, "date"), f"a baseline is taken on or before the procedure date {procedure_date}")
            elif timepoint != "baseline" and day <= procedure_date:
                r.fail(join(item_path, "date"), f"a follow-up is after the procedure date {procedure_date}")
        answers: dict[str, Any] = {}
        for measure, (low, high) in vocab.OUTCOME_MEASURES.items():
            answers[measure] = r.integer(data, measure, item_path, low, high, required=False)
        answers["work_status"] = r.choice(data, "work_status", item_path, vocab.WORK_STATUSES, "work status",
                                          required=False)  # fmt: skip
        answers["analgesics"] = r.choice(data, "analgesics", item_path, vocab.ANALGESIC_USE, "pain medication use",
                                         required=False)  # fmt: skip
        answers["returned_to_activities"] = _returned(r, data, item_path, procedure_date, day, timepoint)
        answers["physical_therapy"] = _optional_bool(r, data, "physical_therapy", item_path)
        if all(data.get(key) is None for key in OUTCOME_ANSWERS):
            r.fail(item_path, f"needs at least one of {', '.join(OUTCOME_ANSWERS)}")
        if timepoint == "baseline" and data.get("pgic") is not None:
            r.fail(join(item_path, "pgic"), "is not asked at baseline: a change is measured after the procedure")
        if timepoint is None or day is None:
            continue
        found.append((i, OutcomeScore(timepoint=timepoint, date=day, **answers)))
    return found


def _optional_bool(r: _Reader, data: Mapping[str, Any], key: str, path: str) -> bool | None:
    """true, false, or null when not asked."""
    value = data.get(key)
    if value is not None and not isinstance(value, bool):
        r.fail(join(path, key), f"must be true, false or null, not {_type_name(value)}")
        return None
    return value


def _returned(
    r: _Reader,
    data: Mapping[str, Any],
    path: str,
    procedure_date: dt.date | None,
    day: dt.date | None,
    timepoint: str | None,
) -> dt.date | None:
    """When the patient went back to their usual activities: between the procedure and the outcome's date, so
    never at baseline."""
    returned = r.date(data, "returned_to_activities", path, required=False)
    where = join(path, "returned_to_activities")
    if returned is not None and timepoint == "baseline":
        r.fail(where, "is not asked at baseline: a return to activities is after the procedure")
        return None
    if returned is not None and procedure_date is not None and returned < procedure_date:
        r.fail(where, f"{returned} is before the procedure date {procedure_date}")
        return None
    if returned is not None and day is not None and returned > day:
        r.fail(where, f"{returned} is after this outcome's date {day}: a return is reported once it happened")
        return None
    return returned


def _attempts(
    r: _Reader, case: Mapping[str, Any], path: str, procedure_date: dt.date | None, today: dt.date
) -> list[tuple[int, FollowUpAttempt]]:
    """Attempts to reach the patient for a follow-up (format version 3), each with its index in the list."""
    found: list[tuple[int, FollowUpAttempt]] = []
    died: int | None = None
    for i, item_path, data in r.objects(case, "follow_up_attempts", path, ATTEMPT_KEYS):
        timepoint = r.choice(data, "timepoint", item_path, vocab.TIMEPOINTS, "timepoint", required=True)
        if timepoint == "baseline":
            r.fail(join(item_path, "timepoint"), "an attempt is for a follow-up: baseline is taken before the "
                   "procedure")  # fmt: skip
            timepoint = None
        day = _not_future(r, r.date(data, "date", item_path, required=True), item_path, "date", today)
        if day is not None and procedure_date is not None and day <= procedure_date:
            r.fail(join(item_path, "date"), f"a follow-up attempt is after the procedure date {procedure_date}")
            day = None
        result = r.choice(data, "result", item_path, vocab.FOLLOW_UP_RESULTS, "result", required=True)
        if result == "died" and died is not None:
            r.fail(join(item_path, "result"), f"the patient's death is already recorded at "
                   f"follow_up_attempts[{died}]")  # fmt: skip
            result = None
        elif result == "died":
            died = i
        note = r.text(data, "note", item_path, required=False, max_len=ATTEMPT_NOTE_MAX)
        if timepoint is None or day is None or result is None:
            continue
        found.append((i, FollowUpAttempt(timepoint=timepoint, date=day, result=result, note=note)))
    return found


def _after_death(
    r: _Reader, path: str, outcomes: list[tuple[int, OutcomeScore]], attempts: list[tuple[int, FollowUpAttempt]]
) -> None:
    """Nothing is dated after a recorded death: no outcome, no other attempt."""
    death = next(((i, a.date) for i, a in attempts if a.result == "died"), None)
    if death is None:
        return
    where, when = death
    said = f"is after the patient's death on {when} (follow_up_attempts[{where}])"
    for i, o in outcomes:
        if o.date > when:
            r.fail(join(path, f"outcomes[{i}].date"), f"{o.date} {said}")
    for i, a in attempts:
        if a.date > when:
            r.fail(join(path, f"follow_up_attempts[{i}].date"), f"{a.date} {said}")


def validate_file(data: object, *, today: dt.date | None = None) -> tuple[list[CaseRecord], list[Problem]]:
    """Check a whole interchange file (`{"format": ..., "version": 2, "cases": [...]}`, or version 1) and every
    case in it."""
    problems: list[Problem] = []
    r = _Reader(problems)
    top = r.obj(data, "", FILE_KEYS)
    if top is None:
        return [], problems
    if top.get("format") != FORMAT_NAME:
        r.fail("format", f"must be {FORMAT_NAME!r}, not {top.get('format')!r}")
    cases = top.get("cases")
    problems.extend(version_problems(cases, top.get("version")))
    if not isinstance(cases, list):
        r.fail("cases", f"must be a list, not {_type_name(cases)}")
        return [], problems
    records: list[CaseRecord] = []
    numbers: dict[str, int] = {}
    today = today or dt.date.today()
    for i, item in enumerate(cases):
        path = f"cases[{i}]"
        record, found = validate_case(item, path=path, today=today)
        problems.extend(found)
        if record is None:
            continue
        if record.case_number is not None:
            if record.case_number in numbers:
                problems.append(
                    Problem(
                        join(path, "case_number"),
                        f"{record.case_number} is also used by cases[{numbers[record.case_number]}]",
                    )
                )
            numbers[record.case_number] = i
        records.append(record)
    return records, problems
