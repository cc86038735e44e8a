"""The quality desk's "Outside policy" page as a quality nurse uses it: by keyboard to the page, every case outside
the clinic's policy with the rule and the reason, filters, sorting, opening a case, and an export that holds
exactly the rows shown."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import load_workbook
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from caselog import audit
from caselog.quality import NO_REASON, list_outside_policy
from tests.test_outside_policy import CLINIC, RAMAN, REASON
from tests.ui.conftest import choose
from tests.ui.test_quality_desk import make_desk  # noqa: F401  (a fixture)
from ui.desks.outside_policy import COL_PATIENT, COL_REASON, COL_RULE
from ui.desks.quality_desk import QualityDesk
from ui.services import Services


@pytest.fixture
def desk(make_desk: Callable[[], QualityDesk], services: Services) -> QualityDesk:  # noqa: F811
    """The quality desk over the demo database plus the hand-made clinic of tests/test_outside_policy.py."""
    services.cases.import_cases({"format": "caselog-cases", "version": 2, "cases": CLINIC})
    made = make_desk()
    made.show()
    return made


def _to_page(desk: QualityDesk, qtbot: QtBot) -> None:
    """Alt+P, as the tab's underlined letter says."""
    desk.activateWindow()
    with qtbot.waitSignal(desk.outside.model.loaded, timeout=20000):
        qtbot.keyClick(desk, Qt.Key.Key_P, Qt.KeyboardModifier.AltModifier)
    assert desk.outside_shown()


def _numbers(desk: QualityDesk) -> list[str]:
    return [e.case_number for e in desk.outside.model.rows()]


def _mrns(desk: QualityDesk) -> set[str]:
    """The hand-made clinic's patients listed (their case numbers follow the demo's)."""
    return {e.mrn for e in desk.outside.model.rows()} & {"MRN-A", "MRN-B", "MRN-C"}


def _row(desk: QualityDesk, mrn: str) -> int:
    return next(i for i, e in enumerate(desk.outside.model.rows()) if e.mrn == mrn)


def test_the_page_lists_every_case_outside_the_policy(desk: QualityDesk, qtbot: QtBot) -> None:
    assert not desk.outside.model.rows() and not desk.outside.model.loading  # opening the desk checks nothing
    _to_page(desk, qtbot)
    expected = list_outside_policy(desk.services.cases, sort="procedure_date", descending=True)
    assert desk.outside.model.rows() == expected and len(expected) > 3
    assert _mrns(desk) == {"MRN-A", "MRN-B", "MRN-C"}
    model = desk.outside.model
    brown = _row(desk, "MRN-B")
    assert model.index(brown, COL_REASON).data() == REASON
    assert model.index(brown, COL_RULE).data() == "Positive blocks"
    assert "no block at this joint" in model.index(brown, COL_RULE).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(brown, COL_PATIENT).data() == "Brown, Thị Hồng (MRN-B)"
    assert model.index(_row(desk, "MRN-C"), COL_REASON).data() == NO_REASON
    without = sum(1 for e in expected if e.reason is None)
    assert desk.outside.count.text() == f"{len(expected):,} cases outside the policy · {without:,} without a reason"
    qtbot.waitUntil(lambda: bool(desk.outside.policy.text()))  # read beside the list: it may come in after it
    assert desk.outside.policy.text().startswith("Policy – Two blocks at 80% (Medicare LCD): 2 positive blocks")
    assert desk.export_action.text() == "E&xport list…" and not desk.log_action.isEnabled()


def test_filters_narrow_the_list(desk: QualityDesk, qtbot: QtBot) -> None:
    _to_page(desk, qtbot)
    page = desk.outside
    total = len(page.model.rows())
    with qtbot.waitSignal(page.model.loaded):
        choose(page.reason, False)
    assert 0 < len(page.model.rows()) < total and all(e.reason is None for e in page.model.rows())
    with qtbot.waitSignal(page.model.loaded):
        choose(page.reason, True)
    assert _mrns(desk) == {"MRN-B"}
    assert all(e.reason for e in page.model.rows())
    with qtbot.waitSignal(page.model.loaded):
        page.clear_filters()
    assert len(page.model.rows()) == total
    qtbot.waitUntil(lambda: page.surgeon.findData(RAMAN) >= 0)
    with qtbot.waitSignal(page.model.loaded):
        choose(page.surgeon, RAMAN)
    assert "MRN-C" in _mrns(desk) and all(e.surgeon == RAMAN for e in page.model.rows())
    with qtbot.waitSignal(page.model.loaded):
        choose(page.procedure, "endoscopic_rhizotomy")
    assert all(e.procedure == "endoscopic_rhizotomy" and e.surgeon == RAMAN for e in page.model.rows())
    with qtbot.waitSignal(page.model.loaded):
        page.clear_filters()
    with qtbot.waitSignal(page.model.loaded):
        page.dates.set_range(dt.date(2025, 2, 1), dt.date(2025, 3, 31))
    assert _mrns(desk) == {"MRN-B", "MRN-C"}  # MRN-A's repeat is in April
    assert all(dt.date(2025, 2, 1) <= e.procedure_date <= dt.date(2025, 3, 31) for e in page.model.rows())


def test_a_header_click_sorts_without_reading_again(desk: QualityDesk, qtbot: QtBot) -> None:
    _to_page(desk, qtbot)
    page = desk.outside
    header = page.table.horizontalHeader()
    where = QPoint(header.sectionViewportPosition(COL_PATIENT) + 10, header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert page.model.sort_key == "patient" and not page.model.loading
    names = [e.patient_name.casefold() for e in page.model.rows()]
    assert names == sorted(names)


def test_keyboard_opens_the_selected_case(desk: QualityDesk, qtbot: QtBot) -> None:
    _to_page(desk, qtbot)
    table = desk.outside.table
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_Down)
    qtbot.keyClick(table, Qt.Key.Key_Down)
    entry = desk.outside.selected()
    assert entry is not None and desk.open_action.isEnabled()
    with qtbot.waitSignal(desk.open_case) as signal:
        qtbot.keyClick(table, Qt.Key.Key_Return)
    assert signal.args == [entry.case_number]
    with qtbot.waitSignal(desk.open_case) as again:
        desk.open_action.trigger()  # Ctrl+O from anywhere in the desk
    assert again.args == [entry.case_number]
    with qtbot.waitSignal(desk.open_case) as clicked:
        table.doubleClicked.emit(desk.outside.model.index(0, 0))
    assert clicked.args == [desk.outside.model.rows()[0].case_number]


def test_back_on_complications_the_toolbar_acts_on_them(desk: QualityDesk, qtbot: QtBot) -> None:
    _to_page(desk, qtbot)
    qtbot.keyClick(desk, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)
    assert not desk.outside_shown()
    assert desk.export_action.text() == "E&xport to Excel…" and desk.log_action.isEnabled()


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_export_holds_exactly_the_rows_shown(desk: QualityDesk, qtbot: QtBot, tmp_path: Path, suffix: str) -> None:
    _to_page(desk, qtbot)
    page = desk.outside
    with qtbot.waitSignal(page.model.loaded):
        choose(page.reason, False)
    page.table.sortByColumn(COL_PATIENT, Qt.SortOrder.AscendingOrder)
    shown = _numbers(desk)
    target = tmp_path / f"shown.{suffix}"
    page.export(target)
    qtbot.waitUntil(lambda: page.last_output == target, timeout=20000)
    if suffix == "csv":
        exported = [r[0] for r in list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))[1:]]
    else:
        exported = [r[0] for r in load_workbook(target)["Outside policy"].iter_rows(min_row=2, values_only=True)]
    assert exported == shown
    assert f"Exported {len(shown):,} cases outside the policy" in desk.statusBar().currentMessage()
    last = [e for e in audit.entries(desk.services.cases.db) if e.action == "export"][-1]
    assert last.details["format"] == suffix and last.details["cases outside policy"] == len(shown)
    assert last.details["filters"]["Reason"] == "not recorded"
