"""The quality desk's table model: one row per complication, a page at a time, filtered and sorted in SQL."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QBrush, QFont, QGuiApplication

from caselog import vocab
from caselog.quality import ComplicationEntry, ComplicationFilter, count_complications, list_complications
from ui.desks.common import SHORT_PROCEDURES
from ui.paged_model import PAGE_SIZE, Column, PagedTableModel
from ui.services import Services
from ui.style import review_colour

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


class ComplicationTableModel(PagedTableModel[ComplicationEntry, ComplicationFilter]):
    """Holds frozen ComplicationEntry rows only; `refresh()` reloads in the background and emits `loaded`."""

    columns = COLUMNS

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(services, ComplicationFilter(), parent)

    @property
    def filter(self) -> ComplicationFilter:
        return self._filter

    def _count(self, service: Any, query: ComplicationFilter) -> tuple[int, int]:
        matching = count_complications(service, query)
        return matching, matching

    def _fetch(
        self, service: Any, query: ComplicationFilter, sort: str, descending: bool, offset: int
    ) -> list[ComplicationEntry]:
        return list_complications(service, query, sort=sort, descending=descending, offset=offset, limit=PAGE_SIZE)

    def _header_tip(self, section: int) -> str | None:
        if section == COL_GRADE:
            return "Clavien-Dindo grade; sorts by severity (I < II < IIIa < IIIb < IVa < IVb < V)"
        return None

    def rows(self) -> list[ComplicationEntry]:
        """The rows loaded so far, in list order."""
        return list(self._rows)

    def _key(self, row: ComplicationEntry) -> tuple[str, int]:
        return entry_key(row)

    def _display(self, row: ComplicationEntry, column: int) -> str:
        return display(row, column)

    def _decorate(self, entry: ComplicationEntry, column: int, role: int) -> Any:
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

    def _sort_value(self, entry: ComplicationEntry, column: int) -> Any:
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
