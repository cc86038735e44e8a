"""The main window's long work: exporting the list, case summary PDFs and demo data, with progress and Cancel.

Prints and exports are recorded in the audit trail, as from the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QInputDialog, QProgressDialog

from caselog.errors import CaselogError
from ui import jobs
from ui.case_model import CaseTableModel
from ui.messages import show_error
from ui.tasks import Task
from ui.window_parts import MainWindowParts

DEMO_CASES = 300


class CaseOutputActions(MainWindowParts):
    """Export, PDF and demo actions of the main window (which provides the attributes declared here)."""

    model: CaseTableModel
    progress: QProgressDialog | None
    last_output: Path | None

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
        filters = ";;".join(jobs.EXPORT_FILTERS.values())
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

        return self._run("Exporting cases…", work, done, write=True)

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
            for number in numbers:
                self._audit_output("print", record_id=number, details={"document": "case summary"})
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

    def _audit_output(self, action: str, **kwargs: Any) -> None:
        """Prints and exports leave an entry in the audit trail (contract section 4), as from the CLI."""
        try:
            self.services.cases.record_event(action, **kwargs)
        except CaselogError as exc:
            self.statusBar().showMessage(f"Not recorded in the audit trail: {exc.message}", 10000)
