"""The dashboard's figures worked out the straightforward way, in Python, for tests/test_dashboard_aggregation.py.

Every case is read through the service and counted here; durability is the path the product took before the
database did the counting (the treated levels read into Python, each patient's level walked in day order, the
follow-up states of the censored sides read through `FollowUpService.states`). Not product code: a second,
independent way to the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from caselog import stats
from caselog.dashboard import (
    SCORE_MEASURES,
    CasesPerMonth,
    ComplicationRate,
    ComplicationRates,
    Durations,
    DurationSummary,
    MonthCount,
    PainScores,
    ScoreSummary,
)
from caselog.db import store
from caselog.durability import (
    DURABILITY_PROCEDURES,
    SIDES,
    Durability,
    SideTally,
    _day_number,
    _plain_rows,
    durability_from_tallies,
)
from caselog.followup import FollowUpService
from caselog.outcomes import MCID_MEASURES, MCIDShare, case_mcid, region_of_levels
from caselog.records import CaseFilter, CaseRecord
from caselog.service import CaseService
from caselog.tables import ordered

C = store.cases_t.c


def records(service: CaseService, f: CaseFilter) -> list[CaseRecord]:
    return [view.record for view in service.iter_cases(f)]


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return months


def cases_per_month(found: list[CaseRecord], f: CaseFilter, today: dt.date) -> CasesPerMonth:
    counts = Counter((r.procedure_date.replace(day=1), r.procedure) for r in found)
    days = [r.procedure_date for r in found]
    if not days and (f.date_from is None or f.date_to is None):
        return CasesPerMonth((), (), ())
    first = f.date_from or min(days)
    last = min(f.date_to, today) if f.date_to is not None else max(days)
    months = tuple(_months(first, max(last, first)))
    procedures = ordered({p for _, p in counts})
    return CasesPerMonth(months, procedures, tuple(MonthCount(m, p, counts[(m, p)]) for m in months
                                                   for p in procedures))  # fmt: skip


def complication_rates(found: list[CaseRecord]) -> ComplicationRates:
    rows = []
    for procedure in ordered({r.procedure for r in found}):
        mine = [r for r in found if r.procedure == procedure]
        affected = sum(1 for r in mine if r.complications)
        events = sum(len(r.complications) for r in mine)
        rows.append(ComplicationRate(procedure, len(mine), affected, events, stats.rate(affected, len(mine))))
    return ComplicationRates(tuple(rows))


def durations(found: list[CaseRecord]) -> Durations:
    tables: dict[str, Counter[float]] = defaultdict(Counter)
    for r in found:
        tables[r.procedure][r.duration_minutes] += 1
    return Durations(tuple(DurationSummary(p, stats.summarize_counts(tables[p])) for p in ordered(tables)))


def pain_scores(found: list[CaseRecord]) -> PainScores:
    from caselog import vocab

    tables: dict[tuple[str, str, str], Counter[float]] = defaultdict(Counter)
    for r in found:
        for o in r.outcomes:
            for m in SCORE_MEASURES:
                score = getattr(o, m)
                if score is not None:
                    tables[(r.procedure, o.timepoint, m)][score] += 1
    order = {t: i for i, t in enumerate(vocab.TIMEPOINTS)}
    ranks = {p: i for i, p in enumerate(ordered({p for p, _, _ in tables}))}
    keys = sorted(tables, key=lambda k: (ranks[k[0]], order[k[1]], SCORE_MEASURES.index(k[2])))
    return PainScores(tuple(ScoreSummary(p, t, m, stats.summarize_counts(tables[(p, t, m)])) for p, t, m in keys))


def mcid_shares(found: list[CaseRecord]) -> list[MCIDShare]:
    from caselog import vocab
    from caselog.outcomes import ALL_SCORES

    totals: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for r in found:
        for timepoint, flags in case_mcid(r.levels, r.outcomes).items():
            for measure in MCID_MEASURES[region_of_levels(r.levels)]:
                reached = flags.get(measure)
                if reached is not None:
                    totals[(r.procedure, timepoint, measure)][0] += 1
                    totals[(r.procedure, timepoint, measure)][1] += reached
    procedures = {p: i for i, p in enumerate(vocab.PROCEDURES)}
    timepoints = {t: i for i, t in enumerate(vocab.TIMEPOINTS)}
    order = {m: i for i, m in enumerate((*ALL_SCORES, "pgic"))}
    keys = sorted(totals, key=lambda k: (procedures[k[0]], timepoints[k[1]], order[k[2]]))
    return [MCIDShare(p, t, m, n, hits, stats.rate(hits, n)) for p, t, m in keys for n, hits in [totals[(p, t, m)]]]


# ---- durability, as the product computed it before the database did the counting ---------------------------


def durability(service: CaseService, f: CaseFilter, today: dt.date) -> Durability:
    states = FollowUpService(service, today=lambda: today).states
    with service.reading() as session:
        cases_t, lv = store.cases_t, store.levels_t.c
        index_ids = store.filtered(select(C.id).where(C.procedure.in_(DURABILITY_PROCEDURES)), f)
        day = _day_number(session, C.procedure_date)
        treated = _plain_rows(
            session,
            select(C.patient_id, lv.level, lv.side, day, C.id, C.procedure, C.id.in_(index_ids))
            .select_from(store.levels_t)
            .join(cases_t, C.id == lv.case_id)
            .where(C.procedure.in_(DURABILITY_PROCEDURES)),
        )
        last_case = dict(_plain_rows(session, select(C.patient_id, func.max(day)).group_by(C.patient_id)))
        o = store.outcomes_t.c
        last_outcome = dict(_plain_rows(session, select(o.case_id, _day_number(session, func.max(o.date)))
                                        .where(o.timepoint != "baseline", o.case_id.in_(index_ids))
                                        .group_by(o.case_id)))  # fmt: skip
        by_level: dict[tuple[int, str], list[Any]] = defaultdict(list)
        for row in treated:
            by_level[(row[0], row[1])].append(row)
        tallies: dict[str, SideTally] = defaultdict(SideTally)
        people: dict[str, set[int]] = defaultdict(set)
        censored: list[tuple[SideTally, int, int]] = []
        for rows in by_level.values():
            rows.sort(key=itemgetter(3))
            for i, (patient_id, _, side, start, case_id, procedure, chosen) in enumerate(rows):
                if not chosen:
                    continue
                tally = tallies[procedure]
                people[procedure].add(patient_id)
                for s in SIDES[side]:
                    for later in rows[i + 1 :]:
                        if later[3] > start and s in SIDES[later[2]]:
                            tally.repeats[later[3] - start] += 1
                            break
                    else:
                        seen = max(last_outcome.get(case_id, start), last_case.get(patient_id, start))
                        tally.censored[seen - start] += 1
                        tally.no_contact += seen == start
                        censored.append((tally, case_id, seen - start))
        for procedure, patients in people.items():
            tallies[procedure].patients = len(patients)
        followed = case_states(session, states, sorted({case_id for _, case_id, _ in censored}))
        for tally, case_id, time in censored:
            if followed.get(case_id) == "lost":
                tally.lost_at[time] += 1
            elif followed.get(case_id) == "died":
                tally.died += 1
    return durability_from_tallies(tallies)


def case_states(session: Session, states: Any, case_ids: Iterable[int]) -> dict[int, str]:
    """Case id -> its follow-up state as `FollowUpService.states` works it out."""
    found: dict[int, str] = {}
    listed = list(case_ids)
    for start in range(0, len(listed), 5000):
        ids = ",".join(str(int(i)) for i in listed[start : start + 5000]) or "NULL"
        chosen = select(C.id).where(text(f"cases.id IN ({ids})"))
        found.update((i, s.state) for i, s in states(session, chosen).items())
    return found
