"""Actions on one case that the roles table governs: sign, add follow-up to a signed case, read its history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialog, QMessageBox, QWidget

from caselog.accounts import Action
from caselog.errors import CaselogError, InvalidInput
from caselog.records import CaseListItem, CaseView
from ui.case_form import CaseForm, edit_data
from ui.entry_check import ask_for_policy_reason
from ui.history_view import AuditTrailView, CaseHistoryDialog
from ui.messages import show_error
from ui.services import AppSettings, Services
from ui.style import app_style_sheet
from ui.widgets import with_close_button

if TYPE_CHECKING:
    from ui.window_parts import MainWindowParts

SIGNED = ("final", "amended")


class FollowUpForm(CaseForm):
    """A signed case opened by someone who may not amend it: follow-up complications and outcomes can be added.

    That is an addendum (no reason, the case stays signed); any other change is refused by the service with
    its reason shown in the form, and the form keeps what was typed.
    """

    def __init__(self, services: Services, settings: AppSettings, *, view: CaseView,
                 today: Callable[[], dt.date], parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(services, settings, data=edit_data(view), today=today, parent=parent,
                         title=f"Add follow-up to signed case {view.case_number}")  # fmt: skip
        # Opened as a new form (no amendment reason asked), then pointed at the case it adds to.
        self.editing = view
        self.case_number = view.case_number
        self.expected_version = view.version
        self.show_all = True
        self.fields.tabs.setCurrentIndex(0)
        self.revalidate()
        self.check_now()  # against the patient's other cases, this one known by its number now
        self.lock_patient()


def wants_follow_up(services: Services, view: CaseView) -> bool:
    """Editing a signed case the actor may not amend (not their case, or not a surgeon) means adding follow-up."""
    cases = services.cases
    return view.status in SIGNED and not cases.allows(Action.AMEND, case_surgeon=view.record.surgeon)


def can_sign(services: Services, row: CaseListItem | None) -> bool:
    return row is not None and row.status == "draft" and services.cases.allows(Action.SIGN, case_surgeon=row.surgeon)


def can_read_history(services: Services, row: CaseListItem | None) -> bool:
    return row is not None and services.cases.allows(Action.READ_AUDIT, case_surgeon=row.surgeon)


def sign_case(window: MainWindowParts) -> CaseView | None:
    """Ask once, then sign: the case becomes final, with the signer and time on it."""
    row = window.current_row()
    services = window.services
    if not can_sign(services, row):
        return None
    assert row is not None
    signer = services.actor.full_name if services.actor else row.surgeon
    answer = QMessageBox.question(
        window,
        f"Sign case {row.case_number}?",
        f"Sign case {row.case_number} ({row.patient_name}, {row.procedure_date}) as {signer}?\n\n"
        "A signed case is final: later changes are amendments that need a reason and stay in its history. "
        "Follow-up outcomes and complications can still be added.",
    )
    if answer != QMessageBox.StandardButton.Yes:
        return None
    try:
        view = services.cases.sign_case(row.case_number, expected_version=row.version)
    except CaselogError as exc:

        def open_case() -> CaseForm | None:
            view = services.cases.get_case(row.case_number)
            return window._open_form(data=edit_data(view), editing=view)

        if not (isinstance(exc, InvalidInput) and ask_for_policy_reason(window, row.case_number, exc, open_case)):
            show_error(window, "The case was not signed", exc)
        window.refresh(select=row.case_number)
        return None
    window.statusBar().showMessage(f"Signed case {row.case_number} as {view.signed_by}.", 8000)
    window.refresh(select=row.case_number)
    return view


def show_history(window: MainWindowParts) -> CaseHistoryDialog | None:
    row = window.current_row()
    if not can_read_history(window.services, row):
        return None
    assert row is not None
    try:
        entries = window.services.cases.history(row.case_number)
    except CaselogError as exc:
        show_error(window, "The history could not be read", exc)
        return None
    dialog = CaseHistoryDialog(row.case_number, entries, window)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog


class AuditTrailDialog(QDialog):
    """The whole trail for quality staff (and a surgeon's own cases), with filters."""

    def __init__(self, services: Services, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Audit trail")
        self.setStyleSheet(app_style_sheet(self.palette()))
        self.view = AuditTrailView(services)
        with_close_button(self, self.view, grows=self.view)
        self.resize(1200, 640)
        self.view.refresh()


def show_audit_trail(window: MainWindowParts) -> AuditTrailDialog:
    dialog = AuditTrailDialog(window.services, window)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog
