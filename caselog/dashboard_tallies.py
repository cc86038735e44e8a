"""The dashboard's count tables kept in the database, so a build at a million cases reads stored rows instead of
counting every case again (issue 18).

Two kinds of stored tallies (schema 0017), both derived data:

- `dashboard_slices`: the additive count tables (`Counts`: cases per month, complications, durations, pain and
  disability scores, MCID reached/measurable) of each slice, the cases of one procedure year by one surgeon, as
  JSON. A filter's whole years are summed from its slices; its partial years at either end are counted live.
- `dashboard_sides`: each ablation or rhizotomy's treated sides by kind (repeated, or censored and followed, lost
  or died) and days, with the case's patient, procedure, date and surgeon: the durability figures are sums over
  them, with any date range and surgeon. Lost and died depend on today: each case's rows carry `recheck_on`, the
  first day its state could change by the date alone (a missed timepoint's deadline, an attempt or a case dated
  later), and are counted again from that day; a build on an earlier day than one stored counts everything.

The database marks what is stale itself: triggers on the cases and their parts write the changed patient (and the
slice a case left) into `dashboard_stale` on every path into the data (the app, import, demo, restore, sqlite3 or
psql). A build reads the marks with the data in one snapshot, counts the marked patients' slices and sides again
(or everything, when the marks are many, the schedule changed or nothing is stored yet), and writes them back
afterwards, best effort: only if no other build took the same marks meanwhile (else its copy stands and a later
build counts again). Writing is no audited action: reading the dashboard stays a read for the roles table.
`problems` compares every stored row with the cases for `caselog check`. No Qt here.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
import weakref
import zlib
from array import array
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any, cast, overload

from sqlalchemy import Integer, Table, and_, delete, extract, func, insert, inspect, select, text, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import replacement_traverse

from caselog import clinic
from caselog.dashboard_counts import complication_counts_by, duration_counts_by, month_counts_by, score_counts_by
from caselog.db import store
from caselog.db.engine import Database
from caselog.db.models import (
    DashboardSideRow,
    DashboardSliceRow,
    DashboardStaleRow,
    DashboardStaleSliceRow,
    DashboardTallyStateRow,
    DashboardYearRow,
)
from caselog.db.queries import case_conditions, plain_rows, row_batches
from caselog.db.tables import chunks
from caselog.durability import DURABILITY_PROCEDURES, SideTally, add_side, side_counts
from caselog.followup import SETTING, FollowUpSchedule, due_date, grace_days, schedule_from_setting
from caselog.memory import give_back_freed_memory
from caselog.outcomes import mcid_counts_by
from caselog.records import CaseFilter
from caselog.tables import label

log = logging.getLogger(__name__)

slices_t = cast(Table, DashboardSliceRow.__table__)
sides_t = cast(Table, DashboardSideRow.__table__)
stale_t = cast(Table, DashboardStaleRow.__table__)
stale_slices_t = cast(Table, DashboardStaleSliceRow.__table__)
state_t = cast(Table, DashboardTallyStateRow.__table__)
years_t = cast(Table, DashboardYearRow.__table__)
C = store.cases_t.c
Slice = tuple[int, str, str]  # (procedure year, surgeon, procedure)
Key3 = tuple[str, str, str]
#: At most this many stale slices are counted one by one (a changed patient's), more a year at a time.
FEW_SLICES = 8
#: More marked patients than this: everything is counted again in one pass (cheaper than patient by patient).
MANY_PATIENTS = 20_000
#: Patients per query when their sides are counted or read (well under both databases' parameter limits).
PATIENTS_PER_QUERY = 2_000
#: Patients per pass when every patient's sides are counted (about 13,000 stored rows a pass at a million cases):
#: SQLite's work space for a pass (15 MB at this size) comes on top of the rows kept so far as `SideColumns`; 20,000
#: a pass peaked 10 MB higher in the same time, 5,000 took 3% longer.
PATIENTS_PER_PASS = 10_000


# ---- the additive count tables ----------------------------------------------------------------------------------


@dataclass(slots=True)
class Counts:
    """Additive count tables of a set of cases: two sets' `Counts` added are those of their union."""

    months: dict[tuple[dt.date, str], int] = field(default_factory=dict)
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    complications: dict[str, list[int]] = field(default_factory=dict)  # [cases, with complications, complications]
    durations: dict[str, dict[float, int]] = field(default_factory=dict)
    scores: dict[Key3, dict[float, int]] = field(default_factory=dict)
    mcid: dict[Key3, list[int]] = field(default_factory=dict)  # [measurable, reached]

    def add(self, other: Counts) -> None:
        _add_numbers(self.months, other.months)
        days = [d for d in (self.first_day, other.first_day) if d is not None]
        self.first_day = min(days) if days else None
        days = [d for d in (self.last_day, other.last_day) if d is not None]
        self.last_day = max(days) if days else None
        _add_lists(self.complications, other.complications)
        _add_tables(self.durations, other.durations)
        _add_tables(self.scores, other.scores)
        _add_lists(self.mcid, other.mcid)

    @property
    def cases(self) -> int:
        return sum(self.months.values())

    def to_json(self) -> str:
        """Canonical JSON (sorted keys): two counts of the same cases give the same text."""
        data = {
            "months": {f"{m.isoformat()}|{p}": n for (m, p), n in self.months.items() if n},
            "days": [_iso(self.first_day), _iso(self.last_day)],
            "complications": self.complications,
            "durations": {p: _table_out(t) for p, t in self.durations.items()},
            "scores": {"|".join(k): _table_out(t) for k, t in self.scores.items()},
            "mcid": {"|".join(k): v for k, v in self.mcid.items()},
        }
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Counts:
        data = json.loads(raw)
        months = {}
        for key, n in data["months"].items():
            month, procedure = key.split("|", 1)
            months[(dt.date.fromisoformat(month), procedure)] = int(n)
        first, last = data["days"]
        return cls(
            months=months,
            first_day=None if first is None else dt.date.fromisoformat(first),
            last_day=None if last is None else dt.date.fromisoformat(last),
            complications={p: [int(n) for n in v] for p, v in data["complications"].items()},
            durations={p: _table_in(t) for p, t in data["durations"].items()},
            scores={_key3(k): _table_in(t) for k, t in data["scores"].items()},
            mcid={_key3(k): [int(n) for n in v] for k, v in data["mcid"].items()},
        )


def _iso(day: dt.date | None) -> str | None:
    return None if day is None else day.isoformat()


def _key3(key: str) -> Key3:
    a, b, c = key.split("|", 2)
    return (a, b, c)


def _table_out(table: dict[float, int]) -> list[list[float]]:
    """A frequency table as sorted [value, count] pairs: JSON numbers read back as the same int or float."""
    return [[k, int(n)] for k, n in sorted(table.items()) if n]


def _table_in(pairs: list[list[Any]]) -> dict[float, int]:
    return dict(cast(Any, pairs))


def _add_numbers(into: dict[Any, int], other: dict[Any, int]) -> None:
    for key, n in other.items():
        into[key] = into.get(key, 0) + n


def _add_lists(into: dict[Any, list[int]], other: dict[Any, list[int]]) -> None:
    for key, values in other.items():
        mine = into.setdefault(key, [0] * len(values))
        for i, n in enumerate(values):
            mine[i] += n


def _add_tables(into: dict[Any, dict[float, int]], other: dict[Any, dict[float, int]]) -> None:
    for key, table in other.items():
        _add_numbers(into.setdefault(key, {}), table)


def count_cases(session: Session, f: CaseFilter) -> Counts:
    """The count tables of the filter's cases, counted from the cases now (grouped SQL)."""
    return _count_groups(session, f, ()).get((), Counts())


def _count_groups(session: Session, f: CaseFilter, by: Any) -> dict[tuple[Any, ...], Counts]:
    """The count tables of each group of `by` among the filter's cases: one grouped pass per table."""
    found: dict[tuple[Any, ...], Counts] = {}
    for key, (months, (first, last)) in month_counts_by(session, f, by).items():
        found[key] = Counts(months=months, first_day=first, last_day=last)
    for key, complications in complication_counts_by(session, f, by).items():
        found[key].complications = complications
    for key, durations in duration_counts_by(session, f, by).items():
        found[key].durations = durations
    for key, scores in score_counts_by(session, f, by).items():
        found[key].scores = scores
    for key, mcid in mcid_counts_by(session, f, by).items():
        found[key].mcid = mcid
    return found


def slice_filter(year: int, surgeon: str, procedure: str) -> CaseFilter:
    return CaseFilter(date_from=dt.date(year, 1, 1), date_to=dt.date(year, 12, 31), surgeon=surgeon,
                      procedure=procedure)  # fmt: skip


def count_slices(session: Session, slices: Iterable[Slice]) -> dict[Slice, Counts]:
    """The count tables of each slice. A few slices (a changed patient's) are counted each on its own, by index;
    more a year at a time, grouped by surgeon and procedure (`_count_parts`; only that procedure's cases where
    a year's wanted slices are all of one). A slice without cases is left out."""
    wanted = set(slices)
    if len(wanted) <= FEW_SLICES and all(surgeon and procedure for _, surgeon, procedure in wanted):  # blank: any
        found = {key: count_cases(session, slice_filter(*key)) for key in wanted}
        return {key: counts for key, counts in found.items() if counts.cases}
    procedures: dict[int, set[str]] = defaultdict(set)
    for year, _, procedure in wanted:
        procedures[year].add(procedure)
    parts = {(year, next(iter(p)) if len(p) == 1 else "") for year, p in procedures.items()}
    counted: dict[Slice, Counts] = {}
    for slices in _count_parts(session, parts):
        counted.update((key, counts) for key, counts in slices.items() if key in wanted)
    return counted


def _count_parts(session: Session, parts: Iterable[tuple[int, str]]) -> Iterator[dict[Slice, Counts]]:
    """The slices of each (year, procedure) counted from the cases, one part at a time, grouped by surgeon and
    procedure (a blank procedure: the whole year in one part). About one build counted live however many slices
    there are, with one part's groups in memory at a time: the whole at once held 750 MB at a million cases (the
    pain scores' packed keys group little within a slice), a year at a time 25 MB over the process."""
    for year, procedure in sorted(set(parts)):
        f = CaseFilter(date_from=dt.date(year, 1, 1), date_to=dt.date(year, 12, 31), procedure=procedure or None)
        grouped = _count_groups(session, f, (C.surgeon, C.procedure))
        yield {(year, str(surgeon), str(p)): c for (surgeon, p), c in grouped.items()}


def _year() -> Any:
    return func.cast(extract("year", C.procedure_date), Integer)


def _slices_of(session: Session, patients: Sequence[int] | None) -> set[Slice]:
    """The slices holding a case of these patients (of every patient when None)."""
    stmt = select(_year(), C.surgeon, C.procedure).group_by(_year(), C.surgeon, C.procedure)
    if patients is None:
        return {(int(y), s, p) for y, s, p in plain_rows(session, stmt)}
    found: set[Slice] = set()
    for chunk in _chunks(patients):
        found |= {(int(y), s, p) for y, s, p in plain_rows(session, stmt.where(C.patient_id.in_(chunk)))}
    return found


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    """Patient ids in order, a query's worth at a time."""
    return chunks(sorted(ids), PATIENTS_PER_QUERY)


# ---- the durability sides -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SideRow:
    """One stored row of `dashboard_sides`: a case's treated sides of one kind at one time."""

    case_id: int
    kind: int
    days: int
    sides: int
    patient_id: int
    procedure: str
    procedure_date: dt.date
    surgeon: str
    recheck_on: dt.date | None

    def chosen(self, f: CaseFilter) -> bool:
        """Whether the filter (dates and surgeon only: `sliceable`) chooses this case, as SQL does."""
        return (
            (f.date_from is None or self.procedure_date >= f.date_from)
            and (f.date_to is None or self.procedure_date <= f.date_to)
            and (not f.surgeon or self.surgeon == f.surgeon)
        )


#: `SideColumns`' columns and their machine types: ids 64-bit, the rest 32-bit (days as ordinals, texts by number).
_SIDE_COLUMNS = {"case_id": "q", "patient_id": "q", "kind": "i", "days": "i", "sides": "i", "day": "i", "recheck": "i",
                 "procedure": "i", "surgeon": "i"}  # fmt: skip
Block = dict[str, "array[int]"]


class SideColumns(Sequence[SideRow]):
    """Stored-side rows kept as columns of machine integers, each text once, in blocks (a pass each) compressed
    once sealed: the half a million rows of a cold build at a million cases take 5 MB here, 21 MB as plain
    columns and 110 MB as row objects. Reads back as `SideRow`s, a block at a time."""

    def __init__(self) -> None:
        self._open: Block = self._empty()
        self._sealed: list[tuple[int, int, bytes]] = []  # (first row, rows, the block's columns compressed)
        self._firsts: list[int] = []  # each sealed block's first row, for finding a row's block
        self._sealed_rows = 0
        self._last: tuple[int, Block] | None = None  # the sealed block read last, unpacked
        self._texts: list[str] = []
        self._text_ids: dict[str, int] = {}

    @staticmethod
    def _empty() -> Block:
        return {name: array(code) for name, code in _SIDE_COLUMNS.items()}

    def _text_id(self, value: str) -> int:
        found = self._text_ids.get(value)
        if found is None:
            found = self._text_ids[value] = len(self._texts)
            self._texts.append(value)
        return found

    def append(self, case_id: int, kind: int, days: int, sides: int, patient_id: int, procedure: str,
               day: dt.date, surgeon: str, recheck_on: dt.date | None) -> None:  # fmt: skip
        values = (case_id, patient_id, kind, days, sides, day.toordinal(),
                  0 if recheck_on is None else recheck_on.toordinal(), self._text_id(procedure),
                  self._text_id(surgeon))  # fmt: skip
        for column, value in zip(self._open.values(), values, strict=True):
            column.append(value)

    def set_rechecks(self, first: int, days: Mapping[int, dt.date | None]) -> None:
        """Each unsealed row's recheck day from row `first` on, by its case (known once a pass's rows are read)."""
        case_ids, recheck = self._open["case_id"], self._open["recheck"]
        for i in range(max(first - self._sealed_rows, 0), len(case_ids)):
            day = days[case_ids[i]]
            recheck[i] = 0 if day is None else day.toordinal()

    def seal(self) -> None:
        """Compresses the rows appended since the last seal into a block of their own (a quarter of their size)."""
        rows = len(self._open["case_id"])
        if not rows:
            return
        packed = b"".join(column.tobytes() for column in self._open.values())
        self._sealed.append((self._sealed_rows, rows, zlib.compress(packed, 1)))
        self._firsts.append(self._sealed_rows)
        self._sealed_rows += rows
        self._open = self._empty()

    def _blocks(self) -> Iterator[tuple[int, Block]]:
        """Each block's first row and columns, in order, the unsealed rows last."""
        for first, rows, packed in self._sealed:
            yield first, self._unpack(first, rows, packed)
        yield self._sealed_rows, self._open

    def _unpack(self, first: int, rows: int, packed: bytes) -> Block:
        if self._last is not None and self._last[0] == first:
            return self._last[1]
        raw = memoryview(zlib.decompress(packed))
        block = self._empty()
        at = 0
        for column in block.values():
            size = rows * column.itemsize
            column.frombytes(raw[at : at + size])
            at += size
        self._last = (first, block)
        return block

    def _block_of(self, i: int) -> tuple[int, Block]:
        if i >= self._sealed_rows:
            return self._sealed_rows, self._open
        first, rows, packed = self._sealed[bisect_right(self._firsts, i) - 1]
        return first, self._unpack(first, rows, packed)

    def sums(self, f: CaseFilter) -> SideSums:
        """The filter's `SideSums` read off the columns (its dates and surgeon, as `SideRow.chosen`), each patient
        counted once per procedure by a byte per patient id (ids are dense; a set where they are not): a set of
        the half a million rows' (procedure, patient) pairs held 30 MB at a million cases."""
        sums = SideSums()
        first = f.date_from.toordinal() if f.date_from else None
        last = f.date_to.toordinal() if f.date_to else None
        surgeon = self._text_ids.get(f.surgeon, -1) if f.surgeon else None
        low, top, rows = 0, 0, len(self)
        for _, block in self._blocks():
            if block["patient_id"]:
                low, top = min(low, min(block["patient_id"])), max(top, max(block["patient_id"]))
        dense = low >= 0 and top <= 8 * rows + 1024
        seen: dict[int, bytearray | set[int]] = {}
        for _, block in self._blocks():
            columns = zip(*(block[name] for name in ("procedure", "kind", "days", "sides", "day", "surgeon",
                                                     "patient_id")), strict=True)  # fmt: skip
            for procedure, kind, days, n, day, by, patient in columns:
                if (first is not None and day < first) or (last is not None and day > last):
                    continue
                if surgeon is not None and by != surgeon:
                    continue
                add_side(sums.tallies[self._texts[procedure]], kind, days, n)
                mine = seen.get(procedure)
                if mine is None:
                    mine = seen[procedure] = bytearray(top + 1) if dense else set()
                if isinstance(mine, bytearray):
                    mine[patient] = 1
                else:
                    mine.add(patient)
        for procedure, mine in seen.items():
            people = len(mine) - mine.count(0) if isinstance(mine, bytearray) else len(mine)
            sums.patients[self._texts[procedure]] = people
        return sums

    def __len__(self) -> int:
        return self._sealed_rows + len(self._open["case_id"])

    def _row(self, block: Block, i: int) -> SideRow:
        recheck = block["recheck"][i]
        return SideRow(block["case_id"][i], block["kind"][i], block["days"][i], block["sides"][i],
                       block["patient_id"][i], self._texts[block["procedure"][i]],
                       dt.date.fromordinal(block["day"][i]), self._texts[block["surgeon"][i]],
                       dt.date.fromordinal(recheck) if recheck else None)  # fmt: skip

    def __iter__(self) -> Iterator[SideRow]:
        for _, block in self._blocks():
            for i in range(len(block["case_id"])):
                yield self._row(block, i)

    def _at(self, i: int) -> SideRow:
        first, block = self._block_of(i)
        return self._row(block, i - first)

    @overload
    def __getitem__(self, index: int) -> SideRow: ...

    @overload
    def __getitem__(self, index: slice) -> list[SideRow]: ...

    def __getitem__(self, index: int | slice) -> SideRow | list[SideRow]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._at(index)


def count_sides(session: Session, today: dt.date, schedule: FollowUpSchedule,
                patients: Sequence[int] | None) -> SideColumns:  # fmt: skip
    """The sides of these patients' ablations and rhizotomies (every patient's when None), counted from the cases
    as the live figures count them (caselog.durability.side_counts, one row per case, kind and days), each case's
    rows with the day its lost/died state is next to be checked. The rows are read a batch at a time straight into
    the columns: a pass's rows as tuples were 30 MB at a million cases, and what they left scattered stayed."""
    by = (C.id, C.patient_id, C.procedure_date, C.surgeon)
    parts: list[tuple[dict[str, Any], Any]]
    if patients is None:  # every patient's, by ranges of ids: a pass each, a part of them in memory at a time
        treated = select(C.patient_id).where(C.procedure.in_(DURABILITY_PROCEDURES)).distinct()
        ids = array("q")
        for batch in row_batches(session, treated.order_by(C.patient_id)):
            ids.extend(int(p) for (p,) in batch)
        ranges = [(r[0], r[-1]) for r in chunks(ids, PATIENTS_PER_PASS)]
        del ids
        parts = [({"patient_ids": r}, C.patient_id.between(*r)) for r in ranges]
    else:
        parts = [({"patients": chunk}, C.patient_id.in_(chunk)) for chunk in _chunks(patients)]
    found = SideColumns()
    for chosen, theirs in parts:
        first = len(found)
        cases: dict[int, tuple[int, str, dt.date]] = {}
        stmt = side_counts(session, CaseFilter(), today, by, **chosen)
        for batch in row_batches(session, stmt):
            for case_id, patient, date, surgeon, procedure, kind, days, n in batch:
                day = cast(dt.date, _as_day(date))
                found.append(int(case_id), int(kind), int(days), int(n), int(patient), procedure, day, surgeon, None)
                if case_id not in cases:
                    cases[int(case_id)] = (int(patient), procedure, day)
        found.set_rechecks(first, _recheck_days(session, today, schedule, cases, theirs))
        found.seal()
        del cases
        if patients is None:  # a pass's freed rows (and SQLite's work space) kept by the allocator, given back
            give_back_freed_memory()
    return found


def _recheck_days(session: Session, today: dt.date, schedule: FollowUpSchedule,
                  cases: Mapping[int, tuple[int, str, dt.date]], theirs: Any) -> dict[int, dt.date | None]:  # fmt: skip
    """Per case (id: patient, procedure, date): the first day after `today` its lost/died state could change with
    the date alone, or None. `theirs` chooses the cases' patients (a condition on the cases' patient_id).

    caselog.followup.censoring_state reads today in four places: a death recorded on any of the patient's cases
    (`date <= today`), a moved-away or declined attempt on the case (the same), a later treatment of the patient
    (`procedure_date <= today`), and each timepoint of the schedule, missed from its due date plus its grace plus
    one day. Every such date after today is a candidate (the patient's every attempt and case, all the case's
    timepoints: a superset, so never too late); the earliest is when the case is counted again."""
    a = store.attempts_t.c
    later_attempt: dict[int, dt.date] = {}
    later_case: dict[int, dt.date] = {}
    attempts = (
        select(C.patient_id, func.min(a.date))
        .select_from(store.attempts_t)
        .join(store.cases_t, C.id == a.case_id)
        .where(a.date > today, theirs)
        .group_by(C.patient_id)
    )
    cases_after = (
        select(C.patient_id, func.min(C.procedure_date)).where(C.procedure_date > today, theirs).group_by(C.patient_id)
    )
    for stmt, into in ((attempts, later_attempt), (cases_after, later_case)):
        for patient, day in plain_rows(session, stmt):
            into[int(patient)] = cast(dt.date, _as_day(day))
    deadlines = {p: [(tp, grace_days(tp) + 1) for tp in schedule.for_procedure(p)] for p in DURABILITY_PROCEDURES}
    found: dict[int, dt.date | None] = {}
    for case_id, (patient, procedure, day) in cases.items():
        candidates = [d for d in (later_attempt.get(patient), later_case.get(patient)) if d is not None]
        for tp, after in deadlines.get(procedure, ()):
            missed_from = due_date(day, tp) + dt.timedelta(days=after)
            if missed_from > today:
                candidates.append(missed_from)
                break  # later timepoints fall due later still
        found[case_id] = min(candidates) if candidates else None
    return found


def _as_day(value: object) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


@dataclass(slots=True)
class SideSums:
    """The durability count tables of a filter's sides, and the people they come from (per procedure)."""

    tallies: dict[str, SideTally] = field(default_factory=lambda: defaultdict(SideTally))
    patients: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add_rows(self, rows: Iterable[SideRow], sign: int = 1) -> None:
        """Adds (sign 1) or takes away (sign -1) these rows and their distinct patients."""
        people: set[tuple[str, int]] = set()
        for row in rows:
            add_side(self.tallies[row.procedure], row.kind, row.days, sign * row.sides)
            people.add((row.procedure, row.patient_id))
        for procedure, _ in people:
            self.patients[procedure] += sign

    def counted(self) -> dict[str, SideTally]:
        """The count tables with their patients, zero entries left out (what the figures are drawn from)."""
        found: dict[str, SideTally] = {}
        for procedure, tally in self.tallies.items():
            clean = SideTally(
                repeats=defaultdict(int, {k: n for k, n in tally.repeats.items() if n}),
                censored=defaultdict(int, {k: n for k, n in tally.censored.items() if n}),
                lost_at=defaultdict(int, {k: n for k, n in tally.lost_at.items() if n}),
                patients=self.patients.get(procedure, 0), died=tally.died, no_contact=tally.no_contact,
            )  # fmt: skip
            if clean.patients or clean.repeats or clean.censored:
                found[procedure] = clean
        return found


def _side_conditions(f: CaseFilter) -> list[Any]:
    """The filter's conditions on a case's date and surgeon (`sliceable`), read from the stored sides' copies of
    those columns: the very conditions the case list and the live figures use."""
    s = sides_t.c
    columns: dict[Any, Any] = {C.procedure_date: s.procedure_date, C.surgeon: s.surgeon}

    def copy(element: Any, **_kw: Any) -> Any:
        return columns.get(element)

    return [replacement_traverse(c, {}, copy) for c in case_conditions(f)]


def _stored_sums(session: Session, f: CaseFilter) -> SideSums:
    """The stored sides the filter chooses, summed in the database (a few thousand rows back)."""
    s = sides_t.c
    where = _side_conditions(f)
    sums = SideSums()
    stmt = select(s.procedure, s.kind, s.days, func.sum(s.sides)).where(*where).group_by(s.procedure, s.kind, s.days)
    for procedure, kind, days, n in plain_rows(session, stmt):
        add_side(sums.tallies[procedure], int(kind), int(days), int(n))
    people = select(s.procedure, func.count(func.distinct(s.patient_id))).where(*where).group_by(s.procedure)
    for procedure, n in plain_rows(session, people):
        sums.patients[procedure] = int(n)
    return sums


def _stored_rows(session: Session, patients: Sequence[int]) -> list[SideRow]:
    s = sides_t.c
    columns = (s.case_id, s.kind, s.days, s.sides, s.patient_id, s.procedure, s.procedure_date, s.surgeon,
               s.recheck_on)  # fmt: skip
    rows: list[SideRow] = []
    for chunk in _chunks(patients):
        for r in plain_rows(session, select(*columns).where(s.patient_id.in_(chunk))):
            rows.append(SideRow(int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), r[5],
                                cast(dt.date, _as_day(r[6])), r[7], _as_day(r[8])))  # fmt: skip
    return rows


# ---- a build's reading and writing ------------------------------------------------------------------------------


def sliceable(f: CaseFilter) -> bool:
    """Whether stored tallies can serve the filter: date range and surgeon only (others are counted live)."""
    return f == CaseFilter(date_from=f.date_from, date_to=f.date_to, surgeon=f.surgeon or None)


_KNOWN: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()
_LIVE_UNTIL: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
_TABLES = ("dashboard_stale", "dashboard_stale_slices", "dashboard_slices", "dashboard_years", "dashboard_sides",
           "dashboard_tally_state")  # fmt: skip


def available(session: Session) -> bool:
    """Whether the database has the tallies (schema 0017) and this login may read and write them: a file opened
    without upgrading, or a PostgreSQL role not yet granted them (`caselog init --app-role`), is counted live."""
    engine = session.get_bind()
    if time.monotonic() < _LIVE_UNTIL.get(engine, 0.0):  # the tallies could not be stored here (store_refresh)
        return False
    found = _KNOWN.get(engine)
    if found is None:
        found = inspect(session.connection()).has_table("dashboard_tally_state")
        if found and session.get_bind().dialect.name == "postgresql":
            checks = " AND ".join(f"has_table_privilege('{t}', 'SELECT, INSERT, UPDATE, DELETE')" for t in _TABLES)
            found = bool(session.execute(text(f"SELECT {checks}")).scalar_one())
        found = _KNOWN.setdefault(engine, found)
    return found


def _schedule_text(session: Session) -> str:
    value = clinic.read_setting(session, SETTING)
    return "default" if value is None else json.dumps(value, sort_keys=True)


@dataclass(slots=True)
class Refresh:
    """What one build counted again, to write back after its snapshot (best effort)."""

    marks: list[tuple[int, int]]  # the patients' marks read (patient, gen), removed when written
    slice_marks: list[tuple[int, str, str, int]]  # the left slices' marks read (year, surgeon, procedure, gen)
    whole: bool  # everything was counted: every stored row is replaced
    slices: dict[Slice, tuple[int, bytes]]  # counted again: (cases, `_packed` JSON) (none for an empty slice: deleted)
    stale_slices: set[Slice]
    patients: list[int]  # whose sides were counted again (every patient's when whole)
    sides: Sequence[SideRow]
    schedule: str
    today: dt.date
    version: int | None  # the stored tallies' version read (None: nothing stored)
    years: dict[int, Counts] = field(default_factory=dict)  # years summed again from their slices

    @property
    def empty(self) -> bool:
        return not (self.marks or self.slice_marks or self.whole or self.stale_slices or self.patients or self.years)


@dataclass(slots=True)
class Found:
    """A filter's figures from the stored tallies (with what was counted again), and what to write back."""

    counts: Counts
    sides: SideSums
    refresh: Refresh


def _marks(session: Session) -> tuple[list[tuple[int, int]], list[tuple[int, str, str, int]]]:
    """The marked patients (patient, gen) and left slices (year, surgeon, procedure, gen), as triggers wrote them."""
    s, ss = stale_t.c, stale_slices_t.c
    patients = [(int(p), int(g)) for p, g in plain_rows(session, select(s.patient_id, s.gen))]
    slices = [(int(y), str(sur), str(p), int(g))
              for y, sur, p, g in plain_rows(session, select(ss.year, ss.surgeon, ss.procedure, ss.gen))]  # fmt: skip
    return patients, slices


def read(session: Session, f: CaseFilter, today: dt.date, *, sides: bool = True) -> Found:
    """The filter's count tables from the stored tallies, counting again what is stale, all in the caller's
    snapshot. `f` must be `sliceable`. Without `sides` the durability sides are not summed (the MCID shares need
    none), though stale ones are still counted again, as the marks they answer are removed with them."""
    schedule_text = _schedule_text(session)
    schedule = schedule_from_setting(clinic.read_setting(session, SETTING))
    st = state_t.c
    state = session.execute(select(st.schedule, st.latest_day, st.version).where(st.id == 1)).first()
    version = None if state is None else int(state.version)
    marks, slice_marks = _marks(session)
    marked = sorted(p for p, _ in marks)
    whole = (
        state is None
        or state.schedule != schedule_text
        or today < _as_day(state.latest_day)  # type: ignore[operator]
        or len(marked) > MANY_PATIENTS
    )
    if not whole:
        stale = _slices_of(session, marked) if marked else set()
        stale |= {(y, sur, p) for y, sur, p, _ in slice_marks}
        recounted = count_slices(session, stale)
        t = slices_t.c
        kept = sum(int(n) for y, sur, p, n in plain_rows(session, select(t.year, t.surgeon, t.procedure, t.cases))
                   if (int(y), str(sur), str(p)) not in stale)  # fmt: skip
        cases = session.execute(select(func.count()).select_from(store.cases_t)).scalar_one()
        whole = kept + sum(c.cases for c in recounted.values()) != cases  # a slice's row deleted or added by hand
    if whole:
        # The sides first, then each year's slices: counted after the years, the sides' passes landed on what the
        # years' counting left scattered and peaked 20 MB higher at a million cases.
        rows = count_sides(session, today, schedule, None)
        written: dict[Slice, tuple[int, bytes]] = {}
        summed: dict[int, Counts] = {}
        years = {y for y, _, _ in _slices_of(session, None)}
        for slices in _count_parts(session, {(year, "") for year in years}):
            for key, c in slices.items():
                written[key] = (c.cases, _packed(c.to_json()))
            summed.update(_by_year(slices))  # a part is a whole year
            del slices
            give_back_freed_memory()
        refresh = Refresh(marks, slice_marks, True, written, set(written), [], rows, schedule_text, today, version)
        refresh.years = summed
        sums = rows.sums(f)
        if f.surgeon:
            mine = {key: Counts.from_json(_unpacked(raw)) for key, (_, raw) in written.items() if key[1] == f.surgeon}
            total = _sum_slices(session, f, mine)
        else:
            total = _sum_whole_years(session, f, summed)
        return Found(total, sums, refresh)
    sd = sides_t.c
    due = {int(p) for (p,) in plain_rows(session, select(sd.patient_id).where(sd.recheck_on <= today).distinct())}
    patients = sorted(set(marked) | due)
    new_rows = count_sides(session, today, schedule, patients) if patients else []
    sums = _stored_sums(session, f) if sides else SideSums()
    if patients and sides:
        sums.add_rows((r for r in _stored_rows(session, patients) if r.chosen(f)), -1)
        sums.add_rows(r for r in new_rows if r.chosen(f))
    again = {k: (c.cases, _packed(c.to_json())) for k, c in recounted.items()}
    refresh = Refresh(marks, slice_marks, False, again, stale, patients, new_rows, schedule_text, today, version)
    if f.surgeon:
        theirs = _stored_slices(session, f, exclude=stale)
        theirs.update(recounted)
        return Found(_sum_slices(session, f, theirs), sums, refresh)
    return Found(_sum_years(session, f, stale, recounted, refresh), sums, refresh)


def _packed(raw: str) -> bytes:
    """A slice's JSON as a build holds it until it is stored: compressed to a quarter (19 MB of text at a million
    cases, held through the counting of every later year and the write)."""
    return zlib.compress(raw.encode(), 1)


def _unpacked(packed: bytes) -> str:
    return zlib.decompress(packed).decode()


def _by_year(slices: Mapping[Slice, Counts]) -> dict[int, Counts]:
    years: dict[int, Counts] = {}
    for (year, _, _), counts in slices.items():
        years.setdefault(year, Counts()).add(counts)
    return years


def _sum_years(session: Session, f: CaseFilter, stale: set[Slice], recounted: Mapping[Slice, Counts],
               refresh: Refresh) -> Counts:  # fmt: skip
    """Every surgeon's count tables: each whole year from its stored sum (summed again from its slices when one
    of them was counted again, or none is stored), the partial years at either end counted live. A year's sum is
    one row where its slices are a few hundred (3,000 slices at a million cases took a second to add up)."""
    t, yt = slices_t.c, years_t.c
    years = {int(y) for (y,) in plain_rows(session, select(t.year).distinct())} | {y for y, _, _ in recounted}
    total = Counts()
    if not years:
        return total
    whole, edges = _whole_years(f, min(years), max(years))
    changed = {y for y, _, _ in stale}
    kept = {int(y): raw for y, raw in plain_rows(session, select(yt.year, yt.counts).where(yt.year.in_(whole)))
            if int(y) not in changed}  # fmt: skip
    again = sorted(y for y in whole if y not in kept)
    if again:
        slices = _stored_slices(session, CaseFilter(), exclude=stale, years=again)
        slices.update({k: c for k, c in recounted.items() if k[0] in again})
        summed = _by_year(slices)
        refresh.years = {y: summed.get(y, Counts()) for y in again}
    for year in whole:
        total.add(refresh.years[year] if year in refresh.years else Counts.from_json(kept[year]))
    for edge in edges:
        total.add(count_cases(session, edge))
    return total


def _sum_whole_years(session: Session, f: CaseFilter, years: Mapping[int, Counts]) -> Counts:
    """Every surgeon's count tables from each year's sum, the partial years at either end counted live."""
    total = Counts()
    if not years:
        return total
    whole, edges = _whole_years(f, min(years), max(years))
    for year in whole:
        total.add(years.get(year, Counts()))
    for edge in edges:
        total.add(count_cases(session, edge))
    return total


def _stored_slices(session: Session, f: CaseFilter, *, exclude: set[Slice],
                   years: Sequence[int] | None = None) -> dict[Slice, Counts]:  # fmt: skip
    """The stored slices the filter can use (its surgeon's, every year or those given), but those being counted
    again."""
    t = slices_t.c
    stmt = select(t.year, t.surgeon, t.procedure, t.counts)
    if years is not None:
        stmt = stmt.where(t.year.in_(years))
    if f.surgeon:
        stmt = stmt.where(t.surgeon == f.surgeon)
    if f.date_from is not None:
        stmt = stmt.where(t.year >= f.date_from.year)
    if f.date_to is not None:
        stmt = stmt.where(t.year <= f.date_to.year)
    return {
        key: Counts.from_json(raw)
        for year, surgeon, procedure, raw in plain_rows(session, stmt)
        if (key := (int(year), str(surgeon), str(procedure))) not in exclude
    }


def _whole_years(f: CaseFilter, first: int, last: int) -> tuple[list[int], list[CaseFilter]]:
    """The years the filter covers whole (between `first` and `last`, the years with cases), and the filters of the
    partial years at its edges (counted live)."""
    years = []
    edges = []
    for year in range(first, last + 1):
        start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        lo = max(start, f.date_from) if f.date_from else start
        hi = min(end, f.date_to) if f.date_to else end
        if lo > hi:
            continue
        if (lo, hi) == (start, end):
            years.append(year)
        else:
            edges.append(replace(f, date_from=lo, date_to=hi))
    return years, edges


def _sum_slices(session: Session, f: CaseFilter, slices: Mapping[Slice, Counts]) -> Counts:
    """The filter's count tables: its whole years summed from the slices, its partial years counted live."""
    total = Counts()
    if not slices:
        return total
    years = [y for y, _, _ in slices]
    whole, edges = _whole_years(f, min(years), max(years))
    chosen = set(whole)
    for (year, surgeon, _), counts in slices.items():
        if year in chosen and (not f.surgeon or surgeon == f.surgeon):
            total.add(counts)
    for edge in edges:
        total.add(count_cases(session, edge))
    return total


def store_refresh(db: Database, refresh: Refresh) -> bool:
    """Writes what a build counted again and removes the marks it answers, unless another build took any of them
    meanwhile (its copy then stands; a later build counts again). Best effort: False when nothing was written."""
    if refresh.empty:
        return True
    checked, problem = db.storage_verdict()
    if not checked:  # never wait for the start's storage check: the next build stores them
        return False
    if problem is not None:
        _counted_live_from_now(db, refresh, problem)
        return False
    try:
        with db.write() as session:
            if not db.is_sqlite:  # one writer of the tallies at a time (SQLite's writes are one at a time anyway)
                session.execute(text("SELECT pg_advisory_xact_lock(180017)"))
            _write(session, refresh)
        return True
    except _Taken:
        return False
    except Exception as exc:  # best effort: the figures shown are right without the stored copy
        log.info("dashboard tallies not stored: %s", exc)
        if _cannot_write(exc):
            _counted_live_from_now(db, refresh, exc)
        return False


#: The errors that say a database cannot be written at all, by their codes (never their text, which quotes
#: values): PostgreSQL's read-only transaction (a standby, a server set read-only) and missing privilege; SQLite's
#: read-only file, no permission, refused by an authorizer.
_READ_ONLY_SQLSTATES = frozenset({"25006", "42501"})
_READ_ONLY_SQLITE_CODES = frozenset({8, 3, 23})
#: How long a PostgreSQL database that refused the tallies is counted live before a build tries to store them again
#: (a server read-only for a failover or maintenance comes back); a SQLite file stays live while the app runs.
LIVE_AFTER_REFUSAL_S = 15 * 60


def _cannot_write(exc: BaseException) -> bool:
    """Whether a write failed because this database cannot be written at all (a read-only file or server, no
    permission), not for a passing reason (busy, a lost connection, a conflict)."""
    seen: BaseException | None = exc
    while seen is not None:
        for error in (seen, getattr(seen, "orig", None)):
            if getattr(error, "sqlstate", None) in _READ_ONLY_SQLSTATES:
                return True
            code = getattr(error, "sqlite_errorcode", None)
            if isinstance(code, int) and code & 0xFF in _READ_ONLY_SQLITE_CODES:
                return True
        seen = seen.__cause__ or seen.__context__
    return False


def _counted_live_from_now(db: Database, refresh: Refresh, why: BaseException) -> None:
    """Everything was counted for tallies that cannot be stored: on this database every later build would count
    everything again (a minute at a million cases), so it counts live instead (half that), on PostgreSQL for
    LIVE_AFTER_REFUSAL_S, on SQLite while the app runs."""
    if refresh.whole:
        log.info("dashboard tallies cannot be stored (%s): counted live", why)
        _LIVE_UNTIL[db.engine] = math.inf if db.is_sqlite else time.monotonic() + LIVE_AFTER_REFUSAL_S


class _Taken(Exception):
    """Another build removed some of the marks this one read: its counts are the newer."""


def _write(session: Session, refresh: Refresh) -> None:
    st = state_t.c
    if session.execute(select(st.version).where(st.id == 1)).scalar_one_or_none() != refresh.version:
        raise _Taken  # another build wrote since this one's snapshot: its copy is the newer
    s, ss = stale_t.c, stale_slices_t.c
    removed = 0
    read: list[tuple[Table, Any, Sequence[tuple[Any, ...]]]] = [
        (stale_t, tuple_(s.patient_id, s.gen), refresh.marks),
        (stale_slices_t, tuple_(ss.year, ss.surgeon, ss.procedure, ss.gen), refresh.slice_marks),
    ]
    for table, key, marks in read:
        for part in chunks(marks, PATIENTS_PER_QUERY):
            removed += cast(Any, session.execute(delete(table).where(key.in_(part)))).rowcount
    if removed != len(refresh.marks) + len(refresh.slice_marks):  # another build took some, or a change came since
        raise _Taken
    t, sd = slices_t.c, sides_t.c
    yt = years_t.c
    if refresh.whole:
        session.execute(delete(slices_t))
        session.execute(delete(sides_t))
        session.execute(delete(years_t))
    else:
        for year, surgeon, procedure in refresh.stale_slices:
            one = and_(t.year == year, t.surgeon == surgeon, t.procedure == procedure)
            session.execute(delete(slices_t).where(one))
        for chunk in _chunks(refresh.patients):
            session.execute(delete(sides_t).where(sd.patient_id.in_(chunk)))
        changed = sorted({y for y, _, _ in refresh.stale_slices} | set(refresh.years))
        session.execute(delete(years_t).where(yt.year.in_(changed)))
    year_rows = [{"year": y, "cases": c.cases, "counts": c.to_json()} for y, c in refresh.years.items() if c.cases]
    if year_rows:
        session.execute(insert(years_t), year_rows)
    for part in chunks(list(refresh.slices.items()), 500):
        session.execute(insert(slices_t), [
            {"year": y, "surgeon": sur, "procedure": p, "cases": n, "counts": _unpacked(raw)}
            for (y, sur, p), (n, raw) in part
        ])  # fmt: skip
    rows = iter(refresh.sides)
    while sides := list(islice(rows, 5000)):  # the rows made 5,000 at a time: half a million at 1M
        session.execute(insert(sides_t), [
            {"case_id": r.case_id, "kind": r.kind, "days": r.days, "sides": r.sides, "patient_id": r.patient_id,
             "procedure": r.procedure, "procedure_date": r.procedure_date, "surgeon": r.surgeon,
             "recheck_on": r.recheck_on}
            for r in sides
        ])  # fmt: skip
    st = state_t.c
    latest = session.execute(select(st.latest_day).where(st.id == 1)).scalar_one_or_none()
    version = (refresh.version or 0) + 1
    # Everything counted: as of today (a clock set back then reads them back); else never an earlier day than stored.
    day = refresh.today if refresh.whole else max(refresh.today, _as_day(latest) or refresh.today)
    session.execute(delete(state_t))
    session.execute(insert(state_t).values(id=1, schedule=refresh.schedule, latest_day=day, version=version))


# ---- caselog check ------------------------------------------------------------------------------------------------


def problems(session: Session, today: dt.date) -> list[str]:
    """Stored tallies that the cases no longer give (changed outside CaseLog), named; those a change marked stale
    are not compared (the next dashboard counts them again)."""
    if not available(session):  # before schema 0017, or a role not granted the tables: nothing of ours to compare
        return []
    st = state_t.c
    state = session.execute(select(st.schedule, st.latest_day).where(st.id == 1)).first()
    if state is None or state.schedule != _schedule_text(session):
        return []  # nothing stored yet, or all of it stale: the next dashboard counts everything
    marks, slice_marks = _marks(session)
    marked = sorted(p for p, _ in marks)
    skipped = _slices_of(session, marked) if marked else set()
    skipped |= {(y, sur, p) for y, sur, p, _ in slice_marks}
    found: list[str] = []
    t = slices_t.c
    stored = {(int(y), str(sur), str(p)): raw
              for y, sur, p, raw in plain_rows(session, select(t.year, t.surgeon, t.procedure, t.counts))}  # fmt: skip
    expected = count_slices(session, _slices_of(session, None) - skipped)
    for key in sorted((stored.keys() | expected.keys()) - skipped):
        raw = stored.get(key)
        try:
            same = raw is not None and key in expected and Counts.from_json(raw).to_json() == expected[key].to_json()
        except (ValueError, KeyError, TypeError, AttributeError):
            same = False
        if not same:
            year, surgeon, procedure = key
            found.append(
                f"the dashboard's stored tallies for {year}, {surgeon}, {label(procedure)} differ from the cases "
                "(changed outside CaseLog); delete the row of dashboard_tally_state to count them all again"
            )
    yt = years_t.c
    readable = {k: _readable(raw) for k, raw in stored.items()}
    summed = _by_year({k: c for k, c in readable.items() if c is not None and k not in skipped})
    unsure = {y for y, _, _ in skipped} | {k[0] for k, c in readable.items() if c is None}
    for year, raw in plain_rows(session, select(yt.year, yt.counts)):
        mine = _readable(raw)
        if int(year) not in unsure and (mine is None or mine.to_json() != summed.get(int(year), Counts()).to_json()):
            found.append(f"the dashboard's stored sum of {year} differs from its slices (changed outside CaseLog); "
                         "delete the row of dashboard_tally_state to count them all again")  # fmt: skip
    sd = sides_t.c
    due = {int(p) for (p,) in plain_rows(session, select(sd.patient_id).where(sd.recheck_on <= today).distinct())}
    schedule = schedule_from_setting(clinic.read_setting(session, SETTING))
    counted = {_side_key(r) for r in count_sides(session, today, schedule, None) if r.patient_id not in due}
    counted = {k for k in counted if k[4] not in set(marked)}
    columns = (sd.case_id, sd.kind, sd.days, sd.sides, sd.patient_id, sd.procedure, sd.procedure_date, sd.surgeon)
    kept = {
        (int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), r[5], _as_day(r[6]), r[7])
        for r in plain_rows(session, select(*columns))
        if int(r[4]) not in due and int(r[4]) not in set(marked)
    }
    if kept != counted:
        cases = sorted({k[0] for k in kept ^ counted})
        found.append(
            f"the dashboard's stored durability sides of {len(cases)} case(s) differ from the cases "
            "(changed outside CaseLog); delete the row of dashboard_tally_state to count them all again"
        )
    return found


def _readable(raw: str) -> Counts | None:
    """A stored row's count tables, or None when an edit by hand left them unreadable."""
    try:
        return Counts.from_json(raw)
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _side_key(r: SideRow) -> tuple[Any, ...]:
    return (r.case_id, r.kind, r.days, r.sides, r.patient_id, r.procedure, r.procedure_date, r.surgeon)
