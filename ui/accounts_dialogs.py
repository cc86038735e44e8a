"""Signing in and creating accounts: the sign-in form (dialog and lock screen share it) and the account dialog."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caselog.accounts import ROLES, USERNAME_RE, Account, AccountService, Actor, password_problem
from caselog.db.engine import Database
from caselog.errors import CaselogError, InvalidInput, NotPermitted
from ui.style import app_style_sheet
from ui.widgets import choice_box


def local_time(utc: dt.datetime | None) -> str:
    """A stored (naive UTC) time as the workstation's local time, to the minute."""
    if utc is None:
        return ""
    return utc.replace(tzinfo=dt.UTC).astimezone().strftime("%Y-%m-%d %H:%M")


def role_name(role: str) -> str:
    return ROLES.get(role, role)


def _edit(name: str, *, password: bool = False) -> QLineEdit:
    edit = QLineEdit()
    edit.setAccessibleName(name)
    if password:
        edit.setEchoMode(QLineEdit.EchoMode.Password)
    return edit


def error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("fieldError")
    label.setWordWrap(True)
    label.hide()
    return label


class SignInForm(QWidget):
    """User name, password and Sign in. A refusal (wrong password, locked...) is shown under the fields."""

    signed_in = Signal(object)  # Actor

    def __init__(self, db: Database, *, username: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self.username = _edit("User name")
        self.username.setText(username)
        self.password = _edit("Password", password=True)
        self.error = error_label()
        self.error.setAccessibleName("Sign-in message")
        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.setAccessibleName("Sign in")
        self.sign_in_button.setDefault(True)
        self.sign_in_button.setAutoDefault(True)
        form = QFormLayout()
        form.addRow("&User name", self.username)
        form.addRow("&Password", self.password)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.sign_in_button, 0, Qt.AlignmentFlag.AlignRight)
        for edit in (self.username, self.password):
            edit.textChanged.connect(self._sync)
            edit.returnPressed.connect(self.submit)
        self.sign_in_button.clicked.connect(self.submit)
        self._sync()

    def _sync(self) -> None:
        self.sign_in_button.setEnabled(bool(self.username.text().strip() and self.password.text()))

    def focus(self) -> None:
        (self.password if self.username.text() else self.username).setFocus()

    def reset(self, username: str = "") -> None:
        self.username.setText(username)
        self.password.clear()
        self.error.hide()
        self.focus()

    def submit(self) -> Actor | None:
        username = self.username.text().strip()
        if not (username and self.password.text()):
            return None
        current = self.password.text()
        try:
            actor: Actor | None = AccountService(self._db).sign_in(username, current)
        except CaselogError as exc:
            self._refused(exc.message if isinstance(exc, NotPermitted) else "\n".join(exc.lines()))
            return None
        self.password.clear()
        if actor is not None and actor.must_change_password:
            actor = self.choose_new_password(actor, current)
            if actor is None:
                self._refused("An administrator reset this password: choose a new one to continue.")
                return None
        self.error.hide()
        self.signed_in.emit(actor)
        return actor

    def _refused(self, message: str) -> None:
        self.password.clear()
        self.password.setFocus()
        self.error.setText(message)
        self.error.show()

    def choose_new_password(self, actor: Actor, current: str) -> Actor | None:
        """After an administrator's reset: the new password, twice, before anything opens. None if cancelled."""
        changed: list[Actor] = []
        dialog = PasswordDialog(
            lambda new: changed.append(AccountService(self._db, actor).change_password(current, new)),
            title="Choose a new password",
            intro=f"{actor.full_name}, an administrator reset your password. Choose a new one that only you know "
            "before CaseLog opens.",
            ok_text="Change password",
            parent=self,
        )
        dialog.exec()
        return changed[0] if changed else None


class SignInDialog(QDialog):
    """Asked at start when the database has accounts; `actor` holds who signed in."""

    def __init__(self, db: Database, database_name: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Sign in to CaseLog")
        self.setStyleSheet(app_style_sheet(self.palette()))
        self.actor: Actor | None = None
        title = QLabel("Sign in to CaseLog")
        title.setObjectName("greetingTitle")
        hint = QLabel(f"Database: {database_name}" if database_name else "")
        hint.setObjectName("hint")
        self.form = SignInForm(db, parent=self)
        self.form.signed_in.connect(self._signed_in)
        cancel = QPushButton("Quit")
        cancel.setAccessibleName("Quit")
        cancel.setAutoDefault(False)
        cancel.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 16)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addSpacing(8)
        layout.addWidget(self.form)
        layout.addWidget(cancel, 0, Qt.AlignmentFlag.AlignLeft)
        self.setMinimumWidth(420)
        self.form.focus()

    def _signed_in(self, actor: Actor) -> None:
        self.actor = actor
        self.accept()


class _CheckedDialog(QDialog):
    """A dialog whose fields are checked as they are typed: a field's problem shows once it was edited."""

    errors: dict[str, QLabel]
    ok: QPushButton
    password: QLineEdit
    repeat: QLineEdit

    def _watch(self, edits: dict[str, QLineEdit]) -> None:
        self.touched: set[str] = set()
        for key, edit in edits.items():
            edit.textEdited.connect(lambda _t, k=key: self._edited(k))
        self.check()

    def _edited(self, key: str) -> None:
        self.touched.add(key)
        self.check()

    def problems(self) -> dict[str, str]:
        """The new password, by the one rule of caselog.accounts, and its repetition."""
        found: dict[str, str] = {}
        weak = password_problem(self.password.text())
        if weak is not None:
            found["password"] = f"The password {weak}."
        if self.repeat.text() != self.password.text():
            found["repeat"] = "The two passwords differ."
        return found

    def check(self, *, show_all: bool = False, extra: dict[str, str] | None = None) -> bool:
        found = self.problems() | (extra or {})
        for key, label in self.errors.items():
            visible = key in found and (show_all or key in self.touched or bool(extra and key in extra))
            label.setText(found.get(key, "") if visible else "")
            label.setVisible(visible)
        self.ok.setEnabled(not self.problems())
        return not found


class AccountDialog(_CheckedDialog):
    """A new account: user name, full name, role (fixed to administrator for the first) and the password twice."""

    def __init__(self, accounts: AccountService, *, first: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._accounts = accounts
        self._first = first
        self.account: Account | None = None
        self.actor: Actor | None = None
        self.setWindowTitle("Protect with accounts" if first else "Add an account")
        self.setStyleSheet(app_style_sheet(self.palette()))
        self.username = _edit("User name")
        self.username.setPlaceholderText("e.g. praman (lower-case letters, digits, . _ -)")
        self.full_name = _edit("Full name")
        self.full_name.setPlaceholderText("As written on cases, e.g. Dr. Priya Raman")
        self.role = choice_box("Role", ((label, key) for key, label in ROLES.items()))
        if first:
            self.role.setCurrentIndex(self.role.findData("admin"))
            self.role.setEnabled(False)
        self.password = _edit("Password", password=True)
        self.repeat = _edit("Password again", password=True)
        self.errors = {key: error_label() for key in ("username", "full_name", "role", "password", "repeat")}
        form = QFormLayout()
        for label, widget, key in (
            ("&User name", self.username, "username"),
            ("&Full name", self.full_name, "full_name"),
            ("&Role", self.role, "role"),
            ("&Password", self.password, "password"),
            ("Password &again", self.repeat, "repeat"),
        ):
            form.addRow(label, widget)
            form.addRow("", self.errors[key])
        layout = QVBoxLayout(self)
        if first:
            intro = QLabel(
                "From now on everyone signs in to CaseLog, and every change is recorded with their name.\n"
                "This first account is the administrator: it manages accounts and reads the audit trail, "
                "but does not see cases. Add an account for each surgeon, coordinator and quality reviewer next."
            )
            intro.setWordWrap(True)
            layout.addWidget(intro)
        layout.addLayout(form)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Create administrator" if first else "Add account")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(520)
        self._watch({"username": self.username, "full_name": self.full_name, "password": self.password,
                     "repeat": self.repeat})  # fmt: skip

    def problems(self) -> dict[str, str]:
        found: dict[str, str] = {}
        if not USERNAME_RE.fullmatch(self.username.text()):
            found["username"] = "Use 1 to 50 lower-case letters, digits, '.', '_' or '-'."
        if not self.full_name.text().strip():
            found["full_name"] = "Needed: cases are signed with this name."
        return found | super().problems()

    def accept(self) -> None:
        if not self.check(show_all=True):
            return
        try:
            self.account = self._accounts.add_account(
                self.username.text(),
                role=str(self.role.currentData()),
                full_name=self.full_name.text(),
                password=self.password.text(),
            )
        except InvalidInput as exc:
            where = {"NAME": "username", "--full-name": "full_name", "--role": "role", "password": "password"}
            self.check(show_all=True, extra={where.get(p.path, "username"): p.message for p in exc.problems})
            return
        except CaselogError as exc:
            self.check(show_all=True, extra={"username": exc.message})
            return
        if self._first:  # the one who protected the database goes on as its administrator, signed in
            try:
                self.actor = AccountService(self._accounts.db).sign_in(self.username.text(), self.password.text())
            except CaselogError as exc:
                self.check(show_all=True, extra={"password": exc.message})
                return
        super().accept()


class PasswordDialog(_CheckedDialog):
    """A new password, twice, checked as it is typed by the one rule (caselog.accounts.password_problem).

    `save` stores it (an administrator's reset, or the owner's change); its refusal is shown, and the dialog stays.
    """

    def __init__(self, save: Callable[[str], object], *, title: str, intro: str, ok_text: str,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self._save = save
        self.setWindowTitle(title)
        self.setStyleSheet(app_style_sheet(self.palette()))
        text = QLabel(intro)
        text.setWordWrap(True)
        self.password = _edit("New password", password=True)
        self.repeat = _edit("New password again", password=True)
        self.errors = {key: error_label() for key in ("password", "repeat")}
        form = QFormLayout()
        form.addRow("&New password", self.password)
        form.addRow("", self.errors["password"])
        form.addRow("New password &again", self.repeat)
        form.addRow("", self.errors["repeat"])
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(ok_text)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(460)
        self._watch({"password": self.password, "repeat": self.repeat})

    def accept(self) -> None:
        if not self.check(show_all=True):
            return
        try:
            self._save(self.password.text())
        except InvalidInput as exc:
            self.check(show_all=True, extra={"password": "\n".join(exc.lines())})
            return
        except CaselogError as exc:
            self.check(show_all=True, extra={"password": exc.message})
            return
        super().accept()


class RoleDialog(QDialog):
    """Another role for an account; the service refuses it for the last active administrator."""

    def __init__(self, account: Account, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Role of {account.username}")
        self.setStyleSheet(app_style_sheet(self.palette()))
        self.role = choice_box("Role", ((label, key) for key, label in ROLES.items()))
        self.role.setCurrentIndex(self.role.findData(account.role))
        text = QLabel(f"{account.full_name} ({account.username}) is {role_name(account.role)}. New role:")
        text.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Change role")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.role)
        layout.addWidget(buttons)

    def chosen(self) -> str:
        return str(self.role.currentData())
