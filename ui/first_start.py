"""The installed app's first start on a computer: where the cases are kept and who uses CaseLog, on one page.

Shown only when there is no settings file, no database in the default place and no CASELOG_DB: a computer
CaseLog never ran on. What follows reuses the dialogs that already exist, nothing is asked twice: the new file's
passphrase (ui.passphrase_dialog, asked by ui.app when it opens the file), the clinic's server
(ui.settings_dialog's server fields), the first administrator (ui.accounts_dialogs, once the database exists).
Every choice can be changed later in Settings or Account → Protect with accounts. Quitting here writes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from caselog import paths
from caselog.accounts import Actor
from caselog.db import cipher
from caselog.settings import settings_path
from ui.accounts_dialogs import AccountDialog, error_label
from ui.services import AppSettings, Services
from ui.style import app_style_sheet

NEXT_FILE = (
    "Next: choose the passphrase that encrypts the database file. Without it nobody can read the cases, "
    "on a stolen laptop or a lost backup alike."
)
NEXT_SERVER = (
    "Next: the server's address, the database's name, your user name and password, and how the connection is "
    "encrypted (TLS). The clinic's IT has them."
)
NEXT_ACCOUNTS = " Then: the administrator's account, who adds an account for each person."


def needed() -> bool:
    """A computer CaseLog never ran on: no settings file, no database in the default place, no CASELOG_DB."""
    if os.environ.get("CASELOG_DB"):
        return False
    return not settings_path().exists() and cipher.file_state(paths.default_database()) == "new"


def _radio(text: str, name: str, group: QButtonGroup) -> QRadioButton:
    button = QRadioButton(text)
    button.setAccessibleName(name)
    group.addButton(button)
    return button


def _hint(text: str, *, under_choice: bool = True) -> QLabel:
    """Grey text; under a choice it is indented to line up with the choice's words."""
    label = QLabel(text)
    label.setObjectName("hint")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if under_choice:
        label.setContentsMargins(24, 0, 0, 4)
    return label


class FirstStartDialog(QDialog):
    """Where the cases are kept (the data folder, a file, the clinic's server) and who uses CaseLog (one person,
    or accounts). Continue saves the choice of place (the settings file); `accounts` tells ui.app to ask for the
    first administrator once the database is open."""

    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settings = settings
        self.accounts = False
        self.setWindowTitle("Welcome to CaseLog")
        self.setStyleSheet(app_style_sheet(self.palette()))
        heading = QLabel("Welcome to CaseLog")
        heading.setObjectName("greetingTitle")
        heading.setStyleSheet("font-size: 14pt;")
        intro = QLabel(
            "Two choices and CaseLog is ready for the first case. Both can be changed later (File → Settings, "
            "Account → Protect with accounts)."
        )
        intro.setWordWrap(True)

        places = QButtonGroup(self)
        self.in_data_folder = _radio("On this computer, in CaseLog's &data folder (recommended)",
                                     "Database in CaseLog's data folder", places)  # fmt: skip
        self.in_file = _radio("On this computer, in a &file I choose", "Database in a file I choose", places)
        self.on_server = _radio("On the clinic's PostgreSQL &server, shared by the clinic's computers",
                                "Database on the clinic's PostgreSQL server", places)  # fmt: skip
        self.file_path = QLineEdit()
        self.file_path.setAccessibleName("Database file")
        self.file_path.setPlaceholderText("e.g. /srv/clinic/caselog.sqlite3")
        self.choose_button = QPushButton("C&hoose…")
        self.choose_button.setAccessibleName("Choose the database file")
        self.choose_button.clicked.connect(self._choose_file)
        file_row = QHBoxLayout()
        file_row.setContentsMargins(24, 0, 0, 0)
        file_row.addWidget(self.file_path, 1)
        file_row.addWidget(self.choose_button)
        where = QGroupBox("Where the cases are kept")
        wl = QVBoxLayout(where)
        wl.addWidget(self.in_data_folder)
        wl.addWidget(_hint(f"{paths.default_database()}: only your user account on this computer can open it."))
        wl.addWidget(self.in_file)
        wl.addLayout(file_row)
        wl.addWidget(self.on_server)

        people = QButtonGroup(self)
        self.single_user = _radio("&Just me: nobody signs in", "Single user: nobody signs in", people)
        self.with_accounts = _radio("Several people, each with an &account and a role",
                                    "Several people with accounts", people)  # fmt: skip
        who = QGroupBox("Who uses CaseLog here")
        pl = QVBoxLayout(who)
        pl.addWidget(self.single_user)
        pl.addWidget(_hint("Fine for one surgeon's own laptop. Every change is still recorded in the audit trail."))
        pl.addWidget(self.with_accounts)
        pl.addWidget(
            _hint(
                "Everyone signs in; surgeons sign their cases, coordinators print, quality staff review. You "
                "create the administrator's account first."
            )
        )

        self.next_step = _hint("", under_choice=False)
        self.next_step.setObjectName("")
        self.problem = error_label()
        self.continue_button = QPushButton("&Continue")
        self.continue_button.setDefault(True)
        self.continue_button.clicked.connect(self.accept)
        self.quit_button = QPushButton("&Quit")
        self.quit_button.setAutoDefault(False)
        self.quit_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.quit_button)
        buttons.addWidget(self.continue_button)

        layout = QVBoxLayout(self)
        for widget in (heading, intro, where, who, self.next_step, self.problem):
            layout.addWidget(widget)
        layout.addLayout(buttons)
        self.in_data_folder.setChecked(True)
        self.single_user.setChecked(True)
        for button in (self.in_data_folder, self.in_file, self.on_server, self.single_user, self.with_accounts):
            button.toggled.connect(self._sync)
        self._sync()
        self.setMinimumWidth(620)
        self.in_data_folder.setFocus()

    def _sync(self) -> None:
        self.file_path.setEnabled(self.in_file.isChecked())
        self.choose_button.setEnabled(self.in_file.isChecked())
        following = NEXT_SERVER if self.on_server.isChecked() else NEXT_FILE
        self.next_step.setText(following + (NEXT_ACCOUNTS if self.with_accounts.isChecked() else ""))
        self.problem.hide()

    def _choose_file(self) -> None:
        from ui.settings_dialog import choose_database_file

        choose_database_file(self, self.file_path)

    def _say(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.show()
        self.file_path.setFocus()

    def accept(self) -> None:
        """Check the place; for the server, the settings form's server fields (checked and saved there)."""
        if self.in_file.isChecked():
            text = self.file_path.text().strip()
            if not text:
                return self._say("Give the database file's name, or choose CaseLog's data folder.")
            file = Path(text).expanduser()
            if file.is_dir():
                return self._say(f"{file} is a folder: give the database file's name inside it.")
            if not file.parent.is_dir():
                return self._say(f"The folder {file.parent} does not exist.")
            self._settings.update(database=str(file))
        elif self.on_server.isChecked():
            from ui.settings_dialog import SettingsDialog

            server = SettingsDialog(self._settings, surgeons=[], parent=self)
            server.setWindowTitle("CaseLog: the clinic's server")
            server.use_server.setChecked(True)
            server.pg_host.setFocus()
            if server.exec() != QDialog.DialogCode.Accepted:
                return None  # back to the choices; nothing was saved
        else:
            self._settings.update(database="")
        self.accounts = self.with_accounts.isChecked()
        super().accept()


def ask_first_administrator(services: Services, parent: QWidget | None = None) -> Actor | None:
    """The accounts chosen at the first start: the administrator's account (the dialog File → Protect with
    accounts shows), signed in. None when the user cancels: CaseLog stays single-user until protected."""
    from caselog.accounts import accounts_exist

    if accounts_exist(services.db):
        return None
    dialog = AccountDialog(services.accounts(), first=True, parent=parent)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return dialog.actor
