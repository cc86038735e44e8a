"""What the three desks share: background jobs behind a cancellable progress dialog, date-range pickers,
and a read-only table model for the numbers behind a chart."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QMainWindow, QWidget

from caselog import vocab
from ui import shortcuts
from ui.paged_model import ROW_ROLE as ROW_ROLE  # the same two roles as the case list
from ui.paged_model import SORT_ROLE as SORT_ROLE
from ui.services import AppSettings, Services
from ui.tables import HeadedTableModel
from ui.widgets import combo, date_field, from_qdate, to_qdate

#: The procedures' one short label (caselog.vocab), under the name the desks use.
SHORT_PROCEDURES = vocab.PROCEDURE_SHORT


class Desk(QMainWindow):
    """A desk: its own window over the main window's services. A subclass builds its widgets in `_build` and
    reads what it shows in `refresh`; `load=False` (the Help menu listing a desk's keys) reads nothing."""

    def __init__(
        self,
        services: Services,
        settings: AppSettings,
        parent: QWidget | None = None,
        *,
        today: Callable[[], dt.date] = dt.date.today,
        load: bool = True,
    ) -> None:
        super().__init__(parent)
        self.services = services
        self.settings = settings
        self._today = today
        self._build()
        if load:
            self.refresh()

    def _build(self) -> None:
        raise NotImplementedError

    def refresh(self) -> None:
        """Read what the desk shows; a desk that reads only when asked leaves this empty."""


def set_combo_items(box: QComboBox, first: tuple[str, Any], items: Sequence[tuple[str, Any]]) -> None:
    """Replace a combo's entries, keeping the current choice when it is still there; emits nothing."""
    current = box.currentData()
    box.blockSignals(True)
    box.clear()
    box.addItem(*first)
    for label, key in items:
        box.addItem(label, key)
    box.setCurrentIndex(max(box.findData(current), 0) if current is not None else 0)
    box.blockSignals(False)


def desk_action(window: QWidget, text: str, slot: Callable[[], Any], meaning: str | None, tip: str) -> QAction:
    """A desk's action, its key from the one shortcut table (ui.shortcuts), reachable from anywhere in the desk."""
    action = QAction(text, window)
    action.triggered.connect(lambda _checked=False: slot())
    if meaning is not None:
        shortcuts.bind(action, meaning, tip=tip)
    else:
        action.setToolTip(tip)
    action.setProperty("accessibleName", text.replace("&", "").rstrip("…"))
    window.addAction(action)
    return action


# ---- date ranges -----------------------------------------------------------------------------------------

RANGES: tuple[tuple[str, str], ...] = (
    ("any", "All dates"),
    ("12m", "Last 12 months"),
    ("year", "This year"),
    ("last_year", "Last year"),
    ("month", "This month"),
    ("custom", "Between…"),
)


def range_dates(pick: str, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    if pick == "12m":
        start = today.replace(day=1)
        return start.replace(year=start.year - 1), today
    if pick == "year":
        return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
    if pick == "last_year":
        return dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31)
    if pick == "month":
        start = today.replace(day=1)
        return start, (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    return None, None


class DateRange(QWidget):
    """A quick pick ("Last 12 months") with two date fields that become editable for "Between…"."""

    changed = Signal()

    def __init__(self, *, today: Callable[[], dt.date] = dt.date.today, default: str = "any") -> None:
        super().__init__()
        self._today = today
        self.pick = combo("Date range", [(label, key) for key, label in RANGES])
        self.date_from = date_field("From date", today())
        self.date_to = date_field("To date", today())
        for edit in (self.date_from, self.date_to):
            edit.dateChanged.connect(self._edited)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Procedure date:"))
        layout.addWidget(self.pick)
        layout.addWidget(self.date_from)
        layout.addWidget(QLabel("to"))
        layout.addWidget(self.date_to)
        self.pick.setCurrentIndex(max(self.pick.findData(default), 0))
        self._picked()
        self.pick.currentIndexChanged.connect(lambda _i: (self._picked(), self.changed.emit()))

    def _picked(self) -> None:
        key = self.pick.currentData()
        custom = key == "custom"
        self.date_from.setEnabled(custom)
        self.date_to.setEnabled(custom)
        start, end = range_dates(key, self._today())
        if start is not None and end is not None:
            for edit, day in ((self.date_from, start), (self.date_to, end)):
                edit.blockSignals(True)
                edit.setDate(to_qdate(day))
                edit.blockSignals(False)

    def _edited(self) -> None:
        if self.pick.currentData() == "custom":
            self.changed.emit()

    def set_range(self, date_from: dt.date, date_to: dt.date) -> None:
        """Pick "Between…" with these dates (tests, and desks opened for a given range)."""
        self.pick.blockSignals(True)
        self.pick.setCurrentIndex(self.pick.findData("custom"))
        self.pick.blockSignals(False)
        self._picked()
        for edit, day in ((self.date_from, date_from), (self.date_to, date_to)):
            edit.blockSignals(True)
            edit.setDate(to_qdate(day))
            edit.blockSignals(False)
        self.changed.emit()

    def dates(self) -> tuple[dt.date | None, dt.date | None]:
        if self.pick.currentData() == "any":
            return None, None
        start, end = from_qdate(self.date_from.date()), from_qdate(self.date_to.date())
        return (start, end) if start <= end else (end, start)

    def text(self) -> str:
        start, end = self.dates()
        return "all dates" if start is None or end is None else f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"


# ---- the numbers behind a chart ----------------------------------------------------------------------------


def cell_text(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}" if value != int(value) or abs(value) >= 1000 else f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


class NumbersModel(HeadedTableModel):
    """Rows of plain values with headings; numbers align right and sort as numbers (None sorts first)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.columns: tuple[str, ...] = ()
        self.rows: tuple[tuple[object, ...], ...] = ()

    def set_table(self, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.beginResetModel()
        self.columns = tuple(columns)
        self.rows = tuple(tuple(r) for r in rows)
        self.endResetModel()

    def _row_count(self) -> int:
        return len(self.rows)

    def _headings(self) -> Sequence[str]:
        return self.columns

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        value = self.rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(value)
        if role == SORT_ROLE:
            if value is None:
                return float("-inf")
            return value.isoformat() if isinstance(value, dt.date) else value
        if role == ROW_ROLE:
            return self.rows[index.row()]
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, int | float | type(None)):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def as_text(self) -> str:
        """Tab-separated, for pasting into a spreadsheet."""
        lines = ["\t".join(self.columns)]
        lines += ["\t".join("" if v is None else str(v) for v in row) for row in self.rows]
        return "\n".join(lines) + "\n"


def sorted_view_model(model: QAbstractTableModel, parent: QObject) -> QSortFilterProxyModel:
    proxy = QSortFilterProxyModel(parent)
    proxy.setSourceModel(model)
    proxy.setSortRole(SORT_ROLE)
    return proxy
