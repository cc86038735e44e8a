"""Plain frozen case records: what validation produces, the service stores and returns, and reports print.

The UI and the reports only ever see these, never live database objects.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from caselog import vocab
from caselog.fields import FIELDS, compiled, json_expression


@dataclass(frozen=True, slots=True)
class Patient:
    mrn: str
    family_name: str
    given_name: str
    birth_date: dt.date
    sex: str

    @property
    def display_name(self) -> str:
        """ "Family, Given" as charts show it; a mononym stays alone."""
        return f"{self.family_name}, {self.given_name}" if self.given_name else self.family_name

    def age_on(self, day: dt.date) -> int:
        """Age in whole years on `day` (a birthday on 29 February counts from 1 March in other years)."""
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


@dataclass(frozen=True, slots=True)
class TreatedLevel:
    level: str
    side: str
    #: A diagnostic block's injected volume at this level (format version 2); None elsewhere.
    volume_ml: float | None = None

    @property
    def text(self) -> str:
        return f"{self.level} {self.side}"


@dataclass(frozen=True, slots=True)
class Anesthesia:
    type: str
    sedation: str | None = None
    asa_class: str | None = None
    emergency: bool = False
    provider: str | None = None

    @property
    def asa_text(self) -> str:
        """ASA class with its E suffix ("III E"), or blank when not recorded."""
        if self.asa_class is None:
            return ""
        return f"{self.asa_class}{' E' if self.emergency else ''}"


@dataclass(frozen=True, slots=True)
class DiaryEntry:
    """One line of the patient's pain diary after a block: the time after the injection and the pain (0-10)."""

    time: str
    pain: int


@dataclass(frozen=True, slots=True)
class BlockDetails:
    """What a diagnostic medial branch block records beyond a case (format version 2): the anesthetic, the
    pain before the injection and the patient's diary after it. Relief, its duration and the block's result
    are computed from these (caselog.pathway), never stored, so a change of the clinic's policy re-reads them."""

    anesthetic: str
    anesthetic_detail: str | None = None
    pain_before: int | None = None
    #: In the diary's time order, each time at most once.
    diary: tuple[DiaryEntry, ...] = ()
    #: Could the patient do what usually hurts while the block worked; None when not asked.
    activities_possible: bool | None = None


@dataclass(frozen=True, slots=True)
class Complication:
    category: str
    timing: str
    onset_date: dt.date
    clavien_dindo: str
    description: str | None = None
    treatment: str | None = None
    resolved_date: dt.date | None = None
    review_status: str = "open"
    #: Quality staff's review notes: kept with the complication, not part of the interchange format.
    review_notes: str | None = None


@dataclass(frozen=True, slots=True)
class OutcomeScore:
    timepoint: str
    date: dt.date
    nrs_back: int | None = None
    nrs_leg: int | None = None
    odi: int | None = None
    relief_percent: int | None = None
    # Format version 3: the neck's and arm's scores, the Neck Disability Index, the patient's impression of change
    # (1..7, vocab.PGIC) and the answers asked at a follow-up call. Only numbers and keys: no questionnaire text.
    nrs_neck: int | None = None
    nrs_arm: int | None = None
    ndi: int | None = None
    pgic: int | None = None
    work_status: str | None = None
    analgesics: str | None = None
    returned_to_activities: dt.date | None = None
    #: Was physical therapy prescribed; None when not asked.
    physical_therapy: bool | None = None


@dataclass(frozen=True, slots=True)
class FollowUpAttempt:
    """An attempt to reach the patient for a follow-up that gave no outcome (format version 3): who could not be
    reached, moved away, declined or died. A final result (vocab.FINAL_FOLLOW_UP_RESULTS) ends the follow-up."""

    timepoint: str
    date: dt.date
    result: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """One logged procedure, exactly the contract's CASE object (section 2), validated."""

    patient: Patient
    procedure_date: dt.date
    surgeon: str
    procedure: str
    levels: tuple[TreatedLevel, ...]
    duration_minutes: int
    anesthesia: Anesthesia
    disposition: str
    case_number: str | None = None
    status: str = "draft"
    facility: str | None = None
    assistants: tuple[str, ...] = ()
    procedure_detail: str | None = None
    cpt_codes: tuple[str, ...] = ()
    diagnosis_codes: tuple[str, ...] = ()
    indication: str | None = None
    injury_related: bool = False
    prior_block_relief_percent: int | None = None
    start_time: dt.datetime | None = None
    end_time: dt.datetime | None = None
    estimated_blood_loss_ml: int | None = None
    complications: tuple[Complication, ...] = ()
    outcomes: tuple[OutcomeScore, ...] = ()
    notes: str | None = None
    # Extensions of the interchange format (docs/format.md): who sent the patient, who gets a copy of the summary.
    referring_physician: str | None = None
    copy_to: tuple[str, ...] = ()
    fluoroscopy_time_s: int | None = None
    # Format version 2: the block's anesthetic and diary, and why a case outside the clinic's policy was done.
    block: BlockDetails | None = None
    outside_policy_reason: str | None = None
    # Format version 3: attempts to reach the patient for a follow-up, in the order given.
    follow_up_attempts: tuple[FollowUpAttempt, ...] = ()

    @property
    def procedure_label(self) -> str:
        return vocab.label(vocab.PROCEDURES, self.procedure)

    @property
    def levels_text(self) -> str:
        """Levels as staff write them: `L4-L5 bilateral; L5-S1 left`."""
        return "; ".join(lv.text for lv in self.levels)

    @property
    def attempts_by_date(self) -> list[FollowUpAttempt]:
        """The follow-up attempts by date, then in the order recorded, as exports list them."""
        ordered = sorted(enumerate(self.follow_up_attempts), key=lambda pair: (pair[1].date, pair[0]))
        return [a for _, a in ordered]

    @property
    def worst_grade(self) -> str | None:
        if not self.complications:
            return None
        return max((c.clavien_dindo for c in self.complications), key=lambda g: vocab.GRADE_RANK.get(g, -1))


@dataclass(frozen=True, slots=True)
class CaseView:
    """A stored case: its record plus what the system keeps about it (identity, version, times)."""

    id: int
    version: int
    record: CaseRecord
    created_at: dt.datetime
    updated_at: dt.datetime
    signed_by: str | None = None
    signed_at: dt.datetime | None = None

    @property
    def case_number(self) -> str:
        assert self.record.case_number is not None
        return self.record.case_number

    @property
    def status(self) -> str:
        return self.record.status


@dataclass(frozen=True, slots=True)
class CaseListItem:
    """One line of the case list: enough to show and sort, cheap to load by the page."""

    id: int
    case_number: str
    status: str
    procedure_date: dt.date
    mrn: str
    patient_name: str
    procedure: str
    levels_text: str
    duration_minutes: int
    anesthesia_type: str
    surgeon: str
    complication_count: int
    worst_grade: str | None
    version: int


@dataclass(frozen=True, slots=True)
class CaseFilter:
    """The contract's FILTERS; None means "any". Dates are inclusive, on the procedure date."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    surgeon: str | None = None
    procedure: str | None = None
    level: str | None = None
    status: str | None = None
    with_complications: bool = False
    search: str | None = None
    case_numbers: tuple[str, ...] = field(default=())


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _contract_source() -> list[str]:
    """`case_to_contract` written out from the table of fields: parts by their functions, extensions if set."""
    lines = ["def case_to_contract(record):", "    case = {"]
    extensions: list[str] = []
    for f in FIELDS:
        if f.kind == "part" and f.extension:
            extensions += [
                f"    value = _{f.key}(record)",
                "    if value is not None:",
                f"        case[{f.key!r}] = value",
            ]
        elif f.kind == "part":
            lines.append(f"        {f.key!r}: _{f.key}(record),")
        elif f.extension:
            held = "value" if f.kind in ("names", "codes") else "value is not None"  # validation: blank is None
            extensions += [
                f"    value = record.{f.key}",
                f"    if {held}:",
                f"        case[{f.key!r}] = {json_expression(f, 'value')}",
            ]
        else:
            lines.append(f"        {f.key!r}: {json_expression(f, f'record.{f.key}')},")
    return [*lines, "    }", *extensions, "    return case"]


def _patient(record: CaseRecord) -> dict[str, Any]:
    p = record.patient
    return {
        "mrn": p.mrn,
        "family_name": p.family_name,
        "given_name": p.given_name,
        "birth_date": p.birth_date.isoformat(),
        "sex": p.sex,
    }


def _anesthesia(record: CaseRecord) -> dict[str, Any]:
    a = record.anesthesia
    return {"type": a.type, "sedation": a.sedation, "asa_class": a.asa_class, "emergency": a.emergency,
            "provider": a.provider}  # fmt: skip


def _complications(record: CaseRecord) -> list[dict[str, Any]]:
    return [
        {
            "category": c.category,
            "description": c.description,
            "timing": c.timing,
            "onset_date": c.onset_date.isoformat(),
            "clavien_dindo": c.clavien_dindo,
            "treatment": c.treatment,
            "resolved_date": _date(c.resolved_date),
            "review_status": c.review_status,
        }
        for c in record.complications
    ]


#: Format version 3's answers on an outcome: written only when recorded, so an outcome without them is exactly
#: the contract's OUTCOME object.
V3_ANSWERS = ("nrs_neck", "nrs_arm", "ndi", "pgic", "work_status", "analgesics", "returned_to_activities",
              "physical_therapy")  # fmt: skip


def _outcomes(record: CaseRecord) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for o in record.outcomes:
        outcome: dict[str, Any] = {
            "timepoint": o.timepoint,
            "date": o.date.isoformat(),
            "nrs_back": o.nrs_back,
            "nrs_leg": o.nrs_leg,
            "odi": o.odi,
            "relief_percent": o.relief_percent,
        }
        for key in V3_ANSWERS:
            value = getattr(o, key)
            if value is not None:
                outcome[key] = value.isoformat() if isinstance(value, dt.date) else value
        found.append(outcome)
    return found


def _follow_up_attempts(record: CaseRecord) -> list[dict[str, Any]] | None:
    """The attempts in the order recorded; None (left out) when there are none."""
    if not record.follow_up_attempts:
        return None
    return [
        {"timepoint": a.timepoint, "date": a.date.isoformat(), "result": a.result, "note": a.note}
        for a in record.follow_up_attempts
    ]


def _levels(record: CaseRecord) -> list[dict[str, Any]]:
    levels: list[dict[str, Any]] = []
    for lv in record.levels:
        level: dict[str, Any] = {"level": lv.level, "side": lv.side}
        if lv.volume_ml is not None:
            level["volume_ml"] = lv.volume_ml
        levels.append(level)
    return levels


def _block(record: CaseRecord) -> dict[str, Any] | None:
    b = record.block
    if b is None:
        return None
    return {
        "anesthetic": b.anesthetic,
        "anesthetic_detail": b.anesthetic_detail,
        "pain_before": b.pain_before,
        "diary": [{"time": e.time, "pain": e.pain} for e in b.diary],
        "activities_possible": b.activities_possible,
    }


_case_to_contract = compiled(
    "case_to_contract",
    _contract_source(),
    {"_patient": _patient, "_levels": _levels, "_anesthesia": _anesthesia,
     "_complications": _complications, "_outcomes": _outcomes, "_block": _block,
     "_follow_up_attempts": _follow_up_attempts},
)  # fmt: skip


def case_to_contract(record: CaseRecord) -> dict[str, Any]:
    """The contract's CASE object with every field present, defaults filled in, in the contract's order.

    The format's extensions (`referring_physician`, `copy_to`, `fluoroscopy_time_s`, version 2's `block`,
    `outside_policy_reason` and a level's `volume_ml`, version 3's `follow_up_attempts` and an outcome's new
    answers) follow, and only when they hold something, so a case without them is exactly what the contract
    promises (docs/format.md).
    """
    case: dict[str, Any] = _case_to_contract(record)
    return case
