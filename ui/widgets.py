"""Small widget makers the windows share, so a filter box or a search field is set up the same way everywhere
(a screen-reader name on each; dates as Qt wants them)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QDate
from PySide6.QtWidgets import QComboBox, QLineEdit, QPushButton

#: Characters a filter's choice box shows at least (longer entries are cut with an ellipsis on small screens).
COMBO_CHARS = 12


def to_qdate(day: dt.date) -> QDate:
    return QDate(day.year, day.month, day.day)


def from_qdate(day: QDate) -> dt.date:
    return dt.date(day.year(), day.month(), day.day())


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
