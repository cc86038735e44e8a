"""The print desk for OR coordinators: a day's cases (or a selection) ticked for printing, a preview of their
summaries inside the app, then one print job or one PDF.

PDFs are laid out in the background into a private temporary folder (the writers write atomically, so a
cancelled or failed build leaves nothing behind); printing draws the previewed pages onto the printer, and
"Save as PDF" copies the previewed file (vector, not the printed images) atomically to where the user says.
"""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QDate, QSize, Qt, QTimer
from PySide6.QtGui import QCloseEvent
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QApplication,
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressDialog,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from caselog.exchange import atomic_output
from caselog.followup import FollowUpService
from caselog.records import CaseFilter, CaseListItem
from caselog.reports import write_case_summaries
from caselog.reports.pathway import pathways_for
from ui.desks.common import Desk, desk_action
from ui.desks.pdf_preview import PdfPreview, prepare_printer, print_document
from ui.desks.print_list import COL_PRINT, COLUMNS, PrintListModel
from ui.desks.schedule_panel import SchedulePanel
from ui.messages import show_error
from ui.progress import run_job
from ui.tables import list_table
from ui.tasks import Progress, Task
from ui.widgets import from_qdate, named_button, search_field, to_qdate
from ui.window_state import last_folder, remember_folder, restore_geometry, save_geometry

#: A search or a selection never lists more than this many cases to print at once.
MAX_LISTED = 500
#: The list shows case, status, patient, procedure, levels and surgeon without scrolling sideways.
LIST_WIDTH = 40 + 84 + 62 + 138 + 122 + 108 + 118 + 30
#: The save dialog opens where the last summaries were saved.
SAVE_FOLDER = "print-desk-pdf"
#: What the day field shows when the list is a selection or a search, not one day's cases.
NO_DAY = QDate(2000, 1, 1)
#: How long the ticks must rest before the preview is laid out again.
PREVIEW_DELAY_MS = 400


class PrintDesk(Desk):
    """Preview, print and save case summaries. `show_day`, `show_cases` and `find` choose what is listed."""

    def _build(self) -> None:
        """The day or the cases to list, the list and the preview; nothing is read until asked."""
        self._folder = tempfile.TemporaryDirectory(prefix="caselog-print-")
        self._builds = itertools.count(1)
        self._generation = 0
        self._build_task: Task | None = None
        self.preview_path: Path | None = None
        self.preview_numbers: tuple[str, ...] = ()
        self.setWindowTitle("Print desk – CaseLog")

        self.day = QDateEdit(to_qdate(self._today()))
        self.day.setCalendarPopup(True)
        self.day.setDisplayFormat("ddd yyyy-MM-dd")
        self.day.setAccessibleName("Day of surgery")
        self.day.setMinimumDate(NO_DAY)
        self.day.setSpecialValueText("— (not one day)")
        self.today_button = named_button("&Today's cases")
        self.today_button.setToolTip("List and preview every case of today (Ctrl+T)")
        self.search = search_field("Find a case to print", "Or find a case: number, MRN or name, then Enter")
        self.heading = QLabel("")
        self.heading.setObjectName("deskHeading")
        self.model = PrintListModel(self)
        self.table = list_table(self.model, "Cases to print", widths=[c.width for c in COLUMNS])
        self.tick_all = QPushButton("Tick &all")
        self.tick_none = QPushButton("Tick &none")
        self.ticked_label = QLabel("")
        self.ticked_label.setObjectName("hint")

        self.preview = PdfPreview()
        self.reload_action = desk_action(self, "&Reload", self.reload, "reload",
                                         "List the cases again and lay out the ticked ones' summaries")  # fmt: skip
        self.print_action = desk_action(self, "&Print…", self.print_summaries, "print",
                                        "Print the ticked cases' summaries as one job")  # fmt: skip
        self.save_action = desk_action(self, "&Save as PDF…", self.save_pdf, "save",
                                       "Save the ticked cases' summaries as one PDF file")  # fmt: skip
        self.today_action = desk_action(self, "Today's cases", self.show_today, "today", "List today's cases")
        # Ticking and unticking lays the preview out again, once the clicks pause (not once per click).
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(lambda: self.build_preview())
        toolbar = self.addToolBar("Print")
        toolbar.setObjectName("print")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in (self.print_action, self.save_action, self.reload_action):
            toolbar.addAction(action)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(8, 6, 4, 6)
        top = QHBoxLayout()
        top.addWidget(QLabel("Day:"))
        top.addWidget(self.day)
        top.addWidget(self.today_button)
        top.addStretch(1)
        ll.addLayout(top)
        ll.addWidget(self.search)
        ll.addWidget(self.heading)
        ll.addWidget(self.table, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.tick_all)
        bottom.addWidget(self.tick_none)
        bottom.addStretch(1)
        bottom.addWidget(self.ticked_label)
        ll.addLayout(bottom)
        # Below the cases to print: the day's schedule waiting to be completed as cases (caselog.schedule).
        self.schedule = SchedulePanel(self)
        column = QSplitter(Qt.Orientation.Vertical)
        column.addWidget(left)
        column.addWidget(self.schedule)
        column.setSizes([400, 300])
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(column)
        splitter.addWidget(self.preview)
        splitter.setStretchFactor(0, 0)  # the list keeps its width; the preview takes what the screen adds
        splitter.setStretchFactor(1, 1)
        self.splitter = splitter
        self.setCentralWidget(splitter)
        restore_geometry(self, "print-desk", QSize(1340, 760))
        splitter.setSizes([LIST_WIDTH, max(self.width() - LIST_WIDTH, 300)])

        self.day.dateChanged.connect(self._day_picked)
        self.today_button.clicked.connect(self.show_today)
        self.search.returnPressed.connect(lambda: self.find(self.search.text()))
        self.tick_all.clicked.connect(lambda: self.model.set_all(True))
        self.tick_none.clicked.connect(lambda: self.model.set_all(False))
        self.model.ticked_changed.connect(self._ticked_changed)
        self._ticked_changed()

    def say(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)

    def refresh(self) -> None:
        """The procedures to complete are read at once; the cases to print when a day or a search is chosen."""
        self.schedule.reload()

    # ---- what is listed -----------------------------------------------------------------------------------

    def show_today(self) -> None:
        today = self._today()
        if from_qdate(self.day.date()) == today:
            self.show_day(today)
        else:
            self.day.setDate(to_qdate(today))  # dateChanged lists the day

    def _set_day_field(self, day: dt.date | None) -> None:
        """The day field says which day is listed, or "—" for a selection or a search (not one day)."""
        self.day.blockSignals(True)
        self.day.setDate(NO_DAY if day is None else QDate(day.year, day.month, day.day))
        self.day.blockSignals(False)

    def _day_picked(self, picked: QDate) -> None:
        if picked != NO_DAY:
            self.show_day(from_qdate(picked))

    def show_day(self, day: dt.date) -> None:
        self._set_day_field(day)
        when = f"{day:%A %Y-%m-%d}"
        self._load(CaseFilter(date_from=day, date_to=day), f"Today, {when}" if day == self._today() else when)

    def listed_day(self) -> dt.date | None:
        """The day whose cases are listed; None for a selection or a search."""
        return None if self.day.date() == NO_DAY else from_qdate(self.day.date())

    def show_cases(self, case_numbers: list[str]) -> None:
        """A selection made elsewhere (the case list), printed in the order given."""
        wanted = list(dict.fromkeys(case_numbers))[:MAX_LISTED]
        noun = "case" if len(wanted) == 1 else "cases"
        self._set_day_field(None)
        self._load(CaseFilter(case_numbers=tuple(wanted)), f"Selected {noun}", order=wanted)

    def find(self, text: str) -> None:
        text = text.strip()
        if text:
            self._set_day_field(None)
            self._load(CaseFilter(search=text), f"Cases matching “{text}”", newest_first=True)

    def reload(self) -> None:
        """List the same cases again (someone may have signed or added one); ticks stay where they were."""
        self.schedule.reload()
        if self._last_load is not None:
            case_filter, heading, order, newest_first = self._last_load
            self._load(case_filter, heading, order=order, newest_first=newest_first, keep_ticks=True)

    _last_load: tuple[CaseFilter, str, list[str] | None, bool] | None = None

    def _load(self, case_filter: CaseFilter, heading: str, *, order: list[str] | None = None,
              newest_first: bool = False, keep_ticks: bool = False) -> None:  # fmt: skip
        self._generation += 1
        generation = self._generation
        self._last_load = (case_filter, heading, order, newest_first)
        service = self.services.cases
        self.heading.setText(f"{heading}: loading…")

        def work(_progress: Progress) -> list[CaseListItem]:
            if newest_first:
                return service.query(case_filter, sort="procedure_date", descending=True, limit=MAX_LISTED)
            return service.query(case_filter, sort="case_number", limit=MAX_LISTED)

        def loaded(rows: list[CaseListItem]) -> None:
            if generation != self._generation:
                return
            if order is not None:
                position = {n: i for i, n in enumerate(order)}
                rows = sorted(rows, key=lambda r: position.get(r.case_number, len(position)))
            self.model.set_rows(rows, ticked=set(self.model.ticked()) if keep_ticks else None)
            count = len(rows)
            self.heading.setText(f"{heading}: {count} case{'' if count == 1 else 's'}")
            if rows:
                self.build_preview()
            else:
                self._drop_preview("No cases to print here. Pick another day, or find a case by number, MRN or name.")

        def failed(exc: BaseException) -> None:
            if generation == self._generation:
                self.heading.setText(f"{heading}: could not be loaded")
                show_error(self, "The cases could not be loaded", exc)

        self.services.tasks.run(work, on_result=loaded, on_error=failed, owner=self)

    def _ticked_changed(self) -> None:
        ticked = self.model.ticked()
        total = self.model.rowCount()
        self.ticked_label.setText(f"{len(ticked)} of {total} ticked" if total else "")
        for action in (self.print_action, self.save_action):
            action.setEnabled(bool(ticked))
        if self.preview_path is not None and tuple(ticked) != self.preview_numbers:
            self._preview_timer.start()  # what is previewed is what is ticked

    # ---- building the PDF -------------------------------------------------------------------------------

    def preview_is_current(self) -> bool:
        return self.preview_path is not None and self.preview_numbers == tuple(self.model.ticked())

    def _drop_preview(self, text: str) -> None:
        self.preview.clear(text)
        if self.preview_path is not None:
            self.preview_path.unlink(missing_ok=True)
        self.preview_path = None
        self.preview_numbers = ()

    def build_preview(self, then: Callable[[], None] | None = None) -> Task | None:
        """Lay out the ticked cases' summaries in the background, then show them (and run `then`)."""
        self._preview_timer.stop()  # this layout is the one the ticks asked for
        numbers = tuple(self.model.ticked())
        if not numbers:
            self._drop_preview("Tick the cases to print.")
            return None
        if self._build_task is not None:
            self._build_task.cancel()  # an older layout nobody will look at
        build = next(self._builds)
        path = Path(self._folder.name) / f"summaries-{build}.pdf"
        service, report_settings = self.services.cases, self.settings.report_settings()

        def work(progress: Progress) -> Path:
            views = service.get_cases(list(numbers))
            pathways = pathways_for(views, service.patient_pathway)
            schedule = FollowUpService(service).schedule()  # the next follow-up as the desk shows it
            write_case_summaries(
                views, path, settings=report_settings, progress=progress, pathways=pathways, follow_up_schedule=schedule
            )
            return path

        def done(result: Path) -> None:
            if build != self._current_build:
                result.unlink(missing_ok=True)
                return
            self._build_task = None
            old = self.preview_path
            pages = self.preview.load(result)
            if old is not None and old != result:
                old.unlink(missing_ok=True)
            self.preview_path, self.preview_numbers = result, numbers
            n = len(numbers)
            self.say(f"Preview: {n} case summar{'y' if n == 1 else 'ies'}, {pages} page{'' if pages == 1 else 's'}.")
            if then is not None:
                then()

        def ended(message: str) -> None:
            path.unlink(missing_ok=True)
            if build == self._current_build:
                self._build_task = None
                self.say(message)

        self._current_build = build
        self._build_task = run_job(self, self.services, "Laying out case summaries…", work, done, on_end=ended)
        return self._build_task

    _current_build = 0

    def _with_current_preview(self, action: Callable[[], None]) -> None:
        if self.preview_is_current():
            action()
        else:
            self.build_preview(then=action)

    # ---- printing and saving ------------------------------------------------------------------------------

    def print_summaries(self, printer: QPrinter | None = None) -> None:
        """Ask for the printer (the system dialog), then print the previewed summaries as one job."""
        if self.model.ticked():
            self._with_current_preview(lambda: self._print_now(printer))

    def _print_now(self, printer: QPrinter | None) -> None:
        document = self.preview.document
        printer = printer or QPrinter(QPrinter.PrinterMode.HighResolution)
        prepare_printer(printer, document)
        printer.setDocName(f"CaseLog case summaries ({len(self.preview_numbers)})")
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("Print case summaries")
        if dialog.exec() != QDialog.DialogCode.Accepted:
            self.say("Printing cancelled; nothing was sent to the printer.")
            return
        progress = QProgressDialog("Sending pages to the printer…", "Cancel", 0, document.pageCount(), self)
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(300)

        def on_page(done: int, total: int) -> bool:
            progress.setMaximum(total)
            progress.setValue(done)
            QApplication.processEvents()
            return not progress.wasCanceled()

        try:
            sent = print_document(document, printer, on_page=on_page)
        except OSError as exc:
            show_error(self, "Printing did not start", exc)
            return
        finally:
            progress.close()
            progress.deleteLater()
        if not sent:
            self.say("Printing cancelled; the job was withdrawn.")
            return
        where = printer.outputFileName() or printer.printerName() or "the printer"
        self.say(f"Sent {sent} page{'' if sent == 1 else 's'} to {where}.")
        self._audit("printer")

    def save_pdf(self, path: Path | None = None) -> None:
        if self.model.ticked():
            self._with_current_preview(lambda: self._save_now(path))

    def _save_now(self, path: Path | None) -> Task | None:
        if path is None:
            numbers = self.preview_numbers
            day = self.listed_day()
            stem = f"case-{numbers[0]}" if len(numbers) == 1 else f"case-summaries-{day or self._today()}"
            name, _ = QFileDialog.getSaveFileName(self, "Save the case summaries",
                                                  str(last_folder(SAVE_FOLDER) / f"{stem}.pdf"),
                                                  "PDF (*.pdf)")  # fmt: skip
            if not name:
                return None
            path = Path(name) if name.lower().endswith(".pdf") else Path(f"{name}.pdf")
            remember_folder(SAVE_FOLDER, path)
        source = self.preview_path
        assert source is not None
        target = path

        def work(progress: Progress) -> Path:
            progress(0, 1, f"Saving {target.name}")
            with source.open("rb") as src, atomic_output(target, "wb") as out:
                shutil.copyfileobj(src, out)
            return target

        def done(result: Path) -> None:
            self.saved_path = result
            self.say(f"Saved {result}.")
            self._audit("pdf")

        return run_job(self, self.services, "Saving the PDF…", work, done, on_end=self.say)

    saved_path: Path | None = None

    def _audit(self, to: str) -> None:
        """Every printed or saved summary leaves an audit entry, as `caselog summary` does."""
        service, numbers = self.services.cases, self.preview_numbers

        def work(_progress: Progress) -> None:
            for number in numbers:
                service.record_event("print", record_id=number, details={"document": "case summary", "to": to})

        self.services.tasks.run(work, on_error=lambda exc: show_error(self, "The print was not audited", exc),
                                write=True)  # fmt: skip

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._build_task is not None:
            self._build_task.cancel()
        self.preview.document.close()
        save_geometry(self, "print-desk")
        super().closeEvent(event)

    def tick(self, case_number: str, ticked: bool) -> None:
        """As a click on the row's tick box."""
        for i, row in enumerate(self.model.rows()):
            if row.case_number == case_number:
                state = Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked
                self.model.setData(self.model.index(i, COL_PRINT), state, Qt.ItemDataRole.CheckStateRole)
