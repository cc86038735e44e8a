"""Follow-up: the schedule setting, due dates, grace windows, timepoint statuses and case states, worked by hand,
then the due list, counts, states and recording a follow-up through the service on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from caselog import audit, vocab
from caselog.accounts import AccountService, Actor
from caselog.db.engine import Database
from caselog.db.tables import cases_t
from caselog.errors import CaselogError, Conflict, InvalidInput, NotPermitted
from caselog.followup import (
    DEFAULT_TIMEPOINTS,
    CaseFollowUp,
    FollowUpCounts,
    FollowUpService,
    case_follow_up,
    default_schedule,
    due_date,
    grace_days,
    procedure_dates_due,
    schedule_from_json,
    schedule_from_setting,
    timepoint_status,
    total_counts,
)
from caselog.pathway import add_months
from caselog.records import CaseFilter, FollowUpAttempt, OutcomeScore
from caselog.service import CaseService
from tests.factories import POLICY_REASON, TODAY, case_file, simple_case

D = dt.date
RFA = DEFAULT_TIMEPOINTS["radiofrequency_ablation"]


# ---- due dates, grace, statuses (pure, by hand) ----------------------------------------------------------------


def test_due_dates_are_days_for_weeks_and_calendar_months_after():
    assert due_date(D(2026, 1, 31), "2w") == D(2026, 2, 14)
    assert due_date(D(2026, 1, 31), "6w") == D(2026, 3, 14)
    assert due_date(D(2026, 1, 31), "3m") == D(2026, 4, 30)  # April has no 31st
    assert due_date(D(2027, 8, 31), "6m") == D(2028, 2, 29)  # a leap year's February
    assert due_date(D(2026, 3, 14), "36m") == D(2029, 3, 14)
    assert due_date(D(2026, 3, 14), "48m") == D(2030, 3, 14)
    assert due_date(D(2026, 3, 14), "5y") == D(2031, 3, 14)


def test_grace_is_a_quarter_of_the_interval_between_two_weeks_and_ninety_days():
    assert [grace_days(tp) for tp in ("2w", "6w", "3m", "6m", "12m", "24m", "36m", "48m", "5y")] == [
        14, 14, 22, 45, 90, 90, 90, 90, 90,
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (D(2026, 7, 13), "upcoming"),  # the day before
        (D(2026, 7, 14), "overdue"),  # exactly on the due date
        (D(2026, 8, 28), "overdue"),  # due + 45 days of grace (6m)
        (D(2026, 8, 29), "missed"),  # grace + 1
    ],
)
def test_six_month_status_around_the_due_date(today: dt.date, expected: str):
    due = due_date(D(2026, 1, 14), "6m")
    assert due == D(2026, 7, 14)
    assert timepoint_status(due, "6m", done=False, ended=False, today=today) == expected


def test_done_and_ended_win_over_dates():
    due = D(2026, 1, 1)
    assert timepoint_status(due, "3m", done=True, ended=True, today=D(2030, 1, 1)) == "done"
    assert timepoint_status(due, "3m", done=False, ended=True, today=D(2030, 1, 1)) == "ended"


@pytest.mark.parametrize("timepoint", ["2w", "6w", "3m", "6m", "12m", "5y"])
def test_procedure_dates_due_match_every_single_day(timepoint: str):
    """The range query's procedure dates are exactly those whose due date falls in the window (month ends
    included: no case is skipped or listed twice)."""
    days = [D(2025, 12, 20) + dt.timedelta(days=i) for i in range(120)]
    for first in days[::7]:
        for length in (0, 1, 3, 14):
            last = first + dt.timedelta(days=length)
            low, high = procedure_dates_due(timepoint, first, last)
            candidates = [add_months(first, -70) + dt.timedelta(days=i) for i in range(2200)]
            wanted = [d for d in candidates if first <= due_date(d, timepoint) <= last]
            assert wanted == [d for d in candidates if low <= d <= high], (timepoint, first, last)


def test_three_month_follow_ups_due_on_april_30_come_from_four_january_days():
    assert procedure_dates_due("3m", D(2026, 4, 30), D(2026, 4, 30)) == (D(2026, 1, 30), D(2026, 1, 31))
    low, high = procedure_dates_due("3m", D(2026, 4, 29), D(2026, 4, 29))
    assert (low, high) == (D(2026, 1, 29), D(2026, 1, 29))


# ---- case states (pure, by hand) -------------------------------------------------------------------------------

DONE = {"baseline": D(2025, 1, 2), "2w": D(2025, 1, 24), "6w": D(2025, 2, 21), "3m": D(2025, 4, 10)}


def state(outcomes: dict[str, dt.date], today: dt.date, attempts: Any = (), timepoints: Any = RFA) -> CaseFollowUp:
    return case_follow_up(D(2025, 1, 10), timepoints, outcomes, list(attempts), today)


def test_nothing_due_yet_is_complete_and_has_no_contact():
    assert state({}, D(2025, 1, 20)) == CaseFollowUp("complete", None)


def test_every_timepoint_so_far_done_is_complete():
    assert state(DONE, D(2025, 6, 1)) == CaseFollowUp("complete", D(2025, 4, 10))


def test_six_months_due_today_is_overdue():
    assert state(DONE, D(2025, 7, 10)).state == "overdue"
    assert state(DONE, D(2025, 8, 24)).state == "overdue"  # due + 45
    assert state(DONE, D(2025, 8, 25)).state == "lost"  # grace + 1: missed, nothing later


def test_a_patient_seen_at_twelve_months_after_missing_six_is_not_lost():
    back = {**DONE, "12m": D(2026, 1, 12)}
    assert state(back, D(2026, 2, 1)) == CaseFollowUp("complete", D(2026, 1, 12))
    # ... and is lost again once 24 months are missed with nothing after them.
    assert state(back, D(2027, 5, 1)).state == "lost"


def test_could_not_reach_does_not_end_follow_up():
    tried = [("6m", D(2025, 7, 11), "could_not_reach")]
    assert state(DONE, D(2025, 7, 20), tried).state == "overdue"


@pytest.mark.parametrize("result", ["moved_away", "declined"])
def test_moved_away_or_declined_is_lost_at_once(result: str):
    found = state(DONE, D(2025, 5, 1), [("6m", D(2025, 4, 20), result)])
    assert found == CaseFollowUp("lost", D(2025, 4, 10), D(2025, 4, 20))


def test_died_wins_over_lost():
    attempts = [("6m", D(2025, 4, 20), "moved_away"), ("12m", D(2025, 5, 2), "died")]
    assert state(DONE, D(2025, 6, 1), attempts) == CaseFollowUp("died", D(2025, 4, 10), D(2025, 5, 2))


def test_an_attempt_after_today_does_not_count_yet():
    assert state(DONE, D(2025, 5, 1), [("6m", D(2025, 5, 2), "died")]).state == "complete"


def test_a_shorter_schedule_owes_less():
    assert state(DONE, D(2026, 6, 1), timepoints=("2w", "6w", "3m")).state == "complete"
    assert state(DONE, D(2026, 6, 1)).state == "lost"


# ---- the schedule as data ---------------------------------------------------------------------------------------


def test_default_schedule_lists_every_procedure():
    schedule = default_schedule()
    assert [p for p, _ in schedule.entries] == list(vocab.PROCEDURES)
    assert schedule.for_procedure("radiofrequency_ablation") == RFA
    assert schedule.for_procedure("medial_branch_block") == ("2w",)
    assert schedule.for_procedure("laminotomy") == ("2w", "6w", "3m", "6m", "12m", "24m")
    assert schedule.for_procedure("other") == ("2w", "6w", "3m")
    assert schedule_from_setting(None) == schedule and schedule.is_default


def test_a_schedule_is_put_in_timepoint_order():
    changed = default_schedule().with_procedure("other", ["3m", "2w"])
    assert changed.for_procedure("other") == ("2w", "3m") and not changed.is_default
    assert schedule_from_json(changed.to_json()) == changed


@pytest.mark.parametrize(
    ("value", "path", "message"),
    [
        ({"other": ["baseline"]}, "other", "baseline"),
        ({"other": ["7m"]}, "other", "unknown timepoint '7m'"),
        ({"other": ["2w", "2w"]}, "other", "appears twice"),
        ({"other": "2w"}, "other", "must be a list"),
        ({"knee": []}, "knee", "not a procedure"),
    ],
)
def test_bad_schedules_name_the_procedure(value: dict[str, Any], path: str, message: str):
    full = {**default_schedule().to_json(), **value}
    with pytest.raises(InvalidInput) as caught:
        schedule_from_json(full)
    assert [p.path for p in caught.value.problems] == [path]
    assert message in caught.value.problems[0].message


def test_a_schedule_missing_a_procedure_is_refused():
    value = default_schedule().to_json()
    del value["laminectomy"]
    with pytest.raises(InvalidInput, match="laminectomy: is missing"):
        schedule_from_json(value)


def test_a_damaged_stored_schedule_is_refused_not_replaced_by_the_default():
    with pytest.raises(CaselogError, match="follow-up schedule stored in the database is not valid"):
        schedule_from_setting(["2w"])


# ---- the due list and states on a database (SQLite and PostgreSQL) ----------------------------------------------
# TODAY is 2025-06-30 (tests/factories.py).


def _case(day: str, procedure: str = "radiofrequency_ablation", **changes: Any) -> dict[str, Any]:
    extra: dict[str, Any] = {"procedure_detail": "Trigger point injection"} if procedure == "other" else {}
    return simple_case(day, procedure=procedure, cpt_codes=[], **extra, **changes)


RFA_OVERDUE, RFA_UPCOMING, LAMINECTOMY_DONE, RFA_SIGNED, BLOCK, OTHER_OVERDUE, OTHER_MISSED = range(7)


@pytest.fixture
def clinic(service: CaseService) -> list[str]:
    """Cases whose follow-ups fall due around TODAY, worked out by hand in each test (their numbers, in order)."""
    return service.import_cases(case_file(
        _case("2025-03-30"),  # RFA: 3m due today (overdue, 0 days); 2w and 6w missed
        _case("2025-06-20", surgeon="Dr. Priya Raman"),  # RFA: 2w due 2025-07-04 (upcoming)
        _case("2025-04-01", "laminectomy",  # 3m due 2025-07-01, done early: not listed
              outcomes=[{"timepoint": "3m", "date": "2025-06-29", "odi": 20}]),
        _case("2024-12-30", status="final", outside_policy_reason=POLICY_REASON),  # signed RFA: 6m due today
        _case("2025-06-16", "medial_branch_block"),  # 2w due today
        _case("2025-05-10", "other"),  # 6w due 2025-06-21 (overdue 9 days)
        _case("2025-06-01", "other"),  # 2w due 2025-06-15 (overdue 15 days: missed, grace 14)
    ))  # fmt: skip


def _rows(items: list[Any], numbers: list[str]) -> list[tuple[int, str, dt.date, str, int]]:
    return [(numbers.index(i.case_number), i.timepoint, i.due_date, i.status, i.days_overdue) for i in items]


def _which(items: list[Any], numbers: list[str]) -> list[int]:
    return [numbers.index(i.case_number) for i in items]


def test_due_list_holds_overdue_and_upcoming_follow_ups_by_due_date(service: CaseService, clinic: list[str]):
    found = FollowUpService(service).due(within_days=7)
    assert _rows(found, clinic) == [
        (OTHER_OVERDUE, "6w", D(2025, 6, 21), "overdue", 9),
        (RFA_SIGNED, "6m", D(2025, 6, 30), "overdue", 0),
        (RFA_OVERDUE, "3m", D(2025, 6, 30), "overdue", 0),
        (BLOCK, "2w", D(2025, 6, 30), "overdue", 0),
        (RFA_UPCOMING, "2w", D(2025, 7, 4), "upcoming", 0),
    ]
    first = found[2]
    assert (first.mrn, first.patient_name, first.birth_date) == ("MRN-1001", "Nguyễn, Thị Hồng", D(1961, 4, 12))
    assert (first.levels, first.region, first.surgeon) == ("L4-L5 bilateral, L5-S1 left", "lumbar", "Dr. Amara Okafor")
    assert (first.procedure, first.procedure_date) == ("radiofrequency_ablation", D(2025, 3, 30))
    assert (first.attempts, first.last_attempt) == (0, None)


def test_due_list_filters(service: CaseService, clinic: list[str]):
    follow = FollowUpService(service)
    assert _which(follow.due(upcoming=False), clinic) == [OTHER_OVERDUE, RFA_SIGNED, RFA_OVERDUE, BLOCK]
    assert _which(follow.due(overdue=False), clinic) == [RFA_UPCOMING]
    assert _which(follow.due(surgeon="Dr. Priya Raman"), clinic) == [RFA_UPCOMING]
    assert _which(follow.due(procedure="other"), clinic) == [OTHER_OVERDUE]
    assert _which(follow.due(overdue=False, within_days=3), clinic) == []  # 4 days away
    assert _which(follow.due(overdue=False, within_days=4), clinic) == [RFA_UPCOMING]
    with pytest.raises(InvalidInput, match="within"):
        follow.due(within_days=-1)


def test_the_day_after_the_grace_window_a_follow_up_leaves_the_list(service: CaseService, clinic: list[str]):
    """The other procedure's 6 weeks fell due 2025-06-21: overdue through 2025-07-05 (14 days of grace)."""
    on_last_day = FollowUpService(service, today=lambda: D(2025, 7, 5)).due(upcoming=False)
    assert (OTHER_OVERDUE, "6w", D(2025, 6, 21), "overdue", 14) in _rows(on_last_day, clinic)
    after = FollowUpService(service, today=lambda: D(2025, 7, 6)).due(upcoming=False)
    assert OTHER_OVERDUE not in _which(after, clinic)


def test_a_changed_schedule_applies_to_every_case_at_once(service: CaseService, clinic: list[str]):
    follow = FollowUpService(service)
    follow.set_schedule(follow.schedule().with_procedure("radiofrequency_ablation", ["6w", "12m"]))
    assert _which(follow.due(), clinic) == [OTHER_OVERDUE, BLOCK]


def test_states_of_every_case(service: CaseService, clinic: list[str]):
    follow = FollowUpService(service)
    with service.db.read() as session:
        found = follow.states(session, select(cases_t.c.id))
        numbers = dict(session.execute(select(cases_t.c.id, cases_t.c.case_number)).all())
    assert [found[case_id] for case_id in sorted(numbers, key=lambda i: clinic.index(numbers[i]))] == [
        CaseFollowUp("lost", None),  # RFA: 2w and 6w missed, nothing after them
        CaseFollowUp("complete", None),  # nothing due yet
        CaseFollowUp("complete", D(2025, 6, 29)),  # laminectomy: 2w and 6w missed, but seen since (3m, early)
        CaseFollowUp("lost", None),  # signed RFA: everything up to 3m missed
        CaseFollowUp("overdue", None),  # block: 2w due today
        CaseFollowUp("lost", None),  # other: 2w missed (due 2025-05-24, grace to 2025-06-07)
        CaseFollowUp("lost", None),  # other: 2w missed yesterday
    ]


def test_counts_per_procedure_and_surgeon(service: CaseService, clinic: list[str]):
    rows = FollowUpService(service).counts()
    assert rows == [
        FollowUpCounts("radiofrequency_ablation", "Dr. Amara Okafor", cases=2, lost=2),
        FollowUpCounts("radiofrequency_ablation", "Dr. Priya Raman", cases=1, complete=1),
        FollowUpCounts("medial_branch_block", "Dr. Amara Okafor", cases=1, overdue=1),
        FollowUpCounts("laminectomy", "Dr. Amara Okafor", cases=1, complete=1),
        FollowUpCounts("other", "Dr. Amara Okafor", cases=2, lost=2),
    ]
    assert total_counts(rows) == FollowUpCounts(None, None, cases=7, complete=2, overdue=1, lost=4)
    only = FollowUpService(service).counts(CaseFilter(surgeon="Dr. Priya Raman"))
    assert only == [FollowUpCounts("radiofrequency_ablation", "Dr. Priya Raman", cases=1, complete=1)]


# ---- recording a follow-up --------------------------------------------------------------------------------------

ROLES = {
    "surgeon": Actor("okafor", "Dr. Amara Okafor", "surgeon"),
    "coordinator": Actor("cole", "Cole Mendez", "coordinator"),
    "quality": Actor("quinn", "Quinn Avery", "quality"),
    "admin": Actor("boss", "Clinic Admin", "admin"),
}


@pytest.fixture
def accounts(db: Database, clinic: list[str]) -> Database:
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password="correct horse battery")
    admin = AccountService(db, ROLES["admin"])
    for actor in ROLES.values():
        if actor.role != "admin":
            admin.add_account(actor.username, role=actor.role, full_name=actor.full_name,
                              password="correct horse battery")  # fmt: skip
    return db


def _as(db: Database, role: str) -> FollowUpService:
    return FollowUpService(CaseService(db, actor=ROLES[role], today=lambda: TODAY))


@pytest.mark.parametrize("role", ["surgeon", "coordinator", "quality"])
@pytest.mark.parametrize("case", [RFA_OVERDUE, RFA_SIGNED])
def test_every_clinical_role_records_a_follow_up_on_drafts_and_signed_cases(
    accounts: Database, clinic: list[str], role: str, case: int
):
    follow = _as(accounts, role)
    before = follow.service.get_case(clinic[case])
    view = follow.record_outcome(
        clinic[case], OutcomeScore("3m", TODAY, nrs_back=3, odi=22, pgic=2, work_status="working")
    )
    assert view.status == before.status and view.version == before.version + 1  # signed stays signed
    assert view.signed_by == before.signed_by
    assert [o.timepoint for o in view.record.outcomes][-1] == "3m"
    entry = audit.entries(accounts, record_type="case", record_id=clinic[case])[-1]
    assert entry.action == "addendum" and entry.username == ROLES[role].username
    old, new = entry.changes["outcomes"]  # the old and new values
    assert new[: len(old)] == old and new[-1]["timepoint"] == "3m" and new[-1]["odi"] == 22


def test_an_administrator_may_not_record_a_follow_up(accounts: Database, clinic: list[str]):
    with pytest.raises(NotPermitted):
        _as(accounts, "admin").record_outcome(clinic[RFA_OVERDUE], OutcomeScore("3m", TODAY, nrs_back=3))
    assert audit.entries(accounts)[-1].action == "refused"


def test_a_timepoint_recorded_already_is_refused(service: CaseService, clinic: list[str]):
    follow = FollowUpService(service)
    follow.record_outcome(clinic[RFA_OVERDUE], OutcomeScore("3m", TODAY, nrs_back=3))
    with pytest.raises(InvalidInput, match=r"outcome\.timepoint: the 3 months follow-up .* is already recorded"):
        follow.record_outcome(clinic[RFA_OVERDUE], OutcomeScore("3m", TODAY, nrs_back=2))
    assert len(service.get_case(clinic[RFA_OVERDUE]).record.outcomes) == 1


def test_a_recorded_follow_up_leaves_the_due_list(service: CaseService, clinic: list[str]):
    follow = FollowUpService(service)
    follow.record_outcome(clinic[RFA_OVERDUE], OutcomeScore("3m", TODAY, nrs_back=3))
    assert RFA_OVERDUE not in _which(follow.due(), clinic)


def test_someone_elses_change_first_is_a_conflict(service: CaseService, clinic: list[str]):
    follow = FollowUpService(service)
    version = service.get_case(clinic[RFA_OVERDUE]).version
    follow.record_outcome(clinic[RFA_OVERDUE], OutcomeScore("3m", TODAY, nrs_back=3), expected_version=version)
    with pytest.raises(Conflict):
        follow.record_outcome(clinic[RFA_OVERDUE], OutcomeScore("2w", D(2025, 4, 14), nrs_back=3),
                              expected_version=version)  # fmt: skip


def test_could_not_reach_is_counted_on_the_list_and_keeps_the_follow_up_owed(service: CaseService, clinic: list[str]):
    follow = FollowUpService(service)
    follow.record_attempt(clinic[RFA_OVERDUE], FollowUpAttempt("3m", D(2025, 6, 28), "could_not_reach"))
    view = follow.record_attempt(clinic[RFA_OVERDUE], FollowUpAttempt("3m", TODAY, "could_not_reach", "voicemail"))
    assert view.record.follow_up_attempts[-1] == FollowUpAttempt("3m", TODAY, "could_not_reach", "voicemail")
    row = next(i for i in follow.due() if i.case_number == clinic[RFA_OVERDUE])
    assert (row.timepoint, row.attempts, row.last_attempt) == ("3m", 2, TODAY)


@pytest.mark.parametrize(("result", "expected"), [("moved_away", "lost"), ("declined", "lost"), ("died", "died")])
def test_a_final_attempt_ends_the_follow_up(service: CaseService, clinic: list[str], result: str, expected: str):
    follow = FollowUpService(service)
    follow.record_attempt(clinic[BLOCK], FollowUpAttempt("2w", TODAY, result))
    assert BLOCK not in _which(follow.due(), clinic)
    with service.db.read() as session:
        found = follow.states(session, select(cases_t.c.id).where(cases_t.c.case_number == clinic[BLOCK]))
    assert list(found.values()) == [CaseFollowUp(expected, None, TODAY)]  # type: ignore[arg-type]
    view = service.get_case(clinic[BLOCK])
    assert [t[2] for t in follow.case_timepoints(view)] == ["ended"]


def test_nothing_is_recorded_after_a_death(service: CaseService, clinic: list[str]):
    follow = FollowUpService(service)
    follow.record_attempt(clinic[RFA_OVERDUE], FollowUpAttempt("3m", D(2025, 6, 1), "died"))
    with pytest.raises(InvalidInput) as caught:
        follow.record_outcome(clinic[RFA_OVERDUE], OutcomeScore("3m", TODAY, nrs_back=3))
    assert caught.value.problems[0].path.startswith("outcome")


def test_problems_of_the_new_follow_up_are_named_by_its_field(service: CaseService, clinic: list[str]):
    follow = FollowUpService(service)
    with pytest.raises(InvalidInput) as caught:
        follow.record_outcome(clinic[RFA_OVERDUE], OutcomeScore("3m", TODAY, nrs_back=11))
    assert [p.path for p in caught.value.problems] == ["outcome.nrs_back"]
    with pytest.raises(InvalidInput) as caught:
        follow.record_attempt(clinic[RFA_OVERDUE], FollowUpAttempt("3m", D(2025, 7, 2), "could_not_reach"))
    assert [p.path for p in caught.value.problems] == ["attempt.date"]
    assert service.get_case(clinic[RFA_OVERDUE]).version == 1  # nothing written


def test_case_timepoints_show_each_status(service: CaseService, clinic: list[str]):
    follow = FollowUpService(service)
    statuses = follow.case_timepoints(service.get_case(clinic[RFA_OVERDUE]))
    assert statuses[:5] == [
        ("2w", D(2025, 4, 13), "missed"),
        ("6w", D(2025, 5, 11), "missed"),
        ("3m", D(2025, 6, 30), "overdue"),
        ("6m", D(2025, 9, 30), "upcoming"),
        ("12m", D(2026, 3, 30), "upcoming"),
    ]
    follow.record_outcome(clinic[RFA_OVERDUE], OutcomeScore("3m", TODAY, nrs_back=3))
    assert follow.case_timepoints(service.get_case(clinic[RFA_OVERDUE]))[2][2] == "done"
