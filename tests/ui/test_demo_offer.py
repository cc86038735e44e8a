"""File → Load demo data: offered on an empty database only, and only to administrators once accounts exist."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog
from pytestqt.qtbot import QtBot

from caselog.accounts import AccountService, Actor
from caselog.db.engine import Database
from caselog.db.schema import open_database
from caselog.service import CaseService
from ui.main_window import MainWindow
from ui.services import AppSettings, Services
from ui.tasks import TaskRunner

PASSWORD = "correct horse battery"


def test_offered_on_an_empty_database_and_gone_once_it_holds_cases(
    make_window: Callable[..., MainWindow], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    window = make_window(demo=False)
    assert window.demo_action.isVisible() and window.greeting.demo.isVisible()
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (12, True))
    with qtbot.waitSignal(window.model.loaded, timeout=20000):
        qtbot.mouseClick(window.greeting.demo, Qt.MouseButton.LeftButton)
    assert window.filters.count.text() == "12 cases"
    assert not window.demo_action.isVisible()


def test_not_offered_on_a_database_with_cases(make_window: Callable[..., MainWindow]) -> None:
    window = make_window(demo=True)
    assert not window.demo_action.isVisible()


@pytest.fixture
def empty_with_accounts(tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    path = tmp_path / "accounts.sqlite3"
    shutil.copy(sqlite_template, path)
    db = open_database(path)
    AccountService(db).add_account("admin", role="admin", full_name="Ada Admin", password=PASSWORD)
    AccountService(db, Actor("admin", "Ada Admin", "admin")).add_account(
        "coord", role="coordinator", full_name="Carla Coordinator", password=PASSWORD
    )
    yield db
    db.close()


def _window_as(qtbot: QtBot, db: Database, username: str, app_settings: AppSettings) -> MainWindow:
    services = Services(CaseService(db), TaskRunner(), db.display_name)
    services.start_session(AccountService(db).sign_in(username, PASSWORD))
    window = MainWindow(services, app_settings)
    qtbot.addWidget(window)
    window.show()
    return window


def test_with_accounts_only_the_administrator_is_offered_demo_data(
    qtbot: QtBot, empty_with_accounts: Database, app_settings: AppSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    coordinator = _window_as(qtbot, empty_with_accounts, "coord", app_settings)
    assert not coordinator.demo_action.isVisible() and coordinator.greeting.demo.isHidden()
    coordinator.services.tasks.wait()
    coordinator.close()
    admin = _window_as(qtbot, empty_with_accounts, "admin", app_settings)
    assert admin.demo_action.isVisible()
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (7, True))
    task = admin.load_demo()
    assert task is not None
    with qtbot.waitSignal(task.signals.finished, timeout=20000):
        pass
    assert "Added 7 demo cases" in admin.statusBar().currentMessage()
    assert not admin.services.cases.offers_demo()
    admin.services.tasks.wait()
    admin.close()
