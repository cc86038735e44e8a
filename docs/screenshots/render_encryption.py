"""Renders the encryption dialogs and warnings to PNG files in this folder:
`python docs/screenshots/render_encryption.py`.

Writes passphrase-new.png (the first start's choice), passphrase-wrong.png (a wrong passphrase, said plainly),
plain-database-warning.png and plain-database-warning-dark.png (the main window at 1280×720 over a plain file)
and settings-tls.png (the clinic's server with TLS verify-full). Uses a throwaway data folder.
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
PASSPHRASE = "lumbar fusion at dawn"


def main() -> int:
    home = Path(tempfile.mkdtemp(prefix="caselog-shots-"))
    offscreen_screen(home, SIZE)
    os.environ["CASELOG_HOME"] = str(home)
    for name in ("CASELOG_DB", "CASELOG_DB_KEY"):
        os.environ.pop(name, None)

    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication, QWidget

    from caselog.db import cipher
    from caselog.db.schema import open_database
    from caselog.demo import generate_cases
    from caselog.service import CaseService
    from caselog.settings import Settings
    from ui.main_window import MainWindow
    from ui.passphrase_dialog import NewDatabaseDialog, UnlockDialog
    from ui.services import AppSettings, Services
    from ui.settings_dialog import SettingsDialog
    from ui.style import app_style_sheet, dark_palette
    from ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setStyle("Fusion")
    light = app.style().standardPalette()
    app.setPalette(light)
    app.setStyleSheet(app_style_sheet(light))

    def shoot(widget: QWidget, name: str) -> None:
        widget.show()
        for _ in range(20):
            app.processEvents()
        widget.grab().save(str(HERE / name))
        print("wrote", HERE / name, widget.width(), "x", widget.height())

    folder = home / "CaseLog"
    folder.mkdir()
    new = NewDatabaseDialog(folder / "caselog.sqlite3")
    QTest.keyClicks(new.passphrase, PASSPHRASE)
    QTest.keyClicks(new.repeat, PASSPHRASE)
    shoot(new, "passphrase-new.png")
    new.close()

    locked = folder / "clinic.sqlite3"
    cipher.remember(locked, PASSPHRASE)
    open_database(locked).close()
    cipher.forget()
    unlock = UnlockDialog(locked)
    QTest.keyClicks(unlock.passphrase, "lumbar fusion at dusk")
    unlock.accept()
    shoot(unlock, "passphrase-wrong.png")
    unlock.close()

    plain = folder / "plain.sqlite3"
    db = open_database(plain)
    service = CaseService(db)
    service.add_records(generate_cases(120, seed=7))
    settings = AppSettings(Settings(facility_name="Riverside Spine Center", default_surgeon="Dr. Amara Okafor"))
    for palette, name in ((light, "plain-database-warning.png"), (dark_palette(), "plain-database-warning-dark.png")):
        app.setPalette(palette)
        app.setStyleSheet(app_style_sheet(palette))
        services = Services(service, TaskRunner(app), str(plain))
        window = MainWindow(services, settings)
        window.resize(*SIZE)
        window.show()
        for _ in range(40):
            app.processEvents()
        services.tasks.wait()
        shoot(window, name)
        window.close()
    db.close()

    app.setPalette(light)
    app.setStyleSheet(app_style_sheet(light))
    clinic = Settings(
        pg_host="db.clinic.local", pg_user="caselog", pg_sslmode="verify-full", pg_sslrootcert="/etc/caselog/ca.crt"
    )
    server = AppSettings(clinic, path=home / "settings.json")
    dialog = SettingsDialog(server, surgeons=["Dr. Amara Okafor"])
    shoot(dialog, "settings-tls.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
