"""The quality desk's complications list: one row per complication across all cases, filtered and sorted in SQL.

For quality staff (and everyone who may view cases); the rows are frozen dataclasses the desktop app
shows in a table model and exports. Setting a review goes through `CaseService.set_review`, with the
row's `case_number` and `position`. No Qt here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy import case as sql_case

from caselog import vocab
from caselog.db import queries, store
from caselog.records import CaseFilter
from caselog.service import CaseService


@dataclass(frozen=True, slots=True)
class ComplicationFilter:
    """The quality desk's filters; None means "any". Dates are inclusive, on the procedure date (as the
    complication log PDF), so a list and its printed log cover the same complications."""

    date_from: dt.date | None = None
    date_to: dt.date | None = None
    procedure: str | None = None
    surgeon: str | None = None
    category: str | None = None
    clavien_dindo: str | None = None
    timing: str | None = None
    review_status: str | None = None

    def case_filter(self) -> CaseFilter:
        return CaseFilter(
            date_from=self.date_from, date_to=self.date_to, surgeon=self.surgeon, procedure=self.procedure
        )


@dataclass(frozen=True, slots=True)
class ComplicationEntry:
    """One complication with the case it belongs to; `position` is its index for `CaseService.set_review`."""

    case_number: str
    position: int
    case_status: str
    procedure_date: dt.date
    procedure: str
    surgeon: str
    levels_text: str
    category: str
    description: str | None
    clavien_dindo: str
    timing: str
    onset_date: dt.date
    treatment: str | None
    resolved_date: dt.date | None
    review_status: str
    review_notes: str | None

    @property
    def procedure_label(self) -> str:
        return vocab.label(vocab.PROCEDURES, self.procedure)

    @property
    def category_label(self) -> str:
        return vocab.label(vocab.COMPLICATION_CATEGORIES, self.category)

    @property
    def timing_label(self) -> str:
        return vocab.label(vocab.COMPLICATION_TIMINGS, self.timing)

    @property
    def review_status_label(self) -> str:
        return vocab.label(vocab.REVIEW_STATUSES, self.review_status)


C = store.cases_t.c
K = store.complications_t.c

#: Grades sort by severity (I < II < IIIa < ... < V), not alphabetically; review status in workflow order.
_GRADE_ORDER = sql_case(vocab.GRADE_RANK, value=K.clavien_dindo, else_=len(vocab.GRADE_RANK))
_REVIEW_ORDER = sql_case(
    {s: i for i, s in enumerate(vocab.REVIEW_STATUSES)}, value=K.review_status, else_=len(vocab.REVIEW_STATUSES)
)

#: Sort keys the list accepts; each ends with case number and position, so equal keys keep a stable order.
SORT_KEYS: dict[str, list[Any]] = {
    "case_number": [C.case_number],
    "procedure_date": [C.procedure_date],
    "procedure": [C.procedure, C.procedure_date],
    "surgeon": [C.surgeon, C.procedure_date],
    "category": [K.category, C.procedure_date],
    "clavien_dindo": [_GRADE_ORDER, C.procedure_date],
    "timing": [K.timing, C.procedure_date],
    "onset_date": [K.onset_date],
    "review_status": [_REVIEW_ORDER, C.procedure_date],
    "resolved_date": [K.resolved_date],
}


def _filtered(stmt: Select[Any], f: ComplicationFilter) -> Select[Any]:
    stmt = store.filtered(stmt.select_from(store.complications_t).join(store.cases_t, C.id == K.case_id),
                          f.case_filter())  # fmt: skip
    for column, wanted in (
        (K.category, f.category),
        (K.clavien_dindo, f.clavien_dindo),
        (K.timing, f.timing),
        (K.review_status, f.review_status),
    ):
        if wanted is not None:
            stmt = stmt.where(column == wanted)
    return stmt


def list_complications(
    service: CaseService,
    f: ComplicationFilter | None = None,
    *,
    sort: str = "procedure_date",
    descending: bool = False,
    offset: int = 0,
    limit: int | None = None,
) -> list[ComplicationEntry]:
    """The complications the filter selects, sorted in SQL (ties by case number and position).

    Raises ValueError for an unknown sort key, rather than silently sorting by something else.
    """
    f = f or ComplicationFilter()
    if sort not in SORT_KEYS:
        raise ValueError(f"unknown sort key {sort!r}; one of {', '.join(SORT_KEYS)}")
    keys = [*SORT_KEYS[sort], C.case_number, K.position]
    order = [k.desc() if descending else k.asc() for k in keys]
    stmt = _filtered(
        select(C.id, C.case_number, C.status, C.procedure_date, C.procedure, C.surgeon, K.position, K.category,
               K.description, K.clavien_dindo, K.timing, K.onset_date, K.treatment, K.resolved_date, K.review_status,
               K.review_notes),
        f,
    ).order_by(*order).offset(offset)  # fmt: skip
    if limit is not None:
        stmt = stmt.limit(limit)
    with service.reading() as session:
        rows = session.execute(stmt).all()
        levels = queries.levels_text(session, sorted({r.id for r in rows}))
    return [
        ComplicationEntry(
            case_number=r.case_number,
            position=r.position,
            case_status=r.status,
            procedure_date=r.procedure_date,
            procedure=r.procedure,
            surgeon=r.surgeon,
            levels_text=levels.get(r.id, ""),
            category=r.category,
            description=r.description,
            clavien_dindo=r.clavien_dindo,
            timing=r.timing,
            onset_date=r.onset_date,
            treatment=r.treatment,
            resolved_date=r.resolved_date,
            review_status=r.review_status,
            review_notes=r.review_notes,
        )
        for r in rows
    ]


def cases_by_procedure(service: CaseService, case_filter: CaseFilter | None = None) -> dict[str, int]:
    """Cases per procedure in the filter, grouped in SQL: the complication log's denominators, so the log
    needs to load only the cases that had a complication (`CaseFilter(with_complications=True)`)."""
    f = case_filter or CaseFilter()
    with service.reading() as session:
        stmt = store.filtered(select(C.procedure, func.count()), f).group_by(C.procedure)
        return {procedure: int(n) for procedure, n in session.execute(stmt)}


def count_complications(service: CaseService, f: ComplicationFilter | None = None) -> int:
    """How many complications the filter selects (for the list's paging and its heading)."""
    f = f or ComplicationFilter()
    with service.reading() as session:
        return int(session.execute(_filtered(select(func.count()), f)).scalar_one())


def review_counts(service: CaseService, f: ComplicationFilter | None = None) -> dict[str, int]:
    """Complications per review status (every status present, zeros included), within the filter."""
    f = f or ComplicationFilter()
    with service.reading() as session:
        found: dict[str, int] = dict(
            session.execute(_filtered(select(K.review_status, func.count()), f).group_by(K.review_status)).all()
        )
    return {status: int(found.get(status, 0)) for status in vocab.REVIEW_STATUSES}
