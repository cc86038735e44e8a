"""The app's start (issue 18): the first page of cases comes before the storage check's verdict, a file that
needs an upgrade is still checked before the upgrade writes, the start loads neither Alembic nor reportlab
nor the desks, and a desk or view loaded later still opens from its keyboard shortcut."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from caselog.db import schema
from caselog.db.engine import Database
from caselog.errors import StorageError
from caselog.service import CaseService
from tests.helpers.raw import raw_connect
from ui import app as app_module
from ui.main_window import MainWindow
from ui.services import AppSettings, Services
from ui.tasks import TaskRunner

ROOT = Path(__file__).resolve().parents[2]
RELEASE_0001 = ROOT / "tests" / "helpers" / "release_0001" / "caselog.sqlite3"


def test_first_page_is_shown_while_a_slow_storage_check_still_runs(
    qtbot: QtBot, tmp_path: Path, demo_template: Path, app_settings: AppSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check reads every page of the file (seconds on a large one): the list must not wait for it."""
    path = tmp_path / "caselog.sqlite3"
    shutil.copy(demo_template, path)
    release = threading.Event()
    started = threading.Event()

    def slow_check(db: Database) -> None:
        started.set()
        release.wait(30)

    monkeypatch.setattr(schema, "verify_storage", slow_check)
    db, error = app_module.open_target(str(path))  # as the app opens its database
    assert error is None and db is not None
    try:
        services = Services(CaseService(db), TaskRunner(), db.display_name)
        window = MainWindow(services, app_settings)
        with qtbot.waitSignal(window.model.loaded, timeout=10_000):
            window.show()
            app_module.start_storage_check_after_first_page(window)  # as the app starts it
        qtbot.waitUntil(started.is_set, timeout=10_000)
        assert window.model.rowCount() > 0 and window.table.isVisible()
        assert db.storage_verdict() == (False, None)  # the check has not finished, and the cases are on screen
        release.set()
        qtbot.waitUntil(lambda: db.storage_verdict() == (True, None), timeout=10_000)
        services.tasks.wait()
        window.close()
        window.deleteLater()
    finally:
        release.set()
        db.close()


def test_a_database_needing_an_upgrade_is_checked_before_the_upgrade_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release 0001 file: the storage check runs first, in the foreground, then the upgrade brings it to
    the head; the check's verdict is known before the app goes on."""
    path = tmp_path / "clinic.sqlite3"
    shutil.copy(RELEASE_0001, path)
    order: list[str] = []
    checked, upgrade = schema.verify_storage, schema.upgrade

    def check(db: Database) -> None:
        order.append("check")
        checked(db)

    def upgrading(db: Database) -> schema.UpgradeResult:
        order.append("upgrade")
        return upgrade(db)

    monkeypatch.setattr(schema, "verify_storage", check)
    monkeypatch.setattr(schema, "upgrade", upgrading)
    db = schema.open_database(path, verify_in_background=True)
    try:
        assert order == ["check", "upgrade"]
        assert db.storage_verdict() == (True, None)
        assert schema.current_revision(db) == schema.head_revision()
    finally:
        db.close()


def test_a_damaged_database_needing_an_upgrade_is_refused_unchanged(tmp_path: Path) -> None:
    """Damage found before the upgrade: nothing is written (no upgrade, no copy), the file says why."""
    path = tmp_path / "clinic.sqlite3"
    shutil.copy(RELEASE_0001, path)
    with raw_connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("PRAGMA journal_mode = DELETE")
    data = bytearray(path.read_bytes())
    data[page_size * 2 : page_size * 2 + 64] = b"\xff" * 64  # a b-tree page's header overwritten
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError, match="damaged"):
        schema.open_database(path, verify_in_background=True)
    assert path.read_bytes() == bytes(data)
    assert [p.name for p in tmp_path.iterdir()] == ["clinic.sqlite3"]


def test_the_head_read_from_the_migration_files_is_alembics() -> None:
    """The start reads the head without Alembic: that reading must agree with Alembic's own."""
    cfg = schema.alembic_config()
    head, known = schema.shipped_revisions()
    assert head == schema.head_revision(cfg) == schema.head_revision()
    assert known == schema.known_revisions(cfg)


def test_a_migration_after_the_head_moves_the_head(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new migration file (typed annotations, single quotes) is the new head, as Alembic would say; two
    files naming the same parent are refused rather than read as one line."""
    folder = tmp_path / "migrations"
    shutil.copytree(ROOT / "caselog" / "migrations", folder)
    head = schema.head_revision()
    (folder / "versions" / "9998_next.py").write_text(
        f"revision: str = '9998'  # the next one\ndown_revision: str | None = '{head}'\n", encoding="utf-8"
    )
    monkeypatch.setattr(schema, "_migrations", lambda: folder)
    schema.shipped_revisions.cache_clear()
    try:
        assert schema.shipped_revisions()[0] == "9998"
        assert schema.head_revision(schema.alembic_config(folder)) == "9998"
        (folder / "versions" / "9997_branch.py").write_text(
            f'revision = "9997"\ndown_revision = "{head}"\n', encoding="utf-8"
        )
        schema.shipped_revisions.cache_clear()
        with pytest.raises(StorageError, match="2 heads"):
            schema.shipped_revisions()
    finally:
        schema.shipped_revisions.cache_clear()


def test_the_start_loads_neither_alembic_nor_reportlab_nor_the_desks(tmp_path: Path, demo_template: Path) -> None:
    """`python main.py` until its first page (CASELOG_QUIT_WHEN_READY): the modules it loaded by then."""
    path = tmp_path / "caselog.sqlite3"
    shutil.copy(demo_template, path)
    script = (
        "import json, sys\n"
        "from ui.app import main\n"
        "code = main([])\n"
        "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))\n"
    )
    env = {**os.environ, "CASELOG_DB": str(path), "CASELOG_HOME": str(tmp_path / "home"),
           "CASELOG_QUIT_WHEN_READY": "1", "QT_QPA_PLATFORM": "offscreen"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    lines = done.stdout.splitlines()
    assert lines[0].startswith("first page shown: cpu_s=")
    loaded = json.loads(lines[-1])
    assert loaded["code"] == 0
    modules = set(loaded["modules"])
    assert "ui.main_window" in modules and "caselog.service" in modules
    for light in ("alembic", "reportlab", "ui.desks.dashboard_desk", "ui.desks.quality_desk",
                  "ui.desks.followup_desk", "ui.desks.print_desk", "ui.case_form", "ui.pathway_view"):  # fmt: skip
        assert light not in modules, light


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("D", "ui.desks.dashboard_desk.DashboardDesk"),
        ("Q", "ui.desks.quality_desk.QualityDesk"),
        ("F", "ui.desks.followup_desk.FollowUpDesk"),
        ("P", "ui.desks.print_desk.PrintDesk"),
    ],
)
def test_a_desk_loaded_on_first_use_opens_from_its_shortcut(
    make_window: Callable[..., MainWindow], qtbot: QtBot, key: str, kind: str
) -> None:
    window = make_window()
    window.activateWindow()
    qtbot.keyClick(
        window.table,
        getattr(Qt.Key, f"Key_{key}"),
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    module, name = kind.rsplit(".", 1)

    def opened() -> list[QWidget]:
        loaded = sys.modules.get(module)
        cls = getattr(loaded, name, None)
        return [w for w in window.findChildren(cls) if w.isVisible()] if cls is not None else []

    qtbot.waitUntil(lambda: len(opened()) == 1, timeout=10_000)
    window.services.tasks.wait()
    qtbot.wait(50)
    opened()[0].close()


def test_the_case_form_and_pathway_load_on_first_use(make_window: Callable[..., MainWindow], qtbot: QtBot) -> None:
    """New case (Ctrl+N) and the selected patient's pathway (Ctrl+Shift+T) open although neither module is
    imported by the window itself."""
    window = make_window()
    window.table.setFocus()
    window.table.selectRow(0)
    qtbot.keyClick(window.table, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.form is not None and window.form.isVisible(), timeout=10_000)
    assert window.form is not None
    window.form.dirty = False
    window.form.reject()
    qtbot.waitUntil(lambda: window.form is None, timeout=10_000)
    window.table.setFocus()
    window.table.selectRow(0)
    qtbot.keyClick(window.table, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    from ui.pathway_view import PathwayView

    qtbot.waitUntil(lambda: any(w.isVisible() for w in window.findChildren(PathwayView)), timeout=10_000)
    window.services.tasks.wait()
    for view in window.findChildren(PathwayView):
        view.close()


def test_the_quality_and_follow_up_desks_load_reportlab_only_to_print() -> None:
    """The PDF library (16 MB) loads with a desk's first PDF, not with the desk: a million-case walk through
    the desks stays under its memory budget."""
    script = "import sys, ui.main_window, ui.desks.quality_desk, ui.desks.followup_desk\nprint(sorted(sys.modules))\n"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
    modules = set(json.loads(done.stdout.strip().splitlines()[-1].replace("'", '"')))
    assert "ui.desks.followup_papers" in modules and "ui.desks.quality_jobs" in modules
    assert "reportlab" not in modules and "caselog.reports" not in modules
