"""The outcome editor of the case form and the detail pane's outcomes: the region's measures, MCID marks, attempts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication, QScrollArea, QWidget
from pytestqt.qtbot import QtBot

from caselog import drafts
from caselog.records import CaseView, FollowUpAttempt, OutcomeScore, TreatedLevel
from caselog.validation import validate_case
from tests.factories import TODAY, case_file, make_case
from tests.ui.conftest import choose
from tests.ui.test_case_form import click_level, open_new
from tests.ui.test_case_form_screens import app_style, squeezed  # noqa: F401  (fixture)
from tests.ui.test_colours import palette  # noqa: F401  (fixture: light and dark Fusion)
from tests.ui.test_detail_pane_narrow import words_broken
from ui.case_fields import CaseFields
from ui.case_form import CaseForm
from ui.detail_pane import case_html
from ui.main_window import MainWindow

#: Where to keep the screenshots for a person to look at (the lead's review); a temporary folder always gets them.
SCREENS = os.environ.get("CASELOG_SCREENS_DIR")
NECK = (TreatedLevel("C5-C6", "right"), TreatedLevel("C6-C7", "right"))


def _view(**record_changes: object) -> CaseView:
    record, problems = validate_case(make_case(), today=TODAY)
    assert record is not None, problems
    record = dataclasses.replace(record, case_number="2025-00001", **record_changes)  # type: ignore[arg-type]
    now = dt.datetime(2025, 6, 30, 12, 0)
    return CaseView(id=1, version=1, record=record, created_at=now, updated_at=now)


def _text(view: CaseView) -> str:
    document = QTextDocument()
    document.setHtml(case_html(view))
    return document.toPlainText()


def test_pane_shows_a_cervical_case_with_ndi_neck_and_arm_and_marks_mcid() -> None:
    """NDI 40 -> 26 and arm 6 -> 3 reach MCID (✓); neck 7 -> 6 does not; PGIC 2 does."""
    view = _view(
        levels=NECK,
        outcomes=(
            OutcomeScore("baseline", dt.date(2025, 3, 1), ndi=40, nrs_neck=7, nrs_arm=6),
            OutcomeScore(
                "3m",
                dt.date(2025, 6, 14),
                ndi=26,
                nrs_neck=6,
                nrs_arm=3,
                pgic=2,
                work_status="working",
                analgesics="non_opioid",
                physical_therapy=True,
            ),
        ),
    )
    text = _text(view)
    assert "ODI" not in text and "Back" not in text
    assert "NDI 40 · Neck 7 · Arm 6" in text
    assert "NDI 26 ✓ · Neck 6 · Arm 3 ✓ · PGIC 2 ✓" in text  # the neck's 7 -> 6 is not enough
    assert "working, non-opioid pain medication, physical therapy prescribed" in text
    assert "minimal clinically important difference" in text


def test_pane_keeps_a_score_outside_the_region_in_view() -> None:
    view = _view(levels=NECK, outcomes=(OutcomeScore("baseline", dt.date(2025, 3, 1), ndi=30, odi=44),))
    text = _text(view)
    assert "NDI 30 · ODI 44" in text


def test_pane_lists_follow_up_attempts() -> None:
    attempts = (
        FollowUpAttempt("6m", dt.date(2025, 9, 20), "could_not_reach", "no answer, voicemail full"),
        FollowUpAttempt("6m", dt.date(2025, 9, 27), "moved_away"),
    )
    text = _text(_view(follow_up_attempts=attempts))
    assert "Follow-up attempts (2)" in text
    assert "Could not reach" in text and "no answer, voicemail full" in text and "Moved away" in text
    assert "Follow-up attempts" not in _text(_view())


def test_a_fully_scored_case_fits_the_pane_of_a_small_screen_without_breaking_words(
    window: MainWindow, qtbot: QtBot
) -> None:
    """Every column a lumbar follow-up can have (three scores with ✓, relief, PGIC) in the pane of a 911-point
    wide window (1366×768 at 150%), as tests/ui/test_detail_pane_narrow.py checks the demo cases."""
    window.resize(911, 512)
    qtbot.wait(20)
    view = _view(
        outcomes=(
            OutcomeScore("baseline", dt.date(2025, 3, 1), odi=46, nrs_back=8, nrs_leg=7),
            OutcomeScore("12m", dt.date(2026, 3, 16), odi=100, nrs_back=10, nrs_leg=10, relief_percent=100, pgic=7),
            OutcomeScore("24m", dt.date(2027, 3, 16), odi=12, nrs_back=2, nrs_leg=1, relief_percent=90, pgic=1),
        ),
        follow_up_attempts=(FollowUpAttempt("36m", dt.date(2028, 3, 20), "declined", "prefers her GP"),),
        complications=(),  # its table is another matter (a long category breaks as it did before)
    )
    window.detail.show_case(view)
    assert words_broken(window.detail) == []


# ---- the case form's outcome editor ------------------------------------------------------------------------

NECK_CASE = make_case(
    patient={"mrn": "NECK-1", "family_name": "Okonkwo", "given_name": "Ada", "birth_date": "1959-02-03",
             "sex": "female"},
    procedure="radiofrequency_ablation", levels=[{"level": "C5-C6", "side": "right"}], cpt_codes=["64633"],
    complications=[],
    outcomes=[
        {"timepoint": "baseline", "date": "2025-03-01", "ndi": 40, "nrs_neck": 7, "nrs_arm": 6, "odi": 44},
        {"timepoint": "6w", "date": "2025-04-25", "ndi": 28, "nrs_neck": 3, "pgic": 2, "work_status": "working",
         "analgesics": "non_opioid", "returned_to_activities": "2025-04-20", "physical_therapy": False},
    ],
    follow_up_attempts=[{"timepoint": "3m", "date": "2025-06-16", "result": "could_not_reach",
                         "note": "no answer"}],
)  # fmt: skip


def _shown_titles(form: CaseForm) -> list[str]:
    editor = form.fields.outcomes
    return [c.title for i, c in enumerate(editor.model.columns) if not editor.view.isColumnHidden(i)]


def _open_neck_case(window: MainWindow, qtbot: QtBot) -> tuple[str, CaseForm]:
    service = window.services.cases
    (number,) = service.import_cases({**case_file(NECK_CASE), "version": 3})
    with qtbot.waitSignal(window.model.loaded):
        window.refresh(select=number)
    assert window.select_case(number)
    window.edit_action.trigger()
    form = window.form
    assert form is not None
    return number, form


def test_the_outcome_table_asks_the_measures_of_the_levels_region(window: MainWindow, qtbot: QtBot) -> None:
    form = open_new(window)
    lumbar = ["Timepoint", "Date", "ODI (0-100)", "NRS back (0-10)", "NRS leg (0-10)", "Relief %", "PGIC", "Work",
              "Pain medication", "Back to activities", "PT"]  # fmt: skip
    assert _shown_titles(form) == lumbar  # no level yet: lumbar, the clinic's usual
    click_level(form, "C5-C6", "right")
    assert _shown_titles(form)[2:5] == ["NDI (0-100)", "NRS neck (0-10)", "NRS arm (0-10)"]
    click_level(form, "C5-C6", "right")  # taken away again
    click_level(form, "T11-T12", "left")
    assert _shown_titles(form) == lumbar


def test_editing_a_cervical_case_keeps_its_odi_and_its_attempts(window: MainWindow, qtbot: QtBot) -> None:
    """The ODI the case holds stays in view (and saved); the attempts show read-only and come back unchanged."""
    number, form = _open_neck_case(window, qtbot)
    shown = _shown_titles(form)
    assert shown[2:6] == ["ODI (0-100)", "NDI (0-100)", "NRS neck (0-10)", "NRS arm (0-10)"]
    assert "NRS back (0-10)" not in shown
    attempts = form.fields.attempts_label
    form.fields.tabs.setCurrentWidget(form.fields.outcomes.parentWidget())
    assert attempts.isVisibleTo(form) and "2025-06-16 at 3 months: Could not reach (no answer)" in attempts.text()
    before = window.services.cases.get_case(number).record
    form.fields.notes.setPlainText("Called back in June.")
    with qtbot.waitSignal(window.model.loaded):
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    after = window.services.cases.get_case(number).record
    assert after.notes == "Called back in June."
    assert after.outcomes == before.outcomes and after.outcomes[0].odi == 44
    assert after.outcomes[1].physical_therapy is False and after.outcomes[1].pgic == 2
    assert after.follow_up_attempts == before.follow_up_attempts and len(after.follow_up_attempts) == 1


def test_a_follow_up_is_typed_with_the_keyboard_only(window: MainWindow, qtbot: QtBot) -> None:
    """Add a row, then type and Tab: timepoint, date, the neck's three scores, PGIC by its digit, work status,
    pain medication and physical therapy by their first letter."""
    number, form = _open_neck_case(window, qtbot)
    form.activateWindow()
    qtbot.waitUntil(form.isActiveWindow)
    editor = form.fields.outcomes
    form.fields.tabs.setCurrentWidget(editor.parentWidget())
    qtbot.mouseClick(editor.add_button, Qt.MouseButton.LeftButton)
    today = window.services.cases.today()

    def focus() -> QWidget:
        widget = QApplication.focusWidget()
        assert widget is not None
        return widget

    def type_then_tab(text: str) -> None:
        qtbot.keyClicks(focus(), text)
        qtbot.keyClick(focus(), Qt.Key.Key_Tab)

    for text in ("1", today.isoformat(), "", "30", "4", "3", "", "1", "w", "o", "", "n"):
        type_then_tab(text)  # 12 months; the date; ODI left blank; NDI, neck, arm; relief blank; PGIC 1 ...
    qtbot.keyClick(focus(), Qt.Key.Key_Return)
    row = editor.items()[2]
    assert row == {
        "timepoint": "12m", "date": today.isoformat(), "odi": None, "nrs_back": None, "nrs_leg": None, "ndi": 30,
        "nrs_neck": 4, "nrs_arm": 3, "relief_percent": None, "pgic": 1, "work_status": "working",
        "analgesics": "opioid", "returned_to_activities": None, "physical_therapy": False,
    }  # fmt: skip
    assert form.save_button.isEnabled(), form.status.text()
    with qtbot.waitSignal(window.model.loaded):
        qtbot.keyClick(focus(), Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = window.services.cases.get_case(number).record.outcomes[2]
    assert (saved.timepoint, saved.ndi, saved.pgic, saved.analgesics, saved.physical_therapy) == (
        "12m", 30, 1, "opioid", False)  # fmt: skip


def test_a_draft_keeps_the_new_answers_and_the_attempts(window: MainWindow, qtbot: QtBot) -> None:
    """Crash recovery: the safety copy holds every v3 answer and the attempts, and a form filled from it too."""
    _, form = _open_neck_case(window, qtbot)
    form.fields.notes.setPlainText("typing when the power went")
    form.dirty = True
    form.autosave_now()
    draft = drafts.load_draft(drafts.draft_path(form.draft_id))
    assert draft is not None
    assert draft.data["outcomes"][1]["pgic"] == 2 and draft.data["outcomes"][1]["physical_therapy"] is False
    assert draft.data["follow_up_attempts"] == NECK_CASE["follow_up_attempts"]
    fields = CaseFields(procedure_day=dt.date.today)
    fields.set_data(draft.data)
    assert fields.data()["outcomes"] == form.fields.data()["outcomes"]
    assert fields.data()["follow_up_attempts"] == NECK_CASE["follow_up_attempts"]


@pytest.mark.usefixtures("app_style")
@pytest.mark.parametrize("region", ["lumbar", "cervical"])
def test_screens_of_the_outcome_editor_at_1280_by_720(
    window: MainWindow,
    qtbot: QtBot,
    region: str,
    palette: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The outcome tab of a lumbar demo case and of the cervical case with its attempt, on light and dark: every
    column the region asks is in view without scrolling sideways, and nothing is squeezed."""
    if region == "cervical":
        _, form = _open_neck_case(window, qtbot)
    else:
        with qtbot.waitSignal(window.model.loaded):
            choose(window.filters.procedure, "endoscopic_rhizotomy")
        # The list settled on the rhizotomies (no earlier read still landing), one of them chosen, then opened.
        qtbot.waitUntil(lambda: not window.model.loading and window.model.rowCount() > 0
                        and getattr(window.model.row_at(0), "procedure", None) == "endoscopic_rhizotomy")  # fmt: skip
        window.table.selectRow(0)
        qtbot.waitUntil(window.edit_action.isEnabled)
        window.edit_action.trigger()
        qtbot.waitUntil(lambda: window.form is not None)
        form = window.form
        assert form is not None
    form.resize(1240, 680)  # what the form takes on a 1280×720 screen
    editor = form.fields.outcomes
    form.fields.tabs.setCurrentWidget(editor.parentWidget())
    scroll = form.findChild(QScrollArea)
    assert scroll is not None
    qtbot.wait(20)
    scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())  # the form scrolls at 1280×720
    qtbot.wait(20)
    form.grab().save(str(tmp_path / f"outcome-editor-{region}-{palette}.png"))
    if SCREENS:
        form.grab().save(str(Path(SCREENS) / f"outcome-editor-{region}-{palette}.png"))
    assert editor.view.horizontalScrollBar().maximum() == 0  # every column in view
    assert squeezed(form.fields) == []
    assert form.fields.attempts_label.isVisible() == (region == "cervical")
