"""What the main window's helpers use of it (case actions, the desks menu, the session, help, outputs).

`MainWindow` implements this; the helpers type their `window` with it, so none of them imports
ui.main_window, which imports them: the import arrows between ui/ modules point one way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar, QWidget

from caselog.records import CaseListItem
from ui.services import AppSettings, Services

if TYPE_CHECKING:
    from ui.case_form import CaseForm


class MainWindowParts(QMainWindow):
    """The main window's attributes and methods its helpers rely on (declared here, defined by MainWindow)."""

    services: Services
    settings: AppSettings
    form: CaseForm | None
    toolbar: QToolBar
    desks_menu: QMenu
    help_menu: QMenu
    lock_action: QAction
    _today: Callable[[], dt.date]

    if TYPE_CHECKING:

        def _action(self, text: str, slot: Callable[[], Any], meaning: str | None = None, tip: str = "") -> QAction: ...

        def _open_form(self, form_class: type[CaseForm] | None = ..., **kwargs: Any) -> CaseForm | None: ...

        def selected_rows(self) -> list[CaseListItem]: ...

        def current_row(self) -> CaseListItem | None: ...

        def refresh(self, select: str | None = None) -> None: ...

        def apply_role(self) -> None: ...

        def can_view(self) -> bool: ...

        def guard_window(self, window: QWidget) -> None: ...

        def bring_forward(self) -> None: ...

        def offer_drafts(self) -> None: ...

        def show_lock_screen(self, lock: QWidget) -> None: ...

        def hide_lock_screen(self) -> None: ...
