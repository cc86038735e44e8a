"""The main window: the case list with search and filters, the detail pane, and every action on cases."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QItemSelectionModel, QSettings, Qt, QUrl, qVersion
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QInputDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from caselog import drafts, paths
from caselog.errors import CaselogError
from caselog.records import CaseRow, CaseView
from ui import jobs
from ui.case_form import CaseForm, edit_data, repeat_data
from ui.case_model import COLUMNS, CaseTableModel
from ui.detail_pane import CaseDetailPane
from ui.filter_bar import FilterBar
from ui.greeting import Greeting
from ui.messages import show_error
from ui.services import AppSettings, Services
from ui.settings_dialog import SettingsDialog
from ui.style import STYLE_SHEET
from ui.tasks import Task

DEMO_CASES = 300


def window_state() -> QSettings:
    """Window layout, kept beside the data (so CASELOG_HOME keeps tests and portable installs apart)."""
    return QSettings(str(paths.data_dir() / "window.ini"), QSettings.Format.IniFormat)


class MainWindow(QMainWindow):
    def __init__(
        self, services: Services, settings: AppSettings, *, today: Callable[[], dt.date] = dt.date.today
    ) -> None:
        super().__init__()
        self.services = services
        self.settings = settings
        self._today = today
        self.form: CaseForm | None = None
        self.progress: QProgressDialog | None = None
        self.last_output: Path | None = None
        self.setWindowTitle("CaseLog")
        self.setStyleSheet(STYLE_SHEET)

        self.model = CaseTableModel(services, self)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setAccessibleName("Cases")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSortIndicator(self.model.sort_column(), Qt.SortOrder.DescendingOrder)
        self.table.setSortingEnabled(True)  # after the indicator, or Qt sorts by the first column at once
        self.table.horizontalHeader().setHighlightSections(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        for i, column in enumerate(COLUMNS):
            self.table.setColumnWidth(i, column.width)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.detail = CaseDetailPane()
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
        self.setCentralWidget(self.stack)
        self.database_label = QLabel(f"Database: {services.database_name}")
        self.database_label.setObjectName("hint")
        self.statusBar().addPermanentWidget(self.database_label)

        self._make_actions()
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(lambda exc: show_error(self, "The cases could not be loaded", exc))
        self.model.modelReset.connect(self._selection_changed)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _i: self.edit_case())
        self.filters.changed.connect(self.model.set_filter)
        self.greeting.new_case.connect(self.new_case)
        self.greeting.load_demo.connect(self.load_demo)
        self.settings.changed.connect(self._build_template_menu)
        self._restore_layout()
        self._refresh_surgeons()
        self.model.refresh()

    # ---- actions ----------------------------------------------------------------------------------------

    def _action(
        self, text: str, slot: Callable[[], Any], shortcut: QKeySequence | str | None = None, tip: str = ""
    ) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(lambda _checked=False: slot())
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        name = text.replace("&", "").rstrip("…")
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        action.setToolTip(f"{tip or name}  ({keys})" if keys else tip or name)
        action.setStatusTip(tip)
        return action

    def _make_actions(self) -> None:
        self.new_action = self._action("&New case…", self.new_case, QKeySequence.StandardKey.New, "Log a new case")
        self.edit_action = self._action("&Edit case…", self.edit_case, None, "Open the selected case in the form")
        self.edit_action.setShortcuts([QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)])
        self.edit_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.table.addAction(self.edit_action)
        self.repeat_action = self._action(
            "&Repeat procedure…", self.repeat_case, "Ctrl+R", "New case for the same patient, procedure and levels"
        )
        self.delete_action = self._action("&Delete draft…", self.delete_draft, QKeySequence.StandardKey.Delete,
                                          "Delete the selected draft case")  # fmt: skip
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.table.addAction(self.delete_action)
        self.pdf_action = self._action("Case &summary PDF…", self.case_summary_pdf, QKeySequence.StandardKey.Print,
                                       "Write the selected cases' summaries to a PDF and open it")  # fmt: skip
        self.export_action = self._action("E&xport filtered cases…", self.export_cases, "Ctrl+E",
                                          "Save the cases in the list as CSV, Excel or JSON")  # fmt: skip
        self.demo_action = self._action("Load &demo data…", self.load_demo, None, "Add made-up cases to try CaseLog")
        self.settings_action = self._action("Se&ttings…", self.open_settings, QKeySequence.StandardKey.Preferences)
        if self.settings_action.shortcut().isEmpty():
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.refresh_action = self._action("&Reload list", self.refresh, QKeySequence.StandardKey.Refresh)
        self.search_action = self._action("&Find…", self._focus_search, QKeySequence.StandardKey.Find, "Search")
        self.quit_action = self._action("&Quit", self.close, QKeySequence.StandardKey.Quit)

        file_menu = self.menuBar().addMenu("&File")
        for action in (self.export_action, self.pdf_action, self.demo_action):
            file_menu.addAction(action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        case_menu = self.menuBar().addMenu("&Case")
        case_menu.addAction(self.new_action)
        self.template_menu = case_menu.addMenu("New from &template")
        for action in (self.edit_action, self.repeat_action, self.delete_action):
            case_menu.addAction(action)
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.search_action)
        view_menu.addAction(self.refresh_action)
        self._build_template_menu()

        toolbar = self.addToolBar("Actions")
        toolbar.setObjectName("actions")
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.setMovable(False)
        for action in (self.new_action, self.edit_action, self.repeat_action, self.delete_action):
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.pdf_action)
        toolbar.addAction(self.export_action)
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

    def selected_rows(self) -> list[CaseRow]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [r for r in (self.model.row_at(i) for i in rows) if r is not None]

    def current_row(self) -> CaseRow | None:
        index = self.table.currentIndex()
        selected = self.selected_rows()
        row = self.model.row_at(index.row()) if index.isValid() else None
        return row if row in selected else (selected[0] if selected else None)

    def _selection_changed(self, *_args: object) -> None:
        rows = self.selected_rows()
        one = len(rows) == 1
        self.edit_action.setEnabled(one)
        self.repeat_action.setEnabled(one)
        self.delete_action.setEnabled(one and rows[0].status == "draft")
        self.pdf_action.setEnabled(bool(rows))
        self.export_action.setEnabled(self.model.matching > 0)
        view = None
        if one:
            try:
                view = self.services.cases.get_case(rows[0].case_number)
            except CaselogError:
                view = None
        self.detail.show_case(view)

    def _loaded(self) -> None:
        self.filters.set_count(self.model.matching, self.model.total)
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
        row = self.model.row_of(case_number)
        if row < 0:
            return False
        index = self.model.index(row, 0)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().setCurrentIndex(index, flags)
        self.table.scrollTo(index)
        return True

    def refresh(self, select: str | None = None) -> None:
        self._select_after = select
        self._refresh_surgeons()
        self.model.refresh()

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

    def _open_form(self, **kwargs: Any) -> CaseForm | None:
        if self.form is not None:
            self.form.raise_()
            self.form.activateWindow()
            return None
        form = CaseForm(self.services, self.settings, today=self._today, parent=self, **kwargs)
        form.finished.connect(lambda _result: self._form_closed(form))
        self.form = form
        form.open()
        return form

    def _form_closed(self, form: CaseForm) -> None:
        self.form = None
        if form.saved is not None:
            self.statusBar().showMessage(f"Saved case {form.saved.case_number}.", 8000)
            self.refresh(select=form.saved.case_number)
        form.deleteLater()

    def new_case(self) -> CaseForm | None:
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
        return self._open_form(data=edit_data(view), editing=view) if view else None

    def repeat_case(self) -> CaseForm | None:
        view = self._selected_view()
        if view is None:
            return None
        title = f"Repeat procedure for {view.record.patient.display_name} (from case {view.case_number})"
        return self._open_form(data=repeat_data(view), title=title)

    def offer_drafts(self) -> None:
        """At start: forms left unsaved by a crash are offered back, newest first."""
        for draft in drafts.pending_drafts():
            box = QMessageBox(self)
            box.setWindowTitle("Restore an unsaved case?")
            box.setIcon(QMessageBox.Icon.Question)
            box.setText(f"CaseLog was closed while you were entering {draft.description}.")
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

    # ---- long work --------------------------------------------------------------------------------------

    def _run(self, title: str, work: Callable[[Any], Any], done: Callable[[Any], None], *, write: bool = False) -> Task:
        progress = QProgressDialog(title, "Cancel", 0, 0, self)
        progress.setWindowTitle("CaseLog")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(400)
        progress.setAutoClose(False)
        progress.setAutoReset(False)
        self.progress = progress

        def finish() -> None:
            progress.close()
            progress.deleteLater()
            self.progress = None

        def report(n: int, total: int, message: str) -> None:
            progress.setMaximum(max(total, 1))
            progress.setValue(min(n, max(total, 1)))
            progress.setLabelText(message)

        def succeeded(result: Any) -> None:
            finish()
            done(result)

        def failed(exc: BaseException) -> None:
            finish()
            show_error(self, f"{title.rstrip('…')} did not finish", exc)

        def cancelled() -> None:
            finish()
            self.statusBar().showMessage(f"{title.rstrip('…')}: cancelled.", 8000)

        task = self.services.tasks.run(
            work, on_result=succeeded, on_error=failed, on_progress=report, on_cancelled=cancelled, write=write
        )
        progress.canceled.connect(task.cancel)
        return task

    def export_cases(self) -> Task | None:
        filters = ";;".join(jobs.EXPORT_FORMATS.values())
        start = str(Path.home() / f"caselog-cases-{self._today():%Y-%m-%d}.csv")
        name, chosen = QFileDialog.getSaveFileName(self, "Export the cases in the list", start, filters)
        if not name:
            return None
        path = Path(name)
        fmt = jobs.export_format(path, chosen)
        if path.suffix.lower() != f".{fmt}":
            path = path.with_name(f"{path.name}.{fmt}")
        work = jobs.export_cases(self.services.cases, self.model.case_filter, path, fmt)

        def done(count: int) -> None:
            self.last_output = path
            self.statusBar().showMessage(f"Exported {count:,} cases to {path}.", 10000)

        return self._run("Exporting cases…", work, done)

    def case_summary_pdf(self) -> Task | None:
        rows = self.selected_rows()
        if not rows:
            return None
        stem = f"case-{rows[0].case_number}" if len(rows) == 1 else f"case-summaries-{len(rows)}"
        name, _ = QFileDialog.getSaveFileName(
            self, "Save the case summary PDF", str(Path.home() / f"{stem}.pdf"), "PDF (*.pdf)"
        )
        if not name:
            return None
        path = Path(name) if name.lower().endswith(".pdf") else Path(f"{name}.pdf")
        numbers = [r.case_number for r in rows]
        work = jobs.case_summaries(self.services.cases, numbers, path, self.settings.report_settings())

        def done(result: Path) -> None:
            self.last_output = result
            self.statusBar().showMessage(f"Saved {result}.", 10000)
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(result)))

        return self._run("Writing case summaries…", work, done)

    def load_demo(self) -> Task | None:
        count, ok = QInputDialog.getInt(
            self,
            "Load demo data",
            "Made-up cases to add (for trying CaseLog, not for a clinic's database):",
            DEMO_CASES,
            1,
            100_000,
        )
        if not ok:
            return None

        def done(added: int) -> None:
            self.statusBar().showMessage(f"Added {added:,} demo cases.", 8000)
            self.refresh()

        return self._run("Loading demo data…", jobs.load_demo(self.services.cases, count), done, write=True)

    # ---- settings, layout, lifetime -------------------------------------------------------------------

    def open_settings(self) -> None:
        try:
            surgeons = self.services.cases.surgeons()
        except CaselogError:
            surgeons = []
        SettingsDialog(self.settings, surgeons=surgeons, parent=self).exec()

    def bring_forward(self) -> None:
        self.setWindowState((self.windowState() & ~Qt.WindowState.WindowMinimized) | Qt.WindowState.WindowActive)
        self.show()
        self.raise_()
        self.activateWindow()

    def _layout_key(self, name: str) -> str:
        return f"mainwindow/{name}-qt{qVersion()}"

    def _restore_layout(self) -> None:
        state = window_state()
        geometry = state.value(self._layout_key("geometry"))
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1340, 760)
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
        self.save_layout()
        self.services.tasks.wait()
        super().closeEvent(event)
