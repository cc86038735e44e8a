"""The one place the desktop app shows an error: a user's mistake gets its sentence, a defect gets a calm note."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QMessageBox, QWidget

from caselog.db.engine import describe_storage_error
from caselog.errors import CaselogError

log = logging.getLogger(__name__)


def error_text(exc: BaseException) -> str:
    """What to tell the user about `exc`."""
    if isinstance(exc, CaselogError):
        return "\n".join(exc.lines())
    friendly = describe_storage_error(exc, "")
    if friendly is not None:
        return friendly.message.replace("The database  ", "The database ")
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}"
    return f"Something went wrong inside CaseLog ({type(exc).__name__}). Nothing was saved; details are in the log."


def show_error(parent: QWidget | None, title: str, exc: BaseException) -> None:
    if not isinstance(exc, CaselogError | OSError):
        log.error("%s", title, exc_info=exc)
    QMessageBox.warning(parent, title, error_text(exc))
