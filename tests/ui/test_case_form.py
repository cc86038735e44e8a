"""The case form as a surgeon uses it: typing, live messages at the fields, saving, drafts, templates, conflicts."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QInputDialog,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QTableView,
    QWidget,
)
from pytestqt.qtbot import QtBot

from caselog import drafts
from caselog.settings import load_settings
from tests.ui.conftest import choose
from ui.case_form import CaseForm
from ui.case_model import ROW_ROLE
from ui.main_window import MainWindow


def open_new(window: MainWindow) -> CaseForm:
    window.new_action.trigger()
    assert window.form is not None and window.form.isVisible()
    return window.form


def click_level(form: CaseForm, level: str, side: str) -> None:
    picker = form.fields.levels.picker
    QtBot.mouseClick(picker, Qt.MouseButton.LeftButton, pos=picker.side_center(level, side))


def type_text(widget: QWidget, text: str) -> None:
    """Typing any script, as a keyboard layout or input method delivers it (QTest's keyClicks is ASCII-only)."""
    for char in text:
        QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, 0, Qt.KeyboardModifier.NoModifier, char))


def fill_valid(qtbot: QtBot, form: CaseForm, mrn: str = "NEW-0001") -> None:
    f = form.fields
    qtbot.keyClicks(f.mrn, mrn)
    type_text(f.family_name, "Łukasik")
    qtbot.keyClicks(f.given_name, "Zofia")
    qtbot.keyClicks(f.birth_date, "1961-04-12")
    choose(f.sex, "female")
    choose(f.procedure, "endoscopic_rhizotomy")
    click_level(form, "L4-L5", "both")
    click_level(form, "L5-S1", "left")
    qtbot.keyClicks(f.start_time, "0810")
    qtbot.keyClicks(f.end_time, "09:05")
    choose(f.anesthesia_type, "local_sedation")
    choose(f.sedation, "moderate")
    choose(f.disposition, "same_day_discharge")


def test_invalid_input_shows_the_message_at_its_field_and_save_stays_disabled(window: MainWindow, qtbot: QtBot) -> None:
    form = open_new(window)
    slot = form.fields.slots["patient.mrn"]
    assert not form.save_button.isEnabled()
    assert not slot.error.isVisible()  # nothing typed yet: no red, just "still needed"
    assert "MRN" in form.status.text()
    qtbot.keyClicks(form.fields.mrn, "AB 12!")
    assert slot.error.isVisible() and "is not a valid MRN" in slot.error.text()
    assert not form.save_button.isEnabled()
    qtbot.keyClicks(form.fields.birth_date, "1961-02-30")
    assert "is not a real date" in form.fields.slots["patient.birth_date"].error.text()
    form.fields.mrn.clear()
    qtbot.keyClicks(form.fields.mrn, "AB-12")
    assert not slot.error.isVisible()


@pytest.mark.parametrize(
    ("field", "text", "key", "message"),
    [
        ("cpt_codes", "64635 6463", "cpt_codes", "'6463' is not a valid code"),
        ("diagnosis_codes", "M47.816 M47.816", "diagnosis_codes", "is listed twice"),
        ("estimated_blood_loss_ml", "20000", "estimated_blood_loss_ml", "out of range"),
        ("prior_block_relief_percent", "lots", "prior_block_relief_percent", "must be a whole number"),
        ("start_time", "08:00", "end_time", "start and end time go together"),
    ],
)
def test_each_message_appears_at_its_field(
    window: MainWindow, qtbot: QtBot, field: str, text: str, key: str, message: str
) -> None:
    form = open_new(window)
    fill_valid(qtbot, form)
    if field == "start_time":
        form.fields.end_time.clear()
        form.fields.start_time.clear()
    edit = form.fields.inputs[field]  # the widget that takes the typing for the field
    assert isinstance(edit, QLineEdit)
    edit.clear()
    qtbot.keyClicks(edit, text)
    error = form.fields.slots[key].error
    assert error.isVisible() and message in error.text()
    assert not form.save_button.isEnabled()


def test_a_case_typed_like_a_person_is_saved_and_listed(window: MainWindow, qtbot: QtBot) -> None:
    before = window.model.total
    form = open_new(window)
    fill_valid(qtbot, form)
    assert form.fields.duration.value() == 55
    assert form.status.text() == "Ready to save."
    assert form.save_button.isEnabled()
    with qtbot.waitSignal(window.model.loaded):
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert window.form is None
    assert window.model.total == before + 1
    selected = window.selected_rows()
    assert len(selected) == 1 and selected[0].mrn == "NEW-0001"
    assert selected[0].levels_text == "L4-L5 bilateral; L5-S1 left"
    view = window.services.cases.get_case(selected[0].case_number)
    assert view.record.surgeon == "Dr. Priya Raman" and view.record.cpt_codes == ("64635", "64636")
    assert view.record.duration_minutes == 55
    assert "Łukasik" in window.detail.toPlainText()
    assert drafts.pending_drafts() == []


def test_a_known_mrn_fills_in_the_patient(window: MainWindow, qtbot: QtBot) -> None:
    row = window.model.index(0, 0).data(ROW_ROLE)
    patient = window.services.cases.find_patient(row.mrn)
    assert patient is not None
    form = open_new(window)
    qtbot.keyClicks(form.fields.mrn, row.mrn)
    assert form.fields.family_name.text() == patient.family_name
    assert form.fields.birth_date.text() == patient.birth_date.isoformat()
    assert form.fields.sex.currentData() == patient.sex
    assert form.fields.known_patient.isVisible()
    qtbot.keyClicks(form.fields.mrn, "9")  # no longer that patient: the filled-in name goes again
    assert form.fields.family_name.text() == "" and not form.fields.known_patient.isVisible()


def test_start_and_end_fill_the_duration(window: MainWindow, qtbot: QtBot) -> None:
    form = open_new(window)
    f = form.fields
    qtbot.keyClicks(f.start_time, "9:30")
    assert f.duration.value() == 0 and not f.duration.isReadOnly()
    qtbot.keyClicks(f.end_time, "10:45")
    assert f.duration.value() == 75 and f.duration.isReadOnly()
    assert form.fields.data()["start_time"].endswith("T09:30")
    f.start_time.clear()
    f.end_time.clear()
    qtbot.keyClicks(f.end_time, "x")
    f.end_time.clear()
    f.end_time.textEdited.emit("")
    assert not f.duration.isReadOnly()
    f.duration.setValue(40)
    assert form.fields.data()["duration_minutes"] == 40


def test_suggested_cpt_codes_follow_procedure_and_levels_until_edited(window: MainWindow, qtbot: QtBot) -> None:
    form = open_new(window)
    f = form.fields
    choose(f.procedure, "medial_branch_block")
    click_level(form, "L3-L4", "both")
    assert f.cpt_codes.text() == "64493"
    click_level(form, "L4-L5", "both")
    click_level(form, "L5-S1", "both")
    assert f.cpt_codes.text() == "64493 64494 64495"
    f.cpt_codes.clear()
    qtbot.keyClicks(f.cpt_codes, "64999")
    click_level(form, "L5-S1", "both")  # the user's codes stay
    assert f.cpt_codes.text() == "64999"
    assert "64493 64494" in f.cpt_hint.text()
    qtbot.mouseClick(f.cpt_suggest, Qt.MouseButton.LeftButton)
    assert f.cpt_codes.text() == "64493 64494"


def test_complications_and_outcomes_tables(window: MainWindow, qtbot: QtBot) -> None:
    form = open_new(window)
    fill_valid(qtbot, form)
    editor = form.fields.complications
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    assert editor.model.rowCount() == 1
    assert not form.save_button.isEnabled()  # category, timing, onset and grade missing
    assert "Row 1, Complication: is required" in editor.problems_label.text()
    model = editor.model
    model.setData(model.index(0, model.column_of("category")), "hematoma")
    model.setData(model.index(0, model.column_of("timing")), "intraoperative")  # the onset date follows
    model.setData(model.index(0, model.column_of("clavien_dindo")), "I")
    assert form.save_button.isEnabled(), form.status.text()
    outcomes = form.fields.outcomes
    qtbot.mouseClick(outcomes.add_button, Qt.MouseButton.LeftButton)
    outcomes.model.setData(outcomes.model.index(0, 0), "baseline")
    outcomes.model.setData(outcomes.model.index(0, 1), dt.date.today().isoformat())
    assert "needs at least one of" in outcomes.problems_label.text()
    outcomes.model.setData(outcomes.model.index(0, 2), "7")
    assert form.save_button.isEnabled()
    outcomes.view.selectRow(0)
    qtbot.mouseClick(outcomes.remove_button, Qt.MouseButton.LeftButton)
    assert outcomes.model.rowCount() == 0
    with qtbot.waitSignal(window.model.loaded):
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    number = window.selected_rows()[0].case_number
    assert window.services.cases.get_case(number).record.complications[0].category == "hematoma"


def test_stale_edit_is_refused_and_the_form_keeps_the_input(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    with qtbot.waitSignal(window.model.loaded):
        choose(window.filters.status, "draft")
    window.table.selectRow(0)
    row = window.selected_rows()[0]
    window.edit_action.trigger()
    form = window.form
    assert form is not None and form.fields.mrn.text() == row.mrn
    # someone at another workstation saves the same case first
    service = window.services.cases
    theirs = service.get_case(row.case_number)
    data = json.loads(json.dumps(__import__("ui.case_form", fromlist=["edit_data"]).edit_data(theirs)))
    data["notes"] = "their change"
    service.update_case(row.case_number, data, expected_version=theirs.version)
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, title, text, *a: warnings.append(f"{title}: {text}"))
    form.fields.notes.setPlainText("my careful note")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert warnings and "changed by someone else" in warnings[0]
    assert window.form is form and form.isVisible()
    assert form.fields.notes.toPlainText() == "my careful note"
    assert service.get_case(row.case_number).record.notes == "their change"
    assert "Not saved" in form.status.text()


def test_editing_a_draft_saves_a_new_version(window: MainWindow, qtbot: QtBot) -> None:
    with qtbot.waitSignal(window.model.loaded):
        choose(window.filters.status, "draft")
    window.table.selectRow(0)
    row = window.selected_rows()[0]
    form = window.edit_case()
    assert form is not None and form.save_button.isEnabled()
    form.fields.notes.setPlainText("Reviewed the levels with the patient.")
    with qtbot.waitSignal(window.model.loaded):
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    view = window.services.cases.get_case(row.case_number)
    assert view.version == row.version + 1 and view.record.notes == "Reviewed the levels with the patient."


def test_repeat_procedure_prefills_patient_procedure_and_levels(window: MainWindow) -> None:
    window.table.selectRow(0)
    row = window.selected_rows()[0]
    form = window.repeat_case()
    assert form is not None
    f = form.fields
    assert f.mrn.text() == row.mrn
    assert f.procedure.currentData() == row.procedure
    assert f.levels.picker.text() == row.levels_text
    assert f.procedure_date.date().toPython() == dt.date.today()
    assert f.start_time.text() == "" and f.complications.model.rowCount() == 0
    assert "Repeat procedure" in form.windowTitle()


def test_draft_is_written_while_typing_and_offered_after_a_crash(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = open_new(window)
    qtbot.keyClicks(form.fields.mrn, "CRASH-1")
    qtbot.keyClicks(form.fields.family_name, "Ivanova")
    path = drafts.draft_path(form.draft_id)
    qtbot.waitUntil(path.exists)
    assert json.loads(path.read_text(encoding="utf-8"))["data"]["patient"]["mrn"] == "CRASH-1"
    # the app dies: the form vanishes without being closed, the file stays
    form.hide()
    window.form = None
    monkeypatch.setattr("ui.main_window.QMessageBox.exec", lambda box: box.defaultButton().click())
    window.offer_drafts()
    restored = window.form
    assert restored is not None and restored is not form
    assert restored.fields.mrn.text() == "CRASH-1" and restored.fields.family_name.text() == "Ivanova"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    restored.reject()
    assert not path.exists()


def test_cancel_with_unsaved_input_asks_first(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = open_new(window)
    qtbot.keyClicks(form.fields.mrn, "KEEP-1")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Cancel)
    qtbot.mouseClick(form.cancel_button, Qt.MouseButton.LeftButton)
    assert form.isVisible() and form.fields.mrn.text() == "KEEP-1"


def test_templates_are_saved_and_start_new_cases(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = open_new(window)
    fill_valid(qtbot, form)
    name = "Bilateral L4-L5 rhizotomy, local + sedation"
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: (name, True))
    form.save_template()
    stored = load_settings().templates[name]
    assert stored["procedure"] == "endoscopic_rhizotomy" and "patient" not in stored
    form.dirty = False
    form.reject()
    assert name in [a.text() for a in window.template_menu.actions()]
    new = window.new_from_template(name)
    assert new is not None
    assert new.fields.mrn.text() == ""
    assert new.fields.procedure.currentData() == "endoscopic_rhizotomy"
    assert new.fields.levels.picker.text() == "L4-L5 bilateral; L5-S1 left"
    assert new.fields.sedation.currentData() == "moderate" and new.fields.sedation.isEnabled()
    assert new.fields.cpt_codes.text() == "64635 64636"


def test_every_control_is_named_and_the_form_fits_a_laptop_screen(window: MainWindow) -> None:
    form = open_new(window)
    # 1366x768 less the title bar and task bar: the fields fit a 1280x720 dialog without scrolling sideways
    fields = form.fields.minimumSizeHint()
    assert fields.width() <= 1280 - 40 and fields.height() <= 720 - 80
    assert form.width() <= 1366 and form.height() <= 768
    inner = (QAbstractSpinBox, QComboBox)
    controls = (QLineEdit, QComboBox, QAbstractButton, QAbstractSpinBox, QPlainTextEdit, QTableView)
    unnamed = [
        w
        for w in form.findChildren(QWidget)
        if isinstance(w, controls)
        and w.focusPolicy() != Qt.FocusPolicy.NoFocus
        and not w.accessibleName()
        and not isinstance(w.parentWidget(), inner)
        and w.parentWidget() is not None
        and type(w.parentWidget()).__name__ != "QTabBar"
    ]
    assert unnamed == []
    assert form.fields.levels.picker.accessibleName() == "Spine level picker"


def test_tab_moves_through_the_form_in_order(window: MainWindow, qtbot: QtBot) -> None:
    form = open_new(window)
    f = form.fields
    form.activateWindow()
    f.mrn.setFocus()
    qtbot.waitUntil(f.mrn.hasFocus)
    seen: list[QWidget] = []
    for _ in range(14):
        current = QApplication.focusWidget()
        assert current is not None
        qtbot.keyClick(current, Qt.Key.Key_Tab)
        now = QApplication.focusWidget()
        owner = now.parentWidget() if isinstance(now.parentWidget(), QAbstractSpinBox | QComboBox) else now
        seen.append(owner)
    expected = [f.family_name, f.given_name, f.birth_date, f.sex, f.procedure_date, f.procedure, f.procedure_detail]
    assert seen[: len(expected)] == expected
    assert f.levels.picker in seen


def test_a_signed_case_needs_a_reason_only_when_amended(window: MainWindow, qtbot: QtBot) -> None:
    with qtbot.waitSignal(window.model.loaded):
        choose(window.filters.status, "final")
    window.table.selectRow(0)
    form = window.edit_case()
    assert form is not None and form.signed
    # Adding a follow-up outcome is an addendum: no reason asked, the case stays signed.
    data = form.fields.data()
    used = {o["timepoint"] for o in data["outcomes"]}
    free = next(t for t in ("5y", "24m", "12m", "6m") if t not in used)
    data["outcomes"] = [*data["outcomes"], {"timepoint": free, "date": dt.date.today().isoformat(), "odi": 12}]
    form.fields.set_data(data)
    form.revalidate()
    assert form.record_ok and form.save_button.isEnabled() and not form.reason.isEnabled()
    # Changing what was signed is an amendment: Save waits for the reason.
    form.fields.notes.setPlainText("Changed after signing")
    form.revalidate()
    assert form.reason.isEnabled() and not form.save_button.isEnabled()
    qtbot.keyClicks(form.reason, "Wrong note at signing")
    form.revalidate()
    assert form.save_button.isEnabled()
