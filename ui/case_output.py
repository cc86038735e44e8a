"""The main window's long work: exporting the list, case summary PDFs and demo data, with progress and Cancel.

Prints and exports are recorded in the audit trail, as from the command line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QInputDialog

from caselog.errors import CaselogError
from ui.case_model import CaseTableModel
from ui.progress import run_job
from ui.tasks import Task
from ui.window_parts import MainWindowParts

if TYPE_CHECKING:
    from types import ModuleType

DEMO_CASES = 300


def _jobs() -> ModuleType:
    """ui.jobs, and with it the exports, the summaries and the demo data, loaded with the first of them (not
    before the first page of cases is on screen)."""
    from ui import jobs

    return jobs


class CaseOutputActions(MainWindowParts):
    """Export, PDF and demo actions of the main window (which provides the attributes declared here)."""

    model: CaseTableModel
    last_output: Path | None

    def _run(
        self, title: str, work: Callable[[Any], Any], done: Callable[[Any], None], *, write: bool = False,
        atomic: bool = True,
    ) -> Task:  # fmt: skip
        def say(message: str) -> None:
            self.statusBar().showMessage(message, 8000)

        return run_job(self, self.services, title, work, done, write=write, on_end=say, atomic=atomic)

    def export_cases(self) -> Task | None:
        jobs = _jobs()
        offered = jobs.export_filters(self.services.cases)
        start = str(Path.home() / f"caselog-cases-{self._today():%Y-%m-%d}.csv")
        name, chosen = QFileDialog.getSaveFileName(self, "Export the cases in the list", start,
                                                   ";;".join(offered.values()))  # fmt: skip
        if not name:
            return None
        path = Path(name)
        fmt = jobs.export_format(path, chosen, offered)
        path = jobs.export_path(path, fmt)
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
        work = _jobs().case_summaries(self.services.cases, numbers, path, self.settings.report_settings())

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

        work = _jobs().load_demo(self.services.cases, count)
        return self._run("Loading demo data…", work, done, write=True, atomic=False)  # added batch by batch

    def _audit_output(self, action: str, **kwargs: Any) -> None:
        """Prints and exports leave an entry in the audit trail (contract section 4), as from the CLI."""
        try:
            self.services.cases.record_event(action, **kwargs)
        except CaselogError as exc:
            self.statusBar().showMessage(f"Not recorded in the audit trail: {exc.message}", 10000)
