"""The case form from the keyboard: Return moves on, Ctrl+S saves, mnemonics, tables Tab leaves, and the
keystroke budget of a whole case (each key sent is counted)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QApplication, QComboBox, QGroupBox, QLabel, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.test_case_form import fill_valid, open_new
from ui.case_form import CaseForm
from ui.main_window import MainWindow

NO = Qt.KeyboardModifier.NoModifier
CTRL = Qt.KeyboardModifier.ControlModifier
ALT = Qt.KeyboardModifier.AltModifier
KEYPAD = Qt.KeyboardModifier.KeypadModifier


class Keyboard:
    """Presses keys wherever the focus is, as a person does, and counts them (a capital letter is two: Shift)."""

    def __init__(self, qtbot: QtBot) -> None:
        self.qtbot = qtbot
        self.count = 0

    @staticmethod
    def focus() -> QWidget:
        widget = QApplication.focusWidget()
        assert widget is not None
        return widget

    def press(self, key: Qt.Key, modifier: Qt.KeyboardModifier = NO) -> None:
        self.qtbot.keyClick(self.focus(), key, modifier)
        self.count += 1

    def type(self, text: str) -> None:
        for char in text:
            self.qtbot.keyClicks(self.focus(), char)
            self.count += 2 if char.isupper() else 1


def active_form(qtbot: QtBot, window: MainWindow) -> CaseForm:
    form = window.form
    assert form is not None
    form.activateWindow()
    qtbot.waitUntil(form.isActiveWindow)
    return form


def ready_window(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()
    window.table.setFocus()
    qtbot.waitUntil(window.isActiveWindow)


@pytest.mark.parametrize("modifier", [KEYPAD, NO], ids=["keypad Enter", "Return"])
def test_enter_in_a_field_moves_on_and_never_saves(window: MainWindow, qtbot: QtBot, modifier: object) -> None:
    """Keypad Enter used to reach the dialog's default button and save at once, before the rest was entered."""
    key = Qt.Key.Key_Enter if modifier == KEYPAD else Qt.Key.Key_Return
    form = open_new(window)
    fill_valid(qtbot, form)
    form = active_form(qtbot, window)
    f = form.fields
    assert form.save_button.isEnabled()
    for start, after in ((f.mrn, f.family_name), (f.given_name, f.birth_date), (f.start_time, f.end_time)):
        start.setFocus()
        qtbot.keyClick(start, key, modifier)  # type: ignore[arg-type]
        assert form.isVisible() and form.saved is None
        assert QApplication.focusWidget() is after
    f.duration.setFocus()
    qtbot.keyClick(f.anesthesia_type, key, modifier)  # type: ignore[arg-type]
    assert form.isVisible() and form.saved is None


@pytest.mark.parametrize(
    ("key", "modifier"),
    [(Qt.Key.Key_S, CTRL), (Qt.Key.Key_Return, CTRL), (Qt.Key.Key_Enter, CTRL | KEYPAD)],
    ids=["Ctrl+S", "Ctrl+Return", "Ctrl+keypad Enter"],
)
def test_ctrl_s_and_ctrl_return_save(window: MainWindow, qtbot: QtBot, key: Qt.Key, modifier: object) -> None:
    before = window.model.total
    open_new(window)
    form = active_form(qtbot, window)
    fill_valid(qtbot, form)
    form.fields.notes.setFocus()
    qtbot.keyClicks(form.fields.notes, "Tolerated well")
    with qtbot.waitSignal(window.model.loaded):
        qtbot.keyClick(form.fields.notes, key, modifier)  # type: ignore[arg-type]
    assert window.form is None and window.model.total == before + 1
    assert window.services.cases.get_case(window.selected_rows()[0].case_number).record.notes == "Tolerated well"


def test_tab_leaves_the_complications_and_outcomes_tables(window: MainWindow, qtbot: QtBot) -> None:
    open_new(window)
    form = active_form(qtbot, window)
    for editor in (form.fields.complications, form.fields.outcomes):
        form.fields.tabs.setCurrentWidget(editor.parentWidget())
        qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
        qtbot.keyClick(Keyboard.focus(), Qt.Key.Key_Escape)  # close the cell editor the new row opened
        assert QApplication.focusWidget() is editor.view
        qtbot.keyClick(editor.view, Qt.Key.Key_Tab)
        assert QApplication.focusWidget() is not editor.view and not editor.view.isAncestorOf(Keyboard.focus())


def test_alt_a_adds_a_complication_from_any_field(window: MainWindow, qtbot: QtBot) -> None:
    open_new(window)
    form = active_form(qtbot, window)
    f = form.fields
    f.tabs.setCurrentIndex(1)  # even with the outcomes in front
    f.mrn.setFocus()
    qtbot.keyClick(f.mrn, Qt.Key.Key_A, ALT)
    assert f.complications.model.rowCount() == 1 and f.tabs.currentIndex() == 0
    assert isinstance(Keyboard.focus(), QComboBox) and Keyboard.focus().accessibleName() == "Complication"
    assert "Alt+A" in f.complications.add_button.toolTip() or "&A" in f.complications.add_button.text()


def mnemonic(text: str) -> str | None:
    found = re.search(r"&([^&])", text)
    return found.group(1).upper() if found else None


def test_labels_have_mnemonics_without_clashes(window: MainWindow, qtbot: QtBot) -> None:
    open_new(window)
    form = active_form(qtbot, window)
    f = form.fields
    letters: list[tuple[str, str]] = []
    for label in form.findChildren(QLabel):
        if label.buddy() is not None:
            letter = mnemonic(label.text())
            if label.text().rstrip().endswith("*"):  # every required field can be reached with Alt
                assert letter, label.text()
            if letter:
                letters.append((letter, label.text()))
    for widget in [*form.findChildren(QAbstractButton), *form.findChildren(QGroupBox)]:
        text = widget.title() if isinstance(widget, QGroupBox) else widget.text()
        if (letter := mnemonic(text)) and widget is not f.complications.add_button:
            letters.append((letter, text))
    for shortcut in form.findChildren(QShortcut):
        keys = shortcut.key().toString(QKeySequence.SequenceFormat.PortableText)
        if keys.startswith("Alt+"):
            letters.append((keys[4:].upper(), keys))
    taken = [letter for letter, _ in letters]
    assert len(taken) >= 20
    assert sorted(taken) == sorted(set(taken)), sorted(letters)
    # and they go where they say
    for key, widget in ((Qt.Key.Key_U, f.duration), (Qt.Key.Key_Y, f.anesthesia_type), (Qt.Key.Key_V, f.levels.picker),
                        (Qt.Key.Key_M, f.mrn), (Qt.Key.Key_I, f.disposition)):  # fmt: skip
        qtbot.keyClick(Keyboard.focus(), key, ALT)
        assert Keyboard.focus() is widget, key


def test_clicking_into_duration_and_typing_works(window: MainWindow, qtbot: QtBot) -> None:
    """The spin box's "—" special text was real text: a click put the cursor beside it and "—45" was refused."""
    open_new(window)
    form = active_form(qtbot, window)
    duration = form.fields.duration
    qtbot.mouseClick(duration, Qt.MouseButton.LeftButton, pos=duration.rect().center())
    qtbot.keyClicks(Keyboard.focus(), "45")
    assert form.fields.data()["duration_minutes"] == 45


def test_a_new_complication_has_no_timing_until_one_is_chosen(window: MainWindow, qtbot: QtBot) -> None:
    open_new(window)
    form = active_form(qtbot, window)
    fill_valid(qtbot, form)
    keys = Keyboard(qtbot)
    form.fields.mrn.setFocus()
    keys.press(Qt.Key.Key_A, ALT)
    model = form.fields.complications.model
    assert model.rows[0].get("timing", "") == "" and model.rows[0].get("onset_date", "") == ""
    keys.type("h")  # Hematoma
    keys.press(Qt.Key.Key_Tab)
    assert not form.save_button.isEnabled() and "complication 1 timing" in form.status.text()
    keys.type("i")  # Intraoperative: the onset date is the procedure date
    keys.press(Qt.Key.Key_Tab)
    keys.press(Qt.Key.Key_Tab)
    keys.type("i")  # Clavien-Dindo I
    keys.press(Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: model.rows[0].get("clavien_dindo") == "I")
    assert model.items()[0] | {"review_status": "open"} == {
        "category": "hematoma", "timing": "intraoperative", "onset_date": dt.date.today().isoformat(),
        "clavien_dindo": "I", "description": None, "treatment": None, "resolved_date": None, "review_status": "open",
    }  # fmt: skip
    assert form.save_button.isEnabled(), form.status.text()


def test_the_status_line_names_the_fields_in_words(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    open_new(window)
    form = active_form(qtbot, window)
    f = form.fields
    qtbot.keyClicks(f.mrn, "77-1")
    qtbot.keyClicks(f.birth_date, "1958-13-40")
    keys = Keyboard(qtbot)
    f.mrn.setFocus()
    keys.press(Qt.Key.Key_A, ALT)
    keys.type("p")  # no category starts with "p": it stays empty
    keys.press(Qt.Key.Key_Escape)
    status = form.status.text()
    assert "To correct: birth date, complication 1 category, complication 1 timing" in status, status
    assert "complication 1 onset date" in status and "complication 1 Clavien-Dindo grade" in status
    assert "Still needed: family name, sex, procedure, levels, duration, anesthesia type" in status, status
    assert "[" not in status and "anesthesia.type" not in status and "_" not in status


def test_a_new_rhizotomy_case_in_at_most_60_keystrokes(window: MainWindow, qtbot: QtBot) -> None:
    """Two bilateral levels, local anesthesia with sedation, one complication: from Ctrl+N to saved."""
    ready_window(qtbot, window)
    keys = Keyboard(qtbot)
    keys.press(Qt.Key.Key_N, CTRL)
    form = active_form(qtbot, window)
    keys.type("77-1")  # MRN: the form opens there
    keys.press(Qt.Key.Key_Tab)
    keys.type("Ng")
    keys.press(Qt.Key.Key_Tab)
    keys.type("Lan")
    keys.press(Qt.Key.Key_Tab)
    keys.type("1958-03-14")
    keys.press(Qt.Key.Key_Tab)
    keys.type("f")  # Female
    keys.press(Qt.Key.Key_Tab)  # the procedure date is today
    keys.press(Qt.Key.Key_Tab)
    keys.type("e")  # Endoscopic rhizotomy
    keys.press(Qt.Key.Key_V, ALT)  # levels: the picker starts on L4-L5
    keys.press(Qt.Key.Key_Space)
    keys.press(Qt.Key.Key_Down)
    keys.press(Qt.Key.Key_Space)
    keys.press(Qt.Key.Key_U, ALT)
    keys.type("45")
    keys.press(Qt.Key.Key_Y, ALT)
    keys.type("l")  # Local anesthesia
    keys.press(Qt.Key.Key_Down)  # … with sedation
    keys.press(Qt.Key.Key_O, ALT)
    keys.type("mo")  # Moderate
    keys.press(Qt.Key.Key_I, ALT)
    keys.type("s")  # Same-day discharge
    keys.press(Qt.Key.Key_A, ALT)
    keys.type("h")  # Hematoma
    keys.press(Qt.Key.Key_Tab)
    keys.type("i")  # intraoperative (onset: the procedure date)
    keys.press(Qt.Key.Key_Tab)
    keys.press(Qt.Key.Key_Tab)
    keys.type("i")  # Clavien-Dindo I
    keys.press(Qt.Key.Key_Return)
    assert form.save_button.isEnabled(), form.status.text()
    with qtbot.waitSignal(window.model.loaded):
        keys.press(Qt.Key.Key_S, CTRL)
    assert keys.count <= 60, keys.count
    record = window.services.cases.get_case(window.selected_rows()[0].case_number).record
    assert (record.patient.mrn, record.patient.display_name, record.patient.sex) == ("77-1", "Ng, Lan", "female")
    assert record.procedure == "endoscopic_rhizotomy" and record.duration_minutes == 45
    assert [(lv.level, lv.side) for lv in record.levels] == [("L4-L5", "bilateral"), ("L5-S1", "bilateral")]
    assert (record.anesthesia.type, record.anesthesia.sedation) == ("local_sedation", "moderate")
    assert record.disposition == "same_day_discharge" and record.surgeon == "Dr. Priya Raman"
    (complication,) = record.complications
    assert (complication.category, complication.timing, complication.clavien_dindo) == (
        "hematoma", "intraoperative", "I",
    )  # fmt: skip


def test_a_repeat_with_a_new_duration_in_at_most_10_keystrokes(window: MainWindow, qtbot: QtBot) -> None:
    window.table.selectRow(0)
    row = window.selected_rows()[0]
    ready_window(qtbot, window)
    keys = Keyboard(qtbot)
    keys.press(Qt.Key.Key_R, CTRL)
    active_form(qtbot, window)
    keys.type("45")
    with qtbot.waitSignal(window.model.loaded):
        keys.press(Qt.Key.Key_S, CTRL)
    assert keys.count <= 10, keys.count
    record = window.services.cases.get_case(window.selected_rows()[0].case_number).record
    assert record.patient.mrn == row.mrn and record.duration_minutes == 45
    assert record.procedure_date == dt.date.today() and record.procedure == row.procedure
