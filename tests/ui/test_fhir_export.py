"""The main window's export offers the FHIR R4 bundle: chosen in the save dialog, written and valid."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fhir.resources.R4B.bundle import Bundle
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from tests.ui.conftest import choose
from ui import jobs
from ui.main_window import MainWindow


def test_the_save_dialog_offers_fhir_and_a_name_without_its_ending_gets_it(
    window: MainWindow, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offered: list[str] = []

    def ask(_parent: object, _title: str, _start: str, filters: str) -> tuple[str, str]:
        offered.extend(filters.split(";;"))
        return str(tmp_path / "for-the-hospital"), "FHIR R4 bundle (*.fhir.json)"

    with qtbot.waitSignal(window.model.loaded):
        choose(window.filters.procedure, "laminotomy")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", ask)
    task = window.export_cases()
    assert task is not None
    with qtbot.waitSignal(task.signals.finished, timeout=30000):
        pass
    assert "FHIR R4 bundle (*.fhir.json)" in offered
    target = tmp_path / "for-the-hospital.fhir.json"
    bundle = json.loads(target.read_text(encoding="utf-8"))
    Bundle.model_validate(bundle)
    procedures = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Procedure"]
    assert len(procedures) == window.model.matching > 0
    assert str(target) in window.statusBar().currentMessage()


def test_a_file_name_ending_in_fhir_json_is_fhir_and_one_in_json_is_caselog_s() -> None:
    assert jobs.export_format(Path("out.fhir.json"), "") == "fhir"
    assert jobs.export_format(Path("OUT.FHIR.JSON"), "CSV for spreadsheets (*.csv)") == "fhir"
    assert jobs.export_format(Path("out.json"), "FHIR R4 bundle (*.fhir.json)") == "json"
    assert jobs.export_path(Path("out.json"), "fhir") == Path("out.json.fhir.json")
    assert jobs.export_path(Path("out.fhir.json"), "fhir") == Path("out.fhir.json")
