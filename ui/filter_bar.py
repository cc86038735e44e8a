"""The search box and filters above the case list; emits a CaseFilter whenever the user changes one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QWidget,
)

from caselog import vocab
from caselog.records import CaseFilter
from ui.widgets import combo, date_field, from_qdate, named_button, search_field, to_qdate

QUICK_RANGES = ("any", "today", "week", "month", "year", "custom")
QUICK_LABELS = {
    "any": "Any date",
    "today": "Today",
    "week": "This week",
    "month": "This month",
    "year": "This year",
    "custom": "Between…",
}


def quick_range(pick: str, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The dates a quick pick means; weeks start on Monday, as clinic schedules do."""
    if pick == "today":
        return today, today
    if pick == "week":
        start = today - dt.timedelta(days=today.weekday())
        return start, start + dt.timedelta(days=6)
    if pick == "month":
        start = today.replace(day=1)
        following = (start + dt.timedelta(days=32)).replace(day=1)
        return start, following - dt.timedelta(days=1)
    if pick == "year":
        return dt.date(today.year, 1, 1), dt.date(today.year, 12, 31)
    return None, None


class FilterBar(QWidget):
    """Search, date range with quick picks, surgeon, procedure, level, status, complications; shows the count."""

    changed = Signal(object)

    def __init__(self, *, today: Callable[[], dt.date] = dt.date.today, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._today = today
        self._quiet = False

        self.search = search_field("Search cases", "Search MRN, name, case number or notes  (Ctrl+F)")

        self.dates = combo("Date range", [(QUICK_LABELS[k], k) for k in QUICK_RANGES])
        self.date_from = date_field("From date", today())
        self.date_to = date_field("To date", today())
        for edit in (self.date_from, self.date_to):
            edit.setEnabled(False)

        self.surgeon = combo("Surgeon filter", [("All surgeons", None)])
        self.procedure = combo(
            "Procedure filter", [("All procedures", None), *((v, k) for k, v in vocab.PROCEDURES.items())]
        )
        self.level = combo("Level filter", [("All levels", None), *((lv, lv) for lv in vocab.LEVELS)])
        self.status = combo("Status filter", [("Any status", None), *((v, k) for k, v in vocab.CASE_STATUSES.items())])
        self.complications = QCheckBox("Only with complications")
        self.complications.setAccessibleName("Only cases with complications")
        self.clear = named_button("Clear filters")
        self.count = QLabel("")
        self.count.setAccessibleName("Number of matching cases")
        self.count.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.count.font()
        font.setBold(True)
        self.count.setFont(font)

        grid = QGridLayout(self)
        grid.setContentsMargins(8, 6, 8, 4)
        grid.setHorizontalSpacing(8)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(QLabel("Date:"))
        top.addWidget(self.dates)
        top.addWidget(self.date_from)
        top.addWidget(QLabel("to"))
        top.addWidget(self.date_to)
        top.addSpacing(8)
        top.addWidget(self.count)  # on the search row, so the filter row fits a 911-point wide screen
        bottom = QHBoxLayout()
        for widget in (self.surgeon, self.procedure, self.level, self.status, self.complications, self.clear):
            bottom.addWidget(widget)
        bottom.addStretch(1)
        grid.addLayout(top, 0, 0)
        grid.addLayout(bottom, 1, 0)

        self.search.textChanged.connect(self._emit)
        self.dates.currentIndexChanged.connect(self._pick_dates)
        self.date_from.dateChanged.connect(self._date_edited)
        self.date_to.dateChanged.connect(self._date_edited)
        for box in (self.surgeon, self.procedure, self.level, self.status):
            box.currentIndexChanged.connect(self._emit)
        self.complications.toggled.connect(self._emit)
        self.clear.clicked.connect(self.reset)

    def set_surgeons(self, names: list[str]) -> None:
        current = self.surgeon.currentData()
        self._quiet = True
        self.surgeon.clear()
        self.surgeon.addItem("All surgeons", None)
        for name in names:
            self.surgeon.addItem(name, name)
        index = self.surgeon.findData(current) if current else 0
        self.surgeon.setCurrentIndex(max(index, 0))
        self._quiet = False

    def set_count(self, matching: int, total: int) -> None:
        noun = "case" if total == 1 else "cases"
        text = f"{matching:,} {noun}" if matching == total else f"{matching:,} of {total:,} {noun}"
        self.count.setText(text)

    def case_filter(self) -> CaseFilter:
        date_from = date_to = None
        if self.dates.currentData() != "any":
            date_from, date_to = from_qdate(self.date_from.date()), from_qdate(self.date_to.date())
        return CaseFilter(
            date_from=date_from,
            date_to=date_to,
            surgeon=self.surgeon.currentData(),
            procedure=self.procedure.currentData(),
            level=self.level.currentData(),
            status=self.status.currentData(),
            with_complications=self.complications.isChecked(),
            search=self.search.text().strip() or None,
        )

    def reset(self) -> None:
        self._quiet = True
        self.search.clear()
        self.dates.setCurrentIndex(0)
        for box in (self.surgeon, self.procedure, self.level, self.status):
            box.setCurrentIndex(0)
        self.complications.setChecked(False)
        self._quiet = False
        self._emit()

    def _pick_dates(self) -> None:
        pick = self.dates.currentData()
        self._quiet = True
        start, end = quick_range(pick, self._today())
        if start is not None and end is not None:
            self.date_from.setDate(to_qdate(start))
            self.date_to.setDate(to_qdate(end))
        enabled = pick != "any"
        self.date_from.setEnabled(enabled)
        self.date_to.setEnabled(enabled)
        self._quiet = False
        self._emit()

    def _date_edited(self) -> None:
        if self._quiet:
            return
        custom = self.dates.findData("custom")
        if self.dates.currentIndex() != custom:
            self.dates.blockSignals(True)
            self.dates.setCurrentIndex(custom)
            self.dates.blockSignals(False)
        self._emit()

    def _emit(self) -> None:
        if not self._quiet:
            self.changed.emit(self.case_filter())
