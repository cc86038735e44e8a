"""Reading cases from the tables: filters as SQL, a page of the list, whole cases by id, export order.

Writing is caselog.db.store; both share the table handles and the row mapping of caselog.db.tables.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Generator, Iterator, Sequence
from operator import attrgetter
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Select,
    String,
    Table,
    and_,
    bindparam,
    column,
    distinct,
    exists,
    func,
    literal_column,
    select,
    tuple_,
)
from sqlalchemy import table as named_table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.selectable import Join
from sqlalchemy.sql.util import ClauseAdapter
from sqlalchemy.sql.visitors import InternalTraversal

from caselog import vocab
from caselog.db.tables import (
    SEARCH_FTS,
    attempts_t,
    cases_t,
    chunks,
    complications_t,
    levels_t,
    like_pattern,
    outcomes_t,
    patient_from_row,
    patients_t,
    record_from_row,
    search_t,
)
from caselog.records import (
    CaseFilter,
    CaseListItem,
    CaseView,
    Complication,
    FollowUpAttempt,
    OutcomeScore,
    Patient,
    TreatedLevel,
)

C = TypeVar("C", TreatedLevel, Complication, OutcomeScore, FollowUpAttempt)


class TrigramCandidates(ColumnElement[bool]):
    """The case_search rows that may hold a search text, by the trigram index: on SQLite the FTS5 table's matches
    for the text as a phrase (every row holding it is among them; the LIKE beside this decides exactly, as before
    the index), elsewhere every row (PostgreSQL's GIN index serves the LIKE itself)."""

    inherit_cache = True
    _traverse_internals = [("phrase", InternalTraversal.dp_clauseelement)]  # noqa: RUF012 (SQLAlchemy's own)

    def __init__(self, text: str) -> None:
        self.phrase = bindparam(None, '"' + text.replace('"', '""') + '"', type_=String, unique=True)


@compiles(TrigramCandidates)
def _every_row(element: TrigramCandidates, compiler: Any, **kw: Any) -> str:
    return "1 = 1"


@compiles(TrigramCandidates, "sqlite")
def _fts_matches(element: TrigramCandidates, compiler: Any, **kw: Any) -> str:
    phrase = compiler.process(element.phrase, **kw)
    return f"{search_t.name}.case_id IN (SELECT rowid FROM {SEARCH_FTS} WHERE {SEARCH_FTS} MATCH {phrase})"


def _search_parts(search: str) -> tuple[ColumnElement[bool] | None, ColumnElement[bool]]:
    """The trigram index's candidates (None for a text it has nothing to look up in: fewer than three characters,
    or a NUL) and the LIKE that decides."""
    text = search.strip().casefold()
    like = search_t.c.text.like(like_pattern(search.strip()), escape="\\")
    return (TrigramCandidates(text) if len(text) >= 3 and "\x00" not in text else None), like


def search_condition(search: str) -> ColumnElement[bool]:
    """`--search`: the case-folded text anywhere in the case number, MRN, names or notes, exactly as a LIKE over
    case_search finds it; where the trigram index has something to look up, it narrows the rows first."""
    candidates, like = _search_parts(search)
    return like if candidates is None else and_(candidates, like)


def _child_conditions(f: CaseFilter) -> list[tuple[Table, ColumnElement[bool] | None]]:
    """The filters on a case's parts (a level, any complication, the search text): table and condition."""
    conditions: list[tuple[Table, ColumnElement[bool] | None]] = []
    if f.level:
        conditions.append((levels_t, levels_t.c.level == f.level))
    if f.with_complications:
        conditions.append((complications_t, None))
    if f.search and f.search.strip():
        conditions.append((search_t, search_condition(f.search)))
    return conditions


def case_conditions(f: CaseFilter) -> list[ColumnElement[bool]]:
    """The filters on the cases table's own columns."""
    c = cases_t.c
    conditions: list[ColumnElement[bool]] = []
    if f.date_from is not None:
        conditions.append(c.procedure_date >= f.date_from)
    if f.date_to is not None:
        conditions.append(c.procedure_date <= f.date_to)
    if f.surgeon:
        conditions.append(c.surgeon == f.surgeon)
    if f.procedure:
        conditions.append(c.procedure == f.procedure)
    if f.status:
        conditions.append(c.status == f.status)
    if f.case_numbers:
        conditions.append(c.case_number.in_(f.case_numbers))
    return conditions


#: A part's condition (a level, any complication, the search text) matching fewer cases than this is read first
#: and its cases sorted (IN); one matching more is checked case by case along the list's index (EXISTS), which
#: meets a page of 100 within a few thousand cases. Either way a page reads thousands of rows, never a million.
DRIVING_LIMIT = 5000
SEARCH = frozenset({search_t})


def driving_parts(session: Session, f: CaseFilter, *, known: frozenset[Table] = frozenset()) -> frozenset[Table]:
    """The parts whose condition matches fewer than DRIVING_LIMIT cases (and those `known` to drive): each is
    counted up to the limit only (at most that many index entries; on SQLite the search by its trigram index
    alone, an upper bound), so knowing costs little whatever the database's size."""
    driving = set(known)
    for table, condition in _child_conditions(f):
        if table in known:
            continue
        if table is search_t and f.search and session.get_bind().dialect.name == "sqlite":
            probe = search_probe(f.search)  # elsewhere the candidates are every row
        else:
            probe = select(table.c.case_id)
            probe = probe.where(condition) if condition is not None else probe
        if _counted_to(session, probe, DRIVING_LIMIT) < DRIVING_LIMIT:
            driving.add(table)
    return frozenset(driving)


def exact_by_index(session: Session, search: str) -> bool:
    """Whether SQLite's trigram index alone finds exactly the cases the LIKE finds, so a count needs no case's row
    (127,000 of them for "axial pain" at 1M: 111 ms, the index alone 37 ms): a text of three characters or more,
    all ASCII. The index folds ASCII case as LIKE does, keeps accents (no diacritics removed: checked on sqlite3
    and sqlcipher3) and matches a phrase as a substring; the search text is case-folded when written, so it holds
    no character the index would fold to ASCII (the Kelvin sign, U+212A, folds to 'k' and is written as 'k').
    Any other text is decided by the LIKE as before."""
    text = search.strip().casefold()
    return session.get_bind().dialect.name == "sqlite" and len(text) >= 3 and text.isascii() and "\x00" not in text


def search_probe(search: str) -> Select[Any]:
    """SQLite: the cases a search may match, an upper bound read from the trigram index alone (FTS5 stops after the
    rows a limit asks for: 2 ms for 5,000 of the 127,000 matches of "axial pain" at 1M, where the same rows asked as
    `case_id IN (its matches)` first listed all 127,000: 52 ms); without a text to look up, the LIKE decides."""
    candidates, like = _search_parts(search)
    if not isinstance(candidates, TrigramCandidates):
        return select(search_t.c.case_id).where(like)
    fts = named_table(SEARCH_FTS, column("rowid"))
    return select(fts.c.rowid).where(literal_column(SEARCH_FTS).op("MATCH")(candidates.phrase))


def filtered(stmt: Select[Any], f: CaseFilter, *, driving: frozenset[Table] | None = None) -> Select[Any]:
    """Every contract filter as SQL, so lists, counts and exports never walk all cases in Python.

    A part's condition in `driving` drives the query (IN: its matches are read once); any other is checked for
    each case the cases' own index yields (EXISTS). Without `driving` (exports, figures), the parts drive unless
    a filter on the cases' own columns has an index to drive (the combined filter of the benchmark: 108 ms as
    IN, 26 ms as EXISTS on 100,000 cases)."""
    c = cases_t.c
    own = case_conditions(f)
    if own:
        stmt = stmt.where(*own)
    indexed = any(v is not None for v in (f.date_from, f.date_to, f.surgeon or None, f.procedure, f.status))
    for table, condition in _child_conditions(f):
        if table in driving if driving is not None else not indexed:
            ids = select(table.c.case_id)
            stmt = stmt.where(c.id.in_(ids.where(condition) if condition is not None else ids))
        else:
            if table is search_t and driving is not None and f.search:
                # Known broad (DRIVING_LIMIT candidates or more): each case's one row is checked by the LIKE alone,
                # never by the trigram index's list of every match (127,000 rowids for "axial pain" at 1M).
                condition = _search_parts(f.search)[1]
            match = exists().where(table.c.case_id == c.id)
            stmt = stmt.where(match.where(condition) if condition is not None else match)
    return stmt


def number_order(column: Any = cases_t.c.case_number) -> list[Any]:
    """Case numbers in numeric order within their year (2026-99999 before 2026-100000, which text sorts first):
    by year, then by length (five digits before six), then as text."""
    # Literal arguments, as the index ix_cases_number_order writes them: a bound parameter would not match it.
    return [func.substr(column, literal_column("1"), literal_column("4")), func.length(column), column]


#: Within one procedure date the year is the same: length, then text.
_SAME_YEAR = number_order()[1:]

SORT_COLUMNS = {
    "case_number": number_order(),
    "procedure_date": [cases_t.c.procedure_date, *_SAME_YEAR],
    "patient": [patients_t.c.family_name, patients_t.c.given_name, *number_order()],
    "mrn": [patients_t.c.mrn, *number_order()],
    "procedure": [cases_t.c.procedure, cases_t.c.procedure_date, *_SAME_YEAR],
    "duration": [cases_t.c.duration_minutes, *number_order()],
    "anesthesia": [cases_t.c.anesthesia_type, *number_order()],
    "surgeon": [cases_t.c.surgeon, cases_t.c.procedure_date, *_SAME_YEAR],
    "status": [cases_t.c.status, cases_t.c.procedure_date, *_SAME_YEAR],
}


#: Sorts by a column of the patient: with a broad filter their page walks the patients in that order (below).
PATIENT_SORTS = frozenset({"patient", "mrn"})


class PatientsFirst(Join):
    """The patients joined to their cases, walked patient by patient on SQLite (CROSS JOIN fixes that order):
    sorted by a patient's name or MRN, a page then reads the patients' index in order and each one's cases, and
    sorts only within one name, stopping after the page. SQLite's own choice, beside a filter on the cases'
    columns, reads every matching case and sorts them all (200,000 of one surgeon at 1M: 360 ms, walked: 50 ms).
    Elsewhere a plain join (PostgreSQL's planner weighs this itself)."""

    inherit_cache = True


@compiles(PatientsFirst, "sqlite")
def _cross_join(element: PatientsFirst, compiler: Any, **kw: Any) -> str:
    kw["asfrom"] = True
    left = compiler.process(element.left, **kw)
    right = compiler.process(element.right, **kw)
    return f"{left} CROSS JOIN {right} ON {compiler.process(element.onclause, **kw)}"


#: A search matching fewer cases than this drives a page sorted by patient: its matches are read and sorted (22,000
#: for a family name: 90 ms at 1M), since a name's matches lie together in the patients' order and a walk would
#: read every patient before them (1.8 s). A broader search (a phrase of the notes) is spread over every name.
SEARCH_SORT_LIMIT = 25_000


def _counted_to(session: Session, stmt: Select[Any], limit: int | None) -> int:
    """The statement's rows, counted up to `limit` only (None: all)."""
    stmt = stmt if limit is None else stmt.limit(limit)
    return int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())


def patient_plan(session: Session, f: CaseFilter, driving: frozenset[Table]) -> tuple[bool, frozenset[Table]]:
    """For a page sorted by the patient's name or MRN: whether to walk the patients in order (SQLite), and the
    parts that drive. A search matching fewer than SEARCH_SORT_LIMIT cases drives on both databases (its matches
    lie together in the patients' order). On SQLite the patients are walked beside a filter on the cases' own
    columns matching DRIVING_LIMIT cases or more (SQLite would read them all and sort them; walking meets a page
    soon). Without such a filter SQLite walks by itself; with a part that drives (fewer cases) or one of those
    filters matching fewer, the few are read and sorted. PostgreSQL's planner weighs the rest itself."""
    search = f.search.strip() if f.search else ""
    sqlite = session.get_bind().dialect.name == "sqlite"
    if search and search_t not in driving:
        probe = search_probe(search) if sqlite else select(search_t.c.case_id).where(_search_parts(search)[1])
        if _counted_to(session, probe, SEARCH_SORT_LIMIT) < SEARCH_SORT_LIMIT:
            return False, driving | SEARCH
    if not sqlite:
        return False, driving
    own = case_conditions(f)
    if not own or driving:
        return False, driving
    return _counted_to(session, select(cases_t.c.id).where(*own), DRIVING_LIMIT) >= DRIVING_LIMIT, driving


def _matches_first(listed: Select[Any], sort: str, descending: bool) -> Select[Any]:
    """The listed rows of a search that drives, read whole before a page sorted by the patient is cut from them:
    a materialized CTE, which PostgreSQL computes on its own (its estimate cannot know that a name's matches lie
    together in the patients' order, so it would walk every patient and check each one's cases: 5.9 s for a
    family name at 1M, where reading the 22,000 matches and sorting them takes a fraction of that). The page is
    in the list's own order (SORT_COLUMNS), read off the CTE's columns."""
    matches = listed.cte("matches").prefix_with("MATERIALIZED")
    keys = [ClauseAdapter(matches).traverse(column) for column in SORT_COLUMNS[sort]]
    return select(matches).order_by(*(k.desc() if descending else k.asc() for k in keys))


def levels_text(session: Session, case_ids: Sequence[int]) -> dict[int, str]:
    """`L4-L5 bilateral; L5-S1 left` per case, fetched for the listed cases only (a list's page)."""
    found: dict[int, list[str]] = defaultdict(list)
    for part in chunks(case_ids):
        for lv in session.execute(
            select(levels_t.c.case_id, levels_t.c.level, levels_t.c.side)
            .where(levels_t.c.case_id.in_(part))
            .order_by(levels_t.c.case_id, levels_t.c.position)
        ):
            found[lv.case_id].append(f"{lv.level} {lv.side}")
    return {case_id: "; ".join(texts) for case_id, texts in found.items()}


def list_rows(
    session: Session, f: CaseFilter, *, sort: str, descending: bool, offset: int, limit: int | None
) -> list[CaseListItem]:
    """One page of the case list, with levels and complication summaries fetched for that page only."""
    columns = SORT_COLUMNS.get(sort, SORT_COLUMNS["procedure_date"])
    order = [col.desc() if descending else col.asc() for col in columns]
    driving = driving_parts(session, f)
    joined = patients_t.c.id == cases_t.c.patient_id
    walk = False
    if sort in PATIENT_SORTS:
        walk, driving = patient_plan(session, f, driving)
    source = PatientsFirst(patients_t, cases_t, joined) if walk else cases_t.join(patients_t, joined)
    listed = filtered(
        select(
            cases_t.c.id, cases_t.c.case_number, cases_t.c.status, cases_t.c.procedure_date, patients_t.c.mrn,
            patients_t.c.family_name, patients_t.c.given_name, cases_t.c.procedure, cases_t.c.duration_minutes,
            cases_t.c.anesthesia_type, cases_t.c.surgeon, cases_t.c.version,
        ).select_from(source),
        f,
        driving=driving,
    )  # fmt: skip
    if sort in PATIENT_SORTS and search_t in driving and session.get_bind().dialect.name == "postgresql":
        stmt = _matches_first(listed, sort, descending).offset(offset)
    else:
        stmt = listed.order_by(*order).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = session.execute(stmt).all()
    ids = [r.id for r in rows]
    levels = levels_text(session, ids)
    grades: dict[int, list[str]] = defaultdict(list)
    for part in chunks(ids):
        for cp in session.execute(
            select(complications_t.c.case_id, complications_t.c.clavien_dindo).where(
                complications_t.c.case_id.in_(part)
            )
        ):
            grades[cp.case_id].append(cp.clavien_dindo)
    return [
        CaseListItem(
            id=r.id,
            case_number=r.case_number,
            status=r.status,
            procedure_date=r.procedure_date,
            mrn=r.mrn,
            patient_name=f"{r.family_name}, {r.given_name}" if r.given_name else r.family_name,
            procedure=r.procedure,
            levels_text=levels.get(r.id, ""),
            duration_minutes=r.duration_minutes,
            anesthesia_type=r.anesthesia_type,
            surgeon=r.surgeon,
            complication_count=len(grades[r.id]),
            worst_grade=max(grades[r.id], key=lambda g: vocab.GRADE_RANK.get(g, -1)) if grades[r.id] else None,
            version=r.version,
        )
        for r in rows
    ]


def count_cases(session: Session, f: CaseFilter) -> int:
    """How many cases match. Filters on parts alone (a level, any complication, the search text) are counted in
    the first part's table, never joined to a million cases: each of its rows belongs to a case (foreign keys),
    a case has one search row and a level once (unique), and complications are counted by distinct case."""
    children = _child_conditions(f)
    if (
        f.search
        and [t for t, _ in children] == [search_t]
        and not case_conditions(f)
        and exact_by_index(session, f.search)
    ):
        return _counted_to(session, search_probe(f.search), None)
    if children and not case_conditions(f):
        children.sort(key=lambda part: part[0] is complications_t)  # complications last: they repeat a case
        (table, condition), others = children[0], children[1:]
        counted = func.count(distinct(table.c.case_id)) if table is complications_t else func.count()
        stmt = select(counted).select_from(table)
        if condition is not None:
            stmt = stmt.where(condition)
        for other, other_condition in others:
            ids = select(other.c.case_id)
            stmt = stmt.where(table.c.case_id.in_(ids.where(other_condition) if other_condition is not None else ids))
        return int(session.execute(stmt).scalar_one())
    # Beside filters on the cases' own columns the search text drives the count, however broad: its matches are
    # looked up once each, where checking every case of a surgeon or a year would read far more.
    stmt = filtered(select(func.count()).select_from(cases_t), f, driving=driving_parts(session, f, known=SEARCH))
    return int(session.execute(stmt).scalar_one())


def _children(session: Session, table: Table, case_ids: Sequence[int], kind: type[C]) -> dict[int, list[C]]:
    """A case part's rows (levels, complications, outcomes) of these cases, by case, in their order.

    Each column has the name of a field of the part's record class, so the row fills it field by field."""
    values = attrgetter(*(f.name for f in dataclasses.fields(kind)))
    found: dict[int, list[C]] = defaultdict(list)
    order = (table.c.case_id, table.c.position)
    for row in session.execute(select(table).where(table.c.case_id.in_(case_ids)).order_by(*order)):
        found[row.case_id].append(kind(*values(row)))
    return found


def load_views(session: Session, case_ids: Sequence[int]) -> list[CaseView]:
    """Whole cases for these ids, in the order given: five queries per chunk, whatever its size."""
    views: dict[int, CaseView] = {}
    for part in chunks(case_ids):
        levels = _children(session, levels_t, part, TreatedLevel)
        complications = _children(session, complications_t, part, Complication)
        outcomes = _children(session, outcomes_t, part, OutcomeScore)
        attempts = _children(session, attempts_t, part, FollowUpAttempt)
        query = select(
            cases_t,
            patients_t.c.mrn,
            patients_t.c.family_name,
            patients_t.c.given_name,
            patients_t.c.birth_date,
            patients_t.c.sex,
        ).join(patients_t, patients_t.c.id == cases_t.c.patient_id)
        for row in session.execute(query.where(cases_t.c.id.in_(part))):
            record = record_from_row(row, levels[row.id], complications[row.id], outcomes[row.id], attempts[row.id])
            views[row.id] = CaseView(
                id=row.id,
                version=row.version,
                record=record,
                created_at=row.created_at,
                updated_at=row.updated_at,
                signed_by=row.signed_by,
                signed_at=row.signed_at,
            )
    return [views[i] for i in case_ids if i in views]


def ordered_ids(session: Session, f: CaseFilter, *, after: tuple[dt.date, int, str] | None, limit: int) -> list[Any]:
    """The next ids in export order (procedure date, then case number as a number), by keyset: no OFFSET scans.

    The date's own bound (`>=`) lets the (procedure date, case number) index find the start; within a day only
    that day's cases are sorted by length then text."""
    length = func.length(cases_t.c.case_number)
    stmt = filtered(select(cases_t.c.id, cases_t.c.procedure_date, length.label("length"), cases_t.c.case_number), f)
    if after is not None:
        stmt = stmt.where(
            cases_t.c.procedure_date >= after[0],
            tuple_(cases_t.c.procedure_date, length, cases_t.c.case_number) > tuple_(*after),
        )
    order = [cases_t.c.procedure_date, length, cases_t.c.case_number]
    return list(session.execute(stmt.order_by(*order).limit(limit)).all())


def iter_views(session: Session, f: CaseFilter, *, batch: int = 500) -> Iterator[CaseView]:
    """Every matching case in export order, a batch at a time, so memory stays flat for any number of cases."""
    after: tuple[dt.date, int, str] | None = None
    while True:
        rows = ordered_ids(session, f, after=after, limit=batch)
        if not rows:
            return
        yield from load_views(session, [r.id for r in rows])
        last = rows[-1]
        after = (last.procedure_date, last.length, last.case_number)


def case_id_for_number(session: Session, case_number: str) -> tuple[int, int, str, int] | None:
    """(id, version, status, patient id) of a case, or None."""
    row = session.execute(
        select(cases_t.c.id, cases_t.c.version, cases_t.c.status, cases_t.c.patient_id).where(
            cases_t.c.case_number == case_number
        )
    ).first()
    return (row.id, row.version, row.status, row.patient_id) if row else None


def distinct_values(session: Session, column: str) -> list[str]:
    col = cases_t.c[column]
    return [v for v in session.execute(select(col).distinct().order_by(col)).scalars() if v]


def patient_by_mrn(session: Session, mrn: str) -> Patient | None:
    row = session.execute(select(patients_t).where(patients_t.c.mrn == mrn)).first()
    return patient_from_row(row) if row else None


def row_batches(session: Session, stmt: Select[Any], batch: int = 5_000) -> Generator[Sequence[Any]]:
    """`plain_rows` a batch at a time, for a result too long to hold as tuples (each year's packed pain scores at a
    million cases: 45 MB as one list)."""
    result = session.execute(stmt)
    assert isinstance(result, CursorResult)
    try:
        while rows := result.cursor.fetchmany(batch):
            yield rows
    finally:
        result.close()


def plain_rows(session: Session, stmt: Select[Any]) -> list[Any]:
    """The rows as the driver returns them (plain tuples), for statements of plain numbers and text only, or of
    columns read as stored (nothing to convert): SQLAlchemy's per-row handling would cost more than the query
    on 100,000 rows."""
    result = session.execute(stmt)
    assert isinstance(result, CursorResult)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()
