"""The quality desk's table model: one row per complication, a page at a time, filtered and sorted in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFont, QGuiApplication

from caselog import vocab
from caselog.quality import ComplicationEntry, ComplicationFilter, count_complications, list_complications
from ui.desks.common import ROW_ROLE, SHORT_PROCEDURES, SORT_ROLE
from ui.paged_model import PAGE_SIZE, PagedTableModel
from ui.services import Services
from ui.style import review_colour


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    sort_key: str | None
    width: int


COL_CASE, COL_DATE, COL_PROCEDURE, COL_CATEGORY, COL_GRADE, COL_TIMING = range(6)
COL_REVIEW, COL_ONSET, COL_RESOLVED, COL_SURGEON, COL_LEVELS, COL_NOTES = range(6, 12)

#: What a reviewer scans first (what happened, how bad, reviewed yet) comes first; the rest follows.
COLUMNS: tuple[Column, ...] = (
    Column("Case", "case_number", 86),
    Column("Date", "procedure_date", 82),
    Column("Procedure", "procedure", 140),
    Column("Complication", "category", 230),
    Column("Grade", "clavien_dindo", 50),
    Column("Timing", "timing", 96),
    Column("Review", "review_status", 92),
    Column("Onset", "onset_date", 82),
    Column("Resolved", "resolved_date", 82),
    Column("Surgeon", "surgeon", 130),
    Column("Levels", None, 130),
    Column("Review notes", None, 200),
)


SHORT_TIMINGS = {"intraoperative": "Intraoperative", "postoperative": "Postoperative", "late": "Late (>30 d)"}


def entry_key(entry: ComplicationEntry) -> tuple[str, int]:
    return (entry.case_number, entry.position)


def display(entry: ComplicationEntry, column: int) -> str:
    match column:
        case 0:
            return entry.case_number
        case 1:
            return entry.procedure_date.isoformat()
        case 2:
            return SHORT_PROCEDURES.get(entry.procedure, entry.procedure)
        case 3:
            return entry.category_label + (f": {entry.description}" if entry.description else "")
        case 4:
            return entry.clavien_dindo
        case 5:
            return SHORT_TIMINGS.get(entry.timing, entry.timing)
        case 6:
            return entry.review_status_label
        case 7:
            return entry.onset_date.isoformat()
        case 8:
            return entry.resolved_date.isoformat() if entry.resolved_date else ""
        case 9:
            return entry.surgeon
        case 10:
            return entry.levels_text
        case _:
            return (entry.review_notes or "").replace("\n", " ")


class ComplicationTableModel(PagedTableModel[ComplicationEntry]):
    """Holds frozen ComplicationEntry rows only; `refresh()` reloads in the background and emits `loaded`."""

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(services, parent)
        self.filter = ComplicationFilter()

    def set_filter(self, f: ComplicationFilter) -> None:
        self.filter = f
        self.refresh()

    def _query(self) -> ComplicationFilter:
        return self.filter

    def _count(self, service: Any, query: ComplicationFilter) -> tuple[int, int]:
        matching = count_complications(service, query)
        return matching, matching

    def _fetch(
        self, service: Any, query: ComplicationFilter, sort: str, descending: bool, offset: int
    ) -> list[ComplicationEntry]:
        return list_complications(service, query, sort=sort, descending=descending, offset=offset, limit=PAGE_SIZE)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        if role == Qt.ItemDataRole.ToolTipRole:
            if section == COL_GRADE:
                return "Clavien-Dindo grade; sorts by severity (I < II < IIIa < IIIb < IVa < IVb < V)"
            if COLUMNS[section].sort_key is None:
                return "This column cannot be sorted"
        return None

    def rows(self) -> list[ComplicationEntry]:
        """The rows loaded so far, in list order."""
        return list(self._rows)

    def row_of(self, key: tuple[str, int]) -> int:
        return next((i for i, r in enumerate(self._rows) if entry_key(r) == key), -1)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        entry = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return display(entry, column)
        if role == ROW_ROLE:
            return entry
        if role == SORT_ROLE:
            return self._sort_value(entry, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == COL_GRADE:
                return f"Grade {entry.clavien_dindo}: {vocab.label(vocab.CLAVIEN_DINDO_GRADES, entry.clavien_dindo)}"
            if column in (COL_CATEGORY, COL_NOTES, COL_LEVELS, COL_PROCEDURE):
                return {COL_PROCEDURE: entry.procedure_label, COL_NOTES: entry.review_notes}.get(
                    column, display(entry, column)
                )
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column == COL_REVIEW:
            return QBrush(review_colour(entry.review_status, QGuiApplication.palette()))
        if role == Qt.ItemDataRole.FontRole and column == COL_REVIEW and entry.review_status == "open":
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.TextAlignmentRole and column == COL_GRADE:
            return int(Qt.AlignmentFlag.AlignCenter)
        return None

    @staticmethod
    def _sort_value(entry: ComplicationEntry, column: int) -> Any:
        if column == COL_DATE:
            return entry.procedure_date
        if column == COL_ONSET:
            return entry.onset_date
        if column == COL_RESOLVED:
            return entry.resolved_date
        if column == COL_GRADE:
            return vocab.GRADE_RANK.get(entry.clavien_dindo, -1)
        if column == COL_REVIEW:
            return list(vocab.REVIEW_STATUSES).index(entry.review_status)
        return display(entry, column)

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
