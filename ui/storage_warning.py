"""A standing warning above the cases while patient data is exposed: a plain (unencrypted) database file, or a
clinic-wide connection that crosses the network without TLS. It stays until the cause is fixed."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMainWindow, QVBoxLayout, QWidget
from sqlalchemy.exc import SQLAlchemyError

from caselog.db.engine import Database
from caselog.db.health import connection_encrypted
from caselog.errors import CaselogError
from ui.style import colours

log = logging.getLogger(__name__)

PLAIN_FILE = (
    "<b>This database is not encrypted.</b> Anyone who gets hold of this computer's disk, the file or a backup "
    "of it can read every patient's record. To encrypt it, quit CaseLog and run <code>caselog encrypt</code>."
)
CLEAR_TEXT_CONNECTION = (
    "<b>The connection to the clinic's server is not encrypted.</b> Patient data crosses the network readable "
    "by anyone on it. Ask IT to turn on TLS on the server, then set TLS to verify-full with the server's CA "
    "file in Settings."
)
UNCHECKED_CONNECTION = (
    "<b>CaseLog could not check whether the connection to the clinic's server is encrypted.</b> Treat it as "
    "unencrypted until IT confirms TLS is on (Settings: TLS verify-full with the server's CA file)."
)


def warning_text(db: Database) -> str:
    """The warning this database needs ("" for an encrypted file or a TLS connection)."""
    if db.is_sqlite:
        return "" if db.encrypted else PLAIN_FILE
    try:
        encrypted = connection_encrypted(db)
    except (CaselogError, SQLAlchemyError) as exc:
        log.warning("whether the server connection is encrypted could not be checked: %s", exc)
        return UNCHECKED_CONNECTION
    return "" if encrypted else CLEAR_TEXT_CONNECTION


class StorageWarning(QFrame):
    """The banner; hidden when there is nothing to warn about."""

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("storageWarning")
        self.label = QLabel(warning_text(db))
        self.label.setObjectName("storageWarningText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setAccessibleName("Storage warning")
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 10, 6)
        row.addWidget(self.label, 1)
        self._restyle()
        self.setVisible(bool(self.label.text()))

    def text(self) -> str:
        return self.label.text()

    def _restyle(self) -> None:
        c = colours(self.palette())
        sheet = (
            f"QFrame#storageWarning {{ border: 2px solid {c.warning}; border-radius: 3px; margin: 4px 6px; }}"
            f"QLabel#storageWarningText {{ color: {c.warning}; font-size: 10pt; border: none; margin: 0; }}"
        )
        if sheet != self.styleSheet():  # a style sheet may change the palette: never loop on our own change
            self.setStyleSheet(sheet)

    def changeEvent(self, event: QEvent) -> None:
        """A light or dark palette chosen while CaseLog runs: the warning stays readable."""
        if event.type() == QEvent.Type.PaletteChange:
            self._restyle()
        super().changeEvent(event)


def install(window: QMainWindow, db: Database, central: QWidget) -> StorageWarning:
    """Put the banner above `central`, the window's content, and make the two the window's central widget: the
    content goes into the window once, beside its banner (moving it there later re-styled the whole tree, a
    cost at every start)."""
    banner = StorageWarning(db)
    holder = QWidget()
    column = QVBoxLayout(holder)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(0)
    column.addWidget(banner)
    column.addWidget(central, 1)
    window.setCentralWidget(holder)
    return banner
