"""The print desk's procedures to complete, driven from the keyboard: import the day's CSV, open one with
Return, fill what the schedule lacks, save: the draft case exists and the entry is off the list."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QInputDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from caselog import schedule
from caselog.records import CaseFilter
from ui.desks.print_desk import PrintDesk
from ui.services import AppSettings, Services

DAY = dt.date(2025, 6, 30)
CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
ALT = Qt.KeyboardModifier.AltModifier
SCHEDULE = (
    "date,MRN,name,birth date,sex,procedure,levels,surgeon\n"
    '2025-06-30,SCH-1001,"Lindqvist, Maja",1958-03-14,F,Endoscopic rhizotomy,L4-L5 bilateral; L5-S1 bilateral,'
    "Dr. Priya Raman\n"
    "2025-06-30,SCH-1002,Okoye,1950-01-01,male,laminotomy,L3-L4 left,Dr. Amara Okafor\n"
)


@pytest.fixture
def desk(qtbot: QtBot, services: Services, app_settings: AppSettings) -> Iterator[PrintDesk]:
    parent = QWidget()
    qtbot.addWidget(parent)
    made = PrintDesk(services, app_settings, parent, today=lambda: DAY)
    made.show()
    qtbot.waitUntil(lambda: made.schedule.heading.text() == "To complete: nothing waiting", timeout=10000)
    yield made
    made.close()
    services.tasks.wait()


def _imported(desk: PrintDesk, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl+Shift+I, the file chosen in the open dialog: the two procedures are listed."""
    path = tmp_path / "day.csv"
    path.write_text(SCHEDULE, encoding="utf-8")
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), "Schedule (*.csv)"))
    desk.activateWindow()
    qtbot.waitUntil(desk.isActiveWindow)
    qtbot.keyClick(desk, Qt.Key.Key_I, CTRL_SHIFT)
    qtbot.waitUntil(lambda: desk.schedule.model.rowCount() == 2, timeout=10000)


def test_import_then_complete_with_the_keyboard(
    desk: PrintDesk, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _imported(desk, qtbot, tmp_path, monkeypatch)
    panel = desk.schedule
    assert panel.heading.text() == "To complete: 2 scheduled procedures"
    assert [panel.model.index(0, c).data() for c in range(6)] == [
        "2025-06-30", "Lindqvist, Maja", "Endoscopic rhizotomy", "L4-L5 bilateral; L5-S1 bilateral",
        "Dr. Priya Raman", "SCH-1001"]  # fmt: skip
    before = desk.services.cases.count()
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_Return)
    form = panel.form
    assert form is not None and form.windowTitle() == "Complete the scheduled Endoscopic rhizotomy for Lindqvist, Maja"
    form.activateWindow()
    qtbot.waitUntil(form.isActiveWindow)
    data = form.fields.data()
    assert (data["patient"]["mrn"], data["procedure_date"], data["surgeon"]) == ("SCH-1001", "2025-06-30",
                                                                                 "Dr. Priya Raman")  # fmt: skip
    assert not form.save_button.isEnabled()  # duration, anesthesia and disposition are still missing
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_U, ALT)
    qtbot.keyClicks(QApplication.focusWidget(), "40")
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Y, ALT)
    qtbot.keyClicks(QApplication.focusWidget(), "l")  # Local anesthesia
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_I, ALT)
    qtbot.keyClicks(QApplication.focusWidget(), "s")  # Same-day discharge
    assert form.save_button.isEnabled(), form.status.text()
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=10000)
    assert form.saved is not None and form.saved.status == "draft"
    assert desk.services.cases.count() == before + 1
    (case,) = desk.services.cases.query(CaseFilter(search="SCH-1001"))
    assert (case.procedure, case.levels_text, case.duration_minutes) == (
        "endoscopic_rhizotomy", "L4-L5 bilateral; L5-S1 bilateral", 40)  # fmt: skip
    assert [e.patient.mrn for e in schedule.to_complete(desk.services.cases)] == ["SCH-1002"]
    assert "off the list to complete" in desk.statusBar().currentMessage()


def test_a_refused_schedule_is_shown_by_line_and_nothing_is_listed(
    desk: PrintDesk, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(SCHEDULE.replace("L3-L4 left", "L6-L7 left"), encoding="utf-8")
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *a, **k: shown.append(text))
    task = desk.schedule.import_schedule(path)
    assert task is not None
    desk.services.tasks.wait()
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    assert f"{path}:3: levels: unknown level 'L6-L7'" in shown[0]
    assert desk.schedule.model.rowCount() == 0


def test_a_procedure_that_will_not_happen_is_taken_off_with_its_reason(
    desk: PrintDesk, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _imported(desk, qtbot, tmp_path, monkeypatch)
    asked: list[str] = []

    def reason(_parent: object, _title: str, question: str) -> tuple[str, bool]:
        asked.append(question)
        return "Patient did not come", True

    monkeypatch.setattr(QInputDialog, "getText", reason)
    desk.schedule.table.setFocus()
    qtbot.keyClick(desk.schedule.table, Qt.Key.Key_Down)  # the second: Okoye
    qtbot.keyClick(desk.schedule, Qt.Key.Key_K, ALT)
    qtbot.waitUntil(lambda: desk.schedule.model.rowCount() == 1, timeout=10000)
    assert asked == ["Why will the Laminotomy for Okoye on 2025-06-30 not happen?"]
    assert [e.patient.mrn for e in schedule.to_complete(desk.services.cases)] == ["SCH-1001"]
    (entry,) = [e for e in desk.services.cases.audit_trail() if e.action == "schedule_cancel"]
    assert entry.reason == "Patient did not come"
