"""The quality desk: every complication across all cases, filtered and sorted, with the review workflow,
the complication log PDF and an Excel export of exactly what the filters show; and, on its "Outside policy"
page (ui.desks.outside_policy), every ablation outside the clinic's indication policy.

Open reviews are counted in the banner above the list and in the window title, whatever the filters.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from caselog import exports, research, vocab
from caselog.accounts import Action
from caselog.quality import ComplicationEntry, ComplicationFilter, review_counts
from caselog.records import CaseFilter
from ui.desks import quality_jobs
from ui.desks.common import DateRange, Desk, desk_action, set_combo_items
from ui.desks.outside_policy import OutsidePolicyPage
from ui.desks.quality_model import ComplicationTableModel, entry_key
from ui.desks.review_panel import ReviewPanel
from ui.messages import show_error
from ui.paged_model import paged_table
from ui.progress import run_job
from ui.style import review_colour
from ui.tables import Selection, select_row
from ui.tasks import Progress, Task
from ui.widgets import combo
from ui.window_state import restore_geometry, save_geometry


class QualityDesk(Desk):
    """`open_case(case_number)` asks the main window to open a case; `counts` are the review counts shown."""

    open_case = Signal(str)

    def _build(self) -> None:
        """The filters, the complications list and the review panel."""
        self.counts: dict[str, int] = {}
        #: After a reload: a row to select, or ("next open", the rows below the saved one, the saved one).
        self._select_after: Any = None
        self.last_output: Path | None = None
        self.setWindowTitle("Quality desk – CaseLog")

        self.dates = DateRange(today=self._today)
        self.procedure = combo(
            "Procedure filter", [("All procedures", None), *((v, k) for k, v in vocab.PROCEDURES.items())]
        )
        self.surgeon = combo("Surgeon filter", [("All surgeons", None)])
        self.category = combo(
            "Category filter", [("All categories", None), *((v, k) for k, v in vocab.COMPLICATION_CATEGORIES.items())]
        )
        self.grade = combo(
            "Clavien-Dindo filter", [("Any grade", None), *((f"Grade {g}", g) for g in vocab.GRADE_RANK)]
        )
        self.timing = combo(
            "Timing filter", [("Any timing", None), *((v, k) for k, v in vocab.COMPLICATION_TIMINGS.items())]
        )
        self.review = combo("Review status filter", [("Any review status", None),
                                                      *((v, k) for k, v in vocab.REVIEW_STATUSES.items())])  # fmt: skip
        self.clear = QPushButton("Clear filters")
        self.count = QLabel("")
        self.count.setAccessibleName("Number of complications shown")
        self.count.setStyleSheet("font-weight: 600;")
        self.banner = QLabel("")
        self.banner.setAccessibleName("Open reviews")
        self.show_open = QPushButton("Show open reviews")
        self.show_open.setAccessibleName("Show open reviews")

        self.model = ComplicationTableModel(self.services, self)
        self.table = paged_table(self.model, "Complications", selection=Selection.SingleSelection)
        self.panel = ReviewPanel(may_review=self.services.cases.allows(Action.REVIEW))

        self.open_action = desk_action(
            self, "&Open case", self._open_selected, "open_case", "Open the selected complication's case"
        )
        log_tip = "The complication log PDF of the date range, for the quality committee"
        self.log_action = desk_action(self, "Complication &log PDF…", self.complication_log, "complication_log",
                                      log_tip)  # fmt: skip
        export_tip = "Save exactly the complications the filters show as an Excel workbook"
        self.export_action = desk_action(self, "E&xport to Excel…", self._export, "export", export_tip)
        research_tip = "Cases of the date range, procedure and surgeon chosen, de-identified for research (ZIP)"
        self.research_action = desk_action(self, "Re&search export…", self.research_export, "research_export",
                                           research_tip)  # fmt: skip
        self.research_action.setVisible(research.may_release(self.services.cases))  # quality staff release it
        self.reload_action = desk_action(self, "&Reload", self.refresh, "reload", "Reload the list")
        enter = desk_action(self.table, "Open case", self._open_selected, "open", "Open the selected case")
        enter.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        toolbar = self.addToolBar("Quality")
        toolbar.setObjectName("quality")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.open_action, self.log_action, self.export_action, self.research_action,
                       self.reload_action):  # fmt: skip
            toolbar.addAction(action)

        filters = QWidget()
        fl = QVBoxLayout(filters)
        fl.setContentsMargins(8, 6, 8, 2)
        # Three short rows rather than two long ones: the desk fits a 1366×768 screen at 150% (911 points).
        first = QHBoxLayout()
        for w in (self.dates, self.procedure, self.surgeon):
            first.addWidget(w)
        first.addStretch(1)
        second = QHBoxLayout()
        for w in (self.category, self.grade, self.timing, self.review, self.clear):
            second.addWidget(w)
        second.addStretch(1)
        third = QHBoxLayout()
        third.addWidget(self.banner)
        third.addWidget(self.show_open)
        third.addStretch(1)
        third.addWidget(self.count)
        for row in (first, second, third):
            fl.addLayout(row)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([960, 380])
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(filters)
        cl.addWidget(splitter, 1)
        self.outside = OutsidePolicyPage(self.services, today=self._today)
        self._outside_read = False  # read when first shown: opening the desk checks no policy
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Quality desk pages")
        self.tabs.addTab(central, "Co&mplications")
        self.tabs.addTab(self.outside, "Outside &policy")
        self.tabs.setTabToolTip(1, "Every ablation outside the clinic's indication policy, with or without a reason")
        self.setCentralWidget(self.tabs)
        restore_geometry(self, "quality-desk", QSize(1280, 760))

        self.dates.changed.connect(self._filters_changed)
        for box in (self.procedure, self.surgeon, self.category, self.grade, self.timing, self.review):
            box.currentIndexChanged.connect(self._filters_changed)
        self.clear.clicked.connect(self.clear_filters)
        self.show_open.clicked.connect(lambda: self.review.setCurrentIndex(self.review.findData("open")))
        self.model.loaded.connect(self._loaded)
        self.model.failed.connect(lambda exc: show_error(self, "The complications could not be loaded", exc))
        self.model.modelReset.connect(self._selection_changed)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.installEventFilter(self)
        self.table.viewport().installEventFilter(self)
        self.table.doubleClicked.connect(lambda _i: self._open_selected())
        self.panel.save_requested.connect(self.save_review)
        self.panel.open_requested.connect(self._open_selected)
        self.outside.open_case.connect(self.open_case)
        self.outside.say.connect(self.say)
        self.outside.model.loaded.connect(self._page_changed)
        self.outside.model.failed.connect(lambda exc: show_error(self, "The cases could not be checked", exc))
        self.outside.table.selectionModel().selectionChanged.connect(self._page_changed)
        self.outside.model.modelReset.connect(self._page_changed)
        self.tabs.currentChanged.connect(self._page_changed)

    def say(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)

    # ---- the two pages ------------------------------------------------------------------------------------

    def outside_shown(self) -> bool:
        return self.tabs.currentWidget() is self.outside

    def show_outside_policy(self) -> None:
        """Bring the "Outside policy" page forward (read on first showing)."""
        self.tabs.setCurrentWidget(self.outside)

    def _page_changed(self, *_args: object) -> None:
        """The toolbar acts on the page shown: open its selected case, export its list."""
        outside = self.outside_shown()
        if outside and not self._outside_read:
            self._outside_read = True
            self.outside.refresh()
        self.log_action.setEnabled(not outside)
        if outside:
            self.open_action.setEnabled(self.outside.selected() is not None)
            self.export_action.setEnabled(self.outside.model.rowCount() > 0)
            self.export_action.setText("E&xport list…")
            self.export_action.setToolTip("Save exactly the cases outside the policy shown, as Excel or CSV")
        else:
            self.open_action.setEnabled(self.selected() is not None)
            self.export_action.setEnabled(self.model.matching > 0)
            self.export_action.setText("E&xport to Excel…")
            self.export_action.setToolTip("Save exactly the complications the filters show as an Excel workbook")

    def _export(self) -> None:
        if self.outside_shown():
            self.outside.export()
        else:
            self.export_xlsx()

    # ---- filters and loading ------------------------------------------------------------------------------

    def complication_filter(self) -> ComplicationFilter:
        date_from, date_to = self.dates.dates()
        return ComplicationFilter(
            date_from=date_from,
            date_to=date_to,
            procedure=self.procedure.currentData(),
            surgeon=self.surgeon.currentData(),
            category=self.category.currentData(),
            clavien_dindo=self.grade.currentData(),
            timing=self.timing.currentData(),
            review_status=self.review.currentData(),
        )

    def _filters_changed(self, *_args: object) -> None:
        self.model.set_filter(self.complication_filter())

    def clear_filters(self) -> None:
        for box in (self.procedure, self.surgeon, self.category, self.grade, self.timing, self.review):
            box.blockSignals(True)
            box.setCurrentIndex(0)
            box.blockSignals(False)
        self.dates.pick.blockSignals(True)
        self.dates.pick.setCurrentIndex(0)
        self.dates.pick.blockSignals(False)
        self.dates._picked()
        self._filters_changed()

    def refresh(self) -> None:
        """Reload the list, the surgeons and the review counts (over all complications, not only the shown)."""
        service = self.services.cases

        def work(_progress: Progress) -> tuple[list[str], dict[str, int]]:
            return service.surgeons(), review_counts(service)

        def loaded(result: tuple[list[str], dict[str, int]]) -> None:
            surgeons, counts = result
            set_combo_items(self.surgeon, ("All surgeons", None), [(s, s) for s in surgeons])
            self._show_counts(counts)

        self.services.tasks.run(work, on_result=loaded, on_error=lambda exc: self.say(f"Counts not loaded: {exc}"),
                                owner=self)  # fmt: skip
        self.model.set_filter(self.complication_filter())
        if self._outside_read:
            self.outside.refresh()

    def _show_counts(self, counts: dict[str, int]) -> None:
        self.counts = counts
        open_, review = counts.get("open", 0), counts.get("under_review", 0)
        if open_ or review:
            text = f"{open_:,} open review{'' if open_ == 1 else 's'} · {review:,} under review"
            style = f"color: {review_colour('open' if open_ else 'under_review', self.palette()).name()};"
        else:
            text, style = "No reviews open", f"color: {review_colour('closed', self.palette()).name()};"
        style += " font-weight: 600;"
        self.banner.setText(text)
        self.banner.setStyleSheet(style)
        self.show_open.setEnabled(open_ > 0)
        self.setWindowTitle(f"Quality desk – {open_:,} open review{'' if open_ == 1 else 's'} – CaseLog")

    def _loaded(self) -> None:
        total = self.counts and sum(self.counts.values())
        shown = self.model.matching
        noun = "complication" if shown == 1 else "complications"
        self.count.setText(f"{shown:,} {noun}" + (f" of {total:,}" if total and total != shown else ""))
        self.table.horizontalHeader().setSortIndicator(
            self.model.sort_column(),
            Qt.SortOrder.DescendingOrder if self.model.descending else Qt.SortOrder.AscendingOrder,
        )
        if not self.outside_shown():
            self.export_action.setEnabled(shown > 0)
        if self._select_after is not None:
            wanted, self._select_after = self._select_after, None
            if wanted[0] == "next open":
                _, after, saved = wanted
                self.select(self._next_open(after) or saved)
            else:
                self.select(wanted)

    def _next_open(self, after: list[tuple[str, int]]) -> tuple[str, int] | None:
        """The first open review below the one just saved (as the list was), else the first open one above."""
        open_keys = [entry_key(r) for r in self.model.rows() if r.review_status == "open"]
        below = [k for k in after if k in set(open_keys)]
        return below[0] if below else (open_keys[0] if open_keys else None)

    def select(self, key: tuple[str, int]) -> bool:
        return select_row(self.table, self.model.row_of(key))

    def selected(self) -> ComplicationEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.row_at(rows[0].row()) if rows else None

    def _selection_changed(self, *_args: object) -> None:
        entry = self.selected()
        shown = self.panel.entry
        if self.panel.dirty() and shown is not None:
            if entry is None:
                # The list reloaded (a filter, a sort): the review being typed stays in the panel, and can be saved.
                self.open_action.setEnabled(self.outside_shown() and self.outside.selected() is not None)
                return
            wanted = entry_key(entry)
            # One key press may move the selection twice (the view re-applies it): one question, not two.
            if wanted != entry_key(shown) and (wanted == self._declined or not self._may_leave(then_select=wanted)):
                self._declined = wanted
                self._reselect(entry_key(shown))
                return
        self.panel.show_entry(entry)
        self.open_action.setEnabled((self.outside.selected() if self.outside_shown() else entry) is not None)

    #: The row the reviewer just declined to move to, until the events of that key press or click are done.
    _declined: tuple[str, int] | None = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """A new key press or click on the list may ask again; the moves within one may not."""
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress):
            self._declined = None
        return super().eventFilter(watched, event)

    def _may_leave(self, *, then_select: tuple[str, int] | None) -> bool:
        """Typed review notes or a changed status are never dropped silently: Save, Discard or Cancel."""
        shown = self.panel.entry
        assert shown is not None
        answer = QMessageBox.question(
            self,
            "Save the review?",
            f"The review of case {shown.case_number}, {shown.category_label}, has changes that are not saved.",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            if not self.panel.save.isEnabled():  # e.g. notes too long: stay, so the reviewer can fix them
                return False
            self.save_review(self.panel.status.currentData(), self.panel.notes.toPlainText(), then_select=then_select)
            return True
        return answer == QMessageBox.StandardButton.Discard

    def _reselect(self, key: tuple[str, int]) -> None:
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        if not self.select(key):
            selection.clearSelection()
        selection.blockSignals(False)
        self.table.viewport().update()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.panel.dirty() and not self._may_leave(then_select=None):
            event.ignore()
            return
        save_geometry(self, "quality-desk")
        super().closeEvent(event)

    def _open_selected(self) -> None:
        if self.outside_shown():
            self.outside.open_selected()
            return
        entry = self.selected()
        if entry is not None:
            self.open_case.emit(entry.case_number)

    # ---- the review -----------------------------------------------------------------------------------------

    def save_review(self, status: str, notes: str, *, then_select: tuple[str, int] | None = None) -> Task | None:
        """Save the panel's review; then select `then_select`, or else the next open review in the list."""
        entry = self.panel.entry
        if entry is None:
            return None
        service = self.services.cases
        key = entry_key(entry)
        keys_after = [entry_key(r) for r in self.model.rows()]
        keys_after = keys_after[keys_after.index(key) + 1 :] if key in keys_after else keys_after

        def work(_progress: Progress) -> dict[str, int]:
            service.set_review(entry.case_number, entry.position, review_status=status, notes=notes)
            return review_counts(service)

        def saved(counts: dict[str, int]) -> None:
            label = vocab.label(vocab.REVIEW_STATUSES, status)
            self.say(f"Review saved: case {entry.case_number}, {entry.category_label}: {label}.")
            self._show_counts(counts)
            if self.panel.entry is not None and entry_key(self.panel.entry) == key:
                self.panel.show_entry(None)  # saved: nothing left to ask about while the list reloads
            self._select_after = then_select or ("next open", keys_after, key)
            self.model.refresh()

        def failed(exc: BaseException) -> None:
            self.panel.show_entry(self.selected())
            show_error(self, "The review was not saved", exc)

        return self.services.tasks.run(work, on_result=saved, on_error=failed, write=True, owner=self)

    # ---- outputs ---------------------------------------------------------------------------------------------

    def _ask_path(self, title: str, stem: str, suffix: str, kind: str) -> Path | None:
        name, _ = QFileDialog.getSaveFileName(self, title, str(Path.home() / f"{stem}.{suffix}"), kind)
        if not name:
            return None
        return Path(name) if name.lower().endswith(f".{suffix}") else Path(f"{name}.{suffix}")

    def export_xlsx(self, path: Path | None = None) -> Task | None:
        path = path or self._ask_path("Export the complications shown", f"complications-{self._today()}", "xlsx",
                                      "Excel workbook (*.xlsx)")  # fmt: skip
        if path is None:
            return None
        model = self.model
        work = quality_jobs.export_complications(
            self.services.cases, model.filter, path, sort=model.sort_key, descending=model.descending
        )

        def done(count: int) -> None:
            self.last_output = path
            self.say(f"Exported {count:,} complications to {path}.")

        return run_job(self, self.services, "Exporting complications…", work, done, write=True, on_end=self.say)

    def research_export(self, path: Path | None = None) -> Task | None:
        """The de-identified research export (caselog.research) of the cases the date range, procedure and
        surgeon filters select; the complication filters do not apply to cases."""
        date_from, date_to = self.dates.dates()
        case_filter = CaseFilter(date_from=date_from, date_to=date_to, procedure=self.procedure.currentData(),
                                 surgeon=self.surgeon.currentData())  # fmt: skip
        path = path or self._ask_path("Save the de-identified research export", f"research-{self._today()}", "zip",
                                      exports.FORMATS["research"].dialog_filter)  # fmt: skip
        if path is None:
            return None
        service, target = self.services.cases, path

        def work(progress: Progress) -> int:
            return exports.export_cases(service, case_filter, "research", target, progress=progress)

        def done(count: int) -> None:
            self.last_output = target
            self.say(f"Exported {count:,} de-identified cases to {target}.")

        return run_job(self, self.services, "Writing the research export…", work, done, write=True, on_end=self.say)

    def complication_log(self, path: Path | None = None) -> Task | None:
        date_from, date_to = self.dates.dates()
        stem = "complication-log" + (f"-{date_from}-to-{date_to}" if date_from else "")
        path = path or self._ask_path("Save the complication log", stem, "pdf", "PDF (*.pdf)")
        if path is None:
            return None
        work = quality_jobs.complication_log(self.services.cases, date_from, date_to, path,
                                             self.settings.report_settings())  # fmt: skip

        def done(result: tuple[int, int]) -> None:
            self.last_output = path
            cases, events = result
            note = "" if self.complication_filter() == ComplicationFilter(date_from=date_from, date_to=date_to) else (
                " The log covers every case in the date range: its rates need all cases, so the other filters"
                " do not apply to it."
            )  # fmt: skip
            self.say(f"Saved the complication log ({cases:,} cases, {events:,} complications) to {path}.{note}")

        return run_job(self, self.services, "Writing the complication log…", work, done, write=True, on_end=self.say)
