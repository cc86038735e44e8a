"""Reading patients' cases as the pathway sees them (caselog.pathway.PathwayCase), in a few set-based queries.

One query per table over all the selected cases, whatever their number: the quality desk's outside-policy list
reads 100,000 cases this way, never a query per case or per patient.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from caselog.db.tables import block_from_row, cases_t, complications_t, levels_t, outcomes_t, patients_t
from caselog.pathway import PathwayCase
from caselog.records import Complication, OutcomeScore, TreatedLevel


@dataclass(frozen=True, slots=True)
class PatientCases:
    """One patient's selected cases, in time order, with what a list shows about the patient."""

    mrn: str
    patient_name: str
    cases: list[PathwayCase]


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
    for case_id, level, side, volume in level_rows:
        levels[case_id].append(TreatedLevel(level, side, volume))
    scores: dict[int, list[OutcomeScore]] = defaultdict(list)
    o = outcomes_t.c
    outcome_query = select(o.case_id, o.timepoint, o.date, o.nrs_back, o.nrs_leg, o.odi, o.relief_percent).join(
        cases_t, c.id == o.case_id
    )
    outcome_query = outcome_query.where(condition if outcomes is None else condition & outcomes)
    for case_id, *values in session.execute(outcome_query.order_by(o.case_id, o.position)):
        scores[case_id].append(OutcomeScore(*values))
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
        for case_id, *values in complication_rows:
            events[case_id].append(Complication(*values))
    patients: dict[int, PatientCases] = {}
    rows = session.execute(
        select(c.id, c.patient_id, c.case_number, c.procedure_date, c.procedure, c.prior_block_relief_percent,
               c.outside_policy_reason, c.surgeon, c.status, c.block_anesthetic, c.block_anesthetic_detail,
               c.block_pain_before, c.block_diary, c.block_activities_possible, patients_t.c.mrn,
               patients_t.c.family_name, patients_t.c.given_name)
        .join(patients_t, patients_t.c.id == c.patient_id)
        .where(condition)
        .order_by(c.patient_id, c.procedure_date, c.case_number)
    )  # fmt: skip
    for row in rows:
        found = patients.get(row.patient_id)
        if found is None:
            name = f"{row.family_name}, {row.given_name}" if row.given_name else row.family_name
            found = patients[row.patient_id] = PatientCases(row.mrn, name, [])
        found.cases.append(
            PathwayCase(
                case_number=row.case_number,
                date=row.procedure_date,
                procedure=row.procedure,
                levels=tuple(levels.get(row.id, ())),
                block=block_from_row(row),
                prior_block_relief_percent=row.prior_block_relief_percent,
                outcomes=tuple(scores.get(row.id, ())),
                complications=tuple(events.get(row.id, ())),
                outside_policy_reason=row.outside_policy_reason,
                surgeon=row.surgeon,
                status=row.status,
            )
        )
    return patients


def patient_condition(mrn: str) -> ColumnElement[bool]:
    """The cases of the patient with this MRN (none when no such patient)."""
    return cases_t.c.patient_id == select(patients_t.c.id).where(patients_t.c.mrn == mrn).scalar_subquery()
