"""caselog.dashboard on a small hand-made clinic through the real service, on SQLite and PostgreSQL.

Every expected number below is worked out by hand from the cases in `clinic`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

from caselog.accounts import AccountService, Action, Actor
from caselog.dashboard import DashboardService
from caselog.db.engine import Database
from caselog.errors import NotPermitted
from caselog.records import CaseFilter
from caselog.service import CaseService
from caselog.stats import Quartiles, wilson_interval
from tests.factories import TODAY, case_file, simple_case

RAMAN = "Dr. Priya Raman"
ALICE = {"mrn": "MRN-A", "family_name": "Иванова", "given_name": "Мария", "birth_date": "1955-05-05", "sex": "female"}
BORIS = {"mrn": "MRN-B", "family_name": "Kowalczyk", "given_name": "Boris", "birth_date": "1960-01-01", "sex": "male"}


def _case(day: str, procedure: str, levels: list[tuple[str, str]], minutes: int, **changes: Any) -> dict[str, Any]:
    return simple_case(
        day, procedure=procedure, levels=[{"level": lv, "side": side} for lv, side in levels], duration_minutes=minutes,
        **changes,
    )  # fmt: skip


def _hematoma(onset: str) -> dict[str, Any]:
    return {"category": "hematoma", "timing": "postoperative", "onset_date": onset, "clavien_dindo": "II"}


CLINIC = [
    # Alice, L4-L5: RFA both sides, a left-only RFA 180 days later, then a bilateral rhizotomy.
    _case("2024-01-10", "radiofrequency_ablation", [("L4-L5", "bilateral")], 40, patient=ALICE,
          outcomes=[{"timepoint": "baseline", "date": "2024-01-02", "nrs_back": 8, "nrs_leg": 4, "odi": 40},
                    {"timepoint": "6w", "date": "2024-02-21", "nrs_back": 3}]),
    _case("2024-07-08", "radiofrequency_ablation", [("L4-L5", "left")], 50, patient=ALICE,
          outcomes=[{"timepoint": "baseline", "date": "2024-07-01", "nrs_back": 7, "odi": 36}]),
    _case("2025-01-06", "endoscopic_rhizotomy", [("L4-L5", "bilateral")], 90, patient=ALICE),
    # Boris, L5-S1 right: a block, then an RFA by Dr. Raman followed up once, never repeated.
    _case("2024-02-01", "medial_branch_block", [("L5-S1", "right")], 20, patient=BORIS),
    _case("2024-03-01", "radiofrequency_ablation", [("L5-S1", "right")], 60, patient=BORIS, surgeon=RAMAN,
          complications=[_hematoma("2024-03-05")],
          outcomes=[{"timepoint": "baseline", "date": "2024-02-25", "nrs_back": 6, "odi": 30},
                    {"timepoint": "3m", "date": "2024-06-01", "nrs_back": 2, "odi": 20}]),
    # Boris, an open decompression with two complications.
    _case("2024-05-15", "laminectomy", [("L4-L5", "bilateral")], 150, patient=BORIS, surgeon=RAMAN,
          complications=[
              {"category": "dural_tear", "timing": "intraoperative", "onset_date": "2024-05-15",
               "clavien_dindo": "IIIb", "review_status": "under_review"},
              {"category": "urinary_retention", "timing": "postoperative", "onset_date": "2024-05-17",
               "clavien_dindo": "I", "review_status": "closed"},
          ]),
]  # fmt: skip


@pytest.fixture
def dashboard(service: CaseService) -> DashboardService:
    service.import_cases(case_file(*CLINIC))
    return DashboardService(service, today=lambda: TODAY)


def test_cases_per_month_fill_empty_months_with_zeros(dashboard: DashboardService) -> None:
    got = dashboard.cases_per_month()
    assert got.months[0] == dt.date(2024, 1, 1) and got.months[-1] == dt.date(2025, 1, 1)
    assert len(got.months) == 13
    assert got.procedures == ("endoscopic_rhizotomy", "radiofrequency_ablation", "medial_branch_block", "laminectomy")
    assert got.count(dt.date(2024, 1, 1), "radiofrequency_ablation") == 1
    assert got.count(dt.date(2024, 6, 1), "radiofrequency_ablation") == 0
    table = got.table()
    assert table.columns[0] == "Month" and table.columns[-1] == "All"
    assert table.rows[0] == ("2024-01", 0, 1, 0, 0, 1)
    assert table.rows[4] == ("2024-05", 0, 0, 0, 1, 1)
    assert sum(row[-1] for row in table.rows) == 6  # type: ignore[misc]


def test_complication_rate_counts_cases_not_events(dashboard: DashboardService) -> None:
    rows = {r.procedure: r for r in dashboard.complication_rates().rows}
    rfa = rows["radiofrequency_ablation"]
    assert (rfa.cases, rfa.cases_with_complications, rfa.complications) == (3, 1, 1)
    assert rfa.rate.proportion == pytest.approx(1 / 3)
    assert (rfa.rate.lower, rfa.rate.upper) == pytest.approx(wilson_interval(1, 3))
    lam = rows["laminectomy"]
    assert (lam.cases, lam.cases_with_complications, lam.complications, lam.rate.proportion) == (1, 1, 2, 1.0)
    assert rows["medial_branch_block"].rate.proportion == 0.0
    assert dashboard.complication_rates().table().rows[1][:5] == ("Radiofrequency ablation (facet medial branch)",
                                                                  3, 1, 1, 33.3)  # fmt: skip


def test_durations_are_type_7_quartiles_per_procedure(dashboard: DashboardService) -> None:
    rows = {r.procedure: r.minutes for r in dashboard.durations().rows}
    assert rows["radiofrequency_ablation"] == Quartiles(3, 40, 45, 50, 55, 60)
    assert rows["laminectomy"] == Quartiles(1, 150, 150, 150, 150, 150)
    assert len(rows) == 4


def test_pain_scores_by_procedure_timepoint_and_measure(dashboard: DashboardService) -> None:
    scores = dashboard.pain_scores()
    rfa = "radiofrequency_ablation"
    assert scores.get(rfa, "baseline", "nrs_back") == Quartiles(3, 6, 6.5, 7, 7.5, 8)
    assert scores.get(rfa, "baseline", "odi") == Quartiles(3, 30, 33, 36, 38, 40)
    assert scores.get(rfa, "baseline", "nrs_leg") == Quartiles(1, 4, 4, 4, 4, 4)
    assert scores.get(rfa, "6w", "nrs_back").median == 3
    assert scores.get(rfa, "3m", "odi").median == 20
    assert scores.get(rfa, "3m", "nrs_leg").n == 0  # never recorded: absent, not zero
    assert [(r.timepoint, r.measure) for r in scores.rows] == [
        ("baseline", "nrs_back"), ("baseline", "nrs_leg"), ("baseline", "odi"), ("6w", "nrs_back"),
        ("3m", "nrs_back"), ("3m", "odi"),
    ]  # fmt: skip


def test_durability_follows_each_side_to_its_next_treatment(dashboard: DashboardService) -> None:
    rfa = dashboard.durability().curve("radiofrequency_ablation")
    assert rfa is not None
    # Alice's bilateral RFA: left repeated by the left RFA after 180 days, right by the rhizotomy after 362;
    # her left RFA repeated by the rhizotomy after 182; Boris's RFA censored at his 3-month visit (92 days).
    assert (rfa.n, rfa.patients, rfa.repeats, rfa.censored) == (4, 2, 3, 1)
    steps = [(s.time, s.at_risk, s.events, s.censored) for s in rfa.curve.steps]
    assert steps == [(92, 4, 0, 1), (180, 3, 1, 0), (182, 2, 1, 0), (362, 1, 1, 0)]
    assert [round(s.survival, 4) for s in rfa.curve.steps] == [1.0, 0.6667, 0.3333, 0.0]
    assert rfa.median_days == 182 and rfa.median_months == 6.0
    # Read at 5 years too, where the rhizotomy's claim is tested.
    assert [(a.months, a.days, a.at_risk) for a in rfa.at_risk] == [(6, 183, 1), (12, 365, 0), (24, 730, 0),
                                                                      (36, 1096, 0), (60, 1826, 0)]  # fmt: skip
    # Boris's follow-up is lost (the 6-month visit missed, none after it): his side is the one lost.
    assert (rfa.lost, rfa.died, rfa.no_contact) == (1, 0, 0)


def test_durability_censors_a_side_nobody_saw_again_at_day_0_not_today(dashboard: DashboardService) -> None:
    """Alice's rhizotomy has no follow-up outcome and no later case: censoring it on TODAY (175 days) would count
    half a year of relief nobody observed. Censored at day 0, it adds nothing to the curve and is counted as
    never seen again (and lost: every visit since was missed)."""
    rhizotomy = dashboard.durability().curve("endoscopic_rhizotomy")
    assert rhizotomy is not None
    assert [(s.time, s.at_risk, s.censored) for s in rhizotomy.curve.steps] == [(0, 2, 2)]
    assert rhizotomy.median_days is None and rhizotomy.median_months is None
    assert (rhizotomy.lost, rhizotomy.died, rhizotomy.no_contact) == (2, 0, 2)
    table = dashboard.durability().table()
    assert table.rows[0][:8] == ("Endoscopic rhizotomy (facet medial branch)", 2, 1, 0, 2, 2, 0, 2)


def test_surgeon_filter_applies_to_every_chart(dashboard: DashboardService) -> None:
    board = dashboard.build(CaseFilter(surgeon=RAMAN))
    assert board.cases == 2
    assert sum(c.cases for c in board.cases_per_month.counts) == 2
    assert [r.procedure for r in board.complication_rates.rows] == ["radiofrequency_ablation", "laminectomy"]
    rfa = board.durability.curve("radiofrequency_ablation")
    assert rfa is not None and (rfa.n, rfa.repeats) == (1, 0)
    assert board.durability.curve("endoscopic_rhizotomy") is None


def test_date_range_chooses_index_cases_but_repeats_come_from_all_cases(dashboard: DashboardService) -> None:
    board = dashboard.build(CaseFilter(date_from=dt.date(2024, 1, 1), date_to=dt.date(2024, 3, 31)))
    assert board.cases == 3
    assert board.cases_per_month.months == (dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1))
    rfa = board.durability.curve("radiofrequency_ablation")
    assert rfa is not None
    assert [(s.time, s.events, s.censored) for s in rfa.curve.steps] == [(92, 0, 1), (180, 1, 0), (362, 1, 0)]


def test_a_date_range_without_cases_shows_its_months_as_zeros(dashboard: DashboardService) -> None:
    got = dashboard.cases_per_month(CaseFilter(date_from=dt.date(2023, 1, 1), date_to=dt.date(2023, 2, 15)))
    assert got.months == (dt.date(2023, 1, 1), dt.date(2023, 2, 1)) and got.procedures == () and got.counts == ()


def test_build_collects_every_table(dashboard: DashboardService) -> None:
    board = dashboard.build()
    titles = [t.title for t in board.tables()]
    # Four charts, then durability: summary, relief, claims, log-rank, and each curve and its sensitivity curve.
    assert len(titles) == 12 and titles[0] == "Cases per month"
    assert all(len(row) == len(t.columns) for t in board.tables() for row in t.rows)


def test_an_empty_database_gives_empty_results(service: CaseService) -> None:
    board = DashboardService(service, today=lambda: TODAY).build()
    assert board.cases == 0
    assert board.cases_per_month.months == () and board.cases_per_month.table().rows == ()
    assert board.complication_rates.rows == () and board.durations.rows == () and board.pain_scores.rows == ()
    assert board.durability.curves == () and board.durability.comparison is None
    claims = board.durability.claims_table()
    # The claims are listed whatever the data, with nothing beside them: no sides, no figures.
    assert [row[3:] for row in claims.rows] == [(0, *[None] * 9)] * 2
    assert all(t.rows == () for t in board.tables() if t.title != claims.title)


def test_an_administrator_may_not_see_the_dashboard(db: Database) -> None:
    CaseService(db, today=lambda: TODAY).import_cases(case_file(*CLINIC))
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password="correct horse 1")
    admin = CaseService(db, actor=Actor("boss", "Clinic Admin", "admin"), today=lambda: TODAY)
    with pytest.raises(NotPermitted):
        DashboardService(admin).build()
    with pytest.raises(NotPermitted):
        DashboardService(admin).durability()
    nobody = CaseService(db, today=lambda: TODAY)
    with pytest.raises(NotPermitted):
        DashboardService(nobody).pain_scores()  # accounts exist: signing in is required
    quality = CaseService(db, actor=Actor("quinn", "Quinn Avery", "quality"), today=lambda: TODAY)
    assert DashboardService(quality, today=lambda: TODAY).build().cases == 6


@contextlib.contextmanager
def case_reads(db: Database) -> Iterator[list[str]]:
    """The SQL statements that read the cases table while the block runs."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if re.search(r"\b(FROM|JOIN)\s+cases\b", statement, re.IGNORECASE):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def counted_checks(service: CaseService) -> list[Action]:
    """Every roles-table check the service makes from now on (it still checks); `count` may no longer be called,
    so a discarded COUNT cannot stand in for the check."""
    checks: list[Action] = []
    check = service._require

    def counting(action: Action, **kwargs: Any) -> None:
        checks.append(action)
        check(action, **kwargs)

    def no_count(*_: Any, **__: Any) -> int:
        raise AssertionError("a read model called CaseService.count")

    service._require = counting  # type: ignore[method-assign]
    service.count = no_count  # type: ignore[method-assign]
    return checks


def test_a_refused_dashboard_reads_no_case_and_checks_once(db: Database) -> None:
    """The right is checked by the service before any query, once: no discarded COUNT stands in for the check."""
    CaseService(db, today=lambda: TODAY).import_cases(case_file(*CLINIC))
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password="correct horse 1")
    admin = CaseService(db, actor=Actor("boss", "Clinic Admin", "admin"), today=lambda: TODAY)
    refused = counted_checks(admin)
    with case_reads(db) as reads, pytest.raises(NotPermitted):
        DashboardService(admin).build()
    assert reads == [] and refused == [Action.VIEW]
    quality = CaseService(db, actor=Actor("quinn", "Quinn Avery", "quality"), today=lambda: TODAY)
    checks = counted_checks(quality)
    assert DashboardService(quality, today=lambda: TODAY).build().cases == 6
    assert checks == [Action.VIEW]
