"""One table of keyboard shortcuts for every window: a key means the same thing wherever it is pressed.

Windows give their actions a *meaning* ("lock", "save", "reload"), never a key; the key comes from here.
The Help menu's shortcut list and the test that looks for clashes read the actions this module bound.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QAbstractButton

#: The property every bound action or button carries: what its key means in all windows.
MEANING = "shortcutMeaning"


@dataclass(frozen=True, slots=True)
class Shortcut:
    keys: tuple[str, ...]
    #: What the key does in every window that has it (the Help list shows this beside each window's own name).
    meaning: str


SHORTCUTS: dict[str, Shortcut] = {
    "new": Shortcut(("Ctrl+N",), "New case"),
    "open": Shortcut(("Return", "Enter"), "Open the selected case (in a list)"),
    "open_case": Shortcut(("Ctrl+O",), "Open the selected row's case"),
    "repeat": Shortcut(("Ctrl+R",), "Repeat procedure for the selected case's patient"),
    "delete": Shortcut(("Del",), "Delete the selected draft (in a list)"),
    "save": Shortcut(("Ctrl+S",), "Save what this window holds (form, review, PDF)"),
    "print": Shortcut(("Ctrl+P",), "Print the chosen cases' summaries"),
    "export": Shortcut(("Ctrl+E",), "Export what the list shows"),
    "find": Shortcut(("Ctrl+F",), "Find"),
    "reload": Shortcut(("F5",), "Reload what this window shows"),
    "today": Shortcut(("Ctrl+T",), "Today's cases"),
    "complication_log": Shortcut(("Ctrl+Shift+L",), "Complication log PDF"),
    "research_export": Shortcut(("Ctrl+Shift+E",), "De-identified research export"),
    "import_schedule": Shortcut(("Ctrl+Shift+I",), "Import the day's schedule"),
    "sign": Shortcut(("Ctrl+Shift+S",), "Sign the selected case"),
    "history": Shortcut(("Ctrl+Shift+H",), "History of the selected case"),
    "audit_trail": Shortcut(("Ctrl+Shift+A",), "Audit trail"),
    "pathway": Shortcut(("Ctrl+Shift+T",), "Patient pathway (timeline) of the selected case's patient"),
    "print_desk": Shortcut(("Ctrl+Shift+P",), "Print desk"),
    "quality_desk": Shortcut(("Ctrl+Shift+Q",), "Quality desk"),
    "dashboard": Shortcut(("Ctrl+Shift+D",), "Dashboard"),
    "followup_desk": Shortcut(("Ctrl+Shift+F",), "Follow-up desk"),
    "settings": Shortcut(("Ctrl+,",), "Settings"),
    "lock": Shortcut(("Ctrl+L",), "Lock: hide patient data in every window"),
    "sign_out": Shortcut(("Ctrl+Shift+O",), "Sign out / switch user"),
    "quit": Shortcut(("Ctrl+Q",), "Quit CaseLog"),
    "shortcuts": Shortcut(("F1",), "Keyboard shortcuts"),
}


def sequences(meaning: str) -> list[QKeySequence]:
    return [QKeySequence(k) for k in SHORTCUTS[meaning].keys]


def key_text(meaning: str) -> str:
    """The keys as this platform writes them ("Ctrl+Shift+L", "⇧⌘L")."""
    return " or ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences(meaning))


def bind(target: QAction | QAbstractButton, meaning: str, *, tip: str = "") -> None:
    """Give an action (or a button) the key of `meaning`, and say the key in its tooltip."""
    keys = sequences(meaning)
    if isinstance(target, QAction):
        target.setShortcuts(keys)
    else:
        target.setShortcut(keys[0])
    target.setProperty(MEANING, meaning)
    name = tip or target.text().replace("&", "").rstrip("…")
    target.setToolTip(f"{name}  ({key_text(meaning)})")


def bind_everywhere(action: QAction, meaning: str, *, tip: str = "") -> None:
    """A key that works in every window of the app (Lock): the same action, whichever window is active."""
    bind(action, meaning, tip=tip)
    action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)


def meaning_of(item: QObject) -> str:
    """What a shortcut-carrying object means: its bound meaning, or else its own words (unbound code)."""
    bound = item.property(MEANING)
    if isinstance(bound, str) and bound:
        return bound
    if isinstance(item, QAction | QAbstractButton):
        return item.text().replace("&", "").rstrip("…").strip().lower()
    if isinstance(item, QShortcut):
        return item.objectName() or item.whatsThis() or repr(item)
    return repr(item)
