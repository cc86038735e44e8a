"""The case form warns when an outcome's date does not fit its timepoint (a "6 months" score a week after the
procedure), naming the row and the window the follow-up schedule expects; the case still saves as typed."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.test_case_form_screens import app_style, squeezed  # noqa: F401  (fixture)
from tests.ui.test_colours import palette  # noqa: F401  (fixture: light and dark Fusion)
from tests.ui.test_outcome_editor import _open_neck_case
from ui.case_form import CaseForm, outcome_timing_warnings
from ui.main_window import MainWindow

SCREENS = os.environ.get("CASELOG_SCREENS_DIR")
WRONG = "Row 3: dated 2025-03-21, 1 week after the procedure, but marked 6 months "
WINDOW = "(expected from 2025-07-31 to 2025-10-29)"  # due 2025-09-14, 45 days' grace either side


def test_only_a_follow_up_dated_outside_its_window_is_named() -> None:
    data = {
        "procedure_date": "2025-03-14",
        "outcomes": [
            {"timepoint": "baseline", "date": "2025-03-01"},
            {"timepoint": "6m", "date": "2025-09-14"},  # due
            {"timepoint": "6m", "date": "2025-07-31"},  # the window's first day
            {"timepoint": "12m", "date": "2025-06-20"},  # about 3 months
            {"timepoint": "2w", "date": "not a date"},  # validation names it
            {"timepoint": "3m", "date": "2028-06-14"},  # about 3 years
        ],
    }
    found = outcome_timing_warnings(data)
    assert [row for row, _ in found] == [3, 5]
    assert found[0][1] == (
        "dated 2025-06-20, about 3 months after the procedure, but marked 12 months (expected "
        "from 2025-12-14 to 2026-06-12). Check the timepoint or the date; it saves as typed."
    )
    assert "about 3 years after the procedure" in found[1][1]
    assert outcome_timing_warnings({"procedure_date": None, "outcomes": data["outcomes"]}) == []


def _focus() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None
    return widget


def _type_a_six_months_score(form: CaseForm, qtbot: QtBot, day: str) -> None:
    """Add a row and type its timepoint and date with the keyboard, as at the follow-up call."""
    form.activateWindow()
    qtbot.waitUntil(form.isActiveWindow)
    editor = form.fields.outcomes
    form.fields.tabs.setCurrentWidget(editor.parentWidget())
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(_focus(), "6")  # 6 weeks, then down past 3 months to 6 months
    qtbot.keyClick(_focus(), Qt.Key.Key_Down)
    qtbot.keyClick(_focus(), Qt.Key.Key_Down)
    qtbot.keyClick(_focus(), Qt.Key.Key_Tab)
    for text in (day, "", "22"):  # the date, ODI blank (the case holds one), NDI 22
        qtbot.keyClicks(_focus(), text)
        qtbot.keyClick(_focus(), Qt.Key.Key_Tab)
    qtbot.keyClick(_focus(), Qt.Key.Key_Return)
    assert editor.items()[2]["timepoint"] == "6m" and editor.items()[2]["date"] == day


def test_a_six_months_score_a_week_after_the_procedure_is_warned_about_and_still_saves(
    window: MainWindow, qtbot: QtBot
) -> None:
    number, form = _open_neck_case(window, qtbot)  # a procedure on 2025-03-14
    warnings = form.fields.outcomes.warnings_label
    assert not warnings.isVisible()
    _type_a_six_months_score(form, qtbot, "2025-03-21")
    assert warnings.isVisible() and warnings.text().startswith(WRONG + WINDOW)
    assert "To check: outcome 3, dated far from the timepoint" in form.status.text()
    assert form.save_button.isEnabled()  # a warning, not a refusal
    with qtbot.waitSignal(window.model.loaded):
        qtbot.keyClick(_focus(), Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = window.services.cases.get_case(number).record.outcomes[2]
    assert (saved.timepoint, saved.date, saved.ndi) == ("6m", dt.date(2025, 3, 21), 22)  # as typed


def test_correcting_the_date_takes_the_warning_away(window: MainWindow, qtbot: QtBot) -> None:
    _, form = _open_neck_case(window, qtbot)
    _type_a_six_months_score(form, qtbot, "2025-03-21")
    editor = form.fields.outcomes
    assert editor.warnings_label.isVisible()
    editor.view.setCurrentIndex(editor.model.index(2, editor.model.column_of("date")))
    editor.view.setFocus()
    qtbot.keyClick(editor.view, Qt.Key.Key_2)  # typing over the selected cell replaces it
    qtbot.keyClicks(_focus(), "025-09-10")
    qtbot.keyClick(_focus(), Qt.Key.Key_Tab)  # moves on to the next cell, keeping the date
    assert editor.items()[2]["date"] == "2025-09-10"
    assert not editor.warnings_label.isVisible() and "To check" not in form.status.text()


@pytest.mark.usefixtures("app_style")
def test_screens_of_the_timing_warning_at_1280_by_720(
    window: MainWindow,
    qtbot: QtBot,
    palette: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The warning under the outcome table in the warning colour, light and dark, nothing squeezed."""
    _, form = _open_neck_case(window, qtbot)
    _type_a_six_months_score(form, qtbot, "2025-03-21")
    form.resize(1240, 680)  # what the form takes on a 1280×720 screen
    scroll = form.findChild(QScrollArea)
    assert scroll is not None
    qtbot.wait(20)
    scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())
    qtbot.wait(20)
    warnings = form.fields.outcomes.warnings_label
    assert warnings.isVisible() and not warnings.visibleRegion().isEmpty()
    for folder in [tmp_path, *([Path(SCREENS)] if SCREENS else [])]:
        form.grab().save(str(folder / f"outcome-timing-warning-{palette}.png"))
    assert squeezed(form.fields) == []
