"""The follow-up desk's papers: the call list and the patient letters of the follow-ups it lists, saved as a PDF
or printed, each leaving an audit entry as every print does (caselog.reports.followup_letters lays them out)."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog

from caselog.followup import DueFollowUp
from ui.desks.common import Desk
from ui.desks.pdf_preview import prepare_printer, print_document
from ui.messages import show_error
from ui.progress import run_job
from ui.tasks import Progress, Task
from ui.window_state import last_folder, remember_folder


class Listing(Protocol):
    """What the papers read from the desk: the rows it lists, in its order, and the filters' words."""

    def rows(self) -> list[DueFollowUp]: ...

    def scope(self) -> str: ...


#: The save dialog opens where the last call list or letters were saved.
SAVE_FOLDER = "followup-desk-pdf"


class FollowUpPapers:
    """`save(document, path)` and `print(document, printer)` for the "call list" or the "letters" of the rows
    the desk lists, in its order; printing lays the PDF out in a private temporary folder first."""

    def __init__(self, desk: Desk, listing: Listing, say: Callable[[str], None]) -> None:
        self.desk, self.listing, self.say = desk, listing, say
        #: Where the last call list or letters were saved (the desk's tests read it).
        self.last_output: Path | None = None
        self._folder = tempfile.TemporaryDirectory(prefix="caselog-followup-")
        self._builds = itertools.count(1)

    def _writer(self, document: str) -> Callable[[list[DueFollowUp], Path], None]:
        # reportlab loads with the first call list or letters, not with the desk (16 MB)
        from caselog.reports.followup_letters import write_call_list, write_patient_letters

        report_settings, today, scope = self.desk.settings.report_settings(), self.desk._today(), self.listing.scope()
        if document == "call list":
            return lambda rows, path: write_call_list(rows, path, settings=report_settings, today=today, scope=scope)
        return lambda rows, path: write_patient_letters(rows, path, settings=report_settings)

    def _audit(self, document: str, rows: Sequence[DueFollowUp], to: str) -> Callable[[], None]:
        """Every printed or saved call list or letter leaves an audit entry, as the print desk's summaries do:
        the call list one entry naming its cases, the letters one entry per case (each is a patient's page)."""
        service = self.desk.services.cases
        numbers = list(dict.fromkeys(r.case_number for r in rows))

        def record() -> None:
            if document == "call list":
                details = {"document": "follow-up call list", "to": to, "cases": numbers}
                service.record_event("print", record_type="report", details=details)
            else:
                for number in numbers:
                    service.record_event("print", record_id=number, details={"document": "follow-up letter", "to": to})

        return record

    def save(self, document: str, path: Path | None) -> Task | None:
        rows = self.listing.rows()
        if not rows:
            return None
        if path is None:
            stem = f"follow-up-{'call-list' if document == 'call list' else 'letters'}-{self.desk._today()}"
            name, _ = QFileDialog.getSaveFileName(self.desk, f"Save the {document}", str(last_folder(SAVE_FOLDER) /
                                                  f"{stem}.pdf"), "PDF (*.pdf)")  # fmt: skip
            if not name:
                return None
            path = Path(name) if name.lower().endswith(".pdf") else Path(f"{name}.pdf")
            remember_folder(SAVE_FOLDER, path)
        write, audit, target = self._writer(document), self._audit(document, rows, "pdf"), path

        def work(progress: Progress) -> Path:
            progress(0, 1, f"Laying out {target.name}")
            write(rows, target)
            try:
                audit()
            except BaseException:
                target.unlink(missing_ok=True)  # no patient's page leaves the app unrecorded
                raise
            return target

        def done(result: Path) -> None:
            from caselog.reports.followup_letters import by_patient

            self.last_output = result
            what = f"{len(rows)} follow-ups" if document == "call list" else f"{len(by_patient(rows))} letters"
            self.say(f"Saved the {document} ({what}) to {result}.")

        return run_job(
            self.desk, self.desk.services, f"Saving the {document}…", work, done, write=True, on_end=self.say
        )

    def print(self, document: str, printer: QPrinter | None) -> Task | None:
        """Lay the PDF out in the background, then ask for the printer (the system dialog) and print it."""
        rows = self.listing.rows()
        if not rows:
            return None
        path = Path(self._folder.name) / f"{document.replace(' ', '-')}-{next(self._builds)}.pdf"
        write = self._writer(document)

        def work(progress: Progress) -> Path:
            progress(0, 1, f"Laying out the {document}")
            write(rows, path)
            return path

        def done(result: Path) -> None:
            try:
                self._send_to_printer(document, rows, result, printer)
            finally:
                result.unlink(missing_ok=True)

        return run_job(self.desk, self.desk.services, f"Laying out the {document}…", work, done, on_end=self.say)

    def _send_to_printer(self, document: str, rows: list[DueFollowUp], path: Path, printer: QPrinter | None) -> None:
        pdf = QPdfDocument(self.desk)
        try:
            pdf.load(str(path))
            printer = printer or QPrinter(QPrinter.PrinterMode.HighResolution)
            prepare_printer(printer, pdf)
            printer.setDocName(f"CaseLog follow-up {document}")
            dialog = QPrintDialog(printer, self.desk)
            dialog.setWindowTitle(f"Print the {document}")
            if dialog.exec() != QDialog.DialogCode.Accepted:
                self.say("Printing cancelled; nothing was sent to the printer.")
                return
            try:
                sent = print_document(pdf, printer)
            except OSError as exc:
                show_error(self.desk, "Printing did not start", exc)
                return
        finally:
            pdf.close()
            pdf.deleteLater()
        where = printer.outputFileName() or printer.printerName() or "the printer"
        self.say(f"Sent the {document} ({sent} page{'' if sent == 1 else 's'}) to {where}.")
        audit = self._audit(document, rows, "printer")

        def work(_progress: Progress) -> None:
            audit()

        desk = self.desk
        desk.services.tasks.run(
            work, on_error=lambda exc: show_error(desk, "The print was not audited", exc), write=True
        )
