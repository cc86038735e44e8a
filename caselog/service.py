"""The service layer: every change to cases goes through here, one transaction per user action.

The command line, the desktop app and any script call these methods, so the rules and their refusals are
the same everywhere. Callers get frozen records back, never database objects.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy import text as sa_text
from sqlalchemy.orm import Session

from caselog import audit, clinic, policy, vocab
from caselog.accounts import ROLES, Action, Actor, accounts_exist, allowed, entries_for, refusal, refuse
from caselog.bulk import cyclic_gc_paused
from caselog.db import queries, store
from caselog.db.engine import Database
from caselog.db.models import CaseAmendmentRow
from caselog.errors import Conflict, InvalidInput, NotFound, NotPermitted
from caselog.policy import IndicationPolicy
from caselog.records import CaseFilter, CaseListItem, CaseRecord, CaseView, Patient, case_to_contract
from caselog.validation import Problem, validate_case, validate_file

if TYPE_CHECKING:  # the pathway (caselog.pathway, its queries) loads on its first use, after the app's start
    from caselog.pathway import IndicationCheck, OutsidePolicyCase, Pathway, PathwayCase

SIGNED_STATUSES = frozenset({"final", "amended"})
#: After adding this many cases at once, refresh the planner's statistics so sorted lists stay fast.
BULK_ANALYZE_CASES = 1000

#: progress(done, total, message): long work reports through this plain callback; the UI makes it a signal.
Progress = Callable[[int, int, str], None]


def _without_reviews(record: CaseRecord) -> CaseRecord:
    complications = tuple(replace(c, review_status="open", review_notes=None) for c in record.complications)
    return replace(record, complications=complications, case_number=None, status="draft")


def classify_change(old: CaseRecord, new: CaseRecord) -> tuple[str, bool]:
    """What an update does: ("none" | "addendum" | "edit", whether any review status changes).

    An addendum only appends complications, outcome scores and follow-up attempts; setting a review status (on an
    existing complication, or a new one not left open) is a review.
    """
    before, after = _without_reviews(old), _without_reviews(new)
    kept = len(old.complications)
    reviewed = [c.review_status for c in old.complications] != [c.review_status for c in new.complications[:kept]]
    reviewed = reviewed or any(c.review_status != "open" for c in new.complications[kept:])
    if before == after:
        return "none", reviewed
    appended = (
        after.complications[: len(before.complications)] == before.complications
        and after.outcomes[: len(before.outcomes)] == before.outcomes
        and after.follow_up_attempts[: len(before.follow_up_attempts)] == before.follow_up_attempts
        and replace(after, complications=before.complications, outcomes=before.outcomes,
                    follow_up_attempts=before.follow_up_attempts) == before
    )  # fmt: skip
    return ("addendum" if appended else "edit"), reviewed


REAL_CASES_MESSAGE = (
    "this database holds real cases: demo cases are made-up patients and would mix with them. "
    "Use a separate database for trying CaseLog out, or confirm with --into-real-database"
)


def _holds_real_cases(session: Session) -> bool:
    """Whether a case exists that `demo` did not make: its latest creating audit entry is not `demo`.

    The audit trail, not the MRN's look, says where a case came from (a demo-like MRN can be typed in).
    """
    made = sa_text(
        "SELECT 1 FROM cases c WHERE NOT EXISTS ("
        " SELECT 1 FROM audit_log d WHERE d.record_type = 'case' AND d.record_id = c.case_number"
        " AND d.action = 'demo' AND NOT EXISTS ("
        "  SELECT 1 FROM audit_log n WHERE n.record_type = 'case' AND n.record_id = c.case_number"
        "  AND n.action IN ('create', 'import') AND n.id > d.id)) LIMIT 1"
    )
    return session.execute(made).first() is not None


class CaseService:
    """Cases in one database, as seen by one signed-in `actor` (None: a database without accounts).

    Every method checks the contract's roles table first and writes its audit entry in the same
    transaction as its change. `today` is injectable so date rules are testable on any day.
    """

    def __init__(
        self, db: Database, *, actor: Actor | None = None, today: Callable[[], dt.date] = dt.date.today
    ) -> None:
        self.db = db
        self.actor = actor
        self._today = today

    def today(self) -> dt.date:
        """The date the service judges "the future" by; forms validate with the same clock."""
        return self._today()

    @property
    def _who(self) -> str | None:
        return self.actor.username if self.actor else None

    def _require(self, action: Action, *, case_number: str | None = None, case_surgeon: str | None = None) -> None:
        """Refuse (NotPermitted, exit 4) what the actor's role may not do; the refusal itself is audited."""
        self.require(action, record_id=case_number, case_surgeon=case_surgeon)

    def require(self, action: Action, *, what: str | None = None, record_type: str = "case",
                record_id: str | None = None, case_surgeon: str | None = None) -> None:  # fmt: skip
        """The roles table for any record (a case, the day's schedule): refused as `what` (the action's name by
        default) on `record_type`/`record_id`, audited; nobody signed in is refused once accounts exist."""
        if self.actor is None:
            if accounts_exist(self.db):
                raise NotPermitted("This database has accounts: sign in first")
            return
        if not allowed(self.actor, action, case_surgeon=case_surgeon):
            refuse(self.db, self.actor, what or str(action), record_type, record_id,
                   refusal(self.actor, action, case_surgeon=case_surgeon))  # fmt: skip

    def allows(self, action: Action, *, case_surgeon: str | None = None) -> bool:
        """For the UI: whether to show an action at all (the service still checks when it is used)."""
        return allowed(self.actor, action, case_surgeon=case_surgeon)

    def record_event(self, action: str, *, record_id: str | None = None, details: Mapping[str, Any] | None = None,
                     record_type: str = "case") -> None:  # fmt: skip
        """Audit what leaves the database without changing it: prints and exports."""
        self._require(Action.VIEW)
        with self.db.write() as session:
            audit.record(session, username=self._who, action=action, record_type=record_type, record_id=record_id,
                         details=details)  # fmt: skip

    # ---- adding -----------------------------------------------------------------------------------------

    def create_case(self, data: Mapping[str, Any], *, then: Callable[[Session, str], None] | None = None) -> CaseView:
        """Validate one CASE object and store it; returns the stored case with its new number.

        `then(session, case_number)` runs in the same transaction after the insert (a scheduled procedure
        marked done with its case, caselog.schedule): if it raises, the case is not stored either."""
        self._require(Action.EDIT_DRAFT)
        record, problems = validate_case(data, today=self._today())
        if record is None:
            raise InvalidInput(problems)
        if record.status != "draft":
            self._require(Action.SIGN, case_surgeon=record.surgeon)
            self._require_policy_reason(record, None)
        numbers = self._insert([record], [""], action="create", then=then)
        return self.get_case(numbers[0])

    def import_cases(self, data: object, *, progress: Progress | None = None) -> list[str]:
        """Import an interchange file's content: all cases or none. Returns the new case numbers in file order.

        A case arriving signed (`final`) is a signature: only the account that may sign for its surgeon may
        bring it in, and the trail records that account as the signer, with the import as the source.
        """
        self._require(Action.EDIT_DRAFT)
        with cyclic_gc_paused():
            records, problems = validate_file(data, today=self._today())
            if problems:
                raise InvalidInput(problems)
            self._require_signing_imported(records)
            if progress:
                progress(0, len(records), "Saving cases")
            numbers = self._insert(records, [f"cases[{i}]" for i in range(len(records))], action="import")
        if progress:
            progress(len(records), len(records), "Saved")
        return numbers

    def _require_signing_imported(self, records: list[CaseRecord]) -> None:
        """Refuse the whole import (audited) when it holds signed cases the actor may not sign for."""
        if self.actor is None:
            return
        who = f"{self.actor.full_name} ({ROLES.get(self.actor.role, self.actor.role)})"
        refused = [
            f"cases[{i}].status: the case arrives signed ({r.status}) as {r.surgeon}'s case, and {who} may not "
            "sign it; import it as a draft for its surgeon to sign"
            for i, r in enumerate(records)
            if r.status != "draft" and not allowed(self.actor, Action.SIGN, case_surgeon=r.surgeon)
        ]
        if refused:
            shown = refused[:20] + ([f"... and {len(refused) - 20} more signed cases"] if len(refused) > 20 else [])
            refuse(self.db, self.actor, "import_signed", "case", None,
                   NotPermitted("\n".join(shown) + "\nNothing was imported."))  # fmt: skip

    def holds_real_cases(self) -> bool:
        """Whether any case was not made by `demo` (tells nothing about the cases, so needs no role)."""
        with self.db.read() as session:
            return _holds_real_cases(session)

    def _require_demo(self) -> None:
        if self.actor is None:
            self._require(Action.ADMINISTER)  # refuses only when the database has accounts
        elif not allowed(self.actor, Action.ADMINISTER):
            role = ROLES.get(self.actor.role, self.actor.role)
            error = NotPermitted(f"{self.actor.full_name} ({role}) may not add demo data: only an administrator may")
            refuse(self.db, self.actor, "demo", "case", None, error)

    def require_demo(self, *, into_real_database: bool = False) -> None:
        """Refuse demo data before any is made up: the role (audited), then a database holding real cases."""
        self._require_demo()
        if not into_real_database and self.holds_real_cases():
            raise InvalidInput([Problem("--into-real-database", REAL_CASES_MESSAGE)])

    def offers_demo(self) -> bool:
        """For the app: offer demo data only to whom may add it, and only on an empty database.

        (The command line may add more demo data to a demo-only database; `add_records` checks either way.)
        """
        permitted = allowed(self.actor, Action.ADMINISTER) if self.actor else not accounts_exist(self.db)
        if not permitted:
            return False
        with self.db.read() as session:
            return session.execute(select(store.cases_t.c.id).limit(1)).first() is None

    def add_records(
        self, records: list[CaseRecord], *, refresh_statistics: bool = True, into_real_database: bool = False
    ) -> list[str]:
        """Store demo cases (validated already); same checks against the database.

        Made-up patients must never mix silently with a clinic's: with accounts only an administrator may
        add them, and a database holding real cases needs `into_real_database`.
        """
        self._require_demo()
        paths = [f"cases[{i}]" for i in range(len(records))]

        def demo_only(session: Session) -> None:
            if not into_real_database and _holds_real_cases(session):
                raise InvalidInput([Problem("--into-real-database", REAL_CASES_MESSAGE)])

        with cyclic_gc_paused():
            return self._insert(records, paths, action="demo", refresh_statistics=refresh_statistics, check=demo_only)

    def add_record_stream(
        self, records: Iterable[CaseRecord], *, into_real_database: bool = False, batch: int = 5000,
        progress: Callable[[int], None] | None = None,
    ) -> tuple[int, str | None, str | None]:  # fmt: skip
        """Store a stream of demo cases (validated already) in one write transaction, `batch` at a time: all of
        them or, if anything fails on the way, none (the audit trail's chain untouched). Returns how many, and the
        first and last case numbers. `progress(stored)` is called after each batch.

        The write lock is held while the stream lasts: other workstations wait (or time out) meanwhile."""
        self._require_demo()
        now = store.utcnow()
        count, first, last = 0, None, None
        with self.db.write() as session:
            if not into_real_database and _holds_real_cases(session):
                raise InvalidInput([Problem("--into-real-database", REAL_CASES_MESSAGE)])
            stream = iter(records)
            while chunk := list(itertools.islice(stream, batch)):
                paths = [f"cases[{count + i}]" for i in range(len(chunk))]
                with cyclic_gc_paused():
                    numbers = self._insert_in(session, chunk, paths, action="demo", now=now)
                count += len(numbers)
                first, last = first or numbers[0], numbers[-1]
                if progress is not None:
                    progress(count)
        if count >= BULK_ANALYZE_CASES:
            self.db.refresh_statistics()
        return count, first, last

    def _insert(
        self, records: list[CaseRecord], paths: list[str], *, action: str, refresh_statistics: bool = True,
        check: Callable[[Session], None] | None = None, then: Callable[[Session, str], None] | None = None,
    ) -> list[str]:  # fmt: skip
        now = store.utcnow()
        with self.db.write() as session:
            if check is not None:
                check(session)
            numbers = self._insert_in(session, records, paths, action=action, now=now)
            if then is not None:
                for number in numbers:
                    then(session, number)
        if refresh_statistics and len(numbers) >= BULK_ANALYZE_CASES:
            self.db.refresh_statistics()
        return numbers

    def _insert_in(
        self, session: Session, records: list[CaseRecord], paths: list[str], *, action: str, now: dt.datetime
    ) -> list[str]:
        """Insert the records and their audit entries in the caller's transaction; their case numbers."""
        result = store.insert_cases(session, records, paths, now=now)
        if result and isinstance(result[0], Problem):
            raise InvalidInput([p for p in result if isinstance(p, Problem)])
        numbers = [n for n in result if isinstance(n, str)]
        entries = []
        signed: dict[str, list[str]] = {}  # signer: the case numbers they sign by importing them
        for number, r in zip(numbers, records, strict=True):
            content = case_to_contract(r)
            content["case_number"] = number
            entries.append(audit.NewEntry(self._who, action, "case", number, {"content": content}))
            if r.status != "draft" and action != "demo":
                # As `sign_case`: the signed-in surgeon signs; without accounts, the case's own surgeon.
                signer = self.actor.full_name if self.actor else r.surgeon
                signed.setdefault(signer, []).append(number)
                details = {"changes": {"signed_by": [None, signer]}, "arrived_signed": action}
                entries.append(audit.NewEntry(self._who, "sign", "case", number, details))
        for signer, signed_numbers in signed.items():
            for start in range(0, len(signed_numbers), 500):
                session.execute(
                    update(store.cases_t)
                    .where(store.cases_t.c.case_number.in_(signed_numbers[start : start + 500]))
                    .values(signed_by=signer, signed_at=now)
                )
        audit.record_many(session, entries)
        return numbers

    # ---- reading ----------------------------------------------------------------------------------------

    def get_case(self, case_number: str) -> CaseView:
        self._require(Action.VIEW)
        with self.db.read() as session:
            found = queries.case_id_for_number(session, case_number)
            if found is None:
                raise NotFound(f"Case {case_number} not found")
            return queries.load_views(session, [found[0]])[0]

    def get_cases(self, case_numbers: list[str]) -> list[CaseView]:
        """Several cases in the order asked; an unknown number is refused before anything is printed."""
        self._require(Action.VIEW)
        with self.db.read() as session:
            ids: list[int] = []
            missing: list[str] = []
            for number in case_numbers:
                found = queries.case_id_for_number(session, number)
                if found is None:
                    missing.append(number)
                else:
                    ids.append(found[0])
            if missing:
                raise NotFound(f"Case {', '.join(missing)} not found")
            return queries.load_views(session, ids)

    def query(
        self,
        case_filter: CaseFilter | None = None,
        *,
        sort: str = "procedure_date",
        descending: bool = False,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[CaseListItem]:
        self._require(Action.VIEW)
        with self.db.read() as session:
            return queries.list_rows(
                session, case_filter or CaseFilter(), sort=sort, descending=descending, offset=offset, limit=limit
            )

    def count(self, case_filter: CaseFilter | None = None) -> int:
        self._require(Action.VIEW)
        with self.db.read() as session:
            return queries.count_cases(session, case_filter or CaseFilter())

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """One read snapshot for the core's figures over the cases (dashboard, quality desk, report counts).

        The roles table is checked once, here, before the snapshot opens: whoever may not view cases is
        refused (and the refusal audited) without a query being run for them.
        """
        self._require(Action.VIEW)
        with self.db.read() as session:
            yield session

    def iter_cases(self, case_filter: CaseFilter | None = None) -> Iterator[CaseView]:
        """Every matching case in export order (procedure date, case number), streamed from one snapshot.

        The role is checked here, before the stream is handed out: an export refused half-way would already
        have written its header (a generator's body only runs at the first case).
        """
        self._require(Action.VIEW)
        return self._stream(case_filter or CaseFilter())

    def _stream(self, case_filter: CaseFilter) -> Iterator[CaseView]:
        with self.db.read() as session:
            yield from queries.iter_views(session, case_filter)

    def find_patient(self, mrn: str) -> Patient | None:
        """The patient known under this MRN, so a form can fill in the name."""
        self._require(Action.VIEW)
        with self.db.read() as session:
            return queries.patient_by_mrn(session, mrn.strip())

    def surgeons(self) -> list[str]:
        self._require(Action.VIEW)
        with self.db.read() as session:
            return queries.distinct_values(session, "surgeon")

    def facilities(self) -> list[str]:
        self._require(Action.VIEW)
        with self.db.read() as session:
            return queries.distinct_values(session, "facility")

    # ---- changing ---------------------------------------------------------------------------------------

    def _state(self, case_number: str) -> tuple[str, str]:
        """(status, surgeon) of a case, read before deciding who may change it."""
        with self.db.read() as session:
            found = queries.case_id_for_number(session, case_number)
            if found is None:
                raise NotFound(f"Case {case_number} not found")
            surgeon = session.execute(
                select(store.cases_t.c.surgeon).where(store.cases_t.c.id == found[0])
            ).scalar_one()
            return found[2], surgeon

    def _locked(self, session: Session, case_number: str, status: str) -> tuple[int, int, int, CaseView]:
        """(id, version, patient id, view) of a case inside a write; refuses if its status moved meanwhile."""
        found = queries.case_id_for_number(session, case_number)
        if found is None:
            raise NotFound(f"Case {case_number} not found")
        case_id, version, current, patient_id = found
        if current != status:
            raise Conflict(f"Case {case_number} was changed by someone else (now {current}); nothing was saved.")
        return case_id, version, patient_id, queries.load_views(session, [case_id])[0]

    def update_case(
        self,
        case_number: str,
        data: Mapping[str, Any],
        *,
        expected_version: int | None = None,
        reason: str | None = None,
    ) -> CaseView:
        """Replace a case's content, as the roles table allows it.

        What changed decides what it is: on a draft, an edit; on a signed case, complications and outcomes
        only appended make an addendum (the case stays signed), anything else an amendment (own surgeon,
        reason required, status `amended`, old content kept). Review statuses are quality staff's alone.
        `expected_version` is the version the caller's copy was made from: a newer one in the database means
        someone else saved first, and the update is refused (Conflict) instead of overwriting their change.
        """
        self._require(Action.VIEW)
        current = self.get_case(case_number)
        status, surgeon = current.status, current.record.surgeon
        signed = status in SIGNED_STATUSES
        if expected_version is not None and expected_version != current.version:
            raise Conflict(
                f"Case {case_number} was changed by someone else (now version {current.version}, your copy is "
                f"version {expected_version}); nothing was saved. Reopen the case to see their change."
            )
        record, problems = validate_case(data, today=self._today(), allowed_statuses=frozenset(vocab.CASE_STATUSES))
        if record is None:
            raise InvalidInput(problems)
        if record.case_number is not None and record.case_number != case_number:
            raise InvalidInput(
                [Problem("case_number", f"is {record.case_number}, but the case updated is {case_number}")]
            )
        if not signed and record.status != "draft":
            raise InvalidInput([Problem("status", "a draft stays a draft when edited; signing is a separate step")])
        given_status = data.get("status")
        if signed and given_status is not None and given_status != status:
            # Never ignored: a file that says `draft` asks to undo a signature, which nothing may do.
            raise InvalidInput([Problem("status", f"is {given_status!r}, but case {case_number} is {status} "
                                        "(signed): a signed case never goes back to draft; leave status out or "
                                        f"give {status!r}, and amend it with --reason")])  # fmt: skip
        kind, reviewed = classify_change(current.record, record)
        if kind == "none" and not reviewed:
            return current  # nothing changed: no new version, nothing to audit
        if reviewed:
            self._require(Action.REVIEW, case_number=case_number)
        if kind == "edit":
            action = Action.AMEND if signed else Action.EDIT_DRAFT
            self._require(action, case_number=case_number, case_surgeon=surgeon)
        elif kind == "addendum":
            self._require(Action.ADDENDUM if signed else Action.EDIT_DRAFT, case_number=case_number)
        reason = (reason or "").strip() or None
        amending = signed and kind == "edit"
        if amending and reason is None:
            raise InvalidInput([Problem("reason", f"case {case_number} is signed: an amendment needs a reason")])
        if amending and self.actor is not None and record.surgeon != surgeon:
            raise InvalidInput([Problem("surgeon", "an amendment cannot hand the case to another surgeon")])
        if amending:
            self._require_policy_reason(record, case_number, unless_outside_before=current.record)
        new_status = "amended" if amending else status
        record = replace(record, case_number=case_number, status=new_status)
        with self.db.write() as session:
            case_id, version, patient_id, old = self._locked(session, case_number, status)
            if version != current.version:
                raise Conflict(f"Case {case_number} was changed by someone else while saving; nothing was saved.")
            if record.procedure_date.year != old.record.procedure_date.year:
                raise InvalidInput(
                    [Problem("procedure_date", f"moves the case to another year than its number {case_number}")]
                )
            if amending:
                session.add(
                    CaseAmendmentRow(
                        case_id=case_id,
                        amended_at=store.utcnow(),
                        reason=reason,
                        previous_version=version,
                        previous_content=json.dumps(case_to_contract(old.record), ensure_ascii=False),
                    )
                )
            self._store_content(session, case_id, version, patient_id, old, record)
            action_name = {"edit": "amend" if signed else "update", "addendum": "addendum", "none": "review"}[kind]
            audit.record(
                session, username=self._who, action=action_name, record_type="case", record_id=case_number,
                reason=reason,
                details={"changes": audit.changes(case_to_contract(old.record), case_to_contract(record)),
                         "version": version + 1},
            )  # fmt: skip
            return queries.load_views(session, [case_id])[0]

    def _store_content(
        self, session: Session, case_id: int, version: int, patient_id: int, old: CaseView, record: CaseRecord,
        **extra: Any,
    ) -> None:  # fmt: skip
        """Write a case's new content as the next version; refuses if another version got there first."""
        case_number = old.case_number
        others = session.execute(
            select(func.count()).select_from(store.cases_t).where(store.cases_t.c.patient_id == patient_id)
        ).scalar_one()
        editable = (old.record.patient.mrn, patient_id) if others == 1 else None
        resolution = store.resolve_patients(session, [("patient", record.patient)], editable_mrn=editable)
        if resolution.problems:
            raise InvalidInput(resolution.problems)
        values = store.case_values(record)
        values.update(version=version + 1, patient_id=resolution.ids[record.patient.mrn], updated_at=store.utcnow(),
                      **extra)  # fmt: skip
        changed = session.execute(
            update(store.cases_t)
            .where(store.cases_t.c.id == case_id, store.cases_t.c.version == version)
            .values(**values)
        ).rowcount  # type: ignore[attr-defined]
        if changed != 1:
            raise Conflict(f"Case {case_number} was changed by someone else while saving; nothing was saved.")
        notes = store.review_notes(session, case_id)
        store.delete_children(session, case_id)
        store.insert_children(session, [case_id], [record], review_notes={case_id: notes})
        store.set_search_text(session, case_id, case_number, record)
        if resolution.ids[record.patient.mrn] != patient_id:
            store.drop_patient_if_unused(session, patient_id)

    def delete_case(self, case_number: str, *, reason: str, expected_version: int | None = None) -> None:
        """Delete a draft. Signed cases are medical records: they are amended, never deleted."""
        status, _ = self._state(case_number)
        self._require(Action.EDIT_DRAFT, case_number=case_number)
        if not reason or not reason.strip():
            raise InvalidInput([Problem("reason", "deleting a case needs a reason")])
        if status in SIGNED_STATUSES:
            error = NotPermitted(f"Case {case_number} is signed; signed cases cannot be deleted (amend it instead)")
            refuse(self.db, self.actor, "delete", "case", case_number, error)
        with self.db.write() as session:
            case_id, version, patient_id, old = self._locked(session, case_number, status)
            if expected_version is not None and expected_version != version:
                raise Conflict(f"Case {case_number} was changed by someone else; nothing was deleted.")
            session.execute(delete(store.cases_t).where(store.cases_t.c.id == case_id))
            store.drop_patient_if_unused(session, patient_id)
            removed = {"changes": audit.changes(case_to_contract(old.record), None)}
            audit.record(session, username=self._who, action="delete", record_type="case", record_id=case_number,
                         reason=reason.strip(), details=removed)  # fmt: skip

    # ---- signing, addenda, reviews ----------------------------------------------------------------------

    def sign_case(self, case_number: str, *, expected_version: int | None = None) -> CaseView:
        """The surgeon signs their own draft: it becomes `final` and locked, with signer and time.

        Without accounts the case's own surgeon is recorded as the signer.
        """
        status, surgeon = self._state(case_number)
        self._require(Action.SIGN, case_number=case_number, case_surgeon=surgeon)
        if status in SIGNED_STATUSES:
            raise Conflict(f"Case {case_number} is already signed")
        self._require_policy_reason(self.get_case(case_number).record, case_number)
        signer = self.actor.full_name if self.actor else surgeon
        now = store.utcnow()
        with self.db.write() as session:
            case_id, version, _, _ = self._locked(session, case_number, status)
            if expected_version is not None and expected_version != version:
                raise Conflict(f"Case {case_number} was changed by someone else; reopen it before signing.")
            session.execute(
                update(store.cases_t)
                .where(store.cases_t.c.id == case_id)
                .values(status="final", signed_by=signer, signed_at=now, version=version + 1, updated_at=now)
            )
            audit.record(session, username=self._who, action="sign", record_type="case", record_id=case_number,
                         details={"changes": {"status": [status, "final"], "signed_by": [None, signer]},
                                  "version": version + 1})  # fmt: skip
            return queries.load_views(session, [case_id])[0]

    def _require_policy_reason(
        self, record: CaseRecord, case_number: str | None, *, unless_outside_before: CaseRecord | None = None
    ) -> None:
        """A case outside the clinic's policy is signed only with the reason it was done (the form asks for it);
        drafts and imported history are kept as they are, and the quality desk lists them.

        An amendment is signed content too: one that moves a case outside the policy needs the reason as a
        signature does; `unless_outside_before` (the case before the amendment) lets a case that was already
        outside without a reason (history from before the policy) be corrected in other fields."""
        if record.procedure not in vocab.ABLATIONS or record.outside_policy_reason:
            return
        check = self.indication_check(record, case_number)
        if not check.outside_policy:
            return
        before = unless_outside_before
        if before is not None and _outside_without_reason(before, self.indication_check(before, case_number)):
            return
        which = f"case {case_number}" if case_number else "the case"
        doing = "amend" if before is not None else "sign"
        unmet = "; ".join(f.text for f in check.unmet)
        raise InvalidInput([Problem("outside_policy_reason", f"is required to {doing} {which}: it is outside the "
                                    f"clinic's policy ({unmet})")])  # fmt: skip

    def add_addendum(
        self,
        case_number: str,
        *,
        complications: list[Mapping[str, Any]] = (),  # type: ignore[assignment]
        outcomes: list[Mapping[str, Any]] = (),  # type: ignore[assignment]
        follow_up_attempts: list[Mapping[str, Any]] = (),  # type: ignore[assignment]
        expected_version: int | None = None,
    ) -> CaseView:
        """Add follow-up complications, outcome scores and attempts to reach the patient to a case without
        reopening it (signed stays signed). A follow-up alone (no complication) is the contract's addendum on a
        draft too: whoever may add follow-up outcomes records it (caselog.followup, docs/decisions.md)."""
        status, _ = self._state(case_number)
        addendum = status in SIGNED_STATUSES or not complications
        self._require(Action.ADDENDUM if addendum else Action.EDIT_DRAFT, case_number=case_number)
        current = self.get_case(case_number)
        content = case_to_contract(current.record)
        content["complications"] = content["complications"] + [dict(c) for c in complications]
        content["outcomes"] = content["outcomes"] + [dict(o) for o in outcomes]
        attempts = content.get("follow_up_attempts", []) + [dict(a) for a in follow_up_attempts]
        if attempts:
            content["follow_up_attempts"] = attempts
        record, problems = validate_case(content, today=self._today(), allowed_statuses=frozenset(vocab.CASE_STATUSES))
        if record is None:
            raise InvalidInput(problems)
        with self.db.write() as session:
            case_id, version, patient_id, old = self._locked(session, case_number, status)
            if version != current.version or (expected_version is not None and expected_version != version):
                raise Conflict(f"Case {case_number} was changed by someone else; nothing was added.")
            self._store_content(session, case_id, version, patient_id, old, record)
            audit.record(session, username=self._who, action="addendum", record_type="case", record_id=case_number,
                         details={"changes": audit.changes(case_to_contract(old.record), case_to_contract(record)),
                                  "version": version + 1})  # fmt: skip
            return queries.load_views(session, [case_id])[0]

    def set_review(
        self, case_number: str, complication_index: int, *, review_status: str, notes: str | None = None
    ) -> CaseView:
        """Quality staff set a complication's review status and notes; the case itself is not reopened."""
        self._require(Action.REVIEW, case_number=case_number)
        if review_status not in vocab.REVIEW_STATUSES:
            raise InvalidInput([Problem("review_status", f"unknown review status {review_status!r}")])
        notes = (notes or "").strip() or None
        if notes is not None and len(notes) > 2000:
            raise InvalidInput([Problem("review_notes", f"is {len(notes)} characters long; at most 2000")])
        with self.db.write() as session:
            found = queries.case_id_for_number(session, case_number)
            if found is None:
                raise NotFound(f"Case {case_number} not found")
            before = store.set_review(session, found[0], complication_index, review_status, notes)
            if before is None:
                raise NotFound(f"Case {case_number} has no complication {complication_index + 1}")
            path = f"complications[{complication_index}]"
            audit.record(session, username=self._who, action="review", record_type="case", record_id=case_number,
                         details={"changes": {f"{path}.review_status": [before[0], review_status],
                                              f"{path}.review_notes": [before[1], notes]}})  # fmt: skip
            return queries.load_views(session, [found[0]])[0]

    # ---- the clinic's settings -------------------------------------------------------------------------

    def clinic_setting(self, name: str) -> Any | None:
        """A clinic-wide setting (caselog.clinic), for anyone signed in: every role works under it."""
        if self.actor is None and accounts_exist(self.db):
            raise NotPermitted("This database has accounts: sign in first")
        with self.db.read() as session:
            return clinic.read_setting(session, name)

    def set_clinic_setting(self, name: str, value: Any) -> None:
        """Change a clinic-wide setting: administrators only (or anyone in a single-user database), audited
        with the old and the new value."""
        self._require(Action.ADMINISTER)
        with self.db.write() as session:
            old = clinic.write_setting(session, name, value, self._who)
            audit.record(session, username=self._who, action="clinic_setting", record_type="setting",
                         record_id=name, details={"changes": {name: [old, value]}})  # fmt: skip

    # ---- the indication policy and the patient's pathway -----------------------------------------------

    def indication_policy(self) -> IndicationPolicy:
        """The clinic's indication policy (caselog.policy), the default preset until an administrator sets one."""
        return policy.policy_from_setting(self.clinic_setting(policy.SETTING))

    def set_indication_policy(self, new: IndicationPolicy) -> None:
        """Change the clinic's indication policy: administrators only, audited with the old and new values."""
        problems = policy.policy_problems(policy.policy_to_json(new))
        if problems:
            raise InvalidInput(problems)
        self.set_clinic_setting(policy.SETTING, policy.policy_to_json(new))

    def indication_check(self, record: CaseRecord, case_number: str | None = None) -> IndicationCheck:
        """Whether this case (saved as `case_number`, or being entered) meets the clinic's policy, judged against
        every other case of its patient on file."""
        from caselog.db.pathway_queries import load_pathway_cases, patient_condition
        from caselog.pathway import NOT_APPLICABLE, check_indication, pathway_case

        self._require(Action.VIEW)
        with self.db.read() as session:
            current = policy.policy_from_setting(clinic.read_setting(session, policy.SETTING))
            if record.procedure not in vocab.ABLATIONS:
                return NOT_APPLICABLE
            found = load_pathway_cases(session, patient_condition(record.patient.mrn), complications=False)
        history = [case for patient in found.values() for case in patient.cases]
        return check_indication(pathway_case(record, case_number), history, current)

    def patient_pathway(self, mrn: str) -> Pathway:
        """Every case of the patient with this MRN on one time axis, read under the clinic's policy."""
        from caselog.db.pathway_queries import load_pathway_cases, patient_condition
        from caselog.pathway import build_pathway

        self._require(Action.VIEW)
        with self.db.read() as session:
            patient = queries.patient_by_mrn(session, mrn.strip())
            if patient is None:
                raise NotFound(f"No patient with MRN {mrn.strip()!r}")
            current = policy.policy_from_setting(clinic.read_setting(session, policy.SETTING))
            found = load_pathway_cases(session, patient_condition(patient.mrn))
        cases = [case for p in found.values() for case in p.cases]
        return build_pathway(patient, cases, current)

    def outside_policy(
        self,
        *,
        date_from: dt.date | None = None,
        date_to: dt.date | None = None,
        surgeon: str | None = None,
        procedure: str | None = None,
        with_reason: bool | None = None,
    ) -> list[OutsidePolicyCase]:
        """Every ablation outside the clinic's policy (dates inclusive, on the procedure date), by date and number.

        `with_reason` True keeps the cases whose reason was recorded, False those without, None both. The
        patients' blocks and ablations are read in a few set-based queries (the ablations' outcomes with a
        relief only; no complications) and judged from their plain values, patient by patient; only the cases
        outside the policy are made into case objects with their check written out (pathway_queries).
        """
        from caselog.db.pathway_queries import outside_policy_cases
        from caselog.pathway import BLOCK

        self._require(Action.VIEW)
        if procedure is not None and procedure not in vocab.ABLATIONS:
            return []
        c = store.cases_t.c
        listed: list[ColumnElement[bool]] = [c.procedure.in_(sorted(vocab.ABLATIONS))]
        if date_from is not None:
            listed.append(c.procedure_date >= date_from)
        if date_to is not None:
            listed.append(c.procedure_date <= date_to)
        if surgeon:
            listed.append(c.surgeon == surgeon)
        if procedure:
            listed.append(c.procedure == procedure)
        relevant: ColumnElement[bool] = c.procedure.in_(sorted(vocab.ABLATIONS | {BLOCK}))
        if len(listed) > 1:  # a filter: only the patients it lists (without one, the subquery costs more than it saves)
            relevant &= c.patient_id.in_(select(c.patient_id).where(*listed).distinct())
        if date_to is not None:
            relevant &= c.procedure_date <= date_to  # later cases never bear on a check

        def is_listed(case: PathwayCase) -> bool:
            return (
                case.is_ablation
                and (date_from is None or case.date >= date_from)
                and (date_to is None or case.date <= date_to)
                and (not surgeon or case.surgeon == surgeon)
                and (procedure is None or case.procedure == procedure)
                and (with_reason is None or (case.outside_policy_reason is not None) == with_reason)
            )

        with cyclic_gc_paused(), self.db.read() as session:
            current = policy.policy_from_setting(clinic.read_setting(session, policy.SETTING))
            items = outside_policy_cases(session, relevant, current, is_listed)
        items.sort(key=lambda item: item.case.order)
        return items

    def history(self, case_number: str) -> list[audit.AuditEntry]:
        """Who did what to this case, when and why; for the roles allowed to read the audit trail."""
        _, surgeon = self._state_or_deleted(case_number)
        self._require(Action.READ_AUDIT, case_number=case_number, case_surgeon=surgeon)
        return entries_for(self.actor, audit.entries(self.db, record_type="case", record_id=case_number))

    def audit_trail(self, f: audit.AuditFilter | None = None) -> list[audit.AuditEntry]:
        """The whole trail (or the filter's entries) in order, for quality and admin; a surgeon gets the entries of
        their own cases. Streams the trail: `iter_audit_trail` for a listing that need not hold it all."""
        return list(self.iter_audit_trail(f))

    def iter_audit_trail(self, f: audit.AuditFilter | None = None) -> Iterator[audit.AuditEntry]:
        """The trail oldest first, read a batch at a time, as this account may read it (refused at the call)."""
        scope = self._audit_scope(f)
        return (shown for entry in audit.iter_entries(self.db, scope) for shown in entries_for(self.actor, [entry]))

    def audit_page(self, f: audit.AuditFilter | None = None, *, newest_first: bool = True, after: int | None = None,
                   limit: int = audit.PAGE_SIZE, span: audit.Span | None = None) -> list[audit.AuditEntry]:  # fmt: skip
        """One page of the trail as this account may read it, from after entry number `after` (keyset paging in
        SQL: `audit.page_of_entries`); `span` is `audit_span` of the same filter, when the caller counted it."""
        scope = self._audit_scope(f)
        found = audit.page_of_entries(self.db, scope, newest_first=newest_first, after=after, limit=limit, span=span)
        return entries_for(self.actor, found)

    def audit_span(self, f: audit.AuditFilter | None = None) -> audit.Span:
        """How many entries of the trail this account may read match the filter (and where they lie, for paging)."""
        return audit.span_of(self.db, self._audit_scope(f))

    def audit_choices(self) -> tuple[list[str], list[str]]:
        """The users and actions present in the part of the trail this account may read (the views' filter lists)."""
        return audit.entry_choices(self.db, self._audit_scope(None))

    def _audit_scope(self, f: audit.AuditFilter | None) -> audit.AuditFilter:
        """The filter within what this account may read: a surgeon reads their own cases' entries only."""
        self._require(Action.READ_AUDIT)
        f = f or audit.AuditFilter()
        if self.actor is not None and self.actor.role == "surgeon":
            return replace(f, surgeon=self.actor.full_name)
        return f

    def _state_or_deleted(self, case_number: str) -> tuple[str, str | None]:
        try:
            return self._state(case_number)
        except NotFound:
            # A deleted draft's history is still readable: its last entry holds its content.
            entries = audit.entries(self.db, record_type="case", record_id=case_number)
            if not entries:
                raise
            surgeon = entries[-1].changes.get("surgeon", [None, None])[0]
            return "deleted", surgeon if isinstance(surgeon, str) else None

    def patients_like(self, *, family_name: str, given_name: str, birth_date: dt.date) -> list[Patient]:
        """Patients on file with this family name, given name and birth date (letter case and spacing aside),
        so a form can ask "same person as MRN …?" before a second MRN is opened for one person."""
        self._require(Action.VIEW)

        def folded(name: str) -> str:
            return " ".join(name.split()).casefold()

        family, given = folded(family_name), folded(given_name)
        if not family:
            return []
        with self.db.read() as session:
            rows = session.execute(
                select(store.patients_t)
                .where(store.patients_t.c.birth_date == birth_date)
                .order_by(store.patients_t.c.mrn)
            ).all()
        return [
            store.patient_from_row(row)
            for row in rows
            if folded(row.family_name) == family and folded(row.given_name) == given
        ]


def _outside_without_reason(record: CaseRecord, check: IndicationCheck) -> bool:
    return record.procedure in vocab.ABLATIONS and not record.outside_policy_reason and check.outside_policy
