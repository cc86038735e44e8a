"""The case form's look at the patient's other cases while a case is typed: an ablation's indication check
against the clinic's policy, a block's place in the patient's series, and the question signing asks when the
reason for a case outside the policy is missing.

The reads run off the GUI thread once the typing pauses; an answer that a later edit made stale is dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from html import escape
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from caselog import vocab
from caselog.errors import CaselogError, InvalidInput, NotFound
from caselog.pathway import IndicationCheck
from caselog.records import CaseRecord
from ui.case_fields import CaseFields
from ui.indication_strip import block_series, check_html, record_to_check
from ui.services import Services
from ui.style import colours

#: The check waits for a pause in the typing this long, then runs off the GUI thread.
CHECK_MS = 300


class EntryCheck(QObject):
    """Keeps the form's indication strip, reason field and block series in step with what is typed."""

    #: An answer from the background is shown: an ablation's indication check, a block's series.
    checked = Signal()

    def __init__(
        self,
        services: Services,
        fields: CaseFields,
        *,
        today: Callable[[], dt.date],
        case_number: Callable[[], str | None],
        shown: Callable[[], object],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._services = services
        self._fields = fields
        self._today = today
        self._case_number = case_number
        self._shown = shown
        #: The latest indication check (None: not an ablation, or not checkable yet).
        self.check: IndicationCheck | None = None
        self._generation = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CHECK_MS)
        self._timer.timeout.connect(self.check_now)

    def read_policy(self) -> None:
        """The clinic's relief threshold for the block's read-out; a policy that cannot be read judges no block."""
        try:
            policy = self._services.cases.indication_policy()
        except CaselogError as exc:
            self._fields.block.set_policy_unread(f"the clinic's policy could not be read. {exc.message}")
            return
        self._fields.block.set_threshold(policy.relief_threshold_percent)

    def schedule(self) -> None:
        """Check again once the typing pauses."""
        self._timer.start()

    def reason_wanted(self) -> bool:
        """Outside the policy, and no reason written yet."""
        return (
            self.check is not None
            and self.check.outside_policy
            and not self._fields.outside_policy_reason.text().strip()
        )

    def check_now(self) -> None:
        """Check an ablation against the clinic's policy, or place a block in the patient's series."""
        self._timer.stop()
        self._generation += 1
        data = self._fields.data()
        procedure = data.get("procedure")
        if procedure not in vocab.ABLATIONS:
            self._show(None)
        record = record_to_check(data, self._today())
        if procedure == "medial_branch_block":
            self._place_block(record)
            return
        self._fields.block.set_series("")
        if procedure not in vocab.ABLATIONS:
            return
        if record is None:
            self._show(None, "The clinic's policy is checked once MRN, date, procedure and levels are in.")
            return
        generation, cases, number = self._generation, self._services.cases, self._case_number()
        self._services.tasks.run(
            lambda _progress: (generation, cases.indication_check(record, number)),
            on_result=self._checked,
            on_error=self._check_failed,
            owner=self,
        )

    def _place_block(self, record: CaseRecord | None) -> None:
        """ "Second block at L4-L5 bilateral", from the patient's other blocks (none yet for a new MRN)."""
        if record is None:
            self._fields.block.set_series("")
            return
        generation, cases, number = self._generation, self._services.cases, self._case_number()

        def work(_progress: object) -> tuple[int, str]:
            try:
                pathway = cases.patient_pathway(record.patient.mrn)
            except NotFound:
                pathway = None
            return generation, block_series(pathway, record, number)

        self._services.tasks.run(work, on_result=self._placed, on_error=self._place_failed, owner=self)

    def _place_failed(self, _exc: BaseException) -> None:
        self._fields.block.set_series("")  # the read-out stands without it

    def _placed(self, result: tuple[int, str]) -> None:
        generation, text = result
        if generation == self._generation:
            self._fields.block.set_series(text)
            self.checked.emit()

    def _checked(self, result: tuple[int, IndicationCheck]) -> None:
        generation, check = result
        if generation == self._generation:
            self._show(check)
            self.checked.emit()

    def _check_failed(self, exc: BaseException) -> None:
        self._show(None, f"The clinic's policy could not be checked: {exc}")

    def _show(self, check: IndicationCheck | None, note: str = "") -> None:
        self.check = check if check is not None and check.applies else None
        label = self._fields.policy_note
        outside = self.check is not None and self.check.outside_policy
        text = check_html(self.check, colours(self._fields.palette())) if self.check is not None else escape(note)
        label.setText(text)
        label.setVisible(bool(text))
        label.setProperty("outside", outside)
        label.style().unpolish(label)
        label.style().polish(label)
        self._fields.set_reason_shown(outside)
        self._shown()


class ReasonForm(Protocol):
    def show_reason_field(self) -> None: ...


def ask_for_policy_reason(
    parent: QWidget, case_number: str, refusal: InvalidInput, open_case: Callable[[], ReasonForm | None]
) -> bool:
    """Signing refused for want of the reason a case outside the clinic's policy was done: say so in words and
    offer the case's form at that field. False when the refusal is about something else."""
    wanted = [p for p in refusal.problems if p.path == "outside_policy_reason"]
    if not wanted:
        return False
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(f"Case {case_number} was not signed")
    box.setText(f"Case {case_number} is outside the clinic's policy: signing it needs the reason it was done.")
    box.setInformativeText(f"The reason outside policy {wanted[0].message}.")
    write = box.addButton("Write the reason…", QMessageBox.ButtonRole.AcceptRole)
    later = box.addButton("Not now", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(write)
    box.setEscapeButton(later)
    box.exec()
    if box.clickedButton() is write and (form := open_case()) is not None:
        form.show_reason_field()
    return True
