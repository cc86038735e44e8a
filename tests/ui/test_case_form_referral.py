"""The referring physician and copy recipients typed in the form, kept by edits and repeats."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from tests.ui.test_case_form import fill_valid, open_new
from tests.ui.test_case_form_keyboard import active_form
from ui.main_window import MainWindow


def test_referral_typed_in_the_form_is_saved_and_kept_by_an_edit_and_a_repeat(window: MainWindow, qtbot: QtBot) -> None:
    open_new(window)
    form = active_form(qtbot, window)
    fill_valid(qtbot, form, mrn="REF-0001")
    f = form.fields
    f.tabs.setCurrentIndex(2)
    assert "Referral" in f.tabs.tabText(2)
    qtbot.keyClicks(f.referring_physician, "Dr. Ken Ito, Riverside Pain Clinic")
    qtbot.keyClicks(f.copy_to, "Dr. A. Roy;  Physio Dept. ; ")
    assert form.save_button.isEnabled()
    with qtbot.waitSignal(window.model.loaded):
        qtbot.keyClick(f.copy_to, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    (row,) = window.selected_rows()
    record = window.services.cases.get_case(row.case_number).record
    assert record.referring_physician == "Dr. Ken Ito, Riverside Pain Clinic"
    assert record.copy_to == ("Dr. A. Roy", "Physio Dept.")

    edit = window.edit_case()
    assert edit is not None
    assert edit.fields.referring_physician.text() == "Dr. Ken Ito, Riverside Pain Clinic"
    assert edit.fields.copy_to.text() == "Dr. A. Roy; Physio Dept."
    edit.reject()

    repeat = window.repeat_case()
    assert repeat is not None
    assert repeat.fields.referring_physician.text() == "Dr. Ken Ito, Riverside Pain Clinic"
    assert "referral" in repeat.banner.text()


def test_too_long_a_referral_is_named_in_the_status_line(window: MainWindow, qtbot: QtBot) -> None:
    form = open_new(window)
    fill_valid(qtbot, form, mrn="REF-0002")
    form.fields.referring_physician.setText("x" * 201)
    form.fields.referring_physician.textEdited.emit("x" * 201)
    qtbot.waitUntil(lambda: "referring physician" in form.status.text())
    assert not form.save_button.isEnabled()
