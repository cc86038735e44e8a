"""The quality desk's table model: one row per complication, a page at a time, filtered and sorted in SQL."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QFont, QGuiApplication

from caselog import vocab
from caselog.quality import ComplicationEntry, ComplicationFilter, count_complications, list_complications
from ui.paged_model import PAGE_SIZE, Column, PagedTableModel
from ui.style import review_colour

COL_CASE, COL_DATE, COL_PROCEDURE, COL_CATEGORY, COL_GRADE, COL_TIMING = range(6)
COL_REVIEW, COL_ONSET, COL_RESOLVED, COL_SURGEON, COL_LEVELS, COL_NOTES = range(6, 12)

SHORT_TIMINGS = {"intraoperative": "Intraoperative", "postoperative": "Postoperative", "late": "Late (>30 d)"}


def entry_key(entry: ComplicationEntry) -> tuple[str, int]:
    return (entry.case_number, entry.position)


def _described(entry: ComplicationEntry) -> str:
    return entry.category_label + (f": {entry.description}" if entry.description else "")


def _severity(entry: ComplicationEntry) -> int:
    return vocab.GRADE_RANK.get(entry.clavien_dindo, -1)


def _review_rank(entry: ComplicationEntry) -> int:
    return list(vocab.REVIEW_STATUSES).index(entry.review_status)


def _resolved(entry: ComplicationEntry) -> str:
    return entry.resolved_date.isoformat() if entry.resolved_date else ""


#: What a reviewer scans first (what happened, how bad, reviewed yet) comes first; the rest follows.
COLUMNS: tuple[Column, ...] = (
    Column("Case", "case_number", 86, lambda e: e.case_number),
    Column("Date", "procedure_date", 82, lambda e: e.procedure_date.isoformat(), value=lambda e: e.procedure_date),
    Column("Procedure", "procedure", 140, lambda e: vocab.label(vocab.PROCEDURE_SHORT, e.procedure)),
    Column("Complication", "category", 230, _described),
    Column("Grade", "clavien_dindo", 50, lambda e: e.clavien_dindo, value=_severity),
    Column("Timing", "timing", 96, lambda e: SHORT_TIMINGS.get(e.timing, e.timing)),
    Column("Review", "review_status", 92, lambda e: e.review_status_label, value=_review_rank),
    Column("Onset", "onset_date", 82, lambda e: e.onset_date.isoformat(), value=lambda e: e.onset_date),
    Column("Resolved", "resolved_date", 82, _resolved, value=lambda e: e.resolved_date),
    Column("Surgeon", "surgeon", 130, lambda e: e.surgeon),
    Column("Levels", None, 130, lambda e: e.levels_text),
    Column("Review notes", None, 200, lambda e: (e.review_notes or "").replace("\n", " ")),
)


def display(entry: ComplicationEntry, column: int) -> str:
    return COLUMNS[column].text(entry)


class ComplicationTableModel(PagedTableModel[ComplicationEntry, ComplicationFilter]):
    """Holds frozen ComplicationEntry rows only; `refresh()` reloads in the background and emits `loaded`."""

    columns = COLUMNS
    no_filter = ComplicationFilter()

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
