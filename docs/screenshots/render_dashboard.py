"""Renders the dashboard on a 1280×720 screen to PNG files in this folder, on Fusion's light palette and on a dark
one: `python docs/screenshots/render_dashboard.py`.

Writes dashboard.png (cases per month), dashboard-complication-rate.png, dashboard-duration.png,
dashboard-pain-scores.png, dashboard-durability.png (and -dark), dashboard-outcomes.png (and -dark).
Uses a throwaway database and data folder with 2,000 demo cases (seeded, so the pictures are stable) and a fixed
"today", so the follow-up the demo holds is the same on every run.
"""

from __future__ import annotations

import datetime as dt
import sys

from shots import HERE, offscreen_screen, throwaway_home

sys.path.insert(0, str(HERE.parent.parent))
SIZE = (1280, 720)
COUNT = 2000


def main() -> int:
    home = throwaway_home()
    offscreen_screen(home, SIZE)

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    from caselog.db.schema import open_database
    from caselog.demo import generate_cases
    from caselog.service import CaseService
    from caselog.settings import Settings
    from ui.desks.dashboard_desk import TABS, DashboardDesk
    from ui.services import AppSettings, Services
    from ui.style import app_style_sheet, dark_palette
    from ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setStyle("Fusion")
    light = app.style().standardPalette()

    def shoot(widget: QWidget, name: str) -> None:
        widget.resize(*SIZE)
        loop = QEventLoop()
        QTimer.singleShot(300, loop.quit)
        loop.exec()
        widget.grab().save(str(HERE / name))
        print("wrote", HERE / name)

    db = open_database(home / "demo.sqlite3")
    service = CaseService(db)
    service.add_records(generate_cases(COUNT, seed=7))
    today = max(r.procedure_date for r in service.query(sort="procedure_date")) + dt.timedelta(days=1)
    settings = AppSettings(Settings(facility_name="Riverside Spine Center", default_surgeon="Dr. Amara Okafor"))
    names = {
        "per_month": "dashboard.png",
        "rates": "dashboard-complication-rate.png",
        "durations": "dashboard-duration.png",
        "scores": "dashboard-pain-scores.png",
        "durability": "dashboard-durability.png",
        "outcomes": "dashboard-outcomes.png",
    }
    for palette, dark in ((light, False), (dark_palette(), True)):
        app.setPalette(palette)
        app.setStyleSheet(app_style_sheet(palette))
        services = Services(service, TaskRunner(app), str(home / "demo.sqlite3"))
        desk = DashboardDesk(services, settings, today=lambda: today)
        desk.resize(*SIZE)
        desk.show()
        while desk.loading:
            services.tasks.wait(100)
            app.processEvents()
        for index, key in enumerate(TABS):
            if dark and key not in ("durability", "outcomes"):
                continue
            desk.tabs.setCurrentIndex(index)
            shoot(desk, names[key].replace(".png", "-dark.png") if dark else names[key])
        desk.close()
        services.tasks.wait()
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
