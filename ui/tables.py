"""The read-only lists of the app (cases, complications, cases to print, accounts, the audit trail, the numbers
behind a chart) look and behave alike: whole rows are selected, nothing is edited in place, no row numbers, the
last column stretches; their models are flat tables with a heading per column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtWidgets import QAbstractItemView, QTableView

Selection = QAbstractItemView.SelectionMode


def list_table(
    model: QAbstractItemModel,
    name: str,
    *,
    widths: Sequence[int] = (),
    selection: Selection = Selection.ExtendedSelection,
    row_height: int | None = 24,
    alternate: bool = True,
    wrap: bool = False,
) -> QTableView:
    """A table of `model` whose screen-reader name is `name`; `widths` are the first columns' widths."""
    table = QTableView()
    table.setModel(model)
    table.setAccessibleName(name)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(selection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    if row_height is not None:
        table.verticalHeader().setDefaultSectionSize(row_height)
    table.setAlternatingRowColors(alternate)
    table.setWordWrap(wrap)
    for i, width in enumerate(widths):
        table.setColumnWidth(i, width)
    table.horizontalHeader().setStretchLastSection(True)
    return table


def select_row(table: QTableView, row: int) -> bool:
    """Make `row` the current and only selected row and scroll to it; False (nothing changed) when it is -1."""
    if row < 0:
        return False
    index = table.model().index(row, 0)
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    table.selectionModel().setCurrentIndex(index, flags)
    table.scrollTo(index)
    return True


class HeadedTableModel(QAbstractTableModel):
    """A flat table: a subclass says how many rows it holds and what its columns are called."""

    def _row_count(self) -> int:
        raise NotImplementedError

    def _headings(self) -> Sequence[str]:
        raise NotImplementedError

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._row_count()

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._headings())

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._headings()[section]
        return None


Row = TypeVar("Row")


class RowsTableModel(HeadedTableModel, Generic[Row]):
    """A flat table of rows read elsewhere and set all at once (a desk's list): a subclass gives the headings and
    `data` of a row."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []

    def set_rows(self, rows: Sequence[Row]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def rows(self) -> list[Row]:
        return list(self._rows)

    def _row_count(self) -> int:
        return len(self._rows)
