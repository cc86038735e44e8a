"""The quality desk's outside-policy list reads 100,000 cases in a few set-based queries and keeps only what the
policy check needs (caselog.db.pathway_queries.load_policy_cases); here it must list exactly what the
straightforward way lists: every case of every patient read as a full record, and each ablation checked against
all the patient's other cases with check_indication (the check the case form shows). On a demo clinic of a few
thousand cases (blocks with diaries, first ablations, repeats, departures from the policy), on SQLite and
PostgreSQL, under each preset, policies a clinic adjusted, and with the list's filters. The list judges every
ablation from plain values first (caselog.pathway.PolicyJudge) and writes out the check of those it finds: it
must find exactly the cases outside the policy, no more (else it would be no faster) and none fewer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from caselog import vocab
from caselog.db import pathway_queries
from caselog.db.schema import open_database
from caselog.demo import generate_cases
from caselog.pathway import IndicationCheck, PathwayCase, check_indication, pathway_case
from caselog.policy import PRESETS, IndicationPolicy
from caselog.service import CaseService
from tests.conftest import database_copy, template_for
from tests.factories import TODAY, simple_case

Listed = tuple[str | None, str, str, IndicationCheck]


def _sessions_patient() -> list[dict[str, Any]]:
    """A patient the demo never makes: three lumbar ablations within 12 months at three joints (the sessions
    rule), a block and an ablation on the same day, a bilateral level, a cervical joint and a repeat three months
    after the last ablation at its joint (the interval rule: the demo of this seed happens to break it nowhere)."""
    patient = {**simple_case("2025-01-01")["patient"], "mrn": "EQ-SESSIONS", "family_name": "Sessions"}
    block = {"anesthetic": "lidocaine", "pain_before": 8,
             "diary": [{"time": "30min", "pain": 1}, {"time": "1h", "pain": 1}, {"time": "2h", "pain": 4}]}  # fmt: skip

    def case(date: str, procedure: str, level: str, side: str, **more: Any) -> dict[str, Any]:
        more.setdefault("prior_block_relief_percent", None)
        return simple_case(date, procedure=procedure, levels=[{"level": level, "side": side}], patient=patient,
                           cpt_codes=["64493" if procedure == "medial_branch_block" else "64635"], **more)  # fmt: skip

    mbb, rfa = "medial_branch_block", "radiofrequency_ablation"
    return [
        case("2024-01-08", mbb, "L3-L4", "left", block=block),
        case("2024-01-22", mbb, "L3-L4", "left", block=block),
        case("2024-02-05", rfa, "L3-L4", "left"),
        case("2024-03-04", rfa, "L4-L5", "bilateral", prior_block_relief_percent=90),
        case("2024-05-06", mbb, "L5-S1", "right", block=block),
        case("2024-05-06", rfa, "L5-S1", "right", prior_block_relief_percent=85),
        case("2024-06-03", rfa, "C5-C6", "left", prior_block_relief_percent=40,
             outcomes=[{"timepoint": "6m", "date": "2024-12-02", "relief_percent": 70}]),
        case("2024-12-16", rfa, "C5-C6", "left"),
        case("2024-08-05", rfa, "L5-S1", "right"),  # three months after the last one there: the interval rule
    ]  # fmt: skip


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def prepared_clinic(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo clinic, built once per backend (2,500 cases); each test works on a copy of it."""
    with database_copy(template_for(request.param, request), tmp_path_factory.mktemp("clinic")) as target:
        db = open_database(target)
        try:
            service = CaseService(db, today=lambda: TODAY)
            service.add_records(generate_cases(2500, seed=14, until=TODAY), into_real_database=True)
            service.import_cases({"format": "caselog-cases", "version": 2, "cases": _sessions_patient()})
        finally:
            db.close()
        yield target


@pytest.fixture
def clinic(prepared_clinic: str, tmp_path: Path) -> Iterator[CaseService]:
    with database_copy(prepared_clinic, tmp_path) as target:
        db = open_database(target)
        try:
            yield CaseService(db, today=lambda: TODAY)
        finally:
            db.close()


def _straightforward(
    service: CaseService, policy: IndicationPolicy, listed: Callable[[PathwayCase], bool]
) -> list[Listed]:
    """Every case as its full record, every ablation checked against all its patient's other cases."""
    by_patient: dict[str, list[tuple[PathwayCase, str]]] = {}
    for view in service.iter_cases():
        patient = view.record.patient
        name = f"{patient.family_name}, {patient.given_name}" if patient.given_name else patient.family_name
        by_patient.setdefault(patient.mrn, []).append((pathway_case(view.record, view.case_number), name))
    found: list[tuple[PathwayCase, Listed]] = []
    for mrn, cases in by_patient.items():
        history = [case for case, _ in cases]
        for case, name in cases:
            check = check_indication(case, history, policy)
            if check.outside_policy and listed(case):
                found.append((case, (case.case_number, mrn, name, check)))
    return [item for _, item in sorted(found, key=lambda pair: pair[0].order)]


def _flagged(service: CaseService, policy: IndicationPolicy) -> set[str]:
    """The case numbers the one-pass judge finds outside the policy, before any check is written out."""
    q = pathway_queries
    relevant = q.cases_t.c.procedure.in_(sorted(vocab.ABLATIONS | {"medial_branch_block"}))
    with service.reading() as session:
        case_rows, repeated = q._policy_rows(session, relevant)
        reliefs = q._by_ids(session, q._WITH_RELIEF, q.outcomes_t.c.case_id, repeated)
        joints = [(case_id, level, side) for case_id, _, level, side, _ in q._level_rows(session, relevant)]
        return q._outside_numbers(case_rows, joints, reliefs, policy)[0]


def _listed(service: CaseService, **filters: Any) -> list[Listed]:
    return [(i.case_number, i.mrn, i.patient_name, i.check) for i in service.outside_policy(**filters)]


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_the_list_is_what_checking_every_ablation_one_by_one_gives(clinic: CaseService, preset: str) -> None:
    """Under each preset, the bulk list and the case-by-case checks name the same cases with the same findings,
    evidence and sentences, in the same order; the demo has cases on both sides of each rule."""
    policy = PRESETS[preset].policy
    clinic.set_indication_policy(policy)
    expected = _straightforward(clinic, policy, lambda case: True)
    assert _listed(clinic) == expected
    rules = {finding.rule for *_, check in expected for finding in check.unmet}
    assert rules == {"blocks", "repeat_interval", "repeat_relief", "sessions"}
    assert len(expected) < clinic.count() // 4  # most ablations meet the policy: both sides are compared
    assert _flagged(clinic, policy) == {number for number, *_ in expected}


#: Policies a clinic may set beyond the presets: one block at a low threshold, no interval and a single session
#: a year (the sessions rule judged for any patient with two ablations); the strictest thresholds, long
#: intervals and many sessions.
ADJUSTED = [IndicationPolicy(1, 30, 0, 0, 0, 1), IndicationPolicy(2, 100, 12, 80, 12, 12),
            IndicationPolicy(1, 80, 3, 50, 9, 3)]  # fmt: skip


@pytest.mark.parametrize("policy", ADJUSTED, ids=["lenient", "strict", "mixed"])
def test_a_policy_the_clinic_adjusted_lists_what_the_checks_give(clinic: CaseService, policy: IndicationPolicy) -> None:
    """Under policies other than the presets, the list is the case-by-case checks' list, and the one-pass judge
    flags exactly the ablations outside the policy (none met it that it had to write out and find met)."""
    clinic.set_indication_policy(policy)
    expected = _straightforward(clinic, policy, lambda case: True)
    assert _listed(clinic) == expected and expected
    assert _flagged(clinic, policy) == {number for number, *_ in expected}


def test_the_filtered_lists_are_what_the_checks_give(clinic: CaseService, monkeypatch: pytest.MonkeyPatch) -> None:
    """Dates, surgeon, procedure and the reason filter give the straightforward list's cases; ids asked for a few
    at a time (as a clinic far larger than the limit on a query's parameters is read) change nothing."""
    monkeypatch.setattr(pathway_queries, "_IDS_PER_QUERY", 7)
    policy = clinic.indication_policy()
    surgeon = clinic.surgeons()[0]
    start, end = dt.date(2023, 1, 1), dt.date(2024, 6, 30)
    cases: list[tuple[dict[str, Any], Callable[[PathwayCase], bool]]] = [
        ({}, lambda case: True),
        ({"date_from": start, "date_to": end}, lambda case: start <= case.date <= end),
        ({"surgeon": surgeon}, lambda case: case.surgeon == surgeon),
        ({"procedure": "endoscopic_rhizotomy"}, lambda case: case.procedure == "endoscopic_rhizotomy"),
        ({"with_reason": True}, lambda case: case.outside_policy_reason is not None),
        ({"with_reason": False, "date_to": end}, lambda case: case.outside_policy_reason is None and case.date <= end),
    ]
    for filters, listed in cases:
        expected = _straightforward(clinic, policy, listed)
        assert expected, filters
        assert _listed(clinic, **filters) == expected, filters


def test_the_list_reads_only_what_the_policy_check_needs(clinic: CaseService) -> None:
    """Patients without an ablation are not read; an ablation's relief only when a later ablation of the patient
    may repeat it (the repeat rules read the last ablation's relief, nothing else reads it)."""
    c = pathway_queries.cases_t.c
    with clinic.reading() as session:
        everything = pathway_queries.load_pathway_cases(session, c.id.is_not(None), complications=False)
        needed = pathway_queries.load_policy_cases(
            session, c.procedure.in_(sorted(vocab.ABLATIONS | {"medial_branch_block"}))
        )
    with_ablation = {pid for pid, p in everything.items() if any(case.is_ablation for case in p.cases)}
    assert set(needed) == with_ablation and len(with_ablation) < len(everything)
    for pid, patient in needed.items():
        full = {case.case_number: case for case in everything[pid].cases}
        last = max(case.date for case in patient.cases if case.is_ablation)
        assert all(case.is_ablation or case.is_block for case in patient.cases)
        for case in patient.cases:
            assert (case.levels, case.block, case.prior_block_relief_percent) == (
                full[case.case_number].levels, full[case.case_number].block,
                full[case.case_number].prior_block_relief_percent)  # fmt: skip
            relief = tuple(o for o in full[case.case_number].outcomes if o.relief_percent is not None)
            assert case.outcomes == (relief if case.is_ablation and case.date < last else ())
