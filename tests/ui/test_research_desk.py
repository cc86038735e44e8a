"""The quality desk's research export, as quality staff make it from the keyboard; other roles are not offered it."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from caselog.accounts import AccountService, Actor
from caselog.records import CaseFilter
from caselog.service import CaseService
from ui.desks.quality_desk import QualityDesk
from ui.services import AppSettings, Services

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def desk(qtbot: QtBot, services: Services, app_settings: AppSettings) -> Iterator[QualityDesk]:
    parent = QWidget()
    qtbot.addWidget(parent)
    made = QualityDesk(services, app_settings, parent)
    made.show()
    qtbot.waitUntil(lambda: made.model.rowCount() > 0, timeout=10000)
    yield made
    made.close()
    services.tasks.wait()


def test_ctrl_shift_e_writes_the_de_identified_zip_of_the_date_range(
    desk: QualityDesk, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "research"
    offered: list[str] = []

    def save_dialog(_parent: object, _title: str, _start: str, kind: str) -> tuple[str, str]:
        offered.append(kind)
        return str(target), kind

    monkeypatch.setattr(QFileDialog, "getSaveFileName", save_dialog)
    procedure = desk.procedure.findData("laminectomy")
    desk.procedure.setCurrentIndex(procedure)
    desk.activateWindow()
    qtbot.waitUntil(desk.isActiveWindow)
    qtbot.keyClick(desk, Qt.Key.Key_E, CTRL_SHIFT)
    written = tmp_path / "research.zip"
    qtbot.waitUntil(lambda: desk.last_output == written, timeout=20000)
    assert offered == ["De-identified research export (ZIP) (*.zip)"]
    with zipfile.ZipFile(written) as archive:
        cases = list(csv.DictReader(io.StringIO(archive.read("cases.csv").decode("utf-8-sig"))))
    expected = desk.services.cases.count(CaseFilter(procedure="laminectomy"))
    assert len(cases) == expected > 0 and {c["procedure"] for c in cases} == {"laminectomy"}
    assert f"Exported {expected:,} de-identified cases" in desk.statusBar().currentMessage()
    mrns = {r.mrn for r in desk.services.cases.query(CaseFilter(procedure="laminectomy"))}
    assert not any(mrn in value for case in cases for value in case.values() for mrn in mrns)


def test_a_surgeon_is_not_offered_the_research_export(
    qtbot: QtBot, services: Services, app_settings: AppSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    AccountService(services.db).add_account("boss", role="admin", full_name="Clinic Admin",
                                            password="correct horse battery")  # fmt: skip
    services.cases = CaseService(services.db, actor=Actor("okafor", "Dr. Amara Okafor", "surgeon"))
    shown: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, _t, text, *a, **k: shown.append(text))
    parent = QWidget()
    qtbot.addWidget(parent)
    made = QualityDesk(services, app_settings, parent)
    qtbot.waitUntil(lambda: made.model.rowCount() > 0, timeout=10000)
    assert not made.research_action.isVisible()
    made.research_export(tmp_path / "asked-anyway.zip")  # the service refuses, whatever the window offers
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    assert "only quality staff release de-identified data" in shown[0]
    assert not (tmp_path / "asked-anyway.zip").exists()
    services.tasks.wait()
    made.close()
