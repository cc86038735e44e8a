"""The app's start loads only what its first page of cases needs (issue 18: the start within 5x a bare window).

A selected case's pathway, block reading, outcome scores and indication check (caselog.pathway and its queries,
caselog.outcomes, caselog.stats, their HTML), and cryptography for a plain database's drafts, load on first use.
These tests fail when one of them comes back into the start, and show that each still works on first use in a
process that has not loaded it yet.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot

from caselog import drafts
from caselog.db import cipher
from caselog.db.schema import open_database
from ui.lock_screen import IdleWatcher
from ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]

#: Loaded after the first page: by the first case shown in the detail pane, a pathway, a desk.
DEFERRED = frozenset({
    "caselog.pathway",
    "caselog.db.pathway_queries",
    "caselog.outcomes",
    "caselog.stats",
    "ui.block_section",
    "ui.indication_strip",
})  # fmt: skip


def _run(script: str, db_path: Path, home: Path) -> dict[str, Any]:
    """`script` in a fresh interpreter from the project's root, the app's environment on `db_path`; its last
    line of output, read as JSON."""
    env = {**os.environ, "CASELOG_DB": str(db_path), "CASELOG_HOME": str(home), "CASELOG_QUIT_WHEN_READY": "1",
           "QT_QPA_PLATFORM": "offscreen"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.splitlines()[-1]))


@pytest.fixture
def demo_copy(tmp_path: Path, demo_template: Path) -> Path:
    path = tmp_path / "caselog.sqlite3"
    shutil.copy(demo_template, path)
    return path


def test_the_first_page_is_shown_without_the_code_of_a_selected_case(demo_copy: Path, tmp_path: Path) -> None:
    """main.py's own path (ui.app.main) until its first page of cases is on screen."""
    script = (
        "import gc, json, sys\ngc.disable()\nfrom ui.app import main\nmain([])\n"
        "print(json.dumps({'modules': sorted(sys.modules)}))\n"
    )
    modules = set(_run(script, demo_copy, tmp_path / "home")["modules"])
    assert {"ui.main_window", "ui.detail_pane", "caselog.service", "caselog.drafts"} <= modules  # the start ran
    assert not DEFERRED & modules
    if cipher.file_state(demo_copy) == "plain":  # an encrypted database's drafts are sealed: it needs the cipher
        assert not {m for m in modules if m.split(".")[0] == "cryptography"}


FIRST_USE = """
import json, sys
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtGui import QTextDocument
from PySide6.QtWidgets import QApplication
from caselog.db.schema import open_database
from caselog.records import CaseFilter
from caselog.service import CaseService
from caselog.settings import Settings
from ui.lock_screen import IdleWatcher
from ui.main_window import MainWindow
from ui.services import AppSettings, Services
from ui.tasks import TaskRunner

app = QApplication([])
db = open_database(sys.argv[1])
services = Services(CaseService(db), TaskRunner(), db.display_name)
window = MainWindow(services, AppSettings(Settings()))
loop = QEventLoop()
window.model.loaded.connect(loop.quit)
window.show()
loop.exec()
loaded_before = sorted(m for m in sys.modules if m.startswith(("caselog", "ui")))
shown = {}
for procedure in ("radiofrequency_ablation", "medial_branch_block"):
    row = services.cases.query(CaseFilter(procedure=procedure), limit=1)[0]
    window.detail.show_case(services.cases.get_case(row.case_number))
    waiting = QEventLoop()
    window.detail.read.connect(waiting.quit)
    QTimer.singleShot(20_000, waiting.quit)
    waiting.exec()  # the policy, the series and the check are read in the background
    window.detail.read.disconnect(waiting.quit)
    document = QTextDocument()
    document.setHtml(window.detail.toHtml())
    shown[procedure] = document.toPlainText()
services.tasks.wait()
window.close()
db.close()
print(json.dumps({"before": loaded_before, "shown": shown}))
"""


def test_a_selected_case_loads_and_shows_its_block_check_and_outcomes(demo_copy: Path, tmp_path: Path) -> None:
    """In a process that had not loaded them: the indication check (read off the GUI thread) and the block's
    reading appear once a case is shown."""
    found = _run(FIRST_USE.replace("sys.argv[1]", repr(str(demo_copy))), demo_copy, tmp_path / "home")
    assert not DEFERRED & set(found["before"])
    ablation, block = found["shown"]["radiofrequency_ablation"], found["shown"]["medial_branch_block"]
    assert "Indication check" in ablation and "Outcomes (" in ablation, ablation
    assert "Diagnostic block" in block and "Relief" in block, block


def test_the_main_window_puts_its_content_in_place_once(
    qtbot: QtBot, make_window: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The storage banner and the pages go into the window together: taking the content out again to put the
    banner above it re-styled every widget of the window at each start."""
    taken: list[object] = []
    take = MainWindow.takeCentralWidget
    monkeypatch.setattr(MainWindow, "takeCentralWidget", lambda self: taken.append(self) or take(self))
    window: MainWindow = make_window()
    holder = window.centralWidget()
    assert taken == []
    assert window.storage_warning.parentWidget() is holder and window.pages.parentWidget() is holder
    assert holder.layout().indexOf(window.storage_warning) == 0 and holder.layout().indexOf(window.pages) == 1


def test_a_draft_another_key_sealed_is_left_as_it_is(tmp_path: Path) -> None:
    """Re-sealing after `caselog encrypt`/`rekey` (cryptography loaded on its first use): a draft this key
    cannot open is another database's, neither lost nor shown."""
    mine, theirs = tmp_path / "mine.sqlite3", tmp_path / "theirs.sqlite3"
    cipher.remember(mine, "the passphrase of this clinic's database")
    cipher.remember(theirs, "another database's passphrase")
    for path in (mine, theirs):
        open_database(path).close()
    my_key = drafts.protection_for(mine, "the passphrase of this clinic's database")
    their_key = drafts.protection_for(theirs, "another database's passphrase")
    try:
        drafts._protection = their_key
        sealed = drafts.save_draft("theirs", {"patient": {"mrn": "MRN-OTHER-7"}}).read_bytes()
        assert drafts.reseal(my_key, None) == 0  # not opened with this key: not written in clear text
        assert drafts.draft_path("theirs").read_bytes() == sealed
        drafts._protection = my_key
        assert drafts.pending_drafts() == []  # not shown either
        drafts._protection = their_key
        assert [d.draft_id for d in drafts.pending_drafts()] == ["theirs"]
    finally:
        drafts.discard_draft("theirs")
        drafts._protection = None


class CountingWatcher(IdleWatcher):
    """The idle lock's watcher, keeping the key presses it is shown."""

    keys = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        self.keys += event.type() == QEvent.Type.KeyPress
        return super().eventFilter(watched, event)


def _type_a_key(field: QLineEdit) -> None:
    QApplication.sendEvent(field, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_A, Qt.KeyboardModifier.NoModifier, "a"))


def test_the_idle_lock_watches_input_only_while_a_session_runs(qtbot: QtBot) -> None:
    """Nobody signed in (a single-user database, the start): no filter sees the app's events, so none costs at
    the start. From sign-in on, a key pressed anywhere reaches the watcher (and postpones the lock), until the
    session stops."""
    field = QLineEdit()
    qtbot.addWidget(field)
    watcher = CountingWatcher(30)
    try:
        _type_a_key(field)
        assert watcher.keys == 0 and not watcher._timer.isActive()
        watcher.start()
        _type_a_key(field)
        assert watcher.keys == 1 and watcher._timer.isActive()
        watcher.start()  # a second sign-in: still one filter, each key seen once
        _type_a_key(field)
        assert watcher.keys == 2
        watcher.stop()
        _type_a_key(field)
        assert watcher.keys == 2 and not watcher._timer.isActive()
    finally:
        watcher.stop()
        watcher.deleteLater()
