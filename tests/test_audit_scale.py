"""The audit views read the trail a page at a time, filtered and counted in SQL (issue 18): every listing must show
exactly the entries, in exactly the order, that reading the whole trail and filtering it in Python did before."""

from __future__ import annotations

import datetime as dt
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from caselog import audit
from caselog.accounts import HIDDEN, Actor
from caselog.audit import SINGLE_USER, AuditEntry, AuditFilter, NewEntry
from caselog.db import store
from caselog.db.engine import Database
from caselog.db.models import AuditEntryRow
from caselog.db.schema import open_database
from caselog.service import CaseService
from tests.conftest import PG_SKIP, PG_URL, drop_pg_database, new_pg_database
from tests.factories import TODAY, make_case

OKAFOR = "Dr. Amara Okafor"
CARTER = "Dr. Ben Carter"
USERS = ("alice", "bob", None, "carol")
ACTIONS = ("update", "sign", "print", "export", "sign_in", "amend")


@dataclass(frozen=True)
class Trail:
    service: CaseService
    okafor_cases: list[str]
    carter_cases: list[str]
    #: The reference: every entry read at once, as the views did before they paged.
    entries: list[AuditEntry]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def trail(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Trail]:
    """About 2,500 entries over two years by four users (one of them the single user), of cases of two surgeons,
    of numbers no case holds, and of other records; one batch written by a workstation whose clock ran behind.
    Made once per backend for the whole module (the tests only read it), in a clock west of UTC, so a local day
    is not a UTC day (the views filter by this computer's days)."""
    if request.param == "sqlite":
        target = str(tmp_path_factory.mktemp("trail") / "trail.sqlite3")
        shutil.copy(sqlite_template, target)
    elif not PG_URL:
        pytest.skip(PG_SKIP)
    else:
        target = new_pg_database()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TZ", "America/New_York")
        time.tzset()
        db = open_database(target)
        try:
            yield _write_trail(CaseService(db, today=lambda: TODAY), patch)
        finally:
            db.close()
            if request.param != "sqlite":
                drop_pg_database(target)
    time.tzset()


def _write_trail(service: CaseService, patch: pytest.MonkeyPatch) -> Trail:
    okafor = [service.create_case(make_case(surgeon=OKAFOR)).case_number for _ in range(3)]
    carter = [service.create_case(make_case(surgeon=CARTER)).case_number for _ in range(2)]
    numbers = [*okafor, *carter, "2024-00017", "2024-00170", "2025-01000", "2025-%_x"]
    start = dt.datetime(2024, 1, 1, 3, 0)
    for batch in range(50):
        # Mostly forward in time, a few hours apart, and batch 30 from a clock a week behind.
        when = start + dt.timedelta(days=batch * 14, hours=batch * 5) - dt.timedelta(days=7 if batch == 30 else 0)
        patch.setattr(store, "utcnow", lambda when=when: when)
        new: list[NewEntry] = []
        for i in range(50):
            k = batch * 50 + i
            who, action = USERS[k % 4], ACTIONS[(k // 4) % 6]
            if k % 5 == 4:
                new.append(NewEntry(who, action, "report", None, {"document": "complication log", "search": "Nguyễn"}))
            else:
                new.append(NewEntry(who, action, "case", numbers[k % len(numbers)], {"changes": {"notes": ["a", "b"]}},
                                    reason="typo" if k % 3 == 0 else None))  # fmt: skip
        with service.db.write() as session:
            audit.record_many(session, new)
    patch.undo()
    patch.setenv("TZ", "America/New_York")  # undo() restored the clock and the zone: the zone stays for the tests
    return Trail(service, okafor, carter, whole_trail(service.db))


def whole_trail(db: Database) -> list[AuditEntry]:
    with db.read() as session:
        return [audit._entry(row) for row in session.execute(select(AuditEntryRow).order_by(AuditEntryRow.id))
                .scalars()]  # fmt: skip


def local_day(entry: AuditEntry) -> dt.date:
    return entry.occurred_at.replace(tzinfo=dt.UTC).astimezone().date()


def reference(entries: list[AuditEntry], *, who: str | None = None, action: str | None = None,
              number: str | None = None, days: tuple[dt.date, dt.date] | None = None,
              own: set[str] | None = None) -> list[int]:  # fmt: skip
    """The entries the old view kept (its `matches`, in Python), newest first: their numbers."""
    kept = [
        e for e in entries
        if (who is None or e.who == who)
        and (action is None or e.action == action)
        and (number is None or (e.record_type == "case" and (e.record_id or "").startswith(number)))
        and (days is None or days[0] <= local_day(e) <= days[1])
        and (own is None or (e.record_type == "case" and e.record_id in own))
    ]  # fmt: skip
    return [e.id for e in sorted(kept, key=lambda e: e.id, reverse=True)]


def paged(service: CaseService, f: AuditFilter, *, limit: int = 97) -> list[int]:
    """Every page of the listing, each continuing after the last entry of the one before."""
    span = service.audit_span(f)
    shown: list[int] = []
    while True:
        page = service.audit_page(f, after=shown[-1] if shown else None, limit=limit, span=span)
        assert len(page) <= limit
        shown += [e.id for e in page]
        if len(page) < limit:
            assert span.count == len(shown)
            return shown


FILTERS: dict[str, tuple[Callable[[Trail], AuditFilter], Callable[[Trail], dict[str, object]]]] = {
    "everything": (lambda t: AuditFilter(), lambda t: {}),
    "one user": (lambda t: AuditFilter(who="bob"), lambda t: {"who": "bob"}),
    "the single user": (lambda t: AuditFilter(who=SINGLE_USER), lambda t: {"who": SINGLE_USER}),
    "a user with no entry": (lambda t: AuditFilter(who="nobody"), lambda t: {"who": "nobody"}),
    "one action": (lambda t: AuditFilter(action="print"), lambda t: {"action": "print"}),
    "a user and an action": (lambda t: AuditFilter(who="alice", action="sign"),
                             lambda t: {"who": "alice", "action": "sign"}),
    "one case": (lambda t: AuditFilter(case_number_prefix=t.okafor_cases[0]),
                 lambda t: {"number": t.okafor_cases[0]}),
    "a year of case numbers": (lambda t: AuditFilter(case_number_prefix="2024"), lambda t: {"number": "2024"}),
    "a number's start": (lambda t: AuditFilter(case_number_prefix="2024-0001"), lambda t: {"number": "2024-0001"}),
    "wildcards typed": (lambda t: AuditFilter(case_number_prefix="2025-%_"), lambda t: {"number": "2025-%_"}),
    "no such number": (lambda t: AuditFilter(case_number_prefix="1999"), lambda t: {"number": "1999"}),
    "local days": (lambda t: AuditFilter().within_local_days(dt.date(2024, 3, 15), dt.date(2024, 9, 30)),
                   lambda t: {"days": (dt.date(2024, 3, 15), dt.date(2024, 9, 30))}),
    "one local day": (lambda t: AuditFilter().within_local_days(dt.date(2024, 2, 26), dt.date(2024, 2, 26)),
                      lambda t: {"days": (dt.date(2024, 2, 26), dt.date(2024, 2, 26))}),
    "days of the slow clock": (lambda t: AuditFilter().within_local_days(dt.date(2025, 3, 1), dt.date(2025, 3, 31)),
                               lambda t: {"days": (dt.date(2025, 3, 1), dt.date(2025, 3, 31))}),
    "days, user, action and number": (
        lambda t: AuditFilter(who="carol", action="update", case_number_prefix="2025")
        .within_local_days(dt.date(2024, 6, 1), dt.date(2025, 12, 31)),
        lambda t: {"who": "carol", "action": "update", "number": "2025",
                   "days": (dt.date(2024, 6, 1), dt.date(2025, 12, 31))},
    ),
}  # fmt: skip


@pytest.mark.parametrize("plan", ["sorted", "walked"])
@pytest.mark.parametrize("name", list(FILTERS))
def test_each_filter_pages_the_entries_the_whole_trail_gave(
    trail: Trail, name: str, plan: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same entries, same order (newest entry first, whatever the clocks said), same count, page after page; on
    SQLite both ways of finding a page (an index and a sort, or a walk of the entry numbers) agree."""
    if plan == "walked":
        if not trail.service.db.is_sqlite:
            pytest.skip("PostgreSQL's planner chooses by itself")
        monkeypatch.setattr(audit, "_SORT_AT_MOST", 0)
    make_filter, expected = FILTERS[name]
    want = reference(trail.entries, **expected(trail))  # type: ignore[arg-type]
    assert paged(trail.service, make_filter(trail)) == want
    assert trail.service.audit_span(make_filter(trail)).count == len(want)


def test_a_clock_that_ran_behind_does_not_move_entries_out_of_entry_order(trail: Trail) -> None:
    """The list is in the order the entries were written (the chain's), not by the times their workstations gave."""
    ids = paged(trail.service, AuditFilter())
    entries = {e.id: e for e in trail.entries}
    assert ids == sorted(entries, reverse=True)
    times = [entries[i].occurred_at for i in ids]
    assert times != sorted(times, reverse=True)  # the slow clock's batch is there, in its place


@pytest.mark.parametrize("plan", ["sorted", "walked"])
def test_a_surgeon_pages_the_entries_of_their_own_cases_only(
    trail: Trail, plan: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if plan == "walked":
        if not trail.service.db.is_sqlite:
            pytest.skip("PostgreSQL's planner chooses by itself")
        monkeypatch.setattr(audit, "_SORT_AT_MOST", 0)
    surgeon = CaseService(trail.service.db, actor=Actor("aokafor", OKAFOR, "surgeon"))
    entries = trail.entries
    own = set(trail.okafor_cases)
    assert paged(surgeon, AuditFilter()) == reference(entries, own=own)
    assert paged(surgeon, AuditFilter(who="bob")) == reference(entries, own=own, who="bob")
    days = (dt.date(2024, 3, 1), dt.date(2025, 1, 31))
    assert paged(surgeon, AuditFilter().within_local_days(*days)) == reference(entries, own=own, days=days)
    assert paged(surgeon, AuditFilter(case_number_prefix=trail.carter_cases[0])) == []
    users, actions = surgeon.audit_choices()
    mine = [e for e in entries if e.record_type == "case" and e.record_id in own]
    assert users == sorted({e.who for e in mine}) and actions == sorted({e.action for e in mine})


def test_the_filter_lists_name_every_user_and_action_of_the_trail(trail: Trail) -> None:
    entries = trail.entries
    assert trail.service.audit_choices() == (sorted({e.who for e in entries}), sorted({e.action for e in entries}))


def test_an_administrator_pages_the_trail_without_patient_values(trail: Trail) -> None:
    """The administrator's view hides case values and free text on every page, as it did on the whole trail."""
    admin = CaseService(trail.service.db, actor=Actor("boss", "Clinic Admin", "admin"))
    page = admin.audit_page(AuditFilter(), limit=60)
    assert any(e.record_type == "case" and e.changes for e in page)
    for entry in page:
        if entry.record_type == "case":
            assert all(new in (HIDDEN, None) for _, new in entry.changes.values())
            assert entry.reason in (HIDDEN, None)
        else:
            assert entry.details["search"] == HIDDEN
    assert [e.id for e in page] == [e.id for e in trail.service.audit_page(AuditFilter(), limit=60)]


def test_the_command_line_streams_the_whole_trail_in_entry_order(trail: Trail, monkeypatch: pytest.MonkeyPatch) -> None:
    """`caselog audit` lists every entry oldest first, read a batch at a time rather than all at once."""
    monkeypatch.setattr(audit, "_STREAM_BATCH", 64)
    batches: list[int] = []
    page = audit._page

    def counted(*args: object, **kwargs: object) -> list[AuditEntry]:
        found = page(*args, **kwargs)  # type: ignore[arg-type]
        batches.append(len(found))
        return found

    monkeypatch.setattr(audit, "_page", counted)
    streamed = [e.id for e in trail.service.iter_audit_trail()]
    assert streamed == [e.id for e in trail.entries]
    assert max(batches) == 64 and len(batches) == len(streamed) // 64 + 1


def test_a_case_history_lists_its_entries_in_order(trail: Trail) -> None:
    number = trail.okafor_cases[1]
    want = [e.id for e in trail.entries if e.record_type == "case" and e.record_id == number]
    assert [e.id for e in trail.service.history(number)] == want
    assert len(want) > 1
