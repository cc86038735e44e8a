"""Renders the case form's diagnostic block and the indication check at entry, at 1280×720 on a light and a dark
palette: `python docs/screenshots/render_pathway_form.py`.

Writes block-section(-dark).png (a block typed with its diary and the live read-out), policy-warning(-dark).png
(a radiofrequency ablation after one block where the policy wants two), policy-met.png and detail-block.png.
Uses a throwaway database with one patient's blocks (no demo data: the pictures are stable).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from pathlib import Path
from typing import Any

from shots import HERE, throwaway_home

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

TODAY = dt.date(2026, 5, 20)
DIARY = (("15min", 1), ("30min", 1), ("1h", 1), ("2h", 1), ("4h", 2))
BLOCK = {"anesthetic": "bupivacaine", "pain_before": 8, "activities_possible": True,
         "diary": [{"time": t, "pain": p} for t, p in DIARY]}  # fmt: skip


def case(day: dt.date, mrn: str, **changes: Any) -> dict[str, Any]:
    names = {"PW-1001": ("Okonkwo", "Chidi", "1957-05-02", "male"), "PW-1002": ("Lindqvist", "Maja", "1964-09-18",
                                                                               "female")}  # fmt: skip
    family, given, born, sex = names[mrn]
    base: dict[str, Any] = {
        "patient": {"mrn": mrn, "family_name": family, "given_name": given, "birth_date": born, "sex": sex},
        "procedure_date": day.isoformat(), "surgeon": "Dr. Amara Okafor", "facility": "Riverside Spine Center",
        "procedure": "medial_branch_block", "levels": [{"level": "L4-L5", "side": "bilateral", "volume_ml": 0.5}],
        "duration_minutes": 20, "anesthesia": {"type": "local"}, "disposition": "same_day_discharge",
        "cpt_codes": ["64493"], "block": BLOCK,
    }  # fmt: skip
    base.update(changes)
    return base


def main() -> int:
    home = throwaway_home()

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    from caselog.db.schema import open_database
    from caselog.service import CaseService
    from caselog.settings import Settings
    from ui.case_form import CaseForm
    from ui.detail_pane import CaseDetailPane
    from ui.services import AppSettings, Services
    from ui.style import app_style_sheet, dark_palette
    from ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setStyle("Fusion")
    light = app.style().standardPalette()

    def settle(services: Services) -> None:
        loop = QEventLoop()
        QTimer.singleShot(600, loop.quit)  # the check waits for a pause in the typing, then runs
        loop.exec()
        while services.tasks.busy:
            services.tasks.wait(100)
            app.processEvents()
        for _ in range(10):
            app.processEvents()

    def shoot(widget: QWidget, name: str) -> None:
        widget.grab().save(str(HERE / name))
        print("wrote", HERE / name)

    db = open_database(home / "pathway.sqlite3")
    service = CaseService(db, today=lambda: TODAY)
    first = service.create_case(case(TODAY - dt.timedelta(days=49), "PW-1001"))
    short = (("15min", 0), ("30min", 1), ("1h", 1), ("2h", 6))
    lidocaine = {**BLOCK, "anesthetic": "lidocaine", "diary": [{"time": t, "pain": p} for t, p in short]}
    service.create_case(case(TODAY - dt.timedelta(days=28), "PW-1001", block=lidocaine))
    service.create_case(case(TODAY - dt.timedelta(days=30), "PW-1002"))
    settings = AppSettings(Settings(facility_name="Riverside Spine Center", default_surgeon="Dr. Amara Okafor"))

    for palette, suffix in ((light, ""), (dark_palette(), "-dark")):
        app.setPalette(palette)
        app.setStyleSheet(app_style_sheet(palette))
        services = Services(service, TaskRunner(app), str(home / "pathway.sqlite3"))

        # a second block for PW-1002, typed: the diary as one row, the read-out beside it
        data = case(TODAY, "PW-1002", block={"anesthetic": "lidocaine"})
        form = CaseForm(services, settings, data=data, today=lambda: TODAY)
        form.resize(1280, 720)
        form.show()
        f = form.fields
        f.block.pain_before.setText("7")
        f.block.diary.setText("2 1 1 2 3 5 6 7")
        f.block.activities.setCurrentIndex(1)
        form._edited("block.diary")
        settle(services)
        shoot(form, f"block-section{suffix}.png")
        form.dirty = False
        form.reject()

        # a radiofrequency ablation for PW-1002 after one block: outside the policy of two
        form = CaseForm(services, settings, today=lambda: TODAY)
        form.resize(1280, 720)
        form.show()
        f = form.fields
        f.set_data({
            "patient": {"mrn": "PW-1002", "family_name": "Lindqvist", "given_name": "Maja",
                        "birth_date": "1964-09-18", "sex": "female"},
            "procedure": "radiofrequency_ablation", "levels": [{"level": "L4-L5", "side": "bilateral"}],
            "duration_minutes": 45, "anesthesia": {"type": "local_sedation", "sedation": "moderate"},
            "disposition": "same_day_discharge",
        })  # fmt: skip
        for key in ("patient.mrn", "procedure", "levels", "anesthesia.type"):
            form._edited(key)
        settle(services)
        shoot(form, f"policy-warning{suffix}.png")
        if not suffix:
            f.set_data({"patient": {"mrn": "PW-1001", "family_name": "Okonkwo", "given_name": "Chidi",
                                    "birth_date": "1957-05-02", "sex": "male"}})  # fmt: skip
            form._edited("levels")
            settle(services)
            shoot(form, "policy-met.png")
        form.dirty = False
        form.reject()

        if not suffix:
            pane = CaseDetailPane(service)
            pane.resize(420, 720)
            pane.show_case(service.get_case(first.case_number))
            pane.show()
            settle(services)
            shoot(pane, "detail-block.png")
        services.tasks.wait()
    db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
