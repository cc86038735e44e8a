"""Encryption at rest in the app: the first start encrypts the new database unless the user visibly opts out, an
encrypted database asks for its passphrase (a wrong one is said plainly and may be retried), and a plain file
keeps a standing warning above the cases."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from caselog.db import cipher
from caselog.db.schema import open_database
from ui import app as app_module
from ui.main_window import MainWindow
from ui.passphrase_dialog import NewDatabaseDialog, UnlockDialog
from ui.services import AppSettings
from ui.settings_dialog import SettingsDialog

PASSPHRASE = "lumbar fusion at dawn"
Person = Callable[[type[QDialog], Callable[..., None]], list[QDialog]]
Start = Callable[[Path], tuple[int, list[MainWindow]]]


@pytest.fixture(autouse=True)
def _nothing_told(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts and ends with no passphrase known to this process (none in the environment either,
    even when the suite runs on encrypted databases)."""
    monkeypatch.delenv(cipher.KEY_ENV, raising=False)
    cipher.forget()
    yield
    cipher.forget()


@pytest.fixture(autouse=True)
def no_keyring() -> Iterator[None]:
    """This computer's own keyring stays out of the tests: none, unless a test brings its own."""
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        yield
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring(no_keyring: None) -> dict[tuple[str, str], str]:
    """A system keyring that lives in this test only; what it keeps, by (service, user name)."""
    kept: dict[tuple[str, str], str] = {}

    # Defined here, not at import: keyring picks its default among every back-end class defined so far.
    class MemoryKeyring(KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def get_password(self, service: str, username: str) -> str | None:
            return kept.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            kept[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            kept.pop((service, username), None)

    keyring.set_keyring(MemoryKeyring())
    return kept


@pytest.fixture
def start_app(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Start]:
    """start_app(file): runs the app on `file` until its first page of cases is shown; the exit status and the
    main window it showed (none when it ended before). The windows are deleted afterwards."""
    shown: list[MainWindow] = []
    original_show = MainWindow.show

    def show(window: MainWindow) -> None:
        shown.append(window)
        # What the banner shows once the first page of cases is on screen (connected before the app's quit).
        window.model.loaded.connect(lambda: setattr(window, "warning_seen", window.storage_warning.isVisible()))
        original_show(window)

    monkeypatch.setattr(MainWindow, "show", show)
    monkeypatch.setattr(QMessageBox, "exec", lambda box: pytest.fail(f"unexpected message: {box.text()}"))
    monkeypatch.setenv("CASELOG_QUIT_WHEN_READY", "1")

    def start(path: Path) -> tuple[int, list[MainWindow]]:
        monkeypatch.setenv("CASELOG_DB", str(path))
        handlers = list(logging.getLogger().handlers)
        try:
            status = app_module.main([])
        finally:
            logging.getLogger().handlers = handlers
        return status, shown

    # Closing the app's last window outside its event loop would leave Qt's "quit now" set for the next test.
    quits = QApplication.quitOnLastWindowClosed()
    QApplication.setQuitOnLastWindowClosed(False)
    yield start
    for window in shown:
        window.close()
        window.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    QApplication.setQuitOnLastWindowClosed(quits)


@pytest.fixture
def encrypted_file(tmp_path: Path) -> Path:
    """A migrated, empty database encrypted with PASSPHRASE, which this process then forgets."""
    path = tmp_path / "locked.sqlite3"
    cipher.remember(path, PASSPHRASE)
    open_database(path).close()
    cipher.forget()
    return path


@pytest.fixture
def person(monkeypatch: pytest.MonkeyPatch, qtbot: QtBot) -> Person:
    """person(kind, by): a person at the keyboard answers every `kind` dialog: it is shown, `by(dialog)` types
    into it, and what it was closed with goes back to the code that opened it. Gives the dialogs seen."""

    def answer(kind: type[QDialog], by: Callable[..., None]) -> list[QDialog]:
        seen: list[QDialog] = []

        def exec_(dialog: QDialog) -> int:
            seen.append(dialog)
            dialog.show()
            qtbot.waitExposed(dialog)
            by(dialog)
            return dialog.result()

        monkeypatch.setattr(kind, "exec", exec_)
        return seen

    return answer


def tab(qtbot: QtBot, dialog: QDialog, to: QWidget) -> None:
    """Tab once, and check the focus went where a person expects."""
    current = dialog.focusWidget()
    assert current is not None
    qtbot.keyClick(current, Qt.Key.Key_Tab)
    assert dialog.focusWidget() is to, dialog.focusWidget()


def test_the_first_start_encrypts_the_new_database_and_can_keep_the_passphrase_in_the_keyring(
    start_app: Start,
    person: Person,
    qtbot: QtBot,
    tmp_path: Path,
    memory_keyring: dict[tuple[str, str], str],
) -> None:
    path = tmp_path / "clinic.sqlite3"
    said: list[str] = []

    def choose(dialog: NewDatabaseDialog) -> None:
        assert dialog.warning.isVisible() and "cannot be recovered" in dialog.warning.text()
        assert dialog.plain_button.isVisible() and dialog.keep.isEnabled()
        qtbot.keyClicks(dialog.passphrase, "too short")  # 9 characters
        tab(qtbot, dialog, dialog.repeat)
        qtbot.keyClicks(dialog.repeat, "too short")
        qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)
        said.append(dialog.problem.text())
        assert dialog.result() != QDialog.DialogCode.Accepted and not path.exists()
        dialog.passphrase.setFocus()
        qtbot.keyClicks(dialog.passphrase, PASSPHRASE)  # the field's text was selected: typing replaces it
        tab(qtbot, dialog, dialog.repeat)
        qtbot.keyClicks(dialog.repeat, PASSPHRASE + "!")
        qtbot.keyClick(dialog.repeat, Qt.Key.Key_Return)
        said.append(dialog.problem.text())
        qtbot.keyClicks(dialog.repeat, PASSPHRASE)
        tab(qtbot, dialog, dialog.keep)
        qtbot.keyClick(dialog.keep, Qt.Key.Key_Space)
        assert dialog.keep.isChecked()
        qtbot.keyClick(dialog.keep, Qt.Key.Key_Return)

    asked = person(NewDatabaseDialog, choose)
    status, windows = start_app(path)
    assert status == 0 and len(asked) == 1
    assert said == [
        f"The passphrase needs at least {cipher.MIN_PASSPHRASE} characters.",
        "The two passphrases differ; type the same one twice.",
    ]
    assert path.read_bytes()[:16] != cipher.SQLITE_HEADER and cipher.file_state(path) == "encrypted"
    assert memory_keyring == {(cipher.KEYRING_SERVICE, str(path.resolve())): PASSPHRASE}
    assert len(windows) == 1 and windows[0].warning_seen is False  # type: ignore[attr-defined]
    assert windows[0].services.db.encrypted
    cipher.forget()  # a later start: the keyring alone opens it, nobody is asked
    db = open_database(path)
    assert db.encrypted
    db.close()


def test_opting_out_creates_a_plain_database_and_the_warning_stays(
    start_app: Start,
    person: Person,
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    path = tmp_path / "plain.sqlite3"

    def opt_out(dialog: NewDatabaseDialog) -> None:
        assert not dialog.keep.isEnabled()  # no keyring on this computer: the box is there, but cannot be ticked
        tab(qtbot, dialog, dialog.repeat)
        tab(qtbot, dialog, dialog.encrypt_button)
        tab(qtbot, dialog, dialog.plain_button)
        qtbot.keyClick(dialog.plain_button, Qt.Key.Key_Return)

    person(NewDatabaseDialog, opt_out)
    status, windows = start_app(path)
    assert status == 0
    assert path.read_bytes()[:16] == cipher.SQLITE_HEADER
    (window,) = windows
    assert window.warning_seen  # type: ignore[attr-defined]
    assert "not encrypted" in window.storage_warning.text() and "caselog encrypt" in window.storage_warning.text()


def test_a_wrong_passphrase_is_said_plainly_and_the_right_one_opens(
    start_app: Start, person: Person, qtbot: QtBot, encrypted_file: Path
) -> None:
    said: list[str] = []

    def type_it(dialog: UnlockDialog) -> None:
        qtbot.keyClicks(dialog.passphrase, "lumbar fusion at dusk")
        qtbot.keyClick(dialog.passphrase, Qt.Key.Key_Return)
        said.append(dialog.problem.text())
        assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted
        qtbot.keyClicks(dialog.passphrase, PASSPHRASE)
        qtbot.keyClick(dialog.passphrase, Qt.Key.Key_Return)

    person(UnlockDialog, type_it)
    status, windows = start_app(encrypted_file)
    assert status == 0
    (problem,) = said
    assert problem.startswith("The passphrase does not open locked.sqlite3")
    assert "damaged" not in problem and "corrupt" not in problem
    (window,) = windows
    assert window.services.db.encrypted and window.warning_seen is False  # type: ignore[attr-defined]


def test_quitting_at_the_passphrase_ends_the_app_cleanly(
    start_app: Start, person: Person, qtbot: QtBot, encrypted_file: Path
) -> None:
    before = encrypted_file.read_bytes()
    person(UnlockDialog, lambda d: qtbot.keyClick(d.passphrase, Qt.Key.Key_Escape))
    status, windows = start_app(encrypted_file)
    assert status == 0 and windows == []
    assert encrypted_file.read_bytes() == before


def test_a_stale_passphrase_from_the_environment_asks_again(
    start_app: Start, person: Person, qtbot: QtBot, encrypted_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CASELOG_DB_KEY set to an old passphrase: the app asks instead of calling the file unreadable."""
    monkeypatch.setenv(cipher.KEY_ENV, "an older passphrase")

    def type_it(dialog: UnlockDialog) -> None:
        qtbot.keyClicks(dialog.passphrase, PASSPHRASE)
        qtbot.keyClick(dialog.passphrase, Qt.Key.Key_Return)

    asked = person(UnlockDialog, type_it)
    status, windows = start_app(encrypted_file)
    assert status == 0 and len(asked) == 1 and len(windows) == 1


def test_the_settings_dialog_asks_for_the_passphrase_of_an_encrypted_file_it_is_given(
    monkeypatch: pytest.MonkeyPatch, person: Person, qtbot: QtBot, tmp_path: Path, encrypted_file: Path
) -> None:
    settings = AppSettings(path=tmp_path / "settings.json")
    monkeypatch.setattr("ui.settings_dialog.QMessageBox.information", lambda *a, **k: None)
    typed = iter(["not the passphrase", PASSPHRASE])

    def type_it(dialog: UnlockDialog) -> None:
        assert dialog.cancel_button.text() == "Cancel"
        qtbot.keyClicks(dialog.passphrase, next(typed))
        qtbot.keyClick(dialog.passphrase, Qt.Key.Key_Return)
        if dialog.result() != QDialog.DialogCode.Accepted:
            qtbot.keyClick(dialog.passphrase, Qt.Key.Key_Escape)

    asked = person(UnlockDialog, type_it)
    dialog = SettingsDialog(settings, surgeons=[])
    qtbot.addWidget(dialog)
    dialog.file_path.setText(str(encrypted_file))
    dialog.accept()
    assert "passphrase" in dialog.problem.text() and "nothing was saved" in dialog.problem.text()
    assert settings.value.database == "" and cipher.told(encrypted_file) is None
    dialog.accept()
    assert len(asked) == 2 and settings.value.database == str(encrypted_file)
    assert cipher.told(encrypted_file) == PASSPHRASE  # the restart opens it without asking again in this session
