"""The dashboard counted by the database gives the same numbers as counting every case in Python (issue 18).

A demo clinic of a few thousand cases, on SQLite and PostgreSQL: every figure of `DashboardService.build` and
the MCID shares, for each of the contract's filters and for a `today` that leaves later cases in the future, is
compared with tests/helpers/dashboard_reference.py (the straightforward Python path, durability as it was
computed before) to 1e-9. The follow-up states the durability figures count (lost, died) are compared case by
case with `FollowUpService.states`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any

import pytest
from sqlalchemy import case, null, select

from caselog import dashboard_counts
from caselog.dashboard import DashboardService
from caselog.db import store
from caselog.db.engine import Database
from caselog.demo import generate_cases
from caselog.followup import DIED, LOST, FollowUpService, censoring_state
from caselog.outcomes import read_mcid_shares
from caselog.records import CaseFilter
from caselog.service import CaseService
from tests.factories import case_file, make_case, simple_case
from tests.helpers import dashboard_reference as reference

UNTIL = dt.date(2026, 6, 30)
CASES = 2500


def same(new: Any, old: Any, where: str = "") -> None:
    """Equal, floats to 1e-9 (absolute or relative), walking dataclasses, tuples, lists and dicts."""
    if dataclasses.is_dataclass(new) and not isinstance(new, type):
        assert type(new) is type(old), where
        for f in dataclasses.fields(new):
            same(getattr(new, f.name), getattr(old, f.name), f"{where}.{f.name}")
    elif isinstance(new, list | tuple):
        assert len(new) == len(old), f"{where}: {len(new)} items against {len(old)}"
        for i, (a, b) in enumerate(zip(new, old, strict=True)):
            same(a, b, f"{where}[{i}]")
    elif isinstance(new, dict):
        assert new.keys() == old.keys(), where
        for key in new:
            same(new[key], old[key], f"{where}[{key!r}]")
    elif isinstance(new, float) and isinstance(old, float | int):
        assert math.isclose(new, old, rel_tol=1e-9, abs_tol=1e-9) or (math.isnan(new) and math.isnan(old)), where
    else:
        assert new == old, f"{where}: {new!r} against {old!r}"


def _case(day: str, procedure: str, mrn: str, levels: list[tuple[str, str]], **changes: Any) -> dict[str, Any]:
    patient = {**make_case()["patient"], "mrn": mrn}
    return simple_case(day, procedure=procedure, cpt_codes=[], patient=patient,
                       levels=[{"level": level, "side": side} for level, side in levels], **changes)  # fmt: skip


def _seen(*visits: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"timepoint": tp, "date": day, "nrs_back": 4} for tp, day in visits]


def _tried(timepoint: str, day: str, result: str) -> list[dict[str, Any]]:
    return [{"timepoint": timepoint, "date": day, "result": result, "note": None}]


RFA, RHIZOTOMY, LAMINECTOMY = "radiofrequency_ablation", "endoscopic_rhizotomy", "laminectomy"
#: Patients the demo may not make, each breaking one rule of the count tables if it were got wrong.
EDGES = [
    # Moved away after a laminectomy at the same joint had ended the RFA's follow-up: not lost (the attempt is
    # about the later case); a decline before the next one: lost.
    _case(
        "2020-01-10",
        RFA,
        "EDGE-1",
        [("L4-L5", "left")],
        outcomes=_seen(("baseline", "2020-01-05"), ("2w", "2020-01-24")),
        follow_up_attempts=_tried("6m", "2020-09-01", "moved_away"),
    ),
    _case("2020-06-01", LAMINECTOMY, "EDGE-1", [("L4-L5", "left")]),
    _case("2020-01-10", RFA, "EDGE-2", [("L3-L4", "right")], follow_up_attempts=_tried("2w", "2020-01-30", "declined")),
    _case("2020-06-01", LAMINECTOMY, "EDGE-2", [("L3-L4", "bilateral")]),
    # Bilateral, then the left again on the same day (one treatment), the right a year later: the right side
    # repeats, the left is censored at the patient's last case.
    _case("2019-03-04", RFA, "EDGE-3", [("L5-S1", "bilateral")]),
    _case("2019-03-04", RHIZOTOMY, "EDGE-3", [("L5-S1", "left")]),
    _case("2020-03-02", RFA, "EDGE-3", [("L5-S1", "right")]),
    # Declined, then came back for a follow-up: followed again; a death recorded on another case of the patient.
    _case(
        "2018-05-05",
        RHIZOTOMY,
        "EDGE-4",
        [("L4-L5", "bilateral")],
        outcomes=_seen(("6m", "2018-11-20")),
        follow_up_attempts=_tried("6w", "2018-06-20", "declined"),
    ),
    _case(
        "2019-05-05",
        "medial_branch_block",
        "EDGE-4",
        [("C5-C6", "left")],
        follow_up_attempts=_tried("2w", "2019-05-19", "died"),
    ),
]


@pytest.fixture
def clinic(db: Database) -> CaseService:
    service = CaseService(db, today=lambda: UNTIL)
    service.add_records(generate_cases(CASES, seed=11, until=UNTIL, years=8))
    service.import_cases(case_file(*EDGES))
    return service


def _filters(service: CaseService) -> dict[str, CaseFilter]:
    surgeon = service.surgeons()[0]
    return {
        "none": CaseFilter(),
        "surgeon": CaseFilter(surgeon=surgeon),
        "procedure": CaseFilter(procedure="radiofrequency_ablation"),
        "level": CaseFilter(level="L4-L5"),
        "dates": CaseFilter(date_from=dt.date(2021, 1, 1), date_to=dt.date(2023, 6, 30)),
        "surgeon and dates": CaseFilter(surgeon=surgeon, date_from=dt.date(2022, 3, 1)),
        "level and procedure": CaseFilter(level="L5-S1", procedure="endoscopic_rhizotomy"),
    }


def test_every_dashboard_figure_counted_in_the_database_matches_counting_every_case(clinic: CaseService) -> None:
    """Cases per month, complication rates, durations, pain scores, MCID shares and durability (curves, bands,
    lost and died, sensitivity, log-rank, claims) for each filter, as of the demo's last day and as of a day
    about two years earlier (later cases then lie in the future, as after a clock change)."""
    for today in (UNTIL, dt.date(2024, 5, 17)):
        board = DashboardService(clinic, today=lambda today=today: today)
        for name, f in _filters(clinic).items():
            new = board.build(f)
            found = reference.records(clinic, f)
            assert new.cases == len(found), name
            same(new.cases_per_month, reference.cases_per_month(found, f, today), f"{name}: cases per month")
            same(new.complication_rates, reference.complication_rates(found), f"{name}: complications")
            same(new.durations, reference.durations(found), f"{name}: durations")
            same(new.pain_scores, reference.pain_scores(found), f"{name}: pain scores")
            same(read_mcid_shares(clinic, f), reference.mcid_shares(found), f"{name}: MCID shares")
            old = reference.durability(clinic, f, today)
            same(new.durability, old, f"{name} on {today}: durability")
            if name == "none":
                assert {c.procedure for c in new.durability.curves} == {"radiofrequency_ablation",
                                                                        "endoscopic_rhizotomy"}  # fmt: skip
                assert all(c.repeats and c.lost and c.no_contact for c in new.durability.curves), name
                assert sum(c.died for c in new.durability.curves), name


def test_pain_scores_read_in_batches_with_a_small_cache_or_from_the_columns_match_counting_every_case(
    clinic: CaseService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The packed pain scores are streamed a batch at a time with a bounded cache of unpacked keys (a year at a
    million cases held 45 MB as one list); a key out of range (a score no check constraint kept out) sends the count
    to the plain columns. Each way counts what counting every case does."""
    board = DashboardService(clinic, today=lambda: UNTIL)
    f = CaseFilter(procedure="radiofrequency_ablation")
    found = reference.records(clinic, f)
    batches = dashboard_counts.row_batches
    monkeypatch.setattr(dashboard_counts, "UNPACKED_KEYS", 3)
    monkeypatch.setattr(dashboard_counts, "row_batches", lambda session, stmt: batches(session, stmt, 7))
    same(board.build(f).pain_scores, reference.pain_scores(found), "batches of 7, 3 keys kept")
    first = dashboard_counts._digit

    def out_of_range(column: Any, low: int, high: int) -> Any:  # nrs_back 7 as if outside its range
        return first(column, low, high) if column.name != "nrs_back" else first(column, low, high).op("+")(
            case((column == 7, null()), else_=0))  # fmt: skip

    clean_batches: list[int] = []

    def out_of_range_last(session: Any, stmt: Any) -> Any:  # rows already counted when the key out of range comes
        rows = [row for rows in batches(session, stmt) for row in rows]
        rows.sort(key=lambda row: row[-2] is None)
        for start in range(0, len(rows), 7):
            part = rows[start : start + 7]
            clean_batches.append(all(row[-2] is not None for row in part))
            yield part

    monkeypatch.setattr(dashboard_counts, "_digit", out_of_range)
    monkeypatch.setattr(dashboard_counts, "row_batches", out_of_range_last)
    assert any(o.nrs_back == 7 for r in found for o in r.outcomes), "the fallback is exercised"
    same(board.build(f).pain_scores, reference.pain_scores(found), "from the columns")
    assert clean_batches[0] and not clean_batches[-1], "some rows were counted before the fallback"


def test_lost_and_died_as_sql_match_the_follow_up_states_case_by_case(clinic: CaseService) -> None:
    """`censoring_state` says lost and died for exactly the cases `FollowUpService.states` does, as of several
    days, including days that leave a later treatment in the future."""
    c = store.cases_t.c
    for today in (UNTIL, dt.date(2024, 5, 17), dt.date(2022, 1, 3)):
        states = FollowUpService(clinic, today=lambda today=today: today).states
        with clinic.reading() as session:
            expected = {case_id: s.state for case_id, s in states(session, select(c.id)).items()}
            found = dict(session.execute(select(c.id, censoring_state(session, today))).all())
        named = {LOST: "lost", DIED: "died"}
        as_states = {case_id: named.get(state, "followed") for case_id, state in found.items()}
        assert as_states == {i: s if s in ("lost", "died") else "followed" for i, s in expected.items()}, today
        assert {"lost", "died"} <= set(as_states.values())
