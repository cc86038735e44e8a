"""The main window as a user meets it: the list, paging, search and filters, sorting, greeting, actions."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog
from pytestqt.qtbot import QtBot

from caselog import drafts
from caselog.records import CaseFilter
from tests.ui.conftest import DEMO_COUNT, choose
from ui.case_model import COL_PATIENT, PAGE_SIZE, ROW_ROLE
from ui.main_window import MainWindow
from ui.single_instance import SingleInstance


def rows(window: MainWindow) -> list:
    return [window.model.index(i, 0).data(ROW_ROLE) for i in range(window.model.rowCount())]


def test_table_shows_demo_cases_and_fetches_more_on_scroll(window: MainWindow, qtbot: QtBot) -> None:
    assert window.stack.currentIndex() == 1
    assert window.filters.count.text() == f"{DEMO_COUNT} cases"
    assert window.model.rowCount() == PAGE_SIZE
    shown = rows(window)
    assert [r.procedure_date for r in shown] == sorted((r.procedure_date for r in shown), reverse=True)
    bar = window.table.verticalScrollBar()

    def scroll_to_end() -> int:
        bar.setValue(bar.maximum())  # as a user dragging the scroll bar down; the view asks for more rows
        return window.model.rowCount()

    qtbot.waitUntil(lambda: scroll_to_end() >= 2 * PAGE_SIZE)
    qtbot.waitUntil(lambda: scroll_to_end() == DEMO_COUNT)
    assert len({r.case_number for r in rows(window)}) == DEMO_COUNT


def test_search_narrows_the_list_and_the_count(window: MainWindow, qtbot: QtBot) -> None:
    target = rows(window)[5]
    with qtbot.waitSignal(window.model.loaded):
        qtbot.keyClicks(window.filters.search, target.mrn)
    found = rows(window)
    assert found and all(r.mrn == target.mrn for r in found)
    assert window.filters.count.text() == f"{len(found)} of {DEMO_COUNT} cases"


def test_filters_narrow_the_list(window: MainWindow, qtbot: QtBot) -> None:
    with qtbot.waitSignal(window.model.loaded):
        choose(window.filters.procedure, "laminectomy")
    lam = window.model.matching
    assert 0 < lam < DEMO_COUNT and all(r.procedure == "laminectomy" for r in rows(window))
    with qtbot.waitSignal(window.model.loaded):
        window.filters.procedure.setCurrentIndex(0)
    with qtbot.waitSignal(window.model.loaded):
        qtbot.mouseClick(window.filters.complications, Qt.MouseButton.LeftButton)
    assert 0 < window.model.matching < DEMO_COUNT
    assert all(r.complication_count > 0 for r in rows(window))
    with qtbot.waitSignal(window.model.loaded):
        choose(window.filters.level, "L4-L5")
    assert all("L4-L5" in r.levels_text for r in rows(window))
    with qtbot.waitSignal(window.model.loaded):
        choose(window.filters.status, "draft")
    assert all(r.status == "draft" for r in rows(window))
    with qtbot.waitSignal(window.model.loaded):
        qtbot.mouseClick(window.filters.clear, Qt.MouseButton.LeftButton)
    assert window.filters.count.text() == f"{DEMO_COUNT} cases"


def test_quick_date_picks(window: MainWindow, qtbot: QtBot) -> None:
    today = dt.date.today()
    with qtbot.waitSignal(window.model.loaded):
        choose(window.filters.dates, "year")
    assert window.model.case_filter.date_from == dt.date(today.year, 1, 1)
    assert window.model.matching == window.services.cases.count(
        CaseFilter(date_from=dt.date(today.year, 1, 1), date_to=dt.date(today.year, 12, 31))
    )
    assert all(r.procedure_date.year == today.year for r in rows(window))
    with qtbot.waitSignal(window.model.loaded):
        choose(window.filters.dates, "month")
    assert all((r.procedure_date.year, r.procedure_date.month) == (today.year, today.month) for r in rows(window))
    with qtbot.waitSignal(window.model.loaded):
        choose(window.filters.dates, "any")
    assert window.model.matching == DEMO_COUNT


def test_clicking_a_header_sorts_in_the_database(window: MainWindow, qtbot: QtBot) -> None:
    header = window.table.horizontalHeader()
    x = header.sectionViewportPosition(COL_PATIENT) + 10
    with qtbot.waitSignal(window.model.loaded):
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    names = [r.patient_name for r in rows(window)]
    expected = [r.patient_name for r in window.services.cases.query(sort="patient", limit=PAGE_SIZE)]
    assert window.model.sort_key == "patient"
    assert names == expected and names != [r.patient_name for r in window.services.cases.query(limit=PAGE_SIZE)]
    with qtbot.waitSignal(window.model.loaded):
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, 5))
    assert window.model.descending
    assert rows(window)[0].patient_name >= rows(window)[-1].patient_name


def test_empty_database_greets_and_loads_demo_data(
    make_window: Callable[..., MainWindow], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    window = make_window(demo=False)
    assert window.stack.currentWidget() is window.greeting
    assert window.greeting.first_case.text() == "Log your first case"
    qtbot.mouseClick(window.greeting.first_case, Qt.MouseButton.LeftButton)
    assert window.form is not None and window.form.isVisible()
    window.form.reject()
    monkeypatch.setattr(QInputDialog, "getInt", lambda *a, **k: (25, True))
    with qtbot.waitSignal(window.model.loaded, timeout=20000):
        qtbot.mouseClick(window.greeting.demo, Qt.MouseButton.LeftButton)
    assert window.stack.currentIndex() == 1
    assert window.filters.count.text() == "25 cases"


def test_export_writes_the_filtered_cases(
    window: MainWindow, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with qtbot.waitSignal(window.model.loaded):
        choose(window.filters.procedure, "laminotomy")
    target = tmp_path / "out.json"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    task = window.export_cases()
    assert task is not None
    with qtbot.waitSignal(task.signals.finished, timeout=20000):
        pass
    cases = json.loads(target.read_text(encoding="utf-8"))["cases"]
    assert len(cases) == window.model.matching > 0
    assert {c["procedure"] for c in cases} == {"laminotomy"}
    assert str(target) in window.statusBar().currentMessage()
    csv_target = tmp_path / "out.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(csv_target), ""))
    task = window.export_cases()
    with qtbot.waitSignal(task.signals.finished, timeout=20000):
        pass
    with csv_target.open(encoding="utf-8-sig", newline="") as handle:
        assert len(list(csv.reader(handle))) == window.model.matching + 1


def test_case_summary_pdf_is_written_and_opened(
    window: MainWindow, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    window.table.selectRow(0)
    target = tmp_path / "summary.pdf"
    opened: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    monkeypatch.setattr("ui.main_window.QDesktopServices.openUrl", lambda url: opened.append(url.toLocalFile()))
    task = window.case_summary_pdf()
    assert task is not None
    with qtbot.waitSignal(task.signals.finished, timeout=30000):
        pass
    assert target.read_bytes().startswith(b"%PDF")
    qtbot.waitUntil(lambda: opened == [str(target)])


def test_delete_draft_asks_first_and_removes_it(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    with qtbot.waitSignal(window.model.loaded):
        choose(window.filters.status, "draft")
    draft = rows(window)[0]
    before = window.model.matching
    window.table.selectRow(0)
    assert window.delete_action.isEnabled()
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("", False))
    window.delete_action.trigger()
    assert window.services.cases.get_case(draft.case_number)  # cancelled: still there
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Entered in error", True))
    with qtbot.waitSignal(window.model.loaded):
        window.delete_action.trigger()
    assert window.model.matching == before - 1
    assert draft.case_number not in {r.case_number for r in rows(window)}


def test_signed_case_cannot_be_deleted(window: MainWindow, qtbot: QtBot) -> None:
    with qtbot.waitSignal(window.model.loaded):
        choose(window.filters.status, "final")
    window.table.selectRow(0)
    assert not window.delete_action.isEnabled()
    assert window.edit_action.isEnabled() and window.repeat_action.isEnabled()


def test_detail_pane_shows_the_selected_case(window: MainWindow) -> None:
    assert "Select a case" in window.detail.toPlainText()
    window.table.selectRow(1)
    row = rows(window)[1]
    text = window.detail.toPlainText()
    assert row.case_number in text and row.mrn in text and "Complications" in text


def test_left_over_draft_is_offered_at_start(window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    drafts.save_draft("crashed", {"patient": {"mrn": "Q-77", "family_name": "Ortega"}, "notes": "half typed"})
    monkeypatch.setattr("ui.main_window.QMessageBox.exec", lambda box: box.defaultButton().click())
    window.offer_drafts()
    form = window.form
    assert form is not None and form.isVisible()
    assert form.fields.mrn.text() == "Q-77" and form.fields.notes.toPlainText() == "half typed"
    assert form.draft_id == "crashed"


def test_second_copy_is_refused_and_brings_the_first_forward(qtbot: QtBot) -> None:
    first = SingleInstance("/clinic/caselog.sqlite3")
    second = SingleInstance("/clinic/caselog.sqlite3")
    other = SingleInstance("/elsewhere/caselog.sqlite3")
    try:
        assert first.acquire()
        first.listen()
        assert not second.acquire()
        assert other.acquire()
        with qtbot.waitSignal(first.activated, timeout=5000):
            assert second.ask_first_to_show()
    finally:
        for instance in (first, second, other):
            instance.release()
    assert second.acquire()
    second.release()
