"""The follow-up desk's counts read the cases a slice of ids at a time (issue 18: a million cases' states held
at once took 350 MB): the counts are the same whatever the slice, filtered or not, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from caselog import followup
from caselog.db.engine import Database
from caselog.demo import generate_cases
from caselog.followup import FollowUpService
from caselog.records import CaseFilter
from caselog.service import CaseService
from tests.factories import TODAY


@pytest.mark.parametrize("case_filter", [CaseFilter(), CaseFilter(surgeon="Dr. Priya Raman")])
def test_counts_read_in_slices_equal_counts_read_at_once(
    db: Database, monkeypatch: pytest.MonkeyPatch, case_filter: CaseFilter
) -> None:
    service = CaseService(db, today=lambda: TODAY)
    service.add_records(generate_cases(400, seed=11, until=TODAY, years=3))
    follow = FollowUpService(service)
    monkeypatch.setattr(followup, "COUNTS_PER_READ", 10**9)
    at_once = follow.counts(case_filter)
    monkeypatch.setattr(followup, "COUNTS_PER_READ", 7)  # many slices, most not a multiple of anything
    sliced = follow.counts(case_filter)
    assert sliced == at_once
    assert sum(row.cases for row in sliced) == service.count(case_filter) > 0
    states = {state for row in sliced for state in ("complete", "overdue", "lost", "died") if getattr(row, state)}
    assert len(states) >= 2, states  # cases in different states, spread over the slices


def test_counts_of_an_empty_database_are_empty(db: Database) -> None:
    assert FollowUpService(CaseService(db, today=lambda: TODAY)).counts() == []
