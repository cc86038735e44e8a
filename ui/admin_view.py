"""What an administrator sees instead of cases: the accounts (add, disable, enable, role, password reset) and the
audit trail (without patient identity: caselog.accounts.entries_for)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from caselog.accounts import HIDDEN, Account, AccountService
from caselog.db import store
from caselog.errors import CaselogError
from caselog.service import CaseService
from ui.accounts_dialogs import AccountDialog, PasswordDialog, RoleDialog, local_time, role_name
from ui.clinic_settings_tab import ClinicSettingsTab
from ui.history_view import AuditTrailView
from ui.messages import show_error
from ui.services import Services
from ui.tables import HeadedTableModel, Selection, list_table
from ui.widgets import named_button

ACCOUNT_ROLE = Qt.ItemDataRole.UserRole + 1


def account_state(account: Account) -> str:
    if account.disabled:
        return "Disabled"
    if account.locked_until is not None and account.locked_until > store.utcnow():
        return f"Locked until {local_time(account.locked_until)[-5:]}"
    return "Active, new password due" if account.must_change_password else "Active"


class AccountsModel(HeadedTableModel):
    COLUMNS = ("User name", "Full name", "Role", "State", "Last sign-in", "Created")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.accounts: list[Account] = []

    def set_accounts(self, accounts: list[Account]) -> None:
        self.beginResetModel()
        self.accounts = accounts
        self.endResetModel()

    def _row_count(self) -> int:
        return len(self.accounts)

    def _headings(self) -> Sequence[str]:
        return self.COLUMNS

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        a = self.accounts[index.row()]
        if role == ACCOUNT_ROLE:
            return a
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        values = (a.username, a.full_name, role_name(a.role), account_state(a), local_time(a.last_sign_in_at),
                  local_time(a.created_at))  # fmt: skip
        return values[index.column()]


class AdminView(QWidget):
    """Accounts and the audit trail; every call goes through AccountService/CaseService as the signed-in admin."""

    def __init__(
        self,
        accounts: Callable[[], AccountService],
        services: Services,
        parent: QWidget | None = None,
        cases: Callable[[], CaseService] | None = None,
    ) -> None:
        super().__init__(parent)
        self._accounts = accounts
        self.model = AccountsModel(self)
        self.table = list_table(
            self.model, "Accounts", widths=(120, 220, 130, 150, 140), selection=Selection.SingleSelection,
            row_height=None, alternate=False, wrap=True,
        )  # fmt: skip
        self.add_button = named_button("&Add account…")
        self.disable_button = named_button("&Disable account…")
        self.enable_button = named_button("&Enable account")
        self.reset_button = named_button("&Reset password…")
        self.role_button = named_button("Change r&ole…")
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.hide()
        buttons = QHBoxLayout()
        for button in (self.add_button, self.disable_button, self.enable_button, self.reset_button,
                       self.role_button):  # fmt: skip
            buttons.addWidget(button)
        buttons.addStretch(1)
        note = QLabel("Administrators manage accounts and read the audit trail; cases are for the other roles.")
        note.setObjectName("hint")
        buttons.addWidget(note)
        accounts_page = QWidget()
        layout = QVBoxLayout(accounts_page)
        layout.addLayout(buttons)
        layout.addWidget(self.error)
        layout.addWidget(self.table, 1)
        self.trail = AuditTrailView(services)  # the trail as the signed-in administrator reads it, a page at a time
        trail_page = QWidget()
        trail_layout = QVBoxLayout(trail_page)
        privacy = QLabel(f"Administrators do not see cases: values that could identify a patient, and reasons, show "
                         f"as {HIDDEN}. Quality staff see them in full.")  # fmt: skip
        privacy.setObjectName("hint")
        privacy.setWordWrap(True)
        trail_layout.addWidget(privacy)
        trail_layout.addWidget(self.trail, 1)
        self.tabs = QTabWidget()
        self.tabs.addTab(accounts_page, "Accounts")
        self.tabs.addTab(trail_page, "Audit trail")
        self.clinic = ClinicSettingsTab(cases) if cases is not None else None
        if self.clinic is not None:
            self.tabs.addTab(self.clinic, "Clinic")
            self.tabs.currentChanged.connect(lambda i: self.clinic.refresh() if i == 2 and self.clinic else None)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 8, 8, 8)
        outer.addWidget(self.tabs)
        self.add_button.clicked.connect(self.add_account)
        self.disable_button.clicked.connect(self.disable_account)
        self.enable_button.clicked.connect(self.enable_account)
        self.reset_button.clicked.connect(self.reset_password)
        self.role_button.clicked.connect(self.change_role)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._sync())
        self.tabs.currentChanged.connect(lambda i: self.trail.refresh() if i == 1 else None)

    def refresh(self) -> None:
        try:
            self.model.set_accounts(self._accounts().list_accounts())
        except CaselogError as exc:
            self.model.set_accounts([])
            self.error.setText(exc.message)
            self.error.show()
        else:
            self.error.hide()
        if self.tabs.currentIndex() == 1:
            self.trail.refresh()
        self._sync()

    def selected(self) -> Account | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.accounts[rows[0].row()] if rows else None

    def _sync(self) -> None:
        account = self.selected()
        me = self._accounts().actor
        other = account is not None and (me is None or account.username != me.username)
        self.disable_button.setEnabled(other and account is not None and not account.disabled)
        self.enable_button.setEnabled(account is not None and account.disabled)
        self.reset_button.setEnabled(other)  # one's own password: changed with the current one, not reset
        self.role_button.setEnabled(account is not None)

    def add_account(self) -> Account | None:
        dialog = AccountDialog(self._accounts(), parent=self)
        if dialog.exec() != AccountDialog.DialogCode.Accepted:
            return None
        self.refresh()
        return dialog.account

    def disable_account(self) -> None:
        account = self.selected()
        if account is None:
            return
        answer = QMessageBox.question(
            self,
            f"Disable {account.username}?",
            f"Disable the account of {account.full_name} ({role_name(account.role)})? They can no longer sign in; "
            "their cases and their entries in the audit trail stay.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self._apply("The account was not disabled", lambda s: s.disable_account(account.username))

    def enable_account(self) -> None:
        account = self.selected()
        if account is not None:
            self._apply("The account was not enabled", lambda s: s.enable_account(account.username))

    def _apply(self, failure: str, change: Callable[[AccountService], object]) -> None:
        """One change through the service as the signed-in administrator; a refusal is shown, then the list reloads."""
        try:
            change(self._accounts())
        except CaselogError as exc:
            show_error(self, failure, exc)
        self.refresh()

    def reset_password(self) -> None:
        account = self.selected()
        if account is None:
            return
        dialog = PasswordDialog(
            lambda new: self._accounts().reset_password(account.username, new),
            title=f"Reset the password of {account.username}",
            intro=f"A new password for {account.full_name} ({role_name(account.role)}). Give it to them in person; "
            "at their next sign-in they must replace it with one only they know. A lockout is lifted too.",
            ok_text="Reset password",
            parent=self,
        )
        dialog.exec()
        self.refresh()

    def change_role(self) -> None:
        account = self.selected()
        if account is None:
            return
        dialog = RoleDialog(account, parent=self)
        if dialog.exec() == RoleDialog.DialogCode.Accepted and dialog.chosen() != account.role:
            self._apply("The role was not changed", lambda s: s.set_role(account.username, dialog.chosen()))
