"""The case list's table model: rows come from CaseService.query a page at a time; sorting and filtering are SQL."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication

from caselog import vocab
from caselog.records import CaseFilter, CaseListItem
from ui.paged_model import PAGE_SIZE, Column, PagedTableModel
from ui.paged_model import ROW_ROLE as ROW_ROLE  # the row itself, for the window and the tests
from ui.style import colours

COL_NUMBER, COL_DATE, COL_PATIENT, COL_MRN, COL_PROCEDURE, COL_LEVELS = range(6)
COL_DURATION, COL_ANESTHESIA, COL_COMPLICATIONS, COL_STATUS, COL_SURGEON = range(6, 11)


def duration_text(minutes: int) -> str:
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d}"


def complications_text(row: CaseListItem) -> str:
    if not row.complication_count:
        return ""
    grade = f", grade {row.worst_grade}" if row.worst_grade else ""
    return f"{row.complication_count}{grade}"


COLUMNS: tuple[Column, ...] = (
    Column("Case", "case_number", 86, lambda r: r.case_number),
    Column("Date", "procedure_date", 82, lambda r: r.procedure_date.isoformat(), value=lambda r: r.procedure_date),
    Column("Patient", "patient", 140, lambda r: r.patient_name),
    Column("MRN", "mrn", 114, lambda r: r.mrn),
    Column("Procedure", "procedure", 162, lambda r: vocab.label(vocab.PROCEDURE_SHORT, r.procedure)),
    Column("Levels", None, 130, lambda r: r.levels_text),
    Column("Duration", "duration", 66, lambda r: duration_text(r.duration_minutes), value=lambda r: r.duration_minutes),
    Column("Anesthesia", "anesthesia", 110, lambda r: vocab.label(vocab.ANESTHESIA_SHORT, r.anesthesia_type)),
    Column("Complications", None, 88, complications_text, value=lambda r: r.complication_count),
    Column("Status", "status", 66, lambda r: vocab.label(vocab.CASE_STATUSES, r.status)),
    Column("Surgeon", "surgeon", 130, lambda r: r.surgeon),
)


class CaseTableModel(PagedTableModel[CaseListItem, CaseFilter]):
    """Holds only frozen CaseListItem objects; `refresh()` reloads in the background and emits `loaded`. A
    million-case list scrolled far keeps five pages (1,000 rows, about 1 MB) and the selected rows."""

    columns = COLUMNS
    no_filter = CaseFilter()
    window_pages = 5

    @property
    def case_filter(self) -> CaseFilter:
        """The filter as the main window and its exports name it."""
        return self.filter

    def _count(self, service: Any, query: CaseFilter) -> tuple[int, int]:
        matching = service.count(query)
        return matching, matching if query == CaseFilter() else service.count(CaseFilter())

    def _fetch(self, service: Any, query: CaseFilter, sort: str, descending: bool, offset: int) -> list[CaseListItem]:
        rows = service.query(query, sort=sort, descending=descending, offset=offset, limit=PAGE_SIZE)
        return list(rows)

    def _key(self, row: CaseListItem) -> str:
        return row.case_number

    def _decorate(self, row: CaseListItem, column: int, role: int) -> Any:
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
