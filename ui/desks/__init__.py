"""The desks: the print desk (OR coordinators), the quality desk (quality staff), the dashboard (everyone) and
the follow-up desk (whoever adds follow-up: surgeons, coordinators, quality staff).

Each opens as its own window over the main window's services; opening one again brings the open one forward.
"""

from __future__ import annotations

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


def desk_classes() -> list[tuple[str, type[QWidget]]]:
    """Each desk's name and class, in the order of the Desks menu."""
    from ui.desks.dashboard_desk import DashboardDesk
    from ui.desks.followup_desk import FollowUpDesk
    from ui.desks.print_desk import PrintDesk
    from ui.desks.quality_desk import QualityDesk

    return [("Print desk", PrintDesk), ("Quality desk", QualityDesk), ("Dashboard", DashboardDesk),
            ("Follow-up desk", FollowUpDesk)]  # fmt: skip


__all__ = ["desk_classes", "open_dashboard", "open_followup_desk", "open_print_desk", "open_quality_desk"]
