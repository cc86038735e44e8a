"""The quality desk's "Outside policy" page: every ablation outside the clinic's indication policy, with the rule
it does not meet and the reason recorded (or "no reason"), filtered, exported as CSV or XLSX, each case a key
press away.

The list is read off the GUI thread in one go, as a single page of the shared paged model (each case is judged
in Python against its patient's other cases, so it cannot be paged in SQL; it holds a few percent of the
ablations), and sorted in memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QBrush, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QTableView, QVBoxLayout, QWidget

from caselog import vocab
from caselog.quality import POLICY_SORT_KEYS, OutsidePolicyEntry, PolicyFilter, list_outside_policy, policy_in_words
from ui.desks import quality_jobs
from ui.desks.common import DateRange, desk_action, set_combo_items
from ui.paged_model import Column, PagedTableModel, paged_table
from ui.progress import run_job
from ui.services import Services
from ui.tables import Selection, select_row
from ui.tasks import Progress, Task
from ui.widgets import combo

COL_CASE, COL_DATE, COL_PATIENT, COL_SURGEON, COL_PROCEDURE, COL_LEVELS, COL_RULE, COL_REASON = range(8)

#: What a reviewer scans first (which case, which rule, why it was done) comes first; the rest follows.
COLUMNS: tuple[Column, ...] = (
    Column("Case", "case_number", 86, lambda e: e.case_number),
    Column("Date", "procedure_date", 82, lambda e: e.procedure_date.isoformat(), value=lambda e: e.procedure_date),
    Column("Patient", "patient", 220, lambda e: f"{e.patient_name} ({e.mrn})"),
    Column("Surgeon", "surgeon", 135, lambda e: e.surgeon),
    Column("Procedure", "procedure", 140, lambda e: vocab.label(vocab.PROCEDURE_SHORT, e.procedure)),
    Column("Levels", "levels", 135, lambda e: e.levels_text),
    Column("Rule not met", "rules", 170, lambda e: e.rules_text),
    Column("Reason recorded", "reason", 260, lambda e: e.reason_text.replace("\n", " ")),
)

#: The reason filter's choices: either, recorded, not recorded.
REASON_CHOICES: tuple[tuple[str, bool | None], ...] = (
    ("Reason: any", None),
    ("Reason: recorded", True),
    ("Reason: none", False),
)


class OutsidePolicyModel(PagedTableModel[OutsidePolicyEntry, PolicyFilter]):
    """Holds frozen OutsidePolicyEntry rows; `refresh()` reads the whole list off the GUI thread (one "page") and
    emits `loaded`; a header click sorts the rows held, in memory, as the service would."""

    columns = COLUMNS
    no_filter = PolicyFilter()

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(services, parent)
        #: The list read by `_count` for `_fetch`, by filter: both run in turn in the same background task.
        self._read: dict[PolicyFilter, list[OutsidePolicyEntry]] = {}

    def _count(self, service: Any, query: PolicyFilter) -> tuple[int, int]:
        rows = self._read[query] = list_outside_policy(service, query)
        return len(rows), len(rows)

    def _fetch(
        self, service: Any, query: PolicyFilter, sort: str, descending: bool, offset: int
    ) -> list[OutsidePolicyEntry]:
        rows = self._read.pop(query, None)
        if rows is None:  # a later refresh of the same filter took them: read again
            rows = list_outside_policy(service, query)
        return sorted(rows, key=POLICY_SORT_KEYS[sort], reverse=descending)[offset:]

    def _key(self, row: OutsidePolicyEntry) -> str:
        return row.case_number

    def rows(self) -> list[OutsidePolicyEntry]:
        return list(self._rows)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sorted in memory (caselog.quality.POLICY_SORT_KEYS), without judging every case again."""
        key = COLUMNS[column].sort_key
        if key is None:
            return
        self.sort_key, self.descending = key, order == Qt.SortOrder.DescendingOrder
        self.layoutAboutToBeChanged.emit()
        self._rows.sort(key=POLICY_SORT_KEYS[key], reverse=self.descending)
        self.layoutChanged.emit()

    def _decorate(self, entry: OutsidePolicyEntry, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == COL_RULE:
                return "\n".join(entry.findings)
            if column == COL_REASON:
                return entry.reason or "No reason was recorded for doing this case outside the policy."
            if column == COL_PROCEDURE:
                return entry.procedure_label
            return self._display(entry, column)
        if column == COL_REASON and entry.reason is None:  # "no reason" reads as a gap, not as a reason
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setItalic(True)
                return font
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText))
        return None


class OutsidePolicyPage(QWidget):
    """The page: filters above the list; Enter or a double click opens a case (`open_case(case_number)`);
    `say(message)` is what the desk puts in its status bar."""

    open_case = Signal(str)
    say = Signal(str)

    def __init__(self, services: Services, *, today: Any) -> None:
        super().__init__()
        self.services = services
        self.last_output: Path | None = None
        self._today = today
        self.dates = DateRange(today=today)
        ablations = [(vocab.PROCEDURES[k], k) for k in vocab.PROCEDURES if k in vocab.ABLATIONS]
        self.procedure = combo("Procedure filter (outside policy)", [("All ablations", None), *ablations])
        self.surgeon = combo("Surgeon filter (outside policy)", [("All surgeons", None)])
        self.reason = combo("Reason filter", list(REASON_CHOICES))
        self.clear = QPushButton("Clear filters")
        self.clear.setAccessibleName("Clear the outside-policy filters")
        self.count = QLabel("Checking the cases…")
        self.count.setAccessibleName("Number of cases outside the policy shown")
        self.count.setStyleSheet("font-weight: 600;")
        self.policy = QLabel("")
        self.policy.setAccessibleName("The clinic's policy")
        self.policy.setWordWrap(True)

        self.model = OutsidePolicyModel(services, self)
        self.table: QTableView = paged_table(self.model, "Cases outside the clinic's policy",
                                             selection=Selection.SingleSelection)  # fmt: skip
        enter = desk_action(self.table, "Open case", self.open_selected, "open", "Open the selected case")
        enter.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 2)
        # As on the complications page, short rows: the desk fits a 1366×768 screen at 150% (911 points).
        first = QHBoxLayout()
        for w in (self.dates, self.procedure, self.surgeon):
            first.addWidget(w)
        first.addStretch(1)
        second = QHBoxLayout()
        second.addWidget(self.reason)
        second.addWidget(self.clear)
        second.addStretch(1)
        second.addWidget(self.count)
        for row in (first, second):
            layout.addLayout(row)
        layout.addWidget(self.policy)
        layout.addWidget(self.table, 1)

        self.dates.changed.connect(self._filters_changed)
        for box in (self.procedure, self.surgeon, self.reason):
            box.currentIndexChanged.connect(self._filters_changed)
        self.clear.clicked.connect(self.clear_filters)
        self.model.loaded.connect(self._loaded)
        self.table.doubleClicked.connect(lambda index: self._open(self.model.row_at(index.row())))

    def policy_filter(self) -> PolicyFilter:
        date_from, date_to = self.dates.dates()
        return PolicyFilter(date_from=date_from, date_to=date_to, surgeon=self.surgeon.currentData(),
                            procedure=self.procedure.currentData(), with_reason=self.reason.currentData())  # fmt: skip

    def _filters_changed(self, *_args: object) -> None:
        self.count.setText("Checking the cases…")
        self.model.set_filter(self.policy_filter())

    def clear_filters(self) -> None:
        for box in (self.procedure, self.surgeon, self.reason, self.dates.pick):
            box.blockSignals(True)
            box.setCurrentIndex(0)
            box.blockSignals(False)
        self.dates._picked()
        self._filters_changed()

    def refresh(self) -> None:
        """Read the list again, with the surgeons to filter by and the policy it is judged against."""
        service = self.services.cases

        def work(_progress: Progress) -> tuple[list[str], str]:
            return service.surgeons(), policy_in_words(service.indication_policy())

        def loaded(result: tuple[list[str], str]) -> None:
            surgeons, words = result
            set_combo_items(self.surgeon, ("All surgeons", None), [(s, s) for s in surgeons])
            self.policy.setText(words)

        self.services.tasks.run(work, on_result=loaded, on_error=lambda exc: self.say.emit(f"Not loaded: {exc}"),
                                owner=self)  # fmt: skip
        self._filters_changed()

    def _loaded(self) -> None:
        rows = self.model.rows()
        shown = len(rows)
        without = sum(1 for e in rows if e.reason is None)
        noun = "case" if shown == 1 else "cases"
        self.count.setText(f"{shown:,} {noun} outside the policy · {without:,} without a reason")

    def selected(self) -> OutsidePolicyEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def select(self, case_number: str) -> bool:
        return select_row(self.table, self.model.row_of(case_number))

    def open_selected(self) -> None:
        self._open(self.selected())

    def _open(self, entry: OutsidePolicyEntry | None) -> None:
        if entry is not None:
            self.open_case.emit(entry.case_number)

    def export(self, path: Path | None = None) -> Task | None:
        """Save exactly what the list shows (its filters, its order) as CSV or XLSX, chosen by the file name."""
        if path is None:
            name, chosen = QFileDialog.getSaveFileName(
                self, "Export the cases outside the policy", str(Path.home() / f"outside-policy-{self._today()}.xlsx"),
                "Excel workbook (*.xlsx);;CSV for spreadsheets (*.csv)",
            )  # fmt: skip
            if not name:
                return None
            suffix = ".csv" if "csv" in chosen else ".xlsx"
            path = Path(name) if name.lower().endswith((".csv", ".xlsx")) else Path(name + suffix)
        fmt = "csv" if path.suffix.lower() == ".csv" else "xlsx"
        model = self.model
        work = quality_jobs.export_outside_policy(self.services.cases, model.filter, path, fmt,
                                                 sort=model.sort_key, descending=model.descending)  # fmt: skip

        def done(count: int) -> None:
            self.last_output = path
            self.say.emit(f"Exported {count:,} cases outside the policy to {path}.")

        return run_job(self, self.services, "Exporting the cases outside the policy…", work, done, write=True,
                       on_end=self.say.emit)  # fmt: skip
