"""The Help menu: the keyboard shortcuts (read from the actions themselves) and About (version, database, licences).

Both stay reachable while CaseLog is locked or nobody is signed in: they show no patient data.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QLabel,
    QMainWindow,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from caselog.db.schema import current_revision
from caselog.resources import resource_path
from caselog.version import app_version, schema_version
from ui import shortcuts
from ui.widgets import with_close_button

if TYPE_CHECKING:
    from ui.window_parts import MainWindowParts

#: The libraries CaseLog is built on, named in About with the licence their own metadata declares.
LIBRARIES = (
    ("PySide6", "Qt for Python (PySide6) and Qt"),
    ("SQLAlchemy", "SQLAlchemy"),
    ("alembic", "Alembic"),
    ("reportlab", "ReportLab"),
    ("openpyxl", "openpyxl"),
    ("psycopg", "psycopg"),
    ("argon2-cffi", "argon2-cffi"),
    ("keyring", "keyring"),
    ("platformdirs", "platformdirs"),
    ("orjson", "orjson"),
)


@dataclass(frozen=True, slots=True)
class ShortcutLine:
    window: str
    action: str
    keys: str


Keyed = QAction | QAbstractButton | QShortcut


def _name(item: Keyed) -> str:
    if isinstance(item, QShortcut):  # no text of its own: what it says it does, else its meaning
        return item.whatsThis() or shortcuts.meaning_of(item)
    return item.text().replace("&", "").rstrip("…").strip()


def _keys(item: Keyed) -> list[QKeySequence]:
    if isinstance(item, QAction):
        return list(item.shortcuts())
    if isinstance(item, QShortcut):
        return list(item.keys())
    return [item.shortcut()] if item.property(shortcuts.MEANING) is not None else []  # not Alt+letter labels


def shortcut_lines(window: str, items: Iterable[Keyed]) -> list[ShortcutLine]:
    """One line per action, shortcut or bound button that has a key, in the order given, each listed once."""
    lines: list[ShortcutLine] = []
    seen: set[int] = set()
    for item in items:
        keys = [k for k in _keys(item) if not k.isEmpty()]
        if not keys or id(item) in seen:
            continue
        seen.add(id(item))
        text = " or ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
        lines.append(ShortcutLine(window, _name(item) or str(item.property(shortcuts.MEANING)), text))
    return lines


def window_actions(window: QWidget) -> list[Keyed]:
    """A window's actions as its menus and toolbars order them, then the rest (lists' Return, buttons)."""
    found: list[Keyed] = []
    menu_bar = window.menuBar() if isinstance(window, QMainWindow) else None
    for menu_action in menu_bar.actions() if menu_bar is not None else []:
        menu = menu_action.menu()
        if menu is not None:
            for action in menu.actions():
                found.append(action)
                if action.menu() is not None:
                    found.extend(action.menu().actions())
    found.extend(window.findChildren(QAction))
    found.extend(window.actions())  # actions lent by another window (Lock)
    found.extend(window.findChildren(QAbstractButton))
    found.extend(window.findChildren(QShortcut))
    lent = set(map(id, window.actions()))
    # A desk or a form is a child of the main window but a window of its own: its keys are listed under its name.
    return [item for item in found if id(item) in lent or _window_of(item) is window]


def _window_of(item: Keyed) -> QWidget | None:
    """The window an action, button or shortcut belongs to: that of the first widget among its parents."""
    holder: QObject | None = item
    while holder is not None and not isinstance(holder, QWidget):
        holder = holder.parent()
    return holder.window() if isinstance(holder, QWidget) else None


class ShortcutsDialog(QDialog):
    """Every key of every window, from the actions the windows hold (desks not open yet are built to be read)."""

    def __init__(self, groups: Sequence[tuple[str, list[ShortcutLine]]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts – CaseLog")
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Keyboard shortcuts")
        self.tree.setHeaderLabels(["Action", "Keys"])
        self.tree.setRootIsDecorated(True)
        for title, lines in groups:
            top = QTreeWidgetItem([title, ""])
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            self.tree.addTopLevelItem(top)
            for line in lines:
                top.addChild(QTreeWidgetItem([line.action, line.keys]))
            top.setExpanded(True)
        self.tree.resizeColumnToContents(0)
        self.tree.setColumnWidth(0, max(self.tree.columnWidth(0) + 24, 280))
        note = QLabel("Lock (Ctrl+L) works in every window and hides patient data in all of them.")
        note.setObjectName("hint")
        note.setWordWrap(True)
        with_close_button(self, self.tree, note, grows=self.tree)
        self.resize(520, 560)

    def lines(self) -> list[ShortcutLine]:
        found = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                child = top.child(j)
                found.append(ShortcutLine(top.text(0), child.text(0), child.text(1)))
        return found


def licence_of(distribution: str) -> str:
    """The licence a library declares in its own metadata (SPDX expression, licence field or classifier)."""
    try:
        meta = importlib.metadata.metadata(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"
    expression = meta.get("License-Expression")
    if expression:
        return str(expression)
    field = (meta.get("License") or "").strip()
    if field and len(field) <= 80 and "\n" not in field:
        return field
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License")]
    return ", ".join(classifiers) or (field.splitlines()[0][:60] if field else "see its distribution")


def version_of(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed as a package)"


def about_html(database: str, revision: str | None) -> str:
    """About's text: the version and schema from the same source as `caselog --version` (caselog.version)."""
    libraries = "".join(
        f"<tr><td>{escape(name)} {escape(version_of(dist))}</td><td>{escape(licence_of(dist))}</td></tr>"
        for dist, name in LIBRARIES
    )
    try:
        fonts = resource_path("fonts", "LICENSE-DejaVu.txt")
        font_note = f"licence text in {escape(str(fonts))}"
    except Exception:  # an incomplete installation: say so rather than fail to open About
        font_note = "licence text missing from this installation"
    return (
        f"<h2>CaseLog {escape(app_version())}</h2>"
        "<p>Surgical case log for spine clinics: procedures, levels, complications and outcomes.</p>"
        f"<p><b>Database in use:</b> {escape(database)}<br>"
        f"<b>Schema revision:</b> {escape(revision or 'unknown')}<br>"
        f"<b>Schema version of this CaseLog:</b> {escape(schema_version())}</p>"
        "<h3>Licences</h3>"
        "<p>Qt and Qt for Python (PySide6) are used under the GNU Lesser General Public License v3 (LGPLv3); "
        "their source is available from the Qt Project (qt.io). The PDFs embed the DejaVu Sans fonts "
        f"(Bitstream Vera licence, DejaVu changes in the public domain; {font_note}).</p>"
        f"<table cellspacing='4'><tr><th align='left'>Library</th><th align='left'>Licence</th></tr>{libraries}"
        "</table>"
    )


class AboutDialog(QDialog):
    def __init__(self, database: str, revision: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About CaseLog")
        self.text = QTextBrowser()
        self.text.setAccessibleName("About CaseLog")
        self.text.setOpenExternalLinks(False)
        self.text.setHtml(about_html(database, revision))
        with_close_button(self, self.text, grows=self.text)
        self.resize(560, 520)


def _desk_groups(window: MainWindowParts) -> list[tuple[str, list[ShortcutLine]]]:
    """The desks' keys, read from desks that are open or else from a desk built (not shown) to be read."""
    from ui.desks import desk_classes

    groups = []
    for title, kind in desk_classes():
        open_desks = [w for w in window.findChildren(kind) if w.parent() is window]
        if open_desks:
            groups.append((title, shortcut_lines(title, window_actions(open_desks[0]))))
            continue
        desk = kind(window.services, window.settings, None, load=False)
        window.guard_window(desk)  # as when it is opened: Lock is one of its keys
        try:
            groups.append((title, shortcut_lines(title, window_actions(desk))))
        finally:
            desk.deleteLater()
    return groups


def shortcut_groups(window: MainWindowParts) -> list[tuple[str, list[ShortcutLine]]]:
    groups = [("Main window", shortcut_lines("Main window", window_actions(window)))]
    groups += _desk_groups(window)
    groups.append(("Case form", _form_keys(window)))
    return groups


def _form_keys(window: MainWindowParts) -> list[ShortcutLine]:
    """The open form's keys, or those of a form built (never shown, nothing typed) to be read."""
    if window.form is not None:
        return shortcut_lines("Case form", window_actions(window.form))
    from ui.case_form import CaseForm

    try:
        form = CaseForm(window.services, window.settings, parent=None)
    except Exception:  # nobody signed in, the database away: the form cannot be built, Lock still applies
        return shortcut_lines("Case form", [window.lock_action])
    window.guard_window(form)
    try:
        return shortcut_lines("Case form", window_actions(form))
    finally:
        form.dirty = False
        form.reject()  # nothing typed: no draft is kept
        form.deleteLater()


def add_help_menu(window: MainWindowParts, make_action: Callable[..., QAction]) -> tuple[QAction, QAction]:
    """Help → Keyboard shortcuts (F1) and About CaseLog."""

    def show_shortcuts() -> None:
        ShortcutsDialog(shortcut_groups(window), window).exec()

    def show_about() -> None:
        try:
            revision = current_revision(window.services.db)
        except Exception:  # the database is unreachable: About still opens and says so
            revision = None
        AboutDialog(window.services.database_name, revision, window).exec()

    keys = make_action("&Keyboard shortcuts…", show_shortcuts, "shortcuts", "Every key of every window")
    about = make_action("&About CaseLog…", show_about, None, "Version, database in use and licences")
    menu = window.menuBar().addMenu("&Help")
    menu.addAction(keys)
    menu.addAction(about)
    window.help_menu = menu
    for action in (keys, about):
        action.setProperty("accessibleName", action.text().replace("&", "").rstrip("…"))
    keys.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    return keys, about
