"""`caselog demo` at a network's scale (issue 18): a large count spreads over years and sites, comes as a stream,
and is stored all or nothing. Small counts here: the network's thresholds are lowered for the test."""

from __future__ import annotations

import collections
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from caselog import audit, commands, demo
from caselog.cli import main
from caselog.db.engine import Database
from caselog.db.schema import open_database
from caselog.errors import InvalidInput
from caselog.service import CaseService
from caselog.validation import case_number_key

UNTIL = dt.date(2025, 6, 30)


@pytest.fixture
def small_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """A network from 1,000 cases on, 200 a year at most, 50 a year a site: 3,000 cases are 15 years, 4 sites."""
    monkeypatch.setattr(demo, "NETWORK_FROM", 1000)
    monkeypatch.setattr(demo, "MAX_CASES_A_YEAR", 200)
    monkeypatch.setattr(demo, "CASES_PER_SITE_YEAR", 50)


def _state(db: Database) -> dict[str, Any]:
    """What a failed demo must leave as it was: every case, counter and audit entry."""
    with db.read() as session:
        return {
            "cases": session.execute(text("SELECT case_number, version FROM cases ORDER BY id")).all(),
            "counters": session.execute(text("SELECT year, last_number FROM case_counters ORDER BY year")).all(),
            "audit": session.execute(text("SELECT id, action, record_id FROM audit_log ORDER BY id")).all(),
            "patients": session.execute(text("SELECT count(*) FROM patients")).scalar_one(),
        }


def test_small_counts_keep_one_clinics_six_years() -> None:
    streamed = list(demo.stream_cases(300, seed=4, until=UNTIL))
    assert streamed == demo.generate_cases(300, seed=4, until=UNTIL)
    assert {r.facility for r in streamed} <= set(demo.FACILITIES)


@pytest.mark.usefixtures("small_network")
def test_a_large_count_spreads_over_years_and_sites_in_date_order() -> None:
    years, sites = demo.network_shape(3000)
    assert (years, sites) == (15, 4)
    cases = list(demo.stream_cases(3000, seed=2, until=UNTIL))
    assert len(cases) == 3000
    assert [r.procedure_date for r in cases] == sorted(r.procedure_date for r in cases)
    assert cases[-1].procedure_date <= UNTIL and cases[0].procedure_date >= UNTIL - dt.timedelta(days=365 * 15)
    per_year = collections.Counter(r.procedure_date.year for r in cases)
    assert len(per_year) >= 15 and max(per_year.values()) <= 1.2 * 3000 / 15
    # Each site is its own facility with its own five surgeons.
    staff: dict[str, set[str]] = collections.defaultdict(set)
    for record in cases:
        staff[record.facility or ""].add(record.surgeon)
    assert set(staff) == set(demo.SITES[:4])
    assert all(len(surgeons) == 5 for surgeons in staff.values())
    assert len(set.union(*staff.values())) == 20


def test_every_sites_surgeons_are_their_own() -> None:
    names = [name for site in range(len(demo.SITES)) for name in demo.site_surgeons(site)]
    assert len(set(names)) == len(names) == 5 * len(demo.SITES)


@pytest.mark.usefixtures("small_network")
def test_a_stored_network_numbers_rise_with_the_date_within_each_year(service: CaseService) -> None:
    added, first, last = service.add_record_stream(demo.stream_cases(1500, seed=3, until=UNTIL), batch=400)
    assert added == 1500 and first is not None and last is not None
    with service.db.read() as session:
        rows = session.execute(text("SELECT case_number, procedure_date FROM cases")).all()
    by_number = sorted(rows, key=lambda r: case_number_key(r.case_number))
    assert [str(r.procedure_date) for r in by_number] == sorted(str(r.procedure_date) for r in rows)
    assert audit.verify(service.db).ok


def test_a_demo_failing_part_way_leaves_the_database_exactly_as_it_was(service: CaseService) -> None:
    """Its last year runs out of numbers after earlier batches went in: none of them stays, the trail unbroken."""
    service.add_record_stream(demo.generate_cases(60, seed=1, until=UNTIL), batch=25)
    before = _state(service.db)
    service.db.engine.dispose()
    with service.db.write() as session:
        session.execute(text("UPDATE case_counters SET last_number = 999990 WHERE year = :y"), {"y": UNTIL.year})
    before = _state(service.db)
    stored: list[int] = []
    with pytest.raises(InvalidInput, match=f"the year {UNTIL.year} has no case numbers left"):
        service.add_record_stream(demo.generate_cases(400, seed=2, until=UNTIL), batch=50, progress=stored.append)
    assert stored and stored[-1] >= 100  # batches had gone in before the failure
    assert _state(service.db) == before
    assert audit.verify(service.db).ok


def test_the_demo_command_failing_exits_2_and_writes_nothing(
    db_target: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(commands, "DEMO_BATCH", 40)
    year = dt.date.today().year
    db = open_database(db_target)
    try:
        with db.write() as session:
            session.execute(text("INSERT INTO case_counters (year, last_number) VALUES (:y, 999995)"), {"y": year})
        before = _state(db)
    finally:
        db.close()
    assert main(["--db", db_target, "demo", "--cases", "300"]) == 2
    err = capsys.readouterr().err
    assert f"case_number: the year {year} has no case numbers left (the last is {year}-999999)" in err
    assert "Traceback" not in err
    db = open_database(db_target)
    try:
        assert _state(db) == before
    finally:
        db.close()


def test_a_long_demo_says_how_far_it_got(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setattr(commands, "DEMO_BATCH", 50)
    monkeypatch.setattr(commands, "DEMO_PROGRESS_EVERY", 100)
    assert main(["--db", str(tmp_path / "demo.sqlite3"), "demo", "--cases", "250"]) == 0
    out, err = capsys.readouterr()
    assert err.splitlines() == [
        "demo: 100 of 250 cases made (saved when all are made)",
        "demo: 200 of 250 cases made (saved when all are made)",
    ]
    assert out.startswith("Added 250 demo cases (")
