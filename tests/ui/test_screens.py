"""Small and scaled screens: the main window and every desk fit a 1280×720 screen and a 1366×768 screen at 125%
and 150% (911×512 points), with no widget squeezed below its minimum size and no label cut; desks open sized
to the screen and remember their geometry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from ui.desks.print_desk import PrintDesk
from ui.services import AppSettings, Services

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("width", "height", "scale", "points"),
    [(1280, 720, "1", (1280, 720)), (1366, 768, "1.25", (1093, 614)), (1366, 768, "1.5", (911, 512))],
)
def test_the_windows_fit_the_screen(
    tmp_path: Path, demo_template: Path, width: int, height: int, scale: str, points: tuple[int, int]
) -> None:
    database = tmp_path / "caselog.sqlite3"
    shutil.copy(demo_template, database)
    config = tmp_path / "screen.json"
    screen = {"name": "laptop", "x": 0, "y": 0, "width": width, "height": height, "logicalDpi": 96}
    config.write_text(json.dumps({"screens": [{**screen, "logicalBaseDpi": 96, "dpr": 1}]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}", "QT_SCALE_FACTOR": scale,
           "CASELOG_HOME": str(tmp_path / "home")}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "tests.ui.screen_check", str(database)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["screen"] == list(points)
    assert report["windows"] == 5  # the main window and four desks
    assert report["problems"] == []


def test_a_desk_remembers_its_size(
    qtbot: QtBot,
    services: Services,
    app_settings: AppSettings,
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    first = PrintDesk(services, app_settings, parent)
    room = first.screen().availableGeometry()
    assert first.width() <= room.width() and first.height() <= room.height()  # 1340×760 asked, fitted
    first.resize(QSize(first.minimumSizeHint().width() + 20, 500))
    wanted = first.size()
    first.close()
    again = PrintDesk(services, app_settings, parent)
    assert again.size() == wanted
    again.close()
