"""The patient timeline's drawing on its own: its axis names dates as a reader does, the keyboard walks every
mark and opens its case, and the words it paints stay readable on light and dark palettes."""

from __future__ import annotations

import datetime as dt

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from tests.ui.test_colours import palette  # noqa: F401  (fixture: light and dark Fusion)
from tests.ui.test_drawn_colours import AA, drawn_contrast
from ui.pathway_chart import ROW_HEIGHT, TimelineChart, TimelineMark, TimelineRow, month_ticks

D = dt.date


def rows() -> list[TimelineRow]:
    left = (
        TimelineMark("block", "2024-0001", D(2024, 1, 10), "MBB 90% +", "first block, positive", True),
        TimelineMark("block", "2024-0002", D(2024, 2, 1), "MBB 85% +", "second block, positive", True),
        TimelineMark(
            "ablation", "2024-0003", D(2024, 3, 5), "RFA", "ablation", until=D(2024, 11, 1), bar_end="next_ablation"
        ),
        TimelineMark("complication", "2024-0003", D(2024, 3, 9), "CD II", "complication grade II"),
    )
    right = (TimelineMark("block", "2024-0001", D(2024, 1, 10), "MBB 40% −", "first block, negative", False),)
    return [TimelineRow("L4-L5 left", left), TimelineRow("L4-L5 right", right)]


def chart_with(qtbot: QtBot, shown: list[TimelineRow]) -> TimelineChart:
    chart = TimelineChart()
    qtbot.addWidget(chart)
    chart.set_rows(shown, today=D(2025, 1, 1))
    chart.resize(1000, 200)
    chart.show()
    return chart


def test_the_axis_names_months_quarters_or_years_by_the_span() -> None:
    assert [t for _d, t in month_ticks(D(2024, 1, 15), D(2024, 4, 20))] == ["Feb 2024", "Mar 2024", "Apr 2024"]
    assert [t for _d, t in month_ticks(D(2024, 1, 15), D(2025, 6, 1))][:3] == ["Apr 2024", "Jul 2024", "Oct 2024"]
    assert [t for _d, t in month_ticks(D(2019, 6, 1), D(2024, 2, 1))] == ["2020", "2021", "2022", "2023", "2024"]


def test_the_keyboard_walks_the_marks_by_date_and_opens_the_case(qtbot: QtBot) -> None:
    chart = chart_with(qtbot, rows())
    chart.setFocus()
    seen: list[str] = []
    chart.chosen.connect(seen.append)
    for _ in range(3):
        qtbot.keyClick(chart, Qt.Key.Key_Right)
    mark = chart.current_mark()
    assert mark is not None and mark.kind == "complication"  # 10 Jan, 1 Feb, 5 Mar, 9 Mar: in date order
    assert seen == ["2024-0002", "2024-0003", "2024-0003"]
    qtbot.keyClick(chart, Qt.Key.Key_Down)
    assert chart.current == (1, 0) and chart.accessibleDescription() == "first block, negative"
    qtbot.keyClick(chart, Qt.Key.Key_Up)
    qtbot.keyClick(chart, Qt.Key.Key_End)
    with qtbot.waitSignal(chart.open_case) as opened:
        qtbot.keyClick(chart, Qt.Key.Key_Return)
    assert opened.args == ["2024-0003"]


def test_a_click_chooses_a_mark_and_a_double_click_opens_it(qtbot: QtBot) -> None:
    chart = chart_with(qtbot, rows())
    place = chart.mark_rect(0, 1).center().toPoint()
    qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=place)
    assert chart.current == (0, 1)
    with qtbot.waitSignal(chart.open_case) as opened:
        qtbot.mouseDClick(chart, Qt.MouseButton.LeftButton, pos=place)
    assert opened.args == ["2024-0002"]


@pytest.mark.usefixtures("palette")
def test_the_timelines_words_are_readable(qtbot: QtBot) -> None:
    chart = chart_with(qtbot, rows())
    image = chart.grab().toImage()
    label = QRect(6, chart.row_top(1) + 18, 90, ROW_HEIGHT - 36)  # "L4-L5 right" on the alternate row colour
    block = chart.mark_rect(0, 0).toRect()
    above = QRect(block.center().x() - 30, chart.row_top(0) + 3, 60, 14)  # "MBB 90% +" above the diamond
    measured = {
        "joint": drawn_contrast(image, label),
        "block label": drawn_contrast(image, above),
        "axis": drawn_contrast(image, QRect(int(chart.x_of(D(2024, 4, 1))) - 25, 6, 50, 16)),
    }
    assert all(v >= AA for v in measured.values()), (QApplication.palette().window().color().name(), measured)


def test_an_empty_pathway_says_so_and_chooses_nothing(qtbot: QtBot) -> None:
    chart = chart_with(qtbot, [])
    assert chart.current_mark() is None
    qtbot.keyClick(chart, Qt.Key.Key_Return)  # nothing to open, nothing raised
