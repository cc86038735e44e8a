"""Small editable tables inside the case form (complications, outcomes), with add, remove and per-cell problems."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.style import is_dark

#: A cell with a problem: a pale red under dark text, a deep red under light text (each above 10:1 with the text).
ERROR_BACKGROUND = QColor("#fde8e8")
ERROR_BACKGROUND_DARK = QColor("#5c2626")


def error_background(palette: QPalette) -> QColor:
    return ERROR_BACKGROUND_DARK if is_dark(palette) else ERROR_BACKGROUND


def parse_int(text: str) -> object:
    """Blank is absent; a whole number is a number; anything else goes to validation as typed, which names it."""
    text = text.strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text


#: The two answers of a yes/no column, as its cells hold them.
YES_NO = {"yes": "Yes", "no": "No"}


@dataclass(frozen=True, slots=True)
class RowColumn:
    key: str
    title: str
    #: text | date | int | choice (keys) | scale (a choice of whole numbers) | yesno (True/False)
    kind: str = "text"
    choices: Mapping[str, str] = field(default_factory=dict)
    width: int = 110
    default: str = ""
    #: The column's name in a sentence ("complication 1 onset date"); the title, lower case, when not given.
    spoken: str = ""

    @property
    def name(self) -> str:
        return self.spoken or self.title.lower()

    @property
    def is_choice(self) -> bool:
        return self.kind in ("choice", "scale", "yesno")

    def to_value(self, raw: str) -> object:
        if self.kind in ("int", "scale"):
            return parse_int(raw)
        if self.kind == "yesno" and raw in YES_NO:
            return raw == "yes"
        return raw.strip() or None

    def to_raw(self, value: object) -> str:
        """A contract value as the cell holds it (a yes/no column's True is "yes"); None is blank."""
        if value is None:
            return ""
        if self.kind == "yesno" and isinstance(value, bool):
            return "yes" if value else "no"
        return str(value)


class RowsModel(QAbstractTableModel):
    """Rows of raw text (choice columns hold keys), plus the problems validation found in them."""

    def __init__(self, columns: Sequence[RowColumn], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns = list(columns)
        self.rows: list[dict[str, str]] = []
        self.problems: dict[tuple[int, str], str] = {}

    def column_of(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return self.columns[section].title
        return str(section + 1)

    def flags(self, index: QModelIndex | QPersistentModelIndex) -> Qt.ItemFlag:
        return super().flags(index) | Qt.ItemFlag.ItemIsEditable

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        column = self.columns[index.column()]
        raw = self.rows[index.row()].get(column.key, "")
        if role == Qt.ItemDataRole.DisplayRole:
            return column.choices.get(raw, raw) if column.is_choice else raw
        if role == Qt.ItemDataRole.EditRole:
            return raw
        problem = self.problems.get((index.row(), column.key))
        if role == Qt.ItemDataRole.BackgroundRole and problem:
            return QBrush(error_background(QGuiApplication.palette()))
        if role == Qt.ItemDataRole.ToolTipRole:
            if problem:
                return problem
            return "YYYY-MM-DD" if column.kind == "date" else None
        return None

    def setData(
        self, index: QModelIndex | QPersistentModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid():
            return False
        key = self.columns[index.column()].key
        text = "" if value is None else str(value)
        if self.rows[index.row()].get(key, "") == text:
            return False
        self.rows[index.row()][key] = text
        self.dataChanged.emit(index, index)
        return True

    def add_row(self, values: Mapping[str, str] | None = None) -> int:
        row = {c.key: c.default for c in self.columns}
        row.update(values or {})
        self.beginInsertRows(QModelIndex(), len(self.rows), len(self.rows))
        self.rows.append(row)
        self.endInsertRows()
        return len(self.rows) - 1

    def remove_row(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.rows[row]
            self.endRemoveRows()

    def set_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        self.beginResetModel()
        self.rows = [{c.key: c.to_raw(item.get(c.key)) for c in self.columns} for item in items]
        self.endResetModel()

    def items(self) -> list[dict[str, object]]:
        """The rows as contract objects; blank cells become absent."""
        return [{c.key: c.to_value(row.get(c.key, "")) for c in self.columns} for row in self.rows]

    def set_problems(self, problems: dict[tuple[int, str], str]) -> None:
        if problems != self.problems:
            self.problems = problems
            if self.rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(self.columns) - 1))


class ChoiceDelegate(QStyledItemDelegate):
    """A drop-down for vocabulary columns, showing labels and storing keys."""

    def __init__(self, columns: Sequence[RowColumn], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._columns = columns

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> QWidget:
        column = self._columns[index.column()]
        if not column.is_choice:
            editor = super().createEditor(parent, option, index)
            editor.setAccessibleName(column.title)
            return editor
        box = QComboBox(parent)
        box.setAccessibleName(column.title)
        box.addItem("", "")
        for key, label in column.choices.items():
            box.addItem(label, key)
        box.activated.connect(lambda _i: self.commitData.emit(box))
        return box

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        if isinstance(editor, QComboBox):
            editor.setCurrentIndex(max(0, editor.findData(index.data(Qt.ItemDataRole.EditRole))))
        else:
            super().setEditorData(editor, index)

    def setModelData(
        self, editor: QWidget, model: QAbstractItemModel, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        if isinstance(editor, QComboBox):
            model.setData(index, editor.currentData())
        else:
            super().setModelData(editor, model, index)


class RowsEditor(QWidget):
    """A table with Add and Remove and a line of problems under it; `changed` fires on every edit."""

    changed = Signal()

    def __init__(
        self,
        name: str,
        columns: Sequence[RowColumn],
        *,
        new_row: Callable[[], Mapping[str, str]] | None = None,
        add_text: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.name = name
        self.model = RowsModel(columns, self)
        self._new_row = new_row
        self._shown: set[str] = set()
        self._optional: set[str] = set()
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setItemDelegate(ChoiceDelegate(self.model.columns, self.view))
        self.view.setAccessibleName(f"{name} table")
        # Tab leaves the table (to its buttons) as in any form; Tab inside an open cell editor still moves on
        # to the next cell, and the arrow keys move between cells.
        self.view.setTabKeyNavigation(False)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        self.view.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
            | QAbstractItemView.EditTrigger.SelectedClicked
        )
        self.view.verticalHeader().setDefaultSectionSize(24)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for i, column in enumerate(self.model.columns):
            self.view.setColumnWidth(i, column.width)
        singular = name.lower().rstrip("s")
        self.add_button = QPushButton(add_text or f"Add {singular}")
        # The & only underlines: the form owns the shortcut, so it works from any tab.
        self.add_button.setShortcut(QKeySequence())
        self.add_button.setAccessibleName(f"Add {singular}")
        self.remove_button = QPushButton("Remove selected")
        self.remove_button.setAccessibleName(f"Remove selected {name.lower().rstrip('s')}")
        self.remove_button.setEnabled(False)
        self.problems_label = QLabel()
        self.problems_label.setObjectName("fieldError")
        self.problems_label.setWordWrap(True)
        self.problems_label.setAccessibleName(f"{name} problems")
        self.problems_label.hide()
        # What is worth a second look but saves as typed (an outcome dated far from its timepoint).
        self.warnings_label = QLabel()
        self.warnings_label.setObjectName("fieldWarning")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setAccessibleName(f"{name} warnings")
        self.warnings_label.hide()

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.problems_label)
        layout.addWidget(self.warnings_label)
        layout.addLayout(buttons)

        self.add_button.clicked.connect(self.add_row)
        self.remove_button.clicked.connect(self.remove_selected)
        self.model.dataChanged.connect(self._model_changed)
        self.model.rowsInserted.connect(lambda *_: self.changed.emit())
        self.model.rowsRemoved.connect(lambda *_: self.changed.emit())
        self.model.modelReset.connect(lambda: self.changed.emit())
        self.model.rowsRemoved.connect(lambda *_: self._sync_columns())
        self.model.modelReset.connect(self._sync_columns)
        selection = self.view.selectionModel()
        selection.selectionChanged.connect(lambda *_: self.remove_button.setEnabled(selection.hasSelection()))

    def _model_changed(self, top: QModelIndex, bottom: QModelIndex, roles: Sequence[int] = ()) -> None:
        edited = not roles or Qt.ItemDataRole.EditRole in roles or Qt.ItemDataRole.DisplayRole in roles
        if edited and not self._updating_problems:
            self.changed.emit()

    _updating_problems = False

    def add_row(self) -> None:
        row = self.model.add_row(self._new_row() if self._new_row else None)
        index = self.model.index(row, 0)
        self.view.setCurrentIndex(index)
        self.view.setFocus()
        self.view.edit(index)

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedIndexes()}, reverse=True)
        for row in rows:
            self.model.remove_row(row)

    def items(self) -> list[dict[str, object]]:
        return self.model.items()

    def show_columns(self, shown: Iterable[str], optional: Iterable[str]) -> None:
        """The `optional` columns show when in `shown`, or when any row holds a value in one: a column is never
        hidden over data (a cervical case's ODI stays in view), so an edit can never drop what it cannot see."""
        self._shown, self._optional = set(shown), set(optional)
        self._sync_columns()

    def _sync_columns(self) -> None:
        for i, column in enumerate(self.model.columns):
            if column.key in self._optional:
                filled = any(row.get(column.key) for row in self.model.rows)
                self.view.setColumnHidden(i, column.key not in self._shown and not filled)

    def set_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        self.model.set_items(items)

    def show_problems(self, problems: list[tuple[int, str, str]]) -> None:
        """(row, key, message) triples; key "" means the row as a whole."""
        titles = {c.key: c.title for c in self.model.columns}
        self._updating_problems = True
        self.model.set_problems({(row, key): message for row, key, message in problems if key})
        self._updating_problems = False
        lines = [
            f"Row {row + 1}{', ' + titles.get(key, key) if key else ''}: {message}" for row, key, message in problems
        ]
        self.problems_label.setText("\n".join(lines))
        self.problems_label.setVisible(bool(lines))

    def show_warnings(self, lines: list[str]) -> None:
        """Lines that do not stop the save, under the table's problems (an empty list hides them)."""
        self.warnings_label.setText("\n".join(lines))
        self.warnings_label.setVisible(bool(lines))
