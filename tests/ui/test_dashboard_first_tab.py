"""The dashboard shows its first tab (the count and the cases per month) as soon as those few figures are counted,
while the other tabs are still being counted: at a million cases the whole build takes many seconds (issue 18)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from caselog.dashboard import Dashboard, DashboardService
from tests.ui.conftest import services_over
from ui.desks.dashboard_desk import DashboardDesk
from ui.services import AppSettings, Services


@pytest.fixture
def demo(tmp_path: Path, demo_template: Path) -> Iterator[Services]:
    yield from services_over(demo_template, tmp_path)


def test_the_first_tab_shows_before_the_other_figures_are_counted(
    qtbot: QtBot, demo: Services, app_settings: AppSettings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The whole build is held back: the first tab and the summary line still show the count, marked as the other
    tabs loading; once the build ends, every tab shows and the summary says when it was read."""
    release = threading.Event()
    build = DashboardService.build_with_shares

    def held(self: DashboardService, *args: Any) -> tuple[Dashboard, Any]:
        assert release.wait(20), "the test never released the build"
        return build(self, *args)

    monkeypatch.setattr(DashboardService, "build_with_shares", held)
    desk = DashboardDesk(demo, app_settings)
    qtbot.addWidget(desk)
    desk.show()
    first = desk.panels["per_month"]
    cases = demo.cases.count()
    try:
        qtbot.waitUntil(lambda: first.has_chart, timeout=20000)
        assert desk.loading and desk.result is None
        assert desk.summary.text().startswith(f"{cases:,} cases") and "other tabs are loading" in desk.summary.text()
        assert first.numbers.rowCount() > 0 and not desk.panels["durability"].has_chart
        desk.grab().save(str(tmp_path / "first_tab.png"))
    finally:
        release.set()
    qtbot.waitUntil(lambda: not desk.loading, timeout=20000)
    assert desk.result is not None and desk.result.cases == cases
    assert "read at" in desk.summary.text() and desk.panels["durability"].has_chart
