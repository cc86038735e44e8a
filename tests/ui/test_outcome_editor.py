"""The outcome editor of the case form and the detail pane's outcomes: the region's measures, MCID marks, attempts."""

from __future__ import annotations

import dataclasses
import datetime as dt

from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot

from caselog.records import CaseView, FollowUpAttempt, OutcomeScore, TreatedLevel
from caselog.validation import validate_case
from tests.factories import TODAY, make_case
from tests.ui.test_detail_pane_narrow import words_broken
from ui.detail_pane import case_html
from ui.main_window import MainWindow

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
