"""Keys mean one thing in every window, Lock works from each of them, the Help menu tells the keys and the
licences, and a locked or signed-out CaseLog offers nothing but signing in, Help and About."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton, QApplication, QFileDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from caselog import drafts
from caselog.db.schema import current_revision
from tests.ui.test_accounts_ui import PASSWORD, accounts_db, sign_in_at, signed_in  # noqa: F401  (fixtures)
from ui import help_dialogs, shortcuts
from ui.desks.quality_desk import QualityDesk
from ui.main_window import MainWindow


def keys_in(widget: QWidget) -> list[tuple[str, str]]:
    """(key, meaning) of every shortcut a window holds: actions, QShortcuts and buttons with a key of their own."""
    found: list[tuple[str, str]] = []
    items: list[Any] = [*widget.actions(), *widget.findChildren(QAction), *widget.findChildren(QShortcut)]
    for item in dict.fromkeys(items):
        keys = item.shortcuts() if isinstance(item, QAction) else [item.key()]
        found += [(k.toString(), shortcuts.meaning_of(item)) for k in keys if not k.isEmpty()]
    for button in widget.findChildren(QAbstractButton):
        key = button.shortcut()
        if not key.isEmpty() and key != QKeySequence.mnemonic(button.text()):  # Alt+letter labels are per window
            found.append((key.toString(), shortcuts.meaning_of(button)))
    return found


def open_every_window(window: MainWindow, qtbot: QtBot) -> list[QWidget]:
    for action in window.desk_actions:
        action.trigger()
    form = window.new_action.isVisible() and window.new_case()
    desks = [w for w in QApplication.topLevelWidgets() if w.isVisible() and window in (w, w.parentWidget())]
    qtbot.waitUntil(lambda: not window.services.tasks.busy, timeout=20000)
    assert window in desks and len(desks) >= 4 + bool(form)
    return desks


def test_no_key_has_two_meanings_in_any_window(window: MainWindow, qtbot: QtBot) -> None:
    meanings: dict[str, set[str]] = {}
    windows = open_every_window(window, qtbot)
    for w in windows:
        for key, meaning in keys_in(w):
            meanings.setdefault(key, set()).add(meaning)
    clashes = {key: sorted(m) for key, m in meanings.items() if len(m) > 1}
    assert clashes == {}
    assert meanings["Ctrl+L"] == {"lock"}
    for w in windows:  # Lock is reachable in each window, from the same action
        assert ("Ctrl+L", "lock") in keys_in(w), w.windowTitle()


def test_ctrl_l_in_the_quality_desk_locks_every_window(
    signed_in: Callable[[str], MainWindow],  # noqa: F811
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked_for_file: list[object] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: asked_for_file.append(a) or ("", ""))
    window = signed_in("qual")
    window.desk_actions[1].trigger()
    desk = next(w for w in window.findChildren(QualityDesk))
    qtbot.waitUntil(lambda: desk.model.rowCount() > 0, timeout=10000)
    desk.table.selectRow(0)
    assert desk.panel.entry is not None
    desk.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is desk, timeout=5000)
    qtbot.keyClick(desk.table, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert asked_for_file == []
    assert window.session.locked and not desk.isVisible()
    assert window.session.lock_screen.isVisible()
    sign_in_at(window.session.lock_screen.form, qtbot, "", PASSWORD)  # the same person: the desk comes back
    assert not window.session.locked and desk.isVisible()

    window.lock_action.trigger()
    assert not desk.isVisible()
    sign_in_at(window.session.lock_screen.form, qtbot, "hlind")  # someone else takes over
    assert window.services.actor is not None and window.services.actor.username == "hlind"
    qtbot.waitUntil(lambda: not window.findChildren(QualityDesk), timeout=5000)


def test_drafts_parked_at_the_lock_screen_come_back_when_their_owner_signs_in(
    signed_in: Callable[[str], MainWindow],  # noqa: F811
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = signed_in("hlind")
    form = window.new_case()
    assert form is not None
    qtbot.keyClicks(form.fields.mrn, "PARK-1")
    form.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is form, timeout=5000)
    qtbot.keyClick(form.fields.mrn, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)  # Lock, from the form
    assert window.session.locked and not form.isVisible()
    sign_in_at(window.session.lock_screen.form, qtbot, "coord")
    assert window.form is None and len(drafts.pending_drafts("hlind")) == 1
    offered: list[str] = []

    def restore(box: QMessageBox) -> None:
        offered.append(box.text())
        box.defaultButton().click()

    monkeypatch.setattr("ui.main_window.QMessageBox.exec", restore)
    window.lock_action.trigger()
    sign_in_at(window.session.lock_screen.form, qtbot, "hlind")
    qtbot.waitUntil(lambda: window.form is not None, timeout=5000)
    assert len(offered) == 1 and "a new case" in offered[0]
    assert window.form is not None and window.form.fields.mrn.text() == "PARK-1"


def visible_menus(window: MainWindow) -> list[str]:
    return [a.text() for a in window.menuBar().actions() if a.isVisible()]


@pytest.mark.parametrize("how", ["sign_out", "lock"])
def test_locked_or_signed_out_offers_sign_in_help_and_about_only(
    signed_in: Callable[[str], MainWindow],  # noqa: F811
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    how: str,
) -> None:
    window = signed_in("hlind")
    opened: list[object] = []
    monkeypatch.setattr("ui.main_window.SettingsDialog.exec", lambda d: opened.append(d))
    (window.sign_out_action if how == "sign_out" else window.lock_action).trigger()
    assert visible_menus(window) == ["&File", "&Help"]
    assert [a for a in window.file_menu.actions() if a.isVisible()] == [window.quit_action]
    assert window.shortcuts_action.isEnabled() and window.about_action.isEnabled()
    enabled = {a for a in window.findChildren(QAction) if a.isEnabled()}
    menus = {window.file_menu.menuAction(), window.help_menu.menuAction()}
    assert enabled == {window.quit_action, window.shortcuts_action, window.about_action, *menus}
    qtbot.keyClick(window.session.lock_screen, Qt.Key.Key_Comma, Qt.KeyboardModifier.ControlModifier)
    assert opened == []

    sign_in_at(window.session.lock_screen.form, qtbot, "" if how == "lock" else "hlind")
    assert "&Case" in visible_menus(window) and window.settings_action.isEnabled()


def test_only_an_administrator_may_change_the_database_in_settings(
    signed_in: Callable[[str], MainWindow],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[bool] = []
    monkeypatch.setattr("ui.main_window.SettingsDialog.exec", lambda d: asked.append(d.may_change_database))
    signed_in("hlind").settings_action.trigger()
    signed_in("admin").settings_action.trigger()
    assert asked == [False, True]


def test_keyboard_shortcuts_are_listed_from_the_actions(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[help_dialogs.ShortcutsDialog] = []
    monkeypatch.setattr(help_dialogs.ShortcutsDialog, "exec", lambda d: shown.append(d))
    qtbot.keyClick(window.table, Qt.Key.Key_F1)
    assert len(shown) == 1
    lines = {(line.window, line.action, line.keys) for line in shown[0].lines()}
    assert ("Main window", "Lock now", "Ctrl+L") in lines
    assert ("Main window", "Repeat procedure", "Ctrl+R") in lines
    assert ("Quality desk", "Complication log PDF", "Ctrl+Shift+L") in lines
    assert ("Print desk", "Save as PDF", "Ctrl+S") in lines
    # Built from the actions: every key the main window holds is listed, and nothing else.
    held = {key for key, _meaning in keys_in(window)}
    listed = {k.strip() for w, _a, keys in lines if w == "Main window" for k in keys.split(" or ")}
    assert listed == held


def test_about_names_version_database_schema_and_licences(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[help_dialogs.AboutDialog] = []
    monkeypatch.setattr(help_dialogs.AboutDialog, "exec", lambda d: shown.append(d))
    window.about_action.trigger()
    text = shown[0].text.toPlainText()
    assert f"CaseLog {importlib.metadata.version('caselog')}" in text
    assert window.services.database_name in text
    assert f"Schema revision: {current_revision(window.services.db)}" in text
    assert "LGPLv3" in text and "DejaVu" in text and "LICENSE-DejaVu.txt" in text
    assert "SQLAlchemy" in text and "MIT" in text and "ReportLab" in text
