"""The main window: the case list with search and filters, the detail pane, and the actions the role allows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QByteArray, QEvent, QSize, Qt
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDesktopServices,  # noqa: F401  (the PDF action opens files through it)
)
from PySide6.QtWidgets import (
    QInputDialog,
    QLabel,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from caselog import drafts
from caselog.accounts import Action
from caselog.errors import CaselogError
from caselog.records import CaseListItem, CaseView
from ui import shortcuts
from ui.case_model import CaseTableModel
from ui.case_output import CaseOutputActions
from ui.desks.menu import add_desk_actions, apply_role_to_desks
from ui.detail_pane import CaseDetailPane
from ui.filter_bar import FilterBar
from ui.greeting import Greeting
from ui.help_dialogs import add_help_menu
from ui.messages import show_error
from ui.paged_model import paged_table
from ui.policy_dialog import may_set_policy, open_policy_dialog
from ui.services import AppSettings, Services
from ui.session import SessionController
from ui.settings_dialog import SettingsDialog
from ui.storage_warning import install as install_storage_warning
from ui.style import app_style_sheet
from ui.tables import Selection, select_row
from ui.window_state import fitted_size, layout_key, window_state

if TYPE_CHECKING:
    from ui.admin_view import AdminView
    from ui.case_form import CaseForm


def _case_actions() -> ModuleType:
    """ui.case_actions, and with it the case form, loaded when first used (a selected case, a form), after the
    first page of cases is on screen."""
    from ui import case_actions

    return case_actions


class MainWindow(CaseOutputActions):
    def __init__(
        self, services: Services, settings: AppSettings, *, today: Callable[[], dt.date] = dt.date.today
    ) -> None:
        super().__init__()
        self.services = services
        self.settings = settings
        self._today = today
        self.form: CaseForm | None = None
        self.last_output: Path | None = None
        self.setWindowTitle("CaseLog")
        self.setStyleSheet(app_style_sheet(self.palette()))

        self.model = CaseTableModel(services, self)
        self.table = paged_table(self.model, "Cases", selection=Selection.ExtendedSelection)
        self.table.horizontalHeader().setHighlightSections(False)
        self.detail = CaseDetailPane(services.cases, tasks=services.tasks)
        self.filters = FilterBar(today=today)
        self.greeting = Greeting()
        self.greeting.set_database(services.database_name)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([1080, 285])
        list_page = QWidget()
        list_layout = QVBoxLayout(list_page)
        list_layout.setContentsMargins(0, 0, 0, 0)
        list_layout.setSpacing(0)
        list_layout.addWidget(self.filters)
        list_layout.addWidget(self.splitter, 1)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.greeting)
        self.stack.addWidget(list_page)
        self.admin_view: AdminView | None = None
        # Cases, the admin view or the lock screen: the pages not shown are hidden widgets, not covered ones.
        self.pages = QStackedWidget()
        self.pages.addWidget(self.stack)
        # a plain file, a clear-text server; the banner and the pages go in together (see install)
        self.storage_warning = install_storage_warning(self, services.db, self.pages)
        self.database_label = QLabel(f"Database: {services.database_name}")
        self.database_label.setObjectName("hint")
        self.statusBar().addPermanentWidget(self.database_label)

        self.session = SessionController(self)
        self._make_actions()
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(lambda exc: show_error(self, "The cases could not be loaded", exc))
        self.model.modelReset.connect(self._selection_changed)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.selectionModel().currentRowChanged.connect(lambda *_: self._keep_selected())
        self.table.doubleClicked.connect(lambda _i: self.edit_case())
        self.filters.changed.connect(self.model.set_filter)
        self.greeting.new_case.connect(self.new_case)
        self.greeting.load_demo.connect(self.load_demo)
        self.settings.changed.connect(self._build_template_menu)
        self._restore_layout()
        self.apply_role()
        self.refresh()

    # ---- actions ----------------------------------------------------------------------------------------

    def _action(self, text: str, slot: Callable[[], Any], meaning: str | None = None, tip: str = "") -> QAction:
        """An action whose key (if any) comes from the one shortcut table, so it means the same in every window."""
        action = QAction(text, self)
        action.triggered.connect(lambda _checked=False: slot())
        action.setStatusTip(tip)
        if meaning is not None:
            shortcuts.bind(action, meaning, tip=tip)
        else:
            action.setToolTip(tip or text.replace("&", "").rstrip("…"))
        return action

    def _open_pathway(self) -> None:
        """The patient's pathway; its view (and the PDF library behind its report) loads when first opened."""
        from ui.pathway_view import open_pathway

        open_pathway(self)

    def changeEvent(self, event: QEvent) -> None:
        """A light or dark palette chosen while CaseLog runs: colours follow it."""
        if event.type() == QEvent.Type.PaletteChange:
            self.setStyleSheet(app_style_sheet(self.palette()))
            self.detail.show_case(self.detail.current)
        super().changeEvent(event)

    def _make_actions(self) -> None:
        self.new_action = self._action("&New case…", self.new_case, "new", "Log a new case")
        self.edit_action = self._action("&Edit case…", self.edit_case, "open", "Open the selected case in the form")
        self.edit_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.table.addAction(self.edit_action)
        self.repeat_action = self._action(
            "&Repeat procedure…", self.repeat_case, "repeat", "New case for the same patient, procedure and levels"
        )
        self.delete_action = self._action("&Delete draft…", self.delete_draft, "delete",
                                          "Delete the selected draft case")  # fmt: skip
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.table.addAction(self.delete_action)
        self.pdf_action = self._action("Case &summary PDF…", self.case_summary_pdf, "print",
                                       "Write the selected cases' summaries to a PDF and open it")  # fmt: skip
        self.export_action = self._action("E&xport filtered cases…", self.export_cases, "export",
                                          "Save the cases in the list as CSV, Excel or JSON")  # fmt: skip
        self.demo_action = self._action("Load &demo data…", self.load_demo, None, "Add made-up cases to try CaseLog")
        self.settings_action = self._action("Se&ttings…", self.open_settings, "settings")
        self.refresh_action = self._action("&Reload list", self.refresh, "reload")
        self.search_action = self._action("&Find…", self._focus_search, "find", "Search")
        self.quit_action = self._action("&Quit", self.close, "quit")
        self.sign_action = self._action("&Sign case…", lambda: _case_actions().sign_case(self), "sign",
                                        "Sign your draft: it becomes final, with your name and the time")  # fmt: skip
        self.history_action = self._action("Case &history…", lambda: _case_actions().show_history(self), "history",
                                           "Who changed the selected case, when, what and why")  # fmt: skip
        self.pathway_action = self._action("Patient &pathway…", self._open_pathway, "pathway",
                                           "Every case of the selected patient on a time axis")  # fmt: skip
        self.policy_action = self._action("Indication &policy…", lambda: open_policy_dialog(self), None,
                                          "The clinic's selection and repeat rules (administrators)")  # fmt: skip
        self.trail_action = self._action("&Audit trail…", lambda: _case_actions().show_audit_trail(self), "audit_trail",
                                         "Every recorded change, sign-in, print and export, with filters")  # fmt: skip
        self.protect_action = self._action("&Protect with accounts…", self.session.protect, None,
                                           "Create the administrator: from then on everyone signs in")  # fmt: skip
        self.lock_action = self._action("&Lock now", lambda: self.session.lock(), None, "Hide patient data now")
        # Lock works from every window (a desk, a form): all of them hide their patient data at once.
        shortcuts.bind_everywhere(self.lock_action, "lock", tip="Hide patient data in every window now")
        self.sign_out_action = self._action("Sign &out / switch user", self.session.sign_out, "sign_out",
                                            "End your session; someone else can sign in")  # fmt: skip

        self.file_menu = file_menu = self.menuBar().addMenu("&File")
        for action in (self.export_action, self.pdf_action, self.demo_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addAction(self.policy_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        case_menu = self.menuBar().addMenu("&Case")
        case_menu.addAction(self.new_action)
        self.template_menu = case_menu.addMenu("New from &template")
        for action in (self.edit_action, self.repeat_action, self.delete_action, self.sign_action,
                       self.history_action, self.pathway_action):  # fmt: skip
            case_menu.addAction(action)
        self.case_menu = case_menu
        view_menu = self.menuBar().addMenu("&View")
        for action in (self.search_action, self.refresh_action, self.trail_action):
            view_menu.addAction(action)
        account_menu = self.menuBar().addMenu("&Account")
        for action in (self.protect_action, self.lock_action, self.sign_out_action):
            account_menu.addAction(action)
        self._build_template_menu()

        self.toolbar = toolbar = self.addToolBar("Actions")
        toolbar.setObjectName("actions")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.setMovable(False)
        for action in (self.new_action, self.edit_action, self.repeat_action, self.delete_action, self.sign_action):
            toolbar.addAction(action)
        toolbar.addAction(self.pathway_action)
        toolbar.addSeparator()
        toolbar.addAction(self.pdf_action)
        toolbar.addAction(self.export_action)
        self.desk_actions = add_desk_actions(self)
        self.shortcuts_action, self.about_action = add_help_menu(self, self._action)
        for action in self.findChildren(QAction):
            if action.text():
                action.setProperty("accessibleName", action.text().replace("&", "").rstrip("…"))
        for button in toolbar.findChildren(QWidget):
            action = getattr(button, "defaultAction", lambda: None)()
            if action is not None:
                button.setAccessibleName(action.text().replace("&", "").rstrip("…"))
        self._selection_changed()

    def _build_template_menu(self) -> None:
        self.template_menu.clear()
        names = sorted(self.settings.value.templates)
        for name in names:
            self.template_menu.addAction(name, lambda n=name: self.new_from_template(n))
        if not names:
            empty = self.template_menu.addAction("No templates yet: save one from the case form")
            empty.setEnabled(False)

    # ---- selection and loading --------------------------------------------------------------------------

    def selected_rows(self) -> list[CaseListItem]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [r for r in (self.model.row_at(i) for i in rows) if r is not None]

    def current_row(self) -> CaseListItem | None:
        index = self.table.currentIndex()
        selected = self.selected_rows()
        row = self.model.row_at(index.row()) if index.isValid() else None
        return row if row in selected else (selected[0] if selected else None)

    def _keep_selected(self) -> None:
        """The selected rows and the current one stay in memory, however far the list scrolls from them."""
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        current = self.table.currentIndex()
        self.model.keep(rows | ({current.row()} if current.isValid() else set()))

    def _selection_changed(self, *_args: object) -> None:
        self._keep_selected()
        if self.session.locked:  # nothing selected shows, and every action stays off until unlocked
            self.detail.show_case(None)
            return
        rows = self.selected_rows()
        one = len(rows) == 1
        self.edit_action.setEnabled(one)
        self.repeat_action.setEnabled(one)
        self.delete_action.setEnabled(one and rows[0].status == "draft")
        self.sign_action.setEnabled(one and _case_actions().can_sign(self.services, rows[0]))
        self.history_action.setEnabled(one and _case_actions().can_read_history(self.services, rows[0]))
        self.pathway_action.setEnabled(one)
        self.pdf_action.setEnabled(bool(rows))
        self.export_action.setEnabled(self.model.matching > 0)
        view = None
        if one:
            try:
                view = self.services.cases.get_case(rows[0].case_number)
            except CaselogError:
                view = None
        self.detail.show_case(view)

    def _offer_demo(self) -> None:
        """Demo data only on an empty database, and only for administrators once there are accounts."""
        try:
            offered = self.services.cases.offers_demo()
        except CaselogError:
            offered = False
        self.demo_action.setVisible(offered)
        self.greeting.demo.setVisible(offered)

    def _loaded(self) -> None:
        self.filters.set_count(self.model.matching, self.model.total)
        self._offer_demo()
        self.stack.setCurrentIndex(0 if self.model.total == 0 else 1)
        self.table.horizontalHeader().setSortIndicator(
            self.model.sort_column(),
            Qt.SortOrder.DescendingOrder if self.model.descending else Qt.SortOrder.AscendingOrder,
        )
        if self._select_after:
            self.select_case(self._select_after)
            self._select_after = None
        self._selection_changed()

    _select_after: str | None = None

    def select_case(self, case_number: str) -> bool:
        return select_row(self.table, self.model.row_of(case_number))

    def can_view(self) -> bool:
        """Cases are shown: not to an administrator, and not while nobody is signed in to a protected database."""
        return self.services.cases.allows(Action.VIEW) and not (
            self.services.actor is None and self.session.has_accounts()
        )

    def apply_role(self) -> None:
        """Show what the signed-in role may do (the service still refuses anything else)."""
        cases = self.services.cases
        actor = self.services.actor
        # Nobody signed in to a protected database: asked of the database once for the whole role (as can_view)
        signed_out = actor is None and self.session.has_accounts()
        view = cases.allows(Action.VIEW) and not signed_out
        edit = view and cases.allows(Action.EDIT_DRAFT)
        audit = cases.allows(Action.READ_AUDIT) and not signed_out
        for action in self.findChildren(QAction):
            action.setEnabled(True)
        for action in (*self.menuBar().actions(), *self.file_menu.actions()):
            action.setVisible(True)  # the role decides below; a sign-out left only Help and Quit
        for action in (self.new_action, self.repeat_action, self.delete_action,
                       self.template_menu.menuAction()):  # fmt: skip
            action.setVisible(edit)
        self._offer_demo()
        for action in (self.edit_action, self.pdf_action, self.export_action, self.search_action,
                       self.refresh_action, self.case_menu.menuAction()):  # fmt: skip
            action.setVisible(view)
        self.sign_action.setVisible(view and cases.allows(Action.SIGN))
        self.history_action.setVisible(view and audit)
        self.pathway_action.setVisible(view)
        self.policy_action.setVisible(may_set_policy(self.services) and not signed_out)
        # The whole trail: quality staff here, administrators in their own view; surgeons read case by case.
        self.trail_action.setVisible(audit and (actor is None or actor.role == "quality"))
        self.protect_action.setVisible(actor is None and not signed_out)  # a single-user database
        self.lock_action.setVisible(actor is not None)
        self.sign_out_action.setVisible(actor is not None)
        self.toolbar.setVisible(view)
        apply_role_to_desks(self, self.desk_actions)
        if view:
            self.pages.setCurrentWidget(self.stack)
        elif actor is not None and actor.role == "admin":
            if self.admin_view is None:
                from ui.admin_view import AdminView  # loaded for administrators only

                self.admin_view = AdminView(self.services.accounts, self.services, cases=lambda: self.services.cases)
                self.pages.addWidget(self.admin_view)
            self.pages.setCurrentWidget(self.admin_view)
        if not view:
            self._forget_cases()
        self._close_desks_of_another_session()
        if self.session.locked or signed_out:
            self._offer_sign_in_only()
        self._selection_changed()

    _desks_actor: object = None

    def _close_desks_of_another_session(self) -> None:
        """Desks opened by the previous user close when someone else signs in (they hold that user's view)."""
        actor = self.services.actor
        if actor == self._desks_actor:
            return
        self._desks_actor = actor
        from ui.desks import opened_desk_classes

        for kind in opened_desk_classes():
            for desk in [w for w in self.findChildren(kind) if w.parent() is self]:
                panel = getattr(desk, "panel", None)
                if panel is not None:
                    panel.show_entry(None)  # the quality desk would ask about a review nobody is here to save
                desk.close()
                desk.setParent(None)
                desk.deleteLater()

    def _offer_sign_in_only(self) -> None:
        """Locked or signed out: the lock screen's sign-in, Help and Quit; no settings, no database choice."""
        menus = (self.file_menu.menuAction(), self.help_menu.menuAction())  # the menus themselves still open
        allowed = (self.quit_action, self.shortcuts_action, self.about_action, *menus)
        for action in self.findChildren(QAction):
            action.setEnabled(action in allowed)
        for action in self.menuBar().actions():
            action.setVisible(action in menus)
        for action in self.file_menu.actions():
            action.setVisible(action is self.quit_action)
        self.toolbar.hide()

    def guard_window(self, window: QWidget) -> None:
        """A window opened over this one (a desk, a form) locks with the same key as the main window."""
        if self.lock_action not in window.actions():
            window.addAction(self.lock_action)

    def _forget_cases(self) -> None:
        """No rows of the last session stay in memory for a role that may not see them."""
        self.model.clear()
        self.detail.show_case(None)

    def show_lock_screen(self, lock: QWidget) -> None:
        if self.pages.indexOf(lock) < 0:
            self.pages.addWidget(lock)
        self.pages.setCurrentWidget(lock)
        self.detail.show_case(None)
        self._offer_sign_in_only()
        lock.setFocus()

    def hide_lock_screen(self) -> None:
        self.apply_role()

    def refresh(self, select: str | None = None) -> None:
        if not self.can_view():
            if self.admin_view is not None and self.pages.currentWidget() is self.admin_view:
                self.admin_view.refresh()
            return
        self._select_after = select
        self.model.refresh()  # first: its worker reads the first page while this thread reads the surgeons
        self._refresh_surgeons()

    def _refresh_surgeons(self) -> None:
        try:
            self.filters.set_surgeons(self.services.cases.surgeons())
        except CaselogError as exc:
            self.statusBar().showMessage(exc.message)

    def _focus_search(self) -> None:
        self.stack.setCurrentIndex(1)
        self.filters.search.setFocus()
        self.filters.search.selectAll()

    # ---- the case form ----------------------------------------------------------------------------------

    def _open_form(self, form_class: type[CaseForm] | None = None, **kwargs: Any) -> CaseForm | None:
        """The case form (`form_class`, else CaseForm), one at a time; its module loads with the first form."""
        if form_class is None:
            from ui.case_form import CaseForm as form_class
        if self.form is not None:
            self.form.raise_()
            self.form.activateWindow()
            return None
        if self.session.locked:
            return None
        form = form_class(self.services, self.settings, today=self._today, parent=self, **kwargs)
        form.finished.connect(lambda _result: self._form_closed(form))
        self.form = form
        self.guard_window(form)
        form.open()
        return form

    def _form_closed(self, form: CaseForm) -> None:
        self.form = None
        if form.saved is not None:
            self.statusBar().showMessage(f"Saved case {form.saved.case_number}.", 8000)
            self.refresh(select=form.saved.case_number)
        form.deleteLater()

    def new_case(self) -> CaseForm | None:
        if not (self.can_view() and self.services.cases.allows(Action.EDIT_DRAFT)):
            return None
        return self._open_form()

    def new_from_template(self, name: str) -> CaseForm | None:
        template = self.settings.value.templates.get(name)
        return self._open_form(data=template, title=f"New case from “{name}”")

    def _selected_view(self) -> CaseView | None:
        row = self.current_row()
        if row is None:
            return None
        try:
            return self.services.cases.get_case(row.case_number)
        except CaselogError as exc:
            show_error(self, "The case could not be opened", exc)
            return None

    def edit_case(self) -> CaseForm | None:
        view = self._selected_view()
        if view is None:
            return None
        actions = _case_actions()
        if actions.wants_follow_up(self.services, view):
            return self._open_form(actions.FollowUpForm, view=view)
        return self._open_form(data=actions.edit_data(view), editing=view)

    def repeat_case(self) -> CaseForm | None:
        view = self._selected_view()
        if view is None:
            return None
        title = f"Repeat procedure for {view.record.patient.display_name} (from case {view.case_number})"
        from ui.case_form import repeat_data

        return self._open_form(data=repeat_data(view), repeat_of=view, title=title)

    def offer_drafts(self) -> None:
        """At start and at each sign-in: forms left unsaved (a crash, or someone else taking over at the lock
        screen) are offered back to their owner, newest first (to those who may edit)."""
        if self.form is not None or self.session.locked:
            return
        if not (self.can_view() and self.services.cases.allows(Action.EDIT_DRAFT)):
            return
        for draft in drafts.pending_drafts(self.services.actor.username if self.services.actor else None):
            box = QMessageBox(self)
            box.setWindowTitle("Restore an unsaved case?")
            box.setIcon(QMessageBox.Icon.Question)
            box.setText(f"This form was left unsaved (CaseLog closed, or someone else signed in): {draft.description}.")
            box.setInformativeText("Restore it to finish and save it?")
            restore = box.addButton("Restore", QMessageBox.ButtonRole.AcceptRole)
            discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
            box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
            box.setDefaultButton(restore)
            box.exec()
            if box.clickedButton() is restore:
                self._open_form(draft=draft, title="Restored case (not saved yet)")
                return
            if box.clickedButton() is discard:
                drafts.discard_draft(draft.draft_id)

    def delete_draft(self) -> None:
        row = self.current_row()
        if row is None or row.status != "draft":
            return
        reason, ok = QInputDialog.getText(
            self,
            f"Delete draft case {row.case_number}?",
            f"Delete the draft of {row.patient_name} ({row.procedure_date}, case {row.case_number})?\n"
            "This cannot be undone. Reason (kept in the audit trail):",
            text="Entered in error",
        )
        if not ok:
            return
        try:
            self.services.cases.delete_case(row.case_number, reason=reason, expected_version=row.version)
        except CaselogError as exc:
            show_error(self, "The draft was not deleted", exc)
            return
        self.statusBar().showMessage(f"Deleted draft case {row.case_number}.", 8000)
        self.refresh()

    # ---- settings, layout, lifetime -------------------------------------------------------------------

    def open_settings(self) -> None:
        try:
            surgeons = self.services.cases.surgeons()
        except CaselogError:
            surgeons = []
        actor = self.services.actor
        may_move = not self.session.has_accounts() or (actor is not None and actor.role == "admin")
        SettingsDialog(self.settings, surgeons=surgeons, may_change_database=may_move, parent=self).exec()

    def bring_forward(self) -> None:
        self.setWindowState((self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive)
        self.show()
        self.raise_()
        self.activateWindow()

    def _layout_key(self, name: str) -> str:
        return layout_key("mainwindow", name)

    def _restore_layout(self) -> None:
        state = window_state()
        geometry = state.value(self._layout_key("geometry"))
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(fitted_size(self, QSize(1340, 760)))
        for key, restore in (
            ("state", self.restoreState),
            ("splitter", self.splitter.restoreState),
            ("columns", self.table.horizontalHeader().restoreState),
        ):
            value = state.value(self._layout_key(key))
            if isinstance(value, QByteArray) and not value.isEmpty():
                restore(value)

    def save_layout(self) -> None:
        state = window_state()
        state.setValue(self._layout_key("geometry"), self.saveGeometry())
        state.setValue(self._layout_key("state"), self.saveState())
        state.setValue(self._layout_key("splitter"), self.splitter.saveState())
        state.setValue(self._layout_key("columns"), self.table.horizontalHeader().saveState())
        state.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.form is not None:
            self.form.raise_()
            self.form.reject()
            if self.form is not None and self.form.isVisible():
                event.ignore()
                return
        from ui.desks import opened_desk_classes

        for kind in opened_desk_classes():  # a desk may hold an unsaved review: it asks, and may keep CaseLog open
            for desk in [w for w in self.findChildren(kind) if w.parent() is self and w.isVisible()]:
                if not desk.close():
                    event.ignore()
                    return
        self.save_layout()
        self.services.tasks.wait()
        super().closeEvent(event)
