"""The detail pane beside the case list: what a coordinator reads before printing."""

from __future__ import annotations

import dataclasses
import datetime as dt

from PySide6.QtGui import QTextDocument

from caselog.records import CaseView
from caselog.validation import validate_case
from tests.factories import TODAY, make_case
from ui.detail_pane import case_html


def _view(**changes: object) -> CaseView:
    record, problems = validate_case(make_case(**changes), today=TODAY)
    assert record is not None, problems
    now = dt.datetime(2025, 6, 30, 12, 0)
    return CaseView(id=1, version=1, record=dataclasses.replace(record, case_number="2025-00001"), created_at=now,
                    updated_at=now, signed_by=None, signed_at=None)  # fmt: skip


def _text(view: CaseView) -> str:
    document = QTextDocument()
    document.setHtml(case_html(view))
    return document.toPlainText()


def test_referring_physician_and_copy_recipients_are_shown_escaped() -> None:
    text = _text(_view(referring_physician="Dr. Maria López <Riverside>", copy_to=["Dr. Ken Ito", "Physio & Rehab"]))
    assert "Referring physician" in text and "Dr. Maria López <Riverside>" in text
    assert "Copy to" in text and "Dr. Ken Ito; Physio & Rehab" in text


def test_a_case_without_them_shows_no_empty_rows() -> None:
    text = _text(_view())
    assert "Referring physician" not in text and "Copy to" not in text
