"""The app's storage check runs beside the first page: damage found then is said at once, and nothing is
written into the file afterwards, while the cases can still be read and exported."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from caselog.demo import generate_cases
from caselog.errors import StorageError
from ui.app import watch_storage_check
from ui.main_window import MainWindow


def test_damage_found_after_the_first_page_is_shown_and_refuses_writes(
    make_window: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    window = make_window(demo=True)
    db = window.services.db
    rows = window.model.rowCount()
    message = f"The database {db.display_name} is damaged: page 7 is wrong. CaseLog will not write to it."

    def damaged() -> None:
        raise StorageError(message)

    db.check_storage_in_background(damaged)
    watch_storage_check(window)
    qtbot.waitUntil(lambda: hasattr(window, "damage_warning"), timeout=10000)
    box: QMessageBox = window.damage_warning  # type: ignore[attr-defined]
    assert box.isVisible() and box.icon() == QMessageBox.Icon.Critical and box.text() == message
    assert "still read and export" in box.informativeText()
    with pytest.raises(StorageError, match="is damaged"):
        window.services.cases.add_records(generate_cases(1, seed=5))
    window.refresh()
    qtbot.waitUntil(lambda: window.model.rowCount() == rows, timeout=10000)  # reading goes on
    box.close()


def test_a_sound_file_says_nothing(make_window: Callable[..., MainWindow], qtbot: QtBot) -> None:
    window = make_window(demo=True)
    window.services.db.check_storage_in_background(lambda: None)
    watch_storage_check(window)
    qtbot.waitUntil(lambda: window.services.db.storage_verdict() == (True, None), timeout=10000)
    qtbot.wait(300)
    assert not hasattr(window, "damage_warning")
