"""The patient view: one patient's pathway (blocks, ablations with their relief, repeats, complications) on a
time axis, a row per treated joint, with the cases under it; opened from any case in the main window.

It shows what CaseService.patient_pathway computes (caselog.pathway) and computes nothing itself: the rows and
words come from `patient_timeline(pathway)`. A case opens from the chart or the list (Return, double click).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from caselog.errors import CaselogError
from caselog.reports.pathway import write_patient_pathway
from caselog.validation import case_number_key
from ui import shortcuts
from ui.desks.menu import open_case_number
from ui.messages import show_error
from ui.pathway_chart import ROW_HEIGHT, TimelineChart
from ui.pathway_words import CaseLine, PatientTimeline, patient_timeline
from ui.progress import run_job
from ui.style import app_style_sheet
from ui.tables import HeadedTableModel, Selection, list_table, select_row
from ui.tasks import Progress, Task
from ui.widgets import named_button
from ui.window_state import last_folder, remember_folder, restore_geometry, save_geometry

if TYPE_CHECKING:
    from ui.window_parts import MainWindowParts

#: What the chart's shapes mean, in words (the chart never relies on colour alone).
LEGEND = (
    "◆ filled: positive block   ◇ hollow: negative block   ◇ grey: result unknown (no diary)   "
    "▬ ablation or rhizotomy, drawn over its relief period: ┃ ends at the next ablation of that joint, "
    "▶ at the last follow-up (relief lasted at least that long)   △ complication, with its Clavien-Dindo grade   "
    "□ other procedure"
)
CASE_ROLE = Qt.ItemDataRole.UserRole + 1
#: Where the save dialog opens: the folder a patient pathway PDF was last saved to.
PDF_FOLDER = "pathway_pdf"


class PathwayCasesModel(HeadedTableModel):
    """The patient's cases, oldest first (the chart reads left to right too)."""

    #: The result last: the longest words, given the width the others leave.
    COLUMNS = ("Date", "Case", "Procedure", "Levels", "Status", "Indication", "Complications", "Result")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.cases: list[CaseLine] = []

    def set_cases(self, cases: Sequence[CaseLine]) -> None:
        self.beginResetModel()
        self.cases = sorted(cases, key=lambda c: (c.date, case_number_key(c.case_number)))
        self.endResetModel()

    def _row_count(self) -> int:
        return len(self.cases)

    def _headings(self) -> Sequence[str]:
        return self.COLUMNS

    def row_of(self, case_number: str) -> int:
        return next((i for i, c in enumerate(self.cases) if c.case_number == case_number), -1)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        case = self.cases[index.row()]
        if role == CASE_ROLE:
            return case
        if role == Qt.ItemDataRole.ToolTipRole and self.COLUMNS[index.column()] == "Indication":
            return case.indication_detail or None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            values = (case.date.isoformat(), case.case_number, case.procedure, case.levels, case.status,
                      case.indication, case.complications, case.result)  # fmt: skip
            return values[index.column()]
        return None


class PathwayView(QDialog):
    """One patient's timeline and cases, read by `load` (again on F5 and after a case opened here closes), with
    the case `chosen` (the one it was opened from) current.
    `open_case(number)` asks the main window to open that case; `print_pdf` writes the "patient pathway" PDF."""

    open_case = Signal(str)

    def __init__(
        self,
        load: Callable[[], PatientTimeline],
        *,
        today: dt.date,
        chosen: str | None = None,
        print_pdf: Callable[[PathwayView], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._load = load
        self._today = today
        self.last_output: Path | None = None
        self.setStyleSheet(app_style_sheet(self.palette()))
        self.title = QLabel()
        self.title.setObjectName("deskHeading")
        self.title.setAccessibleName("Patient")
        self.facts = QLabel()
        self.facts.setAccessibleName("Patient facts")
        self.policy = QLabel()
        self.policy.setObjectName("hint")
        self.policy.setWordWrap(True)
        self.policy.setAccessibleName("Policy the results were read under")
        legend = QLabel(LEGEND)
        legend.setObjectName("hint")
        legend.setWordWrap(True)
        legend.setAccessibleName("What the timeline's shapes mean")

        self.chart = TimelineChart()
        self.chart_area = QScrollArea()
        self.chart_area.setWidget(self.chart)
        self.chart_area.setWidgetResizable(True)
        self.chart_area.setFocusProxy(self.chart)
        self.chart_area.setAccessibleName("Patient timeline")

        self.model = PathwayCasesModel(self)
        self.table = list_table(self.model, "The patient's cases", widths=(86, 92, 140, 120, 64, 215, 150),
                                selection=Selection.SingleSelection)  # fmt: skip
        # Return opens the row's case, as in the main list (the same key from the one shortcut table).
        self.open_action = QAction("Open case", self.table)
        shortcuts.bind(self.open_action, "open", tip="Open the chosen case")
        self.open_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.open_action.triggered.connect(lambda _c=False: self._open_chosen())
        self.table.addAction(self.open_action)
        self.reload_action = QAction("Reload", self)
        shortcuts.bind(self.reload_action, "reload", tip="Read the patient's cases again")
        self.reload_action.triggered.connect(lambda _c=False: self.reload())
        self.addAction(self.reload_action)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.open_button = named_button("&Open case", "Open the chosen case")
        self.print_button = named_button("&Print / Save as PDF…", "Print or save the patient pathway as a PDF")
        if print_pdf is not None:
            self.print_button.clicked.connect(lambda _c=False: print_pdf(self))
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(self.print_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.print_button.setVisible(print_pdf is not None)  # after addButton, which shows it

        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addWidget(self.facts, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.policy)
        layout.addWidget(self.chart_area, 3)
        layout.addWidget(legend)
        layout.addWidget(self.table, 2)
        layout.addWidget(buttons)

        self.chart.open_case.connect(self.open_case)
        self.table.doubleClicked.connect(lambda _index: self._open_chosen())
        self.open_button.clicked.connect(lambda _c=False: self._open_chosen())
        self.chart.chosen.connect(self._chart_chose)
        self.table.selectionModel().currentRowChanged.connect(lambda now, _old: self._table_chose(now))
        self.show_timeline(load(), keep=chosen)  # the case it was opened from, chosen on the chart and the list
        restore_geometry(self, "pathway", QSize(1240, 680))
        self.chart.setFocus()

    def show_timeline(self, timeline: PatientTimeline, keep: str | None = None) -> None:
        """Show `timeline`, with the case `keep` chosen again when it is still there (else the first)."""
        self.timeline = timeline
        self.setWindowTitle(f"Patient pathway – {timeline.title}")
        self.title.setText(timeline.title)
        self.facts.setText(timeline.facts)
        self.policy.setText(timeline.policy)
        self.chart.set_rows(timeline.rows, today=self._today)
        self.model.set_cases(timeline.cases)
        # The chart takes the height its rows need (scrolling beyond); the list below gets the rest.
        frame = 2 * self.chart_area.frameWidth()
        self.chart_area.setMaximumHeight(self.chart.sizeHint().height() + frame)
        mark = self.chart.current_mark()
        if keep and self.model.row_of(keep) >= 0:
            select_row(self.table, self.model.row_of(keep))
        elif mark is not None and mark.case_number:
            self._chart_chose(mark.case_number)
        elif self.model.cases:
            select_row(self.table, 0)

    def reload(self) -> None:
        """Read the pathway again (a case opened from here may have changed); an error is said, not raised."""
        try:
            timeline = self._load()
        except CaselogError as exc:
            show_error(self, "The patient's pathway could not be read", exc)
            return
        self.show_timeline(timeline, keep=self.chosen_case())

    def chosen_case(self) -> str | None:
        index = self.table.currentIndex()
        case = index.data(CASE_ROLE) if index.isValid() else None
        return case.case_number if isinstance(case, CaseLine) else None

    def _open_chosen(self) -> None:
        number = self.chosen_case()
        if number is not None:
            self.open_case.emit(number)

    def _chart_chose(self, case_number: str) -> None:
        self._show_current_mark()
        if case_number and self.chosen_case() != case_number:
            select_row(self.table, self.model.row_of(case_number))

    def _table_chose(self, index: QModelIndex) -> None:
        case = index.data(CASE_ROLE) if index.isValid() else None
        if isinstance(case, CaseLine) and self.chart.choose_case(case.case_number):
            self._show_current_mark()

    def _show_current_mark(self) -> None:
        """Scroll the chart (in a small window) to the chosen mark's row."""
        if self.chart.current is not None:
            top = self.chart.row_top(self.chart.current[0])
            self.chart_area.ensureVisible(0, top + ROW_HEIGHT // 2, 0, ROW_HEIGHT // 2 + 2)

    def done(self, result: int) -> None:
        save_geometry(self, "pathway")
        super().done(result)


def open_pathway(window: MainWindowParts) -> PathwayView | None:
    """The patient view of the selected case's patient, over the main window (it locks with it)."""
    row = window.current_row()
    if row is None:
        return None
    services, mrn = window.services, row.mrn

    def load() -> PatientTimeline:
        return patient_timeline(services.cases.patient_pathway(mrn))

    try:
        view = PathwayView(load, today=window._today(), chosen=row.case_number, parent=window,
                           print_pdf=lambda shown: save_pathway_pdf(window, shown, mrn))  # fmt: skip
    except CaselogError as exc:
        show_error(window, "The patient's pathway could not be read", exc)
        return None

    def open_case(number: str) -> None:
        open_case_number(window, number)
        if window.form is not None:  # what was changed there shows here once the form closes
            window.form.finished.connect(view.reload)

    view.open_case.connect(open_case)
    view.finished.connect(lambda _r: view.deleteLater())
    window.guard_window(view)
    view.show()
    view.activateWindow()
    view.chart.setFocus()  # the keys walk the timeline at once
    return view


def save_pathway_pdf(window: MainWindowParts, view: PathwayView, mrn: str) -> Task | None:
    """The "patient pathway" PDF (caselog.reports.pathway) written in the background, then opened to print. Each
    case in it gets a print entry in the audit trail, as a case summary does; a PDF whose printing could not be
    recorded is removed (no patient data leaves unrecorded)."""
    start = last_folder(PDF_FOLDER) / f"patient-pathway-{safe_file_stem(mrn)}.pdf"
    name, _ = QFileDialog.getSaveFileName(view, "Save the patient pathway PDF", str(start), "PDF (*.pdf)")
    if not name:
        return None
    path = Path(name) if name.lower().endswith(".pdf") else Path(f"{name}.pdf")
    remember_folder(PDF_FOLDER, path)
    services, settings = window.services, window.settings.report_settings()

    def work(_progress: Progress) -> tuple[Path, list[str]]:
        pathway = services.cases.patient_pathway(mrn)  # read afresh: what is printed is what is stored now
        write_patient_pathway(pathway, path, settings=settings)
        return path, [e.case.case_number for e in pathway.cases if e.case.case_number]

    def done(result: tuple[Path, list[str]]) -> None:
        written, numbers = result
        try:
            for number in numbers:
                services.cases.record_event("print", record_id=number,
                                            details={"document": "patient pathway", "mrn": mrn})  # fmt: skip
        except CaselogError as exc:
            written.unlink(missing_ok=True)
            show_error(view, "The patient pathway PDF was removed: its printing could not be recorded", exc)
            return
        view.last_output = written
        window.statusBar().showMessage(f"Saved {written}.", 10000)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(written)))

    return run_job(view, services, "Writing the patient pathway…", work, done)


def safe_file_stem(text: str) -> str:
    """An MRN as part of a file name: letters, digits, '-' and '_' kept, anything else '_'."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text) or "patient"
