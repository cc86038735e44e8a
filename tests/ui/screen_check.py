"""Run in a fresh process by test_screens.py: the main window and the desks on a given screen, listing every widget
that is squeezed below its minimum size, every label cut short, and every window larger than the screen.

Usage: python -m tests.ui.screen_check DATABASE  (screen from QT_QPA_PLATFORM / QT_SCALE_FACTOR); prints JSON.
"""

from __future__ import annotations

import json
import sys

from PySide6.QtWidgets import QAbstractScrollArea, QApplication, QLabel, QSplitterHandle, QWidget

from caselog.db.schema import open_database
from caselog.service import CaseService
from caselog.settings import Settings
from ui.main_window import MainWindow
from ui.services import AppSettings, Services
from ui.tasks import TaskRunner


def inside_scrolled_content(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def problems(window: QWidget) -> list[str]:
    name = window.windowTitle().split(" – ")[0] or type(window).__name__
    room = window.screen().availableGeometry()
    found = []
    if window.width() > room.width() or window.height() > room.height():
        found.append(f"{name}: {window.width()}×{window.height()} on a {room.width()}×{room.height()} screen")
    for widget in window.findChildren(QWidget):
        internal = widget.objectName().startswith("qt_")  # the parts Qt builds inside a spin box or a scroll bar
        if not widget.isVisible() or internal or isinstance(widget, QSplitterHandle) or inside_scrolled_content(widget):
            continue
        hint = widget.minimumSizeHint()
        what = f"{name}: {type(widget).__name__} {widget.accessibleName() or widget.objectName()}".rstrip()
        if hint.isValid() and (widget.width() < hint.width() or widget.height() < hint.height()):
            found.append(f"{what} is {widget.width()}×{widget.height()}, needs {hint.width()}×{hint.height()}")
        plain = isinstance(widget, QLabel) and not widget.wordWrap() and "<" not in widget.text()
        if plain and widget.text() and widget.width() < widget.sizeHint().width():
            found.append(f"{what} '{widget.text()[:40]}' is cut: {widget.width()} < {widget.sizeHint().width()}")
    return found


def main(database: str) -> int:
    app = QApplication(sys.argv[:1])
    db = open_database(database)
    services = Services(CaseService(db), TaskRunner(app), db.display_name)
    window = MainWindow(services, AppSettings(Settings()))
    window.show()
    while window.model.total == 0 or services.tasks.busy:
        app.processEvents()
    for action in window.desk_actions:
        action.trigger()
    while services.tasks.busy:
        app.processEvents()
    for _ in range(20):
        app.processEvents()
    windows = [w for w in app.topLevelWidgets() if w.isVisible() and w.isWindow()]
    room = app.primaryScreen().availableGeometry()
    report = {"screen": [room.width(), room.height()], "windows": len(windows),
              "problems": [p for w in windows for p in problems(w)]}  # fmt: skip
    print(json.dumps(report))
    window.close()
    services.tasks.wait()
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
