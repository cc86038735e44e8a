"""Long work behind a progress dialog with Cancel, for the main window and the desks alike."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProgressDialog, QWidget

from ui.messages import show_error
from ui.services import Services
from ui.tasks import Progress, Task


def run_job(
    parent: QWidget,
    services: Services,
    title: str,
    work: Callable[[Progress], Any],
    done: Callable[[Any], None],
    *,
    write: bool = False,
    on_end: Callable[[str], None] | None = None,
    atomic: bool = True,
) -> Task:
    """Run `work` in the background behind a progress dialog with Cancel (shown after 300 ms).

    `on_end(message)` hears how it ended when it did not succeed ("cancelled: …" / "failed: …"), so the
    window can say so where the user looks; a failure is also shown in a message box. `atomic` work (a file
    written whole or not at all) says that nothing was written; other work (demo data in batches) does not.
    """
    progress = QProgressDialog(title, "Cancel", 0, 0, parent)
    progress.setWindowTitle(title.rstrip("…"))
    progress.setWindowModality(Qt.WindowModality.WindowModal)
    progress.setMinimumDuration(300)
    progress.setAutoClose(False)
    progress.setAutoReset(False)
    progress.setAccessibleName(title)
    name = title.rstrip("…")
    nothing = "; nothing was written." if atomic else "."

    def finish() -> None:
        progress.close()
        progress.deleteLater()

    def report(n: int, total: int, message: str) -> None:
        progress.setMaximum(max(total, 1))
        progress.setValue(min(n, max(total, 1)))
        progress.setLabelText(message)

    def succeeded(result: Any) -> None:
        finish()
        done(result)

    def failed(exc: BaseException) -> None:
        finish()
        if on_end is not None:
            on_end(f"{name} failed{nothing}")
        show_error(parent, f"{name} did not finish", exc)

    def cancelled() -> None:
        finish()
        if on_end is not None:
            on_end(f"{name}: cancelled{nothing}")

    # Owned by the dialog: once its window is closed and deleted (a desk closed while its job ran), the job's end
    # is dropped instead of reaching a dead dialog.
    task = services.tasks.run(
        work, on_result=succeeded, on_error=failed, on_progress=report, on_cancelled=cancelled, write=write,
        owner=progress,
    )  # fmt: skip
    progress.canceled.connect(task.cancel)
    return task
