"""Durability of relief after ablations and rhizotomies, for the dashboard, its exports and the printed report.

Kaplan-Meier time from a procedure to the next ablation or rhizotomy of the same patient, level and side, with
the 95% band (exponential Greenwood), the median and its interval, relief at 6, 12, 24, 36 and 60 months, the
sides lost to follow-up and died beside every curve, a sensitivity curve that counts lost sides as failures,
the log-rank test of endoscopic rhizotomy against RFA and the clinic's published claims beside its own figures.

Censoring is at the last real contact with the patient, never at today: a patient nobody reached tells
nothing about relief after the day he was last seen (docs/decisions.md, "Durability"). No Qt here.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    FrameClause,
    FrameClauseType,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from caselog import stats
from caselog.db import store
from caselog.db.queries import plain_rows as _plain_rows
from caselog.followup import DIED, LOST, censoring_state, follow_up_seen
from caselog.records import CaseFilter
from caselog.tables import Cell, Table, label, ordered, percent

#: Procedures whose relief is followed to the next treatment at the same level and side.
DURABILITY_PROCEDURES: tuple[str, ...] = ("radiofrequency_ablation", "endoscopic_rhizotomy")
#: Times (months) at which relief and the number still at risk are read: the claims speak of 12 months and 5 years.
AT_RISK_MONTHS: tuple[int, ...] = (6, 12, 24, 36, 60)
DAYS_PER_MONTH = 365.25 / 12
#: The censoring rule in one sentence, printed beside the figures wherever they go (report, exports, desk).
CENSORING_RULE = (
    "A side not treated again is followed until the last real contact with the patient (the latest follow-up "
    "outcome of its case, or a later case of the same patient) and censored there; a side nobody saw again is "
    "censored at day 0, never at today."
)
#: The log-rank test compares these two: the rhizotomy is offered as the longer-lasting treatment.
COMPARED: tuple[str, str] = ("endoscopic_rhizotomy", "radiofrequency_ablation")


@dataclass(frozen=True, slots=True)
class PublishedClaim:
    """What the clinic tells patients about how long relief lasts, and where it says so."""

    procedure: str
    claim: str
    source: str
    #: The months the claim speaks of, where the clinic's relief is read beside it.
    months: tuple[int, ...]


CLINIC_PAGE = "The clinic's information for patients"
PUBLISHED_CLAIMS: tuple[PublishedClaim, ...] = (
    PublishedClaim("radiofrequency_ablation", "Relief for 6-12 months", CLINIC_PAGE, (6, 12)),
    PublishedClaim("endoscopic_rhizotomy", "Relief for up to 5 years", CLINIC_PAGE, (12, 60)),
)


def days_of(months: int) -> int:
    """Whole days in `months` months of 365.25/12 days (6 months: 183 days, 5 years: 1826)."""
    return round(months * DAYS_PER_MONTH)


def months_of(days: float | None) -> float | None:
    return None if days is None else round(days / DAYS_PER_MONTH, 1)


@dataclass(frozen=True, slots=True)
class AtRisk:
    months: int
    days: int
    at_risk: int
    survival: float  # share of treated sides not yet repeated at that time


@dataclass(frozen=True, slots=True)
class ReliefAt:
    """The share of sides not yet treated again `months` after the procedure, with its 95% band.

    `survival`, `lower` and `upper` are None beyond the longest follow-up: nobody was seen that long."""

    months: int
    days: int
    at_risk: int
    survival: float | None
    lower: float | None
    upper: float | None


@dataclass(frozen=True, slots=True)
class Sensitivity:
    """The same sides with every side lost to follow-up counted as treated again on its last contact: the worst
    case for the clinic. The truth lies between this curve and the main one; far apart, the loss matters."""

    curve: stats.KaplanMeier
    failures: int  # repeats plus lost sides
    median_days: float | None
    median_ci_days: tuple[float | None, float | None]
    relief: tuple[ReliefAt, ...]

    @property
    def median_months(self) -> float | None:
        return months_of(self.median_days)


@dataclass(frozen=True, slots=True)
class DurabilityCurve:
    """Time from a procedure to the next ablation or rhizotomy at the same level and side (days).

    The unit is one treated side of one level in one case (a bilateral level is two sides); `patients`
    says how many people they come from. Sides of one patient are not independent, so read `n` as
    treated sides, not as patients. `lost` and `died` count the censored sides whose case's follow-up is lost
    or ended by death (as of today); `no_contact` those never seen after the procedure (censored at day 0).
    """

    procedure: str
    n: int
    patients: int
    repeats: int
    censored: int
    curve: stats.KaplanMeier
    median_days: float | None
    at_risk: tuple[AtRisk, ...]
    median_ci_days: tuple[float | None, float | None] = (None, None)
    relief: tuple[ReliefAt, ...] = ()
    lost: int = 0
    died: int = 0
    no_contact: int = 0
    sensitivity: Sensitivity | None = None

    @property
    def median_months(self) -> float | None:
        return months_of(self.median_days)

    def relief_at(self, months: int) -> ReliefAt | None:
        return next((r for r in self.relief if r.months == months), None)

    def table(self) -> Table:
        """The curve's steps with the band: what a reviewer checks the chart against."""
        return _steps_table(f"Durability of relief: {label(self.procedure)}", self.curve, "Repeats")

    def sensitivity_table(self) -> Table:
        """The sensitivity curve's steps (lost sides counted as repeats on their last contact)."""
        km = self.sensitivity.curve if self.sensitivity else stats.kaplan_meier_counts({}, {})
        title = f"Durability of relief, lost sides counted as repeats: {label(self.procedure)}"
        return _steps_table(title, km, "Repeats or lost")


def _steps_table(title: str, km: stats.KaplanMeier, events: str) -> Table:
    rows = tuple(
        (int(s.time), round(s.time / DAYS_PER_MONTH, 1), s.at_risk, s.events, s.censored, round(s.survival, 4),
         round(s.lower, 4), round(s.upper, 4))
        for s in km.steps
    )  # fmt: skip
    columns = ("Days", "Months", "At risk", events, "Censored", "Not yet repeated", "95% CI low", "95% CI high")
    return Table(title, columns, rows)


@dataclass(frozen=True, slots=True)
class LogRankComparison:
    """The log-rank test of two procedures' curves (treated sides; see the independence caveat in the docs)."""

    procedure_a: str
    procedure_b: str
    result: stats.LogRank

    def table(self) -> Table:
        r = self.result
        columns = ("Procedure", "Treated sides", "Repeats observed", "Repeats expected", "Chi-square", "df",
                   "p-value")  # fmt: skip
        rows = (
            (label(self.procedure_a), r.n_a, r.observed_a, round(r.expected_a, 2), _round(r.statistic, 3),
             r.degrees_of_freedom, _round(r.p_value, 4)),
            (label(self.procedure_b), r.n_b, r.observed_b, round(r.expected_b, 2), None, None, None),
        )  # fmt: skip
        return Table(f"Log-rank test: {label(self.procedure_a)} against {label(self.procedure_b)}", columns, rows)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


@dataclass(frozen=True, slots=True)
class ClaimCheck:
    """A published claim beside the clinic's own median (95% CI) and relief at 12 and 60 months (95% CI)."""

    claim: PublishedClaim
    sides: int
    median_days: float | None
    median_ci_days: tuple[float | None, float | None]
    relief_12: ReliefAt | None
    relief_60: ReliefAt | None


@dataclass(frozen=True, slots=True)
class Durability:
    curves: tuple[DurabilityCurve, ...]  # one per procedure in DURABILITY_PROCEDURES with any case
    comparison: LogRankComparison | None = None  # rhizotomy against RFA when both have sides
    claims: tuple[ClaimCheck, ...] = field(default=())

    def curve(self, procedure: str) -> DurabilityCurve | None:
        return next((c for c in self.curves if c.procedure == procedure), None)

    def table(self) -> Table:
        columns = ("Procedure", "Treated sides", "Patients", "Repeats", "Censored", "Lost to follow-up", "Died",
                   "No contact after the procedure", "Median days", "Median 95% CI low days",
                   "Median 95% CI high days", "Median months", "Median months, lost counted as repeats",
                   *(f"At risk {m} months" for m in AT_RISK_MONTHS))  # fmt: skip
        rows = tuple(
            (label(c.procedure), c.n, c.patients, c.repeats, c.censored, c.lost, c.died, c.no_contact, c.median_days,
             *c.median_ci_days, c.median_months, c.sensitivity.median_months if c.sensitivity else None,
             *(a.at_risk for a in c.at_risk))
            for c in self.curves
        )  # fmt: skip
        return Table("Durability of relief: time to repeat treatment at the same level and side", columns, rows)

    def relief_table(self) -> Table:
        """Relief (not yet treated again) at 6 to 60 months with 95% intervals, main and sensitivity curves."""
        columns = ("Procedure", "Curve", "Months", "Days", "At risk", "Not yet repeated %", "95% CI low %",
                   "95% CI high %")  # fmt: skip
        rows: list[tuple[Cell, ...]] = []
        for c in self.curves:
            worst = c.sensitivity.relief if c.sensitivity else ()
            for name, relief in (("Censored at last contact", c.relief), ("Lost counted as repeats", worst)):
                rows.extend((label(c.procedure), name, r.months, r.days, r.at_risk, percent(r.survival),
                             percent(r.lower), percent(r.upper)) for r in relief)  # fmt: skip
        return Table("Relief at 6 to 60 months (95% exponential Greenwood interval)", columns, tuple(rows))

    def claims_table(self) -> Table:
        columns = ("Procedure", "Claim", "Source", "Treated sides", "Median months", "Median 95% CI low months",
                   "Median 95% CI high months", "Relief at 12 months %", "12 months 95% CI low %",
                   "12 months 95% CI high %", "Relief at 60 months %", "60 months 95% CI low %",
                   "60 months 95% CI high %")  # fmt: skip
        rows = tuple(
            (label(k.claim.procedure), k.claim.claim, k.claim.source, k.sides, months_of(k.median_days),
             months_of(k.median_ci_days[0]), months_of(k.median_ci_days[1]), *_relief_cells(k.relief_12),
             *_relief_cells(k.relief_60))
            for k in self.claims
        )  # fmt: skip
        return Table("Published claims beside the clinic's own figures", columns, rows)

    def tables(self) -> tuple[Table, ...]:
        """Every number behind the durability figures, as exported and printed."""
        return (
            self.table(),
            self.relief_table(),
            self.claims_table(),
            *((self.comparison.table(),) if self.comparison else ()),
            *(c.table() for c in self.curves),
            *(c.sensitivity_table() for c in self.curves),
        )


def _relief_cells(relief: ReliefAt | None) -> tuple[Cell, ...]:
    if relief is None:
        return (None, None, None)
    return (percent(relief.survival), percent(relief.lower), percent(relief.upper))


# ---- from count tables to figures -----------------------------------------------------------------------------


@dataclass(slots=True)
class SideTally:
    """One procedure's treated sides as count tables {days: sides}, filled side by side, then made a curve."""

    repeats: dict[float, int] = field(default_factory=lambda: defaultdict(int))
    censored: dict[float, int] = field(default_factory=lambda: defaultdict(int))
    lost_at: dict[float, int] = field(default_factory=lambda: defaultdict(int))  # censored sides that are lost
    patients: int = 0  # the people the sides come from
    died: int = 0
    no_contact: int = 0

    def curve(self, procedure: str) -> DurabilityCurve:
        km = stats.kaplan_meier_counts(self.repeats, self.censored)
        failures = dict(self.repeats)
        for time, n in self.lost_at.items():
            failures[time] = failures.get(time, 0) + n
        kept = {time: n - self.lost_at.get(time, 0) for time, n in self.censored.items()}
        worst = stats.kaplan_meier_counts(failures, kept)
        return DurabilityCurve(
            procedure=procedure, n=km.n, patients=self.patients, repeats=km.events, censored=km.censored,
            curve=km, median_days=km.median, at_risk=_at_risk(km), median_ci_days=km.median_ci, relief=_relief(km),
            lost=sum(self.lost_at.values()), died=self.died, no_contact=self.no_contact,
            sensitivity=Sensitivity(worst, worst.events, worst.median, worst.median_ci, _relief(worst)),
        )  # fmt: skip


def _at_risk(km: stats.KaplanMeier) -> tuple[AtRisk, ...]:
    return tuple(AtRisk(m, d, km.at_risk(d), km.survival_at(d)) for m in AT_RISK_MONTHS for d in [days_of(m)])


def _relief(km: stats.KaplanMeier) -> tuple[ReliefAt, ...]:
    found = []
    for months in AT_RISK_MONTHS:
        e = km.estimate_at(days_of(months))
        found.append(ReliefAt(months, days_of(months), e.at_risk, e.survival, e.lower, e.upper))
    return tuple(found)


def durability_from_tallies(tallies: Mapping[str, SideTally]) -> Durability:
    """The figures from each procedure's tally: curves in the contract's order, the comparison and the claims."""
    curves = tuple(tallies[p].curve(p) for p in ordered(p for p, t in tallies.items() if t.patients))
    by_procedure = {c.procedure: c for c in curves}
    first, second = (by_procedure.get(p) for p in COMPARED)
    comparison = (
        LogRankComparison(COMPARED[0], COMPARED[1], stats.log_rank(first.curve, second.curve))
        if first is not None and second is not None
        else None
    )
    claims = []
    for claim in PUBLISHED_CLAIMS:
        c = by_procedure.get(claim.procedure)
        claims.append(
            ClaimCheck(claim, c.n, c.median_days, c.median_ci_days, c.relief_at(12), c.relief_at(60))
            if c is not None
            else ClaimCheck(claim, 0, None, (None, None), None, None)
        )
    return Durability(curves, comparison, tuple(claims))


# ---- reading the sides from the database ------------------------------------------------------------------------


#: A bilateral level treats the left and the right side: it repeats, and is repeated by, either.
SIDES: dict[str, tuple[str, ...]] = {"left": ("left",), "right": ("right",), "bilateral": ("left", "right")}
#: The levels' sides that treat each side.
SIDE_ROWS: dict[str, tuple[str, ...]] = {s: tuple(k for k, v in SIDES.items() if s in v) for s in ("left", "right")}
EPOCH = dt.date(1970, 1, 1)
cases_t = store.cases_t
C = cases_t.c
#: The kinds of rows the tally query returns: a repeat, or a side censored (followed, lost or died).
REPEAT = -1
#: The window's frame over a patient's level, latest day first: every row of a later day. Its offset is written
#: into the SQL, never a bound parameter (SQLAlchemy 2.1 binds one): with a parameter, SQLite took 78 s for the
#: 35,000 patients of a 100,000-case database counted in one range of patient ids, against 0.8 s.
LATER_DAYS = FrameClause(None, bindparam("one_day", 1, type_=Integer, literal_execute=True),
                         FrameClauseType.UNBOUNDED, FrameClauseType.PRECEDING)  # fmt: skip


def _day_number(session: Session, day: ColumnElement[dt.date]) -> ColumnElement[int]:
    """A date as a whole day number computed in SQL (only differences matter): no date objects to build."""
    if session.get_bind().dialect.name == "sqlite":  # dates are ISO text; julianday is x.5 at midnight
        return cast(func.julianday(day), Integer)
    return cast(day - literal(EPOCH, Date), Integer)


def _later(session: Session, a: ColumnElement[int], b: ColumnElement[int]) -> ColumnElement[int]:
    """The greater of two day numbers, neither NULL (SQLite's max() of two, PostgreSQL's greatest())."""
    if session.get_bind().dialect.name == "sqlite":
        return func.max(a, b)
    return func.greatest(a, b)


def read_durability(session: Session, f: CaseFilter, today: dt.date) -> Durability:
    """Kaplan-Meier time to the next ablation or rhizotomy at the same patient, level and side (see `side_counts`)."""
    return durability_from_tallies(counted_sides(session, f, today))


def counted_sides(session: Session, f: CaseFilter, today: dt.date) -> dict[str, SideTally]:
    """The filter's sides as count tables per procedure, counted from the cases, with the people they come from
    (`durability_patients`)."""
    tallies = side_tallies(session, f, today)
    for procedure, count in durability_patients(session, f).items():
        tallies[procedure].patients = count
    return tallies


def durability_patients(session: Session, f: CaseFilter) -> dict[str, int]:
    """The people the filter's treated sides come from, by procedure (distinct: never a sum of slices)."""
    lv = store.levels_t.c
    patients = store.filtered(
        select(C.procedure, func.count(func.distinct(C.patient_id)))
        .where(C.procedure.in_(DURABILITY_PROCEDURES), exists().where(lv.case_id == C.id))
        .group_by(C.procedure),
        f,
    )
    return {procedure: int(count) for procedure, count in _plain_rows(session, patients)}


def side_tallies(session: Session, f: CaseFilter, today: dt.date) -> dict[str, SideTally]:
    """`side_counts` read and made count tables, one per procedure (`patients` left at 0: see `counted_sides`)."""
    tallies: dict[str, SideTally] = defaultdict(SideTally)
    for procedure, state, days, count in _plain_rows(session, side_counts(session, f, today)):
        add_side(tallies[procedure], state, days, count)
    return tallies


def add_side(tally: SideTally, state: int, days: float, count: int) -> None:
    """`count` sides of one kind (REPEAT, or the censored sides' FOLLOWED, LOST or DIED) at `days` into `tally`."""
    if state == REPEAT:
        tally.repeats[days] += count
        return
    tally.censored[days] += count
    tally.no_contact += count if days == 0 else 0
    if state == LOST:
        tally.lost_at[days] += count
    elif state == DIED:
        tally.died += count


def side_counts(
    session: Session,
    f: CaseFilter,
    today: dt.date,
    by: Sequence[ColumnElement[Any]] = (),
    *,
    patients: Sequence[int] | None = None,
    patient_ids: tuple[int, int] | None = None,
) -> Select[Any]:
    """Kaplan-Meier time to the next ablation or rhizotomy at the same patient, level and side: the statement of
    its count rows (*by, procedure, kind, days, sides), kind REPEAT or the censored side's state, to read whole or
    a batch at a time.

    The filter chooses the index procedures; repeats are looked for among all cases, because a repeat by another
    surgeon or after the date range still ends the relief. The next treatment must fall on a later day (two
    entries on one day are one treatment). Without a repeat, a side is censored at the last real contact: the
    latest of its case's follow-up outcome dates (baseline is no follow-up) and the procedure dates of the same
    patient's later cases; a side with no contact at all is censored at day 0, never at today. Lost and died are
    the case's follow-up state as of `today` (caselog.followup.censoring_state).

    The database does the counting: each treated side (a bilateral level is a left and a right side) finds its
    next treatment with a window over the patient's level and side, and one grouped query returns the count
    tables (procedure, repeat or censoring state, days, sides): a few thousand rows for any number of cases.
    `patients` chooses only those patients' cases and reads only their levels (the same figures: the window is per
    patient), as the dashboard's stored sides of changed patients are counted; `patient_ids` (first, last) those
    whose id is in that range, as all of them are counted a part at a time.
    `by` (columns of the chosen case's row) splits the tables by group in the same pass.
    """
    treated = store.levels_t.alias("treated")  # its own name: the filter's level condition reads levels_t
    lv = treated.c
    where = store.filtered(select(C.id), f).whereclause  # the filter's conditions on a case's row
    theirs = None if patients is None else C.patient_id.in_(patients)
    if patient_ids is not None:
        theirs = C.patient_id.between(*patient_ids)
    chosen: ColumnElement[bool] = literal(True) if where is None else where
    # The window partitions by patient: the levels of the chosen patients are all it needs.
    restricted = [] if theirs is None else [theirs]
    # Every treated level of an ablation or rhizotomy (chosen by the filter or not: any may be the next one).
    # The steps are materialized: SQLite would otherwise work each one out again where the next reads it.
    levels = (
        select(C.id.label("case_id"), C.patient_id.label("patient_id"), lv.level.label("level"),
               lv.side.label("side"), _day_number(session, C.procedure_date).label("day"),
               case((chosen, 1), else_=0).label("chosen"))
        .select_from(cases_t)
        .join(treated, lv.case_id == C.id)
        .where(C.procedure.in_(DURABILITY_PROCEDURES), *restricted)
        .cte("levels")
        .prefix_with("MATERIALIZED")
    )  # fmt: skip
    v = levels.c
    # The first later day the same joint was treated on each side (a bilateral level treats both): the rows of the
    # patient's level by day, latest first, and the earliest day among those after this one.
    nexts = (
        select(v.case_id, v.side, v.day, v.chosen,
               *(func.min(case((v.side.in_(SIDE_ROWS[s]), v.day), else_=None))
                 .over(partition_by=(v.patient_id, v.level), order_by=v.day.desc(), range_=LATER_DAYS)
                 .label(f"next_{s}") for s in ("left", "right")))
        .cte("nexts")
        .prefix_with("MATERIALIZED")
    )  # fmt: skip
    n = nexts.c
    # Each case's latest outcome timepoint and follow-up contact, grouped once and joined (PostgreSQL would
    # otherwise look them up row by row).
    seen_by = follow_up_seen(select(v.case_id).where(v.chosen == 1)).cte("seen_by").prefix_with("MATERIALIZED")
    contact = _day_number(session, seen_by.c.contact)
    mine = cases_t.alias("mine")
    last_case = _day_number(
        session, select(func.max(mine.c.procedure_date)).where(mine.c.patient_id == C.patient_id).scalar_subquery()
    )
    # Censoring (state and time) only for a level with a side not treated again: one case's, read once.
    open_side = or_(*(and_(n.side.in_(SIDE_ROWS[s]), n[f"next_{s}"].is_(None)) for s in ("left", "right")))
    sided = (
        select(*(column.label(f"by_{i}") for i, column in enumerate(by)),
               C.procedure.label("procedure"), n.side, n.day, n.next_left, n.next_right,
               case((open_side, censoring_state(session, today, seen_by.c, few=patients is not None)),
                    else_=None).label("state"),
               case((open_side, _later(session, func.coalesce(contact, n.day), last_case) - n.day),
                    else_=None).label("seen"))
        .select_from(nexts)
        .join(cases_t, C.id == n.case_id)
        .outerjoin(seen_by, seen_by.c.case_id == C.id)
        .where(n.chosen == 1)
        .cte("sided")
        .prefix_with("MATERIALIZED")
    )  # fmt: skip
    d = sided.c
    each_side = union_all(
        *(
            select(*(d[f"by_{i}"] for i in range(len(by))), d.procedure.label("procedure"),
                   case((d[f"next_{s}"].is_(None), d.state), else_=REPEAT).label("kind"),
                   func.coalesce(d[f"next_{s}"] - d.day, d.seen).label("time"))
            .where(d.side.in_(SIDE_ROWS[s]))
            for s in ("left", "right")
        )
    ).subquery("each_side")  # fmt: skip
    e = each_side.c
    groups = [e[f"by_{i}"] for i in range(len(by))]
    return select(*groups, e.procedure, e.kind, e.time, func.count()).group_by(*groups, e.procedure, e.kind, e.time)
