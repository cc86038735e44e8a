"""The patient view, driven by the keyboard from the main window: it opens from any case of the patient, shows
each treated joint's blocks (result in words, not colour alone), ablations with why their relief period ends,
complications with their grade, and the cases under it; a case opens from it, and F5 reads it again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from caselog import audit
from caselog.accounts import AccountService
from caselog.errors import NotFound, StorageError
from caselog.records import CaseFilter
from tests.ui.pathway_story import MRN, story_file
from tests.ui.test_accounts_ui import PASSWORD, accounts_db, signed_in  # noqa: F401  (fixtures: accounts)
from ui.main_window import MainWindow
from ui.pathway_view import PathwayView
from ui.tables import select_row


def story_window(window: MainWindow, qtbot: QtBot) -> list[str]:
    """The story patient's ten cases added to the window's database, the list showing only them."""
    numbers = window.services.cases.import_cases(story_file())
    with qtbot.waitSignal(window.model.loaded, timeout=10000):
        window.model.set_filter(CaseFilter(search=MRN))
    return numbers


def open_view(window: MainWindow, qtbot: QtBot, case_number: str) -> PathwayView:
    assert select_row(window.table, window.model.row_of(case_number))
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    views = [w for w in window.findChildren(PathwayView) if w.isVisible()]
    assert len(views) == 1
    qtbot.waitExposed(views[0])
    return views[0]


def test_ctrl_shift_t_on_any_case_opens_its_patients_timeline(window: MainWindow, qtbot: QtBot) -> None:
    n = story_window(window, qtbot)
    view = open_view(window, qtbot, n[9])  # the patient's last block: the whole pathway, not one case
    assert view.windowTitle() == "Patient pathway – Okafor, Grace · MRN PW-0042"
    assert [row.joint for row in view.chart.rows] == ["L3-L4 left", "L4-L5 left", "L4-L5 right", "L5-S1 left"]
    marks = {row.joint: [(m.kind, m.text) for m in row.marks] for row in view.chart.rows}
    assert marks["L4-L5 right"] == [("block", "Block 1: 88% +"), ("block", "Block 2: 38% −"),
                                    ("ablation", "RFA · relief 50% · outside policy")]  # fmt: skip
    assert ("block", "Block 1: ?") in marks["L5-S1 left"]  # no diary: unknown, said with a sign
    assert ("complication", "CD II") in marks["L5-S1 left"]
    ends = [(m.case_number, m.until, m.bar_end) for m in view.chart.rows[1].marks if m.kind == "ablation"]
    assert ends == [(n[3], dt.date(2024, 11, 12), "next_ablation"),  # until the repeat at that joint
                    (n[7], dt.date(2025, 5, 13), "last_follow_up")]  # fmt: skip
    assert view.model.rowCount() == 10
    lines = {c.case_number: c for c in view.model.cases}
    assert lines[n[8]].indication == "Outside the policy, reason given"
    assert "Reason: Severe pain, patient declined a second block" in lines[n[8]].indication_detail
    assert lines[n[6]].indication == "Outside the policy, no reason given"
    assert lines[n[2]].result.startswith("negative · 2nd block (bupivacaine) · peak 38%")
    assert lines[n[6]].complications == "CD II nerve irritation / dysesthesia"
    assert "Medicare LCD" in view.policy.text()
    view.resize(911, 512)  # a 1366×768 screen at 150%: the chart scrolls, every row keeps its height
    qtbot.waitUntil(lambda: view.chart_area.viewport().height() < view.chart.sizeHint().height(), timeout=5000)
    assert view.chart.height() >= view.chart.sizeHint().height()
    view.close()


def test_the_keyboard_moves_through_the_timeline_and_opens_a_case(window: MainWindow, qtbot: QtBot) -> None:
    n = story_window(window, qtbot)
    view = open_view(window, qtbot, n[0])
    qtbot.waitUntil(lambda: QApplication.focusWidget() is view.chart, timeout=5000)
    assert view.chosen_case() == n[0] and view.chart.current == (1, 0)  # opened from: the first block, L4-L5 left
    qtbot.keyClick(view.chart, Qt.Key.Key_Up)  # L3-L4 left: its one block
    assert view.chosen_case() == n[9]
    qtbot.keyClick(view.chart, Qt.Key.Key_Down)  # back to L4-L5 left, the mark nearest in time (the repeat)
    assert view.chosen_case() == n[7]
    qtbot.keyClick(view.chart, Qt.Key.Key_Home)
    for _ in range(2):
        qtbot.keyClick(view.chart, Qt.Key.Key_Right)  # block, block, then the first ablation
    mark = view.chart.current_mark()
    assert mark is not None and mark.case_number == n[3]
    assert view.chosen_case() == n[3]  # the list follows the chart
    qtbot.keyClick(view.chart, Qt.Key.Key_Return)
    assert window.form is not None and window.form.case_number == n[3]
    window.form.dirty = False
    window.form.reject()
    # In the list: moving down chooses the next case on the chart too; Return opens it.
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_Down)
    assert view.chosen_case() == n[4]
    mark = view.chart.current_mark()
    assert mark is not None and mark.case_number == n[4]
    qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert window.form is not None and window.form.case_number == n[4]
    window.form.dirty = False
    window.form.reject()
    view.close()


def test_f5_reads_the_pathway_again_keeping_the_chosen_case(window: MainWindow, qtbot: QtBot) -> None:
    n = story_window(window, qtbot)
    view = open_view(window, qtbot, n[3])
    view.table.setFocus()
    for _ in range(4):
        qtbot.keyClick(view.table, Qt.Key.Key_Down)  # from the first ablation (4th case) to the repeat (8th)
    assert view.chosen_case() == n[7]
    data = story_file()
    data["cases"] = [data["cases"][-1] | {"procedure_date": "2025-05-20"}]  # one more block
    window.services.cases.import_cases(data)
    qtbot.waitUntil(view.isActiveWindow, timeout=5000)
    qtbot.keyClick(view.table, Qt.Key.Key_F5)
    assert view.model.rowCount() == 11
    assert view.chosen_case() == n[7]
    view.close()


def test_a_pathway_that_cannot_be_read_is_said_not_raised(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, title, _text: shown.append(title))

    def missing(mrn: str) -> None:
        raise NotFound(f"No patient with MRN {mrn!r}")

    monkeypatch.setattr(window.services.cases, "patient_pathway", missing)
    select_row(window.table, 0)
    window.pathway_action.trigger()
    assert shown == ["The patient's pathway could not be read"]
    assert not [w for w in window.findChildren(PathwayView) if w.isVisible()]


def test_the_action_needs_one_chosen_case(window: MainWindow) -> None:
    window.table.clearSelection()
    assert not window.pathway_action.isEnabled()
    select_row(window.table, 0)
    assert window.pathway_action.isEnabled() and window.pathway_action.isVisible()
    window.table.selectAll()
    assert not window.pathway_action.isEnabled()


def test_locking_hides_the_view_and_another_user_signing_in_closes_it(
    signed_in: Callable[[str], MainWindow],  # noqa: F811
    qtbot: QtBot,
) -> None:
    window = signed_in("hlind")
    story_window(window, qtbot)
    view = open_view(window, qtbot, window.model.row_at(0).case_number)  # type: ignore[union-attr]
    window.session.lock()
    assert not view.isVisible()  # no patient's pathway readable at the lock screen
    other = AccountService(window.services.cases.db).sign_in("coord", PASSWORD)
    window.session.signed_in_at_lock(other)
    assert not [w for w in window.findChildren(PathwayView) if w.isVisible()]


def save_pdf_by_keyboard(view: PathwayView, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, path: Path) -> list[str]:
    """Alt+P (Print / Save as PDF…), the file chosen in the save dialog; returns the files opened to print."""
    opened: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(path), "PDF (*.pdf)"))
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()))
    view.activateWindow()
    qtbot.waitUntil(view.isActiveWindow, timeout=5000)
    qtbot.keyClick(view.table, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    return opened


def test_the_pathway_pdf_is_saved_opened_and_each_case_audited(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    n = story_window(window, qtbot)
    view = open_view(window, qtbot, n[3])
    path = tmp_path / "pathway.pdf"
    opened = save_pdf_by_keyboard(view, qtbot, monkeypatch, path)
    qtbot.waitUntil(lambda: opened == [str(path)], timeout=20000)
    assert path.read_bytes().startswith(b"%PDF")
    printed = [e for e in audit.entries(window.services.cases.db) if e.action == "print"]
    assert sorted(e.record_id or "" for e in printed) == sorted(n)
    assert all(e.details == {"document": "patient pathway", "mrn": MRN} for e in printed)
    view.close()


def test_a_pathway_pdf_whose_printing_cannot_be_recorded_is_removed(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    n = story_window(window, qtbot)
    view = open_view(window, qtbot, n[0])
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _parent, title, _text: shown.append(title))

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise StorageError("The database is read-only")

    monkeypatch.setattr(window.services.cases, "record_event", refuse)
    path = tmp_path / "pathway.pdf"
    opened = save_pdf_by_keyboard(view, qtbot, monkeypatch, path)
    qtbot.waitUntil(lambda: bool(shown), timeout=20000)
    assert shown == ["The patient pathway PDF was removed: its printing could not be recorded"]
    assert not path.exists() and opened == []
    view.close()
