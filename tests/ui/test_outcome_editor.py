"""The outcome editor of the case form and the detail pane's outcomes: the region's measures, MCID marks, attempts."""

from __future__ import annotations

import dataclasses
import datetime as dt

from PySide6.QtGui import QTextDocument

from caselog.records import CaseView, FollowUpAttempt, OutcomeScore, TreatedLevel
from caselog.validation import validate_case
from tests.factories import TODAY, make_case
from ui.detail_pane import case_html

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
            OutcomeScore("3m", dt.date(2025, 6, 14), ndi=26, nrs_neck=6, nrs_arm=3, pgic=2, work_status="working",
                         analgesics="non_opioid", physical_therapy=True),  # fmt: skip
        ),
    )
    text = _text(view)
    assert "NDI" in text and "Neck" in text and "Arm" in text and "ODI" not in text and "Back" not in text
    lines = text.splitlines()
    follow_up = lines[lines.index("2025-06-14") + 1 : lines.index("2025-06-14") + 5]
    assert follow_up == ["26 ✓", "6", "3 ✓", "2 ✓"]  # the neck's 7 -> 6 is not enough
    assert "3 months: working, non-opioid pain medication, physical therapy prescribed" in text
    assert "minimal clinically important difference" in text


def test_pane_keeps_a_score_outside_the_region_in_view() -> None:
    view = _view(levels=NECK, outcomes=(OutcomeScore("baseline", dt.date(2025, 3, 1), ndi=30, odi=44),))
    text = _text(view)
    assert "ODI" in text and "44" in text


def test_pane_lists_follow_up_attempts() -> None:
    attempts = (
        FollowUpAttempt("6m", dt.date(2025, 9, 20), "could_not_reach", "no answer, voicemail full"),
        FollowUpAttempt("6m", dt.date(2025, 9, 27), "moved_away"),
    )
    text = _text(_view(follow_up_attempts=attempts))
    assert "Follow-up attempts (2)" in text
    assert "Could not reach" in text and "no answer, voicemail full" in text and "Moved away" in text
    assert "Follow-up attempts" not in _text(_view())
