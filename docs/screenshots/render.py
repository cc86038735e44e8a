"""Renders the desktop app offscreen to PNG files in this folder: `python docs/screenshots/render.py`.

Uses a throwaway database and data folder with 300 demo cases (seeded, so the pictures are stable). The
follow-up desk (followup-desk.png, -dark, followup-record.png, followup-counts.png) is drawn at 1280×720 over
demo cases ending on a fixed day, so its due list is the same on every run; `render.py followup` draws only those.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from shots import fusion_app, settle, shoot, throwaway_home

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))


def main(argv: list[str]) -> int:
    home = throwaway_home()
    if argv == ["followup"]:  # the follow-up desk's pictures only
        from caselog.settings import Settings
        from ui.services import AppSettings

        app = fusion_app()
        render_followup_desk(home, app, AppSettings(Settings(facility_name="Riverside Spine Center")))
        return 0

    from caselog.db.schema import open_database
    from caselog.demo import generate_cases
    from caselog.service import CaseService
    from caselog.settings import Settings
    from ui.case_form import CaseForm
    from ui.main_window import MainWindow
    from ui.services import AppSettings, Services
    from ui.tasks import TaskRunner

    app = fusion_app()
    settings = AppSettings(Settings(facility_name="Riverside Spine Center", default_surgeon="Dr. Amara Okafor"))
    empty_db = open_database(home / "empty.sqlite3")
    empty = MainWindow(Services(CaseService(empty_db), TaskRunner(app), str(home / "empty.sqlite3")), settings)
    empty.resize(1366, 740)
    empty.show()
    settle(empty)
    shoot(empty, "greeting.png")
    empty.close()

    db = open_database(home / "demo.sqlite3")
    service = CaseService(db)
    service.add_records(generate_cases(300, seed=7))
    window = MainWindow(Services(service, TaskRunner(app), str(home / "demo.sqlite3")), settings)
    window.resize(1366, 740)
    window.show()
    settle(window)
    window.table.selectRow(2)
    shoot(window, "main-window.png")
    print("sort indicator", window.table.horizontalHeader().sortIndicatorSection(), window.model.sort_key)

    form = CaseForm(window.services, settings, parent=window)
    form.resize(1280, 720)  # the offscreen screen is 800x800; this is the size it opens at on a 1366x768 laptop
    form.show()
    f = form.fields
    f.mrn.setText("X1")
    form._edited("patient.mrn")
    f.family_name.setText("Nguyễn")
    f.given_name.setText("Thi Lan")
    f.birth_date.setText("1958-03-14")
    f.sex.setCurrentIndex(f.sex.findData("female"))
    f.procedure.setCurrentIndex(f.procedure.findData("endoscopic_rhizotomy"))
    f.levels.set_levels([{"level": "L4-L5", "side": "bilateral"}, {"level": "L5-S1", "side": "bilateral"}])
    f.start_time.setText("08:10")
    f.end_time.setText("09:05")
    f.anesthesia_type.setCurrentIndex(f.anesthesia_type.findData("local_sedation"))
    form._sync_sedation()
    f.sedation.setCurrentIndex(f.sedation.findData("moderate"))
    f.asa_class.setCurrentIndex(f.asa_class.findData("II"))
    f.disposition.setCurrentIndex(f.disposition.findData("same_day_discharge"))
    f.widgets["diagnosis_codes"].setText("M47.816")  # type: ignore[attr-defined]
    f.widgets["fluoroscopy_time_s"].setText("95")  # type: ignore[attr-defined]
    for key in ("patient.family_name", "procedure", "levels", "start_time", "end_time", "anesthesia.type"):
        form._edited(key)
    shoot(form, "case-form.png")
    f.tabs.setCurrentIndex(2)
    f.widgets["referring_physician"].setText("Dr. Ken Ito, Riverside Pain Clinic, 12 Elm St")  # type: ignore[attr-defined]
    f.widgets["copy_to"].setText("Dr. A. Roy; Physiotherapy Dept.")  # type: ignore[attr-defined]
    f.widgets["indication"].setPlainText(  # type: ignore[attr-defined]
        "Facet-mediated low back pain, 80% relief after medial branch blocks"
    )
    shoot(form, "case-form-referral.png")
    f.tabs.setCurrentIndex(0)
    f.levels.picker.setFocus()
    shoot(f.levels, "level-picker.png")

    f.birth_date.setText("1958-13-40")
    form._edited("patient.birth_date")
    f.end_time.setText("07:50")
    form._edited("end_time")
    f.cpt_codes.setText("64635 6463")
    form._edited("cpt_codes")
    f.levels.set_levels([{"level": "C1-C2", "side": "left"}])
    form._edited("levels")
    form.add_complication()
    f.complications.view.setFocus()  # close the cell editor the new row opened
    form.revalidate()
    shoot(form, "case-form-errors.png")
    form.dirty = False
    form.reject()

    window.table.selectRow(2)
    repeat = CaseForm(window.services, settings, parent=window, repeat_of=window._selected_view())
    repeat.resize(1280, 720)
    repeat.show()
    shoot(repeat, "case-form-repeat.png")
    repeat.dirty = False
    repeat.reject()
    window.close()
    window.services.tasks.wait()
    db.close()
    empty_db.close()
    render_followup_desk(home, app, settings)
    return 0


#: The follow-up desk's day: its demo cases end here and its due list is read as of this day.
FOLLOW_UP_DAY = "2026-11-30"


def render_followup_desk(home: Path, app: Any, settings: Any) -> None:
    """The coordinator's due list (light and dark), a follow-up being recorded and the counts page, 1280×720."""
    import datetime as dt

    from PySide6.QtCore import QEventLoop, QTimer

    from caselog.db.schema import open_database
    from caselog.demo import generate_cases
    from caselog.service import CaseService
    from ui.desks.followup_desk import FollowUpDesk
    from ui.services import Services
    from ui.style import app_style_sheet, dark_palette
    from ui.tasks import TaskRunner

    day = dt.date.fromisoformat(FOLLOW_UP_DAY)
    db = open_database(home / "followup.sqlite3")
    service = CaseService(db, today=lambda: day)
    service.add_records(generate_cases(600, seed=11, until=day))
    services = Services(service, TaskRunner(app), str(home / "followup.sqlite3"))

    def settle() -> None:
        for _ in range(3):
            for _ in range(20):
                app.processEvents()
            while services.tasks.busy:
                services.tasks.wait(100)
                app.processEvents()

    def pause(ms: int = 300) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    light = app.style().standardPalette()
    for palette, name in ((light, "followup-desk.png"), (dark_palette(), "followup-desk-dark.png")):
        app.setPalette(palette)
        app.setStyleSheet(app_style_sheet(palette))
        desk = FollowUpDesk(services, settings, today=lambda: day)
        desk.resize(1280, 720)
        desk.show()
        settle()
        desk.table.setFocus()
        desk.table.selectRow(min(2, max(desk.model.rowCount() - 1, 0)))
        pause()
        shoot(desk, name)
        if palette is light:
            task = desk.record_selected()
            settle()
            if task is not None and desk.dialog is not None:
                dialog = desk.dialog
                first = next(iter(dialog.scores.values()))
                first.setText("24")
                dialog.pgic.setCurrentIndex(dialog.pgic.findData(2))
                dialog.work_status.setCurrentIndex(dialog.work_status.findData("working"))
                pause()
                shoot(dialog, "followup-record.png")
                dialog.reject()
            desk.show_counts()
            settle()
            pause()
            shoot(desk, "followup-counts.png")
        desk.close()
        settle()
    app.setPalette(light)
    app.setStyleSheet("")
    services.tasks.wait()
    db.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
