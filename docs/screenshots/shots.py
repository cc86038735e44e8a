"""What the screenshot scripts share: a throwaway data folder, the app in Fusion style, waiting for a main
window's list, and saving a widget as a PNG in this folder. Qt is imported only once the script has set up
its environment."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def throwaway_home() -> Path:
    """A fresh data folder for this run (CASELOG_HOME), and no database from the caller's environment."""
    home = Path(tempfile.mkdtemp(prefix="caselog-shots-"))
    os.environ["CASELOG_HOME"] = str(home)
    os.environ.pop("CASELOG_DB", None)
    return home


def offscreen_screen(folder: Path, size: tuple[int, int]) -> None:
    """Qt's offscreen platform with one screen of `size` at 96 dpi (a laptop), described in a file in `folder`."""
    import json

    screen = folder / "screen.json"
    screen.write_text(json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": size[0], "height": size[1],
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))  # fmt: skip
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={screen}"


def fusion_app() -> Any:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    app.setStyle("Fusion")
    return app


def pump() -> None:
    from PySide6.QtWidgets import QApplication

    for _ in range(5):
        QApplication.processEvents()


def settle(window: Any) -> None:
    """Until the main window's case list has loaded (at most 10 s)."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    window.model.loaded.connect(loop.quit)
    QTimer.singleShot(10000, loop.quit)
    loop.exec()
    pump()


def shoot(widget: Any, name: str) -> None:
    pump()
    widget.grab().save(str(HERE / name))
    print("wrote", HERE / name)
