"""Tab through the case form as a person does: it moves on from the indication and notes (a Tab once typed a tab
character into the indication and kept the focus there), and never stops on the invisible scroll area."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QScrollArea
from pytestqt.qtbot import QtBot

from tests.ui.test_case_form import open_new
from tests.ui.test_case_form_keyboard import Keyboard, active_form
from ui.main_window import MainWindow


def test_tab_moves_on_from_the_indication_and_the_notes(window: MainWindow, qtbot: QtBot) -> None:
    open_new(window)
    form = active_form(qtbot, window)
    f = form.fields
    f.tabs.setCurrentIndex(2)  # Referral, indication and notes
    f.referring_physician.setFocus()
    keys = Keyboard(qtbot)
    keys.press(Qt.Key.Key_Tab)
    assert Keyboard.focus() is f.copy_to
    keys.press(Qt.Key.Key_Tab)
    assert Keyboard.focus() is f.indication
    keys.type("Facet pain")
    keys.press(Qt.Key.Key_Tab)
    assert Keyboard.focus() is f.notes and f.indication.toPlainText() == "Facet pain"
    keys.type("Tolerated well")
    keys.press(Qt.Key.Key_Tab)
    assert Keyboard.focus() is not f.notes and f.notes.toPlainText() == "Tolerated well"


def test_tab_from_cancel_goes_to_a_field_not_the_scroll_area(window: MainWindow, qtbot: QtBot) -> None:
    open_new(window)
    form = active_form(qtbot, window)
    form.cancel_button.setFocus()
    qtbot.keyClick(form.cancel_button, Qt.Key.Key_Tab)
    assert not isinstance(QApplication.focusWidget(), QScrollArea)
    assert QApplication.focusWidget() is form.fields.mrn
