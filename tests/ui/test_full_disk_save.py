"""Saving a case when the disk under the database is full: the form stays open with everything typed, and the
message says the disk is full, never that the database is damaged (a restore would throw away the day's work)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from caselog.db.schema import open_database
from caselog.service import CaseService
from tests.helpers.reliability import small_file_system
from tests.test_reliability_disk import fill
from tests.ui.test_case_form import fill_valid, open_new
from ui.main_window import MainWindow
from ui.services import AppSettings, Services
from ui.tasks import TaskRunner


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_file_system(tmp_path / "disk", "4m") as disk:
        yield disk


def test_a_case_saved_on_a_full_disk_stays_in_the_form(
    qtbot: QtBot, small_disk: Path, sqlite_template: Path, app_settings: AppSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path = small_disk / "caselog.sqlite3"
    shutil.copy(sqlite_template, path)
    db = open_database(path)
    window = MainWindow(Services(CaseService(db), TaskRunner(), db.display_name), app_settings)
    try:
        with qtbot.waitSignal(window.model.loaded, timeout=10000):
            window.show()
        form = open_new(window)
        fill_valid(qtbot, form, mrn="FULL-1")
        form.fields.notes.setPlainText("n" * 9000)
        fill(small_disk)
        warnings: list[str] = []
        monkeypatch.setattr(QMessageBox, "warning", lambda _p, title, text, *a: warnings.append(f"{title}: {text}"))
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
        form.grab().save(str(small_disk.parent / "full-disk-form.png"))
        assert warnings, "no message was shown"
        assert "is full" in warnings[0] and "Free some space" in warnings[0], warnings
        assert "damaged" not in warnings[0] and "restore" not in warnings[0]
        assert window.form is form and form.isVisible()
        assert form.status.text().startswith("Not saved: what you typed is still here. The disk holding")
        assert form.fields.mrn.text() == "FULL-1" and form.fields.notes.toPlainText() == "n" * 9000
        (small_disk / "filler").unlink()
        assert window.services.cases.count() == 0
    finally:
        if window.form is not None:
            window.form.dirty = False
            window.form.reject()
        window.services.tasks.wait()
        window.close()
        db.close()
