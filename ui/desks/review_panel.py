"""The quality desk's review panel: the selected complication in full, its review status and review notes."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caselog import vocab
from caselog.quality import ComplicationEntry
from ui import shortcuts
from ui.style import LIGHT, Colours, colours
from ui.widgets import choice_box, named_button

NOTES_LIMIT = 2000


class ReviewPanel(QWidget):
    """`save_requested(status, notes)` when the user saves; `open_requested()` for "Open case"."""

    save_requested = Signal(str, str)
    open_requested = Signal()

    def __init__(self, *, may_review: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entry: ComplicationEntry | None = None
        self._may_review = may_review
        self.details = QLabel("Select a complication to see it here and review it.")
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAccessibleName("Complication details")
        self.status = choice_box("Review status", ((label, key) for key, label in vocab.REVIEW_STATUSES.items()))
        self.notes = QPlainTextEdit()
        self.notes.setAccessibleName("Review notes")
        self.notes.setPlaceholderText("What the review found, what was decided, who follows up…")
        self.notes.setTabChangesFocus(True)
        self.counter = QLabel("")
        self.counter.setObjectName("hint")
        self.save = named_button("&Save review")
        shortcuts.bind(self.save, "save", tip="Save the review status and notes")
        self.open_case = QPushButton("&Open case")
        self.open_case.setAccessibleName("Open case")
        self.hint = QLabel("" if may_review else "Only quality staff set review status and notes.")
        self.hint.setObjectName("hint")
        self.hint.setWordWrap(True)

        box = QGroupBox("Review")
        form = QFormLayout(box)
        form.addRow("Status:", self.status)
        form.addRow("Notes:", self.notes)
        buttons = QHBoxLayout()
        buttons.addWidget(self.counter)
        buttons.addStretch(1)
        buttons.addWidget(self.save)
        form.addRow(buttons)
        form.addRow(self.hint)
        details_box = QGroupBox("Complication")
        dl = QVBoxLayout(details_box)
        dl.addWidget(self.details)
        dl.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.open_case)
        dl.addLayout(row)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 6, 8, 6)
        layout.addWidget(details_box, 3)
        layout.addWidget(box, 2)

        self.status.currentIndexChanged.connect(self._edited)
        self.notes.textChanged.connect(self._edited)
        self.save.clicked.connect(self._save)
        self.open_case.clicked.connect(self.open_requested.emit)
        self.show_entry(None)

    def show_entry(self, entry: ComplicationEntry | None) -> None:
        self.entry = entry
        for w in (self.status, self.notes):
            w.blockSignals(True)
        if entry is None:
            self.details.setText("Select a complication to see it here and review it.")
            self.status.setCurrentIndex(0)
            self.notes.setPlainText("")
        else:
            self.details.setText(details_html(entry, colours(self.palette())))
            self.status.setCurrentIndex(max(self.status.findData(entry.review_status), 0))
            self.notes.setPlainText(entry.review_notes or "")
        for w in (self.status, self.notes):
            w.blockSignals(False)
        editable = entry is not None and self._may_review
        self.status.setEnabled(editable)
        self.notes.setReadOnly(not editable)
        self.open_case.setEnabled(entry is not None)
        self._edited()

    def dirty(self) -> bool:
        if self.entry is None:
            return False
        notes = self.notes.toPlainText().strip() or None
        return self.status.currentData() != self.entry.review_status or notes != self.entry.review_notes

    def _edited(self) -> None:
        length = len(self.notes.toPlainText().strip())
        too_long = length > NOTES_LIMIT
        self.counter.setText(f"{length:,} of {NOTES_LIMIT:,} characters" + (": too long" if too_long else ""))
        self.counter.setStyleSheet(f"color: {colours(self.palette()).error};" if too_long else "")
        self.save.setEnabled(self._may_review and self.dirty() and not too_long)

    def _save(self) -> None:
        if self.save.isEnabled():
            self.save.setEnabled(False)
            self.save_requested.emit(self.status.currentData(), self.notes.toPlainText())


def details_html(e: ComplicationEntry, c: Colours = LIGHT) -> str:
    def row(name: str, value: str | None) -> str:
        return f"<tr><td style='color:{c.hint};padding-right:8px'>{name}</td><td>{html.escape(value or '–')}</td></tr>"

    grade = f"{e.clavien_dindo}: {vocab.label(vocab.CLAVIEN_DINDO_GRADES, e.clavien_dindo)}"
    title = html.escape(e.category_label)
    return (
        f"<p style='font-size:11pt;font-weight:600;color:{c.title}'>{title}</p>"
        "<table cellspacing='2'>"
        + row("Case", f"{e.case_number} ({vocab.label(vocab.CASE_STATUSES, e.case_status)})")
        + row("Procedure", f"{e.procedure_label}, {e.procedure_date:%Y-%m-%d}")
        + row("Levels", e.levels_text)
        + row("Surgeon", e.surgeon)
        + row("Description", e.description)
        + row("Clavien-Dindo", grade)
        + row("Timing", e.timing_label)
        + row("Onset", e.onset_date.isoformat())
        + row("Treatment", e.treatment)
        + row("Resolved", e.resolved_date.isoformat() if e.resolved_date else "not yet")
        + "</table>"
    )
