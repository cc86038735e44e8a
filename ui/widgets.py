"""Small widget makers the windows share, so a filter box or a search field is set up the same way everywhere
(a screen-reader name on each; dates as Qt wants them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QDialog,
    QDialogButtonBox,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

#: Characters a filter's choice box shows at least (longer entries are cut with an ellipsis on small screens).
COMBO_CHARS = 12


def to_qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def from_qdate(day: QDate) -> dt.date:
    return dt.date(day.year(), day.month(), day.day())


def date_field(name: str, day: dt.date | QDate) -> QDateEdit:
    """A date as the clinic writes it (2025-03-14), with a calendar to pick from."""
    field = QDateEdit(day if isinstance(day, QDate) else to_qdate(day))
    field.setCalendarPopup(True)
    field.setDisplayFormat("yyyy-MM-dd")
    field.setAccessibleName(name)
    return field


def choice_box(name: str, items: Iterable[tuple[str, Any]]) -> QComboBox:
    """A choice box named `name` for screen readers, holding (label, key) items."""
    box = QComboBox()
    box.setAccessibleName(name)
    for label, key in items:
        box.addItem(label, key)
    return box


def combo(name: str, items: Iterable[tuple[str, Any]]) -> QComboBox:
    """A filter's choice box: wide enough for a short choice and no wider (a 1366×768 screen at 150% is 911
    points wide)."""
    box = choice_box(name, items)
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(COMBO_CHARS)
    return box


def search_field(name: str, placeholder: str) -> QLineEdit:
    field = QLineEdit()
    field.setPlaceholderText(placeholder)
    field.setAccessibleName(name)
    field.setClearButtonEnabled(True)
    return field


def named_button(text: str, name: str | None = None) -> QPushButton:
    """A button whose screen-reader name is its text without the mnemonic and the ellipsis, unless given."""
    button = QPushButton(text)
    button.setAccessibleName(name or text.replace("&", "").rstrip("…"))
    return button


def with_close_button(dialog: QDialog, *widgets: QWidget, grows: QWidget) -> None:
    """Lay out a dialog that only shows things: `widgets` top to bottom (`grows` takes the spare height), then
    a Close button (Escape closes it too)."""
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    for widget in widgets:
        layout.addWidget(widget, 1 if widget is grows else 0)
    layout.addWidget(buttons)
