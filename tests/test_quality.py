"""caselog.quality: the complications list's filters, sorting and open-review count, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest

from caselog.accounts import AccountService, Action, Actor
from caselog.db.engine import Database
from caselog.errors import NotPermitted
from caselog.quality import (
    ComplicationEntry,
    ComplicationFilter,
    cases_by_procedure,
    count_complications,
    list_complications,
    review_counts,
)
from caselog.service import CaseService
from tests.factories import TODAY, case_file
from tests.test_dashboard import CLINIC, RAMAN, case_reads, counted_checks


@pytest.fixture
def clinic(service: CaseService) -> CaseService:
    service.import_cases(case_file(*CLINIC))
    return service


def _keys(entries: list[ComplicationEntry]) -> list[tuple[str, int]]:
    return [(e.case_number, e.position) for e in entries]


def test_one_row_per_complication_with_its_case(clinic: CaseService) -> None:
    rows = list_complications(clinic)
    assert _keys(rows) == [("2024-00004", 0), ("2024-00005", 0), ("2024-00005", 1)]
    hematoma, dural_tear, _ = rows
    assert (hematoma.procedure, hematoma.surgeon, hematoma.levels_text) == ("radiofrequency_ablation", RAMAN,
                                                                            "L5-S1 right")  # fmt: skip
    assert (hematoma.category, hematoma.clavien_dindo, hematoma.timing) == ("hematoma", "II", "postoperative")
    assert (hematoma.onset_date, hematoma.procedure_date) == (dt.date(2024, 3, 5), dt.date(2024, 3, 1))
    assert (hematoma.review_status, hematoma.review_notes, hematoma.resolved_date) == ("open", None, None)
    assert dural_tear.category_label == "Dural tear / CSF leak" and dural_tear.review_status_label == "Under review"


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (ComplicationFilter(category="hematoma"), [("2024-00004", 0)]),
        (ComplicationFilter(clavien_dindo="IIIb"), [("2024-00005", 0)]),
        (ComplicationFilter(timing="postoperative"), [("2024-00004", 0), ("2024-00005", 1)]),
        (ComplicationFilter(review_status="closed"), [("2024-00005", 1)]),
        (ComplicationFilter(procedure="laminectomy"), [("2024-00005", 0), ("2024-00005", 1)]),
        (ComplicationFilter(surgeon="Dr. Amara Okafor"), []),
        (ComplicationFilter(date_from=dt.date(2024, 5, 1)), [("2024-00005", 0), ("2024-00005", 1)]),
        (ComplicationFilter(date_to=dt.date(2024, 4, 30)), [("2024-00004", 0)]),
        (ComplicationFilter(surgeon=RAMAN, timing="intraoperative", review_status="under_review"),
         [("2024-00005", 0)]),
    ],
)  # fmt: skip
def test_filters_narrow_the_list(clinic: CaseService, f: ComplicationFilter, expected: list[tuple[str, int]]) -> None:
    assert _keys(list_complications(clinic, f)) == expected
    assert count_complications(clinic, f) == len(expected)


def test_grades_sort_by_severity_not_alphabet(clinic: CaseService) -> None:
    worst_first = list_complications(clinic, sort="clavien_dindo", descending=True)
    assert [e.clavien_dindo for e in worst_first] == ["IIIb", "II", "I"]
    by_review = list_complications(clinic, sort="review_status")
    assert [e.review_status for e in by_review] == ["open", "under_review", "closed"]


def test_paging_and_unknown_sort_keys(clinic: CaseService) -> None:
    assert _keys(list_complications(clinic, sort="onset_date", offset=1, limit=1)) == [("2024-00005", 0)]
    with pytest.raises(ValueError):
        list_complications(clinic, sort="patient")


def test_open_reviews_are_counted_and_a_review_moves_them(clinic: CaseService) -> None:
    assert review_counts(clinic) == {"open": 1, "under_review": 1, "closed": 1}
    assert review_counts(clinic)["open"] == 1
    clinic.set_review("2024-00004", 0, review_status="closed", notes="Self-limiting; no action needed.")
    assert review_counts(clinic)["open"] == 0
    closed = list_complications(clinic, ComplicationFilter(review_status="closed"), sort="case_number")
    assert [(e.case_number, e.review_notes) for e in closed] == [
        ("2024-00004", "Self-limiting; no action needed."), ("2024-00005", None),
    ]  # fmt: skip


def test_an_empty_database_lists_nothing(service: CaseService) -> None:
    assert list_complications(service) == []
    assert review_counts(service)["open"] == 0 and count_complications(service) == 0


def test_an_administrator_may_not_see_complications(db: Database) -> None:
    CaseService(db, today=lambda: TODAY).import_cases(case_file(*CLINIC))
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password="correct horse 1")
    admin = CaseService(db, actor=Actor("boss", "Clinic Admin", "admin"), today=lambda: TODAY)
    with pytest.raises(NotPermitted):
        list_complications(admin)
    with pytest.raises(NotPermitted):
        review_counts(admin)


def test_a_refused_complications_list_reads_no_case_and_checks_once(db: Database) -> None:
    """The right is checked by the service before any query, once: no discarded COUNT stands in for the check."""
    CaseService(db, today=lambda: TODAY).import_cases(case_file(*CLINIC))
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password="correct horse 1")
    admin = CaseService(db, actor=Actor("boss", "Clinic Admin", "admin"), today=lambda: TODAY)
    refused = counted_checks(admin)
    readers = (list_complications, count_complications, review_counts, cases_by_procedure)
    with case_reads(db) as reads:
        for read in readers:
            with pytest.raises(NotPermitted):
                read(admin)
    assert reads == [] and refused == [Action.VIEW] * len(readers)
    quality = CaseService(db, actor=Actor("quinn", "Quinn Avery", "quality"), today=lambda: TODAY)
    checks = counted_checks(quality)
    assert len(list_complications(quality)) == 3
    assert checks == [Action.VIEW]
