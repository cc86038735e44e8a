"""Puts the desks into the main window: a Desks menu, toolbar buttons and shortcuts, shown by role."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction

from caselog.accounts import Action
from caselog.errors import CaselogError
from ui import shortcuts
from ui.desks import open_dashboard, open_followup_desk, open_print_desk, open_quality_desk
from ui.messages import show_error

if TYPE_CHECKING:
    from ui.window_parts import MainWindowParts


def open_case_number(window: MainWindowParts, case_number: str) -> None:
    """A desk's "open case": the case in the form, as Edit does from the list."""
    from ui.case_form import edit_data

    try:
        view = window.services.cases.get_case(case_number)
    except CaselogError as exc:
        show_error(window, "The case could not be opened", exc)
        return
    window.bring_forward()
    window._open_form(data=edit_data(view), editing=view)


def add_desk_actions(window: MainWindowParts) -> list[QAction]:
    services, settings = window.services, window.settings
    print_desk = window._action(
        "&Print desk…",
        lambda: window.guard_window(open_print_desk(window, services, settings,
                                    case_numbers=[r.case_number for r in window.selected_rows()] or None)),
        "print_desk",
        "Preview and print today's case summaries, or the selected cases'",
    )  # fmt: skip
    quality_desk = window._action(
        "&Quality desk…",
        lambda: window.guard_window(
            open_quality_desk(window, services, settings, open_case=lambda n: open_case_number(window, n))
        ),
        "quality_desk",
        "Review complications across all cases",
    )
    dashboard = window._action(
        "Das&hboard…",
        lambda: window.guard_window(open_dashboard(window, services, settings)),
        "dashboard",
        "Cases, complication rates, durations, pain scores and durability of relief",
    )
    followup_desk = window._action(
        "&Follow-up desk…",
        lambda: window.guard_window(
            open_followup_desk(window, services, settings, open_case=lambda n: open_case_number(window, n))
        ),
        "followup_desk",
        "Follow-ups due this week and overdue: record them, print the call list and the patient letters",
    )
    actions = [print_desk, quality_desk, dashboard, followup_desk]
    menu = window.menuBar().addMenu("&Desks")
    for action in actions:
        menu.addAction(action)
    window.toolbar.addSeparator()
    for action in actions:
        window.toolbar.addAction(action)
    window.desks_menu = menu
    return actions


def apply_role_to_desks(window: MainWindowParts, actions: list[QAction]) -> None:
    """Every desk shows cases: none of them for a role that may not view cases (administrators). The follow-up
    desk is for those who may add follow-up to a case (the contract's addendum: surgeons, coordinators, quality)."""
    visible = window.can_view() and window.services.cases.allows(Action.VIEW)
    for action in actions:
        action.setVisible(visible)
        if action.property(shortcuts.MEANING) == "followup_desk":
            action.setVisible(visible and window.services.cases.allows(Action.ADDENDUM))
    window.desks_menu.menuAction().setVisible(visible)
