"""Help → Keyboard shortcuts lists each window's own keys under its own name: with the desks open, their keys
(Save as PDF on Ctrl+S, Print on Ctrl+P, ...) once showed under "Main window" too, reading as clashes there, and
the form's keys were listed as "save" and "add complication"."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from ui import help_dialogs
from ui.main_window import MainWindow


def listed(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> list[help_dialogs.ShortcutLine]:
    shown: list[help_dialogs.ShortcutsDialog] = []
    monkeypatch.setattr(help_dialogs.ShortcutsDialog, "exec", lambda d: shown.append(d))
    window.shortcuts_action.trigger()
    assert len(shown) == 1
    return shown[0].lines()


def test_open_desks_keep_their_keys_out_of_the_main_windows_list(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    for action in window.desk_actions:
        action.trigger()
    qtbot.waitUntil(lambda: not window.services.tasks.busy, timeout=20000)
    lines = listed(window, monkeypatch)
    main = [(line.action, line.keys) for line in lines if line.window == "Main window"]
    names = [name for name, _keys in main]
    assert "Save as PDF" not in names and "Save review" not in names and "Complication log PDF" not in names
    assert len(names) == len(set(names)), main  # each of the main window's actions once
    keys = [key for _name, keys in main for key in keys.split(" or ")]
    assert len(keys) == len(set(keys)), main  # and no key twice
    assert ("Print desk", "Save as PDF", "Ctrl+S") in {(x.window, x.action, x.keys) for x in lines}


def test_the_case_forms_keys_read_as_words(window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    form = {(line.action, line.keys) for line in listed(window, monkeypatch) if line.window == "Case form"}
    assert {("Save case", "Ctrl+S"), ("Save case", "Ctrl+Return"), ("Add complication", "Alt+A")} <= form, form
