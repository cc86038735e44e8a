"""The desks: the print desk (OR coordinators), the quality desk (quality staff), the dashboard (everyone) and
the follow-up desk (whoever adds follow-up: surgeons, coordinators, quality staff).

Each opens as its own window over the main window's services; opening one again brings the open one forward.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from ui.services import AppSettings, Services

if TYPE_CHECKING:
    from ui.desks.common import Desk

W = TypeVar("W", bound=QWidget)


def _forward(window: QWidget) -> None:
    window.setWindowState((window.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive)
    window.show()
    window.raise_()
    window.activateWindow()


def _existing(parent: QWidget, kind: type[W]) -> W | None:
    found = [w for w in parent.findChildren(kind) if w.parent() is parent]
    return found[0] if found else None


def open_print_desk(
    parent: QWidget, services: Services, settings: AppSettings, *, case_numbers: list[str] | None = None
) -> QWidget:
    """The print desk, listing `case_numbers` (a selection from the case list) or else today's cases."""
    from ui.desks.print_desk import PrintDesk

    desk = _existing(parent, PrintDesk)
    fresh = desk is None
    if desk is None:
        desk = PrintDesk(services, settings, parent)
    if case_numbers:
        desk.show_cases(case_numbers)
    elif fresh:
        desk.show_today()
    _forward(desk)
    return desk


def _open_listing(
    parent: QWidget,
    kind: type[Desk],
    services: Services,
    settings: AppSettings,
    open_case: Callable[[str], None] | None,
) -> Desk:
    """A desk that lists cases (quality, follow-up): made once, its `open_case` signal joined to `open_case`."""
    desk = _existing(parent, kind)
    if desk is None:
        desk = kind(services, settings, parent)
        if open_case is not None:
            getattr(desk, "open_case").connect(open_case)  # each listing desk's own signal  # noqa: B009
    else:
        desk.refresh()
    _forward(desk)
    return desk


def open_quality_desk(
    parent: QWidget, services: Services, settings: AppSettings, *, open_case: Callable[[str], None] | None = None
) -> QWidget:
    """The quality desk; its `open_case(str)` signal carries the case number of a row the user opens."""
    from ui.desks.quality_desk import QualityDesk

    return _open_listing(parent, QualityDesk, services, settings, open_case)


def open_dashboard(parent: QWidget, services: Services, settings: AppSettings) -> QWidget:
    from ui.desks.dashboard_desk import DashboardDesk

    desk = _existing(parent, DashboardDesk)
    if desk is None:
        desk = DashboardDesk(services, settings, parent)
    else:
        desk.refresh()
    _forward(desk)
    return desk


def open_followup_desk(
    parent: QWidget, services: Services, settings: AppSettings, *, open_case: Callable[[str], None] | None = None
) -> QWidget:
    """The follow-up desk; its `open_case(str)` signal carries the case number of a row the user opens."""
    from ui.desks.followup_desk import FollowUpDesk

    return _open_listing(parent, FollowUpDesk, services, settings, open_case)


#: Each desk's name (in the Desks menu's order), module and class.
_DESKS = (("Print desk", "ui.desks.print_desk", "PrintDesk"), ("Quality desk", "ui.desks.quality_desk", "QualityDesk"),
          ("Dashboard", "ui.desks.dashboard_desk", "DashboardDesk"),
          ("Follow-up desk", "ui.desks.followup_desk", "FollowUpDesk"))  # fmt: skip


def desk_classes() -> list[tuple[str, type[QWidget]]]:
    """Each desk's name and class, in the order of the Desks menu (every desk's module loaded)."""
    return [(title, getattr(importlib.import_module(module), name)) for title, module, name in _DESKS]


def opened_desk_classes() -> list[type[QWidget]]:
    """The desks that may have a window open: those whose module is loaded. A desk's module loads when it is
    first opened, not at the app's start, and a desk never opened has no window to close."""
    return [getattr(sys.modules[module], name) for _title, module, name in _DESKS if module in sys.modules]


__all__ = ["desk_classes", "open_dashboard", "open_followup_desk", "open_print_desk", "open_quality_desk",
           "opened_desk_classes"]  # fmt: skip
