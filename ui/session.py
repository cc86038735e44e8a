"""Who is at the keyboard: protecting a database with accounts, the idle lock, unlocking, signing out, switching user.

Locking hides every window's patient data (the main window shows the lock screen instead of its content,
other windows are hidden) until the same user signs in again. Anyone else signing in closes the first
user's session: open case forms are closed with what was typed kept as drafts, then the new session starts.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QLabel, QMainWindow, QMessageBox, QWidget

from caselog import audit
from caselog.accounts import Actor, accounts_exist
from caselog.errors import CaselogError
from ui.accounts_dialogs import AccountDialog, role_name
from ui.lock_screen import IdleWatcher, LockScreen

if TYPE_CHECKING:
    from ui.window_parts import MainWindowParts


class SessionController(QObject):
    """Owns the lock screen, the idle watcher and the 'signed in as' label of one main window."""

    def __init__(self, window: MainWindowParts) -> None:
        super().__init__(window)
        self.window = window
        self.services = window.services
        self.locked_actor: Actor | None = None
        self.locked = False
        self._hidden: list[QWidget] = []
        self.lock_screen = LockScreen(self.services.db)
        self.lock_screen.signed_in.connect(self.signed_in_at_lock)
        self.idle = IdleWatcher(window.settings.value.idle_lock_minutes, self)
        self.idle.idle.connect(lambda: self.lock(idle=True))
        window.settings.changed.connect(lambda: self.idle.set_minutes(window.settings.value.idle_lock_minutes))
        self.user_label = QLabel()
        self.user_label.setAccessibleName("Signed in as")
        window.statusBar().addPermanentWidget(self.user_label)
        self._show_user()
        if self.services.actor is not None:
            self.idle.start()

    # ---- protecting a single-user database --------------------------------------------------------------

    def has_accounts(self) -> bool:
        try:
            return accounts_exist(self.services.db)
        except Exception:  # a database problem shows elsewhere; the menu entry just stays hidden
            return True

    def protect(self) -> Actor | None:
        """Create the first administrator and go on signed in as them."""
        if self.services.actor is not None or self.has_accounts():
            return None
        dialog = AccountDialog(self.services.accounts(), first=True, parent=self.window)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.actor is None:
            return None
        self.close_session()
        self.start(dialog.actor)
        QMessageBox.information(
            self.window,
            "CaseLog is protected",
            f"{dialog.actor.full_name} is the administrator and is signed in. From now on CaseLog asks everyone "
            "to sign in.\n\nAdd an account for each surgeon, coordinator and quality reviewer: cases are seen and "
            "signed under those accounts, not the administrator's.",
        )
        return dialog.actor

    # ---- locking and unlocking --------------------------------------------------------------------------

    def _audit(self, action: str, actor: Actor) -> None:
        try:
            with self.services.db.write() as session:
                audit.record(session, username=actor.username, action=action, record_type="account",
                             record_id=actor.username)  # fmt: skip
        except CaselogError as exc:  # the lock itself must happen even when the database is unreachable
            self.window.statusBar().showMessage(exc.message)

    def lock(self, *, idle: bool = False) -> None:
        """Hide patient data until the same user (or another, who then takes over) signs in."""
        actor = self.services.actor
        if actor is None or self.locked:
            return
        self._audit("lock", actor)
        self.locked_actor = actor
        self._cover()
        self.lock_screen.show_locked(actor, idle=idle)

    def sign_out(self) -> None:
        actor = self.services.actor
        if actor is None:
            return
        self._audit("sign_out", actor)
        self.locked_actor = None
        self._cover()
        self.close_session()
        self.services.start_session(None)
        self.window.apply_role()
        self._show_user()
        self.lock_screen.show_signed_out()

    def _cover(self) -> None:
        self.locked = True
        self.idle.stop()
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        self._hidden = []
        for widget in app.topLevelWidgets():
            if widget is not self.window and widget.isVisible() and widget.isWindow():
                widget.hide()  # forms and dialogs: hidden, not covered, so nothing can be read or grabbed
                if isinstance(widget, QDialog | QMainWindow):  # forms, dialogs and desks come back on unlock
                    self._hidden.append(widget)
        self.window.show_lock_screen(self.lock_screen)

    def signed_in_at_lock(self, actor: Actor) -> None:
        previous = self.locked_actor
        if previous is not None and previous.username == actor.username:
            self.services.start_session(actor)  # the same person; their role may have changed meanwhile
            self._uncover(restore=True)
            return
        self.close_session()
        self.start(actor)

    def _uncover(self, *, restore: bool) -> None:
        self.locked = False
        self.locked_actor = None
        self.window.hide_lock_screen()
        if restore:
            for widget in self._hidden:
                widget.show()
        self._hidden = []
        self._show_user()
        if self.services.actor is not None:
            self.idle.start()

    def close_session(self) -> None:
        """Close the current user's windows; what was typed in open case forms is kept as drafts."""
        window = self.window
        app = QApplication.instance()
        assert isinstance(app, QApplication)
        dialogs = [w for w in app.topLevelWidgets() if isinstance(w, QDialog) and w is not self.lock_screen]
        form_module = sys.modules.get("ui.case_form")  # loaded with the first form: none open before it
        form_class = getattr(form_module, "CaseForm", None)
        for dialog in dialogs:
            if not (dialog.isVisible() or dialog in self._hidden):
                continue  # already closed (a form parked earlier): saving it again would give its draft away
            if form_class is not None and isinstance(dialog, form_class):
                dialog.autosave_now()
                QDialog.reject(dialog)  # past CaseForm.reject, which would discard the draft
            else:
                dialog.reject()
        self._hidden = []
        window.form = None

    def start(self, actor: Actor) -> None:
        """A new session for `actor`: every window acts as them, and shows what their role may do."""
        self.services.start_session(actor)
        self._uncover(restore=False)
        self.window.apply_role()
        self.window.refresh()
        # Forms this person left when someone else took over at the lock screen wait as their drafts.
        QTimer.singleShot(0, lambda: self.window.offer_drafts() if self.services.actor == actor else None)

    def _show_user(self) -> None:
        actor = self.services.actor
        if actor is None:
            self.user_label.setText("Single user (no accounts)" if not self.has_accounts() else "Nobody signed in")
        else:
            self.user_label.setText(f"Signed in: {actor.full_name} ({role_name(actor.role)})")
