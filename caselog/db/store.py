"""Writing case records to the tables in bulk: a few statements per batch, never a query per row.

Reading is caselog.db.queries; the table handles and the record's row mapping are caselog.db.tables. Both are
re-exported here, so `store.cases_t` or `store.load_views` keep working for older callers.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Date, DateTime, Table, and_, bindparam, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session

from caselog import fields
from caselog.bulk import copy_rows, plan_with_values
from caselog.db.queries import case_id_for_number as case_id_for_number
from caselog.db.queries import count_cases as count_cases
from caselog.db.queries import distinct_values as distinct_values
from caselog.db.queries import filtered as filtered
from caselog.db.queries import iter_views as iter_views
from caselog.db.queries import list_rows as list_rows
from caselog.db.queries import load_views as load_views
from caselog.db.queries import patient_by_mrn as patient_by_mrn
from caselog.db.tables import CHUNK as CHUNK
from caselog.db.tables import attempts_t as attempts_t
from caselog.db.tables import audit_t as audit_t
from caselog.db.tables import case_values as case_values
from caselog.db.tables import cases_t as cases_t
from caselog.db.tables import chunks as chunks
from caselog.db.tables import complications_t as complications_t
from caselog.db.tables import counters_t as counters_t
from caselog.db.tables import levels_t as levels_t
from caselog.db.tables import outcomes_t as outcomes_t
from caselog.db.tables import patient_from_row as patient_from_row
from caselog.db.tables import patients_t as patients_t
from caselog.db.tables import search_t as search_t
from caselog.db.tables import utcnow as utcnow
from caselog.errors import InvalidInput
from caselog.records import CaseRecord, Patient
from caselog.validation import CASE_NUMBER_RE, FIVE_DIGIT_LAST, Problem, case_number_key, join


def search_text(case_number: str, record: CaseRecord) -> str:
    """Case-folded text that `--search` matches: works for any script, on SQLite and PostgreSQL alike."""
    p = record.patient
    parts = (case_number, p.mrn, p.family_name, p.given_name, record.notes)
    return "\n".join(part for part in parts if part).casefold()


def set_search_text(session: Session, case_id: int, case_number: str, record: CaseRecord) -> None:
    session.execute(update(search_t).where(search_t.c.case_id == case_id).values(text=search_text(case_number, record)))


def describe_patient(p: Patient) -> str:
    return f"{p.display_name} (born {p.birth_date}, {p.sex})"


def same_patient(a: Patient, b: Patient) -> bool:
    return (a.family_name, a.given_name, a.birth_date, a.sex) == (b.family_name, b.given_name, b.birth_date, b.sex)


ReviewNotes = dict[tuple[str, dt.date, str], str]


def insert_children(
    session: Session,
    case_ids: Sequence[int],
    records: Sequence[CaseRecord],
    *,
    review_notes: dict[int, ReviewNotes] | None = None,
) -> None:
    """Levels, complications, outcomes and follow-up attempts of each case; `review_notes` carries reviewers'
    notes across an edit."""
    notes = review_notes or {}
    level_rows: list[dict[str, Any]] = []
    complication_rows: list[dict[str, Any]] = []
    outcome_rows: list[dict[str, Any]] = []
    attempt_rows: list[dict[str, Any]] = []
    for case_id, record in zip(case_ids, records, strict=True):
        level_rows.extend(
            {"case_id": case_id, "position": i, "level": lv.level, "side": lv.side, "volume_ml": lv.volume_ml}
            for i, lv in enumerate(record.levels)
        )
        complication_rows.extend(
            {
                "case_id": case_id,
                "position": i,
                "category": c.category,
                "description": c.description,
                "timing": c.timing,
                "onset_date": c.onset_date,
                "clavien_dindo": c.clavien_dindo,
                "treatment": c.treatment,
                "resolved_date": c.resolved_date,
                "review_status": c.review_status,
                "review_notes": c.review_notes or notes.get(case_id, {}).get((c.category, c.onset_date, c.timing)),
            }
            for i, c in enumerate(record.complications)
        )
        outcome_rows.extend(
            {
                "case_id": case_id,
                "position": i,
                "timepoint": o.timepoint,
                "date": o.date,
                "nrs_back": o.nrs_back,
                "nrs_leg": o.nrs_leg,
                "odi": o.odi,
                "relief_percent": o.relief_percent,
                "nrs_neck": o.nrs_neck,
                "nrs_arm": o.nrs_arm,
                "ndi": o.ndi,
                "pgic": o.pgic,
                "work_status": o.work_status,
                "analgesics": o.analgesics,
                "returned_to_activities": o.returned_to_activities,
                "physical_therapy": o.physical_therapy,
            }
            for i, o in enumerate(record.outcomes)
        )
        attempt_rows.extend(
            {"case_id": case_id, "position": i, "timepoint": a.timepoint, "date": a.date, "result": a.result,
             "note": a.note}
            for i, a in enumerate(record.follow_up_attempts)
        )  # fmt: skip
    for table, rows in (
        (levels_t, level_rows),
        (complications_t, complication_rows),
        (outcomes_t, outcome_rows),
        (attempts_t, attempt_rows),
    ):
        bulk_insert(session, table, rows)


def _sqlite_date(value: dt.date | None) -> str | None:
    return None if value is None else value.isoformat()


def _sqlite_datetime(value: dt.datetime | None) -> str | None:
    # The exact text SQLAlchemy's SQLite DateTime writes and reads back.
    return None if value is None else value.isoformat(sep=" ", timespec="microseconds")


def _converter(column_type: Any, dialect: Any) -> Callable[[Any], Any] | None:
    """The bind conversion of a column: SQLAlchemy's own, except the C-speed equivalents for SQLite dates."""
    if dialect.name == "sqlite":
        if isinstance(column_type, DateTime):
            return _sqlite_datetime
        if isinstance(column_type, Date):
            return _sqlite_date
    processor: Callable[[Any], Any] | None = column_type._cached_bind_processor(dialect)
    if processor is not None and isinstance(column_type, JSON):
        return _json_converter(processor)
    return processor


def _json_converter(processor: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A JSON column's own conversion, with the empty list (most cases' assistants, codes and copies) converted
    once by that same conversion instead of once per row."""
    empty = processor([])

    def convert(value: Any) -> Any:
        if type(value) is list and not value:
            return empty
        return processor(value)

    return convert


#: SQLite's date conversions written out in the generated function (the same calls, without a call per value).
_INLINE: dict[Callable[[Any], Any], str] = {
    _sqlite_date: "isoformat()",
    _sqlite_datetime: 'isoformat(sep=" ", timespec="microseconds")',
}
_RowMaker = Callable[[Mapping[str, Any]], Any]
_statements: dict[tuple[Table, tuple[str, ...], str, str], tuple[str, _RowMaker]] = {}


def _statement(table: Table, columns: tuple[str, ...], dialect: Any) -> tuple[str, _RowMaker]:
    """The INSERT for `columns` of `table` and a function making one row's parameters from its dict, both made
    once per table, columns and driver. The function is generated (one expression per column, the converter
    called only where the column needs one): a loop over the columns per row cost as much as the insert itself.
    """
    key = (table, columns, dialect.name, dialect.paramstyle)
    found = _statements.get(key)
    if found is not None:
        return found
    compiled = insert(table).values({c: bindparam(c) for c in columns}).compile(dialect=dialect)
    convert = {c: _converter(table.c[c].type, dialect) for c in columns}
    names: dict[str, Any] = {}

    def value(column: str) -> str:
        converter = convert[column]
        if converter is None:
            return f"row[{column!r}]"
        inline = _INLINE.get(converter)
        if inline is not None:
            return f"(None if (v := row[{column!r}]) is None else v.{inline})"
        names[f"convert_{len(names)}"] = converter
        return f"convert_{len(names) - 1}(row[{column!r}])"

    if compiled.positional:
        body = "(" + "".join(f"{value(c)}, " for c in compiled.positiontup or []) + ")"
    else:
        body = "{" + "".join(f"{c!r}: {value(c)}, " for c in columns) + "}"
    found = (compiled.string, fields.compiled("make", ["def make(row):", f"    return {body}"], names))
    _statements[key] = found
    return found


def bulk_insert(session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """executemany straight to the driver, with only the type conversions the columns need.

    SQLAlchemy's own executemany prepares every row through its general machinery; for the tens of
    thousands of child rows of a large import that alone would take longer than the whole import may.
    """
    if not rows:
        return
    conn = session.connection()
    sql, make = _statement(table, tuple(rows[0]), conn.dialect)
    if conn.dialect.name == "postgresql":
        copy_rows(conn, table, tuple(rows[0]), map(make, rows))  # one COPY, not a statement per row
        return
    conn.exec_driver_sql(sql, list(map(make, rows)))


def review_notes(session: Session, case_id: int) -> ReviewNotes:
    """Reviewers' notes of a case's complications, keyed by what identifies a complication across an edit."""
    rows = session.execute(
        select(complications_t.c.category, complications_t.c.onset_date, complications_t.c.timing,
               complications_t.c.review_notes)
        .where(complications_t.c.case_id == case_id, complications_t.c.review_notes.is_not(None))
    )  # fmt: skip
    return {(r.category, r.onset_date, r.timing): r.review_notes for r in rows}


def set_review(
    session: Session, case_id: int, index: int, status: str, notes: str | None
) -> tuple[str, str | None] | None:
    """Set one complication's review; returns its previous (status, notes), or None when there is no such one."""
    row = session.execute(
        select(complications_t.c.id, complications_t.c.review_status, complications_t.c.review_notes).where(
            complications_t.c.case_id == case_id, complications_t.c.position == index
        )
    ).first()
    if row is None:
        return None
    session.execute(
        update(complications_t).where(complications_t.c.id == row.id).values(review_status=status, review_notes=notes)
    )
    return row.review_status, row.review_notes


def delete_children(session: Session, case_id: int) -> None:
    for table in (levels_t, complications_t, outcomes_t, attempts_t):
        session.execute(delete(table).where(table.c.case_id == case_id))


@dataclass
class PatientResolution:
    """MRN -> patient id for a batch of records, or the problems that refuse it."""

    ids: dict[str, int]
    problems: list[Problem]


def _letter_case_twins(
    session: Session, first_seen: dict[str, tuple[str, Patient]], known: dict[str, Any]
) -> list[Problem]:
    """A new MRN that differs from another only in letter case (ab-1001 beside AB-1001) is a typing slip, not a
    second patient: filing it as one would split a patient's record in two. Refused, naming the MRN to type."""
    problems: list[Problem] = []
    by_folded: dict[str, str] = {}
    for mrn, (path, _patient) in first_seen.items():
        twin = by_folded.setdefault(mrn.upper(), mrn)
        if twin != mrn:
            where = first_seen[twin][0]
            problems.append(Problem(join(path, "mrn"), f"MRN {mrn} differs from MRN {twin} at {where} only in "
                                    "letter case: one patient has one MRN; type it the same way"))  # fmt: skip
    new = [mrn for mrn in first_seen if mrn not in known]
    for part in chunks(new):
        folded = {mrn.upper(): mrn for mrn in part}
        stmt = select(patients_t.c.mrn).where(func.upper(patients_t.c.mrn).in_(list(folded)))
        for (registered,) in session.execute(stmt):
            typed = folded.get(registered.upper())
            if typed is not None and registered != typed:
                text = (f"MRN {typed} differs from the registered MRN {registered} only in letter case: type it as "
                        f"{registered} (one patient, one MRN)")  # fmt: skip
                problems.append(Problem(join(first_seen[typed][0], "mrn"), text))
    return problems


def resolve_patients(
    session: Session, items: Sequence[tuple[str, Patient]], *, editable_mrn: tuple[str, int] | None = None
) -> PatientResolution:
    """Find or add each MRN's patient. A known MRN with other demographics is refused, naming both.

    `items` pairs each patient with the field path to blame. `editable_mrn` (mrn, patient id) is a patient
    whose only case is the one being edited: correcting their demographics updates the patient instead.
    """
    problems: list[Problem] = []
    first_seen: dict[str, tuple[str, Patient]] = {}
    for path, patient in items:
        earlier = first_seen.get(patient.mrn)
        if earlier is None:
            first_seen[patient.mrn] = (path, patient)
        elif not same_patient(earlier[1], patient):
            problems.append(
                Problem(
                    path,
                    f"MRN {patient.mrn} is {describe_patient(earlier[1])} at {earlier[0]} but "
                    f"{describe_patient(patient)} here; one MRN is one patient",
                )
            )
    mrns = list(first_seen)
    known: dict[str, Any] = {}
    for part in chunks(mrns):
        for found in session.execute(select(patients_t).where(patients_t.c.mrn.in_(part))):
            known[found.mrn] = found
    ids: dict[str, int] = {}
    for mrn, (path, patient) in first_seen.items():
        row = known.get(mrn)
        if row is None:
            continue
        if not same_patient(patient_from_row(row), patient):
            if editable_mrn == (mrn, row.id):
                session.execute(
                    update(patients_t)
                    .where(patients_t.c.id == row.id)
                    .values(
                        family_name=patient.family_name,
                        given_name=patient.given_name,
                        birth_date=patient.birth_date,
                        sex=patient.sex,
                    )
                )
            else:
                problems.append(
                    Problem(
                        path,
                        f"MRN {mrn} is already registered to {describe_patient(patient_from_row(row))}; this case "
                        f"gives {describe_patient(patient)}. One MRN is one patient: correct the case, or the "
                        "patient's other cases first",
                    )
                )
                continue
        ids[mrn] = row.id
    problems.extend(_letter_case_twins(session, first_seen, known))
    if problems:
        return PatientResolution(ids, problems)
    new = [first_seen[m][1] for m in mrns if m not in known]
    if new:
        new_ids = allocate_ids(session, patients_t, len(new))
        rows = [
            {"id": new_id, "mrn": p.mrn, "family_name": p.family_name, "given_name": p.given_name,
             "birth_date": p.birth_date, "sex": p.sex}
            for new_id, p in zip(new_ids, new, strict=True)
        ]  # fmt: skip
        if session.get_bind().dialect.name != "postgresql":
            bulk_insert(session, patients_t, rows)  # the write lock is ours: nobody else can add them
            ids.update((p.mrn, new_id) for new_id, p in zip(new_ids, new, strict=True))
        else:
            # Another workstation may register the same MRN at this very moment: let the database decide
            # who was first, then check what stands against this case, as for any known patient.
            from sqlalchemy.dialects import postgresql  # loaded with a server only (a twentieth of a second)

            session.execute(postgresql.insert(patients_t).on_conflict_do_nothing(index_elements=["mrn"]), rows)
            for part in chunks([p.mrn for p in new]):
                for found in session.execute(select(patients_t).where(patients_t.c.mrn.in_(part))):
                    path, patient = first_seen[found.mrn]
                    if same_patient(patient_from_row(found), patient):
                        ids[found.mrn] = found.id
                    else:
                        problems.append(
                            Problem(path, f"MRN {found.mrn} was just registered to "
                                          f"{describe_patient(patient_from_row(found))} by another workstation; "
                                          f"this case gives {describe_patient(patient)}")
                        )  # fmt: skip
    return PatientResolution(ids, problems)


def allocate_ids(session: Session, table: Table, count: int) -> list[int]:
    """Primary keys for `count` new rows, known before inserting them, so rows go in by plain executemany.

    SQLite: past the highest id, safe because every write holds the database's write lock (BEGIN IMMEDIATE).
    PostgreSQL: from the column's own sequence, safe with any number of clients.
    """
    if session.get_bind().dialect.name == "postgresql":
        sequence = func.pg_get_serial_sequence(table.name, "id")
        rows = session.execute(select(func.nextval(sequence)).select_from(func.generate_series(1, count)))
        return [int(v) for v in rows.scalars()]
    highest = session.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(int(highest) + 1, int(highest) + 1 + count))


def used_case_numbers(session: Session, numbers: Sequence[str]) -> set[str]:
    used: set[str] = set()
    for part in chunks(numbers):
        used.update(session.execute(select(cases_t.c.case_number).where(cases_t.c.case_number.in_(part))).scalars())
    return used


def lock_counter(session: Session, year: int) -> int:
    """The highest number handed out automatically for `year` (0 if none), its row locked until commit.

    One upsert creates the row if needed and locks it, so two workstations adding cases of the same year queue
    here and never hand out the same number (SQLite: the write transaction holds the whole database anyway).
    """
    from sqlalchemy.dialects import postgresql, sqlite  # PostgreSQL's dialect loads with a server only

    table = counters_t
    upsert = postgresql.insert(table) if session.get_bind().dialect.name == "postgresql" else sqlite.insert(table)
    stmt = (
        upsert.values(year=year, last_number=0)
        .on_conflict_do_update(index_elements=[table.c.year], set_={"last_number": table.c.last_number})
        .returning(table.c.last_number)
    )
    return int(session.execute(stmt).scalar_one())


#: The last running number of a year: five digits up to 99,999, then a sixth (format version 4).
MAX_RUNNING_NUMBER = 999_999


def format_case_number(year: int, number: int) -> str:
    """`YYYY-NNNNN`, and from 100,000 on `YYYY-NNNNNN` (a sixth digit, never a leading zero)."""
    return f"{year:04d}-{number:05d}"


def _numbers_above(column: Any, year: int, last: int) -> Any:
    """`column` holds a number of `year` above `last`, in two index ranges: five-digit text does not sort as
    numbers past 99,999 ("2026-100000" < "2026-99999"), so each length is compared within its own digits."""
    five = and_(
        func.length(column) == len("YYYY-NNNNN"),
        column > format_case_number(year, last),
        column <= format_case_number(year, FIVE_DIGIT_LAST),
    )
    six_from = format_case_number(year, max(last + 1, FIVE_DIGIT_LAST + 1))
    six = and_(
        func.length(column) == len("YYYY-NNNNNN"),
        column >= six_from,
        column <= format_case_number(year, MAX_RUNNING_NUMBER),
    )
    return or_(five, six) if last < FIVE_DIGIT_LAST else six


def numbers_taken_above(session: Session, year: int, last: int) -> set[int]:
    """Running numbers of `year` above `last` that a case holds or ever held (the audit trail remembers a
    deleted one): an automatic number never repeats a number given in an import."""
    live = select(cases_t.c.case_number).where(_numbers_above(cases_t.c.case_number, year, last))
    remembered = select(audit_t.c.record_id).where(
        audit_t.c.record_type == "case", _numbers_above(audit_t.c.record_id, year, last)
    )
    taken: set[int] = set()
    for number in session.execute(live.union(remembered)).scalars():
        if number and CASE_NUMBER_RE.fullmatch(number) and case_number_key(number)[1] > last:
            taken.add(case_number_key(number)[1])
    return taken


def assign_case_numbers(session: Session, records: Sequence[CaseRecord], counters: dict[int, int]) -> list[str]:
    """Given numbers stay; the others get the lowest free running numbers of their procedure year above the
    year's counter, in file order, and the counter moves to the last of them.

    A number given in an import does not move the counter: `2026-99999` imported still leaves 2026-00001 on
    for automatic numbers, which skip it when they get there. `counters` come from `lock_counter`.
    """
    given: dict[int, set[int]] = defaultdict(set)
    wanted: dict[int, int] = defaultdict(int)
    for record in records:
        year = record.procedure_date.year
        if record.case_number is not None:
            given[year].add(case_number_key(record.case_number)[1])
        else:
            wanted[year] += 1
    free: dict[int, Iterator[int]] = {}
    for year in sorted(wanted):
        last = counters[year]
        taken = numbers_taken_above(session, year, last) | given[year]
        chosen: list[int] = []
        candidate = last
        while len(chosen) < wanted[year]:
            candidate += 1
            if candidate > MAX_RUNNING_NUMBER:
                last_number = format_case_number(year, MAX_RUNNING_NUMBER)
                raise InvalidInput(
                    [Problem("case_number", f"the year {year} has no case numbers left (the last is {last_number})")]
                )
            if candidate not in taken:
                chosen.append(candidate)
        session.execute(update(counters_t).where(counters_t.c.year == year).values(last_number=chosen[-1]))
        free[year] = iter(chosen)
    return [
        record.case_number
        if record.case_number is not None
        else format_case_number(record.procedure_date.year, next(free[record.procedure_date.year]))
        for record in records
    ]


def insert_cases(
    session: Session, records: Sequence[CaseRecord], paths: Sequence[str], *, now: dt.datetime
) -> list[str] | list[Problem]:
    """Add validated records in one go. Returns their case numbers, or the problems that refuse the batch
    (the caller rolls back: nothing is written then)."""
    if len(records) > CHUNK:
        plan_with_values(session)  # the lookups below run in chunks: each planned with its values
    # The years' counters are locked first (always in the same order), so the checks below see every case
    # another workstation committed before us, and none can slip in until we commit.
    counters = {year: lock_counter(session, year) for year in sorted({r.procedure_date.year for r in records})}
    given = [r.case_number for r in records if r.case_number is not None]
    used = used_case_numbers(session, given)
    problems = [
        Problem(join(path, "case_number"), f"{r.case_number} is already in use")
        for path, r in zip(paths, records, strict=True)
        if r.case_number in used
    ]
    resolution = resolve_patients(
        session, [(join(p, "patient"), r.patient) for p, r in zip(paths, records, strict=True)]
    )
    problems.extend(resolution.problems)
    if problems:
        return problems
    numbers = assign_case_numbers(session, records, counters)
    rows = []
    for record, number in zip(records, numbers, strict=True):
        values = case_values(record)
        values.update(
            case_number=number,
            version=1,
            patient_id=resolution.ids[record.patient.mrn],
            created_at=now,
            updated_at=now,
        )  # fmt: skip
        rows.append(values)
    case_ids = allocate_ids(session, cases_t, len(rows))
    for case_id, row in zip(case_ids, rows, strict=True):
        row["id"] = case_id
    bulk_insert(session, cases_t, rows)
    insert_children(session, case_ids, records)
    bulk_insert(
        session,
        search_t,
        [{"case_id": i, "text": search_text(n, r)} for i, n, r in zip(case_ids, numbers, records, strict=True)],
    )
    return numbers


def drop_patient_if_unused(session: Session, patient_id: int) -> None:
    still_used = session.execute(select(exists().where(cases_t.c.patient_id == patient_id))).scalar()
    if not still_used:
        session.execute(delete(patients_t).where(patients_t.c.id == patient_id))
