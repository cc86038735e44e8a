"""The dashboard's numbers for every role that may view cases, as frozen dataclasses the desktop app charts.

Counts per month, complication rates with Wilson intervals, durations and pain scores as quartiles, and
durability of relief after ablations and rhizotomies as Kaplan-Meier curves with their bands (caselog.durability).
Everything is computed from
grouped SQL (frequency tables, not every value), so 100,000 cases take a fraction of a second; each
result also gives `table()`: the numbers behind its chart. No Qt here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from caselog import dashboard_tallies as tallies
from caselog import stats, vocab
from caselog.dashboard_counts import (
    SCORE_MEASURES,
    DayRange,
    complication_counts_by,
    duration_counts_by,
    month_counts_by,
    score_counts_by,
)
from caselog.dashboard_counts import month as _month
from caselog.dashboard_tallies import Counts
from caselog.db import store
from caselog.durability import (
    AT_RISK_MONTHS,
    DAYS_PER_MONTH,
    DURABILITY_PROCEDURES,
    AtRisk,
    ClaimCheck,
    Durability,
    DurabilityCurve,
    LogRankComparison,
    ReliefAt,
    Sensitivity,
    SideTally,
    counted_sides,
    durability_from_tallies,
    read_durability,
)
from caselog.outcomes import MCIDShare, mcid_shares, shares_from_counts
from caselog.records import CaseFilter
from caselog.service import CaseService
from caselog.tables import Cell, Table
from caselog.tables import label as _label
from caselog.tables import ordered as _ordered
from caselog.tables import percent as _percent

__all__ = [  # the durability figures live in caselog.durability; the desk still finds them here
    "AT_RISK_MONTHS", "DAYS_PER_MONTH", "DURABILITY_PROCEDURES", "QUARTILE_COLUMNS", "SCORE_MEASURES", "AtRisk",
    "CasesPerMonth", "Cell", "ClaimCheck", "ComplicationRate", "ComplicationRates", "Dashboard", "DashboardService",
    "Durability", "DurabilityCurve", "DurationSummary", "Durations", "LogRankComparison", "MonthCount", "Overview",
    "PainScores", "ReliefAt", "ScoreSummary", "Sensitivity", "Table",
]  # fmt: skip


# ---- cases per month -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MonthCount:
    month: dt.date  # the first day of the month
    procedure: str
    cases: int


@dataclass(frozen=True, slots=True)
class CasesPerMonth:
    """Every month of the range (months without cases included, as zeros) times every procedure seen."""

    months: tuple[dt.date, ...]
    procedures: tuple[str, ...]
    counts: tuple[MonthCount, ...]  # month-major, procedures in `procedures` order

    def count(self, month: dt.date, procedure: str) -> int:
        return next((c.cases for c in self.counts if c.month == month and c.procedure == procedure), 0)

    def table(self) -> Table:
        by_key = {(c.month, c.procedure): c.cases for c in self.counts}
        rows: list[tuple[Cell, ...]] = []
        for m in self.months:
            counts = [by_key.get((m, p), 0) for p in self.procedures]
            rows.append((m.strftime("%Y-%m"), *counts, sum(counts)))
        return Table("Cases per month", ("Month", *(_label(p) for p in self.procedures), "All"), tuple(rows))


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months: list[dt.date] = []
    month = _month(first)
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


# ---- complication rates ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComplicationRate:
    """Cases with at least one complication among all cases of a procedure (a case counts once however many
    it had, so the rate is a proportion and its Wilson interval is valid); `complications` is the total."""

    procedure: str
    cases: int
    cases_with_complications: int
    complications: int
    rate: stats.Rate


@dataclass(frozen=True, slots=True)
class ComplicationRates:
    rows: tuple[ComplicationRate, ...]

    def table(self) -> Table:
        rows = tuple(
            (_label(r.procedure), r.cases, r.cases_with_complications, r.complications,
             _percent(r.rate.proportion), _percent(r.rate.lower) if r.cases else None,
             _percent(r.rate.upper) if r.cases else None)
            for r in self.rows
        )  # fmt: skip
        columns = ("Procedure", "Cases", "Cases with complications", "Complications", "Rate %", "95% CI low %",
                   "95% CI high %")  # fmt: skip
        return Table("Complication rate by procedure (95% Wilson interval)", columns, rows)


# ---- durations and scores --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DurationSummary:
    procedure: str
    minutes: stats.Quartiles


@dataclass(frozen=True, slots=True)
class Durations:
    """Procedure duration in minutes; quartiles are type 7 (see `caselog.stats.Quartiles`)."""

    rows: tuple[DurationSummary, ...]

    def table(self) -> Table:
        rows = tuple((_label(r.procedure), *_quartile_cells(r.minutes)) for r in self.rows)
        return Table("Duration by procedure (minutes)", ("Procedure", *QUARTILE_COLUMNS), rows)


QUARTILE_COLUMNS = ("n", "Minimum", "Q1", "Median", "Q3", "Maximum")


def _quartile_cells(q: stats.Quartiles) -> tuple[Cell, ...]:
    return (q.n, q.minimum, q.q1, q.median, q.q3, q.maximum)


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    procedure: str
    timepoint: str
    measure: str  # nrs_back, nrs_leg or odi
    scores: stats.Quartiles


@dataclass(frozen=True, slots=True)
class PainScores:
    """Scores by procedure, timepoint and measure; only combinations with at least one score are present."""

    rows: tuple[ScoreSummary, ...]

    def get(self, procedure: str, timepoint: str, measure: str) -> stats.Quartiles:
        found = (
            r.scores for r in self.rows if (r.procedure, r.timepoint, r.measure) == (procedure, timepoint, measure)
        )
        return next(found, stats.EMPTY_QUARTILES)

    def table(self) -> Table:
        rows = tuple(
            (_label(r.procedure), vocab.label(vocab.TIMEPOINTS, r.timepoint),
             vocab.label(vocab.OUTCOME_MEASURE_LABELS, r.measure), *_quartile_cells(r.scores))
            for r in self.rows
        )  # fmt: skip
        return Table("Pain and disability scores by timepoint", ("Procedure", "Timepoint", "Measure",
                                                                 *QUARTILE_COLUMNS), rows)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Overview:
    """What the dashboard's first tab shows: the count and the cases per month, quick at any size (the desk
    shows it while the other figures are still being counted)."""

    case_filter: CaseFilter
    cases: int
    cases_per_month: CasesPerMonth


@dataclass(frozen=True, slots=True)
class Dashboard:
    """The whole dashboard, read from one snapshot so every chart counts the same cases."""

    case_filter: CaseFilter
    cases: int
    cases_per_month: CasesPerMonth
    complication_rates: ComplicationRates
    durations: Durations
    pain_scores: PainScores
    durability: Durability

    def tables(self) -> tuple[Table, ...]:
        return (
            self.cases_per_month.table(),
            self.complication_rates.table(),
            self.durations.table(),
            self.pain_scores.table(),
            *self.durability.tables(),
        )


# ---- the service -----------------------------------------------------------------------------------------


class DashboardService:
    """Dashboard figures for the cases a `CaseFilter` selects (the UI passes date range and surgeon).

    Every call reads through `CaseService.reading`, so the roles table applies (an administrator is
    refused and the refusal audited) exactly as for the case list. `today` ends the months charted and dates
    the follow-up states (lost, died) beside the durability curves: the service's own clock unless given.
    Durability is censored at each side's last real contact, never at today.
    """

    def __init__(self, service: CaseService, *, today: Callable[[], dt.date] | None = None) -> None:
        self._service = service
        self._today = today or service.today

    def build(self, case_filter: CaseFilter | None = None) -> Dashboard:
        """Every figure from one snapshot. A filter of date range and surgeon alone reads the stored tallies
        (caselog.dashboard_tallies: what a change made stale is counted again, and stored, best effort, after the
        snapshot); any other filter counts its cases."""
        return self._build(case_filter or CaseFilter(), shares=False)[0]

    def build_with_shares(self, case_filter: CaseFilter | None = None) -> tuple[Dashboard, list[MCIDShare]]:
        """`build` and the MCID shares (caselog.outcomes.mcid_shares) from the same snapshot and stored tallies: what
        the dashboard desk shows on all its tabs, read once."""
        board, shares = self._build(case_filter or CaseFilter(), shares=True)
        assert shares is not None
        return board, shares

    def mcid_shares(self, case_filter: CaseFilter | None = None) -> list[MCIDShare]:
        """The MCID shares alone (caselog.outcomes.mcid_shares), from the stored tallies when the filter allows."""
        f = case_filter or CaseFilter()
        with self._service.reading() as session:
            if not (tallies.sliceable(f) and tallies.available(session)):
                return mcid_shares(session, f)
            found = tallies.read(session, f, self._today(), sides=False)
        tallies.store_refresh(self._service.db, found.refresh)
        return shares_from_counts(found.counts.mcid)

    def _build(self, f: CaseFilter, *, shares: bool) -> tuple[Dashboard, list[MCIDShare] | None]:
        today = self._today()
        found = None
        with self._service.reading() as session:
            if tallies.sliceable(f) and tallies.available(session):
                found = tallies.read(session, f, today)
                board = _from_counts(f, today, found.counts, found.sides.counted())
                mcid = shares_from_counts(found.counts.mcid) if shares else None
            else:
                board = _from_counts(f, today, tallies.count_cases(session, f), counted_sides(session, f, today))
                mcid = mcid_shares(session, f) if shares else None
        if found is not None:
            tallies.store_refresh(self._service.db, found.refresh)
        return board, mcid

    def overview(self, case_filter: CaseFilter | None = None) -> Overview:
        """The count and the cases per month alone, from one snapshot (the first tab)."""
        f = case_filter or CaseFilter()
        with self._service.reading() as session:
            return Overview(f, store.count_cases(session, f), _cases_per_month(session, f, self._today()))

    def cases_per_month(self, case_filter: CaseFilter | None = None) -> CasesPerMonth:
        with self._service.reading() as session:
            return _cases_per_month(session, case_filter or CaseFilter(), self._today())

    def complication_rates(self, case_filter: CaseFilter | None = None) -> ComplicationRates:
        with self._service.reading() as session:
            return _complication_rates(session, case_filter or CaseFilter())

    def durations(self, case_filter: CaseFilter | None = None) -> Durations:
        with self._service.reading() as session:
            return _durations(session, case_filter or CaseFilter())

    def pain_scores(self, case_filter: CaseFilter | None = None) -> PainScores:
        with self._service.reading() as session:
            return _pain_scores(session, case_filter or CaseFilter())

    def durability(self, case_filter: CaseFilter | None = None) -> Durability:
        with self._service.reading() as session:
            return read_durability(session, case_filter or CaseFilter(), self._today())


cases_t = store.cases_t
C = cases_t.c  # the cases table's columns


def _from_counts(f: CaseFilter, today: dt.date, counts: Counts, sides: dict[str, SideTally]) -> Dashboard:
    """The figures from the filter's count tables and its durability sides."""
    return Dashboard(
        case_filter=f,
        cases=counts.cases,
        cases_per_month=_per_month(counts.months, (counts.first_day, counts.last_day), f, today),
        complication_rates=_rates(counts.complications),
        durations=_duration_summaries(counts.durations),
        pain_scores=_score_summaries(counts.scores),
        durability=durability_from_tallies(sides),
    )


def _cases_per_month(session: Session, f: CaseFilter, today: dt.date) -> CasesPerMonth:
    return _per_month(*month_counts_by(session, f).get((), ({}, (None, None))), f, today)


def _per_month(counts: dict[tuple[dt.date, str], int], days: DayRange, f: CaseFilter, today: dt.date) -> CasesPerMonth:
    first_day, last_day = days
    if first_day is None and (f.date_from is None or f.date_to is None):
        return CasesPerMonth((), (), ())
    # The filter's range when given (empty months are news too), else the months that have cases.
    first = f.date_from or first_day
    last = min(f.date_to, today) if f.date_to is not None else last_day
    assert first is not None and last is not None  # a case, or both ends of the filter
    months = tuple(_months(first, max(last, first)))
    procedures = _ordered(p for _, p in counts)
    rows = tuple(MonthCount(m, p, counts.get((m, p), 0)) for m in months for p in procedures)
    return CasesPerMonth(months, procedures, rows)


def _complication_rates(session: Session, f: CaseFilter) -> ComplicationRates:
    return _rates(complication_counts_by(session, f).get((), {}))


def _rates(counts: dict[str, list[int]]) -> ComplicationRates:
    rows = []
    for procedure in _ordered(counts):
        total, affected, events = counts[procedure]
        rows.append(ComplicationRate(procedure, total, affected, events, stats.rate(affected, total)))
    return ComplicationRates(tuple(rows))


def _durations(session: Session, f: CaseFilter) -> Durations:
    return _duration_summaries(duration_counts_by(session, f).get((), {}))


def _duration_summaries(tables: dict[str, dict[float, int]]) -> Durations:
    return Durations(tuple(DurationSummary(p, stats.summarize_counts(tables[p])) for p in _ordered(tables)))


def _pain_scores(session: Session, f: CaseFilter) -> PainScores:
    return _score_summaries(score_counts_by(session, f).get((), {}))


def _score_summaries(tables: dict[tuple[str, str, str], dict[float, int]]) -> PainScores:
    order = {t: i for i, t in enumerate(vocab.TIMEPOINTS)}
    ranks = {p: i for i, p in enumerate(_ordered(p for p, _, _ in tables))}
    keys = sorted(tables, key=lambda k: (ranks[k[0]], order.get(k[1], 99), SCORE_MEASURES.index(k[2])))
    return PainScores(tuple(ScoreSummary(p, t, m, stats.summarize_counts(tables[(p, t, m)])) for p, t, m in keys))
