"""The dashboard's durability tab and outcomes view on a small hand-made clinic: what they draw and write is the
service's figures (bands, intervals, loss to follow-up, the comparison, the claims, the MCID shares), the keyboard
reaches every tab, and an empty database says so instead of drawing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCharts import QAreaSeries, QLineSeries
from PySide6.QtCore import QCoreApplication, Qt, QThread
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from caselog.dashboard import DashboardService
from caselog.outcomes import mcid_shares
from caselog.records import CaseFilter
from tests.factories import TODAY, case_file, simple_case
from tests.ui.conftest import choose, services_over
from tests.ui.test_colours import palette  # noqa: F401  (fixture: light and dark Fusion)
from ui.desks.dashboard_charts import durability_chart, mcid_chart, step_points
from ui.desks.dashboard_desk import TABS, DashboardDesk
from ui.desks.dashboard_durability import median_text, relief_text
from ui.services import AppSettings, Services
from ui.style import contrast

RFA, RHIZOTOMY = "radiofrequency_ablation", "endoscopic_rhizotomy"


def _patient(mrn: str, family: str) -> dict[str, str]:
    return {"mrn": mrn, "family_name": family, "given_name": "Test", "birth_date": "1960-01-01", "sex": "female"}


def _case(
    day: str, procedure: str, patient: str, level: str, side: str, *outcomes: dict[str, Any], **changes: Any
) -> dict[str, Any]:
    return simple_case(day, procedure=procedure, patient=_patient(patient, f"Family {patient}"),
                       levels=[{"level": level, "side": side}], outcomes=list(outcomes), **changes)  # fmt: skip


def _score(timepoint: str, day: str, **scores: int) -> dict[str, Any]:
    return {"timepoint": timepoint, "date": day, **scores}


#: Worked by hand (today 2025-06-30). RF ablation, 4 sides: P1's first left side repeated after 181 days; P1's
#: second seen last at 12 months (371 days); P2's seen last at 6 months (181 days) and lost since (12 months
#: missed, nothing later); P4's RFA never seen again (0 days, lost). Rhizotomy, 3 sides: P3's two seen at 24 months
#: (733 days); P4's repeated by the RFA after 366 days; P5's seen at 3 months (92 days), then died.
#: MCID: RFA 6 months NRS back 8 -> 3 reached (1/1); RFA 12 months NRS back 6 -> 5 not (0/1), ODI 40 -> 28
#: reached (1/1); rhizotomy 24 months ODI 50 -> 45 not (0/1); P6's cervical block at 6 months: NDI 40 -> 24
#: reached, NRS neck 7 -> 6 not (1 point, 14%), PGIC 2 (much improved) reached.
CLINIC = [
    _case("2023-01-10", RFA, "P1", "L4-L5", "left"),
    _case("2023-07-10", RFA, "P1", "L4-L5", "left", _score("baseline", "2023-07-01", nrs_back=6, odi=40),
          _score("12m", "2024-07-15", nrs_back=5, odi=28)),
    _case("2023-02-01", RFA, "P2", "L5-S1", "right", _score("baseline", "2023-01-20", nrs_back=8),
          _score("6m", "2023-08-01", nrs_back=3)),
    _case("2023-03-01", RHIZOTOMY, "P3", "L4-L5", "bilateral", _score("baseline", "2023-02-20", odi=50),
          _score("24m", "2025-03-03", odi=45)),
    _case("2023-04-01", RHIZOTOMY, "P4", "L3-L4", "right"),
    _case("2024-04-01", RFA, "P4", "L3-L4", "right"),
    _case("2023-05-01", RHIZOTOMY, "P5", "L5-S1", "left", _score("3m", "2023-08-01", nrs_back=3),
          follow_up_attempts=[{"timepoint": "12m", "date": "2024-05-10", "result": "died"}]),
    _case("2024-01-10", "medial_branch_block", "P6", "C5-C6", "right",
          _score("baseline", "2024-01-02", ndi=40, nrs_neck=7), _score("6m", "2024-07-10", ndi=24, nrs_neck=6, pgic=2)),
]  # fmt: skip


@pytest.fixture(autouse=True)
def _a_failed_read_fails_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """The desk shows a failed read in a message box; here it ends the test with the error instead of waiting."""

    def fail(_parent: object, title: str, exc: BaseException) -> None:
        raise AssertionError(f"{title}: {exc!r}") from exc

    monkeypatch.setattr("ui.desks.dashboard_desk.show_error", fail)


@pytest.fixture
def clinic(tmp_path: Path, sqlite_template: Path) -> Iterator[Services]:
    for services in services_over(sqlite_template, tmp_path):
        services.cases.import_cases(case_file(*CLINIC))
        yield services


@pytest.fixture
def empty(tmp_path: Path, sqlite_template: Path) -> Iterator[Services]:
    yield from services_over(sqlite_template, tmp_path)


def make(qtbot: QtBot, services: Services, settings: AppSettings) -> DashboardDesk:
    desk = DashboardDesk(services, settings, today=lambda: TODAY)
    qtbot.addWidget(desk)
    desk.resize(1280, 720)
    desk.show()
    qtbot.waitUntil(lambda: not desk.loading, timeout=20000)
    return desk


def _points(series: QLineSeries) -> list[tuple[float, float]]:
    return [(round(p.x(), 6), round(p.y(), 6)) for p in series.points()]


def test_durability_tab_draws_the_services_curves_bands_and_loss(
    qtbot: QtBot, clinic: Services, app_settings: AppSettings
) -> None:
    desk = make(qtbot, clinic, app_settings)
    figures = DashboardService(clinic.cases, today=lambda: TODAY).durability(CaseFilter())
    rfa, rhizotomy = figures.curve(RFA), figures.curve(RHIZOTOMY)
    assert rfa is not None and rhizotomy is not None
    assert (rfa.n, rfa.repeats, rfa.lost, rfa.no_contact) == (4, 1, 2, 1)  # the hand count above
    assert (rhizotomy.n, rhizotomy.repeats, rhizotomy.died) == (4, 1, 1)
    chart = desk.panels["durability"].view.chart()
    lines = {s.name(): s for s in chart.series() if isinstance(s, QLineSeries) and s.name()}
    main = next(s for name, s in lines.items() if name.startswith("RF ablation: 4 sides"))
    assert _points(main) == [(round(p.x(), 6), round(p.y(), 6)) for p in step_points(rfa.curve, lambda s: s.survival)]
    # P4's side leaves at day 0; at 181 days one repeat among the three still followed: two thirds left.
    assert min(p.y() for p in main.points()) == pytest.approx(200 / 3)
    assert main.name() == "RF ablation: 4 sides, lost to follow-up 2, died 0"
    assert "Endoscopic rhizotomy: 4 sides, lost to follow-up 0, died 1" in lines
    worst = next(s for name, s in lines.items() if name.startswith("RF ablation, lost counted as repeats"))
    assert worst.pen().style() == Qt.PenStyle.DashLine
    assert rfa.sensitivity is not None and rfa.sensitivity.failures == 3
    bands = [s for s in chart.series() if isinstance(s, QAreaSeries)]
    assert len(bands) == 2
    upper = bands[0].upperSeries()
    assert upper is not None
    assert [round(p.y(), 6) for p in upper.points()] == [
        round(p.y(), 6) for p in step_points(figures.curves[0].curve, lambda s: s.upper)
    ]
    words = desk.figures.relief.text()
    for curve in (rfa, rhizotomy):
        for months in (6, 12, 24, 36, 60):
            assert relief_text(curve.relief_at(months)) in words
        assert median_text(curve.median_days, curve.median_ci_days) in words
    assert "67% (" in words  # RFA at 12 months: two thirds left after the repeat at 181 days
    comparison = figures.comparison
    assert comparison is not None and comparison.result.statistic is not None
    assert (
        f"Endoscopic rhizotomy vs RF ablation: chi-square {comparison.result.statistic:.1f}, "
        in desk.figures.comparison.text()
    )
    claims = desk.figures.claims.text()
    assert "Relief for 6-12 months" in claims and "Relief for up to 5 years" in claims
    assert "never until today" in desk.panels["durability"].note.text()
    assert "Number at risk" in desk.at_risk.text()


def test_durability_numbers_hold_every_table_the_service_exports(
    qtbot: QtBot, clinic: Services, app_settings: AppSettings
) -> None:
    desk = make(qtbot, clinic, app_settings)
    panel = desk.panels["durability"]
    desk.tabs.setCurrentWidget(panel)
    qtbot.mouseClick(panel.toggle, Qt.MouseButton.LeftButton)
    tables = desk.result.durability.tables() if desk.result else ()
    assert [panel.which.itemText(i) for i in range(panel.which.count())] == [t.title for t in tables]
    relief = next(i for i, t in enumerate(tables) if t.title.startswith("Relief at 6 to 60 months"))
    panel.which.setCurrentIndex(relief)
    assert panel.numbers.rowCount() == len(tables[relief].rows)
    assert panel.numbers.columns == tables[relief].columns


def test_outcomes_view_draws_the_share_reaching_mcid(qtbot: QtBot, clinic: Services, app_settings: AppSettings) -> None:
    desk = make(qtbot, clinic, app_settings)
    with clinic.cases.reading() as session:
        shares = mcid_shares(session, CaseFilter())
    panel = desk.panels["outcomes"]
    assert panel.numbers.rowCount() == len(shares) == 7
    choose(desk.mcid_measure, "odi")
    lines = [s for s in panel.view.chart().series() if isinstance(s, QLineSeries) and s.name()]
    by_name = {s.name().split(" (")[0]: [p.y() for p in s.points()] for s in lines}
    assert by_name == {"Endoscopic rhizotomy": [0.0], "RF ablation": [100.0]}  # 45 from 50; 28 from 40
    assert [s.name() for s in lines] == ["Endoscopic rhizotomy (n=1)", "RF ablation (n=1)"]
    choose(desk.mcid_measure, "nrs_back")
    lines = [s for s in panel.view.chart().series() if isinstance(s, QLineSeries) and s.name()]
    assert [[p.y() for p in s.points()] for s in lines] == [[100.0, 0.0]]  # RFA: 6 months reached, 12 months not
    for measure, share in (("ndi", 100.0), ("nrs_neck", 0.0), ("pgic", 100.0)):
        choose(desk.mcid_measure, measure)
        lines = [s for s in panel.view.chart().series() if isinstance(s, QLineSeries) and s.name()]
        assert [(s.name(), [p.y() for p in s.points()]) for s in lines] == [("Medial branch block (n=1)", [share])]
    choose(desk.mcid_measure, "nrs_arm")
    assert not panel.has_chart and "NRS arm" in panel.empty.text()


def test_the_keyboard_reaches_every_tab(qtbot: QtBot, clinic: Services, app_settings: AppSettings) -> None:
    desk = make(qtbot, clinic, app_settings)
    bar = desk.tabs.tabBar()
    bar.setFocus()
    seen = [TABS[desk.tabs.currentIndex()]]
    for _ in TABS[1:]:
        qtbot.keyClick(bar, Qt.Key.Key_Right)
        seen.append(TABS[desk.tabs.currentIndex()])
    assert seen == list(TABS)
    panel = desk.panels["outcomes"]
    panel.toggle.setFocus()
    qtbot.keyClick(panel.toggle, Qt.Key.Key_Space)
    assert panel.stack.currentWidget() is panel.table
    qtbot.keyClick(panel.toggle, Qt.Key.Key_Tab, Qt.KeyboardModifier.ControlModifier)
    assert desk.tabs.currentIndex() == 0  # Ctrl+Tab from inside a tab goes round to the first


def test_empty_database_says_so_on_both_new_tabs(qtbot: QtBot, empty: Services, app_settings: AppSettings) -> None:
    desk = make(qtbot, empty, app_settings)
    for key in ("durability", "outcomes"):
        panel = desk.panels[key]
        assert not panel.has_chart and panel.stack.currentWidget() is panel.empty
        assert panel.empty.text() == "No cases in this range."
    assert desk.figures.isHidden() and desk.at_risk.text() == ""


def test_figures_are_read_off_the_gui_thread(
    qtbot: QtBot, clinic: Services, app_settings: AppSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The read of the dashboard's figures and the MCID shares runs in the background: the desk stays responsive."""
    threads: list[bool] = []
    real_build = DashboardService.build_with_shares

    def build(self: DashboardService, case_filter: CaseFilter | None = None) -> Any:
        threads.append(QThread.currentThread() is QCoreApplication.instance().thread())  # type: ignore[union-attr]
        return real_build(self, case_filter)

    monkeypatch.setattr(DashboardService, "build_with_shares", build)
    desk = make(qtbot, clinic, app_settings)
    assert threads == [False] and desk.result is not None and desk.shares


def test_one_procedure_in_range_is_not_compared(qtbot: QtBot, clinic: Services, app_settings: AppSettings) -> None:
    """Only RF ablations start in January 2023: no comparison, and the rhizotomy's claim has nothing beside it."""
    desk = make(qtbot, clinic, app_settings)
    desk.dates.set_range(dt.date(2023, 1, 1), dt.date(2023, 2, 15))
    qtbot.waitUntil(lambda: not desk.loading, timeout=20000)
    assert desk.result is not None and [c.procedure for c in desk.result.durability.curves] == [RFA]
    assert desk.figures.comparison.text().endswith("not compared (both need treated sides in this range).")
    assert "Relief for up to 5 years”<br>This clinic: no treated sides in this range." in desk.figures.claims.text()
    assert "Endoscopic" not in desk.figures.relief.text()


@pytest.mark.usefixtures("palette")
def test_the_new_charts_read_on_light_and_dark_palettes(qtbot: QtBot, clinic: Services) -> None:
    """Axis words stand out 4.5:1 from the chart's background and each procedure's line 3:1 (WCAG), on both
    palettes: a white chart on a dark window, or navy lines on a dark plot, were what this guards against."""
    durability = DashboardService(clinic.cases, today=lambda: TODAY).durability(CaseFilter())
    with clinic.cases.reading() as session:
        shares = mcid_shares(session, CaseFilter())
    for chart in (durability_chart(durability), mcid_chart(shares, "odi")):
        background = chart.backgroundBrush().color()
        assert contrast(background, QApplication.palette().window().color()) < 2  # the chart belongs to the window
        for axis in chart.axes():
            assert contrast(axis.labelsBrush().color(), background) >= 4.5
            assert contrast(axis.titleBrush().color(), background) >= 4.5
        named = [s for s in chart.series() if isinstance(s, QLineSeries) and s.name() and s.name() != "50%: the median"]
        assert named and all(contrast(s.pen().color(), background) >= 3 for s in named)
