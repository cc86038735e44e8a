"""The case table stays responsive over 100,000 cases: it holds and asks for pages, never the whole list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from PySide6.QtWidgets import QTableView
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

    def count(self, case_filter: CaseFilter | None = None) -> int:
        return TOTAL if not (case_filter and case_filter.procedure) else TOTAL // 5

    def query(self, case_filter: CaseFilter | None = None, *, sort: str = "procedure_date", descending: bool = False,
              offset: int = 0, limit: int | None = None) -> list[CaseListItem]:  # fmt: skip
        self.asked.append((offset, limit))
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


def test_the_model_loads_pages_on_demand_over_100000_cases(qtbot: QtBot) -> None:
    services = FakeServices()
    model = CaseTableModel(services)  # type: ignore[arg-type]
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.resize(1200, 700)
    with qtbot.waitSignal(model.loaded, timeout=10_000):
        model.refresh()
    view.show()
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
