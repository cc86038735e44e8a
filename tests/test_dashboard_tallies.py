"""The dashboard's stored tallies (schema 0017) give exactly the figures counted from the cases, on every path into
the data and on every later day (issue 18).

A demo clinic on SQLite and PostgreSQL: after each kind of change (the service, import, a direct SQL edit of each
table, a restored backup, a schedule change, later days around the follow-up deadlines) the build that reads the
stored tallies equals the build that counts every case (which tests/test_dashboard_aggregation.py holds to the
Python reference), for the unfiltered dashboard, a surgeon and date ranges with mid-year edges. A build with
nothing stale counts nothing again; a tally row edited by hand is named by `caselog check`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
import time
import weakref
from pathlib import Path
from typing import Any

import pytest
from psycopg import errors as pg_errors
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, select, text

from caselog import dashboard_tallies as tallies
from caselog.dashboard import Dashboard, DashboardService, _from_counts
from caselog.db.engine import Database
from caselog.db.schema import backup_database, check_database, open_database
from caselog.demo import generate_cases
from caselog.durability import counted_sides
from caselog.followup import FollowUpSchedule, FollowUpService, schedule_from_setting
from caselog.outcomes import mcid_shares
from caselog.records import CaseFilter
from caselog.service import CaseService
from tests.factories import case_file, make_case, simple_case
from tests.test_dashboard_aggregation import same

UNTIL = dt.date(2026, 6, 30)


class Clock:
    def __init__(self) -> None:
        self.day = UNTIL

    def __call__(self) -> dt.date:
        return self.day


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def clinic(db: Database, clock: Clock) -> CaseService:
    service = CaseService(db, today=clock)
    service.add_records(generate_cases(600, seed=7, until=UNTIL, years=4))
    return service


def _filters(service: CaseService) -> dict[str, CaseFilter]:
    surgeon = service.surgeons()[0]
    return {
        "none": CaseFilter(),
        "surgeon": CaseFilter(surgeon=surgeon),
        "whole years": CaseFilter(date_from=dt.date(2023, 1, 1), date_to=dt.date(2025, 12, 31)),
        "mid-year edges": CaseFilter(date_from=dt.date(2023, 4, 12), date_to=dt.date(2025, 8, 3)),
        "surgeon from mid-year": CaseFilter(surgeon=surgeon, date_from=dt.date(2024, 2, 29)),
        "within one year": CaseFilter(date_from=dt.date(2024, 3, 1), date_to=dt.date(2024, 9, 30)),
    }


def _counted(service: CaseService, f: CaseFilter) -> Dashboard:
    """The build counted from the cases, no tallies read."""
    with service.reading() as session:
        today = service.today()
        return _from_counts(f, today, tallies.count_cases(session, f), counted_sides(session, f, today))


def _rows(service: CaseService, table: str) -> int:
    with service.db.read() as session:
        return int(session.scalar(select(func.count()).select_from(text(table))) or 0)


def assert_same_as_counted(service: CaseService, clock: Clock, where: str) -> None:
    board = DashboardService(service, today=clock)
    for name, f in _filters(service).items():
        same(board.build(f), _counted(service, f), f"{where}, {name}")
        with service.reading() as session:
            same(board.mcid_shares(f), mcid_shares(session, f), f"{where}, {name}: MCID shares")
    assert _rows(service, "dashboard_slices"), "the slices were stored"
    assert _rows(service, "dashboard_sides"), "the sides were stored"
    assert _rows(service, "dashboard_stale") + _rows(service, "dashboard_stale_slices") == 0, "every mark answered"


def _sql(db: Database, statement: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(statement))


def _stored(service: CaseService) -> tuple[Any, ...]:
    with service.db.read() as session:
        return (
            session.execute(text("SELECT * FROM dashboard_slices ORDER BY year, surgeon, procedure")).all(),
            session.execute(text("SELECT * FROM dashboard_sides ORDER BY case_id, kind, days")).all(),
        )


def _refused(*_args: Any, **_kwargs: Any) -> Any:
    raise AssertionError("a build with nothing stale counted the cases again")


def test_the_first_build_stores_everything_and_the_next_counts_nothing(
    clinic: CaseService, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _rows(clinic, "dashboard_slices") == 0
    assert_same_as_counted(clinic, clock, "fresh")
    before = _stored(clinic)

    monkeypatch.setattr(tallies, "count_sides", _refused)
    monkeypatch.setattr(tallies, "_count_groups", _refused)
    DashboardService(clinic, today=clock).build()
    DashboardService(clinic, today=clock).mcid_shares()
    assert _stored(clinic) == before


def test_every_patient_counted_in_many_passes_stores_the_same_sides(
    clinic: CaseService, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold build at a million cases counts the sides a range of patients at a time and keeps them as columns
    (`SideColumns`): three patients a pass stores what one pass stores, every row read back whole, and each pass
    finds the recheck days of its own patients (a death recorded for tomorrow rechecks all the patient's cases)."""
    tomorrow = clock() + dt.timedelta(days=1)
    _sql(clinic.db, "INSERT INTO follow_up_attempts (case_id, position, timepoint, date, result) SELECT id, 50, "
                    f"'48m', '{tomorrow}', 'died' FROM cases WHERE procedure = 'radiofrequency_ablation' "
                    "AND id % 11 = 0")  # fmt: skip
    DashboardService(clinic, today=clock).build()
    one_pass = _stored(clinic)
    _sql(clinic.db, "DELETE FROM dashboard_tally_state")
    monkeypatch.setattr(tallies, "PATIENTS_PER_PASS", 3)
    assert_same_as_counted(clinic, clock, "three patients a pass")
    assert _stored(clinic) == one_pass
    dying = ("FROM dashboard_sides WHERE patient_id IN (SELECT c.patient_id FROM cases c JOIN follow_up_attempts a "
             f"ON a.case_id = c.id WHERE a.date = '{tomorrow}')")  # fmt: skip
    with clinic.db.read() as session:
        assert session.execute(text(f"SELECT count(DISTINCT patient_id) {dying}")).scalar_one() > 3
        rechecks = {tallies._as_day(d) for (d,) in session.execute(text(f"SELECT DISTINCT recheck_on {dying}"))}
    assert rechecks == {tomorrow}
    with clinic.db.read() as session:
        rows = tallies.count_sides(session, clock(), schedule_from_setting(None), None)
    assert len(rows) == len(one_pass[1]) and len(rows) > 3
    as_objects = list(rows)
    assert rows[-1] == as_objects[-1] and rows[1:3] == as_objects[1:3] and rows[::2] == as_objects[::2]
    with pytest.raises(IndexError):
        rows[len(rows)]
    kept = tallies.SideColumns()
    for row in (as_objects[0], dataclasses.replace(as_objects[-1], recheck_on=None, days=4_000, case_id=2**40)):
        kept.append(*dataclasses.astuple(row))
    assert list(kept) == [as_objects[0], dataclasses.replace(as_objects[-1], recheck_on=None, days=4_000,
                                                            case_id=2**40)]  # fmt: skip


def test_the_sides_summed_off_their_columns_are_the_rows_summed(
    clinic: CaseService, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`SideColumns.sums` (a cold build's figures, each patient marked in a byte per id) gives what the rows give
    one by one with every filter, a surgeon nobody has, and ids too sparse for a byte each (a set then), over
    many compressed blocks (seven patients a pass) and over rows never sealed."""
    monkeypatch.setattr(tallies, "PATIENTS_PER_PASS", 7)
    with clinic.db.read() as session:
        rows = tallies.count_sides(session, clock(), schedule_from_setting(None), None)
    filters = {**_filters(clinic), "nobody's": CaseFilter(surgeon="Dr. Nobody"), "no sides": CaseFilter(
        date_from=dt.date(1990, 1, 1), date_to=dt.date(1990, 12, 31))}  # fmt: skip
    far = tallies.SideColumns()
    for row in rows:
        far.append(*dataclasses.astuple(dataclasses.replace(row, patient_id=row.patient_id * 2**33)))
    for columns, name in ((rows, "dense ids"), (far, "sparse ids")):
        for what, f in filters.items():
            one_by_one = tallies.SideSums()
            one_by_one.add_rows(r for r in columns if r.chosen(f))
            summed = columns.sums(f)
            assert summed.counted() == one_by_one.counted(), f"{name}, {what}"
            assert dict(summed.patients) == dict(one_by_one.patients), f"{name}, {what}"
    assert sum(rows.sums(CaseFilter()).patients.values()) > 50
    assert len(rows._sealed) > 10 and not far._sealed


def test_a_cold_build_with_any_filter_gives_the_counted_figures(clinic: CaseService, clock: Clock) -> None:
    """Nothing stored: the first build counts everything whatever its filter, and sums the filter's part of it
    (a surgeon's name with the characters the build's own keeping of the slices could trip on among them)."""
    odd = 'Dr. Ünal | "Q" \\ 2'
    clinic.import_cases(case_file(simple_case("2024-05-05", surgeon=odd, procedure="radiofrequency_ablation")))
    for name, f in {**_filters(clinic), "odd surgeon": CaseFilter(surgeon=odd)}.items():
        _sql(clinic.db, "DELETE FROM dashboard_tally_state")
        board = DashboardService(clinic, today=clock)
        same(board.build(f), _counted(clinic, f), f"cold, {name}")
        assert _rows(clinic, "dashboard_tally_state") == 1, f"cold, {name}: stored"


def _sqlite_error(message: str, code: int) -> BaseException:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode = code  # type: ignore[attr-defined]  # as the driver sets it
    return error


#: (what a write of the tallies raised, whether the database cannot be written at all)
REFUSALS = {
    "sqlite busy": (_sqlite_error("database is locked", sqlite3.SQLITE_BUSY), False),
    "a conflict quoting 'read-only'": (
        pg_errors.UniqueViolation('duplicate key value\nDETAIL: Key (surgeon)=(Dr. Read-only) exists'), False),
    "sqlite read-only file": (_sqlite_error("attempt to write a readonly database", sqlite3.SQLITE_READONLY), True),
    "postgresql read-only server": (pg_errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only "
                                                                     "transaction"), True),
    "postgresql without privilege": (pg_errors.InsufficientPrivilege("permission denied for table x"), True),
}  # fmt: skip


@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_tallies_that_cannot_be_stored_are_counted_live_after_one_whole_count(
    clinic: CaseService, clock: Clock, monkeypatch: pytest.MonkeyPatch, refusal: str
) -> None:
    """A read-only file or server, or no permission (told by the error's code, never its text): the first build
    counts everything, cannot store it, and the app counts live from then on (counting everything on each open
    took twice as long), on PostgreSQL for a while. A passing failure (busy, a conflict) does not."""
    error, refused = REFUSALS[refusal]
    monkeypatch.setattr(tallies, "_LIVE_UNTIL", weakref.WeakKeyDictionary())
    expected = _counted(clinic, CaseFilter())
    counted_whole: list[bool] = []
    count_sides = tallies.count_sides

    def counting(*args: Any, **kwargs: Any) -> Any:
        counted_whole.append(args[3] is None)
        return count_sides(*args, **kwargs)

    def write(*_args: Any) -> None:
        raise sa_exc.OperationalError("INSERT INTO dashboard_slices", {}, error)

    monkeypatch.setattr(tallies, "count_sides", counting)
    monkeypatch.setattr(tallies, "_write", write)
    board = DashboardService(clinic, today=clock)
    same(board.build(), expected, f"{refusal}: first")
    same(board.build(), expected, f"{refusal}: later")
    surgeon = CaseFilter(surgeon=clinic.surgeons()[0])
    same(board.build(surgeon), _counted(clinic, surgeon), f"{refusal}: a surgeon")
    assert counted_whole == ([True] if refused else [True, True, True]), "counted whole once, then live"
    assert _rows(clinic, "dashboard_tally_state") == 0
    if refused and not clinic.db.is_sqlite:  # a server read-only for a while: tried again later
        monkeypatch.undo()  # writes work again; the time the server was given has passed
        monkeypatch.setattr(tallies, "_LIVE_UNTIL", {clinic.db.engine: time.monotonic() - 1})
        DashboardService(clinic, today=clock).build()
        assert _rows(clinic, "dashboard_tally_state") == 1, "stored once the server takes writes again"


def test_changes_through_the_service_and_import_are_counted(clinic: CaseService, clock: Clock) -> None:
    assert_same_as_counted(clinic, clock, "before")
    with clinic.db.read() as session:
        numbers = list(session.scalars(text("SELECT case_number FROM cases WHERE procedure = 'radiofrequency_ablation' "
                                            "ORDER BY id LIMIT 2")))  # fmt: skip
        drafts = list(session.scalars(text("SELECT case_number FROM cases WHERE status = 'draft' ORDER BY id LIMIT 2")))
    old = clinic.get_case(numbers[0])
    patient = old.record.patient
    # A repeat of an old side two years later by another surgeon: ends relief counted in an earlier slice.
    repeat = simple_case("2025-02-03", procedure="radiofrequency_ablation", surgeon="Dr. New", cpt_codes=[],
                         patient={**make_case()["patient"], "mrn": patient.mrn, "family_name": patient.family_name,
                                  "given_name": patient.given_name, "birth_date": patient.birth_date.isoformat(),
                                  "sex": patient.sex},
                         levels=[{"level": lv.level, "side": lv.side} for lv in old.record.levels])  # fmt: skip
    clinic.import_cases(case_file(repeat))
    assert_same_as_counted(clinic, clock, "after an import")
    assert len(drafts) == 2
    view = clinic.get_case(drafts[0])
    clinic.delete_case(view.case_number, reason="entered twice", expected_version=view.version)
    assert_same_as_counted(clinic, clock, "after a delete")
    view = clinic.get_case(drafts[1])
    moved = simple_case(f"{view.case_number[:4]}-07-07", surgeon="Dr. Moved", procedure="endoscopic_rhizotomy",
                        cpt_codes=[])  # fmt: skip
    clinic.update_case(view.case_number, moved, expected_version=view.version)
    assert_same_as_counted(clinic, clock, "after an update (another surgeon, another patient)")


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE cases SET duration_minutes = duration_minutes + 7 WHERE id % 5 = 0",
        "UPDATE cases SET surgeon = 'Dr. Elsewhere' WHERE id % 11 = 0",
        "UPDATE cases SET procedure_date = '2022-02-02' WHERE id % 13 = 0",
        "UPDATE cases SET patient_id = (SELECT min(id) FROM patients) WHERE id % 19 = 0",
        "DELETE FROM complications WHERE id % 2 = 0",
        "UPDATE outcome_scores SET nrs_back = 0 WHERE nrs_back IS NOT NULL AND id % 3 = 0",
        "DELETE FROM outcome_scores WHERE timepoint <> 'baseline' AND id % 4 = 0",
        "INSERT INTO follow_up_attempts (case_id, position, timepoint, date, result) "
        "SELECT id, 50, '6m', procedure_date, 'died' FROM cases WHERE id % 17 = 0",
        "UPDATE treated_levels SET side = 'bilateral' WHERE id % 3 = 0",
        "DELETE FROM treated_levels WHERE position > 0",
        "DELETE FROM cases WHERE id % 23 = 0",
    ],
)
def test_a_direct_sql_edit_of_each_table_is_counted(clinic: CaseService, clock: Clock, edit: str) -> None:
    """An edit outside CaseLog (sqlite3, psql) marks its patients by the database's own triggers."""
    assert_same_as_counted(clinic, clock, "before")
    before = {name: _counted(clinic, f) for name, f in _filters(clinic).items()}
    _sql(clinic.db, edit)
    assert {name: _counted(clinic, f) for name, f in _filters(clinic).items()} != before, "the edit changes a figure"
    assert_same_as_counted(clinic, clock, edit)


def _deadline_days(clinic: CaseService, start: dt.date, end: dt.date) -> list[dt.date]:
    """The stored sides' recheck days within the range, with the day before and after each."""
    with clinic.db.read() as session:
        recheck = session.execute(text("SELECT DISTINCT recheck_on FROM dashboard_sides"))
        found = {tallies._as_day(d) for (d,) in recheck}
    days = {d + dt.timedelta(days=k) for d in found if d is not None and start <= d <= end for k in (-1, 0, 1)}
    return sorted(days)


def test_later_days_are_counted_from_each_case_s_next_deadline(clinic: CaseService, clock: Clock) -> None:
    """Lost and died depend on today: on each of 45 days in a row after the last case (timepoints pass their
    deadline with nobody seen), then on days a stored case's state could change (and the days either side), the
    build from the tallies equals the build counted from the cases."""
    assert_same_as_counted(clinic, clock, "on the first day")
    before = _counted(clinic, CaseFilter()).durability
    days = _deadline_days(clinic, UNTIL + dt.timedelta(days=46), UNTIL + dt.timedelta(days=400))
    assert len(days) > 20, "cases fall due in those months"
    board = DashboardService(clinic, today=clock)
    changes = 0
    for day in [UNTIL + dt.timedelta(days=k) for k in range(1, 46)] + days[:: max(1, len(days) // 25)]:
        clock.day = day
        counted = _counted(clinic, CaseFilter())
        changes += counted.durability != before
        before = counted.durability
        same(board.build(), counted, f"on {day}")
    assert changes > 10, "lost or died changed on many of those days"
    assert_same_as_counted(clinic, clock, "a year later")


def test_a_clock_set_back_and_a_schedule_change_count_everything_again(
    clinic: CaseService, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_same_as_counted(clinic, clock, "today")
    clock.day = dt.date(2025, 1, 15)
    assert_same_as_counted(clinic, clock, "a clock set back")
    with monkeypatch.context() as patched:  # counted for the earlier day, then read back on it
        patched.setattr(tallies, "_count_groups", _refused)
        DashboardService(clinic, today=clock).build()
    clock.day = dt.date(2025, 1, 16)
    assert_same_as_counted(clinic, clock, "the next day")
    follow_up = FollowUpService(clinic, today=clock)
    schedule = follow_up.schedule()
    shorter = FollowUpSchedule(tuple((p, tuple(tp for tp in tps if tp in ("2w", "3m"))) for p, tps in schedule.entries))
    unchanged = _counted(clinic, CaseFilter()).durability
    follow_up.set_schedule(shorter)
    assert _counted(clinic, CaseFilter()).durability != unchanged, "the schedule changes lost"
    assert_same_as_counted(clinic, clock, "after the schedule change")


def test_a_death_recorded_ahead_of_its_date_is_counted_on_that_date(clinic: CaseService, clock: Clock) -> None:
    _sql(clinic.db, "INSERT INTO follow_up_attempts (case_id, position, timepoint, date, result) "
                    "SELECT id, 50, '48m', '2032-03-01', 'died' FROM cases WHERE procedure = 'radiofrequency_ablation' "
                    "AND id % 7 = 0")  # fmt: skip
    clock.day = dt.date(2032, 2, 29)
    assert_same_as_counted(clinic, clock, "the day before")
    before = _counted(clinic, CaseFilter()).durability
    clock.day = dt.date(2032, 3, 1)
    assert _counted(clinic, CaseFilter()).durability != before
    assert_same_as_counted(clinic, clock, "the recorded deaths' date")


def test_a_restored_backup_gives_its_own_figures(clinic: CaseService, clock: Clock, tmp_path: Path) -> None:
    if not clinic.db.is_sqlite:
        pytest.skip("PostgreSQL is backed up with the server's own tools")
    assert_same_as_counted(clinic, clock, "before the backup")
    backup_database(clinic.db, tmp_path / "backup.sqlite3")
    _sql(clinic.db, "DELETE FROM cases WHERE id % 3 = 0")
    assert_same_as_counted(clinic, clock, "the live file after deletes")
    restored = open_database(str(tmp_path / "backup.sqlite3"))
    try:
        assert_same_as_counted(CaseService(restored, today=clock), clock, "the backup")
    finally:
        restored.close()


def test_check_names_tallies_edited_by_hand(clinic: CaseService, clock: Clock) -> None:
    clock.day = dt.date.today()  # check compares the rows counted for the real today
    assert_same_as_counted(clinic, clock, "fresh")
    assert check_database(clinic.db).problems == []
    with clinic.db.read() as session:
        year, surgeon, procedure, raw = session.execute(
            text("SELECT year, surgeon, procedure, counts FROM dashboard_slices LIMIT 1")
        ).one()
    data = json.loads(raw)
    month = next(iter(data["months"]))
    data["months"][month] += 1  # one month's count one higher; no trigger marks a tally row
    with clinic.db.engine.begin() as conn:
        conn.execute(text("UPDATE dashboard_slices SET counts = :c "
                          "WHERE year = :y AND surgeon = :s AND procedure = :p"),
                     {"c": json.dumps(data), "y": year, "s": surgeon, "p": procedure})  # fmt: skip
    _sql(clinic.db, "UPDATE dashboard_sides SET days = days + 1 WHERE case_id = (SELECT min(case_id) FROM "
                    "dashboard_sides)")  # fmt: skip
    _sql(clinic.db, "UPDATE dashboard_years SET counts = (SELECT counts FROM dashboard_years WHERE year = 2023) "
                    "WHERE year = 2024")  # fmt: skip
    found = check_database(clinic.db).problems
    assert any(f"{year}, {surgeon}, " in p for p in found), found
    assert any("stored sum of 2024 differs" in p for p in found), found
    assert any("durability sides of 1 case" in p for p in found), found


def test_a_tally_row_deleted_by_hand_is_counted_again(clinic: CaseService, clock: Clock) -> None:
    assert_same_as_counted(clinic, clock, "fresh")
    _sql(clinic.db, "DELETE FROM dashboard_slices WHERE year = (SELECT max(year) FROM dashboard_slices)")
    assert_same_as_counted(clinic, clock, "after a row was deleted")


def _read(clinic: CaseService, clock: Clock) -> tallies.Found:
    """One build's reading of the stored tallies, its write still to come (as two workstations race)."""
    with clinic.reading() as session:
        return tallies.read(session, CaseFilter(), clock())


def test_a_build_whose_marks_another_took_keeps_the_other_s_copy(clinic: CaseService, clock: Clock) -> None:
    """Two workstations count the same change: the second to write finds its marks gone and writes nothing."""
    assert_same_as_counted(clinic, clock, "fresh")
    _sql(clinic.db, "UPDATE cases SET duration_minutes = duration_minutes + 1 WHERE id % 9 = 0")
    first, second = _read(clinic, clock), _read(clinic, clock)
    assert tallies.store_refresh(clinic.db, first.refresh)
    assert not tallies.store_refresh(clinic.db, second.refresh)
    assert_same_as_counted(clinic, clock, "after both")


def test_a_change_made_while_a_build_counted_stays_marked(clinic: CaseService, clock: Clock) -> None:
    """The build read a patient's mark; the patient changes again before it writes: the mark's gen rose, so the
    build writes nothing and the next one counts the change."""
    assert_same_as_counted(clinic, clock, "fresh")
    _sql(clinic.db, "UPDATE cases SET duration_minutes = duration_minutes + 1 WHERE id = (SELECT min(id) FROM cases)")
    found = _read(clinic, clock)
    assert found.refresh.marks, "the change was marked"
    _sql(clinic.db, "UPDATE cases SET duration_minutes = duration_minutes + 5 WHERE id = (SELECT min(id) FROM cases)")
    assert not tallies.store_refresh(clinic.db, found.refresh)
    assert _rows(clinic, "dashboard_stale") == 1
    assert_same_as_counted(clinic, clock, "after the second change")


def test_a_build_writes_only_if_no_other_wrote_since_its_snapshot(clinic: CaseService, clock: Clock) -> None:
    """Without any mark to take (a year's sum to store again), the second of two builds still writes nothing."""
    assert_same_as_counted(clinic, clock, "fresh")
    _sql(clinic.db, "DELETE FROM dashboard_years")
    first, second = _read(clinic, clock), _read(clinic, clock)
    assert first.refresh.years and not first.refresh.marks
    assert tallies.store_refresh(clinic.db, first.refresh)
    assert not tallies.store_refresh(clinic.db, second.refresh)
    assert_same_as_counted(clinic, clock, "after both")
