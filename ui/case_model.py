"""The case list's table model: rows come from CaseService.query a page at a time; sorting and filtering are SQL."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QBrush, QColor, QGuiApplication

from caselog import vocab
from caselog.records import CaseFilter, CaseRow
from ui.paged_model import PAGE_SIZE, Column, PagedTableModel
from ui.paged_model import ROW_ROLE as ROW_ROLE  # the row itself, for the window and the tests
from ui.services import Services
from ui.style import colours

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

SHORT_PROCEDURES = {
    "endoscopic_rhizotomy": "Endoscopic rhizotomy",
    "radiofrequency_ablation": "Radiofrequency ablation",
    "medial_branch_block": "Medial branch block",
    "laminectomy": "Laminectomy",
    "laminotomy": "Laminotomy",
    "other": "Other",
}
SHORT_ANESTHESIA = {
    "local": "Local",
    "local_sedation": "Local + sedation",
    "general": "General",
    "spinal": "Spinal",
    "epidural": "Epidural",
    "regional": "Regional block",
}


def duration_text(minutes: int) -> str:
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d}"


def complications_text(row: CaseRow) -> str:
    if not row.complication_count:
        return ""
    grade = f", grade {row.worst_grade}" if row.worst_grade else ""
    return f"{row.complication_count}{grade}"


class CaseTableModel(PagedTableModel[CaseRow, CaseFilter]):
    """Holds only frozen CaseRow objects; `refresh()` reloads in the background and emits `loaded`."""

    columns = COLUMNS

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(services, CaseFilter(), parent)

    @property
    def case_filter(self) -> CaseFilter:
        return self._filter

    def _count(self, service: Any, query: CaseFilter) -> tuple[int, int]:
        matching = service.count(query)
        return matching, matching if query == CaseFilter() else service.count(CaseFilter())

    def _fetch(self, service: Any, query: CaseFilter, sort: str, descending: bool, offset: int) -> list[CaseRow]:
        rows: list[CaseRow] = service.query(query, sort=sort, descending=descending, offset=offset, limit=PAGE_SIZE)
        return rows

    def _key(self, row: CaseRow) -> str:
        return row.case_number

    def _decorate(self, row: CaseRow, column: int, role: int) -> Any:
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

    def _display(self, row: CaseRow, column: int) -> str:
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
                return SHORT_PROCEDURES.get(row.procedure, row.procedure)
            case 5:
                return row.levels_text
            case 6:
                return duration_text(row.duration_minutes)
            case 7:
                return SHORT_ANESTHESIA.get(row.anesthesia_type, row.anesthesia_type)
            case 8:
                return complications_text(row)
            case 9:
                return vocab.label(vocab.CASE_STATUSES, row.status)
            case _:
                return row.surgeon

    def _sort_value(self, row: CaseRow, column: int) -> Any:
        if column == COL_DATE:
            return row.procedure_date
        if column == COL_DURATION:
            return row.duration_minutes
        if column == COL_COMPLICATIONS:
            return row.complication_count
        return self._display(row, column)
