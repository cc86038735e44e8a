"""The print desk as an OR coordinator meets it: a day's cases ticked, a preview, one print job, a saved PDF."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QDialog, QFileDialog, QStyle, QStyleOptionViewItem, QWidget
from pytestqt.qtbot import QtBot

from caselog.audit import entries
from caselog.records import CaseFilter
from caselog.reports import write_case_summaries
from caselog.reports.pathway import pathways_for
from caselog.service import CaseService
from ui.desks import open_print_desk
from ui.desks.print_desk import PrintDesk
from ui.desks.print_list import COL_PRINT
from ui.services import AppSettings, Services


def busiest_day(service: CaseService) -> dt.date:
    days: dict[dt.date, int] = {}
    for row in service.query(CaseFilter()):
        days[row.procedure_date] = days.get(row.procedure_date, 0) + 1
    return max(days, key=lambda d: (days[d], d))


@pytest.fixture
def desk(qtbot: QtBot, services: Services, app_settings: AppSettings) -> Iterator[PrintDesk]:
    day = busiest_day(services.cases)
    parent = QWidget()
    qtbot.addWidget(parent)
    made = PrintDesk(services, app_settings, parent, today=lambda: day)
    with qtbot.waitSignal(made.preview.document.pageCountChanged, timeout=20000):
        made.show_today()
    qtbot.waitUntil(lambda: made.preview.page_count > 0 and made._build_task is None, timeout=20000)
    yield made
    made.close()
    services.tasks.wait()


def pages(path: Path) -> int:
    return len(PdfReader(str(path)).pages)


def test_todays_cases_are_listed_ticked_and_previewed(desk: PrintDesk, tmp_path: Path) -> None:
    rows = desk.model.rows()
    day = rows[0].procedure_date
    assert len(rows) >= 2 and all(r.procedure_date == day for r in rows)
    assert desk.model.ticked() == [r.case_number for r in rows]
    assert desk.heading.text() == f"Today, {day:%A %Y-%m-%d}: {len(rows)} cases"
    expected = tmp_path / "expected.pdf"
    views = desk.services.cases.get_cases(desk.model.ticked())
    pathways = pathways_for(views, desk.services.cases.patient_pathway)
    write_case_summaries(views, expected, settings=desk.settings.report_settings(), pathways=pathways)
    assert desk.preview.page_count == pages(expected) >= len(rows)
    assert desk.preview.page_label.text() == f"Page 1 of {pages(expected)}"


def test_unticking_a_case_changes_what_is_previewed(desk: PrintDesk, qtbot: QtBot) -> None:
    first = desk.model.rows()[0].case_number
    before = desk.preview.page_count
    desk.tick(first, False)
    assert first not in desk.model.ticked() and not desk.preview_is_current()
    with qtbot.waitSignal(desk.preview.document.pageCountChanged, timeout=20000):
        desk.build_preview()
    qtbot.waitUntil(desk.preview_is_current, timeout=20000)
    assert 0 < desk.preview.page_count < before
    desk.model.set_all(False)
    assert not desk.print_action.isEnabled() and not desk.save_action.isEnabled()


def test_printing_to_a_pdf_printer_writes_the_pages(
    desk: PrintDesk, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[QPrinter] = []
    monkeypatch.setattr(QPrintDialog, "exec", lambda self: asked.append(self.printer()) or QDialog.DialogCode.Accepted)
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    target = tmp_path / "printed.pdf"
    printer.setOutputFileName(str(target))
    desk.print_summaries(printer)
    assert asked == [printer]
    assert target.is_file() and pages(target) == desk.preview.page_count
    assert "Sent" in desk.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not desk.services.tasks.busy)
    printed = [e for e in entries(desk.services.cases.db) if e.action == "print"]
    assert sorted(e.record_id for e in printed) == sorted(desk.preview_numbers)


def test_a_declined_print_dialog_prints_nothing(
    desk: PrintDesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(QPrintDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    printer = QPrinter(QPrinter.PrinterMode.ScreenResolution)
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "never.pdf"))
    desk.print_summaries(printer)
    assert not (tmp_path / "never.pdf").exists()
    assert "nothing was sent" in desk.statusBar().currentMessage()


def test_save_as_pdf_writes_the_previewed_file(
    desk: PrintDesk, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "day"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "PDF (*.pdf)"))
    desk.save_pdf()
    qtbot.waitUntil(lambda: desk.saved_path is not None, timeout=10000)
    assert desk.saved_path == tmp_path / "day.pdf"
    assert pages(tmp_path / "day.pdf") == desk.preview.page_count
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".day")] == []


def test_a_cancelled_build_leaves_no_file_and_says_so(desk: PrintDesk, qtbot: QtBot) -> None:
    folder = Path(desk._folder.name)
    shown = desk.preview_path
    desk.model.set_all(True)
    desk.tick(desk.model.rows()[0].case_number, False)
    task = desk.build_preview()
    assert task is not None
    task.cancel()
    qtbot.waitUntil(lambda: desk._build_task is None, timeout=20000)
    assert "cancelled; nothing was written" in desk.statusBar().currentMessage()
    assert sorted(folder.iterdir()) == [shown]  # only the earlier preview, no partial or temporary file


def test_a_selection_and_a_search_list_those_cases(desk: PrintDesk, qtbot: QtBot) -> None:
    wanted = [r.case_number for r in desk.services.cases.query(CaseFilter(), limit=3)][::-1]
    with qtbot.waitSignal(desk.model.modelReset, timeout=10000):
        desk.show_cases(wanted)
    assert [r.case_number for r in desk.model.rows()] == wanted
    mrn = desk.model.rows()[0].mrn
    with qtbot.waitSignal(desk.model.modelReset, timeout=10000):
        desk.find(mrn)
    assert desk.model.rows() and all(r.mrn == mrn for r in desk.model.rows())


def test_entry_point_reuses_the_open_desk(qtbot: QtBot, services: Services, app_settings: AppSettings) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    first = open_print_desk(parent, services, app_settings)
    again = open_print_desk(parent, services, app_settings, case_numbers=[])
    assert first is again and first.isVisible()
    qtbot.waitUntil(lambda: not services.tasks.busy, timeout=20000)
    first.close()


def test_the_list_shows_status_levels_and_surgeon_beside_the_preview_at_1280(desk: PrintDesk, qtbot: QtBot) -> None:
    """What a coordinator checks before printing is on screen without scrolling sideways."""
    desk.resize(1280, 720)
    desk.show()
    qtbot.waitExposed(desk)
    headers = [desk.model.headerData(c, Qt.Orientation.Horizontal) for c in range(desk.model.columnCount())]
    row = desk.model.rows()[0]
    for title, value in (("Levels", row.levels_text), ("Surgeon", row.surgeon), ("Status", "Draft")):
        column = headers.index(title)
        right = desk.table.columnViewportPosition(column) + desk.table.columnWidth(column)
        assert right <= desk.table.viewport().width(), title
        if title != "Status":
            assert desk.model.index(0, column).data() == value
    statuses = {desk.model.index(i, headers.index("Status")).data() for i in range(desk.model.rowCount())}
    assert statuses <= {"Draft", "Signed", "Amended"} and statuses


def test_unticking_with_the_mouse_refreshes_the_preview(desk: PrintDesk, qtbot: QtBot) -> None:
    before = desk.preview.page_count
    index = desk.model.index(0, COL_PRINT)
    rect = desk.table.visualRect(index)
    box = desk.table.style().subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, QStyleOptionViewItem())
    point = rect.topLeft() + box.center() if box.isValid() else rect.center()
    qtbot.mouseClick(desk.table.viewport(), Qt.MouseButton.LeftButton, pos=point)
    if desk.model.rows()[0].case_number in desk.model.ticked():  # the indicator sits elsewhere in this style
        qtbot.keyClick(desk.table, Qt.Key.Key_Space)
    assert desk.model.rows()[0].case_number not in desk.model.ticked()
    qtbot.waitUntil(desk.preview_is_current, timeout=20000)
    assert 0 < desk.preview.page_count < before


def test_the_day_field_says_when_the_list_is_not_one_day(desk: PrintDesk, qtbot: QtBot) -> None:
    day = desk.model.rows()[0].procedure_date
    assert desk.listed_day() == day and desk.day.text().endswith(f"{day:%Y-%m-%d}")
    wanted = [r.case_number for r in desk.services.cases.query(CaseFilter(), limit=2)]
    with qtbot.waitSignal(desk.model.modelReset, timeout=10000):
        desk.show_cases(wanted)
    assert desk.listed_day() is None and "not one day" in desk.day.text()
    with qtbot.waitSignal(desk.model.modelReset, timeout=10000):
        desk.today_button.click()
    assert desk.listed_day() == day and all(r.procedure_date == day for r in desk.model.rows())


def test_the_save_dialog_opens_in_the_last_folder(
    desk: PrintDesk, qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "to-the-ward"
    folder.mkdir()
    offered: list[str] = []

    def ask(_parent: object, _title: str, where: str, _kind: str) -> tuple[str, str]:
        offered.append(where)
        return str(folder / f"print-{len(offered)}.pdf"), "PDF (*.pdf)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", ask)
    desk.save_pdf()
    qtbot.waitUntil(lambda: desk.saved_path is not None, timeout=10000)
    desk.save_pdf()
    assert Path(offered[0]).parent != folder and Path(offered[1]).parent == folder
