"""The case list scrolled far keeps a bounded window of rows: a million-case list must not grow the app's memory
by a megabyte per thousand rows scrolled, and what it drops comes back right, with the selection untouched."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QItemSelectionModel
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot

from caselog.records import CaseFilter
from tests.ui.conftest import load_every_page
from tests.ui.test_case_model_scale import TOTAL, FakeServices, shown_list
from ui.case_model import COL_PATIENT, CaseTableModel
from ui.main_window import MainWindow
from ui.paged_model import PAGE_SIZE

FAR = 30  # pages scrolled: 6,000 rows, six times the window


def scrolled_far(qtbot: QtBot) -> tuple[FakeServices, CaseTableModel, QTableView]:
    """The case list over 100,000 cases, scrolled page after page to row 6,200, as a user holding Page Down."""
    services, model, view = shown_list(qtbot)
    for _ in range(FAR):
        with qtbot.waitSignal(model.fetched, timeout=10_000):
            view.scrollToBottom()
    return services, model, view


def test_scrolling_far_keeps_only_a_window_of_rows(qtbot: QtBot) -> None:
    services, model, _view = scrolled_far(qtbot)
    assert model.rowCount() == (FAR + 1) * PAGE_SIZE  # the list still counts every row it went through
    assert model.rows_in_memory <= CaseTableModel.window_pages * PAGE_SIZE
    last = model.row_at(model.rowCount() - 1)
    assert last is not None and last.patient_name == f"Patient {model.rowCount() - 1}"
    services.tasks.wait()


def test_scrolling_back_reads_the_dropped_rows_again_off_the_gui_thread(qtbot: QtBot) -> None:
    services, model, view = scrolled_far(qtbot)
    asked_before = len(services.cases.asked)
    assert model.row_at(0) is None  # dropped: on its way again
    with qtbot.waitSignal(model.dataChanged, timeout=10_000):
        view.scrollToTop()
    qtbot.waitUntil(lambda: model.index(0, COL_PATIENT).data() == "Patient 0")
    for row in (0, 57, PAGE_SIZE - 1):
        assert model.index(row, COL_PATIENT).data() == f"Patient {row}"
    assert (0, PAGE_SIZE) in services.cases.asked[asked_before:]
    assert len(services.cases.asked) - asked_before <= 2  # the page on screen, not every page scrolled
    assert model.rows_in_memory <= CaseTableModel.window_pages * PAGE_SIZE
    assert model.rowCount() == (FAR + 1) * PAGE_SIZE
    # and down again, to a row in the middle of what was scrolled
    middle = 17 * PAGE_SIZE + 5
    view.scrollTo(model.index(middle, 0))
    qtbot.waitUntil(lambda: model.index(middle, COL_PATIENT).data() == f"Patient {middle}")
    services.tasks.wait()


def test_the_selected_row_stays_the_same_case_however_far_the_list_scrolls(qtbot: QtBot) -> None:
    services = FakeServices()
    model = CaseTableModel(services)  # type: ignore[arg-type]
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        model.refresh()
    chosen = model.row_at(3)
    model.keep([3])
    for _ in range(FAR):
        with qtbot.waitSignal(model.fetched, timeout=10_000):
            model.fetchMore()
    assert model.row_at(3) == chosen and model.row_of(chosen.case_number) == 3  # type: ignore[union-attr]
    assert model.rows_in_memory <= CaseTableModel.window_pages * PAGE_SIZE + 1
    # a row kept while its page was away is read and kept when the page comes back
    far = 2 * PAGE_SIZE + 9
    with qtbot.waitSignal(model.dataChanged, timeout=10_000):
        model.keep([3, far])
    assert model.row_at(far).patient_name == f"Patient {far}"  # type: ignore[union-attr]
    services.tasks.wait()


def test_a_filter_or_sort_after_scrolling_far_starts_again_from_one_page(qtbot: QtBot) -> None:
    services, model, _view = scrolled_far(qtbot)
    model.keep([2])
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        model.set_filter(CaseFilter(procedure="radiofrequency_ablation"))
    assert (model.matching, model.rowCount(), model.rows_in_memory) == (TOTAL // 5, PAGE_SIZE, PAGE_SIZE)
    asked = len(services.cases.asked)
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        model.sort(COL_PATIENT)
    # (the view, still at the end, may already be asking for the next page in a worker)
    assert services.cases.asked[asked] == (0, PAGE_SIZE) and model.rowCount() == PAGE_SIZE
    services.tasks.wait()


def test_the_main_window_acts_on_the_selected_case_after_its_page_was_dropped(
    qtbot: QtBot, make_window: Callable[..., MainWindow], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real database (450 cases): a window of one page, a case chosen on the first, the list scrolled to its
    end; the detail pane and the actions still name the chosen case."""
    monkeypatch.setattr(CaseTableModel, "window_pages", 1)
    window = make_window()
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    window.table.selectionModel().setCurrentIndex(window.model.index(4, 0), flags)
    chosen = window.current_row()
    assert chosen is not None
    load_every_page(window.model, qtbot)
    window.table.scrollToBottom()
    assert window.model.rowCount() > 2 * PAGE_SIZE
    assert window.model.rows_in_memory <= PAGE_SIZE + 1
    assert [row.case_number for row in window.selected_rows()] == [chosen.case_number]
    assert window.current_row() == chosen
    assert window.edit_action.isEnabled()
    assert window.detail.current is not None and window.detail.current.case_number == chosen.case_number


def test_rows_gone_when_a_dropped_page_is_read_again_reload_the_list(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cases deleted under the list (drafts, another computer) while their page was away: the list reloads from
    the top rather than show rows with holes."""
    services, model, view = scrolled_far(qtbot)
    fewer = TOTAL - 150
    monkeypatch.setattr(services.cases, "count", lambda case_filter=None: fewer)
    original = services.cases.query
    monkeypatch.setattr(services.cases, "query", lambda case_filter=None, **kw: original(case_filter, **kw)[:50])
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        view.scrollToTop()
    assert (model.matching, model.rowCount(), model.rows_in_memory) == (fewer, 50, 50)
    assert [model.index(i, COL_PATIENT).data() for i in (0, 49)] == ["Patient 0", "Patient 49"]
    services.tasks.wait()
