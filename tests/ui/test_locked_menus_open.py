"""Locked or signed out, the Help and File menus still open from the menu bar: their own entries were disabled
with everything else, so Help (shortcuts, About) and Quit greyed out, reachable by F1 only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from tests.ui.test_accounts_ui import accounts_db, signed_in  # noqa: F401  (fixtures)
from ui.main_window import MainWindow


def click_menu(window: MainWindow, qtbot: QtBot, menu: QMenu) -> None:
    bar = window.menuBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.actionGeometry(menu.menuAction()).center())


@pytest.mark.parametrize("how", ["lock", "sign_out"])
def test_help_and_file_open_from_the_menu_bar_while_locked(
    signed_in: Callable[[str], MainWindow],  # noqa: F811
    qtbot: QtBot,
    how: str,
) -> None:
    window = signed_in("hlind")
    (window.sign_out_action if how == "sign_out" else window.lock_action).trigger()
    for menu in (window.help_menu, window.file_menu):
        assert menu.menuAction().isEnabled(), menu.title()
        click_menu(window, qtbot, menu)
        qtbot.waitUntil(menu.isVisible, timeout=2000)
        entries = [a for a in menu.actions() if a.isVisible() and a.isEnabled() and not a.isSeparator()]
        assert entries, menu.title()
        menu.hide()
    assert window.about_action in window.help_menu.actions() and window.about_action.isEnabled()
