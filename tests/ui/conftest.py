"""UI test fixtures: offscreen Qt, a fresh database per test (demo data copied from a template), a main window."""

from __future__ import annotations

import os

os.environ["QT_QPA_PLATFORM"] = "offscreen"  # before anything imports Qt

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QEvent, QThreadPool
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from caselog.db.engine import Database
from caselog.db.schema import open_database
from caselog.demo import generate_cases
from caselog.service import CaseService
from caselog.settings import Settings
from ui.main_window import MainWindow
from ui.services import AppSettings, Services
from ui.tasks import GuiThreadGarbageCollector, TaskRunner

DEMO_COUNT = 450  # more than two pages of 200


def top_level_windows() -> set[int]:
    """The application's top-level widgets without a parent (windows, not a combo box's popup), by address."""
    return {shiboken6.getCppPointer(w)[0] for w in QApplication.topLevelWidgets() if w.parent() is None}


def close_windows_left_since(before: set[int]) -> None:
    """Close and delete every parentless top-level widget not in `before` (top_level_windows() taken earlier)."""
    for widget in QApplication.topLevelWidgets():
        if widget.parent() is None and shiboken6.getCppPointer(widget)[0] not in before:
            widget.close()
            widget.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


@pytest.fixture(autouse=True)
def _no_window_outlives_its_test(qapp: Any) -> Iterator[None]:
    """Top-level widgets a test left behind (each main window's lock screen, a bare CaseFields, a dialog nobody
    closed) are closed and deleted after it. Left alive, a worker's hundreds of tests piled up thousands of widgets,
    and every later change of the application's style sheet or palette re-polished them all: 20-35 s in the set-up
    and teardown of each colour-checking test."""
    before = top_level_windows()
    yield
    close_windows_left_since(before)


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_gui_thread(qapp: Any) -> Iterator[None]:
    """As the app does (ui.tasks.GuiThreadGarbageCollector): no collection may start in a worker thread."""
    collector = GuiThreadGarbageCollector()
    yield
    QThreadPool.globalInstance().waitForDone(30_000)
    collector.stop()
    collector.deleteLater()


@pytest.fixture(scope="session")
def demo_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite3"
    shutil.copy(sqlite_template, path)
    db = open_database(path)
    CaseService(db).add_records(generate_cases(DEMO_COUNT, seed=3))
    db.close()
    return path


def _open_copy(template: Path, tmp_path: Path) -> Database:
    path = tmp_path / "caselog.sqlite3"
    shutil.copy(template, path)
    return open_database(path)


def services_over(template: Path, tmp_path: Path) -> Iterator[Services]:
    """Services over a copy of `template` with their own task runner, closed after the test (for the desks)."""
    db = _open_copy(template, tmp_path)
    services = Services(CaseService(db), TaskRunner(), db.display_name)
    yield services
    services.tasks.wait()
    db.close()


@pytest.fixture
def services(tmp_path: Path, demo_template: Path) -> Iterator[Services]:
    """Over a copy of the demo database."""
    yield from services_over(demo_template, tmp_path)


@pytest.fixture
def app_settings() -> AppSettings:
    return AppSettings(Settings(default_surgeon="Dr. Priya Raman", default_facility="Riverside Spine Center"))


@pytest.fixture
def make_window(
    qtbot: QtBot, tmp_path: Path, sqlite_template: Path, demo_template: Path, app_settings: AppSettings
) -> Iterator[Callable[..., MainWindow]]:
    """make_window(demo=True): a shown main window over its own database, first page loaded."""
    opened: list[tuple[MainWindow, Database]] = []

    def make(*, demo: bool = True) -> MainWindow:
        db = _open_copy(demo_template if demo else sqlite_template, tmp_path)
        services = Services(CaseService(db), TaskRunner(), db.display_name)
        window = MainWindow(services, app_settings)
        with qtbot.waitSignal(window.model.loaded, timeout=10000):
            window.show()
        opened.append((window, db))
        return window

    yield make
    for window, db in opened:
        if window.form is not None:
            window.form.dirty = False
            window.form.reject()
        window.services.tasks.wait()
        window.detail.tasks.wait()  # the pane's background reads, before its database closes
        window.close()
        window.deleteLater()  # with its desks and forms: a worker runs hundreds of tests in one QApplication
        db.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


@pytest.fixture
def window(make_window: Callable[..., MainWindow]) -> MainWindow:
    return make_window()


def load_every_page(model: Any, qtbot: QtBot) -> None:
    """Fetch page after page, as scrolling to the end does, until the model holds every matching row."""
    while model.canFetchMore():
        with qtbot.waitSignal(model.fetched, timeout=10_000):
            model.fetchMore()


def choose(combo: Any, key: object) -> None:
    """Pick an entry as a user does (the combo emits `activated`, as after a click)."""
    index = combo.findData(key)
    assert index >= 0, key
    combo.setCurrentIndex(index)
    combo.activated.emit(index)
