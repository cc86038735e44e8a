"""The day's schedule in: a CSV from the scheduling system becomes procedures "to complete" as cases.

A case needs what a schedule does not know (duration, anesthesia, disposition), so a scheduled procedure is not
a case: it waits in its own table (scheduled_procedures) until someone opens it, completes the case form it
prefills, and saves; the draft case is created and the entry marked done in one transaction. Every case still
passes the one validation. The file's rows are checked as an import's cases are (the same rules, the same
"one MRN is one patient" check against the patients on file), every problem named by line, and nothing is
added unless every line is right. Columns and formats: docs/format.md, "The day's schedule".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from caselog import audit, vocab
from caselog.accounts import Action
from caselog.db.store import describe_patient, patient_from_row, same_patient
from caselog.db.tables import patients_t, scheduled_t, utcnow
from caselog.errors import CaselogError, Conflict, InvalidInput, NotFound
from caselog.exchange import read_regular_file
from caselog.records import CaseView, Patient, TreatedLevel
from caselog.service import CaseService
from caselog.validation import DATE_RE, Problem, validate_case

#: The columns, in the order the format doc lists them (any order in a file; names as written here, letter case
#: and spaces aside: "Birth date" is `birth_date`).
COLUMNS = ("date", "mrn", "name", "birth_date", "sex", "procedure", "levels", "surgeon")
#: A day's schedule is a few dozen lines; anything this large is not one.
MAX_SCHEDULE_BYTES = 2 * 1024 * 1024
#: Sexes as scheduling systems often write them.
SEX_LETTERS = {"f": "female", "m": "male", "o": "other", "u": "unknown"}
#: Where a case's problem (validation's field path) belongs among the schedule's columns.
_COLUMN_OF = {"procedure_date": "date", "patient.mrn": "mrn", "patient.family_name": "name",
              "patient.given_name": "name", "patient.birth_date": "birth_date", "patient.sex": "sex",
              "procedure": "procedure", "surgeon": "surgeon", "levels": "levels"}  # fmt: skip
#: Stand-ins for the fields a schedule does not have, so the one validation checks the fields it does have.
_NOT_SCHEDULED = {"duration_minutes": 1, "anesthesia": {"type": "local"}, "disposition": "same_day_discharge"}


@dataclass(frozen=True, slots=True)
class ScheduledProcedure:
    """One line of a day's schedule as stored: the patient, what is planned, by whom, and where it came from."""

    id: int
    procedure_date: dt.date
    patient: Patient
    procedure: str
    levels: tuple[TreatedLevel, ...]
    surgeon: str
    source: str
    source_line: int
    status: str = "to_complete"
    case_number: str | None = None

    @property
    def levels_text(self) -> str:
        return "; ".join(lv.text for lv in self.levels)

    def case_data(self) -> dict[str, Any]:
        """What the case form starts from: the patient, date, procedure, levels and surgeon of the schedule."""
        p = self.patient
        return {
            "patient": {"mrn": p.mrn, "family_name": p.family_name, "given_name": p.given_name,
                        "birth_date": p.birth_date.isoformat(), "sex": p.sex},
            "procedure_date": self.procedure_date.isoformat(),
            "procedure": self.procedure,
            "levels": [{"level": lv.level, "side": lv.side} for lv in self.levels],
            "surgeon": self.surgeon,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Line:
    number: int
    procedure_date: dt.date
    patient: Patient
    procedure: str
    levels: tuple[TreatedLevel, ...]
    surgeon: str


def _permit(service: CaseService, action: Action, what: str) -> None:
    """The roles table, as the case service applies it (a refusal is audited against the schedule)."""
    service.require(action, what=what, record_type="schedule")


# ---- reading the file -----------------------------------------------------------------------------------------


def read_schedule_bytes(path: Path) -> bytes:
    """The file's bytes: a regular file of at most MAX_SCHEDULE_BYTES (one more tells it is too large)."""
    return read_regular_file(path, MAX_SCHEDULE_BYTES, ".csv")


def _column(name: str) -> str:
    return "_".join(name.strip().casefold().replace("-", " ").split())


def _name(text: str) -> tuple[str, str]:
    """ "Family, Given" as schedules and charts write it; without a comma, a family name alone (a mononym)."""
    family, _, given = text.partition(",")
    return family.strip(), given.strip()


def _sex(text: str) -> str:
    key = text.strip().casefold()
    return SEX_LETTERS.get(key, key)


def _procedure(text: str) -> str:
    """A procedure's key, or its label as CaseLog shows it (letter case aside)."""
    wanted = text.strip().casefold()
    for key in vocab.PROCEDURES:
        labels = (key, vocab.PROCEDURES[key], vocab.PROCEDURE_SHORT.get(key, key))
        if wanted in {label.casefold() for label in labels}:
            return key
    return text.strip()


def _levels(text: str) -> tuple[list[dict[str, str]], list[str]]:
    """`L4-L5 bilateral; L5-S1 left` as the levels of a CASE object, and the items not written that way."""
    levels: list[dict[str, str]] = []
    bad: list[str] = []
    for item in (part.strip() for part in text.split(";")):
        if not item:
            continue
        words = item.split()
        if len(words) != 2:
            bad.append(item)
            continue
        levels.append({"level": words[0].upper(), "side": words[1].casefold()})
    return levels, bad


def parse_schedule(raw: bytes, where: str, *, today: dt.date) -> list[_Line]:
    """Every line checked; all problems at once, each as `FILE:LINE` and `column: message`."""
    if len(raw) > MAX_SCHEDULE_BYTES:
        raise InvalidInput([Problem(where, "is larger than 2 MB: not one day's schedule")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"is not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8'"
        raise InvalidInput([Problem(where, message)]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise InvalidInput([Problem(f"{where}:1", f"is not CSV: {exc}")]) from None
    if header is None:
        raise InvalidInput([Problem(where, "is empty: the first line names the columns")])
    columns = [_column(name) for name in header]
    problems = _header_problems(columns, f"{where}:1")
    if problems:
        raise InvalidInput(problems)
    lines: list[_Line] = []
    try:
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                problems.append(Problem(f"{where}:{number}", f"has {len(row)} values for {len(columns)} columns"))
                continue
            line, found = _line(dict(zip(columns, row, strict=True)), number, today)
            problems.extend(Problem(f"{where}:{number}", message) for message in found)
            if line is not None:
                lines.append(line)
    except csv.Error as exc:
        problems.append(Problem(f"{where}:{reader.line_num}", f"is not CSV: {exc}"))
    if not lines and not problems:
        problems.append(Problem(where, "holds no scheduled procedures (only the line of column names)"))
    if problems:
        raise InvalidInput(problems)
    return lines


def _header_problems(columns: Sequence[str], where: str) -> list[Problem]:
    if len(columns) == 1 and ";" in columns[0]:
        return [Problem(where, "the columns are separated by ';': save the file with commas (CSV)")]
    problems = [Problem(where, f"column {c!r} appears twice") for c in sorted(set(columns)) if columns.count(c) > 1]
    problems += [Problem(where, f"unknown column {c!r}; the columns are {', '.join(COLUMNS)}")
                 for c in columns if c not in COLUMNS]  # fmt: skip
    problems += [Problem(where, f"column {c!r} is missing") for c in COLUMNS if c not in columns]
    return problems


def _line(cells: Mapping[str, str], number: int, today: dt.date) -> tuple[_Line | None, list[str]]:
    """One row checked by the case's own validation, for the fields a schedule has."""
    family, given = _name(cells["name"])
    levels, bad = _levels(cells["levels"])
    date_text = cells["date"].strip()
    planned = dt.date.fromisoformat(date_text) if DATE_RE.fullmatch(date_text) and _is_date(date_text) else None
    case: dict[str, Any] = {
        "patient": {"mrn": cells["mrn"], "family_name": family, "given_name": given,
                    "birth_date": cells["birth_date"].strip(), "sex": _sex(cells["sex"])},
        "procedure_date": date_text, "procedure": _procedure(cells["procedure"]), "levels": levels,
        "surgeon": cells["surgeon"], **_NOT_SCHEDULED,
    }  # fmt: skip
    if case["procedure"] == "other":
        # "Other procedure" needs its detail, asked for in the case form; a stand-in lets validation read the
        # rest of the line (left out, the line failed with no message to show and was dropped in silence).
        case["procedure_detail"] = "asked for in the case form"
    # A schedule plans days ahead: "not in the future" is the completed case's rule, checked when it is saved.
    record, problems = validate_case(case, today=max(today, planned or today))
    messages = [f"levels: {item!r} is not a level and a side (e.g. 'L4-L5 bilateral')" for item in bad]
    for p in problems:
        if bad and p.path == "levels":
            continue  # a level not read is named above
        field = p.path.split("[")[0]
        column = _COLUMN_OF.get(p.path) or _COLUMN_OF.get(field) or p.path
        what = {"patient.family_name": " (family name)", "patient.given_name": " (given name)"}.get(p.path, "")
        messages.append(f"{column}{what}: {p.message}")
    if record is None or messages:
        return None, messages
    line = _Line(number, record.procedure_date, record.patient, record.procedure, record.levels, record.surgeon)
    return line, []


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


# ---- storing and completing -----------------------------------------------------------------------------------


def _entry(row: Any) -> ScheduledProcedure:
    return ScheduledProcedure(
        id=row.id, procedure_date=row.procedure_date, patient=patient_from_row(row), procedure=row.procedure,
        levels=tuple(TreatedLevel(level, side) for level, side in row.levels), surgeon=row.surgeon,
        source=row.source, source_line=row.source_line, status=row.status, case_number=row.case_number,
    )  # fmt: skip


def _identity_problems(session: Session, lines: list[_Line], where: str) -> list[Problem]:
    """One MRN is one patient (as an import checks): against earlier lines, the patients on file and the
    procedures already waiting; and one procedure is not scheduled twice for a patient on one day."""
    problems: list[Problem] = []
    mrns = sorted({line.patient.mrn for line in lines})
    on_file = {row.mrn: patient_from_row(row) for row in
               session.execute(select(patients_t).where(patients_t.c.mrn.in_(mrns)))}  # fmt: skip
    waiting = [_entry(row) for row in session.execute(
        select(scheduled_t).where(scheduled_t.c.mrn.in_(mrns), scheduled_t.c.status == "to_complete"))]  # fmt: skip
    seen: dict[str, _Line] = {}
    planned: dict[tuple[dt.date, str, str], str] = {
        (e.procedure_date, e.patient.mrn, e.procedure): f"{e.source} line {e.source_line}" for e in waiting
    }
    for line in lines:
        p, here = line.patient, f"{where}:{line.number}"
        earlier = seen.setdefault(p.mrn, line)
        known = on_file.get(p.mrn)
        other = next((e for e in waiting if e.patient.mrn == p.mrn and not same_patient(e.patient, p)), None)
        if not same_patient(earlier.patient, p):
            problems.append(Problem(here, f"MRN {p.mrn} is {describe_patient(earlier.patient)} at line "
                                          f"{earlier.number} but {describe_patient(p)} here; one MRN is one "
                                          "patient"))  # fmt: skip
        elif known is not None and not same_patient(known, p):
            problems.append(Problem(here, f"MRN {p.mrn} is already registered to {describe_patient(known)}; this "
                                          f"line gives {describe_patient(p)}. One MRN is one patient: correct the "
                                          "schedule, or the patient's cases first"))  # fmt: skip
        elif other is not None:
            problems.append(Problem(here, f"MRN {p.mrn} is waiting to be completed as "
                                          f"{describe_patient(other.patient)} ({other.source} line "
                                          f"{other.source_line}); this line gives {describe_patient(p)}"))  # fmt: skip
        if problems and problems[-1].path == here:
            continue
        key = (line.procedure_date, p.mrn, line.procedure)
        if key in planned:
            name = vocab.label(vocab.PROCEDURE_SHORT, line.procedure)
            problems.append(Problem(here, f"{name} for MRN {p.mrn} on {line.procedure_date} is already on the "
                                          f"list to complete ({planned[key]})"))  # fmt: skip
        planned.setdefault(key, f"line {line.number}")
    return problems


def import_schedule(service: CaseService, path: Path, *, raw: bytes | None = None) -> list[ScheduledProcedure]:
    """Add every line of the schedule at `path` to the procedures to complete, or none (InvalidInput naming
    each line's problems). Coordinators and surgeons, who create cases, may; the import is audited."""
    _permit(service, Action.EDIT_DRAFT, "schedule_import")
    where = str(path)
    lines = parse_schedule(read_schedule_bytes(path) if raw is None else raw, where, today=service.today())
    who = service.actor.username if service.actor else None
    now = utcnow()
    with service.db.write() as session:
        problems = _identity_problems(session, lines, where)
        if problems:
            raise InvalidInput(problems)
        rows = [
            {"procedure_date": line.procedure_date, "mrn": line.patient.mrn, "family_name": line.patient.family_name,
             "given_name": line.patient.given_name, "birth_date": line.patient.birth_date, "sex": line.patient.sex,
             "procedure": line.procedure, "levels": [[lv.level, lv.side] for lv in line.levels],
             "surgeon": line.surgeon, "source": path.name[:200], "source_line": line.number, "imported_at": now,
             "imported_by": who, "status": "to_complete"}
            for line in lines
        ]  # fmt: skip
        ids: list[int] = [
            session.execute(scheduled_t.insert().values(**row).returning(scheduled_t.c.id)).scalar_one() for row in rows
        ]
        # The entries hold the patients; the trail says what was added and from where (no patient data, which
        # administrators may read here).
        audit.record(session, username=who, action="schedule_import", record_type="schedule", record_id=None,
                     details={"file": path.name, "entries": ids,
                              "days": sorted({line.procedure_date.isoformat() for line in lines})})  # fmt: skip
        found = session.execute(select(scheduled_t).where(scheduled_t.c.id.in_(ids)).order_by(scheduled_t.c.id))
        return [_entry(row) for row in found]


def to_complete(service: CaseService) -> list[ScheduledProcedure]:
    """The procedures waiting to be completed as cases, oldest day first (whoever may view cases)."""
    _permit(service, Action.VIEW, "schedule_list")
    with service.db.read() as session:
        rows = session.execute(
            select(scheduled_t)
            .where(scheduled_t.c.status == "to_complete")
            .order_by(scheduled_t.c.procedure_date, scheduled_t.c.source, scheduled_t.c.source_line)
        )
        return [_entry(row) for row in rows]


def _closed(session: Session, entry_id: int, what: str) -> CaselogError:
    """Why an entry could not leave the list: it never existed, or someone else took it off first."""
    found = session.execute(select(scheduled_t.c.status).where(scheduled_t.c.id == entry_id)).scalar()
    if found is None:
        return NotFound(f"Scheduled procedure {entry_id} not found")
    done = "completed" if found == "done" else "cancelled"
    return Conflict(f"This scheduled procedure was {done} by someone else meanwhile; {what}.")


def cancel(service: CaseService, entry_id: int, *, reason: str) -> None:
    """Take a procedure that will not happen (cancelled, the patient did not come) off the list, with a reason;
    coordinators and surgeons, audited. It is kept, marked cancelled, never deleted."""
    _permit(service, Action.EDIT_DRAFT, "schedule_cancel")
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput([Problem("reason", "taking a scheduled procedure off the list needs a reason")])
    with service.db.write() as session:
        gone = session.execute(
            update(scheduled_t)
            .where(scheduled_t.c.id == entry_id, scheduled_t.c.status == "to_complete")
            .values(status="cancelled", closed_at=utcnow())
        ).rowcount  # type: ignore[attr-defined]
        if gone != 1:
            raise _closed(session, entry_id, "nothing was changed")
        audit.record(session, username=service.actor.username if service.actor else None, action="schedule_cancel",
                     record_type="schedule", record_id=str(entry_id), reason=reason, details={})  # fmt: skip


def complete(service: CaseService, entry_id: int, data: Mapping[str, Any]) -> CaseView:
    """Create the draft case the completed form holds and mark the scheduled procedure done, together.

    A procedure someone else completed meanwhile is refused (Conflict), and no second case is made."""
    _permit(service, Action.EDIT_DRAFT, "schedule_complete")

    def mark_done(session: Session, case_number: str) -> None:
        done = session.execute(
            update(scheduled_t)
            .where(scheduled_t.c.id == entry_id, scheduled_t.c.status == "to_complete")
            .values(status="done", case_number=case_number, closed_at=utcnow())
        ).rowcount  # type: ignore[attr-defined]
        if done != 1:
            raise _closed(session, entry_id, "no case was saved. Close the form and look for the case in the list")
        audit.record(session, username=service.actor.username if service.actor else None, action="schedule_done",
                     record_type="schedule", record_id=str(entry_id), details={"case_number": case_number})  # fmt: skip

    return service.create_case(data, then=mark_done)
