"""The dashboard's additive count tables counted from the cases by grouped SQL, for any filter and split by any
columns of a case's row: what `caselog.dashboard` draws its figures from, and what `caselog.dashboard_tallies`
stores per slice. No Qt here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, case, cast, func, select
from sqlalchemy.orm import Session

from caselog import vocab
from caselog.db import store
from caselog.db.queries import row_batches
from caselog.records import CaseFilter

#: Measures summarised by timepoint: the pain scales and the disability index.
SCORE_MEASURES: tuple[str, ...] = ("nrs_back", "nrs_leg", "odi", "nrs_neck", "nrs_arm", "ndi")
DayRange = tuple[dt.date | None, dt.date | None]
cases_t = store.cases_t
C = cases_t.c  # the cases table's columns
#: Packed pain-score keys kept unpacked at most, then the cache starts again: a bound on its memory (about 7 MB for
#: the 37,000 keys of the busiest year of a million demo cases, their parts shared), well above what a year needs.
UNPACKED_KEYS = 100_000


def month(day: dt.date) -> dt.date:
    """The first day of the day's month."""
    return day.replace(day=1)


# SQLite sorts every row for GROUP BY, and a sort on one integer costs it about half of one on several columns
# holding text. So durations and scores are grouped on one integer packing every key (known procedure and
# timepoint codes, scores within their ranges); a row that does not fit packs to NULL, and then the plain
# grouping on the columns themselves is run instead, so the figures never depend on the packing.


By = Sequence[ColumnElement[Any]]


Key = tuple[Any, ...]


def _code(column: ColumnElement[str], values: Iterable[str]) -> ColumnElement[int]:
    """0, 1, ... for the known values in order; NULL for anything else."""
    return case({v: i for i, v in enumerate(values)}, value=column)


def _digit(column: ColumnElement[int], low: int, high: int) -> ColumnElement[int]:
    """`column - low` within its range, `high - low + 1` when missing, NULL when out of range."""
    return case((column.is_(None), high - low + 1), (column.between(low, high), column - low))


def month_counts_by(
    session: Session, f: CaseFilter, by: By = ()
) -> dict[Key, tuple[dict[tuple[dt.date, str], int], DayRange]]:
    """Cases by (first day of the month, procedure), and the first and last procedure date, of each group of
    `by` (columns of a case's row: the tallies' slice) in one grouped pass."""
    # Grouped by day, not month: date functions differ between SQLite and PostgreSQL, days are few enough.
    stmt = select(*by, C.procedure_date, C.procedure, func.count()).group_by(*by, C.procedure_date, C.procedure)
    counts: dict[Key, dict[tuple[dt.date, str], int]] = defaultdict(lambda: defaultdict(int))
    days: dict[Key, list[dt.date]] = defaultdict(list)
    width = len(by)
    for row in session.execute(store.filtered(stmt, f)):
        key, (day, procedure, n) = tuple(row[:width]), row[width:]
        counts[key][(month(day), procedure)] += n
        days[key].append(day)
    return {key: (dict(counts[key]), (min(found), max(found))) for key, found in days.items()}


def complication_counts_by(session: Session, f: CaseFilter, by: By = ()) -> dict[Key, dict[str, list[int]]]:
    """Per procedure: [cases, cases with at least one complication, complications], of each group of `by`."""
    width = len(by)
    counts: dict[Key, dict[str, list[int]]] = defaultdict(dict)
    cases = select(*by, C.procedure, func.count()).group_by(*by, C.procedure)
    for row in session.execute(store.filtered(cases, f)):
        counts[tuple(row[:width])][row[width]] = [row[width + 1], 0, 0]
    comp = store.complications_t.c
    events = (
        select(*by, C.procedure, func.count(func.distinct(comp.case_id)), func.count())
        .select_from(store.complications_t)
        .join(cases_t, C.id == comp.case_id)
        .group_by(*by, C.procedure)
    )
    for row in session.execute(store.filtered(events, f)):
        procedure, affected, n = row[width:]
        counts[tuple(row[:width])][procedure][1:] = [affected, n]
    return dict(counts)


def duration_counts_by(session: Session, f: CaseFilter, by: By = ()) -> dict[Key, dict[str, dict[float, int]]]:
    """Per procedure: {minutes: cases}, of each group of `by`."""
    width = len(by)
    tables: dict[Key, dict[str, dict[float, int]]] = defaultdict(lambda: defaultdict(dict))
    procedures = tuple(vocab.PROCEDURES)
    key = C.duration_minutes * len(procedures) + _code(C.procedure, procedures)
    packed = session.execute(store.filtered(select(*by, key, func.count()).group_by(*by, key), f)).all()
    if any(row[width] is None for row in packed):
        stmt = select(*by, C.procedure, C.duration_minutes, func.count()).group_by(*by, C.procedure, C.duration_minutes)
        for row in session.execute(store.filtered(stmt, f)):
            procedure, minutes, n = row[width:]
            tables[tuple(row[:width])][procedure][minutes] = n
    else:
        for row in packed:
            minutes, code = divmod(row[width], len(procedures))
            tables[tuple(row[:width])][procedures[code]][minutes] = row[width + 1]
    return {k: dict(t) for k, t in tables.items()}


def score_counts_by(
    session: Session, f: CaseFilter, by: By = ()
) -> dict[Key, dict[tuple[str, str, str], dict[float, int]]]:
    """Per (procedure, timepoint, measure): {score: outcomes}, of each group of `by`."""
    o = store.outcomes_t.c
    width = len(by)
    procedures, timepoints = tuple(vocab.PROCEDURES), tuple(vocab.TIMEPOINTS)
    spans = [vocab.OUTCOME_MEASURES[m][1] - vocab.OUTCOME_MEASURES[m][0] + 2 for m in SCORE_MEASURES]
    # Six measures pack past 2**31: a 64-bit integer from the start (PostgreSQL's integer would overflow).
    key: ColumnElement[int] = cast(_code(C.procedure, procedures), BigInteger) * len(timepoints) + _code(
        o.timepoint, timepoints
    )
    for measure, span in zip(SCORE_MEASURES, spans, strict=True):
        key = key * span + _digit(o[measure], *vocab.OUTCOME_MEASURES[measure])
    joined = select().select_from(store.outcomes_t).join(cases_t, C.id == o.case_id)
    packed = store.filtered(joined.add_columns(*by, key, func.count()).group_by(*by, key), f)
    tables: dict[Key, dict[tuple[str, str, str], dict[float, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )

    # Each (procedure, timepoint, measure, score) made once and shared: the cache below holds tens of thousands of
    # keys, each made of these (30 MB for a year of a million cases when every key made its own, 6 MB shared).
    shared: dict[tuple[int, int, int, int], tuple[tuple[str, str, str], int]] = {}

    def unpack(k: int) -> tuple[tuple[tuple[str, str, str], int], ...]:
        digits = []
        for span in reversed(spans):
            k, digit = divmod(k, span)
            digits.append(digit)
        code, timepoint_code = divmod(k, len(timepoints))
        found = []
        for i, (span, digit) in enumerate(zip(spans, reversed(digits), strict=True)):
            if digit != span - 1:
                pair = shared.get((code, timepoint_code, i, digit))
                if pair is None:
                    measure = SCORE_MEASURES[i]
                    pair = ((procedures[code], timepoints[timepoint_code], measure),
                            digit + vocab.OUTCOME_MEASURES[measure][0])  # fmt: skip
                    shared[(code, timepoint_code, i, digit)] = pair
                found.append(pair)
        return tuple(found)

    # The rows streamed (grouped by slice, nearly every outcome is a row of its own: a year of a million cases held
    # 45 MB as one list), each packed key unpacked once while the cache is small (a slice's keys come back in the
    # next slice).
    unpacked: dict[int, tuple[tuple[tuple[str, str, str], int], ...]] = {}
    out_of_range = False
    batches = row_batches(session, packed)
    try:
        for rows in batches:
            if any(row[width] is None for row in rows):  # a score outside its range (edited by hand): counted from
                out_of_range = True  # the columns instead
                break
            for row in rows:
                k, n = row[width], row[width + 1]
                found = unpacked.get(k)
                if found is None:
                    if len(unpacked) >= UNPACKED_KEYS:
                        unpacked.clear()
                    found = unpacked[k] = unpack(k)
                group = tables[tuple(row[:width])]
                for table_key, score in found:
                    group[table_key][score] += n
    finally:
        batches.close()  # its cursor, left early when a key is out of range
    if out_of_range:
        tables.clear()
        columns = [o[m] for m in SCORE_MEASURES]
        stmt = joined.add_columns(*by, C.procedure, o.timepoint, *columns, func.count()).group_by(
            *by, C.procedure, o.timepoint, *columns
        )
        for row in session.execute(store.filtered(stmt, f)):
            procedure, timepoint, *scores, n = row[width:]
            for measure, score in zip(SCORE_MEASURES, scores, strict=True):
                if score is not None:
                    tables[tuple(row[:width])][(procedure, timepoint, measure)][score] += n
    return {group: {k: dict(t) for k, t in found.items()} for group, found in tables.items()}
