"""Reading patients' cases as the pathway sees them (caselog.pathway.PathwayCase), in a few set-based queries.

One query per table over all the selected cases, or rows asked for by id a thousand at a time, whatever their
number: the quality desk's outside-policy list reads 100,000 cases this way, never a query per case or per
patient.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from caselog import vocab
from caselog.db.queries import plain_rows
from caselog.db.tables import cases_t, complications_t, levels_t, outcomes_t, patients_t
from caselog.pathway import (
    BLOCK,
    OutsidePolicyCase,
    PathwayCase,
    PolicyFacts,
    PolicyJudge,
    block_positive,
    joints_and_regions,
    outside_policy_check,
)
from caselog.policy import IndicationPolicy
from caselog.records import BlockDetails, Complication, DiaryEntry, OutcomeScore, TreatedLevel

_Item = TypeVar("_Item")


@dataclass(frozen=True, slots=True)
class PatientCases:
    """One patient's selected cases, in time order, with what a list shows about the patient."""

    mrn: str
    patient_name: str
    cases: list[PathwayCase]


def _raw(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A column read as the driver returns it, without SQLAlchemy's conversion: a date is text on SQLite and a
    date on PostgreSQL, JSON is text or already decoded. `_day` and `_Diaries` finish the job several times faster
    than the generic conversion, which is what reading 100,000 cases at once spends most of its time on."""
    return type_coerce(column, NullType())


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


class _Diaries:
    """Diaries read from their stored JSON, each distinct diary once and each distinct line (time, pain) made
    once: blocks share few lines, and many share a whole diary."""

    def __init__(self) -> None:
        self._lines: dict[tuple[str, int], DiaryEntry] = {}
        self._read: dict[str, tuple[DiaryEntry, ...]] = {}

    def read(self, stored: Any) -> tuple[DiaryEntry, ...]:
        """The diary of a stored value: JSON text on SQLite, already decoded on PostgreSQL, None without one."""
        if not isinstance(stored, str):
            return self._made(stored)
        found = self._read.get(stored)
        if found is None:
            found = self._read[stored] = self._made(json.loads(stored))
        return found

    def _made(self, pairs: Any) -> tuple[DiaryEntry, ...]:
        made: list[DiaryEntry] = []
        try:
            for time, pain in pairs or ():
                line = self._lines.get((time, pain))
                if line is None:
                    line = self._lines[time, pain] = DiaryEntry(time, pain)
                made.append(line)
        except TypeError:  # a value that cannot be a key (a file edited by hand): made as it is, not shared
            made = [DiaryEntry(time, pain) for time, pain in pairs or ()]
        return tuple(made)


def _placed(rows: Iterable[tuple[int, int, _Item]]) -> dict[int, tuple[_Item, ...]]:
    """Each case's items (levels, outcomes, complications) in their recorded order, from (case id, position,
    item) rows in any order."""
    found: dict[int, list[tuple[int, _Item]]] = {}
    for case_id, position, item in rows:
        at = found.get(case_id)
        if at is None:
            found[case_id] = [(position, item)]
        else:
            at.append((position, item))
    return {case_id: (at[0][1],) if len(at) == 1 else tuple(item for _, item in sorted(at, key=itemgetter(0)))
            for case_id, at in found.items()}  # fmt: skip


#: Treated levels made so far. Bounded, so odd data cannot grow it without end.
_SHARED_LEVELS: dict[tuple[str, str, float | None], TreatedLevel] = {}
_SHARED_LEVELS_MAX = 20_000


def _level_rows(session: Session, condition: ColumnElement[bool]) -> list[Any]:
    """The (case id, position, level, side, volume) rows of the treated levels of the cases matching `condition`."""
    return plain_rows(session, _LEVELS.join(cases_t, cases_t.c.id == levels_t.c.case_id).where(condition))


_t = levels_t.c
#: A treated level's plain values, with its case and position (_levels reads them).
_LEVELS = select(_t.case_id, _t.position, _t.level, _t.side, _t.volume_ml)


def _levels(rows: Iterable[Any], wanted: Container[int]) -> dict[int, tuple[TreatedLevel, ...]]:
    """The treated levels of the `wanted` cases among these _level_rows, each distinct level made once (a clinic
    treats few: 100,000 cases share a few hundred) and kept from one reading to the next, so the pathway's joints
    derived per level list (caselog.pathway) find their levels by identity."""
    shared = _SHARED_LEVELS
    placed: list[tuple[int, int, TreatedLevel]] = []
    for case_id, position, level, side, volume in rows:
        if case_id in wanted:
            found = shared.get(key := (level, side, volume))
            if found is None:
                found = TreatedLevel(level, side, volume)
                if len(shared) < _SHARED_LEVELS_MAX:
                    shared[key] = found
            placed.append((case_id, position, found))
    return _placed(placed)


def _outcomes(rows: Iterable[Any], wanted: Container[int]) -> dict[int, tuple[OutcomeScore, ...]]:
    """The outcome scores of the `wanted` cases among these rows of _OUTCOME_COLUMNS."""
    return _placed(
        (case_id, position, OutcomeScore(timepoint=timepoint, date=_day(day), nrs_back=back, nrs_leg=leg, odi=odi,
                                         relief_percent=relief))
        for case_id, position, timepoint, day, back, leg, odi, relief in rows
        if case_id in wanted
    )  # fmt: skip


def _complications(session: Session, condition: ColumnElement[bool]) -> dict[int, tuple[Complication, ...]]:
    k = complications_t.c
    rows = session.execute(
        select(k.case_id, k.position, k.category, k.timing, k.onset_date, k.clavien_dindo, k.description,
               k.treatment, k.resolved_date, k.review_status)
        .join(cases_t, cases_t.c.id == k.case_id)
        .where(condition)
    ).all()  # fmt: skip
    return _placed((case_id, position, Complication(*values)) for case_id, position, *values in rows)


def _case_rows(session: Session, condition: ColumnElement[bool]) -> list[Any]:
    """The plain values of the cases matching `condition`, in no order."""
    c = cases_t.c
    return plain_rows(
        session,
        select(c.id, c.patient_id, c.case_number, _raw(c.procedure_date), c.procedure, c.prior_block_relief_percent,
               c.outside_policy_reason, c.surgeon, c.status, c.block_anesthetic, c.block_anesthetic_detail,
               c.block_pain_before, _raw(c.block_diary), _raw(c.block_activities_possible))
        .where(condition),
    )  # fmt: skip


#: Rows asked for by id per query: few enough for any database's limit on a query's parameters.
_IDS_PER_QUERY = 1000


def _by_ids(session: Session, query: Select[Any], column: ColumnElement[int], ids: Iterable[int]) -> list[Any]:
    """The rows of `query` whose `column` is one of `ids`, a thousand ids per query (an index lookup each: much
    cheaper than a join when the ids are a small part of the table)."""
    ordered = sorted(ids)
    rows: list[Any] = []
    for start in range(0, len(ordered), _IDS_PER_QUERY):
        rows += plain_rows(session, query.where(column.in_(ordered[start : start + _IDS_PER_QUERY])))
    return rows


def _names(session: Session, patient_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Each patient's MRN and name as a list shows it ("Family, Given"), by patient id."""
    p = patients_t.c
    query = select(p.id, p.mrn, p.family_name, p.given_name)
    return {patient_id: (mrn, f"{family}, {given}" if given else family)
            for patient_id, mrn, family, given in _by_ids(session, query, p.id, patient_ids)}  # fmt: skip


def _by_patient(
    session: Session,
    case_rows: list[Any],
    levels: dict[int, tuple[TreatedLevel, ...]],
    scores: dict[int, tuple[OutcomeScore, ...]],
    events: dict[int, tuple[Complication, ...]],
) -> dict[int, PatientCases]:
    """The pathway cases of these case rows (sorted by patient, date and case number), grouped by patient."""
    names = _names(session, {row[1] for row in case_rows})
    patients: dict[int, PatientCases] = {}
    diaries = _Diaries()
    for (case_id, patient_id, number, day, procedure, prior, reason, surgeon, status, anesthetic, detail, before,
         diary, activities) in case_rows:  # fmt: skip
        found = patients.get(patient_id)
        if found is None:
            found = patients[patient_id] = PatientCases(*names[patient_id], [])
        block = None
        if anesthetic is not None:  # as caselog.db.tables.block_from_row
            block = BlockDetails(anesthetic, detail, before, diaries.read(diary),
                                 None if activities is None else bool(activities))  # fmt: skip
        found.cases.append(
            PathwayCase(number, _day(day), procedure, levels.get(case_id, ()), block, prior, scores.get(case_id, ()),
                        events.get(case_id, ()), reason, surgeon, status)
        )  # fmt: skip
    return patients


_o = outcomes_t.c
#: An outcome score's plain values, with its case and position (_outcomes reads them).
_OUTCOMES = select(_o.case_id, _o.position, _o.timepoint, _raw(_o.date), _o.nrs_back, _o.nrs_leg, _o.odi,
                   _o.relief_percent)  # fmt: skip

#: Case rows in time order, patient by patient: by patient id, date (ISO text on SQLite) and case number.
_IN_ORDER = itemgetter(1, 3, 2)


def load_pathway_cases(
    session: Session,
    condition: ColumnElement[bool],
    *,
    outcomes: ColumnElement[bool] | None = None,
    complications: bool = True,
) -> dict[int, PatientCases]:
    """The cases matching `condition` (over the cases table), grouped by patient id, each patient's in time order.

    `outcomes` narrows the outcome rows read (over cases and outcomes); without `complications` none are read.
    No query sorts: SQL's sort costs more than putting each case's few rows in order here.
    """
    case_rows = _case_rows(session, condition)
    case_rows.sort(key=_IN_ORDER)
    wanted = {row[0] for row in case_rows}
    return _by_patient(
        session,
        case_rows,
        _levels(_level_rows(session, condition), wanted),
        _outcomes(
            session.execute(
                _OUTCOMES.join(cases_t, cases_t.c.id == outcomes_t.c.case_id).where(
                    condition if outcomes is None else condition & outcomes
                )
            ).all(),
            wanted,
        ),
        _complications(session, condition) if complications else {},
    )


def _policy_rows(session: Session, condition: ColumnElement[bool]) -> tuple[list[Any], set[int]]:
    """The case rows the policy check reads among those matching `condition` (the blocks and ablations of the
    patients who had an ablation, in time order patient by patient), and the ids of the ablations followed by a
    later one of their patient (the repeat rules read only the last ablation's relief)."""
    ablations = vocab.ABLATIONS
    last_ablation: dict[int, Any] = {}  # the date of each patient's last ablation
    all_rows = _case_rows(session, condition)
    for row in all_rows:
        if row[4] in ablations and (row[1] not in last_ablation or last_ablation[row[1]] < row[3]):
            last_ablation[row[1]] = row[3]
    case_rows = [row for row in all_rows if row[1] in last_ablation and (row[4] in ablations or row[4] == BLOCK)]
    case_rows.sort(key=_IN_ORDER)
    repeated = {row[0] for row in case_rows if row[4] in ablations and row[3] < last_ablation[row[1]]}
    return case_rows, repeated


#: The outcome scores that recorded a relief (the repeat rules read them).
_WITH_RELIEF = _OUTCOMES.where(outcomes_t.c.relief_percent.is_not(None))


def load_policy_cases(session: Session, condition: ColumnElement[bool]) -> dict[int, PatientCases]:
    """What the policy check of each ablation among the cases matching `condition` reads, as load_pathway_cases:
    only the patients who had an ablation; the relief recorded at the follow-ups of an ablation only when the
    patient had a later one (the repeat rules read the last ablation's relief); no complications."""
    case_rows, repeated = _policy_rows(session, condition)
    return _by_patient(
        session,
        case_rows,
        _levels(_level_rows(session, condition), {row[0] for row in case_rows}),
        _outcomes(_by_ids(session, _WITH_RELIEF, outcomes_t.c.case_id, repeated), repeated),
        {},
    )


def _outside_numbers(
    case_rows: list[Any], level_rows: list[Any], relief_rows: list[Any], policy: IndicationPolicy
) -> tuple[set[str], list[Any]]:
    """The case numbers of the ablations outside the policy among these rows (_policy_rows; (case id, level, side)
    rows; _WITH_RELIEF rows), judged from the plain values by caselog.pathway.PolicyJudge without making a case
    object, and the rows of their patients: most ablations meet the policy, and only those outside it are
    written out."""
    pairs: dict[int, tuple[tuple[str, str], ...]] = {}
    for case_id, level, side in level_rows:
        pairs[case_id] = (*pairs.get(case_id, ()), (level, side))
    derived = {case_id: joints_and_regions(treated) for case_id, treated in pairs.items()}
    no_joints = joints_and_regions(())
    days: dict[Any, dt.date] = {}
    found_reliefs: dict[int, list[tuple[dt.date, int]]] = {}
    for case_id, _, _, day, *_, relief in relief_rows:
        date = days.get(day) or days.setdefault(day, _day(day))
        found_reliefs.setdefault(case_id, []).append((date, relief))
    reliefs = {case_id: tuple(found) for case_id, found in found_reliefs.items()}
    threshold = policy.relief_threshold_percent
    diaries = _Diaries()
    positive: dict[tuple[Any, Any, Any], bool] = {}  # by anesthetic, pain before and diary as stored
    ablations = vocab.ABLATIONS
    judge = PolicyJudge(policy)
    outside: set[str] = set()
    outside_rows: list[Any] = []  # the rows of the patients with an ablation outside the policy
    first = 0  # where the patient being read starts in case_rows
    facts: list[PolicyFacts] = []
    patient = None
    for at, row in enumerate(case_rows):
        case_id, patient_id, _, day, procedure, prior, _, _, _, anesthetic, _, before, diary, *_ = row
        if patient_id != patient:  # the rows are patient by patient: judge the last one's
            if facts and (found_outside := judge.outside(facts)):
                outside.update(case_rows[first + i][2] for i in found_outside)
                outside_rows += case_rows[first:at]
            patient, first, facts = patient_id, at, []
        date = days.get(day) or days.setdefault(day, _day(day))
        joints, regions = derived.get(case_id, no_joints)
        is_block = procedure == BLOCK
        is_positive = False
        if is_block and anesthetic is not None:
            key = (anesthetic, before, diary) if diary is None or isinstance(diary, str) else None
            found = None if key is None else positive.get(key)
            if found is None:
                found = block_positive(BlockDetails(anesthetic, None, before, diaries.read(diary)), threshold)
                if key is not None:
                    positive[key] = found
            is_positive = found
        facts.append(PolicyFacts(date, procedure in ablations, is_block, joints, regions, prior, is_positive,
                                 reliefs.get(case_id, ())))  # fmt: skip
    if facts and (found_outside := judge.outside(facts)):
        outside.update(case_rows[first + i][2] for i in found_outside)
        outside_rows += case_rows[first:]
    return outside, outside_rows


def outside_policy_cases(
    session: Session,
    condition: ColumnElement[bool],
    policy: IndicationPolicy,
    listed: Callable[[PathwayCase], bool],
) -> list[OutsidePolicyCase]:
    """The ablations among the cases matching `condition` that are outside the policy and `listed`, each with
    its patient and its check written out (outside_policy_check, against what load_policy_cases reads of the
    patient), in no order. Every ablation is judged from plain values first; the case objects, the patient's
    name and the written check are made only for the patients with an ablation outside the policy."""
    case_rows, repeated = _policy_rows(session, condition)
    t = levels_t.c
    joints = select(t.case_id, t.level, t.side).join(cases_t, cases_t.c.id == t.case_id).where(condition)
    relief_rows = _by_ids(session, _WITH_RELIEF, outcomes_t.c.case_id, repeated)
    outside, rows = _outside_numbers(case_rows, plain_rows(session, joints), relief_rows, policy)
    wanted = {row[0] for row in rows}
    found = _by_patient(session, rows, _levels(_by_ids(session, _LEVELS, t.case_id, wanted), wanted),
                        _outcomes(relief_rows, repeated & wanted), {})  # fmt: skip
    items: list[OutsidePolicyCase] = []
    for patient in found.values():
        for case in patient.cases:
            if case.case_number in outside and listed(case):
                check = outside_policy_check(case, patient.cases, policy)
                if check is not None:
                    items.append(OutsidePolicyCase(case, patient.mrn, patient.patient_name, check))
    return items


def patient_condition(mrn: str) -> ColumnElement[bool]:
    """The cases of the patient with this MRN (none when no such patient)."""
    return cases_t.c.patient_id == select(patients_t.c.id).where(patients_t.c.mrn == mrn).scalar_subquery()
