"""The passphrase of an encrypted database: asked for when the file is opened, chosen when it is created.

A wrong passphrase is said plainly (never "the database is damaged": without it the file cannot be read at all)
and may be retried. Choosing one comes with a warning, before it is set, that a lost passphrase loses the cases:
nobody can recover them. Not encrypting is a visible choice, never a silent default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from caselog.db import cipher
from caselog.errors import InvalidInput, StorageError
from ui.accounts_dialogs import error_label
from ui.style import app_style_sheet, colours

KEYRING_TEXT = "Remember on this computer (system keyring)"
NO_KEYRING_TIP = "This computer has no system keyring: the passphrase will be asked for at each start."
LOST_WARNING = (
    "If the passphrase is lost, the cases in this database cannot be recovered: not by you, not by the "
    "clinic's IT, not by CaseLog's makers. Write it down and keep it somewhere safe, away from this computer."
)
WHY_NOT = (
    "Only for a test database, or on a computer whose whole disk is already encrypted: anyone who gets hold "
    "of a plain file (a stolen laptop, a lost backup stick) can read every patient in it."
)


def _passphrase_field(name: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setAccessibleName(name)
    edit.setMinimumWidth(320)
    return edit


def _keyring_box() -> QCheckBox:
    box = QCheckBox(KEYRING_TEXT)
    box.setAccessibleName(KEYRING_TEXT)
    usable = cipher.keyring_usable()
    box.setEnabled(usable)
    box.setToolTip(
        "Your user account opens the database without typing the passphrase. Anyone signed in as you can too."
        if usable
        else NO_KEYRING_TIP
    )
    return box


def _column(owner: QWidget, *parts: QWidget | QLayout) -> None:
    """Lay `parts` out top to bottom in `owner`."""
    layout = QVBoxLayout(owner)
    for part in parts:
        if isinstance(part, QLayout):
            layout.addLayout(part)
        else:
            layout.addWidget(part)


def _buttons(*buttons: QPushButton | None) -> QHBoxLayout:
    """A row of buttons; None is the stretch between the left and the right ones."""
    row = QHBoxLayout()
    for button in buttons:
        if button is None:
            row.addStretch(1)
        else:
            row.addWidget(button)
    return row


def _keep(parent: QWidget, path: Path, passphrase: str) -> None:
    """Into the keyring; when it refuses, the database still opens and the user is told it will be asked again."""
    try:
        cipher.keep_in_keyring(path, passphrase)
    except StorageError as exc:
        QMessageBox.warning(parent, "CaseLog: system keyring", exc.message)


class _PassphraseDialog(QDialog):
    def __init__(self, path: Path, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.path = path
        self.setWindowTitle(title)
        self.setStyleSheet(app_style_sheet(self.palette()))
        self.keep = _keyring_box()
        self.problem = error_label()

    def _say(self, text: str, field: QLineEdit) -> None:
        self.problem.setText(text)
        self.problem.setVisible(bool(text))
        field.selectAll()
        field.setFocus()


class UnlockDialog(_PassphraseDialog):
    """Asks for the passphrase of an encrypted database file; OK only once the passphrase opens it."""

    def __init__(self, path: Path, *, cancel_text: str = "Quit", parent: QWidget | None = None) -> None:
        super().__init__(path, "CaseLog: encrypted database", parent)
        intro = QLabel(f"The database {path} is encrypted.\nEnter its passphrase to open it.")
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.passphrase = _passphrase_field("Passphrase")
        self.open_button = QPushButton("Open")
        self.open_button.setDefault(True)
        self.open_button.clicked.connect(self.accept)
        self.cancel_button = QPushButton(cancel_text)
        self.cancel_button.setAutoDefault(False)
        self.cancel_button.clicked.connect(self.reject)
        form = QFormLayout()
        form.addRow("Passphrase", self.passphrase)
        form.addRow("", self.keep)
        _column(self, intro, form, self.problem, _buttons(None, self.cancel_button, self.open_button))
        self.passphrase.setFocus()

    def accept(self) -> None:
        passphrase = self.passphrase.text()
        if not passphrase:
            return self._say("Enter the passphrase.", self.passphrase)
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)  # SQLCipher's key derivation: a moment
        try:
            opened = cipher.opens(self.path, passphrase)
        except (*cipher.SQLITE_ERRORS, OSError) as exc:  # type: ignore[misc]  # a tuple of exception classes
            return self._say(f"{self.path} could not be read: {exc}", self.passphrase)
        finally:
            QGuiApplication.restoreOverrideCursor()
        if not opened:
            return self._say(
                f"The passphrase does not open {self.path.name}. Check it (Caps Lock, keyboard layout) and try again.",
                self.passphrase,
            )
        cipher.remember(self.path, passphrase)
        if self.keep.isChecked():
            _keep(self, self.path, passphrase)
        super().accept()


class NewDatabaseDialog(_PassphraseDialog):
    """First start: choose the new database's passphrase, or (visibly) not to encrypt it.

    `choice` says what was chosen: "encrypted" (the passphrase is remembered for this process, so the engine
    creates the file encrypted), "plain", or None (Quit).
    """

    def __init__(self, path: Path, *, parent: QWidget | None = None) -> None:
        super().__init__(path, "CaseLog: protect the new database", parent)
        self.choice: Literal["encrypted", "plain"] | None = None
        c = colours(self.palette())
        heading = QLabel("Encrypt the new database")
        heading.setObjectName("greetingTitle")
        heading.setStyleSheet("font-size: 14pt;")
        intro = QLabel(
            f"CaseLog is creating its database at {path}.\nIt will hold patients' names, MRNs, birth dates and "
            "procedures. Encrypted with a passphrase, the file and its backups cannot be read without it, on a "
            "stolen laptop or a lost backup stick alike."
        )
        intro.setWordWrap(True)
        self.warning = QLabel(LOST_WARNING)
        self.warning.setObjectName("lostPassphraseWarning")
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet(
            f"QLabel {{ color: {c.warning}; font-weight: 600; border: 1px solid {c.warning}; padding: 6px; }}"
        )
        self.passphrase = _passphrase_field("Passphrase")
        self.repeat = _passphrase_field("Repeat the passphrase")
        rule = QLabel(
            f"At least {cipher.MIN_PASSPHRASE} characters; a few unrelated words are easy to type and hard to guess."
        )
        rule.setObjectName("hint")
        rule.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Passphrase", self.passphrase)
        form.addRow("Repeat", self.repeat)
        form.addRow("", rule)
        form.addRow("", self.keep)
        self.encrypt_button = QPushButton("Encrypt and create")
        self.encrypt_button.setDefault(True)
        self.encrypt_button.clicked.connect(self.accept)
        self.plain_button = QPushButton("&Do not encrypt")
        self.plain_button.setAccessibleName("Do not encrypt")
        self.plain_button.clicked.connect(self.create_plain)
        self.quit_button = QPushButton("Quit")
        self.quit_button.clicked.connect(self.reject)
        why_not = QLabel(WHY_NOT)
        why_not.setObjectName("hint")
        why_not.setWordWrap(True)
        row = _buttons(self.plain_button, None, self.quit_button, self.encrypt_button)
        _column(self, heading, intro, self.warning, form, self.problem, why_not, row)
        for first, second in (
            (self.passphrase, self.repeat),
            (self.repeat, self.keep),
            (self.keep, self.encrypt_button),
            (self.encrypt_button, self.plain_button),
            (self.plain_button, self.quit_button),
        ):
            QWidget.setTabOrder(first, second)
        self.setMinimumWidth(560)
        self.passphrase.setFocus()

    def accept(self) -> None:
        passphrase = self.passphrase.text()
        try:
            cipher.check_new_passphrase(passphrase)  # the core's rule, the same as `caselog init` and `rekey`
        except InvalidInput as exc:
            return self._say("; ".join(f"The passphrase {p.message}." for p in exc.problems), self.passphrase)
        if self.repeat.text() != passphrase:
            return self._say("The two passphrases differ; type the same one twice.", self.repeat)
        cipher.remember(self.path, passphrase)
        if self.keep.isChecked():
            _keep(self, self.path, passphrase)
        self.choice = "encrypted"
        super().accept()

    def create_plain(self) -> None:
        self.choice = "plain"
        super().accept()
