"""The service layer: every change to cases goes through here, one transaction per user action.

The command line, the desktop app and any script call these methods, so the rules and their refusals are
the same everywhere. Callers get frozen records back, never database objects.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from sqlalchemy import delete, update

from caselog import vocab
from caselog.db import store
from caselog.db.engine import Database
from caselog.db.models import CaseAmendmentRow
from caselog.errors import Conflict, InvalidInput, NotFound, NotPermitted
from caselog.records import CaseFilter, CaseRecord, CaseRow, CaseView, Patient, case_to_contract
from caselog.validation import Problem, validate_case, validate_file

SIGNED_STATUSES = frozenset({"final", "amended"})
#: After adding this many cases at once, refresh the planner's statistics so sorted lists stay fast.
BULK_ANALYZE_CASES = 1000

#: progress(done, total, message): long work reports through this plain callback; the UI makes it a signal.
Progress = Callable[[int, int, str], None]


class CaseService:
    """Cases in one database. `today` is injectable so date rules are testable on any day."""

    def __init__(self, db: Database, *, today: Callable[[], dt.date] = dt.date.today) -> None:
        self.db = db
        self._today = today

    # ---- adding -----------------------------------------------------------------------------------------

    def create_case(self, data: Mapping[str, Any]) -> CaseView:
        """Validate one CASE object and store it; returns the stored case with its new number."""
        record, problems = validate_case(data, today=self._today())
        if record is None:
            raise InvalidInput(problems)
        numbers = self._insert([record], [""])
        return self.get_case(numbers[0])

    def import_cases(self, data: object, *, progress: Progress | None = None) -> list[str]:
        """Import an interchange file's content: all cases or none. Returns the new case numbers in file order."""
        records, problems = validate_file(data, today=self._today())
        if problems:
            raise InvalidInput(problems)
        if progress:
            progress(0, len(records), "Saving cases")
        numbers = self._insert(records, [f"cases[{i}]" for i in range(len(records))])
        if progress:
            progress(len(records), len(records), "Saved")
        return numbers

    def add_records(self, records: list[CaseRecord], *, refresh_statistics: bool = True) -> list[str]:
        """Store records that were validated already (demo data); same checks against the database."""
        return self._insert(records, [f"cases[{i}]" for i in range(len(records))], refresh_statistics)

    def _insert(self, records: list[CaseRecord], paths: list[str], refresh_statistics: bool = True) -> list[str]:
        with self.db.write() as session:
            result = store.insert_cases(session, records, paths, now=store.utcnow())
            if result and isinstance(result[0], Problem):
                raise InvalidInput([p for p in result if isinstance(p, Problem)])
            numbers = [n for n in result if isinstance(n, str)]
        if refresh_statistics and len(numbers) >= BULK_ANALYZE_CASES:
            self.db.refresh_statistics()
        return numbers

    # ---- reading ----------------------------------------------------------------------------------------

    def get_case(self, case_number: str) -> CaseView:
        with self.db.read() as session:
            found = store.case_id_for_number(session, case_number)
            if found is None:
                raise NotFound(f"Case {case_number} not found")
            return store.load_views(session, [found[0]])[0]

    def get_cases(self, case_numbers: list[str]) -> list[CaseView]:
        """Several cases in the order asked; an unknown number is refused before anything is printed."""
        with self.db.read() as session:
            ids: list[int] = []
            missing: list[str] = []
            for number in case_numbers:
                found = store.case_id_for_number(session, number)
                if found is None:
                    missing.append(number)
                else:
                    ids.append(found[0])
            if missing:
                raise NotFound(f"Case {', '.join(missing)} not found")
            return store.load_views(session, ids)

    def query(
        self,
        case_filter: CaseFilter | None = None,
        *,
        sort: str = "procedure_date",
        descending: bool = False,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[CaseRow]:
        with self.db.read() as session:
            return store.list_rows(
                session, case_filter or CaseFilter(), sort=sort, descending=descending, offset=offset, limit=limit
            )

    def count(self, case_filter: CaseFilter | None = None) -> int:
        with self.db.read() as session:
            return store.count_cases(session, case_filter or CaseFilter())

    def iter_cases(self, case_filter: CaseFilter | None = None) -> Iterator[CaseView]:
        """Every matching case in export order (procedure date, case number), streamed from one snapshot."""
        with self.db.read() as session:
            yield from store.iter_views(session, case_filter or CaseFilter())

    def find_patient(self, mrn: str) -> Patient | None:
        """The patient known under this MRN, so a form can fill in the name."""
        with self.db.read() as session:
            return store.patient_by_mrn(session, mrn.strip())

    def surgeons(self) -> list[str]:
        with self.db.read() as session:
            return store.distinct_values(session, "surgeon")

    def facilities(self) -> list[str]:
        with self.db.read() as session:
            return store.distinct_values(session, "facility")

    # ---- changing ---------------------------------------------------------------------------------------

    def update_case(
        self,
        case_number: str,
        data: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        reason: str | None = None,
    ) -> CaseView:
        """Replace a case's content. A signed case needs a reason and becomes `amended`, keeping its old content.

        `expected_version` is the version the caller's copy was made from: a newer one in the database means
        someone else saved first, and the update is refused (Conflict) instead of overwriting their change.
        """
        record, problems = validate_case(data, today=self._today(), allowed_statuses=frozenset(vocab.CASE_STATUSES))
        if record is None:
            raise InvalidInput(problems)
        if record.case_number is not None and record.case_number != case_number:
            raise InvalidInput(
                [Problem("case_number", f"is {record.case_number}, but the case updated is {case_number}")]
            )
        with self.db.write() as session:
            found = store.case_id_for_number(session, case_number)
            if found is None:
                raise NotFound(f"Case {case_number} not found")
            case_id, version, status, patient_id = found
            if expected_version is not None and expected_version != version:
                raise Conflict(
                    f"Case {case_number} was changed by someone else (now version {version}, your copy is version "
                    f"{expected_version}); nothing was saved. Reopen the case to see their change."
                )
            signed = status in SIGNED_STATUSES
            new_status = "amended" if signed else "draft"
            if not signed and record.status != "draft":
                raise InvalidInput([Problem("status", "a draft stays a draft when edited; signing is a separate step")])
            reason = (reason or "").strip() or None
            if signed and reason is None:
                raise InvalidInput([Problem("reason", f"case {case_number} is signed: an amendment needs a reason")])
            old = store.load_views(session, [case_id])[0]
            if record.procedure_date.year != old.record.procedure_date.year:
                raise InvalidInput(
                    [Problem("procedure_date", f"moves the case to another year than its number {case_number}")]
                )
            if signed:
                session.add(
                    CaseAmendmentRow(
                        case_id=case_id,
                        amended_at=store.utcnow(),
                        reason=reason,
                        previous_version=version,
                        previous_content=json.dumps(case_to_contract(old.record), ensure_ascii=False),
                    )
                )
            resolution = store.resolve_patients(
                session, [("patient", record.patient)], editable_mrn=self._editable_patient(session, old, patient_id)
            )
            if resolution.problems:
                raise InvalidInput(resolution.problems)
            values = store.case_values(record)
            values.update(
                status=new_status,
                version=version + 1,
                patient_id=resolution.ids[record.patient.mrn],
                updated_at=store.utcnow(),
            )  # fmt: skip
            changed = session.execute(
                update(store.cases_t)
                .where(store.cases_t.c.id == case_id, store.cases_t.c.version == version)
                .values(**values)
            ).rowcount  # type: ignore[attr-defined]
            if changed != 1:
                raise Conflict(f"Case {case_number} was changed by someone else while saving; nothing was saved.")
            store.delete_children(session, case_id)
            store.insert_children(session, [case_id], [record])
            store.set_search_text(session, case_id, case_number, record)
            if resolution.ids[record.patient.mrn] != patient_id:
                store.drop_patient_if_unused(session, patient_id)
            return store.load_views(session, [case_id])[0]

    @staticmethod
    def _editable_patient(session: Any, old: CaseView, patient_id: int) -> tuple[str, int] | None:
        """The case's patient may be corrected in place when this is their only case."""
        from sqlalchemy import func, select

        others = session.execute(
            select(func.count()).select_from(store.cases_t).where(store.cases_t.c.patient_id == patient_id)
        ).scalar_one()
        return (old.record.patient.mrn, patient_id) if others == 1 else None

    def delete_case(self, case_number: str, *, reason: str, expected_version: int | None = None) -> None:
        """Delete a draft. Signed cases are medical records: they are amended, never deleted."""
        if not reason or not reason.strip():
            raise InvalidInput([Problem("reason", "deleting a case needs a reason")])
        with self.db.write() as session:
            found = store.case_id_for_number(session, case_number)
            if found is None:
                raise NotFound(f"Case {case_number} not found")
            case_id, version, status, patient_id = found
            if status in SIGNED_STATUSES:
                raise NotPermitted(f"Case {case_number} is signed; signed cases cannot be deleted (amend it instead)")
            if expected_version is not None and expected_version != version:
                raise Conflict(f"Case {case_number} was changed by someone else; nothing was deleted.")
            session.execute(delete(store.cases_t).where(store.cases_t.c.id == case_id))
            store.drop_patient_if_unused(session, patient_id)
