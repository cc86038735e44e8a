"""Renders the installed app's first start to PNG files in this folder: `python docs/screenshots/render_first_start.py`.

Writes first-start.png and first-start-dark.png: the set-up dialog on a 1280×720 screen (light and dark
palettes), with "Several people, each with an account" chosen, as a clinic's first computer shows it. Uses a
throwaway data folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
from shots import offscreen_screen  # noqa: E402

SIZE = (1280, 720)


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="caselog-shots-"))
    offscreen_screen(home, SIZE)
    os.environ["CASELOG_HOME"] = str(home / "CaseLog")
    os.environ.pop("CASELOG_DB", None)

    from PySide6.QtGui import QPainter, QPixmap
    from PySide6.QtWidgets import QApplication

    from ui.first_start import FirstStartDialog
    from ui.services import AppSettings
    from ui.style import app_style_sheet, dark_palette

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setStyle("Fusion")
    for palette, name in ((app.style().standardPalette(), "first-start.png"), (dark_palette(), "first-start-dark.png")):
        app.setPalette(palette)
        app.setStyleSheet(app_style_sheet(palette))
        dialog = FirstStartDialog(AppSettings(path=home / "settings.json"))
        dialog.with_accounts.setChecked(True)
        dialog.show()
        for _ in range(20):
            app.processEvents()
        shot = dialog.grab()
        # The dialog as it opens, centred on the screen: the desktop behind it is a darker shade of the window.
        screen_shot = QPixmap(*SIZE)
        screen_shot.fill(palette.window().color().darker(160))
        painter = QPainter(screen_shot)
        painter.drawPixmap((SIZE[0] - shot.width()) // 2, (SIZE[1] - shot.height()) // 2, shot)
        painter.end()
        screen_shot.save(str(HERE / name))
        print("wrote", HERE / name, "dialog", shot.width(), "x", shot.height())
        dialog.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
