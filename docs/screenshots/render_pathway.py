"""Renders the patient pathway view and the indication policy dialog on a 1280×720 screen, on Fusion's light
palette and on a dark one: `python docs/screenshots/render_pathway.py`.

Writes patient-pathway.png, patient-pathway-dark.png, indication-policy.png and indication-policy-dark.png,
from a throwaway database holding one made-up patient's ten cases (tests/ui/pathway_story.py): blocks, two
ablations at L4-L5 left (a repeat), one outside the policy with its reason, a rhizotomy with a complication.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys

from shots import HERE, throwaway_home

sys.path.insert(0, str(HERE.parent.parent))
SIZE = (1280, 720)


def main() -> int:
    home = throwaway_home()
    screen = home / "screen.json"
    screen.write_text(json.dumps({"screens": [{"name": "laptop", "x": 0, "y": 0, "width": SIZE[0], "height": SIZE[1],
                                               "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))  # fmt: skip
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={screen}"

    from PySide6.QtWidgets import QApplication, QWidget

    from caselog.db.schema import open_database
    from caselog.policy import PRESETS
    from caselog.service import CaseService
    from tests.ui.pathway_story import MRN, story_file
    from ui.pathway_view import PathwayView
    from ui.pathway_words import patient_timeline
    from ui.policy_dialog import PolicyDialog
    from ui.services import Services
    from ui.style import app_style_sheet, dark_palette
    from ui.tasks import TaskRunner

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    app.setStyle("Fusion")
    light = app.style().standardPalette()

    def shoot(widget: QWidget, name: str, size: tuple[int, int]) -> None:
        widget.resize(*size)
        widget.show()
        for _ in range(10):
            app.processEvents()
        widget.grab().save(str(HERE / name))
        print("wrote", HERE / name)

    db = open_database(home / "pathway.sqlite3")
    service = CaseService(db)
    service.import_cases(story_file())
    services = Services(service, TaskRunner(app), str(home / "pathway.sqlite3"))
    for palette, suffix in ((light, ""), (dark_palette(), "-dark")):
        app.setPalette(palette)
        app.setStyleSheet(app_style_sheet(palette))
        view = PathwayView(lambda: patient_timeline(service.patient_pathway(MRN)), today=dt.date(2025, 6, 30),
                           chosen="2024-00003", print_pdf=lambda _view: None)  # fmt: skip
        shoot(view, f"patient-pathway{suffix}.png", SIZE)
        view.close()
        dialog = PolicyDialog(services, PRESETS["medicare_lcd"].policy)
        dialog.numbers["repeat_relief_months"].setValue(3)  # adjusted: the chooser says "custom"
        hint = dialog.sizeHint()
        shoot(dialog, f"indication-policy{suffix}.png", (max(hint.width(), 640), hint.height()))
        dialog.close()
    services.tasks.wait()
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
