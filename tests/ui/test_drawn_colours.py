"""Colours the widgets paint themselves (the level picker, a table cell with a problem), measured in the pixels
they draw on light and dark Fusion palettes: the text must stand out at least 4.5:1 (WCAG AA). Hard-coded light
fills once made a chosen level white on pale blue, and a wrong cell pale pink behind white text, on a dark palette."""

from __future__ import annotations

from collections import Counter

import pytest
from PySide6.QtCore import QRect
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from caselog import vocab
from tests.ui.test_colours import palette  # noqa: F401  (fixture: light and dark Fusion)
from ui.level_picker import HEADER_HEIGHT, ROW_HEIGHT, LevelPicker
from ui.rows_editor import RowColumn, RowsEditor
from ui.style import contrast

AA = 4.5


def drawn_contrast(image: QImage, rect: QRect) -> float:
    """Within rect: the most common colour is the background, the colour furthest from it the text."""
    counts: Counter[int] = Counter(
        image.pixel(x, y) for x in range(rect.left(), rect.right() + 1) for y in range(rect.top(), rect.bottom() + 1)
    )
    background = QColor.fromRgb(counts.most_common(1)[0][0])
    return max(contrast(background, QColor.fromRgb(rgb)) for rgb in counts)


def inner(rect: QRect, margin: int = 3) -> QRect:
    return rect.adjusted(margin, margin, -margin, -margin)


@pytest.mark.usefixtures("palette")
def test_the_level_pickers_words_and_letters_are_readable(qtbot: QtBot) -> None:
    picker = LevelPicker()
    qtbot.addWidget(picker)
    picker.set_levels([{"level": "L4-L5", "side": "bilateral"}, {"level": "C5-C6", "side": "left"}])
    picker.show()
    image = picker.grab().toImage()
    chosen, plain = vocab.LEVEL_INDEX["L4-L5"], vocab.LEVEL_INDEX["L3-L4"]
    places = {
        "header Left": QRect(62, 2, 50, HEADER_HEIGHT - 5),
        "region name": QRect(4, picker.row_rect(0).top() + 3, 55, ROW_HEIGHT - 6),
    }
    for name, index in (("chosen", chosen), ("plain", plain)):
        left, middle, _right = (part.toRect() for part in picker._parts(index))
        places[f"{name} level"] = inner(middle)
        places[f"{name} side letter"] = inner(left, 4)
    places["side written out"] = QRect(214, picker.row_rect(chosen).top() + 3, 30, ROW_HEIGHT - 6)
    measured = {name: round(drawn_contrast(image, rect), 2) for name, rect in places.items()}
    assert all(value >= AA for value in measured.values()), (QApplication.palette().window().color().name(), measured)


@pytest.mark.usefixtures("palette")
def test_a_table_cell_with_a_problem_stays_readable(qtbot: QtBot) -> None:
    editor = RowsEditor("Outcomes", [RowColumn("measure", "Measure", width=160)])
    qtbot.addWidget(editor)
    editor.resize(400, 200)
    editor.set_items([{"measure": "WWWWWWWW"}])
    editor.show_problems([(0, "measure", "must be a known measure")])
    editor.show()
    cell = editor.view.visualRect(editor.model.index(0, 0))
    image = editor.view.viewport().grab().toImage()
    assert drawn_contrast(image, inner(cell, 2)) >= AA
    background = QColor.fromRgb(
        Counter(image.pixel(x, cell.center().y()) for x in range(cell.left() + 1, cell.right())).most_common(1)[0][0]
    )
    assert background != editor.view.palette().base().color()  # the cell still looks wrong
