"""Where windows remember themselves: geometry fitted to the screen they open on, and the last folder used.

Kept in QSettings beside the data (so CASELOG_HOME keeps tests and portable installs apart), keyed with the
Qt version as Anki does: a layout saved by another Qt is not fed back into this one.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QSize, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from caselog import paths


def window_state() -> QSettings:
    return QSettings(str(paths.data_dir() / "window.ini"), QSettings.Format.IniFormat)


def layout_key(window: str, name: str) -> str:
    return f"{window}/{name}-qt{qVersion()}"


def fitted_size(widget: QWidget, wanted: QSize) -> QSize:
    """`wanted`, shrunk to the screen's available area (a 1280×720 laptop, a 150% scaled 1366×768)."""
    screen = widget.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return wanted
    room = screen.availableGeometry().size()
    return QSize(min(wanted.width(), room.width()), min(wanted.height(), room.height()))


def restore_geometry(widget: QWidget, window: str, wanted: QSize) -> None:
    """The geometry saved last time, or `wanted` fitted to the available screen."""
    saved = window_state().value(layout_key(window, "geometry"))
    if isinstance(saved, QByteArray) and not saved.isEmpty() and widget.restoreGeometry(saved):
        return
    widget.resize(fitted_size(widget, wanted))


def save_geometry(widget: QWidget, window: str) -> None:
    state = window_state()
    state.setValue(layout_key(window, "geometry"), widget.saveGeometry())
    state.sync()


def last_folder(kind: str) -> Path:
    """The folder a save dialog of this kind last wrote to (the home folder the first time)."""
    value = window_state().value(f"folders/{kind}")
    folder = Path(value) if isinstance(value, str) and value else None
    return folder if folder is not None and folder.is_dir() else Path.home()


def remember_folder(kind: str, path: Path) -> None:
    state = window_state()
    state.setValue(f"folders/{kind}", str(path.parent))
    state.sync()
