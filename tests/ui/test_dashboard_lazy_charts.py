"""The dashboard draws a tab's chart when the tab is opened, and the first tab's chart once per build: at a million
cases the charts on tabs nobody looked at held about 12 MB of graphics items, against the app's 250 MB (issue 18)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCharts import QChartView, QLineSeries
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from caselog.dashboard import DashboardService
from tests.ui.conftest import services_over
from ui.desks.dashboard_desk import TABS, DashboardDesk
from ui.services import AppSettings, Services


@pytest.fixture
def demo(tmp_path: Path, demo_template: Path) -> Iterator[Services]:
    yield from services_over(demo_template, tmp_path)


def drawn(desk: DashboardDesk, key: str) -> Any:
    """The chart the panel's view holds now (QChartView's own: without drawing a pending one)."""
    return QChartView.chart(desk.panels[key].view)


def test_a_tab_is_drawn_when_opened(qtbot: QtBot, demo: Services, app_settings: AppSettings, tmp_path: Path) -> None:
    """Every tab has its chart to show, but only the open one is drawn; clicking a tab draws its chart."""
    desk = DashboardDesk(demo, app_settings)
    qtbot.addWidget(desk)
    desk.show()
    qtbot.waitUntil(lambda: not desk.loading, timeout=20000)
    assert all(panel.has_chart for panel in desk.panels.values())
    assert drawn(desk, "per_month").series()
    for key in TABS[1:]:
        assert not drawn(desk, key).series(), key
    bar = desk.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(TABS.index("durability")).center())
    assert desk.tabs.currentWidget() is desk.panels["durability"]
    curves = [s for s in drawn(desk, "durability").series() if isinstance(s, QLineSeries) and s.name()]
    assert any(s.name().startswith("RF ablation") for s in curves)
    assert not drawn(desk, "outcomes").series()
    desk.grab().save(str(tmp_path / "durability_tab.png"))


def test_the_first_tab_is_drawn_once_per_build(
    qtbot: QtBot, demo: Services, app_settings: AppSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cases per month shown while the other figures are counted are the whole build's: the chart stays, not
    drawn a second time; a reload draws it again."""
    release, build = threading.Event(), DashboardService.build_with_shares
    # the whole build waits (at most 20 s) until the first tab's chart from the first figures was looked at
    held = lambda self, *args: release.wait(20) and build(self, *args)  # noqa: E731
    monkeypatch.setattr(DashboardService, "build_with_shares", held)
    desk = DashboardDesk(demo, app_settings)
    qtbot.addWidget(desk)
    desk.show()
    try:
        qtbot.waitUntil(lambda: desk.panels["per_month"].has_chart, timeout=20000)
        first = drawn(desk, "per_month")
        assert first.series() and desk.loading
    finally:
        release.set()
    qtbot.waitUntil(lambda: not desk.loading, timeout=20000)
    assert drawn(desk, "per_month") is first
    qtbot.mouseClick(desk.reload, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not desk.loading and drawn(desk, "per_month") is not first, timeout=20000)
    assert drawn(desk, "per_month").series()
