"""The print desk's list of cases to print: CaseRows with a tick box each (what to print is the user's choice)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QFont

from caselog import vocab
from caselog.records import CaseListItem
from ui.desks.common import ROW_ROLE, SORT_ROLE
from ui.tables import HeadedTableModel


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: int


COL_PRINT, COL_NUMBER, COL_STATUS, COL_PATIENT, COL_PROCEDURE, COL_LEVELS, COL_SURGEON, COL_DATE, COL_MRN = range(9)
#: What a coordinator checks before printing comes first and fits beside the preview on a 1280 px screen:
#: which case, signed or draft, whose, what was done where, by whom. Date and MRN follow.
COLUMNS: tuple[Column, ...] = (
    Column("Print", 40),
    Column("Case", 84),
    Column("Status", 62),
    Column("Patient", 138),
    Column("Procedure", 122),
    Column("Levels", 108),
    Column("Surgeon", 118),
    Column("Date", 82),
    Column("MRN", 110),
)


class PrintListModel(HeadedTableModel):
    """Rows in the order given (case number for a day); every row starts ticked. `ticked_changed` on a change."""

    ticked_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[CaseListItem] = []
        self._ticked: set[str] = set()

    def set_rows(self, rows: list[CaseListItem], *, ticked: set[str] | None = None) -> None:
        """New rows, all ticked, or (a reload) ticked as before: `ticked` and rows that are new to the list."""
        known = {r.case_number for r in self._rows}
        self.beginResetModel()
        self._rows = list(rows)
        numbers = {r.case_number for r in rows}
        self._ticked = numbers if ticked is None else {n for n in numbers if n in ticked or n not in known}
        self.endResetModel()
        self.ticked_changed.emit()

    def rows(self) -> list[CaseListItem]:
        return list(self._rows)

    def ticked(self) -> list[str]:
        """Case numbers to print, in list order."""
        return [r.case_number for r in self._rows if r.case_number in self._ticked]

    def set_all(self, ticked: bool) -> None:
        self._ticked = {r.case_number for r in self._rows} if ticked else set()
        if self._rows:
            self.dataChanged.emit(self.index(0, COL_PRINT), self.index(len(self._rows) - 1, COL_PRINT))
        self.ticked_changed.emit()

    def set_ticked(self, case_number: str, ticked: bool) -> None:
        (self._ticked.add if ticked else self._ticked.discard)(case_number)
        for i, r in enumerate(self._rows):
            if r.case_number == case_number:
                self.dataChanged.emit(self.index(i, COL_PRINT), self.index(i, COL_PRINT))
        self.ticked_changed.emit()

    def _row_count(self) -> int:
        return len(self._rows)

    def _headings(self) -> Sequence[str]:
        return [c.title for c in COLUMNS]

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        base = super().flags(index)
        return base | Qt.ItemFlag.ItemIsUserCheckable if index.column() == COL_PRINT else base

    def setData(
        self, index: QModelIndex | QPersistentModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != COL_PRINT:
            return False
        checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, 2)
        self.set_ticked(self._rows[index.row()].case_number, checked)
        return True

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.CheckStateRole and column == COL_PRINT:
            return Qt.CheckState.Checked if row.case_number in self._ticked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == ROW_ROLE:
            return row
        if role == SORT_ROLE:
            return row.procedure_date if column == COL_DATE else self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == COL_STATUS and row.status == "draft":
            return "Not signed yet: the summary is marked DRAFT"
        if role == Qt.ItemDataRole.ToolTipRole and column in (COL_PATIENT, COL_LEVELS, COL_SURGEON):
            return self._display(row, column)
        if role == Qt.ItemDataRole.FontRole and column == COL_STATUS and row.status == "draft":
            font = QFont()
            font.setItalic(True)  # a draft stands out without a colour (colours fail on some palettes)
            return font
        return None

    @staticmethod
    def _display(row: CaseListItem, column: int) -> str:
        texts = {
            COL_NUMBER: row.case_number,
            COL_DATE: row.procedure_date.isoformat(),
            COL_PATIENT: row.patient_name,
            COL_MRN: row.mrn,
            COL_PROCEDURE: vocab.label(vocab.PROCEDURE_SHORT, row.procedure),
            COL_LEVELS: row.levels_text,
            COL_SURGEON: row.surgeon,
            COL_STATUS: vocab.label(vocab.CASE_STATUSES, row.status),
        }
        return texts.get(column, "")
