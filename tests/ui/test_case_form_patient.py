"""The case form cannot put a case under the wrong patient: a locked identity in repeats and edits, and a
question before a second MRN is opened for someone already on file."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from caselog.records import CaseView, Patient
from tests.factories import make_case
from tests.ui.conftest import choose
from tests.ui.test_case_form import click_level, open_new, type_text
from ui.case_form import CaseForm
from ui.main_window import MainWindow


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def activate(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()
    window.table.setFocus()
    qtbot.waitUntil(window.isActiveWindow)


def repeat_selected(qtbot: QtBot, window: MainWindow) -> CaseForm:
    """Ctrl+R on the case list, as a person starts a repeat."""
    activate(qtbot, window)
    qtbot.keyClick(window.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    form = window.form
    assert form is not None
    qtbot.waitUntil(form.isActiveWindow)
    return form


def select_case(qtbot: QtBot, window: MainWindow, view: CaseView) -> None:
    with qtbot.waitSignal(window.model.loaded):
        window.refresh(select=view.case_number)
    assert window.selected_rows()[0].case_number == view.case_number


def test_repeat_opens_in_duration_with_the_patient_locked(window: MainWindow, qtbot: QtBot) -> None:
    """The reported error: after Ctrl+R the MRN had focus, selected; typing "38" and saving stored the case under
    MRN 38 with the earlier patient's name and birth date."""
    window.table.selectRow(0)
    row = window.selected_rows()[0]
    form = repeat_selected(qtbot, window)
    f = form.fields
    assert focused() is f.duration
    qtbot.keyClicks(focused(), "38")
    assert f.mrn.text() == row.mrn and f.duration.value() == 38
    # the identity is read-only (and says so), even when clicked into
    assert f.mrn.isReadOnly() and f.family_name.isReadOnly() and f.birth_date.isReadOnly()
    assert not f.sex.isEnabled() and f.change_patient.isVisible()
    assert f.patient_group.title() == "Patient (locked)"
    qtbot.mouseClick(f.mrn, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(f.mrn, "38")
    assert f.mrn.text() == row.mrn
    with qtbot.waitSignal(window.model.loaded):
        qtbot.keyClick(focused(), Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = window.services.cases.get_case(window.selected_rows()[0].case_number)
    assert saved.record.patient.mrn == row.mrn and saved.record.duration_minutes == 38


def test_change_patient_asks_first_and_never_keeps_the_old_name(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    window.table.selectRow(0)
    row = window.selected_rows()[0]
    other = next(r for i in range(1, 50) if (r := window.model.row_at(i)) is not None and r.mrn != row.mrn)
    form = repeat_selected(qtbot, window)
    f = form.fields
    answers = [QMessageBox.StandardButton.No]
    asked: list[str] = []

    def question(_parent: object, title: str, *_args: object) -> QMessageBox.StandardButton:
        asked.append(title)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", question)
    qtbot.mouseClick(f.change_patient, Qt.MouseButton.LeftButton)
    assert asked == ["Change the patient?"] and f.mrn.isReadOnly()
    answers.append(QMessageBox.StandardButton.Yes)
    qtbot.mouseClick(f.change_patient, Qt.MouseButton.LeftButton)
    assert not f.mrn.isReadOnly() and f.sex.isEnabled() and not f.change_patient.isVisible()
    assert focused() is f.mrn and f.mrn.selectedText() == row.mrn
    qtbot.keyClicks(focused(), "38")  # an MRN nobody has: the earlier patient's name must not stay
    assert f.mrn.text() == "38" and f.family_name.text() == "" and f.birth_date.text() == ""
    f.mrn.selectAll()
    qtbot.keyClicks(f.mrn, other.mrn)  # a known MRN fills in that patient
    patient = window.services.cases.find_patient(other.mrn)
    assert patient is not None and f.family_name.text() == patient.family_name


def twin_of_a_listed_patient(qtbot: QtBot, window: MainWindow, mrn: str) -> tuple[CaseForm, Patient]:
    """A new case typed under a new MRN with the name, birth date and sex of the first listed case's patient."""
    window.table.selectRow(0)
    patient = window.services.cases.find_patient(window.selected_rows()[0].mrn)
    assert patient is not None
    form = open_new(window)
    f = form.fields
    qtbot.keyClicks(f.mrn, mrn)
    type_text(f.family_name, patient.family_name)
    type_text(f.given_name, patient.given_name)
    qtbot.keyClicks(f.birth_date, patient.birth_date.isoformat())
    choose(f.sex, patient.sex)
    choose(f.procedure, "endoscopic_rhizotomy")
    click_level(form, "L4-L5", "both")
    qtbot.keyClicks(f.duration, "40")
    choose(f.anesthesia_type, "local")
    choose(f.disposition, "same_day_discharge")
    return form, patient


def test_a_new_mrn_for_a_patient_on_file_asks_first(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = window.model.total
    form, patient = twin_of_a_listed_patient(qtbot, window, "NEW-38")
    assert form.save_button.isEnabled(), form.status.text()
    questions: list[str] = []
    choice = ["Go back"]

    def answer(box: QMessageBox) -> int:
        questions.append(box.text())
        next(b for b in box.buttons() if b.text() == choice[0]).click()
        return 0

    monkeypatch.setattr(QMessageBox, "exec", answer)
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert questions == [f"Same person as MRN {patient.mrn}?"]
    assert window.form is form and form.isVisible() and form.saved is None
    assert window.services.cases.count() == before
    choice[0] = f"Use MRN {patient.mrn}"
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert form.fields.mrn.text() == patient.mrn and form.saved is None  # back in the form, to look again
    with qtbot.waitSignal(window.model.loaded):
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)  # a known MRN: no question
    assert len(questions) == 2
    assert window.selected_rows()[0].mrn == patient.mrn


def test_a_second_mrn_can_still_be_opened_after_the_question(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    form, _ = twin_of_a_listed_patient(qtbot, window, "TWIN-2")
    monkeypatch.setattr(
        QMessageBox, "exec", lambda box: next(b for b in box.buttons() if b.text() == "Save as a new patient").click()
    )
    with qtbot.waitSignal(window.model.loaded):
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    assert window.selected_rows()[0].mrn == "TWIN-2"


def test_repeat_names_the_case_it_repeats_and_leaves_that_day_s_people_out(window: MainWindow, qtbot: QtBot) -> None:
    data = make_case(
        assistants=["Sam Whitfield, PA-C"],
        prior_block_relief_percent=80,
        anesthesia={"type": "local_sedation", "sedation": "moderate", "asa_class": "II", "emergency": True,
                    "provider": "Dr. Lena Park"},
    )  # fmt: skip
    view = window.services.cases.create_case(data)
    select_case(qtbot, window, view)
    form = repeat_selected(qtbot, window)
    f = form.fields
    assert form.banner.isVisible()
    assert form.banner.text().startswith(
        f"Repeat of {view.case_number} (Endoscopic rhizotomy, 14 Mar 2025): patient, procedure, levels and sides "
        "carried over"
    )
    assert f.levels.picker.text() == "L4-L5 bilateral; L5-S1 left" and f.asa_class.currentData() == "II"
    assert f.assistants.text() == "" and f.anesthesia_provider.text() == ""
    assert f.data()["prior_block_relief_percent"] is None
    assert not f.emergency.isChecked()
    assert f.procedure_date.date().toPython() == dt.date.today()


def test_edit_locks_the_patient_and_starts_at_the_procedure_date(window: MainWindow, qtbot: QtBot) -> None:
    with qtbot.waitSignal(window.model.loaded):
        choose(window.filters.status, "draft")
    window.table.selectRow(0)
    activate(qtbot, window)
    qtbot.keyClick(window.table, Qt.Key.Key_Return)
    form = window.form
    assert form is not None
    qtbot.waitUntil(form.isActiveWindow)
    assert form.fields.mrn.isReadOnly() and focused() is form.fields.procedure_date
    assert not form.banner.isVisible()


def test_a_new_case_leaves_the_patient_open(window: MainWindow) -> None:
    form = open_new(window)
    assert not form.fields.mrn.isReadOnly() and not form.fields.change_patient.isVisible()
    assert form.fields.patient_group.title() == "Patient"
