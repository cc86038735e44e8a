"""The quality desk as quality staff meet it: filters narrow the list, reviews persist, outputs match the list."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from caselog.quality import ComplicationFilter, count_complications
from tests.ui.conftest import choose, load_every_page
from ui.desks import open_quality_desk
from ui.desks.common import ROW_ROLE
from ui.desks.quality_desk import QualityDesk
from ui.desks.quality_model import COL_GRADE, entry_key
from ui.main_window import MainWindow
from ui.services import AppSettings, Services


@pytest.fixture
def make_desk(qtbot: QtBot, services: Services, app_settings: AppSettings) -> Iterator[Callable[[], QualityDesk]]:
    parent = QWidget()
    qtbot.addWidget(parent)
    made: list[QualityDesk] = []

    def make() -> QualityDesk:
        desk = QualityDesk(services, app_settings, parent)
        qtbot.waitUntil(lambda: desk.model.rowCount() > 0 and bool(desk.counts), timeout=10000)
        made.append(desk)
        return desk

    yield make
    services.tasks.wait()
    for desk in made:
        desk.close()


def rows(desk: QualityDesk) -> list:
    return [desk.model.index(i, 0).data(ROW_ROLE) for i in range(desk.model.rowCount())]


def test_lists_every_complication_with_open_reviews_counted(make_desk: Callable[[], QualityDesk]) -> None:
    desk = make_desk()
    total = count_complications(desk.services.cases)
    assert desk.model.matching == total > 0
    assert sum(desk.counts.values()) == total
    assert f"{desk.counts['open']:,} open review" in desk.banner.text()
    assert f"{desk.counts['open']:,} open review" in desk.windowTitle()
    dates = [r.procedure_date for r in rows(desk)]
    assert dates == sorted(dates, reverse=True)


def test_filters_narrow_the_list(make_desk: Callable[[], QualityDesk], qtbot: QtBot) -> None:
    desk = make_desk()
    total = desk.model.matching
    with qtbot.waitSignal(desk.model.loaded):
        choose(desk.procedure, "radiofrequency_ablation")
    rfa = desk.model.matching
    assert 0 < rfa < total and all(r.procedure == "radiofrequency_ablation" for r in rows(desk))
    grade = rows(desk)[0].clavien_dindo
    with qtbot.waitSignal(desk.model.loaded):
        choose(desk.grade, grade)
    assert 0 < desk.model.matching <= rfa and all(r.clavien_dindo == grade for r in rows(desk))
    with qtbot.waitSignal(desk.model.loaded):
        desk.clear_filters()
    assert desk.model.matching == total
    category = rows(desk)[0].category
    with qtbot.waitSignal(desk.model.loaded):
        choose(desk.category, category)
    assert all(r.category == category for r in rows(desk))
    with qtbot.waitSignal(desk.model.loaded):
        desk.clear_filters()
    for box, attr in ((desk.timing, "timing"), (desk.review, "review_status")):
        with qtbot.waitSignal(desk.model.loaded):
            choose(box, getattr(rows(desk)[0], attr))
        assert 0 < desk.model.matching < total and all(getattr(r, attr) == box.currentData() for r in rows(desk))
        with qtbot.waitSignal(desk.model.loaded):
            box.setCurrentIndex(0)
    first = rows(desk)[-1].procedure_date
    with qtbot.waitSignal(desk.model.loaded):
        desk.dates.set_range(first, first.replace(year=first.year + 1))
    assert 0 < desk.model.matching < total
    assert all(first <= r.procedure_date <= first.replace(year=first.year + 1) for r in rows(desk))
    surgeon = rows(desk)[0].surgeon
    with qtbot.waitSignal(desk.model.loaded):
        choose(desk.surgeon, surgeon)
    assert all(r.surgeon == surgeon for r in rows(desk))


def test_sorting_by_grade_is_by_severity(make_desk: Callable[[], QualityDesk], qtbot: QtBot) -> None:
    desk = make_desk()
    with qtbot.waitSignal(desk.model.loaded):
        desk.table.sortByColumn(COL_GRADE, Qt.SortOrder.DescendingOrder)
    order = ["I", "II", "IIIa", "IIIb", "IVa", "IVb", "V"]
    ranks = [order.index(r.clavien_dindo) for r in rows(desk)]
    assert ranks == sorted(ranks, reverse=True) and ranks[0] > ranks[-1]


def test_a_review_persists_and_shows_on_reopening(make_desk: Callable[[], QualityDesk], qtbot: QtBot) -> None:
    desk = make_desk()
    opened = desk.counts["open"]
    with qtbot.waitSignal(desk.model.loaded):
        choose(desk.review, "open")
    desk.table.selectRow(0)
    entry = desk.panel.entry
    assert entry is not None and entry.review_status == "open" and not desk.panel.save.isEnabled()
    choose(desk.panel.status, "closed")
    qtbot.keyClicks(desk.panel.notes, "Reviewed at M&M; expected course, no action.")
    assert desk.panel.save.isEnabled()
    with qtbot.waitSignal(desk.model.loaded, timeout=10000):
        qtbot.mouseClick(desk.panel.save, Qt.MouseButton.LeftButton)
    assert desk.counts["open"] == opened - 1 and desk.model.row_of((entry.case_number, entry.position)) == -1
    desk.close()

    again = make_desk()
    again.clear_filters()
    qtbot.waitUntil(lambda: again.model.matching == count_complications(again.services.cases), timeout=10000)
    with qtbot.waitSignal(again.model.loaded):
        choose(again.review, "closed")
    load_every_page(again.model, qtbot)
    assert again.select((entry.case_number, entry.position))
    assert again.panel.status.currentData() == "closed"
    assert again.panel.notes.toPlainText() == "Reviewed at M&M; expected course, no action."
    assert again.counts["open"] == opened - 1
    view = again.services.cases.get_case(entry.case_number)
    assert view.record.complications[entry.position].review_status == "closed"


def test_opening_a_row_emits_its_case_number(make_desk: Callable[[], QualityDesk], qtbot: QtBot) -> None:
    desk = make_desk()
    desk.table.selectRow(2)
    wanted = rows(desk)[2].case_number
    with qtbot.waitSignal(desk.open_case) as signal:
        desk.table.doubleClicked.emit(desk.model.index(2, 0))
    assert signal.args == [wanted]


def test_excel_export_holds_exactly_the_filtered_rows(make_desk: Callable[[], QualityDesk], qtbot: QtBot,
                                                      tmp_path: Path) -> None:  # fmt: skip
    desk = make_desk()
    with qtbot.waitSignal(desk.model.loaded):
        choose(desk.timing, "postoperative")
    load_every_page(desk.model, qtbot)
    target = tmp_path / "shown.xlsx"
    desk.export_xlsx(target)
    qtbot.waitUntil(lambda: desk.last_output == target, timeout=10000)
    sheet = load_workbook(target)["Complications"]
    exported = [(r[0], r[9]) for r in sheet.iter_rows(min_row=2, values_only=True)]
    shown = [(r.case_number, r.onset_date) for r in rows(desk)]
    assert [(n, d.date()) for n, d in exported] == shown
    assert {r[8] for r in sheet.iter_rows(min_row=2, values_only=True)} == {"Postoperative (within 30 days)"}
    filters = dict(load_workbook(target)["Filters"].iter_rows(values_only=True))
    assert filters["Timing"] == "Postoperative (within 30 days)" and filters["Complications"] == len(shown)


def test_complication_log_pdf_is_written(make_desk: Callable[[], QualityDesk], qtbot: QtBot, tmp_path: Path) -> None:
    desk = make_desk()
    target = tmp_path / "log.pdf"
    desk.complication_log(target)
    qtbot.waitUntil(lambda: desk.last_output == target, timeout=20000)
    assert len(PdfReader(str(target)).pages) >= 1
    assert "Saved the complication log" in desk.statusBar().currentMessage()


def test_entry_point_connects_open_case_once(qtbot: QtBot, services: Services, app_settings: AppSettings) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    heard: list[str] = []
    desk = open_quality_desk(parent, services, app_settings, open_case=heard.append)
    assert open_quality_desk(parent, services, app_settings, open_case=heard.append) is desk
    assert isinstance(desk, QualityDesk)
    desk.open_case.emit("2024-00001")
    assert heard == ["2024-00001"]
    qtbot.waitUntil(lambda: not services.tasks.busy, timeout=10000)
    desk.close()


def test_filter_matches_the_core_count(make_desk: Callable[[], QualityDesk], qtbot: QtBot) -> None:
    desk = make_desk()
    with qtbot.waitSignal(desk.model.loaded):
        choose(desk.review, "under_review")
    f = ComplicationFilter(review_status="under_review")
    assert desk.model.matching == count_complications(desk.services.cases, f)


def click_row(desk: QualityDesk, qtbot: QtBot, row: int) -> None:
    index = desk.model.index(row, 0)
    qtbot.mouseClick(desk.table.viewport(), Qt.MouseButton.LeftButton, pos=desk.table.visualRect(index).center())


def answer_with(monkeypatch: pytest.MonkeyPatch, button: QMessageBox.StandardButton) -> list[str]:
    asked: list[str] = []

    def question(_parent: object, title: str, *_args: object) -> QMessageBox.StandardButton:
        asked.append(title)
        return button

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def test_moving_away_from_typed_review_notes_asks_first(
    make_desk: Callable[[], QualityDesk], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typed notes never vanish with a click elsewhere: Cancel stays, Discard drops, Save saves then moves."""
    desk = make_desk()
    with qtbot.waitSignal(desk.model.loaded):
        choose(desk.review, "open")
    click_row(desk, qtbot, 0)
    first = desk.panel.entry
    assert first is not None
    qtbot.keyClicks(desk.panel.notes, "Discussed at M&M")

    asked = answer_with(monkeypatch, QMessageBox.StandardButton.Cancel)
    click_row(desk, qtbot, 1)
    assert asked == ["Save the review?"]
    assert desk.selected() == first and desk.panel.entry == first
    assert desk.panel.notes.toPlainText() == "Discussed at M&M"

    answer_with(monkeypatch, QMessageBox.StandardButton.Discard)
    click_row(desk, qtbot, 1)
    second = desk.panel.entry
    assert second is not None and second != first and desk.panel.notes.toPlainText() == (second.review_notes or "")
    stored = desk.services.cases.get_case(first.case_number).record.complications[first.position]
    assert stored.review_notes is None or "Discussed" not in stored.review_notes

    qtbot.keyClicks(desk.panel.notes, "Wound checked, healed")
    answer_with(monkeypatch, QMessageBox.StandardButton.Save)
    third_key = entry_key(desk.model.row_at(2))  # type: ignore[arg-type]
    with qtbot.waitSignal(desk.model.loaded, timeout=10000):
        click_row(desk, qtbot, 2)
    qtbot.waitUntil(lambda: desk.selected() is not None and entry_key(desk.selected()) == third_key, timeout=10000)
    stored = desk.services.cases.get_case(second.case_number).record.complications[second.position]
    assert stored.review_notes == "Wound checked, healed"


def test_after_saving_a_review_the_next_open_review_is_selected(
    make_desk: Callable[[], QualityDesk], qtbot: QtBot
) -> None:
    desk = make_desk()
    listed = rows(desk)
    open_rows = [i for i, r in enumerate(listed) if r.review_status == "open"]
    assert len(open_rows) >= 2
    click_row(desk, qtbot, open_rows[0])
    expected_next = entry_key(listed[open_rows[1]])
    choose(desk.panel.status, "closed")
    with qtbot.waitSignal(desk.model.loaded, timeout=10000):
        qtbot.mouseClick(desk.panel.save, Qt.MouseButton.LeftButton)
    chosen = desk.selected()
    assert chosen is not None and entry_key(chosen) == expected_next
    assert desk.panel.entry == chosen and desk.panel.status.currentData() == "open"


def test_quitting_with_an_unsaved_review_asks_first(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    window.desk_actions[1].trigger()
    desk = window.findChildren(QualityDesk)[0]
    qtbot.waitUntil(lambda: desk.model.rowCount() > 0, timeout=10000)
    click_row(desk, qtbot, 0)
    qtbot.keyClicks(desk.panel.notes, "Call the patient on Monday")
    asked = answer_with(monkeypatch, QMessageBox.StandardButton.Cancel)
    assert not window.close()
    assert asked == ["Save the review?"] and window.isVisible() and desk.isVisible()
    answer_with(monkeypatch, QMessageBox.StandardButton.Discard)
    assert window.close()
