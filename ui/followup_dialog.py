"""Record one follow-up from the coordinator's due list in a few keystrokes: what came of the contact first, then
(when the patient was reached) the scores of the case's region and the common answers; Return saves.

A save that fails keeps everything typed and says which field is wrong; the case service checks the follow-up as
it checks a whole case, and on a signed case it is an addendum (audited, the case stays signed).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QRegularExpression, Qt
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from caselog import outcomes, vocab
from caselog.errors import CaselogError, InvalidInput
from caselog.followup import DueFollowUp
from caselog.records import CaseView, FollowUpAttempt, OutcomeScore
from ui.messages import error_text
from ui.tasks import Progress, TaskRunner
from ui.widgets import choice_box, date_field, from_qdate

REACHED = "reached"
#: The contact's results, "reached" first: most calls that are made reach the patient.
RESULTS: tuple[tuple[str, str], ...] = (
    ("Reached: record the answers", REACHED),
    *((label, key) for key, label in vocab.FOLLOW_UP_RESULTS.items()),
)
#: The labels the dialog shows for the fields a problem names (the service names them by key).
FIELD_LABELS: dict[str, str] = {
    **vocab.OUTCOME_MEASURE_LABELS,
    "pgic": "PGIC",
    "work_status": "Work status",
    "analgesics": "Pain medication",
    "returned_to_activities": "Returned to activities",
    "physical_therapy": "Physical therapy",
    "date": "Date",
    "timepoint": "Follow-up",
    "result": "Result",
    "note": "Note",
}
NOTE_MAX = 500
#: What may be typed in a score field: digits only (the range is the case service's rule, named when broken).
DIGITS = QRegularExpression(r"\d{0,3}")

Submit = Callable[[OutcomeScore | FollowUpAttempt], CaseView]


def _choices(name: str, blank: str, items: dict[Any, str]) -> QComboBox:
    return choice_box(name, [(blank, None), *((label, key) for key, label in items.items())])


class FollowUpDialog(QDialog):
    """`submit(record)` runs in the background (a write) and returns the case as saved; `saved` holds it then."""

    def __init__(self, row: DueFollowUp, view: CaseView, *, tasks: TaskRunner, submit: Submit,
                 today: dt.date, parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.row = row
        self.view = view
        self._tasks = tasks
        self._submit = submit
        self.saved: CaseView | None = None
        self.saving = False
        when = vocab.label(vocab.TIMEPOINTS, row.timepoint)
        self.setWindowTitle(f"Follow-up at {when}: {row.patient_name}")
        procedure = vocab.label(vocab.PROCEDURE_SHORT, row.procedure)
        who = QLabel(f"<b>{_esc(row.patient_name)}</b> · MRN {_esc(row.mrn)} · born {row.birth_date}<br>"
                     f"Case {row.case_number}: {_esc(procedure)} at {_esc(row.levels)} on {row.procedure_date}"
                     f" · {when} follow-up due {row.due_date}")  # fmt: skip
        who.setTextFormat(Qt.TextFormat.RichText)
        who.setWordWrap(True)
        self.contact = choice_box("Contact result", RESULTS)
        self.date = date_field("Date of contact", today)
        self.date.setMaximumDate(self.date.date())

        # Reached: the region's scores, then what every follow-up asks.
        self.scores: dict[str, QLineEdit] = {}
        reached = QWidget()
        form = QFormLayout(reached)
        form.setContentsMargins(0, 0, 0, 0)
        measures = outcomes.measures_for(view.record.levels)
        for key in measures:
            if key not in vocab.OUTCOME_MEASURES or key == "pgic":
                continue
            low, high = vocab.OUTCOME_MEASURES[key]
            label = vocab.OUTCOME_MEASURE_LABELS[key]
            edit = QLineEdit()
            edit.setValidator(QRegularExpressionValidator(DIGITS, edit))
            edit.setPlaceholderText(f"{low}–{high}, blank if not asked")
            edit.setAccessibleName(label)
            self.scores[key] = edit
            form.addRow(f"{label}:", edit)
        self.pgic = _choices("PGIC", "— not asked", {k: f"{k} {v}" for k, v in vocab.PGIC.items()})
        self.work_status = _choices("Work status", "— not asked", vocab.WORK_STATUSES)
        self.analgesics = _choices("Pain medication", "— not asked", vocab.ANALGESIC_USE)
        self.returned = QLineEdit()
        self.returned.setAccessibleName("Returned to activities")
        self.returned.setPlaceholderText("YYYY-MM-DD, blank if not yet")
        self.physical_therapy = _choices(
            "Physical therapy", "— not asked", {True: "Prescribed", False: "Not prescribed"}
        )
        form.addRow("Change since (PGIC):", self.pgic)
        form.addRow("Work:", self.work_status)
        form.addRow("Pain medication:", self.analgesics)
        form.addRow("Back to normal activities:", self.returned)
        form.addRow("Physical therapy:", self.physical_therapy)
        # Not reached: a note (who answered, when to call again).
        attempt = QWidget()
        attempt_form = QFormLayout(attempt)
        attempt_form.setContentsMargins(0, 0, 0, 0)
        self.note = QLineEdit()
        self.note.setAccessibleName("Note")
        self.note.setMaxLength(NOTE_MAX)
        self.note.setPlaceholderText("Optional: who answered, when to call again")
        attempt_form.addRow("Note:", self.note)
        self.pages = QStackedWidget()
        self.pages.addWidget(reached)
        self.pages.addWidget(attempt)

        self.addendum = QLabel("")
        self.addendum.setObjectName("hint")
        self.addendum.setWordWrap(True)
        if view.status != "draft":
            self.addendum.setText(f"Case {row.case_number} is signed: this follow-up is added as an addendum "
                                  "(audited); the case stays signed.")  # fmt: skip
        self.error = QLabel("")
        self.error.setObjectName("fieldError")
        self.error.setWordWrap(True)
        self.error.setAccessibleName("Why the follow-up was not saved")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setDefault(True)
        self.save_button.setToolTip("Save the follow-up (Return)")
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)

        top = QFormLayout()
        top.addRow("&Result:", self.contact)
        top.addRow("&Date:", self.date)
        layout = QVBoxLayout(self)
        layout.addWidget(who)
        layout.addLayout(top)
        layout.addWidget(self.pages)
        layout.addWidget(self.addendum)
        layout.addWidget(self.error)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.contact.currentIndexChanged.connect(self._result_changed)
        self._result_changed()
        self.contact.setFocus()
        self.resize(520, self.sizeHint().height())

    def _result_changed(self, *_args: object) -> None:
        reached = self.contact.currentData() == REACHED
        self.pages.setCurrentIndex(0 if reached else 1)
        if not self.saving:
            self.error.setText("")  # a problem with the other choice's answers is no longer this one's
        self.date.setAccessibleName("Date of contact" if reached else "Date of the attempt")

    # ---- what was typed ------------------------------------------------------------------------------------

    def record(self) -> OutcomeScore | FollowUpAttempt:
        """The follow-up as typed; InvalidInput naming the field when a box holds no number or date."""
        day = from_qdate(self.date.date())
        result = self.contact.currentData()
        if result != REACHED:
            return FollowUpAttempt(self.row.timepoint, day, result, self.note.text().strip() or None)
        values: dict[str, Any] = {}
        for key, edit in self.scores.items():
            typed = edit.text().strip()
            values[key] = int(typed) if typed else None
        returned = self.returned.text().strip()
        if returned:
            try:
                values["returned_to_activities"] = dt.date.fromisoformat(returned)
            except ValueError:
                raise InvalidInput(f"Returned to activities: {returned!r} is not a date (YYYY-MM-DD)") from None
        return OutcomeScore(self.row.timepoint, day, pgic=self.pgic.currentData(),
                            work_status=self.work_status.currentData(), analgesics=self.analgesics.currentData(),
                            physical_therapy=self.physical_therapy.currentData(), **values)  # fmt: skip

    def _field_of(self, path: str) -> QWidget | None:
        key = path.rsplit(".", 1)[-1]
        widgets: dict[str, QWidget] = {**self.scores, "pgic": self.pgic, "work_status": self.work_status,
                                       "analgesics": self.analgesics, "returned_to_activities": self.returned,
                                       "physical_therapy": self.physical_therapy, "date": self.date,
                                       "note": self.note, "result": self.contact}  # fmt: skip
        return widgets.get(key)

    def show_problem(self, exc: BaseException) -> None:
        """Say why nothing was saved, each problem under its field's name; focus the first field named."""
        if isinstance(exc, InvalidInput):
            lines = []
            for problem in exc.problems:
                key = problem.path.rsplit(".", 1)[-1]
                name = FIELD_LABELS.get(re.sub(r"\[\d+\]$", "", key), "")
                lines.append(f"{name}: {problem.message}" if name else str(problem))
            text = "\n".join(lines)
            first = next((w for p in exc.problems if (w := self._field_of(p.path)) is not None), None)
            if first is not None:
                first.setFocus()
        else:
            text = error_text(exc)
        self.error.setText(f"Not saved. {text}")

    # ---- saving ---------------------------------------------------------------------------------------------

    def save(self) -> None:
        """Check what was typed, then save it in the background; the dialog closes once the case holds it."""
        if self.saving:
            return
        try:
            record = self.record()
        except CaselogError as exc:
            self.show_problem(exc)
            return
        self.saving = True
        self.save_button.setEnabled(False)
        self.error.setText("Saving…")
        submit = self._submit

        def work(_progress: Progress) -> CaseView:
            return submit(record)

        def done(view: CaseView) -> None:
            if not shiboken6.isValid(self):
                return
            self.saving = False
            self.saved = view
            self.accept()

        def failed(exc: BaseException) -> None:
            if not shiboken6.isValid(self):
                return
            self.saving = False
            self.save_button.setEnabled(True)
            self.show_problem(exc)

        self._tasks.run(work, on_result=done, on_error=failed, write=True)

    def done_text(self) -> str:
        """What the desk's status bar says once saved."""
        when = vocab.label(vocab.TIMEPOINTS, self.row.timepoint)
        result = self.contact.currentData()
        what = "scores" if result == REACHED else vocab.label(vocab.FOLLOW_UP_RESULTS, result).lower()
        return f"Saved the {when} follow-up of {self.row.patient_name} (case {self.row.case_number}): {what}."

    def reject(self) -> None:
        if not self.saving:  # a save on its way finishes first: closing now would hide whether it worked
            super().reject()


def _esc(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
