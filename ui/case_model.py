"""The case list's table model: rows come from CaseService.query a page at a time; sorting and filtering are SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication

from caselog import vocab
from caselog.records import CaseFilter, CaseListItem
from ui.paged_model import PAGE_SIZE, PagedTableModel
from ui.services import Services
from ui.style import colours

#: A role that returns the CaseListItem itself, and one that returns the real value for sorting.
ROW_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    sort_key: str | None
    width: int


COL_NUMBER, COL_DATE, COL_PATIENT, COL_MRN, COL_PROCEDURE, COL_LEVELS = range(6)
COL_DURATION, COL_ANESTHESIA, COL_COMPLICATIONS, COL_STATUS, COL_SURGEON = range(6, 11)

COLUMNS: tuple[Column, ...] = (
    Column("Case", "case_number", 86),
    Column("Date", "procedure_date", 82),
    Column("Patient", "patient", 140),
    Column("MRN", "mrn", 114),
    Column("Procedure", "procedure", 162),
    Column("Levels", None, 130),
    Column("Duration", "duration", 66),
    Column("Anesthesia", "anesthesia", 110),
    Column("Complications", None, 88),
    Column("Status", "status", 66),
    Column("Surgeon", "surgeon", 130),
)


def duration_text(minutes: int) -> str:
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d}"


def complications_text(row: CaseListItem) -> str:
    if not row.complication_count:
        return ""
    grade = f", grade {row.worst_grade}" if row.worst_grade else ""
    return f"{row.complication_count}{grade}"


class CaseTableModel(PagedTableModel[CaseListItem]):
    """Holds only frozen CaseListItem objects; `refresh()` reloads in the background and emits `loaded`."""

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(services, parent)
        self.case_filter = CaseFilter()

    def set_filter(self, case_filter: CaseFilter) -> None:
        self.case_filter = case_filter
        self.refresh()

    def _query(self) -> CaseFilter:
        return self.case_filter

    def _count(self, service: Any, query: CaseFilter) -> tuple[int, int]:
        matching = service.count(query)
        return matching, matching if query == CaseFilter() else service.count(CaseFilter())

    def _fetch(self, service: Any, query: CaseFilter, sort: str, descending: bool, offset: int) -> list[CaseListItem]:
        rows = service.query(query, sort=sort, descending=descending, offset=offset, limit=PAGE_SIZE)
        return list(rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        if role == Qt.ItemDataRole.ToolTipRole and COLUMNS[section].sort_key is None:
            return "This column cannot be sorted"
        return None

    def row_of(self, case_number: str) -> int:
        for i, row in enumerate(self._rows):
            if row.case_number == case_number:
                return i
        return -1

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == ROW_ROLE:
            return row
        if role == SORT_ROLE:
            return self._sort_value(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == COL_PROCEDURE:
                return vocab.label(vocab.PROCEDURES, row.procedure)
            if column == COL_ANESTHESIA:
                return vocab.label(vocab.ANESTHESIA_TYPES, row.anesthesia_type)
            if column == COL_LEVELS:
                return row.levels_text
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (COL_DURATION, COL_COMPLICATIONS):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == COL_COMPLICATIONS and row.complication_count:
                return QBrush(QColor(colours(QGuiApplication.palette()).warning))
            if column == COL_STATUS and row.status == "draft":
                return QBrush(QColor(colours(QGuiApplication.palette()).hint))
        return None

    @staticmethod
    def _display(row: CaseListItem, column: int) -> str:
        match column:
            case 0:
                return row.case_number
            case 1:
                return row.procedure_date.isoformat()
            case 2:
                return row.patient_name
            case 3:
                return row.mrn
            case 4:
                return vocab.label(vocab.PROCEDURE_SHORT, row.procedure)
            case 5:
                return row.levels_text
            case 6:
                return duration_text(row.duration_minutes)
            case 7:
                return vocab.label(vocab.ANESTHESIA_SHORT, row.anesthesia_type)
            case 8:
                return complications_text(row)
            case 9:
                return vocab.label(vocab.CASE_STATUSES, row.status)
            case _:
                return row.surgeon

    @staticmethod
    def _sort_value(row: CaseListItem, column: int) -> Any:
        if column == COL_DATE:
            return row.procedure_date
        if column == COL_DURATION:
            return row.duration_minutes
        if column == COL_COMPLICATIONS:
            return row.complication_count
        return CaseTableModel._display(row, column)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        key = COLUMNS[column].sort_key
        if key is None:
            return
        descending = order == Qt.SortOrder.DescendingOrder
        if (key, descending) == (self.sort_key, self.descending):
            return
        self.sort_key, self.descending = key, descending
        self.refresh()

    def sort_column(self) -> int:
        return next(i for i, c in enumerate(COLUMNS) if c.sort_key == self.sort_key)
