"""The installed app's first start: a short set-up on a computer CaseLog never ran on, driven from the keyboard.

Where the cases are kept (CaseLog's data folder, a chosen file, the clinic's server) and who uses CaseLog (one
person, or accounts), then the dialogs that already exist: the new file's passphrase, the server's fields, the
first administrator. Shown only with no settings file, no database and no CASELOG_DB; quitting writes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from caselog import paths
from caselog.accounts import AccountService, Actor, accounts_exist
from caselog.db import cipher
from caselog.db.schema import open_database
from caselog.settings import load_settings, settings_path
from ui import app as app_module
from ui import first_start
from ui.accounts_dialogs import AccountDialog, SignInDialog
from ui.first_start import FirstStartDialog
from ui.main_window import MainWindow
from ui.passphrase_dialog import NewDatabaseDialog
from ui.settings_dialog import SettingsDialog

PASSPHRASE = "first light over the clinic"
ADMIN_PASSWORD = "a long admin password 42"
Typing = Callable[[QDialog], None]


@pytest.fixture(autouse=True)
def fresh_computer(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No database named in the environment, no passphrase known, no system keyring: a new computer."""
    monkeypatch.delenv("CASELOG_DB", raising=False)
    monkeypatch.delenv(cipher.KEY_ENV, raising=False)
    cipher.forget()
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)
    cipher.forget()


class Desk:
    """The person at the keyboard: answers each kind of dialog the app opens, and starts the app."""

    def __init__(self, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
        self.qtbot = qtbot
        self.monkeypatch = monkeypatch
        self.seen: list[QDialog] = []
        self.windows: list[MainWindow] = []

    def answers(self, kind: type[QDialog], typing: Typing) -> None:
        def exec_(dialog: QDialog) -> int:
            self.seen.append(dialog)
            dialog.show()
            self.qtbot.waitExposed(dialog)
            dialog.activateWindow()
            self.qtbot.waitUntil(dialog.isActiveWindow)  # its Alt+letter keys work only once it is active
            typing(dialog)
            self.qtbot.waitUntil(lambda: not dialog.isVisible())  # a button's Alt+letter clicks it a moment later
            return dialog.result()

        self.monkeypatch.setattr(kind, "exec", exec_)

    def start(self) -> int:
        """The app until its first page of cases is on screen; its exit status."""
        original_show = MainWindow.show

        def show(window: MainWindow) -> None:
            self.windows.append(window)
            original_show(window)
            if window.admin_view is not None and window.admin_view.isVisible():
                QTimer.singleShot(0, QApplication.quit)  # an administrator sees accounts, not a page of cases

        self.monkeypatch.setattr(MainWindow, "show", show)
        self.monkeypatch.setattr(QMessageBox, "exec", lambda box: pytest.fail(f"unexpected message: {box.text()}"))
        self.monkeypatch.setenv("CASELOG_QUIT_WHEN_READY", "1")
        handlers = list(logging.getLogger().handlers)
        try:
            return app_module.main([])
        finally:
            logging.getLogger().handlers = handlers

    def kinds(self) -> list[str]:
        return [type(d).__name__ for d in self.seen]


@pytest.fixture
def desk(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> Iterator[Desk]:
    quits = QApplication.quitOnLastWindowClosed()
    QApplication.setQuitOnLastWindowClosed(False)  # the test closes the windows outside the app's event loop
    at = Desk(qtbot, monkeypatch)
    yield at
    for window in at.windows:
        window.services.tasks.wait()
        window.close()
        window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    QApplication.setQuitOnLastWindowClosed(quits)


def alt(qtbot: QtBot, dialog: QWidget, key: Qt.Key) -> None:
    """A mnemonic (the underlined letter), as pressed with Alt; the button it clicks is clicked a moment later."""
    qtbot.keyClick(dialog.focusWidget() or dialog, key, Qt.KeyboardModifier.AltModifier)
    qtbot.wait(300)


def encrypt_with_passphrase(qtbot: QtBot) -> Typing:
    def typing(dialog: QDialog) -> None:
        assert isinstance(dialog, NewDatabaseDialog)
        qtbot.keyClicks(dialog.passphrase, PASSPHRASE)
        qtbot.keyClick(dialog.passphrase, Qt.Key.Key_Tab)
        qtbot.keyClicks(dialog.repeat, PASSPHRASE)
        qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)

    return typing


def test_shown_only_on_a_computer_caselog_never_ran_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert first_start.needed()
    monkeypatch.setenv("CASELOG_DB", str(tmp_path / "named.sqlite3"))
    assert not first_start.needed()  # IT named the database: no questions
    monkeypatch.delenv("CASELOG_DB")
    paths.data_dir().mkdir(parents=True, exist_ok=True)
    settings_path().write_text("{}", encoding="utf-8")
    assert not first_start.needed()  # set up before (even if its database is elsewhere or gone)
    settings_path().unlink()
    open_database(paths.default_database()).close()
    assert not first_start.needed()  # a database made by `caselog init`


def test_the_defaults_from_the_keyboard_make_an_encrypted_database_in_the_data_folder(desk: Desk, qtbot: QtBot) -> None:
    """Return on the first page (data folder, just me), the reused passphrase dialog, then the cases."""
    shown: list[str] = []

    def welcome(dialog: QDialog) -> None:
        assert isinstance(dialog, FirstStartDialog)
        assert dialog.focusWidget() is dialog.in_data_folder and dialog.in_data_folder.isChecked()
        assert dialog.single_user.isChecked() and str(paths.default_database()) in _texts(dialog)
        shown.append(dialog.next_step.text())
        dialog.grab().save(str(paths.data_dir().parent / "first-start.png"))
        qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Return)

    desk.answers(FirstStartDialog, welcome)
    desk.answers(NewDatabaseDialog, encrypt_with_passphrase(qtbot))
    assert desk.start() == 0
    assert desk.kinds() == ["FirstStartDialog", "NewDatabaseDialog"] and len(desk.windows) == 1
    assert shown[0].startswith("Next: choose the passphrase")
    assert cipher.file_state(paths.default_database()) == "encrypted"
    assert json.loads(settings_path().read_text(encoding="utf-8"))["database"] == ""
    assert desk.windows[0].services.actor is None and not accounts_exist(desk.windows[0].services.db)
    assert not first_start.needed()  # the next start goes straight to the database


def test_accounts_chosen_at_the_first_start_create_the_administrator_signed_in(desk: Desk, qtbot: QtBot) -> None:
    def welcome(dialog: QDialog) -> None:
        assert isinstance(dialog, FirstStartDialog)
        alt(qtbot, dialog, Qt.Key.Key_A)  # Several people, each with an &account
        assert dialog.with_accounts.isChecked()
        assert dialog.next_step.text().endswith(first_start.NEXT_ACCOUNTS)
        alt(qtbot, dialog, Qt.Key.Key_C)  # &Continue

    def no_encryption(dialog: QDialog) -> None:
        assert isinstance(dialog, NewDatabaseDialog)
        alt(qtbot, dialog, Qt.Key.Key_D)  # &Do not encrypt: a visible choice

    def administrator(dialog: QDialog) -> None:
        assert isinstance(dialog, AccountDialog) and not dialog.role.isEnabled()
        for text in ("boss", "Bea Boss", ADMIN_PASSWORD, ADMIN_PASSWORD):
            qtbot.keyClicks(dialog.focusWidget(), text)
            qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Tab)
            if dialog.focusWidget() is dialog.role:
                qtbot.keyClick(dialog.role, Qt.Key.Key_Tab)
        qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Return)

    desk.answers(FirstStartDialog, welcome)
    desk.answers(NewDatabaseDialog, no_encryption)
    desk.answers(AccountDialog, administrator)
    desk.answers(SignInDialog, lambda d: pytest.fail("the administrator was just created: no sign-in"))
    assert desk.start() == 0
    assert desk.kinds() == ["FirstStartDialog", "NewDatabaseDialog", "AccountDialog"]
    services = desk.windows[0].services
    assert services.actor == Actor("boss", "Bea Boss", "admin")
    assert [(a.username, a.role) for a in AccountService(services.db, services.actor).list_accounts()] == [
        ("boss", "admin")
    ]


def test_a_chosen_file_is_checked_then_created_there(desk: Desk, qtbot: QtBot, tmp_path: Path) -> None:
    target = tmp_path / "clinic" / "cases.sqlite3"
    said: list[str] = []

    def welcome(dialog: QDialog) -> None:
        assert isinstance(dialog, FirstStartDialog)
        assert not dialog.file_path.isEnabled()
        alt(qtbot, dialog, Qt.Key.Key_F)  # in a &file I choose
        qtbot.keyClick(dialog.in_file, Qt.Key.Key_Tab)
        assert dialog.focusWidget() is dialog.file_path
        qtbot.keyClicks(dialog.file_path, str(target))
        qtbot.keyClick(dialog.file_path, Qt.Key.Key_Return)
        said.append(dialog.problem.text())  # its folder does not exist yet
        target.parent.mkdir()
        qtbot.keyClick(dialog.file_path, Qt.Key.Key_Return)

    desk.answers(FirstStartDialog, welcome)
    desk.answers(NewDatabaseDialog, encrypt_with_passphrase(qtbot))
    assert desk.start() == 0
    assert said == [f"The folder {target.parent} does not exist."]
    assert cipher.file_state(target) == "encrypted" and not paths.default_database().exists()
    assert load_settings().database == str(target)
    assert desk.windows[0].services.db.sqlite_path == target


def test_the_server_choice_opens_the_settings_server_fields_and_cancel_comes_back(desk: Desk, qtbot: QtBot) -> None:
    """The clinic's server: the settings dialog's own server fields (reused); cancelling them goes back to the
    choices, and Quit there leaves nothing behind."""
    forms: list[bool] = []

    def server_fields(dialog: QDialog) -> None:
        assert isinstance(dialog, SettingsDialog)
        forms.append(dialog.use_server.isChecked() and dialog.server_form.isEnabled())
        qtbot.keyClick(dialog.focusWidget() or dialog, Qt.Key.Key_Escape)

    def welcome(dialog: QDialog) -> None:
        assert isinstance(dialog, FirstStartDialog)
        alt(qtbot, dialog, Qt.Key.Key_S)  # PostgreSQL &server
        assert dialog.next_step.text().startswith("Next: the server's address")
        qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Return)
        assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
        qtbot.keyClick(dialog.focusWidget(), Qt.Key.Key_Escape)

    desk.answers(FirstStartDialog, welcome)
    desk.answers(SettingsDialog, server_fields)
    assert desk.start() == 0
    assert forms == [True] and desk.windows == []
    assert not settings_path().exists() and not paths.default_database().exists()


def test_quit_at_the_first_question_writes_nothing(desk: Desk, qtbot: QtBot) -> None:
    desk.answers(FirstStartDialog, lambda d: alt(qtbot, d, Qt.Key.Key_Q))
    assert desk.start() == 0
    assert desk.kinds() == ["FirstStartDialog"] and desk.windows == []
    assert not settings_path().exists() and not paths.default_database().exists()
    assert first_start.needed()  # asked again next time


def _texts(widget: QWidget) -> str:
    from PySide6.QtWidgets import QLabel

    return "\n".join(label.text() for label in widget.findChildren(QLabel))
