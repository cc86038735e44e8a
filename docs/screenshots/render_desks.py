"""Renders the main window and the desks on a 1280×720 screen to PNG files in this folder, on Fusion's light
palette and on a dark one: `python docs/screenshots/render_desks.py`.

Writes main-window.png, main-window-dark.png, quality-desk.png, quality-desk-outside-policy.png (and -dark),
print-desk.png and the print desk with a day's schedule waiting to be completed, schedule-to-complete(-dark).png.
Uses a throwaway database and data folder with 300 demo cases (2,000 for the outside-policy list; seeded, so the
pictures are stable) and a made-up schedule of five procedures.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from typing import Any

from shots import HERE, throwaway_home

sys.path.insert(0, str(HERE.parent.parent))
SIZE = (1280, 720)
#: Made-up patients, as a scheduling system writes its day's list.
SCHEDULE = """date,MRN,name,birth date,sex,procedure,levels,surgeon
{day},SCH-20417,"Lindqvist, Maja",1958-03-14,F,medial_branch_block,L4-L5 bilateral; L5-S1 bilateral,{surgeon}
{day},SCH-20533,"Okoye, Chidi",1949-11-02,M,endoscopic_rhizotomy,L3-L4 right; L4-L5 right,{surgeon}
{day},SCH-20561,"García Márquez, Lucía",1971-07-21,F,laminotomy,L5-S1 left,Dr. Priya Raman
{day},SCH-20602,"Tanaka, Hiroshi",1963-01-30,M,radiofrequency_ablation,C5-C6 bilateral,Dr. Priya Raman
{day},SCH-20688,"Nowak, Zofia",1980-05-09,F,medial_branch_block,L4-L5 left,{surgeon}
"""


def main() -> int:
    home = throwaway_home()
    screen = home / "screen.json"
    screen.write_text(json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": SIZE[0], "height": SIZE[1],
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))  # fmt: skip
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={screen}"

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    from caselog import schedule
    from caselog.db.schema import open_database
    from caselog.demo import generate_cases
    from caselog.records import CaseFilter
    from caselog.service import CaseService
    from caselog.settings import Settings
    from ui.desks.print_desk import PrintDesk
    from ui.desks.quality_desk import QualityDesk
    from ui.main_window import MainWindow
    from ui.services import AppSettings, Services
    from ui.style import app_style_sheet, dark_palette
    from ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setStyle("Fusion")
    light = app.style().standardPalette()

    def settle(services: Services) -> None:
        """Until every background job and what it started (a list, then its preview) has finished."""
        for _ in range(3):
            for _ in range(20):
                app.processEvents()
            while services.tasks.busy:
                services.tasks.wait(100)
                app.processEvents()

    def shoot(widget: QWidget, name: str) -> None:
        widget.resize(*SIZE)
        loop = QEventLoop()
        QTimer.singleShot(1500, loop.quit)  # the PDF view draws its pages in the background
        loop.exec()
        widget.grab().save(str(HERE / name))
        print("wrote", HERE / name)

    # The "Outside policy" page over more cases than the rest: 300 hold only a handful outside the policy.
    pathways = CaseService(open_database(home / "pathways.sqlite3"))
    pathways.add_records(generate_cases(2000, seed=7))

    def shoot_outside_policy(name: str) -> None:
        """The quality desk's "Outside policy" page, its second case selected."""
        runner = Services(pathways, TaskRunner(app), str(home / "pathways.sqlite3"))
        quality = QualityDesk(runner, settings, None)
        quality.show_outside_policy()
        settle(runner)
        quality.outside.table.selectRow(1)
        shoot(quality, name)
        quality.close()
        runner.tasks.wait()

    db = open_database(home / "demo.sqlite3")
    service = CaseService(db)
    service.add_records(generate_cases(300, seed=7))
    settings = AppSettings(Settings(facility_name="Riverside Spine Center", default_surgeon="Dr. Amara Okafor"))
    rows = service.query(CaseFilter())
    days = Counter(r.procedure_date for r in rows)
    with_drafts = {r.procedure_date for r in rows if r.status == "draft"}  # signed and draft side by side
    busiest = max(days, key=lambda d: (d in with_drafts, days[d], d))
    day_csv = home / "day.csv"
    day_csv.write_text(SCHEDULE.format(day=busiest.isoformat(), surgeon="Dr. Amara Okafor"), encoding="utf-8")
    schedule.import_schedule(service, day_csv)

    def shoot_schedule(services: Services, name: str) -> None:
        """The print desk of the busiest day, the schedule's procedures listed to complete below its cases."""
        printer = PrintDesk(services, settings, today=lambda: busiest)
        printer.show()
        printer.show_day(busiest)
        settle(services)
        printer.schedule.table.setFocus()
        shoot(printer, name)
        printer.close()

    for palette, name in ((light, "main-window.png"), (dark_palette(), "main-window-dark.png")):
        app.setPalette(palette)
        app.setStyleSheet(app_style_sheet(palette))
        services = Services(service, TaskRunner(app), str(home / "demo.sqlite3"))
        window = MainWindow(services, settings)
        window.show()
        settle(services)
        with_complications = [
            row for row in range(window.model.rowCount()) if (window.model.row_at(row) or Any).complication_count
        ]
        window.table.selectRow(with_complications[0] if with_complications else 2)
        settle(services)
        shoot(window, name)
        if palette is light:
            window.desk_actions[1].trigger()
            settle(services)
            quality = window.findChildren(QualityDesk)[0]
            quality.review.setCurrentIndex(quality.review.findData("open"))
            settle(services)
            quality.table.selectRow(0)
            shoot(quality, "quality-desk.png")
            shoot_outside_policy("quality-desk-outside-policy.png")
            quality.close()
            window.desk_actions[0].trigger()
            settle(services)
            printer = window.findChildren(PrintDesk)[0]
            printer.show_day(busiest)
            settle(services)
            shoot(printer, "print-desk.png")
            printer.close()
            shoot_schedule(services, "schedule-to-complete.png")
        else:  # the case form on a dark palette: a repeat of the selected case, its patient locked
            shoot_outside_policy("quality-desk-outside-policy-dark.png")
            form = window.repeat_case()
            assert form is not None
            shoot(form, "case-form-dark.png")
            form.dirty = False
            form.reject()
            shoot_schedule(services, "schedule-to-complete-dark.png")
        window.close()
        services.tasks.wait()
    db.close()
    pathways.db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
