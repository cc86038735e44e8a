"""The administrator sets the clinic's MRN system for FHIR exports in the app: checked, saved, audited."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from caselog import fhir
from caselog.accounts import Actor
from caselog.db.engine import Database
from caselog.service import CaseService
from tests.ui.test_accounts_ui import accounts_db, signed_in  # noqa: F401 (fixtures)
from ui.main_window import MainWindow


def test_the_admin_sets_the_mrn_system_on_the_clinic_tab(
    signed_in: Callable[[str], MainWindow],  # noqa: F811
    accounts_db: Database,  # noqa: F811
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    window = signed_in("admin")
    admin_view = window.admin_view
    assert admin_view is not None and admin_view.clinic is not None
    bar = admin_view.tabs.tabBar()
    assert bar.tabText(2) == "Clinic"
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(2).center())
    tab = admin_view.clinic
    assert tab.isVisible() and tab.mrn_system.text() == ""
    assert fhir.DEFAULT_MRN_SYSTEM in tab.mrn_system.placeholderText()

    qtbot.keyClicks(tab.mrn_system, "our hospital")
    qtbot.mouseClick(tab.save_button, Qt.MouseButton.LeftButton)
    assert tab.message.isVisible() and "is not an absolute URI" in tab.message.text()
    admin = Actor("admin", "Ada Admin", "admin")
    assert CaseService(accounts_db, actor=admin).clinic_setting(fhir.MRN_SYSTEM_SETTING) is None

    tab.mrn_system.clear()
    qtbot.keyClicks(tab.mrn_system, "urn:oid:2.16.840.1.113883.3.1234")
    qtbot.keyClick(tab.mrn_system, Qt.Key.Key_Return)
    assert tab.message.text() == "Saved: FHIR exports now name the clinic's MRNs urn:oid:2.16.840.1.113883.3.1234."
    window.grab().save(str(tmp_path / "clinic-tab.png"))
    service = CaseService(accounts_db, actor=admin)
    assert service.clinic_setting(fhir.MRN_SYSTEM_SETTING) == "urn:oid:2.16.840.1.113883.3.1234"
    [entry] = [e for e in service.audit_trail() if e.action == "clinic_setting"]
    assert entry.username == "admin"
