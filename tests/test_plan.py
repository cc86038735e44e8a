"""The case summary's next follow-up: the clinic's schedule for the procedure and the case's own follow-up (done,
missed, ended by a final attempt or by a later treatment), so the summary says what the desk and the due list say.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from caselog.followup import FollowUpService, default_schedule
from caselog.records import FollowUpAttempt, OutcomeScore, TreatedLevel
from caselog.reports import write_case_summaries
from caselog.reports.pathway import pathways_for
from caselog.reports.plan import next_follow_up, next_follow_up_text
from caselog.service import CaseService
from tests.factories import case_file, simple_case
from tests.test_reports import GENERATED, OUTCOMES, SETTINGS, flat, make_view, pages_text

D = dt.date
JULY = D(2025, 7, 1)  # GENERATED's day: the RFA of 2025-03-14 is 3.5 months old


def _next(today: dt.date = JULY, **changes: object) -> tuple[str, dt.date, bool] | None:
    others = changes.pop("others", ())
    schedule = changes.pop("schedule", None)
    record = make_view(**changes).record  # type: ignore[arg-type]
    return next_follow_up(record, today, schedule=schedule, others=others)  # type: ignore[arg-type]


def test_the_next_timepoint_not_done_that_is_still_owed():
    """2 weeks was never recorded (missed: its grace ended in April); 6 weeks and 3 months are done."""
    assert _next(outcomes=OUTCOMES) == ("6m", D(2025, 9, 14), False)
    assert next_follow_up_text(_next(outcomes=OUTCOMES)) == "Next outcome scores due at 6 months."


def test_a_missed_timepoint_is_not_the_next_one():
    """Nothing recorded at all: on 10 July 2w, 6w and 3m (due 2025-06-14, grace to 2025-07-06) are past their
    grace windows; the next owed is 6 months (the old summary said 2 weeks)."""
    assert _next(D(2025, 7, 10)) == ("6m", D(2025, 9, 14), False)


def test_an_overdue_follow_up_says_so_with_its_due_date():
    found = _next(D(2025, 6, 20), outcomes=OUTCOMES[:2])  # 3m due 2025-06-14, grace to 2025-07-06
    assert found == ("3m", D(2025, 6, 14), True)
    assert next_follow_up_text(found) == "Outcome scores at 3 months are overdue (due 2025-06-14)."


def test_the_clinics_schedule_decides_what_is_owed():
    """A block owes only its 2-week check; a laminectomy ends at 24 months; an RFA goes on to 36; a clinic that
    changed its schedule is followed."""
    assert _next(D(2025, 3, 20), procedure="medial_branch_block") == ("2w", D(2025, 3, 28), False)
    assert _next(procedure="medial_branch_block") is None
    at_two_years = (*OUTCOMES, OutcomeScore("24m", D(2027, 3, 14), nrs_back=2))
    assert _next(D(2027, 4, 1), procedure="laminectomy", outcomes=at_two_years) is None
    assert _next(D(2027, 4, 1), outcomes=at_two_years) == ("36m", D(2028, 3, 14), False)
    yearly = default_schedule().with_procedure("radiofrequency_ablation", ["12m"])
    assert _next(outcomes=OUTCOMES, schedule=yearly) == ("12m", D(2026, 3, 14), False)


@pytest.mark.parametrize(("result", "expected"), [("moved_away", None), ("declined", None), ("died", None),
                                                  ("could_not_reach", ("6m", D(2025, 9, 14), False))])  # fmt: skip
def test_nothing_after_a_final_attempt(result: str, expected: object):
    attempts = (FollowUpAttempt("3m", D(2025, 6, 20), result),)
    assert _next(outcomes=OUTCOMES, follow_up_attempts=attempts) == expected


def test_nothing_after_a_later_treatment_at_an_overlapping_joint_but_a_block_ends_nothing():
    repeat = (D(2025, 6, 1), "radiofrequency_ablation", (TreatedLevel("L4-L5", "right"),))
    block = (D(2025, 6, 1), "medial_branch_block", (TreatedLevel("L4-L5", "bilateral"),))
    other_side = (D(2025, 6, 1), "laminotomy", (TreatedLevel("L5-S1", "right"),))
    assert _next(outcomes=OUTCOMES, others=[repeat]) is None
    assert _next(outcomes=OUTCOMES, others=[block, other_side]) == ("6m", D(2025, 9, 14), False)


def _summary_text(views: list, tmp_path: Path, service: CaseService) -> list[str]:  # type: ignore[type-arg]
    out = tmp_path / "summaries.pdf"
    pathways = pathways_for(views, service.patient_pathway)
    schedule = FollowUpService(service).schedule()
    write_case_summaries(views, out, settings=SETTINGS, generated_at=GENERATED, pathways=pathways,
                         follow_up_schedule=schedule)  # fmt: skip
    return [flat(page) for page in pages_text(out)]


def test_the_printed_summary_agrees_with_the_desk(service: CaseService, tmp_path: Path):
    """Printed with the patient's pathway and the clinic's schedule: the first ablation, repeated at L4-L5 on
    2025-06-01, owes nothing more; the repeat owes its 6 weeks, as FollowUpService.case_timepoints says."""
    follow = FollowUpService(service, today=lambda: GENERATED.date())
    follow.set_schedule(follow.schedule().with_procedure("radiofrequency_ablation", ["6w", "12m"]))
    first, repeat = service.import_cases(case_file(
        simple_case("2025-03-14", procedure="radiofrequency_ablation", cpt_codes=[]),
        simple_case("2025-06-01", procedure="radiofrequency_ablation", cpt_codes=[],
                    levels=[{"level": "L4-L5", "side": "left"}]),
    ))  # fmt: skip
    views = service.get_cases([first, repeat])
    first_page, repeat_page = _summary_text(views, tmp_path, service)
    assert [s for _, _, s in follow.case_timepoints(views[0])] == ["missed", "ended"]
    assert "Next outcome scores" not in first_page and "overdue (due" not in first_page
    assert [(tp, s) for tp, _, s in follow.case_timepoints(views[1])] == [("6w", "upcoming"), ("12m", "upcoming")]
    assert "Next outcome scores due at 6 weeks." in repeat_page


def test_a_summary_printed_without_the_patients_cases_still_follows_the_schedule(tmp_path: Path):
    out = tmp_path / "one.pdf"
    block = dataclasses.replace(make_view(procedure="medial_branch_block"))
    write_case_summaries([block], out, settings=SETTINGS, generated_at=GENERATED)
    assert "Next outcome scores" not in flat(pages_text(out)[0])  # its 2 weeks were missed in March
