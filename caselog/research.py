"""The de-identified research export: cases for a registry or a researcher, with nothing that names a patient.

A ZIP of CSV files and a README (docs/format.md, "Research export"). Names, MRNs, case numbers, birth dates,
places and every free text are left out; a patient is a stable pseudonym, a keyed hash (HMAC-SHA256) of the
MRN under a key made once per database and kept in it (table clinic_secrets), so the clinic, and only the
clinic, can link a pseudonym back. Every date of a patient moves by one number of days derived from the same
key, so intervals stay true and the next export moves them alike. Only quality staff release research data.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import hmac
import io
import secrets
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caselog import audit, pathway
from caselog.accounts import ROLES, accounts_exist, refuse
from caselog.db.tables import clinic_secrets_t, utcnow
from caselog.errors import CaselogError, NotPermitted
from caselog.records import CaseRecord, CaseView
from caselog.service import CaseService

KEY_NAME = "research_pseudonym_key"
#: The key's length in bytes (stored as twice as many hex digits).
KEY_BYTES = 32
#: Roles that may release de-identified data outside the clinic (a database without accounts: its one user).
RESEARCH_ROLES = frozenset({"quality"})
#: Ages above this are written as "90+" (Safe Harbor: ages over 89 are one group).
OLDEST_AGE_SHOWN = 89
#: A patient's dates move by 1 to this many days, earlier or later.
MAX_SHIFT_DAYS = 365

Writer = Callable[[Iterable[CaseView], IO[bytes]], int]


# ---- who may, and the key -----------------------------------------------------------------------------------


def require_research_role(service: CaseService) -> None:
    """Refuse (exit 4, audited) anyone but quality staff: a release outside the clinic is theirs to make."""
    actor = service.actor
    if may_release(service):
        return
    if actor is None:
        raise NotPermitted("This database has accounts: sign in first")
    role = ROLES.get(actor.role, actor.role)
    error = NotPermitted(f"{actor.full_name} ({role}) may not make a research export: only quality staff release "
                         "de-identified data outside the clinic")  # fmt: skip
    refuse(service.db, actor, "research_export", "export", None, error)


def may_release(service: CaseService) -> bool:
    """For the UI: whether to offer the research export at all (the export still checks when it is made)."""
    actor = service.actor
    if actor is None:
        return not accounts_exist(service.db)
    return actor.role in RESEARCH_ROLES and not actor.must_change_password


def stored_key(session: Session) -> str | None:
    found: str | None = session.execute(
        select(clinic_secrets_t.c.value).where(clinic_secrets_t.c.name == KEY_NAME)
    ).scalar()
    return found


def research_key(service: CaseService) -> bytes:
    """The database's pseudonym key, made (and its making audited, never its value) on first use.

    Two workstations making the first export at once agree on one key: the first insert wins, the other
    reads it back.
    """
    with service.db.read() as session:
        stored = stored_key(session)
    if stored is None and any(
        entry.action == "research_key" for entry in audit.entries(service.db, record_type="setting", record_id=KEY_NAME)
    ):
        raise damaged_key("removed from the database after it was made")
    if stored is None:
        with service.db.write() as session:
            from sqlalchemy.dialects import postgresql, sqlite  # PostgreSQL's dialect loads with a server only

            dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
            made = session.execute(
                dialect.insert(clinic_secrets_t)
                .values(name=KEY_NAME, value=secrets.token_hex(KEY_BYTES), created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["name"])
                .returning(clinic_secrets_t.c.name)
            ).first()
            if made is not None:
                made_key = {"made": "the research export's pseudonym key (its value is never shown)"}
                audit.record(session, username=service.actor.username if service.actor else None,
                             action="research_key", record_type="setting", record_id=KEY_NAME,
                             details=made_key)  # fmt: skip
            stored = stored_key(session)
    assert stored is not None
    return key_bytes(stored)


def key_bytes(stored: str) -> bytes:
    """The stored key as made: 64 hex digits. Anything else was edited outside CaseLog; a short or empty key
    would give pseudonyms anyone can recompute from an MRN, and a new key would break every linkage, so the
    export is refused rather than made under either."""
    try:
        key = bytes.fromhex(stored)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES or len(stored) != 2 * KEY_BYTES:
        raise damaged_key("edited outside CaseLog")
    return key


def damaged_key(how: str) -> CaselogError:
    return CaselogError(
        f"The research export's pseudonym key was {how}: no research export is made. Restore the database from "
        "a backup made before the damage; a new key would give every patient new pseudonyms."
    )


@dataclass(frozen=True)
class Pseudonyms:
    """Keyed hashes of identifiers: the same input and key give the same pseudonym in every export."""

    key: bytes

    def _digest(self, kind: str, value: str) -> bytes:
        return hmac.new(self.key, f"{kind}\x00{value}".encode(), hashlib.sha256).digest()

    def patient(self, mrn: str) -> str:
        return "P-" + self._digest("patient", mrn)[:8].hex().upper()

    def case(self, case_number: str) -> str:
        return "C-" + self._digest("case", case_number)[:8].hex().upper()

    def surgeon(self, name: str) -> str:
        return "S-" + self._digest("surgeon", name)[:4].hex().upper()

    def shift_days(self, mrn: str) -> int:
        """The patient's date shift: -365..-1 or 1..365 days, never 0 (every date moves)."""
        n = int.from_bytes(self._digest("date-shift", mrn)[:8], "big") % (2 * MAX_SHIFT_DAYS)
        return n - MAX_SHIFT_DAYS if n < MAX_SHIFT_DAYS else n - MAX_SHIFT_DAYS + 1


def age_text(record: CaseRecord) -> str:
    """Age at the procedure in whole years; over 89 as "90+"."""
    age = record.patient.age_on(record.procedure_date)
    return f"{OLDEST_AGE_SHOWN + 1}+" if age > OLDEST_AGE_SHOWN else str(age)


# ---- the files ------------------------------------------------------------------------------------------------

CASE_COLUMNS = (
    "patient_pseudonym", "case_pseudonym", "status", "sex", "age_at_procedure", "procedure_date", "procedure",
    "surgeon_pseudonym", "cpt_codes", "diagnosis_codes", "injury_related", "prior_block_relief_percent", "levels",
    "level_count", "duration_minutes", "anesthesia_type", "sedation", "asa_class", "emergency",
    "estimated_blood_loss_ml", "disposition", "fluoroscopy_time_s", "outside_policy", "block_anesthetic",
    "block_pain_before", "block_diary", "block_peak_relief_percent", "block_activities_possible",
    "complication_count", "worst_clavien_dindo",
)  # fmt: skip
LEVEL_COLUMNS = ("case_pseudonym", "level", "side", "volume_ml")
COMPLICATION_COLUMNS = (
    "case_pseudonym", "patient_pseudonym", "category", "timing", "onset_date", "onset_day_after_procedure",
    "clavien_dindo", "resolved_date", "review_status",
)  # fmt: skip
OUTCOME_COLUMNS = (
    "case_pseudonym", "patient_pseudonym", "timepoint", "date", "day_after_procedure", "nrs_back", "nrs_leg", "odi",
    "relief_percent", "nrs_neck", "nrs_arm", "ndi", "pgic", "work_status", "analgesics", "returned_to_activities",
    "physical_therapy",
)  # fmt: skip
ATTEMPT_COLUMNS = ("case_pseudonym", "patient_pseudonym", "timepoint", "date", "day_after_procedure", "result")

#: Everything the interchange format holds that the export leaves out, as the README lists it.
REMOVED = (
    'patient names, MRNs and birth dates (age at the procedure instead; over 89 as "90+")',
    "case numbers (a case pseudonym instead)",
    "surgeon names (a surgeon pseudonym instead); assistants and the anesthesia provider",
    "facility, referring physician and copy recipients (names and addresses)",
    "all free text: procedure detail, indication, notes, the reason a case was outside the clinic's policy, "
    "complication descriptions and treatments, reviewers' notes, the block anesthetic's description, notes on "
    "follow-up attempts",
    "clock times of the procedure (its duration stays)",
)


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _blank(value: Any) -> Any:
    return "" if value is None else value


def _shifted(day: dt.date | None, shift: dt.timedelta) -> str:
    return "" if day is None else (day + shift).isoformat()


def _case_row(record: CaseRecord, number: str, names: Pseudonyms, shift: dt.timedelta) -> list[Any]:
    a, block = record.anesthesia, record.block
    peak = pathway.peak_relief(block) if block is not None else None
    return [
        names.patient(record.patient.mrn), names.case(number), record.status, record.patient.sex, age_text(record),
        (record.procedure_date + shift).isoformat(), record.procedure, names.surgeon(record.surgeon),
        " ".join(record.cpt_codes), " ".join(record.diagnosis_codes), _yes_no(record.injury_related),
        _blank(record.prior_block_relief_percent), record.levels_text, len(record.levels), record.duration_minutes,
        a.type, _blank(a.sedation), _blank(a.asa_class), _yes_no(a.emergency), _blank(record.estimated_blood_loss_ml),
        record.disposition, _blank(record.fluoroscopy_time_s), _yes_no(record.outside_policy_reason is not None),
        block.anesthetic if block else "", _blank(block.pain_before if block else None),
        "; ".join(f"{e.time} {e.pain}" for e in block.diary) if block else "",
        "" if peak is None else pathway.percent_text(peak).rstrip("%"),
        _yes_no(block.activities_possible if block else None), len(record.complications),
        _blank(record.worst_grade),
    ]  # fmt: skip


class _Tables:
    """The five CSV files, each written as the cases stream by (spooled: small exports stay in memory)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[IO[str], Any]] = {}
        self._stack = contextlib.ExitStack()
        tables = {"cases.csv": CASE_COLUMNS, "levels.csv": LEVEL_COLUMNS, "complications.csv": COMPLICATION_COLUMNS,
                  "outcomes.csv": OUTCOME_COLUMNS, "follow_up_attempts.csv": ATTEMPT_COLUMNS}  # fmt: skip
        for name, columns in tables.items():
            spool = self._stack.enter_context(  # closed with the stack (close())
                tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+", encoding="utf-8", newline="")  # noqa: SIM115
            )
            spool.write("\ufeff")  # Excel reads UTF-8 with its byte-order mark
            writer = csv.writer(spool, dialect="excel")
            writer.writerow(columns)
            self.files[name] = (spool, writer)

    def add(self, name: str, row: list[Any]) -> None:
        self.files[name][1].writerow(row)

    def parts(self) -> Iterator[tuple[str, IO[str]]]:
        for name, (spool, _) in self.files.items():
            spool.seek(0)
            yield name, spool

    def close(self) -> None:
        self._stack.close()


def write_research_zip(views: Iterable[CaseView], out: IO[bytes], names: Pseudonyms, *, made_at: dt.datetime) -> int:
    """The ZIP: README.txt, cases.csv, levels.csv, complications.csv, outcomes.csv, follow_up_attempts.csv.
    Returns how many cases."""
    tables = _Tables()
    try:
        count = 0
        for view in views:
            r = view.record
            shift = dt.timedelta(days=names.shift_days(r.patient.mrn))
            case, patient = names.case(view.case_number), names.patient(r.patient.mrn)
            tables.add("cases.csv", _case_row(r, view.case_number, names, shift))
            for lv in r.levels:
                tables.add("levels.csv", [case, lv.level, lv.side, _blank(lv.volume_ml)])
            for c in r.complications:
                resolved = _shifted(c.resolved_date, shift)
                tables.add("complications.csv", [
                    case, patient, c.category, c.timing, (c.onset_date + shift).isoformat(),
                    (c.onset_date - r.procedure_date).days, c.clavien_dindo, resolved, c.review_status,
                ])  # fmt: skip
            for o in r.outcomes:
                tables.add("outcomes.csv", [
                    case, patient, o.timepoint, (o.date + shift).isoformat(), (o.date - r.procedure_date).days,
                    _blank(o.nrs_back), _blank(o.nrs_leg), _blank(o.odi), _blank(o.relief_percent),
                    _blank(o.nrs_neck), _blank(o.nrs_arm), _blank(o.ndi), _blank(o.pgic), _blank(o.work_status),
                    _blank(o.analgesics), _shifted(o.returned_to_activities, shift), _yes_no(o.physical_therapy),
                ])  # fmt: skip
            for a in r.attempts_by_date:  # never the note: free text
                tables.add("follow_up_attempts.csv", [
                    case, patient, a.timepoint, (a.date + shift).isoformat(), (a.date - r.procedure_date).days,
                    a.result,
                ])  # fmt: skip
            count += 1
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(_entry("README.txt", made_at), readme(count, made_at))
            for name, spool in tables.parts():
                with (
                    archive.open(_entry(name, made_at), "w") as member,
                    io.TextIOWrapper(member, encoding="utf-8", newline="") as text,
                ):
                    while chunk := spool.read(1 << 16):
                        text.write(chunk)
        return count
    finally:
        tables.close()


def _entry(name: str, made_at: dt.datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, made_at.timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16  # owner-only when unpacked, as CaseLog's own files
    return info


def readme(count: int, made_at: dt.datetime) -> str:
    removed = "\n".join(f"  - {item}" for item in REMOVED)
    return f"""CaseLog de-identified research export
Made {made_at:%Y-%m-%d %H:%M} (local time of the clinic); {count} case{"" if count == 1 else "s"}.

Files (UTF-8 CSV, one header row):
  cases.csv          one row per procedure
  levels.csv         the treated levels of each case (case_pseudonym)
  complications.csv  complications: category, timing, Clavien-Dindo grade, shifted dates
  outcomes.csv       pain (NRS 0-10: back, leg, neck, arm), Oswestry and Neck Disability Index, relief,
                     PGIC (1 very much improved .. 7 very much worse), work status, pain medication, the
                     shifted date of the return to usual activities, physical therapy (yes/no) per timepoint
  follow_up_attempts.csv  attempts to reach the patient that gave no outcome: timepoint, shifted date,
                     result (could_not_reach, moved_away, declined, died)

Removed:
{removed}

Pseudonyms: patient_pseudonym (P-...), case_pseudonym (C-...) and surgeon_pseudonym (S-...) are keyed
hashes (HMAC-SHA256) under a secret key that stays in the clinic's database. The same patient, case or
surgeon has the same pseudonym in every research export of this clinic; only the clinic can link one back.

Dates: every date of a patient (procedure, complication onset and resolution, outcome scores, return to
activities, follow-up attempts) is moved by
the same number of days, between 1 and 365 days earlier or later, kept secret by the clinic and different
from patient to patient. Intervals between one patient's dates are true (onset_day_after_procedure and
day_after_procedure give them directly); calendar dates, weekdays and seasons are not. The HIPAA Safe
Harbor method itself keeps only the year of a date: these shifted dates are the clinic's de-identification
choice, for outcome research that needs true intervals.

Ages: whole years at the procedure, computed from the true dates; over 89 as "90+".

Codes: procedure, levels, sides, anesthesia, disposition, complication category, timing and review status
are CaseLog's keys (see the CaseLog contract); cpt_codes and diagnosis_codes (ICD-10-CM) are separated by
spaces; levels as "L4-L5 bilateral; L5-S1 left".
"""


def writer(service: CaseService, *, now: Callable[[], dt.datetime] = dt.datetime.now) -> Writer:
    """The research export's writer for this account: refused unless quality staff, keyed with the clinic's
    key (made on the first export)."""
    require_research_role(service)
    names = Pseudonyms(research_key(service))

    def write(views: Iterable[CaseView], out: IO[bytes]) -> int:
        return write_research_zip(views, out, names, made_at=now())

    return write
