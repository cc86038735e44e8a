"""The demo's follow-up looks like a clinic's: a baseline and the schedule's visits with the region's measures,
relief that fades after an ablation, some follow-ups owed today, and some patients lost or dead.

Statuses and states are read through caselog.followup, as the coordinator's desk and the durability figures
read them; everything the demo makes passes validation (the demo is another door into the data).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter, defaultdict

import pytest

from caselog import vocab
from caselog.db.engine import Database
from caselog.db.schema import open_database
from caselog.demo import generate_cases
from caselog.followup import (
    DEFAULT_TIMEPOINTS,
    FollowUpService,
    case_follow_up,
    due_date,
    grace_days,
    total_counts,
)
from caselog.records import CaseRecord, OutcomeScore, case_to_contract
from caselog.service import CaseService
from caselog.validation import FORMAT_NAME, FORMAT_VERSION, validate_file
from tests.test_cli import run

UNTIL = dt.date(2026, 6, 30)
LUMBAR_MEASURES = ("nrs_back", "nrs_leg", "odi")
CERVICAL_MEASURES = ("nrs_neck", "nrs_arm", "ndi")


@pytest.fixture(scope="module")
def records() -> list[CaseRecord]:
    return generate_cases(6000, seed=11, until=UNTIL)


def _state(record: CaseRecord) -> str:
    """The case's follow-up state under the default schedule, as caselog.followup works it out."""
    outcomes = {o.timepoint: o.date for o in record.outcomes}
    attempts = [(a.timepoint, a.date, a.result) for a in record.follow_up_attempts]
    timepoints = DEFAULT_TIMEPOINTS[record.procedure]
    return case_follow_up(record.procedure_date, timepoints, outcomes, attempts, UNTIL).state


def _patients(records: list[CaseRecord]) -> dict[str, list[CaseRecord]]:
    by_mrn: dict[str, list[CaseRecord]] = defaultdict(list)
    for record in records:
        by_mrn[record.patient.mrn].append(record)
    return by_mrn


def _region(record: CaseRecord) -> str:
    return vocab.region_of(record.levels[0].level)


def test_every_demo_follow_up_is_valid_and_reads_back_unchanged(records: list[CaseRecord]) -> None:
    data = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "cases": [case_to_contract(r) for r in records]}
    read, problems = validate_file(data, today=UNTIL)
    assert problems == []
    assert read == records
    assert any(r.follow_up_attempts for r in records)


def test_each_case_has_a_baseline_and_visits_near_the_schedules_due_dates(records: list[CaseRecord]) -> None:
    """Visits only at the schedule's timepoints, on the due date or up to two weeks late; none due later than
    today; a block's two-week check as well as an ablation's five years."""
    for record in records:
        assert record.outcomes[0].timepoint == "baseline" and record.outcomes[0].date <= record.procedure_date
        schedule = DEFAULT_TIMEPOINTS[record.procedure]
        for outcome in record.outcomes[1:]:
            assert outcome.timepoint in schedule, (record.procedure, outcome.timepoint)
            due = due_date(record.procedure_date, outcome.timepoint)
            assert due <= outcome.date <= due + dt.timedelta(days=14)
    seen = Counter((r.procedure, o.timepoint) for r in records for o in r.outcomes[1:])
    assert seen[("medial_branch_block", "2w")] > 1000 and seen[("endoscopic_rhizotomy", "5y")] > 0
    late = [o.date - due_date(r.procedure_date, o.timepoint) for r in records for o in r.outcomes[1:]]
    assert 0.1 < sum(1 for d in late if d.days > 3) / len(late) < 0.5  # a few days late sometimes


def test_a_clinics_own_schedule_is_followed() -> None:
    schedule = {**DEFAULT_TIMEPOINTS, "radiofrequency_ablation": ("3m", "12m"), "medial_branch_block": ()}
    records = generate_cases(800, seed=11, until=UNTIL, schedule=schedule)
    rfa = [o.timepoint for r in records if r.procedure == "radiofrequency_ablation" for o in r.outcomes[1:]]
    assert set(rfa) == {"3m", "12m"}
    assert all(len(r.outcomes) == 1 for r in records if r.procedure == "medial_branch_block")


def test_scores_are_the_regions_measures(records: list[CaseRecord]) -> None:
    """Lumbar and thoracic cases: ODI and back/leg pain; cervical: NDI and neck/arm pain; every follow-up
    asks the patient's impression of change and their answers, the baseline none of what comes after."""
    regions: Counter[str] = Counter()
    for record in records:
        region = _region(record)
        regions[region] += 1
        ours, others = (
            (CERVICAL_MEASURES, LUMBAR_MEASURES) if region == "cervical" else (LUMBAR_MEASURES, CERVICAL_MEASURES)
        )
        for outcome in record.outcomes:
            assert all(getattr(outcome, m) is not None for m in ours), (region, outcome)
            assert all(getattr(outcome, m) is None for m in others), (region, outcome)
            assert outcome.work_status in vocab.WORK_STATUSES and outcome.analgesics in vocab.ANALGESIC_USE
            if outcome.timepoint == "baseline":
                assert outcome.pgic is None and outcome.returned_to_activities is None
                continue
            assert outcome.pgic in vocab.PGIC
            returned = outcome.returned_to_activities
            assert returned is None or record.procedure_date <= returned <= outcome.date
    assert regions["lumbar"] and regions["cervical"] and regions["thoracic"]
    follow_ups = [o for r in records for o in r.outcomes[1:]]
    assert {o.physical_therapy for o in follow_ups} == {True, False, None}
    assert {o.work_status for o in follow_ups} == set(vocab.WORK_STATUSES)
    assert {o.analgesics for o in follow_ups} == set(vocab.ANALGESIC_USE)
    assert any(o.returned_to_activities for o in follow_ups)


def _pain(outcome: OutcomeScore) -> int:
    value = outcome.nrs_back if outcome.nrs_back is not None else outcome.nrs_neck
    assert value is not None
    return value


def test_relief_follows_each_treatments_course(records: list[CaseRecord]) -> None:
    """After an ablation pain falls and returns within the year; after a rhizotomy it stays down for years;
    after a decompression the leg improves by three months; a block's relief has worn off by two weeks."""
    change: dict[tuple[str, str], list[int]] = defaultdict(list)
    pgic: dict[tuple[str, str], list[int]] = defaultdict(list)
    for record in records:
        base = record.outcomes[0]
        for outcome in record.outcomes[1:]:
            key = (record.procedure, outcome.timepoint)
            if record.procedure in ("laminectomy", "laminotomy") and outcome.nrs_leg is not None:
                assert base.nrs_leg is not None
                change[key].append(base.nrs_leg - outcome.nrs_leg)
            else:
                change[key].append(_pain(base) - _pain(outcome))
            assert outcome.pgic is not None
            pgic[key].append(outcome.pgic)
    mean = {key: statistics.mean(values) for key, values in change.items()}
    assert mean["radiofrequency_ablation", "6w"] > 3 and mean["radiofrequency_ablation", "24m"] < 2
    assert mean["endoscopic_rhizotomy", "24m"] > 2.5
    assert mean["laminectomy", "3m"] > mean["laminectomy", "2w"] > 0
    assert abs(mean["medial_branch_block", "2w"]) < 1.5
    assert (
        statistics.mean(pgic["radiofrequency_ablation", "6w"])
        < 2.5
        < statistics.mean(pgic["radiofrequency_ablation", "24m"])
    )


def test_some_patients_are_lost_and_about_one_in_a_hundred_dies(records: list[CaseRecord]) -> None:
    """Of the patients treated (not just blocked), about one in ten stops answering (unanswered calls, then
    nothing), a few move away or decline, about one in a hundred dies; most are followed up."""
    treated = [cases for cases in _patients(records).values() if cases[-1].procedure != "medial_branch_block"]
    fates: Counter[str] = Counter()
    for cases in treated:
        results = {a.result for r in cases for a in r.follow_up_attempts}
        if "died" in results:
            fates["died"] += 1
        elif results & {"moved_away", "declined"}:
            fates["moved or declined"] += 1
        elif _state(cases[-1]) == "lost":
            assert results <= {"could_not_reach"}
            fates["stopped answering"] += 1
    share = {fate: n / len(treated) for fate, n in fates.items()}
    assert 0.06 < share["stopped answering"] < 0.15, share
    assert 0.01 < share["moved or declined"] < 0.06, share
    assert 0.003 < share["died"] < 0.025, share
    unanswered = Counter(
        sum(1 for a in r.follow_up_attempts if a.result == "could_not_reach") for r in records if r.follow_up_attempts
    )
    assert unanswered[2] and unanswered[3]  # a few calls before the coordinator gives up


def test_nothing_is_recorded_after_a_patient_died(records: list[CaseRecord]) -> None:
    """Not on the case, and not on the patient's other cases: no later visit, call or procedure."""
    deaths = 0
    for cases in _patients(records).values():
        died = [a.date for r in cases for a in r.follow_up_attempts if a.result == "died"]
        if not died:
            continue
        deaths += 1
        death = min(died)
        for record in cases:
            assert record.procedure_date < death
            assert all(o.date <= death for o in record.outcomes)
            assert all(a.date <= death for a in record.follow_up_attempts)
            assert sum(1 for a in record.follow_up_attempts if a.result == "died") <= 1
    assert deaths > 5


def test_some_follow_ups_are_owed_today(records: list[CaseRecord]) -> None:
    """The coordinator's list is not empty: visits due in the last days not yet made, some already tried."""
    owed = [
        (r, tp)
        for r in records
        for tp in DEFAULT_TIMEPOINTS[r.procedure]
        if tp not in {o.timepoint for o in r.outcomes}
        and due_date(r.procedure_date, tp)
        <= UNTIL
        <= due_date(r.procedure_date, tp) + dt.timedelta(days=grace_days(tp))
    ]
    assert len(owed) > 20
    assert any(a.timepoint == tp for r, tp in owed for a in r.follow_up_attempts)


def test_the_same_seed_gives_the_same_follow_up() -> None:
    first = generate_cases(400, seed=5, until=UNTIL)
    assert first == generate_cases(400, seed=5, until=UNTIL)
    other = generate_cases(400, seed=6, until=UNTIL)
    assert [r.outcomes for r in first] != [r.outcomes for r in other]


def test_the_follow_up_desk_finds_complete_overdue_lost_and_dead(db: Database) -> None:
    """Stored through the demo's door, the cases read back with every follow-up state, and the due list of
    the demo's last day is not empty."""
    service = CaseService(db, today=lambda: UNTIL)
    service.add_records(generate_cases(1500, seed=11, until=UNTIL))
    desk = FollowUpService(service, today=lambda: UNTIL)
    totals = total_counts(desk.counts())
    assert totals.cases == 1500
    assert totals.complete > totals.lost > totals.overdue > 0 and totals.died > 0, totals
    due = desk.due(within_days=0, upcoming=False)
    assert due and all(item.status == "overdue" for item in due)
    assert any(item.attempts for item in due)


def test_caselog_demo_follows_the_schedule_the_clinic_set(db_target: str) -> None:
    """An administrator who set the clinic's schedule before adding demo data sees it followed: visits only at
    the clinic's timepoints, none where it owes none."""
    db = open_database(db_target)
    try:
        desk = FollowUpService(CaseService(db))
        own = desk.schedule().with_procedure("radiofrequency_ablation", ["3m", "12m"])
        desk.set_schedule(own.with_procedure("medial_branch_block", []))
    finally:
        db.close()
    added = run("demo", "--cases", "300", "--seed", "4", db=db_target)
    assert added.returncode == 0, added.stderr
    db = open_database(db_target)
    try:
        views = list(CaseService(db).iter_cases())
    finally:
        db.close()
    rfa = {o.timepoint for v in views if v.record.procedure == "radiofrequency_ablation" for o in v.record.outcomes}
    assert rfa == {"baseline", "3m", "12m"}
    assert all(len(v.record.outcomes) == 1 for v in views if v.record.procedure == "medial_branch_block")
