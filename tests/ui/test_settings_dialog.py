"""The settings dialog: what a clinic sets once (PDF header, defaults, lock time, database) is kept."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from caselog.settings import load_settings
from ui.services import AppSettings
from ui.settings_dialog import SettingsDialog


def test_settings_are_saved_and_used(qtbot: QtBot, tmp_path: Path) -> None:
    settings = AppSettings(path=tmp_path / "settings.json")
    dialog = SettingsDialog(settings, surgeons=["Dr. Priya Raman"])
    qtbot.addWidget(dialog)
    dialog.facility_name.setText("Riverside Spine Center")
    dialog.default_surgeon.setCurrentText("Dr. Priya Raman")
    dialog.idle_lock.setValue(5)
    dialog.paper.setCurrentIndex(dialog.paper.findData("a4"))
    dialog.accept()
    saved = load_settings(tmp_path / "settings.json")
    assert (saved.facility_name, saved.default_surgeon, saved.idle_lock_minutes, saved.paper) == (
        "Riverside Spine Center", "Dr. Priya Raman", 5, "a4",
    )  # fmt: skip
    assert settings.report_settings().paper == "a4"
    assert settings.report_settings().facility_name == "Riverside Spine Center"


def test_a_missing_logo_is_refused_in_the_dialog(qtbot: QtBot, tmp_path: Path) -> None:
    settings = AppSettings(path=tmp_path / "settings.json")
    dialog = SettingsDialog(settings, surgeons=[])
    qtbot.addWidget(dialog)
    dialog.logo_path.setText(str(tmp_path / "nope.png"))
    dialog.accept()
    assert "logo must be an existing PNG or JPEG" in dialog.problem.text()
    assert not (tmp_path / "settings.json").exists()


def test_a_server_needs_host_and_user(qtbot: QtBot, tmp_path: Path) -> None:
    settings = AppSettings(path=tmp_path / "settings.json")
    dialog = SettingsDialog(settings, surgeons=[])
    qtbot.addWidget(dialog)
    dialog.use_server.setChecked(True)
    dialog.accept()
    assert "host and a user name" in dialog.problem.text()


def test_without_administrator_rights_the_database_cannot_be_moved(qtbot: QtBot, tmp_path: Path) -> None:
    """Which database CaseLog opens is an administrator's choice once accounts exist."""
    settings = AppSettings(path=tmp_path / "settings.json")
    dialog = SettingsDialog(settings, surgeons=[], may_change_database=False)
    qtbot.addWidget(dialog)
    assert not dialog.file_path.isEnabled() and not dialog.use_server.isEnabled()
    dialog.file_path.setText(str(tmp_path / "elsewhere.sqlite3"))  # as a script or an accessibility tool could
    dialog.accept()
    assert "Only an administrator" in dialog.problem.text()
    assert not (tmp_path / "settings.json").exists()
    dialog.file_path.setText(settings.value.database)
    dialog.facility_name.setText("Riverside Spine Center")
    dialog.accept()
    assert load_settings(tmp_path / "settings.json").facility_name == "Riverside Spine Center"
