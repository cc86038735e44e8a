"""The print desk's procedures "to complete": the day's schedule imported (caselog.schedule), each entry opened
in the case form it prefills; saving the form creates the draft case and takes the entry off the list."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QInputDialog, QLabel, QPushButton, QVBoxLayout, QWidget

from caselog import schedule, vocab
from caselog.accounts import Action
from caselog.records import CaseView
from caselog.schedule import ScheduledProcedure
from ui import shortcuts
from ui.case_form import CaseForm
from ui.desks.common import ROW_ROLE, Desk, desk_action
from ui.messages import show_error
from ui.progress import run_job
from ui.tables import RowsTableModel, list_table, select_row
from ui.tasks import Progress, Task
from ui.window_state import last_folder, remember_folder

#: As the cases to print above: whose, what, where, by whom first; the MRN last (it fits a 1280 px screen).
COLUMNS: tuple[tuple[str, int], ...] = (
    ("Date", 82), ("Patient", 140), ("Procedure", 150), ("Levels", 150), ("Surgeon", 118), ("MRN", 96),
)  # fmt: skip
#: The open dialog starts where the last schedule came from.
SCHEDULE_FOLDER = "print-desk-schedule"


class ScheduleModel(RowsTableModel[ScheduledProcedure]):
    """The scheduled procedures waiting to be completed, oldest day first."""

    def _headings(self) -> Sequence[str]:
        return [title for title, _ in COLUMNS]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        entry = self._rows[index.row()]
        if role == ROW_ROLE:
            return entry
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            texts = (
                entry.procedure_date.isoformat(), entry.patient.display_name,
                vocab.label(vocab.PROCEDURE_SHORT, entry.procedure), entry.levels_text, entry.surgeon,
                entry.patient.mrn,
            )  # fmt: skip
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"From {entry.source}, line {entry.source_line}"
            return texts[index.column()]
        return None


class SchedulePanel(QWidget):
    """The list to complete, with Import schedule…, Complete case… (Return on a row too) and Take off list…"""

    def __init__(self, desk: Desk) -> None:
        super().__init__(desk)
        self.desk = desk
        self.form: CaseForm | None = None
        self.heading = QLabel("To complete")
        self.heading.setObjectName("deskHeading")
        self.model = ScheduleModel(self)
        self.table = list_table(self.model, "Scheduled procedures to complete", widths=[w for _, w in COLUMNS])
        self.import_button = QPushButton("Import sche&dule…")
        self.import_button.setAccessibleName("Import schedule")
        shortcuts.bind(self.import_button, "import_schedule",
                       tip="Import the day's schedule (CSV) as procedures to complete")  # fmt: skip
        self.complete_button = QPushButton("&Complete case…")
        self.complete_button.setAccessibleName("Complete case")
        self.complete_button.setToolTip("Open the selected procedure in the case form to complete it (Return)")
        self.cancel_button = QPushButton("Ta&ke off list…")
        self.cancel_button.setAccessibleName("Take off list")
        self.cancel_button.setToolTip("The selected procedure will not happen: take it off the list, with a reason")
        hint = QLabel("Scheduled procedures become cases once the form is completed and saved.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)  # beside the PDF preview the desk still fits a narrow screen
        enter = desk_action(self.table, "Complete case", self.complete_selected, "open",
                            "Complete the selected scheduled procedure")  # fmt: skip
        enter.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 6)
        layout.addWidget(self.heading)
        layout.addWidget(self.table, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_button)
        buttons.addWidget(self.complete_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addWidget(hint)

        may_add = desk.services.cases.allows(Action.EDIT_DRAFT)
        self.import_button.setEnabled(may_add)
        self.import_button.clicked.connect(lambda: self.import_schedule())
        self.complete_button.clicked.connect(lambda: self.complete_selected())
        self.cancel_button.clicked.connect(lambda: self.take_off())
        self.table.doubleClicked.connect(lambda _i: self.complete_selected())
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.modelReset.connect(self._selection_changed)
        self._selection_changed()

    def _selection_changed(self, *_args: object) -> None:
        may_add = self.desk.services.cases.allows(Action.EDIT_DRAFT)
        self.complete_button.setEnabled(may_add and self.selected() is not None)
        self.cancel_button.setEnabled(may_add and self.selected() is not None)

    def selected(self) -> ScheduledProcedure | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows()[rows[0].row()] if rows else None

    def reload(self) -> None:
        service = self.desk.services.cases

        def work(_progress: Progress) -> list[ScheduledProcedure]:
            return schedule.to_complete(service)

        def loaded(rows: list[ScheduledProcedure]) -> None:
            if not shiboken6.isValid(self.model):
                return  # the desk was closed and deleted while the list was read
            self.model.set_rows(rows)
            n = len(rows)
            self.heading.setText(f"To complete: {n} scheduled procedure{'' if n == 1 else 's'}" if n else
                                 "To complete: nothing waiting")  # fmt: skip
            if rows:
                select_row(self.table, 0)

        def failed(exc: BaseException) -> None:
            if shiboken6.isValid(self):
                show_error(self, "The schedule could not be loaded", exc)

        self.desk.services.tasks.run(work, on_result=loaded, on_error=failed, owner=self)

    def import_schedule(self, path: Path | None = None) -> Task | None:
        """Ask for the day's CSV, import it whole or not at all (the problems named by line), list it."""
        if path is None:
            name, _ = QFileDialog.getOpenFileName(self, "Import the day's schedule", str(last_folder(SCHEDULE_FOLDER)),
                                                  "Schedule (*.csv)")  # fmt: skip
            if not name:
                return None
            path = Path(name)
            remember_folder(SCHEDULE_FOLDER, path)
        service, source = self.desk.services.cases, path

        def work(_progress: Progress) -> list[ScheduledProcedure]:
            return schedule.import_schedule(service, source)

        def done(entries: list[ScheduledProcedure]) -> None:
            n = len(entries)
            self.desk.say(f"Imported {n} scheduled procedure{'' if n == 1 else 's'} from {source.name}: "
                          "complete each as a case.")  # fmt: skip
            self.reload()

        return run_job(self.desk, self.desk.services, "Importing the schedule…", work, done, write=True,
                       on_end=self.desk.say)  # fmt: skip

    def take_off(self, reason: str | None = None) -> Task | None:
        """Ask why the selected procedure will not happen, then take it off the list (kept, audited)."""
        entry = self.selected()
        if entry is None:
            return None
        if reason is None:
            procedure = vocab.label(vocab.PROCEDURE_SHORT, entry.procedure)
            reason, ok = QInputDialog.getText(
                self, "Take off the list", f"Why will the {procedure} for {entry.patient.display_name} on "
                f"{entry.procedure_date} not happen?",
            )  # fmt: skip
            if not ok:
                return None
        service, why = self.desk.services.cases, reason

        def work(_progress: Progress) -> None:
            schedule.cancel(service, entry.id, reason=why)

        def done(_result: None) -> None:
            self.desk.say(f"Took {entry.patient.display_name}'s procedure on {entry.procedure_date} off the list.")
            self.reload()

        return run_job(self.desk, self.desk.services, "Taking it off the list…", work, done, write=True,
                       on_end=self.desk.say)  # fmt: skip

    def complete_selected(self) -> CaseForm | None:
        """The case form, prefilled from the schedule; its Save creates the draft and takes the entry off."""
        entry = self.selected()
        if entry is None or not self.desk.services.cases.allows(Action.EDIT_DRAFT):
            return None
        if self.form is not None:
            self.form.raise_()
            self.form.activateWindow()
            return None
        services = self.desk.services

        def create(data: Any) -> CaseView:
            return schedule.complete(services.cases, entry.id, data)

        procedure = vocab.label(vocab.PROCEDURE_SHORT, entry.procedure)
        form = CaseForm(services, self.desk.settings, data=entry.case_data(), today=self.desk._today,
                        title=f"Complete the scheduled {procedure} for {entry.patient.display_name}",
                        parent=self.desk, create=create)  # fmt: skip
        form.finished.connect(lambda _result: self._form_closed(form))
        self.form = form
        form.open()
        return form

    def _form_closed(self, form: CaseForm) -> None:
        self.form = None
        if form.saved is not None:
            self.desk.say(f"Saved case {form.saved.case_number} (draft); it is off the list to complete.")
        form.deleteLater()
        self.reload()
