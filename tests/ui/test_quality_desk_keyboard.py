"""The quality desk from the keyboard: moving down the list with a typed review asks once, and Cancel stays on the
review being typed (the Down key once put the same question twice)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from tests.ui.test_quality_desk import answer_with, make_desk  # noqa: F401  (a fixture)
from ui.desks.quality_desk import QualityDesk


def test_down_arrow_with_typed_notes_asks_once_and_cancel_stays(
    make_desk: Callable[[], QualityDesk],  # noqa: F811
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    desk = make_desk()
    desk.show()
    desk.table.setFocus()
    qtbot.keyClick(desk.table, Qt.Key.Key_Down)
    first = desk.panel.entry
    assert first is not None
    qtbot.keyClicks(desk.panel.notes, "Typed at the desk")
    asked = answer_with(monkeypatch, QMessageBox.StandardButton.Cancel)
    desk.table.setFocus()
    qtbot.keyClick(desk.table, Qt.Key.Key_Down)
    assert asked == ["Save the review?"]
    assert desk.selected() == first and desk.panel.entry == first
    assert desk.panel.notes.toPlainText() == "Typed at the desk"
    qtbot.keyClick(desk.table, Qt.Key.Key_Down)  # asked again on the next key press: each press is a question
    assert asked == ["Save the review?", "Save the review?"]
