"""The audit trail view holds one page at a time (issue 18): a person still reaches every entry by keyboard, and its
filters and count come from the database."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from caselog import audit
from caselog.audit import NewEntry
from caselog.db import store
from caselog.db.schema import open_database
from caselog.service import CaseService
from tests.ui.conftest import choose
from ui.history_view import AuditTrailView
from ui.services import Services
from ui.tasks import TaskRunner

ENTRIES = 2400


@pytest.fixture
def trail_services(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Services]:
    """A database holding 2,400 entries by three users over 24 days, on cases 2025-00001 to 2025-00300."""
    path = tmp_path / "trail.sqlite3"
    shutil.copy(sqlite_template, path)
    db = open_database(path)
    for day in range(24):
        monkeypatch.setattr(store, "utcnow", lambda day=day: dt.datetime(2025, 5, 1, 12) + dt.timedelta(days=day))
        with db.write() as session:
            audit.record_many(session, [
                NewEntry(("ana", "ben", "cleo")[k % 3], ("update", "print", "sign")[k % 3 - 1], "case",
                         f"2025-{k % 300 + 1:05d}", {"changes": {"notes": [f"before {k}", f"after {k}"]}})
                for k in range(day * 100, day * 100 + 100)
            ])  # fmt: skip
    monkeypatch.undo()
    services = Services(CaseService(db), TaskRunner(), db.display_name)
    yield services
    services.tasks.wait()
    db.close()


@pytest.fixture
def view(qtbot: QtBot, trail_services: Services) -> AuditTrailView:
    shown = AuditTrailView(trail_services)
    qtbot.addWidget(shown)
    shown.resize(1200, 600)
    shown.show()
    with qtbot.waitSignal(shown.model.loaded, timeout=10_000):
        shown.refresh()
    qtbot.waitUntil(lambda: shown.user.count() == 4)  # everyone, ana, ben, cleo
    return shown


def current_entry_id(view: AuditTrailView) -> int:
    entry = view.model.row_at(view.table.currentIndex().row())
    assert entry is not None
    return entry.id


def test_the_view_holds_one_page_and_counts_every_entry(view: AuditTrailView) -> None:
    assert view.model.rowCount() == audit.PAGE_SIZE < ENTRIES
    assert view.count.text() == f"{ENTRIES:,} of {ENTRIES:,} entries"
    assert [e.id for e in view.model.entries] == list(range(ENTRIES, ENTRIES - audit.PAGE_SIZE, -1))


def test_ctrl_end_reaches_the_oldest_entry_page_by_page(qtbot: QtBot, view: AuditTrailView, tmp_path: Path) -> None:
    """Ctrl+End (a table's "last row") goes to the last row loaded; the next page loads as the list gets there,
    until the very first entry."""
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    assert current_entry_id(view) == ENTRIES
    presses = 0
    while current_entry_id(view) != 1:
        loaded = view.model.rowCount()
        qtbot.keyClick(view.table, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
        if view.model.canFetchMore():
            qtbot.waitUntil(lambda loaded=loaded: view.model.rowCount() > loaded, timeout=10_000)
        presses += 1
        assert presses <= ENTRIES // audit.PAGE_SIZE + 2
    assert view.model.rowCount() == ENTRIES and not view.model.canFetchMore()
    assert [e.id for e in view.model.entries] == list(range(ENTRIES, 0, -1))  # each entry once, newest first
    view.grab().save(str(tmp_path / "audit-trail-end.png"))


def test_page_down_walks_into_the_next_pages(qtbot: QtBot, view: AuditTrailView) -> None:
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    while view.model.rowCount() < 3 * audit.PAGE_SIZE:
        qtbot.keyClick(view.table, Qt.Key.Key_PageDown)
        qtbot.wait(5)
    assert current_entry_id(view) < ENTRIES - audit.PAGE_SIZE  # the cursor went past the first page
    assert [e.id for e in view.model.entries] == list(range(ENTRIES, ENTRIES - view.model.rowCount(), -1))


def test_a_typed_case_number_and_a_chosen_user_filter_in_the_query(qtbot: QtBot, view: AuditTrailView) -> None:
    with qtbot.waitSignal(view.model.loaded, timeout=10_000):
        qtbot.keyClicks(view.case_number, "2025-0002")  # cases 2025-00020 to 2025-00029
    shown = view.model.entries
    assert {e.record_id for e in shown} == {f"2025-000{20 + i}" for i in range(10)}
    assert len(shown) == view.model.matching == ENTRIES // 30
    with qtbot.waitSignal(view.model.loaded, timeout=10_000):
        choose(view.user, "ben")
    bens = sum(1 for k in range(ENTRIES) if 19 <= k % 300 <= 28 and k % 3 == 1)
    assert {e.who for e in view.model.entries} == {"ben"} and view.model.matching == bens
    assert view.count.text() == f"{view.model.matching} of {ENTRIES:,} entries"
