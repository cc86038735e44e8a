"""The follow-up desk for coordinators: the follow-ups due this week and overdue (by surgeon and procedure), each
recorded from the list in a few keystrokes (ui.followup_dialog); the call list and the patient letters as PDF
(printed or saved, audited as every print is); and, on a second page, how many cases per procedure and surgeon
have complete, overdue and lost follow-up, or died.

Everything is read off the GUI thread; a result that comes back after the desk was closed is dropped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtPrintSupport import QPrinter
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from caselog import vocab
from caselog.accounts import Action
from caselog.followup import DueFollowUp, FollowUpCounts, FollowUpService, total_counts
from caselog.records import CaseView, FollowUpAttempt, OutcomeScore
from ui.desks.common import ROW_ROLE, SORT_ROLE, Desk, NumbersModel, desk_action, set_combo_items
from ui.desks.followup_papers import FollowUpPapers
from ui.followup_dialog import FollowUpDialog
from ui.messages import show_error
from ui.style import review_colour
from ui.tables import RowsTableModel, Selection, list_table, select_row
from ui.tasks import Progress, Task
from ui.widgets import combo, named_button
from ui.window_state import restore_geometry, save_geometry

#: What the list shows: (label, key); a number is "due within that many days, and overdue".
SHOWS: tuple[tuple[str, str], ...] = (
    ("Due this week and overdue", "7"),
    ("Overdue only", "overdue"),
    ("Due within 14 days and overdue", "14"),
    ("Due within 30 days and overdue", "30"),
)
#: Fits a 1280 px screen with the calls made last (the last column takes what is left).
COLUMNS: tuple[tuple[str, int], ...] = (
    ("Due", 84), ("Status", 100), ("Patient", 160), ("Born", 84), ("MRN", 118), ("Case", 86), ("Procedure", 140),
    ("Levels", 170), ("Follow-up", 80), ("Surgeon", 140), ("Calls", 50),
)  # fmt: skip
COL_DUE, COL_STATUS, COL_PATIENT, COL_CALLS = 0, 1, 2, 10
COUNT_COLUMNS = ("Procedure", "Surgeon", "Cases", "Complete", "Overdue", "Lost to follow-up", "Died",
                 "Complete %")  # fmt: skip
COUNT_WIDTHS = (170, 190, 80, 90, 90, 130, 80)


def status_text(row: DueFollowUp, today: dt.date) -> str:
    if row.status == "overdue":
        return f"Overdue {row.days_overdue} d" if row.days_overdue else "Due today"
    days = (row.due_date - today).days
    return "Due tomorrow" if days == 1 else f"Due in {days} d"


class DueListModel(RowsTableModel[DueFollowUp]):
    """The follow-ups due, in the service's order (by due date)."""

    def __init__(self, today: Callable[[], dt.date], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._today = today

    def _headings(self) -> Sequence[str]:
        return [title for title, _ in COLUMNS]

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.DisplayRole:
            calls = str(row.attempts) if row.attempts else ""
            texts = (
                row.due_date.isoformat(), status_text(row, self._today()), row.patient_name,
                row.birth_date.isoformat(), row.mrn, row.case_number, vocab.label(vocab.PROCEDURE_SHORT, row.procedure),
                row.levels, vocab.label(vocab.TIMEPOINTS, row.timepoint), row.surgeon, calls,
            )  # fmt: skip
            return texts[column]
        if role == SORT_ROLE and column == COL_STATUS:
            return row.days_overdue
        if role == Qt.ItemDataRole.ToolTipRole and column == COL_CALLS and row.last_attempt is not None:
            return f"{row.attempts} call{'' if row.attempts == 1 else 's'} without reaching the patient; " \
                   f"the last on {row.last_attempt}"  # fmt: skip
        if role == Qt.ItemDataRole.ForegroundRole and column == COL_STATUS and row.status == "overdue":
            return review_colour("open", QApplication.palette())
        if role == Qt.ItemDataRole.TextAlignmentRole and column == COL_CALLS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def counts_table(rows: Sequence[FollowUpCounts]) -> list[tuple[object, ...]]:
    """The counts page's rows, the totals last."""

    def line(row: FollowUpCounts, procedure: str, surgeon: str) -> tuple[object, ...]:
        share = round(100 * row.complete / row.cases, 1) if row.cases else None
        return (procedure, surgeon, row.cases, row.complete, row.overdue, row.lost, row.died, share)

    lines = [line(r, vocab.label(vocab.PROCEDURE_SHORT, r.procedure or ""), r.surgeon or "") for r in rows]
    if rows:
        lines.append(line(total_counts(rows), "All procedures", "All surgeons"))
    return lines


class FollowUpDesk(Desk):
    """The due list and the counts; `open_case(case_number)` asks the main window to open a case."""

    open_case = Signal(str)

    def _build(self) -> None:
        self.setWindowTitle("Follow-up desk – CaseLog")
        self.dialog: FollowUpDialog | None = None
        self._generation = 0
        self._counts_generation = 0
        self._counts_read = False
        self._select_after: int | None = None
        self.papers = FollowUpPapers(self, self, self.say)

        self.show_box = combo("Follow-ups to show", [(label, key) for label, key in SHOWS])
        self.show_box.setMinimumContentsLength(max(len(label) for label, _ in SHOWS))
        self.surgeon = combo("Surgeon filter", [("All surgeons", None)])
        procedures = [("All procedures", None), *((v, k) for k, v in vocab.PROCEDURE_SHORT.items())]
        self.procedure = combo("Procedure filter", procedures)
        self.heading = QLabel("")
        self.heading.setObjectName("deskHeading")
        self.heading.setAccessibleName("Follow-ups listed")
        self.model = DueListModel(self._today, self)
        self.table = list_table(self.model, "Follow-ups due", widths=[w for _, w in COLUMNS],
                                selection=Selection.SingleSelection)  # fmt: skip
        self.record_button = named_button("&Record follow-up…")
        self.record_button.setToolTip("Record what came of the call for the selected follow-up (Return)")
        hint = QLabel("Return on a row records its follow-up: the patient's answers, or why there are none.")
        hint.setObjectName("hint")
        hint.setWordWrap(True)

        self.record_action = desk_action(self, "&Record follow-up…", self.record_selected, None,
                                         "Record the selected follow-up (Return)")  # fmt: skip
        enter = desk_action(self.table, "Record follow-up", self.record_selected, "open",
                            "Record the selected follow-up")  # fmt: skip
        enter.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.open_action = desk_action(self, "&Open case", self._open_selected, "open_case",
                                       "Open the selected follow-up's case")  # fmt: skip
        self.print_action = desk_action(self, "&Print call list…", self.print_call_list, "print",
                                        "Print the call list of the follow-ups listed")  # fmt: skip
        self.save_action = desk_action(self, "&Save call list as PDF…", self.save_call_list, "save",
                                       "Save the call list of the follow-ups listed as a PDF")  # fmt: skip
        letters_tip = "a letter to each patient listed, asking for their scores"
        self.letters_action = desk_action(self, "Patient &letters…", self.save_letters, None,
                                          f"Save {letters_tip} (PDF)")  # fmt: skip
        self.print_letters_action = desk_action(self, "Print le&tters…", self.print_letters, None,
                                                f"Print {letters_tip}")  # fmt: skip
        self.reload_action = desk_action(self, "R&eload", self.refresh, "reload", "Read the follow-ups again")
        toolbar = self.addToolBar("Follow-up")
        toolbar.setObjectName("followup")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.record_action, self.open_action, self.print_action, self.save_action,
                       self.letters_action, self.print_letters_action, self.reload_action):  # fmt: skip
            toolbar.addAction(action)

        due_page = QWidget()
        dl = QVBoxLayout(due_page)
        dl.setContentsMargins(8, 6, 8, 6)
        filters = QHBoxLayout()
        for label, box in (("Show:", self.show_box), ("Surgeon:", self.surgeon), ("Procedure:", self.procedure)):
            filters.addWidget(QLabel(label))
            filters.addWidget(box)
        filters.addStretch(1)
        dl.addLayout(filters)
        dl.addWidget(self.heading)
        dl.addWidget(self.table, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.record_button)
        bottom.addWidget(hint, 1)
        dl.addLayout(bottom)

        self.counts_heading = QLabel("")
        self.counts_heading.setObjectName("deskHeading")
        self.counts_model = NumbersModel(self)
        self.counts_view = list_table(self.counts_model, "Follow-up by procedure and surgeon",
                                      selection=Selection.SingleSelection)  # fmt: skip
        counts_hint = QLabel(
            "Complete: every follow-up due so far recorded. Overdue: one is due and not yet recorded. "
            "Lost: moved away, declined, or a missed follow-up with none recorded after it."
        )
        counts_hint.setObjectName("hint")
        counts_hint.setWordWrap(True)
        counts_page = QWidget()
        cl = QVBoxLayout(counts_page)
        cl.setContentsMargins(8, 6, 8, 6)
        cl.addWidget(self.counts_heading)
        cl.addWidget(self.counts_view, 1)
        cl.addWidget(counts_hint)

        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Follow-up desk pages")
        self.tabs.addTab(due_page, "&Due list")
        self.tabs.addTab(counts_page, "&Counts")
        self.tabs.setTabToolTip(1, "Cases with complete, overdue and lost follow-up, per procedure and surgeon")
        self.setCentralWidget(self.tabs)
        restore_geometry(self, "followup-desk", QSize(1280, 720))

        for box in (self.show_box, self.surgeon, self.procedure):
            box.currentIndexChanged.connect(lambda _i: self.load_due())
        self.record_button.clicked.connect(lambda: self.record_selected())
        self.table.doubleClicked.connect(lambda _i: self.record_selected())
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.modelReset.connect(self._selection_changed)
        self.tabs.currentChanged.connect(self._page_changed)
        self._selection_changed()

    def say(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)

    @property
    def last_output(self) -> Path | None:
        """Where the last call list or letters were saved."""
        return self.papers.last_output

    def rows(self) -> list[DueFollowUp]:
        """The follow-ups listed, in the list's order (what the papers print)."""
        return self.model.rows()

    def scope(self) -> str:
        """The filters in words, printed on the call list."""
        parts = [self.show_box.currentText()]
        if self.surgeon.currentData() is not None:
            parts.append(self.surgeon.currentText())
        if self.procedure.currentData() is not None:
            parts.append(self.procedure.currentText())
        return ", ".join(parts)

    def followups(self) -> FollowUpService:
        """Over the signed-in account's case service (read at each use: a sign-in replaces it)."""
        return FollowUpService(self.services.cases, today=self._today)

    def may_record(self) -> bool:
        return self.services.cases.allows(Action.ADDENDUM)

    # ---- reading --------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the due list (and the counts, once their page was shown)."""
        self.load_due()
        if self._counts_read:
            self.load_counts()

    def due_request(self) -> dict[str, Any]:
        """The arguments of FollowUpService.due for what the filters say."""
        show = self.show_box.currentData()
        within = 0 if show == "overdue" else int(show)
        return {"within_days": within, "upcoming": show != "overdue", "overdue": True,
                "surgeon": self.surgeon.currentData(), "procedure": self.procedure.currentData()}  # fmt: skip

    def load_due(self) -> Task:
        self._generation += 1
        generation = self._generation
        follow, service, request = self.followups(), self.services.cases, self.due_request()
        self.heading.setText("Follow-ups due: loading…")

        def work(_progress: Progress) -> tuple[list[DueFollowUp], list[str]]:
            return follow.due(**request), service.surgeons()

        def loaded(result: tuple[list[DueFollowUp], list[str]]) -> None:
            if not shiboken6.isValid(self.model) or generation != self._generation:
                return  # the desk was closed, or a newer read is on its way
            rows, surgeons = result
            set_combo_items(self.surgeon, ("All surgeons", None), [(s, s) for s in surgeons])
            keep = self._select_after if self._select_after is not None else 0
            self._select_after = None
            self.model.set_rows(rows)
            self.heading.setText(self._heading_text(rows))
            if rows:
                select_row(self.table, min(keep, len(rows) - 1))

        def failed(exc: BaseException) -> None:
            if shiboken6.isValid(self.model) and generation == self._generation:
                self.heading.setText("Follow-ups due: could not be loaded")
                show_error(self, "The follow-ups could not be loaded", exc)

        return self.services.tasks.run(work, on_result=loaded, on_error=failed, owner=self)

    def _heading_text(self, rows: Sequence[DueFollowUp]) -> str:
        if not rows:
            return "Nothing due: no follow-up to record in this list."
        overdue = sum(1 for r in rows if r.status == "overdue")
        n = len(rows)
        return f"{n} follow-up{'' if n == 1 else 's'} to record: {overdue} overdue, {n - overdue} coming due"

    def load_counts(self) -> Task:
        self._counts_generation += 1
        generation = self._counts_generation
        follow = self.followups()
        self.counts_heading.setText("Follow-up by procedure and surgeon: loading…")

        def work(_progress: Progress) -> list[FollowUpCounts]:
            return follow.counts()

        def loaded(rows: list[FollowUpCounts]) -> None:
            if not shiboken6.isValid(self.counts_model) or generation != self._counts_generation:
                return
            self.counts_model.set_table(COUNT_COLUMNS, counts_table(rows))
            for column, width in enumerate(COUNT_WIDTHS):  # the columns exist once the table is set
                self.counts_view.setColumnWidth(column, width)
            total = total_counts(rows)
            self.counts_heading.setText(
                f"Follow-up of {total.cases:,} cases: {total.complete:,} complete, {total.overdue:,} overdue, "
                f"{total.lost:,} lost, {total.died:,} died"
                if rows
                else "No cases yet: nothing to count."
            )

        def failed(exc: BaseException) -> None:
            if shiboken6.isValid(self.counts_model) and generation == self._counts_generation:
                self.counts_heading.setText("Follow-up by procedure and surgeon: could not be loaded")
                show_error(self, "The follow-up counts could not be loaded", exc)

        return self.services.tasks.run(work, on_result=loaded, on_error=failed, owner=self)

    def show_counts(self) -> None:
        self.tabs.setCurrentIndex(1)

    def _page_changed(self, index: int) -> None:
        if index == 1 and not self._counts_read:
            self._counts_read = True
            self.load_counts()
        self._selection_changed()

    def _selection_changed(self, *_args: object) -> None:
        on_list = self.tabs.currentIndex() == 0
        chosen = on_list and self.selected() is not None
        self.record_action.setEnabled(chosen and self.may_record())
        self.record_button.setEnabled(chosen and self.may_record())
        self.open_action.setEnabled(chosen)
        listed = self.model.rowCount() > 0
        for action in (self.print_action, self.save_action, self.letters_action, self.print_letters_action):
            action.setEnabled(listed)

    def selected(self) -> DueFollowUp | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.rows()[rows[0].row()] if rows else None

    def _open_selected(self) -> None:
        row = self.selected()
        if row is not None:
            self.open_case.emit(row.case_number)

    # ---- recording a follow-up --------------------------------------------------------------------------

    def record_selected(self) -> Task | None:
        """Read the selected row's case, then ask what came of the contact (ui.followup_dialog)."""
        row = self.selected()
        if row is None or self.tabs.currentIndex() != 0:
            return None
        if not self.may_record():
            self.say("Your role may not add follow-up to cases.")
            return None
        if self.dialog is not None:
            self.dialog.raise_()
            self.dialog.activateWindow()
            return None
        service = self.services.cases
        position = self.table.selectionModel().selectedRows()[0].row()

        def work(_progress: Progress) -> CaseView:
            return service.get_case(row.case_number)

        def loaded(view: CaseView) -> None:
            if shiboken6.isValid(self) and self.dialog is None:
                self._open_dialog(row, view, position)

        def failed(exc: BaseException) -> None:
            if shiboken6.isValid(self):
                show_error(self, f"Case {row.case_number} could not be read", exc)

        return self.services.tasks.run(work, on_result=loaded, on_error=failed, owner=self)

    def _open_dialog(self, row: DueFollowUp, view: CaseView, position: int) -> None:
        follow, number, version = self.followups(), row.case_number, view.version

        def submit(record: OutcomeScore | FollowUpAttempt) -> CaseView:
            if isinstance(record, OutcomeScore):
                return follow.record_outcome(number, record, expected_version=version)
            return follow.record_attempt(number, record, expected_version=version)

        dialog = FollowUpDialog(row, view, tasks=self.services.tasks, submit=submit, today=self._today(), parent=self)
        dialog.finished.connect(lambda _result: self._dialog_closed(dialog, position))
        self.dialog = dialog
        dialog.open()

    def _dialog_closed(self, dialog: FollowUpDialog, position: int) -> None:
        self.dialog = None
        if dialog.saved is not None:
            self.say(dialog.done_text())
            self._select_after = position  # the next follow-up moves up into the row just done
            self.load_due()
            if self._counts_read:
                self.load_counts()
        dialog.deleteLater()
        self.activateWindow()  # back to the list: Return records the next follow-up
        self.table.setFocus()

    # ---- the call list and the letters (ui.desks.followup_papers) ---------------------------------------

    def save_call_list(self, path: Path | None = None) -> Task | None:
        return self.papers.save("call list", path)

    def save_letters(self, path: Path | None = None) -> Task | None:
        return self.papers.save("letters", path)

    def print_call_list(self, printer: QPrinter | None = None) -> Task | None:
        return self.papers.print("call list", printer)

    def print_letters(self, printer: QPrinter | None = None) -> Task | None:
        return self.papers.print("letters", printer)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.dialog is not None:
            self.dialog.reject()  # a save on its way still completes; its answer is dropped with the desk
        save_geometry(self, "followup-desk")
        super().closeEvent(event)
