"""Follow-up: the schedule setting, due dates, grace windows, timepoint statuses and case states, worked by hand,
then the due list, counts, states and recording a follow-up through the service on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import functools
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
    superseded_on,
    timepoint_status,
    total_counts,
)
from caselog.pathway import add_months
from caselog.records import CaseFilter, FollowUpAttempt, OutcomeScore
from caselog.service import CaseService
from tests.factories import POLICY_REASON, TODAY, case_file, make_case, simple_case

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


def test_a_patient_who_comes_back_after_moving_away_is_followed_again():
    back = {**DONE, "12m": D(2026, 1, 12)}
    moved = [("6m", D(2025, 7, 1), "moved_away")]
    assert state(back, D(2026, 2, 1), moved) == CaseFollowUp("complete", D(2026, 1, 12))
    assert state(back, D(2026, 2, 1), [*moved, ("24m", D(2026, 1, 20), "declined")]) == CaseFollowUp(
        "lost", D(2026, 1, 12), D(2026, 1, 20)
    )


def test_died_wins_over_lost():
    attempts = [("6m", D(2025, 4, 20), "moved_away"), ("12m", D(2025, 5, 2), "died")]
    assert state(DONE, D(2025, 6, 1), attempts) == CaseFollowUp("died", D(2025, 4, 10), D(2025, 5, 2))


def test_an_attempt_after_today_does_not_count_yet():
    assert state(DONE, D(2025, 5, 1), [("6m", D(2025, 5, 2), "died")]).state == "complete"


def test_a_shorter_schedule_owes_less():
    assert state(DONE, D(2026, 6, 1), timepoints=("2w", "6w", "3m")).state == "complete"
    assert state(DONE, D(2026, 6, 1)).state == "lost"


# ---- a later treatment at an overlapping joint (pure, by hand) ---------------------------------------------------

FIRST = [("L4-L5", "bilateral"), ("L5-S1", "left")]


@pytest.mark.parametrize(
    ("procedure", "day", "levels", "expected"),
    [
        ("radiofrequency_ablation", D(2025, 9, 1), [("L4-L5", "left")], D(2025, 9, 1)),  # bilateral covers left
        ("endoscopic_rhizotomy", D(2025, 9, 1), [("L5-S1", "bilateral")], D(2025, 9, 1)),  # bilateral covers left
        ("laminectomy", D(2025, 9, 1), [("L5-S1", "left")], D(2025, 9, 1)),
        ("laminotomy", D(2025, 9, 1), [("L4-L5", "right")], D(2025, 9, 1)),
        ("radiofrequency_ablation", D(2025, 9, 1), [("L5-S1", "right")], None),  # the other side
        ("radiofrequency_ablation", D(2025, 9, 1), [("L3-L4", "bilateral")], None),  # another joint
        ("medial_branch_block", D(2025, 9, 1), [("L4-L5", "bilateral")], None),  # a block after it ends nothing
        ("other", D(2025, 9, 1), [("L4-L5", "bilateral")], None),
        ("radiofrequency_ablation", D(2025, 1, 10), [("L4-L5", "bilateral")], None),  # the same day
        ("radiofrequency_ablation", D(2024, 9, 1), [("L4-L5", "bilateral")], None),  # before it
    ],
)
def test_which_later_treatments_supersede_a_case(procedure: str, day: dt.date, levels: Any, expected: Any):
    assert superseded_on(D(2025, 1, 10), FIRST, [(day, procedure, levels)]) == expected


def test_the_earliest_superseding_treatment_counts():
    others = [(D(2026, 3, 1), "laminectomy", [("L5-S1", "left")]), (D(2025, 11, 2), "radiofrequency_ablation",
              [("L4-L5", "right")]), (D(2025, 10, 1), "medial_branch_block", [("L4-L5", "right")])]  # fmt: skip
    assert superseded_on(D(2025, 1, 10), FIRST, others) == D(2025, 11, 2)


def test_a_later_treatment_ends_what_falls_due_after_it_and_on_its_day_what_is_still_owed():
    """6 months after 2025-01-10 falls due 2025-07-10 (grace to 2025-08-24)."""
    due = D(2025, 7, 10)
    status = functools.partial(timepoint_status, due, "6m", done=False, ended=False)
    assert status(today=D(2025, 6, 1), superseded_on=D(2025, 7, 1)) == "ended"  # due after the repeat
    assert status(today=D(2025, 6, 1), superseded_on=D(2025, 7, 20)) == "upcoming"  # repeat planned after it
    assert status(today=D(2025, 7, 15), superseded_on=D(2025, 7, 20)) == "overdue"  # still owed until then
    assert status(today=D(2025, 7, 20), superseded_on=D(2025, 7, 20)) == "ended"  # owed on the repeat's day
    assert status(today=D(2025, 9, 1), superseded_on=D(2025, 8, 25)) == "missed"  # missed before the repeat
    assert status(today=D(2025, 7, 20), superseded_on=D(2025, 7, 20), done=True) == "done"


def test_a_superseded_case_is_complete_even_after_missed_visits():
    """2w..3m done, 6m missed (grace to 2025-08-24), a repeat ablation on 2025-11-01: not lost, nothing owed."""
    before = state(DONE, D(2025, 10, 1))
    assert before.state == "lost"
    superseded = case_follow_up(D(2025, 1, 10), RFA, DONE, [], D(2025, 11, 1), D(2025, 11, 1))
    assert superseded == CaseFollowUp("complete", D(2025, 4, 10))
    planned = case_follow_up(D(2025, 1, 10), RFA, DONE, [], D(2025, 10, 1), D(2025, 11, 1))  # not yet
    assert planned == before


def test_a_superseded_case_still_counts_a_death_but_not_a_later_refusal():
    died = [("12m", D(2025, 12, 1), "died")]
    assert case_follow_up(D(2025, 1, 10), RFA, DONE, died, D(2026, 1, 1), D(2025, 11, 1)).state == "died"
    declined = [("12m", D(2025, 12, 1), "declined")]  # about the later case: this one had ended
    assert case_follow_up(D(2025, 1, 10), RFA, DONE, declined, D(2026, 1, 1), D(2025, 11, 1)).state == "complete"
    moved = [("6m", D(2025, 7, 1), "moved_away")]  # before the repeat: lost, as without it
    assert case_follow_up(D(2025, 1, 10), RFA, DONE, moved, D(2026, 1, 1), D(2025, 11, 1)).state == "lost"


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


def _case(
    day: str, procedure: str = "radiofrequency_ablation", *, mrn: str = "MRN-1001", **changes: Any
) -> dict[str, Any]:
    extra: dict[str, Any] = {"procedure_detail": "Trigger point injection"} if procedure == "other" else {}
    patient = {**make_case()["patient"], "mrn": mrn}
    return simple_case(day, procedure=procedure, cpt_codes=[], patient=patient, **extra, **changes)


RFA_OVERDUE, RFA_UPCOMING, LAMINECTOMY_DONE, RFA_SIGNED, BLOCK, OTHER_OVERDUE, OTHER_MISSED = range(7)


@pytest.fixture
def clinic(service: CaseService) -> list[str]:
    """Cases whose follow-ups fall due around TODAY, worked out by hand in each test (their numbers, in order),
    each of its own patient (a later case of the same patient may supersede an earlier one)."""
    return service.import_cases(case_file(
        _case("2025-03-30"),  # RFA: 3m due today (overdue, 0 days); 2w and 6w missed
        _case("2025-06-20", mrn="MRN-2002", surgeon="Dr. Priya Raman"),  # RFA: 2w due 2025-07-04 (upcoming)
        _case("2025-04-01", "laminectomy", mrn="MRN-2003",  # 3m due 2025-07-01, done early: not listed
              outcomes=[{"timepoint": "3m", "date": "2025-06-29", "odi": 20}]),
        _case("2024-12-30", mrn="MRN-2004", status="final", outside_policy_reason=POLICY_REASON),  # signed RFA: 6m
        _case("2025-06-16", "medial_branch_block", mrn="MRN-2005"),  # 2w due today
        _case("2025-05-10", "other", mrn="MRN-2006"),  # 6w due 2025-06-21 (overdue 9 days)
        _case("2025-06-01", "other", mrn="MRN-2007"),  # 2w due 2025-06-15 (overdue 15 days: missed, grace 14)
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


def test_states_in_bulk_equal_the_rule_case_by_case(service: CaseService, clinic: list[str]):
    """states() judges many cases by date comparisons and a mask summed in SQL; on every day of a year and a
    half it gives what case_follow_up gives each case from its record and its patient's other cases."""
    follow = FollowUpService(service)
    follow.record_outcome(clinic[RFA_SIGNED], OutcomeScore("12m", TODAY, nrs_back=2))  # after missing 2w..6m
    follow.record_attempt(clinic[RFA_SIGNED], FollowUpAttempt("6m", D(2025, 6, 1), "moved_away"))  # came back
    follow.record_attempt(clinic[RFA_OVERDUE], FollowUpAttempt("2w", D(2025, 4, 20), "declined"))
    follow.record_attempt(clinic[RFA_OVERDUE], FollowUpAttempt("6w", D(2025, 5, 20), "moved_away"))
    follow.record_attempt(clinic[OTHER_OVERDUE], FollowUpAttempt("6w", D(2025, 6, 25), "could_not_reach"))
    follow.record_attempt(clinic[BLOCK], FollowUpAttempt("2w", D(2025, 6, 29), "declined"))
    follow.record_attempt(clinic[LAMINECTOMY_DONE], FollowUpAttempt("6m", D(2025, 6, 10), "moved_away"))
    follow.record_attempt(clinic[LAMINECTOMY_DONE], FollowUpAttempt("6m", TODAY, "died"))
    later = service.import_cases(case_file(
        _case("2025-06-28", mrn="MRN-2002", levels=[{"level": "L4-L5", "side": "right"}]),  # supersedes
        _case("2025-06-05", mrn="MRN-2006", levels=[{"level": "L5-S1", "side": "right"}]),  # the other side
        _case("2025-06-25", "laminotomy", mrn="MRN-2006", levels=[{"level": "L5-S1", "side": "left"}]),  # does
        _case("2025-02-01", "medial_branch_block", mrn="MRN-2004"),  # a block after an ablation ends nothing
        _case("2025-06-15", "endoscopic_rhizotomy", mrn="MRN-2004",  # a rhizotomy, then a declined follow-up
              follow_up_attempts=[{"timepoint": "2w", "date": "2025-06-29", "result": "declined"}]),
    ))  # fmt: skip
    # Declined after the repeat of 2025-06-28: about the later case, the earlier one stays complete from then on.
    follow.record_attempt(clinic[RFA_UPCOMING], FollowUpAttempt("2w", D(2025, 6, 29), "declined"))
    schedule = follow.schedule()
    records = {view.id: view.record for view in service.get_cases(clinic + later)}
    assert len(records) == 12
    repeated = {
        case_id: superseded_on(r.procedure_date, [(lv.level, lv.side) for lv in r.levels],
                               [(o.procedure_date, o.procedure, [(lv.level, lv.side) for lv in o.levels])
                                for o in records.values() if o.patient.mrn == r.patient.mrn])
        for case_id, r in records.items()
    }  # fmt: skip
    assert sum(day is not None for day in repeated.values()) == 4  # RFA_UPCOMING, OTHER_OVERDUE, RFA_SIGNED, block
    for offset in range(-200, 400, 3):
        day = TODAY + dt.timedelta(days=offset)
        with service.db.read() as session:
            found = FollowUpService(service, today=lambda day=day: day).states(session, select(cases_t.c.id))
        expected = {
            case_id: case_follow_up(r.procedure_date, schedule.for_procedure(r.procedure),
                                    {o.timepoint: o.date for o in r.outcomes},
                                    [(a.timepoint, a.date, a.result) for a in r.follow_up_attempts], day,
                                    repeated[case_id])
            for case_id, r in records.items()
        }  # fmt: skip
        assert found == expected, day


def test_a_patient_who_comes_back_is_on_the_due_list_again(service: CaseService, clinic: list[str]):
    follow = FollowUpService(service)
    follow.record_attempt(clinic[RFA_OVERDUE], FollowUpAttempt("2w", D(2025, 4, 20), "moved_away"))
    assert RFA_OVERDUE not in _which(follow.due(), clinic)
    follow.record_outcome(clinic[RFA_OVERDUE], OutcomeScore("6w", D(2025, 5, 12), nrs_back=4))
    assert RFA_OVERDUE in _which(follow.due(), clinic)


def test_a_repeat_ablation_at_the_same_joint_ends_the_earlier_follow_up(service: CaseService, clinic: list[str]):
    """The patient of RFA_OVERDUE (3 months due today) had the left L5-S1 ablated again on 2025-06-10: the first
    ablation's 3 months and later are no longer owed, and missing 2 and 6 weeks does not make it lost."""
    follow = FollowUpService(service)
    [repeat] = service.import_cases(case_file(
        _case("2025-06-10", levels=[{"level": "L5-S1", "side": "left"}])))  # fmt: skip
    due = follow.due()
    assert RFA_OVERDUE not in _which([i for i in due if i.case_number in clinic], clinic)
    assert [(i.case_number, i.timepoint) for i in due if i.case_number == repeat] == [(repeat, "2w")]
    statuses = follow.case_timepoints(service.get_case(clinic[RFA_OVERDUE]))
    assert [status for _, _, status in statuses] == ["missed", "missed"] + ["ended"] * 7
    counts = {(row.procedure, row.surgeon): row for row in follow.counts()}
    assert counts["radiofrequency_ablation", "Dr. Amara Okafor"] == FollowUpCounts(
        "radiofrequency_ablation", "Dr. Amara Okafor", cases=3, complete=1, overdue=1, lost=1
    )  # RFA_OVERDUE complete (superseded), the repeat overdue (2w), RFA_SIGNED lost as before


def test_a_block_or_the_other_side_does_not_end_a_follow_up(service: CaseService, clinic: list[str]):
    follow = FollowUpService(service)
    before = _rows(follow.due(), clinic)
    service.import_cases(case_file(
        _case("2025-06-01", "medial_branch_block", mrn="MRN-2004"),  # after RFA_SIGNED, the same joints
        _case("2025-06-21", mrn="MRN-2002", levels=[{"level": "L5-S1", "side": "right"}]),  # RFA_UPCOMING: left
        _case("2025-06-21", mrn="MRN-9999"),  # another patient
    ))  # fmt: skip
    assert [row for row in _rows([i for i in follow.due() if i.case_number in clinic], clinic)] == before


def test_a_later_treatment_ends_only_what_falls_due_after_it(service: CaseService, clinic: list[str]):
    """OTHER_OVERDUE (2025-05-10): 6 weeks overdue since 2025-06-21 (grace to 2025-07-05), 3 months due
    2025-08-10. Asked on 2025-06-22 about a laminectomy at an overlapping joint dated 2025-06-25 (a later date
    than the day asked about: a changed clock), the list keeps the 6 weeks until that day and leaves out the 3
    months; from that day on, neither."""
    before = FollowUpService(service, today=lambda: D(2025, 6, 22))
    assert [i.timepoint for i in before.due(within_days=60) if i.case_number == clinic[OTHER_OVERDUE]] == ["6w", "3m"]
    service.import_cases(
        case_file(_case("2025-06-25", "laminectomy", mrn="MRN-2006", levels=[{"level": "L4-L5", "side": "left"}]))
    )
    assert [i.timepoint for i in before.due(within_days=60) if i.case_number == clinic[OTHER_OVERDUE]] == ["6w"]
    assert [s for _, _, s in before.case_timepoints(service.get_case(clinic[OTHER_OVERDUE]))] == [
        "missed",
        "overdue",
        "ended",
    ]
    on_the_day = FollowUpService(service, today=lambda: D(2025, 6, 25))
    assert [i for i in on_the_day.due(within_days=60) if i.case_number == clinic[OTHER_OVERDUE]] == []
    assert [s for _, _, s in on_the_day.case_timepoints(service.get_case(clinic[OTHER_OVERDUE]))] == [
        "missed",
        "ended",
        "ended",
    ]


def test_an_administrator_sees_no_follow_up_list_or_states(accounts: Database, clinic: list[str]):
    """Administrators do not view cases (contract): the due list, counts and states are refused and audited."""
    follow = _as(accounts, "admin")
    for attempt in (follow.due, follow.counts):
        with pytest.raises(NotPermitted):
            attempt()
    with accounts.read() as session, pytest.raises(NotPermitted):
        follow.states(session, select(cases_t.c.id))
    assert [e.action for e in audit.entries(accounts)[-3:]] == ["refused"] * 3
    assert _as(accounts, "quality").due() and _as(accounts, "admin").schedule().is_default
