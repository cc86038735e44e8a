"""The case table stays responsive over 100,000 cases: it holds and asks for pages, never the whole list."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

from PySide6.QtWidgets import QApplication, QTableView
from pytestqt.qtbot import QtBot

from caselog.records import CaseFilter, CaseListItem
from ui.case_model import PAGE_SIZE, CaseTableModel
from ui.tasks import TaskRunner

TOTAL = 100_000


class HundredThousandCases:
    """Stands in for CaseService over 100,000 cases and records what the model asks of it."""

    actor = None

    def __init__(self) -> None:
        self.asked: list[tuple[int, int | None]] = []
        self.threads: list[threading.Thread] = []  # where each page was read

    def count(self, case_filter: CaseFilter | None = None) -> int:
        return TOTAL if not (case_filter and case_filter.procedure) else TOTAL // 5

    def query(self, case_filter: CaseFilter | None = None, *, sort: str = "procedure_date", descending: bool = False,
              offset: int = 0, limit: int | None = None) -> list[CaseListItem]:  # fmt: skip
        self.asked.append((offset, limit))
        self.threads.append(threading.current_thread())
        matching = self.count(case_filter)
        end = min(matching, offset + (limit or matching))
        day = dt.date(2025, 1, 1)
        return [
            CaseListItem(
                id=i,
                case_number=f"2025-{i % 99999 + 1:05d}",
                status="final",
                procedure_date=day,
                mrn=f"M{i}",
                patient_name=f"Patient {i}",
                procedure="radiofrequency_ablation",
                levels_text="L4-L5 bilateral",
                duration_minutes=40,
                anesthesia_type="local",
                surgeon="Dr. Priya Raman",
                complication_count=0,
                worst_grade=None,
                version=1,
            )
            for i in range(offset, end)
        ]


class FakeServices:
    def __init__(self) -> None:
        self.cases: Any = HundredThousandCases()
        self.tasks = TaskRunner()


def shown_list(qtbot: QtBot) -> tuple[FakeServices, CaseTableModel, QTableView]:
    """The case list over the fake service, its first page loaded and on screen."""
    services = FakeServices()
    model = CaseTableModel(services)  # type: ignore[arg-type]
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(1200, 700)
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        model.refresh()
    view.show()
    return services, model, view


def test_the_model_loads_pages_on_demand_over_100000_cases(qtbot: QtBot) -> None:
    services, model, view = shown_list(qtbot)
    assert (model.matching, model.total, model.rowCount()) == (TOTAL, TOTAL, PAGE_SIZE)
    assert services.cases.asked == [(0, PAGE_SIZE)]
    # Scrolling to the end of what is loaded fetches the next page only.
    view.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() >= 2 * PAGE_SIZE)
    assert model.rowCount() < 10 * PAGE_SIZE
    assert all(limit == PAGE_SIZE for _, limit in services.cases.asked)
    # A filter change starts again from one page, with the new count.
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        model.set_filter(CaseFilter(procedure="radiofrequency_ablation"))
    assert model.matching == TOTAL // 5 and PAGE_SIZE <= model.rowCount() <= 2 * PAGE_SIZE
    services.tasks.wait()


def test_scrolling_to_the_end_loads_the_next_page_off_the_gui_thread(qtbot: QtBot) -> None:
    """The view asks for more; the worker reads the page and its rows arrive; the GUI thread never queries."""
    services, model, view = shown_list(qtbot)
    with qtbot.waitSignal(model.fetched, timeout=10_000):
        view.scrollToBottom()
        assert model.rowCount() == PAGE_SIZE  # the call returned before the page was read
    assert model.rowCount() == 2 * PAGE_SIZE
    assert model.row_at(PAGE_SIZE).patient_name == f"Patient {PAGE_SIZE}"  # type: ignore[union-attr]
    assert services.cases.asked[:2] == [(0, PAGE_SIZE), (PAGE_SIZE, PAGE_SIZE)]
    assert threading.main_thread() not in services.cases.threads
    services.tasks.wait()


def test_a_page_asked_for_before_a_refresh_is_not_added_after_it(qtbot: QtBot) -> None:
    """A filter change while the next page is on its way: the late page belongs to the old list."""
    services = FakeServices()
    model = CaseTableModel(services)  # type: ignore[arg-type]
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        model.refresh()
    model.fetchMore()
    model.fetchMore()  # asked again meanwhile: still one page on its way
    assert model.fetching
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        model.set_filter(CaseFilter(procedure="radiofrequency_ablation"))
    services.tasks.wait()
    QApplication.processEvents()  # deliver the late page
    assert model.rowCount() == PAGE_SIZE and model.matching == TOTAL // 5
    assert services.cases.asked.count((PAGE_SIZE, PAGE_SIZE)) == 1
