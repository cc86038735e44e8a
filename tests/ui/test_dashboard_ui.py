"""The dashboard on demo data and on an empty database: every chart (or its 'no data' note) and its numbers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCharts import QBoxPlotSeries, QLineSeries, QStackedBarSeries
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from caselog.records import CaseFilter
from tests.ui.conftest import choose, services_over
from ui.desks import open_dashboard
from ui.desks.dashboard_desk import DashboardDesk
from ui.services import AppSettings, Services


@pytest.fixture
def demo(tmp_path: Path, demo_template: Path) -> Iterator[Services]:
    yield from services_over(demo_template, tmp_path)


@pytest.fixture
def empty(tmp_path: Path, sqlite_template: Path) -> Iterator[Services]:
    yield from services_over(sqlite_template, tmp_path)


def make(qtbot: QtBot, services: Services, settings: AppSettings) -> DashboardDesk:
    desk = DashboardDesk(services, settings)
    qtbot.addWidget(desk)
    qtbot.waitUntil(lambda: not desk.loading, timeout=20000)
    return desk


def test_builds_every_chart_on_demo_data(qtbot: QtBot, demo: Services, app_settings: AppSettings) -> None:
    desk = make(qtbot, demo, app_settings)
    board = desk.result
    assert board is not None and board.cases == demo.cases.count()
    assert desk.summary.text().startswith(f"{board.cases:,} cases")
    for key, panel in desk.panels.items():
        assert panel.has_chart, key
        assert panel.stack.currentWidget() is panel.view
        assert panel.numbers.rowCount() > 0, key
    month = desk.panels["per_month"].view.chart().series()[0]
    assert isinstance(month, QStackedBarSeries)
    assert sum(sum(s.at(i) for i in range(s.count())) for s in month.barSets()) == board.cases
    boxes = desk.panels["durations"].view.chart().series()[0]
    assert isinstance(boxes, QBoxPlotSeries) and boxes.count() == len(board.durations.rows)
    curves = [s for s in desk.panels["durability"].view.chart().series() if isinstance(s, QLineSeries)]
    names = [s.name() for s in curves]
    assert any(n.startswith("RF ablation") for n in names) and any(n.startswith("Endoscopic") for n in names)
    assert "Number at risk" in desk.at_risk.text()
    rates = desk.panels["rates"]
    assert rates.numbers.columns[0] == "Procedure" and "95% CI low %" in rates.numbers.columns


def test_numbers_toggle_and_copy(qtbot: QtBot, demo: Services, app_settings: AppSettings) -> None:
    desk = make(qtbot, demo, app_settings)
    panel = desk.panels["durability"]
    panel.toggle.click()
    assert panel.stack.currentWidget() is panel.table and panel.which.isVisibleTo(panel)
    tables = desk.result.durability.tables()
    assert panel.which.count() == len(tables) > 1 + 2 * len(desk.result.durability.curves)
    panel.which.setCurrentIndex(panel.which.findText(desk.result.durability.curves[0].table().title))
    assert panel.numbers.columns[0] == "Days"
    panel.copy.click()
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text().startswith("Days\tMonths\tAt risk")
    panel.toggle.click()
    assert panel.stack.currentWidget() is panel.view


def test_filters_apply_to_the_whole_dashboard(qtbot: QtBot, demo: Services, app_settings: AppSettings) -> None:
    desk = make(qtbot, demo, app_settings)
    surgeon = demo.cases.surgeons()[0]
    choose(desk.surgeon, surgeon)
    qtbot.waitUntil(lambda: not desk.loading, timeout=20000)
    assert desk.result.case_filter.surgeon == surgeon
    assert desk.result.cases == demo.cases.count(CaseFilter(surgeon=surgeon)) < demo.cases.count()
    rows = demo.cases.query(CaseFilter(surgeon=surgeon), sort="procedure_date")
    first, last = rows[len(rows) // 3].procedure_date, rows[-1].procedure_date
    desk.dates.set_range(first, last)
    qtbot.waitUntil(lambda: not desk.loading, timeout=20000)
    expected = demo.cases.count(CaseFilter(surgeon=surgeon, date_from=first, date_to=last))
    assert desk.result.cases == expected
    assert desk.panels["per_month"].numbers.rowCount() == len(desk.result.cases_per_month.months)
    measure = desk.panels["scores"]
    choose(desk.measure, "odi")
    assert measure.has_chart and "ODI" in measure.view.chart().axes()[1].titleText()


def test_builds_on_an_empty_database(qtbot: QtBot, empty: Services, app_settings: AppSettings) -> None:
    desk = make(qtbot, empty, app_settings)
    assert desk.result is not None and desk.result.cases == 0
    assert desk.summary.text().startswith("0 cases")
    for panel in desk.panels.values():
        assert not panel.has_chart and panel.stack.currentWidget() is panel.empty
        assert panel.empty.text() == "No cases in this range."
    desk.dates.set_range(*(desk._today(),) * 2)
    qtbot.waitUntil(lambda: not desk.loading, timeout=20000)
    assert desk.result.cases == 0


def test_entry_point_reuses_the_open_dashboard(qtbot: QtBot, demo: Services, app_settings: AppSettings) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    desk = open_dashboard(parent, demo, app_settings)
    assert open_dashboard(parent, demo, app_settings) is desk and desk.isVisible()
    qtbot.waitUntil(lambda: not demo.tasks.busy, timeout=20000)
    desk.close()
