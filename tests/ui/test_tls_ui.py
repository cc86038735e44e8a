"""TLS to the clinic's server in the app: the settings take libpq's options, a clear-text connection keeps a
standing warning above the cases, and a server that cannot give the TLS asked for is named plainly at start."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import make_url

from caselog.db.schema import open_database
from caselog.service import CaseService
from caselog.settings import load_settings, postgresql_url
from tests.conftest import PG_URL
from tests.helpers.tls import server_without_tls, with_query
from tests.ui.conftest import choose
from ui import app as app_module
from ui.main_window import MainWindow
from ui.services import AppSettings, Services
from ui.settings_dialog import SettingsDialog
from ui.storage_warning import CLEAR_TEXT_CONNECTION, warning_text
from ui.tasks import TaskRunner


@pytest.fixture(autouse=True)
def _no_message_boxes(monkeypatch: pytest.MonkeyPatch) -> None:
    """ "CaseLog will use the new database after a restart": read, and OK pressed."""
    monkeypatch.setattr("ui.settings_dialog.QMessageBox.information", lambda *a, **k: None)


def _server_dialog(qtbot: QtBot, tmp_path: Path, **kwargs: bool) -> tuple[SettingsDialog, AppSettings]:
    settings = AppSettings(path=tmp_path / "settings.json")
    dialog = SettingsDialog(settings, surgeons=[], **kwargs)
    qtbot.addWidget(dialog)
    dialog.use_server.setChecked(True)
    dialog.pg_host.setText("db.clinic.local")
    dialog.pg_user.setText("caselog")
    return dialog, settings


def test_verify_full_needs_the_servers_ca_and_is_kept_in_the_url(qtbot: QtBot, tmp_path: Path) -> None:
    dialog, settings = _server_dialog(qtbot, tmp_path)
    choose(dialog.pg_sslmode, "verify-full")
    dialog.accept()
    assert "give the server's CA file" in dialog.problem.text()
    assert not (tmp_path / "settings.json").exists()
    dialog.pg_sslrootcert.setText(str(tmp_path / "missing-ca.crt"))
    dialog.accept()
    assert "does not exist" in dialog.problem.text()
    ca = tmp_path / "clinic-ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    dialog.pg_sslrootcert.setText(str(ca))
    dialog.pg_sslcert.setText(str(ca))  # a certificate without its key
    dialog.accept()
    assert "needs its key file" in dialog.problem.text()
    dialog.pg_sslcert.clear()
    dialog.accept()
    saved = load_settings(tmp_path / "settings.json")
    assert (saved.pg_sslmode, saved.pg_sslrootcert) == ("verify-full", str(ca))
    query = make_url(postgresql_url(settings.value, "pw")).query
    assert query == {"sslmode": "verify-full", "sslrootcert": str(ca)}


def test_only_an_administrator_may_weaken_tls(qtbot: QtBot, tmp_path: Path) -> None:
    dialog, _ = _server_dialog(qtbot, tmp_path)
    dialog.accept()  # an administrator sets the server up (libpq's default mode)
    locked = SettingsDialog(AppSettings(path=tmp_path / "settings.json"), surgeons=[], may_change_database=False)
    qtbot.addWidget(locked)
    assert not locked.pg_sslmode.isEnabled()
    choose(locked.pg_sslmode, "disable")  # as a script or an accessibility tool could
    locked.accept()
    assert "Only an administrator" in locked.problem.text()
    assert load_settings(tmp_path / "settings.json").pg_sslmode == "prefer"


@pytest.mark.parametrize("db_target", ["postgresql"], indirect=True)
def test_a_clear_text_server_connection_keeps_a_warning_above_the_cases(
    qtbot: QtBot, db_target: str, app_settings: AppSettings
) -> None:
    db = open_database(with_query(db_target, sslmode="disable"))
    services = Services(CaseService(db), TaskRunner(), db.display_name)
    window = MainWindow(services, app_settings)
    try:
        with qtbot.waitSignal(window.model.loaded, timeout=20000):
            window.show()
        assert window.storage_warning.isVisible() and window.storage_warning.text() == CLEAR_TEXT_CONNECTION
    finally:
        services.tasks.wait()
        window.close()
        window.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        db.close()


def test_requiring_tls_from_a_server_without_it_is_named_at_start() -> None:
    with server_without_tls(PG_URL) as server:
        target = with_query(server, sslmode="require")
        db, error = app_module.open_target(target)
    assert db is None and error is not None
    where = make_url(target).render_as_string(hide_password=True)
    text = app_module.problem_text(error, where)
    assert "does not accept encrypted (TLS) connections" in text and "sslmode=require" in text
    assert "Traceback" not in text and "OperationalError" not in text


@pytest.mark.skipif(not os.environ.get("CASELOG_TEST_PG_CA"), reason="needs a TLS test server (CASELOG_TEST_PG_CA)")
@pytest.mark.parametrize("db_target", ["postgresql"], indirect=True)
def test_a_verified_tls_connection_needs_no_warning(db_target: str) -> None:
    db = open_database(with_query(db_target, sslmode="verify-full", sslrootcert=os.environ["CASELOG_TEST_PG_CA"]))
    try:
        assert warning_text(db) == ""
    finally:
        db.close()
