"""No widget of one test outlives it: a worker runs hundreds of UI tests in one QApplication, and every change of
the application's style sheet or palette re-polishes every widget still alive (20-35 s per colour test once a
few thousand had piled up)."""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QWidget

from tests.ui.conftest import close_windows_left_since, top_level_windows
from ui.lock_screen import LockScreen
from ui.main_window import MainWindow
from ui.services import Services


def test_windows_a_test_leaves_are_closed_and_deleted_but_not_the_earlier_ones(services: Services) -> None:
    earlier = QWidget()  # a window open before
    combo = QComboBox(earlier)
    combo.addItems(["a", "b"])
    popup = combo.view().window()  # a top-level popup, owned by its combo box
    before = top_level_windows()
    lock_screen = LockScreen(services.cases.db)  # each main window makes one, without a parent
    stray = QLineEdit()
    close_windows_left_since(before)
    assert not shiboken6.isValid(lock_screen) and not shiboken6.isValid(stray)
    assert shiboken6.isValid(earlier) and shiboken6.isValid(popup) and popup.parent() is combo
    earlier.deleteLater()


def test_a_test_starts_without_windows_of_earlier_tests(make_window: Callable[..., MainWindow]) -> None:
    """Run after other UI tests: the windows they made are not piling up. A few may be alive: a fixture wider than
    one test (a module's window) makes its windows before this check's snapshot and closes them at its own end,
    and under xdist any file's tests may run before this one. Without the clean-up every main window of the
    worker's earlier tests leaves its lock screen (hundreds, with thousands of child widgets)."""
    alive = [type(w).__name__ for w in QApplication.topLevelWidgets() if w.parent() is None]
    assert len(alive) <= 8, alive
    assert len(QApplication.allWidgets()) < 800, len(QApplication.allWidgets())
    make_window()  # leaves its lock screen for the next test's start to find, were it not deleted
