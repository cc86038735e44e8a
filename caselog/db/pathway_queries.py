"""Reading patients' cases as the pathway sees them (caselog.pathway.PathwayCase), in a few set-based queries.

One query per table over all the selected cases, whatever their number: the quality desk's outside-policy list
reads 100,000 cases this way, never a query per case or per patient.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from caselog.db.tables import cases_t, complications_t, levels_t, outcomes_t, patients_t
from caselog.pathway import PathwayCase
from caselog.records import BlockDetails, Complication, DiaryEntry, OutcomeScore, TreatedLevel


@dataclass(frozen=True, slots=True)
class PatientCases:
    """One patient's selected cases, in time order, with what a list shows about the patient."""

    mrn: str
    patient_name: str
    cases: list[PathwayCase]


def _raw(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A column read as the driver returns it, without SQLAlchemy's conversion: a date is text on SQLite and a
    date on PostgreSQL, JSON is text or already decoded. `_day` and `_diary` finish the job several times faster
    than the generic conversion, which is what reading 100,000 cases at once spends most of its time on."""
    return type_coerce(column, NullType())


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def _block(anesthetic: str | None, detail: str | None, before: int | None, diary: Any,
           activities: Any) -> BlockDetails | None:  # fmt: skip
    """As caselog.db.tables.block_from_row, from raw values."""
    if anesthetic is None:
        return None
    entries = json.loads(diary) if isinstance(diary, str) else diary
    return BlockDetails(anesthetic, detail, before, tuple(DiaryEntry(time, pain) for time, pain in entries or ()),
                        None if activities is None else bool(activities))  # fmt: skip


def load_pathway_cases(
    session: Session,
    condition: ColumnElement[bool],
    *,
    outcomes: ColumnElement[bool] | None = None,
    complications: bool = True,
) -> dict[int, PatientCases]:
    """The cases matching `condition` (over the cases table), grouped by patient id, each patient's in time order.

    `outcomes` narrows the outcome rows read (the policy check needs only ablations' relief); without
    `complications` none are read (the policy check needs none).
    """
    c = cases_t.c
    levels: dict[int, list[TreatedLevel]] = defaultdict(list)
    level_rows = session.execute(
        select(levels_t.c.case_id, levels_t.c.level, levels_t.c.side, levels_t.c.volume_ml)
        .join(cases_t, c.id == levels_t.c.case_id)
        .where(condition)
        .order_by(levels_t.c.case_id, levels_t.c.position)
    )
    shared: dict[tuple[str, str, float | None], TreatedLevel] = {}  # few distinct levels: made once each
    for case_id, level, side, volume in level_rows.all():  # fetched at once: row by row costs twice the time
        key = (level, side, volume)
        found_level = shared.get(key)
        if found_level is None:
            found_level = shared[key] = TreatedLevel(level, side, volume)
        levels[case_id].append(found_level)
    scores: dict[int, list[OutcomeScore]] = defaultdict(list)
    o = outcomes_t.c
    outcome_query = select(o.case_id, o.timepoint, _raw(o.date), o.nrs_back, o.nrs_leg, o.odi, o.relief_percent)
    outcome_query = outcome_query.join(cases_t, c.id == o.case_id)
    outcome_query = outcome_query.where(condition if outcomes is None else condition & outcomes)
    for case_id, timepoint, day, back, leg, odi, relief in session.execute(
        outcome_query.order_by(o.case_id, o.position)
    ).all():
        scores[case_id].append(OutcomeScore(timepoint, _day(day), back, leg, odi, relief))
    events: dict[int, list[Complication]] = defaultdict(list)
    if complications:
        k = complications_t.c
        complication_rows = session.execute(
            select(k.case_id, k.category, k.timing, k.onset_date, k.clavien_dindo, k.description, k.treatment,
                   k.resolved_date, k.review_status)
            .join(cases_t, c.id == k.case_id)
            .where(condition)
            .order_by(k.case_id, k.position)
        )  # fmt: skip
        for case_id, *values in complication_rows.all():
            events[case_id].append(Complication(*values))
    patients: dict[int, PatientCases] = {}
    rows = session.execute(
        select(c.id, c.patient_id, c.case_number, _raw(c.procedure_date), c.procedure, c.prior_block_relief_percent,
               c.outside_policy_reason, c.surgeon, c.status, c.block_anesthetic, c.block_anesthetic_detail,
               c.block_pain_before, _raw(c.block_diary), _raw(c.block_activities_possible), patients_t.c.mrn,
               patients_t.c.family_name, patients_t.c.given_name)
        .join(patients_t, patients_t.c.id == c.patient_id)
        .where(condition)
        .order_by(c.patient_id, c.procedure_date, c.case_number)
    )  # fmt: skip
    no_levels: tuple[TreatedLevel, ...] = ()
    for (case_id, patient_id, number, day, procedure, prior, reason, surgeon, status, anesthetic, detail, before,
         diary, activities, mrn, family, given) in rows.all():  # fmt: skip
        found = patients.get(patient_id)
        if found is None:
            found = patients[patient_id] = PatientCases(mrn, f"{family}, {given}" if given else family, [])
        found.cases.append(
            PathwayCase(
                number,
                _day(day),
                procedure,
                tuple(levels.get(case_id, no_levels)),
                _block(anesthetic, detail, before, diary, activities),
                prior,
                tuple(scores.get(case_id, ())),
                tuple(events.get(case_id, ())),
                reason,
                surgeon,
                status,
            )
        )
    return patients


def patient_condition(mrn: str) -> ColumnElement[bool]:
    """The cases of the patient with this MRN (none when no such patient)."""
    return cases_t.c.patient_id == select(patients_t.c.id).where(patients_t.c.mrn == mrn).scalar_subquery()
