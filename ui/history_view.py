"""The audit trail on screen: one case's history (who, when, what changed, why) and the whole trail with filters.

The whole trail is read a page at a time (ui.paged_model): its filters are conditions of the query
(caselog.audit.AuditFilter), the count comes from the database, and each further page loads as the list scrolls, so
the view opens as fast on a million entries as on a hundred.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from PySide6.QtCore import QDate, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer
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

from caselog.audit import AuditEntry, AuditFilter, Span
from ui.accounts_dialogs import local_time
from ui.messages import error_text
from ui.paged_model import Column, PagedTableModel
from ui.services import Services
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


def entry_text(entry: AuditEntry, column: str, max_lines: int) -> str:
    """What one cell of an entry's row shows; "What changed" lists at most `max_lines` lines."""
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
        if len(lines) > max_lines:
            cut = max_lines - 1
            lines = [*lines[:cut], f"… and {len(lines) - cut} more fields (hover to see all)"]
        return "\n".join(lines)
    return entry.reason or ""


def entry_decoration(entry: AuditEntry, column: str, role: int) -> Any:
    """An entry's cell beyond its text: every changed field on hover, text from the top left."""
    if role == Qt.ItemDataRole.ToolTipRole and column == "What changed":
        return "\n".join(change_lines(entry))
    if role == Qt.ItemDataRole.TextAlignmentRole:
        return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
    return None


class AuditModel(HeadedTableModel):
    """One case's audit entries, newest first; the table never edits them (nothing does)."""

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
        return entry_text(entry, column, self.max_lines)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(entry, column)
        if role == ENTRY_ROLE:
            return entry
        return entry_decoration(entry, column, role)


@dataclass(frozen=True, slots=True)
class TrailQuery:
    """What the trail view asks for: its filter, and for a further page the entry number it continues after."""

    filter: AuditFilter = field(default_factory=AuditFilter)
    after: int | None = None


def _column(title: str, width: int) -> Column:
    return Column(title, None, width, lambda entry: entry_text(entry, title, TRAIL_LINES))


class AuditTrailModel(PagedTableModel[AuditEntry, TrailQuery]):
    """The trail newest first, a page at a time from CaseService.audit_page: filtered and counted in SQL."""

    columns = tuple(_column(title, width) for title, width in (("When", 130), ("Who", 110), ("Action", 120),
                    ("Record", 135), ("What changed", 420), ("Why", 160)))  # fmt: skip
    no_filter = TrailQuery()

    def __init__(self, services: Services, parent: QObject | None = None) -> None:
        super().__init__(services, parent)
        self.sort_key = "id"  # entry order, newest first; the columns do not sort
        self._after: int | None = None
        # The count's span of the filter shown (written by the worker that counted it), for the pages that follow.
        self._spans: dict[AuditFilter, Span] = {}

    @property
    def entries(self) -> list[AuditEntry]:
        """The entries loaded so far, newest first."""
        return [row for row in (self.row_at(i) for i in range(self.rowCount())) if row is not None]

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:  # noqa: B008
        """The next page continues after the last entry loaded (keyset: entries written meanwhile shift nothing)."""
        last = self.row_at(self.rowCount() - 1)
        self._after = last.id if last is not None else None
        try:
            super().fetchMore(parent)
        finally:
            self._after = None

    def _query(self) -> TrailQuery:
        return replace(self.filter, after=self._after)

    def _count(self, service: Any, query: TrailQuery) -> tuple[int, int]:
        span = service.audit_span(query.filter)
        self._spans = {query.filter: span}
        return span.count, span.count if query.filter == AuditFilter() else service.audit_span().count

    def _fetch(self, service: Any, query: TrailQuery, sort: str, descending: bool, offset: int) -> list[AuditEntry]:
        span = self._spans.get(query.filter)
        return list(service.audit_page(query.filter, after=query.after, span=span))

    def _key(self, row: AuditEntry) -> int:
        return row.id

    def _decorate(self, row: AuditEntry, column: int, role: int) -> Any:
        return entry_decoration(row, self.columns[column].title, role)


def audit_table(model: AuditModel | AuditTrailModel, name: str) -> QTableView:
    widths = {"When": 130, "Who": 110, "Action": 120, "Record": 135, "What changed": 420}
    titles = model.columns if isinstance(model, AuditModel) else [c.title for c in model.columns]
    table = list_table(model, name, widths=[widths.get(title, 160) for title in titles], row_height=None,
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
    """The whole trail (admin, quality; a surgeon sees their own cases') with filters for user, action, dates, case.

    Every filter is part of the query: the list holds one page, and the next as it scrolls (AuditTrailModel).
    """

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._services = services
        self.user = QComboBox()
        self.user.setAccessibleName("Filter by user")
        self.action = QComboBox()
        self.action.setAccessibleName("Filter by action")
        for combo, everyone in ((self.user, "Everyone"), (self.action, "All actions")):
            combo.addItem(everyone, None)
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
        self.model = AuditTrailModel(services, parent=self)
        self.table = audit_table(self.model, "Audit trail")
        # Each page's rows are fitted to their text as they arrive; fitting every row at each page (the header's
        # ResizeToContents) slowed each page down by the number of rows already loaded.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.model.modelReset.connect(lambda: self._fit_rows(0, self.model.rowCount() - 1))
        self.model.rowsInserted.connect(lambda _parent, first, last: self._fit_rows(first, last))
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
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.count)  # a line of its own: "1,000,000 of 1,000,000 entries" never cut off
        layout.addWidget(self.error)
        layout.addWidget(self.table, 1)
        # Typing a case number asks once the typing pauses, not at each key.
        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(250)
        self._typing.timeout.connect(self.apply)
        self.user.activated.connect(lambda _i: self.apply())
        self.action.activated.connect(lambda _i: self.apply())
        self.use_dates.toggled.connect(self._dates_toggled)
        self.date_from.dateChanged.connect(lambda _d: self.apply())
        self.date_to.dateChanged.connect(lambda _d: self.apply())
        self.case_number.textChanged.connect(lambda _t: self._typing.start())
        self.reload.clicked.connect(self.refresh)
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(self._failed)

    def _fit_rows(self, first: int, last: int) -> None:
        for row in range(first, last + 1):
            self.table.resizeRowToContents(row)

    def _dates_toggled(self, on: bool) -> None:
        self.date_from.setEnabled(on)
        self.date_to.setEnabled(on)
        self.apply()

    def refresh(self) -> None:
        """Reload the list (its first page and count) and the users and actions to filter by, off the GUI thread."""
        service = self._services.cases
        self._services.tasks.run(lambda _p: service.audit_choices(), on_result=self._set_choices,
                                 on_error=self._failed, owner=self)  # fmt: skip
        self.apply()

    def _set_choices(self, choices: tuple[list[str], list[str]]) -> None:
        users, actions = choices
        for combo, values in ((self.user, users), (self.action, sorted(actions, key=action_text))):
            current = combo.currentData()
            while combo.count() > 1:
                combo.removeItem(1)
            for value in values:
                combo.addItem(action_text(value) if combo is self.action else value, value)
            combo.setCurrentIndex(max(combo.findData(current), 0))

    def audit_filter(self) -> AuditFilter:
        """The filter the controls describe (dates as this computer's calendar counts them)."""
        f = AuditFilter(who=self.user.currentData(), action=self.action.currentData(),
                        case_number_prefix=self.case_number.text().strip() or None)  # fmt: skip
        if self.use_dates.isChecked():
            f = f.within_local_days(self.date_from.date().toPython(), self.date_to.date().toPython())  # type: ignore[arg-type]
        return f

    def apply(self) -> None:
        self._typing.stop()
        self.model.set_filter(TrailQuery(self.audit_filter()))

    def _loaded(self) -> None:
        self.error.hide()
        self.count.setText(f"{self.model.matching:,} of {self.model.total:,} entries")

    def _failed(self, exc: BaseException) -> None:
        self.error.setText(error_text(exc))
        self.error.show()
