"""The audit trail on screen: one case's history (who, when, what changed, why) and the whole trail with filters."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QDate, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from caselog.audit import AuditEntry
from caselog.errors import CaselogError
from ui.accounts_dialogs import local_time
from ui.messages import error_text
from ui.style import app_style_sheet
from ui.tables import HeadedTableModel, list_table
from ui.widgets import date_field, named_button, search_field, with_close_button

ACTION_WORDS = {
    "create": "Created", "import": "Imported", "demo": "Demo data", "update": "Draft edited", "amend": "Amended",
    "addendum": "Addendum", "review": "Review", "sign": "Signed", "delete": "Deleted", "print": "Printed",
    "export": "Exported", "sign_in": "Signed in", "sign_in_failed": "Sign-in failed", "sign_out": "Signed out",
    "lock": "Locked (idle)", "account_locked": "Account locked", "account_add": "Account added",
    "account_disable": "Account disabled", "refused": "Refused", "backup": "Backup", "restore": "Restore",
    "account_enable": "Account enabled", "account_role": "Role changed", "account_password_reset": "Password reset",
    "account_password_change": "Password changed",
}  # fmt: skip
#: How many changed fields a cell lists before "and N more" (a creation holds the whole case): a case's
#: history shows more, the whole trail keeps its rows short.
HISTORY_LINES = 8
TRAIL_LINES = 3
ENTRY_ROLE = Qt.ItemDataRole.UserRole + 1


def action_text(action: str) -> str:
    return ACTION_WORDS.get(action, action.replace("_", " ").capitalize())


def _value(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        value = "; ".join(str(v) for v in value)  # names and codes read as staff write them
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 80 else text[:77] + "…"


def change_lines(entry: AuditEntry) -> list[str]:
    """'field: old → new' per changed field; other details (a refusal's message, a failed sign-in) as 'key: value'."""
    changes = entry.changes
    if changes:
        if "content" in entry.details:  # a creation: only new values
            return [f"{path}: {_value(new)}" for path, (_old, new) in changes.items() if new not in (None, "", [])]
        return [f"{path}: {_value(old)} → {_value(new)}" for path, (old, new) in changes.items()]
    skip = {"changes", "content", "version"}
    return [f"{key}: {_value(value)}" for key, value in entry.details.items() if key not in skip]


class AuditModel(HeadedTableModel):
    """Audit entries, newest first; the table never edits them (nothing does)."""

    COLUMNS = ("When", "Who", "Action", "Record", "What changed", "Why")

    def __init__(self, *, with_record: bool = True, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.max_lines = TRAIL_LINES if with_record else HISTORY_LINES
        self.entries: list[AuditEntry] = []
        self.columns = [c for c in self.COLUMNS if with_record or c != "Record"]

    def set_entries(self, entries: list[AuditEntry]) -> None:
        self.beginResetModel()
        self.entries = sorted(entries, key=lambda e: e.id, reverse=True)
        self.endResetModel()

    def _row_count(self) -> int:
        return len(self.entries)

    def _headings(self) -> Sequence[str]:
        return self.columns

    def text(self, entry: AuditEntry, column: str) -> str:
        if column == "When":
            return local_time(entry.occurred_at)
        if column == "Who":
            return entry.who
        if column == "Action":
            return action_text(entry.action)
        if column == "Record":
            return f"{entry.record_type} {entry.record_id or ''}".strip()
        if column == "What changed":
            lines = change_lines(entry)
            if len(lines) > self.max_lines:
                cut = self.max_lines - 1
                lines = [*lines[:cut], f"… and {len(lines) - cut} more fields (hover to see all)"]
            return "\n".join(lines)
        return entry.reason or ""

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(entry, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == "What changed":
            return "\n".join(change_lines(entry))
        if role == ENTRY_ROLE:
            return entry
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        return None


def audit_table(model: AuditModel, name: str) -> QTableView:
    widths = {"When": 130, "Who": 110, "Action": 120, "Record": 135, "What changed": 420}
    table = list_table(model, name, widths=[widths.get(column, 160) for column in model.columns], row_height=None,
                       wrap=True)  # fmt: skip
    table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    return table


class CaseHistoryDialog(QDialog):
    """One case's history from CaseService.history: every change with its old and new values and reason."""

    def __init__(self, case_number: str, entries: list[AuditEntry], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"History of case {case_number}")
        self.setStyleSheet(app_style_sheet(self.palette()))
        self.model = AuditModel(with_record=False, parent=self)
        self.model.set_entries(entries)
        self.table = audit_table(self.model, f"History of case {case_number}")
        summary = QLabel(f"{len(entries)} entr{'ies' if len(entries) != 1 else 'y'}, newest first. "
                         "Times are this computer's local time.")  # fmt: skip
        summary.setObjectName("hint")
        with_close_button(self, summary, self.table, grows=self.table)
        self.resize(1000, 520)


class AuditTrailView(QWidget):
    """The whole trail (admin, quality; a surgeon sees their own cases') with filters for user, action, dates, case."""

    def __init__(self, load: Callable[[], list[AuditEntry]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._load = load
        self._all: list[AuditEntry] = []
        self.user = QComboBox()
        self.user.setAccessibleName("Filter by user")
        self.action = QComboBox()
        self.action.setAccessibleName("Filter by action")
        self.use_dates = QCheckBox("From")
        self.use_dates.setAccessibleName("Filter by date")
        today = QDate.currentDate()
        self.date_from = date_field("From date", today.addDays(-30))
        self.date_to = date_field("To date", today)
        for edit in (self.date_from, self.date_to):
            edit.setEnabled(False)
        self.case_number = search_field("Filter by case number", "Case number")
        self.reload = named_button("Reload", "Reload the audit trail")
        self.count = QLabel()
        self.count.setObjectName("hint")
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.hide()
        self.model = AuditModel(parent=self)
        self.table = audit_table(self.model, "Audit trail")
        bar = QHBoxLayout()
        for label, widget in (("User", self.user), ("Action", self.action)):
            bar.addWidget(QLabel(label))
            bar.addWidget(widget)
        bar.addWidget(self.use_dates)
        bar.addWidget(self.date_from)
        bar.addWidget(QLabel("to"))
        bar.addWidget(self.date_to)
        bar.addWidget(self.case_number)
        bar.addWidget(self.reload)
        bar.addStretch(1)
        bar.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.error)
        layout.addWidget(self.table, 1)
        self.user.activated.connect(lambda _i: self.apply())
        self.action.activated.connect(lambda _i: self.apply())
        self.use_dates.toggled.connect(self._dates_toggled)
        self.date_from.dateChanged.connect(lambda _d: self.apply())
        self.date_to.dateChanged.connect(lambda _d: self.apply())
        self.case_number.textChanged.connect(lambda _t: self.apply())
        self.reload.clicked.connect(self.refresh)

    def _dates_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self.apply()

    def refresh(self) -> None:
        try:
            self._all = self._load()
        except CaselogError as exc:
            self._all = []
            self.error.setText(error_text(exc))
            self.error.show()
        else:
            self.error.hide()
        for combo, values, everyone in (
            (self.user, sorted({e.who for e in self._all}), "Everyone"),
            (self.action, sorted({e.action for e in self._all}, key=action_text), "All actions"),
        ):
            current = combo.currentData()
            combo.clear()
            combo.addItem(everyone, None)
            for value in values:
                combo.addItem(action_text(value) if combo is self.action else value, value)
            found = combo.findData(current)
            combo.setCurrentIndex(max(found, 0))
        self.apply()

    def matches(self, entry: AuditEntry) -> bool:
        user, action = self.user.currentData(), self.action.currentData()
        if user is not None and entry.who != user:
            return False
        if action is not None and entry.action != action:
            return False
        number = self.case_number.text().strip()
        if number and not (entry.record_type == "case" and (entry.record_id or "").startswith(number)):
            return False
        if self.use_dates.isChecked():
            day = entry.occurred_at.replace(tzinfo=dt.UTC).astimezone().date()
            first, last = self.date_from.date().toPython(), self.date_to.date().toPython()
            if not first <= day <= last:  # type: ignore[operator]
                return False
        return True

    def apply(self) -> None:
        shown = [e for e in self._all if self.matches(e)]
        self.model.set_entries(shown)
        self.count.setText(f"{len(shown):,} of {len(self._all):,} entries")
