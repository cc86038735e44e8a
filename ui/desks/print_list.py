"""The print desk's list of cases to print: CaseRows with a tick box each (what to print is the user's choice)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, Signal

from caselog import vocab
from caselog.records import CaseRow
from ui.desks.common import ROW_ROLE, SHORT_PROCEDURES, SORT_ROLE


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    width: int


COL_PRINT, COL_NUMBER, COL_DATE, COL_PATIENT, COL_MRN, COL_PROCEDURE, COL_LEVELS, COL_SURGEON, COL_STATUS = range(9)
COLUMNS: tuple[Column, ...] = (
    Column("Print", 44),
    Column("Case", 86),
    Column("Date", 82),
    Column("Patient", 160),
    Column("MRN", 114),
    Column("Procedure", 150),
    Column("Levels", 140),
    Column("Surgeon", 130),
    Column("Status", 64),
)


class PrintListModel(QAbstractTableModel):
    """Rows in the order given (case number for a day); every row starts ticked. `ticked_changed` on a change."""

    ticked_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[CaseRow] = []
        self._ticked: set[str] = set()

    def set_rows(self, rows: list[CaseRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._ticked = {r.case_number for r in rows}
        self.endResetModel()
        self.ticked_changed.emit()

    def rows(self) -> list[CaseRow]:
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

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section].title
        return None

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
        return None

    @staticmethod
    def _display(row: CaseRow, column: int) -> str:
        match column:
            case 1:
                return row.case_number
            case 2:
                return row.procedure_date.isoformat()
            case 3:
                return row.patient_name
            case 4:
                return row.mrn
            case 5:
                return SHORT_PROCEDURES.get(row.procedure, row.procedure)
            case 6:
                return row.levels_text
            case 7:
                return row.surgeon
            case 8:
                return vocab.label(vocab.CASE_STATUSES, row.status)
            case _:
                return ""
