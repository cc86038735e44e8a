"""The start's storage check waits until the first page of cases is on screen (issue 18): it reads the whole file
and took the second core from the page's own read. It still always happens, and no write ever goes into the
file before its verdict, even a write made before the check was started."""

from __future__ import annotations

import gc
import json
import os
import runpy
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from caselog.db import schema
from caselog.db.engine import Database
from caselog.demo import generate_cases
from caselog.errors import StorageError
from caselog.service import CaseService
from ui import app as app_module
from ui.main_window import MainWindow
from ui.services import AppSettings, Services
from ui.tasks import TaskRunner

ROOT = Path(__file__).resolve().parents[2]


class Check:
    """Stands in for the storage check: records when it started, and says the file is damaged if told to."""

    def __init__(self, damaged: bool = False) -> None:
        self.started = threading.Event()
        self.damaged = damaged
        self.runs = 0

    def __call__(self, db: Database) -> None:
        self.runs += 1
        self.started.set()
        if self.damaged:
            raise StorageError(f"The database {db.display_name} is damaged: page 7 is wrong.")


@pytest.fixture
def check() -> Check:
    return Check()


@pytest.fixture
def db(tmp_path: Path, demo_template: Path, monkeypatch: pytest.MonkeyPatch, check: Check) -> Iterator[Database]:
    """A copy of the demo database opened as the app opens it, its storage check held back (and stood in for)."""
    path = tmp_path / "caselog.sqlite3"
    shutil.copy(demo_template, path)
    monkeypatch.setattr(schema, "verify_storage", check)
    opened, error = app_module.open_target(str(path))
    assert error is None and opened is not None
    yield opened
    opened.close()


@contextmanager
def main_window(db: Database, app_settings: AppSettings, qtbot: QtBot, *, show: bool = True) -> Iterator[MainWindow]:
    """The main window over `db`, shown with its first page (or not yet shown), closed afterwards."""
    window = MainWindow(Services(CaseService(db), TaskRunner(), db.display_name), app_settings)
    if show:
        with qtbot.waitSignal(window.model.loaded, timeout=10_000):
            window.show()
    yield window
    window.services.tasks.wait()
    window.close()
    window.deleteLater()


def test_the_storage_check_starts_once_the_first_page_is_shown(
    qtbot: QtBot, db: Database, check: Check, app_settings: AppSettings
) -> None:
    with main_window(db, app_settings, qtbot, show=False) as window:
        app_module.start_storage_check_after_first_page(window)
        assert not check.started.is_set()  # not beside the first page's read
        with qtbot.waitSignal(window.model.loaded, timeout=10_000):
            window.show()
        assert window.model.rowCount() > 0
        qtbot.waitUntil(lambda: db.storage_verdict() == (True, None), timeout=10_000)
        assert check.started.is_set()


def test_a_write_before_the_check_started_starts_it_and_waits_for_its_verdict(db: Database, check: Check) -> None:
    """A damaged file: the write that came first is refused, and nothing of it is in the file."""
    check.damaged = True
    service = CaseService(db)
    before = service.count()
    assert not check.started.is_set()
    refused: list[BaseException] = []

    def write() -> None:
        try:
            service.add_records(generate_cases(1, seed=5))
        except StorageError as exc:
            refused.append(exc)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    writer.join(20)
    assert not writer.is_alive(), "the write waited for a check nobody started"
    assert check.started.is_set() and "is damaged" in str(refused[0]) and service.count() == before


def test_a_window_that_shows_no_list_starts_the_check_at_once(
    qtbot: QtBot, db: Database, check: Check, app_settings: AppSettings
) -> None:
    """An administrator's window (or one locked) never loads a first page: the check must not wait for one."""
    with main_window(db, app_settings, qtbot) as window:
        window.model.clear()  # as for a role that may not see cases: no list is loading
        assert not window.model.loading
        app_module.start_storage_check_after_first_page(window)
        qtbot.waitUntil(lambda: db.storage_verdict() == (True, None), timeout=10_000)
        assert check.started.is_set()


def test_the_check_starts_once_however_often_it_is_asked(db: Database, check: Check) -> None:
    """The page's arrival and a write may ask for it at the same moment, from two threads."""
    askers = [threading.Thread(target=db.start_storage_check) for _ in range(8)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    db.start_storage_check()
    CaseService(db).add_records(generate_cases(1, seed=5))
    assert check.runs == 1


def test_the_start_loads_no_export_code_before_the_first_page(tmp_path: Path, demo_template: Path) -> None:
    """`python main.py` until its first page: the exports, summaries and demo jobs load with their first use."""
    path = tmp_path / "caselog.sqlite3"
    shutil.copy(demo_template, path)
    script = "import json, sys\nfrom ui.app import main\nmain([])\nprint(json.dumps(sorted(sys.modules)))\n"
    env = {**os.environ, "CASELOG_DB": str(path), "CASELOG_HOME": str(tmp_path / "home"),
           "CASELOG_QUIT_WHEN_READY": "1", "QT_QPA_PLATFORM": "offscreen"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    modules = set(json.loads(done.stdout.splitlines()[-1]))
    assert "ui.case_output" in modules
    assert not {"ui.jobs", "caselog.exports", "caselog.research"} & modules


def test_an_export_still_finds_its_code_on_first_use(
    make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The File menu's export, the first use of the export code: the file is written."""
    window = make_window()
    target = tmp_path / "cases.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *_a, **_k: (str(target), "CSV (*.csv)"))
    task = window.export_cases()
    assert task is not None
    qtbot.waitUntil(lambda: target.exists() and not window.services.tasks.busy, timeout=20_000)
    assert target.read_text(encoding="utf-8").count("\n") > window.model.rowCount()


def test_the_start_imports_without_automatic_garbage_collection() -> None:
    """main.py switches it off before importing the app (the GUI thread collects once the app runs)."""
    try:
        gc.enable()
        runpy.run_path(str(ROOT / "main.py"), run_name="caselog_start")  # the module's top, not its main()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_app_runs_without_automatic_collection_and_restores_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """`caselog-desktop` (ui.app:main) too; a test process that ran the app collects as before afterwards."""
    seen: list[bool] = []
    monkeypatch.setattr(app_module, "_start", lambda _argv: seen.append(gc.isenabled()) or 0)
    gc.enable()
    assert app_module.main([]) == 0
    assert seen == [False] and gc.isenabled()
