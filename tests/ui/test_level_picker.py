"""The spine level picker: mouse on either side or the joint, and the keyboard, with the levels written out."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from caselog import vocab
from ui.level_picker import ROW_HEIGHT, LevelPickerPanel


def make(qtbot: QtBot) -> LevelPickerPanel:
    panel = LevelPickerPanel()
    qtbot.addWidget(panel)
    panel.resize(300, 320)
    panel.show()
    return panel


def test_clicks_toggle_sides(qtbot: QtBot) -> None:
    panel = make(qtbot)
    picker = panel.picker
    qtbot.mouseClick(picker, Qt.MouseButton.LeftButton, pos=picker.side_center("L4-L5", "left"))
    assert picker.levels() == [("L4-L5", "left")]
    qtbot.mouseClick(picker, Qt.MouseButton.LeftButton, pos=picker.side_center("L4-L5", "right"))
    assert picker.levels() == [("L4-L5", "bilateral")]
    qtbot.mouseClick(picker, Qt.MouseButton.LeftButton, pos=picker.side_center("L4-L5", "left"))
    assert picker.levels() == [("L4-L5", "right")]
    qtbot.mouseClick(picker, Qt.MouseButton.LeftButton, pos=picker.side_center("C5-C6", "both"))
    assert picker.levels() == [("C5-C6", "bilateral"), ("L4-L5", "right")]  # listed top to bottom
    assert "C5-C6 bilateral; L4-L5 right" in panel.summary.text()
    qtbot.mouseClick(picker, Qt.MouseButton.LeftButton, pos=picker.side_center("C5-C6", "both"))
    assert picker.levels() == [("L4-L5", "right")]


def test_keyboard_moves_and_toggles(qtbot: QtBot) -> None:
    panel = make(qtbot)
    picker = panel.picker
    picker.setFocus()
    assert vocab.LEVELS[picker.current] == "L4-L5"
    qtbot.keyClick(picker, Qt.Key.Key_Down)
    qtbot.keyClick(picker, Qt.Key.Key_Right)
    assert picker.levels() == [("L5-S1", "right")]
    qtbot.keyClick(picker, Qt.Key.Key_Up)
    qtbot.keyClick(picker, Qt.Key.Key_Space)
    assert picker.levels() == [("L4-L5", "bilateral"), ("L5-S1", "right")]
    qtbot.keyClick(picker, Qt.Key.Key_Left)
    assert picker.levels() == [("L4-L5", "right"), ("L5-S1", "right")]
    qtbot.keyClick(picker, Qt.Key.Key_Delete)
    assert picker.levels() == [("L5-S1", "right")]
    qtbot.keyClick(picker, Qt.Key.Key_Home)
    assert vocab.LEVELS[picker.current] == "C1-C2"
    assert "C1-C2" in picker.accessibleDescription()


def test_opens_on_the_lumbar_spine(qtbot: QtBot) -> None:
    panel = make(qtbot)
    qtbot.waitUntil(lambda: panel.scroll.verticalScrollBar().value() == panel.scroll.verticalScrollBar().maximum())
    viewport = panel.scroll.viewport().rect()
    top = panel.picker.mapFrom(panel.scroll.viewport(), viewport.topLeft()).y()
    bottom = panel.picker.mapFrom(panel.scroll.viewport(), viewport.bottomLeft()).y()
    for level in ("L1-L2", "L5-S1"):
        y = panel.picker.side_center(level, "left").y()
        assert top <= y - ROW_HEIGHT // 2 and y + ROW_HEIGHT // 2 <= bottom + 1, level
    assert panel.picker.side_center("C3-C4", "left").y() < top  # cervical is scrolled out of view


def test_set_levels_round_trip(qtbot: QtBot) -> None:
    panel = make(qtbot)
    panel.set_levels([{"level": "T12-L1", "side": "left"}, {"level": "L6-L7", "side": "left"}])
    assert panel.levels() == [("T12-L1", "left")]


def _in_view(panel: LevelPickerPanel, level: str) -> bool:
    viewport = panel.scroll.viewport()
    top = panel.picker.mapFrom(viewport, viewport.rect().topLeft()).y()
    bottom = panel.picker.mapFrom(viewport, viewport.rect().bottomLeft()).y()
    y = panel.picker.side_center(level, "left").y()
    return top <= y - ROW_HEIGHT // 2 and y + ROW_HEIGHT // 2 <= bottom + 1


def test_chosen_levels_stay_in_view_after_focus_leaves(qtbot: QtBot) -> None:
    """A repeat of a cervical case opened on the lumbar spine, its levels out of sight; and browsing down with the
    keys left them out of sight once focus moved on."""
    holder = QWidget()
    qtbot.addWidget(holder)
    layout = QVBoxLayout(holder)
    panel = LevelPickerPanel()
    panel.set_levels([{"level": "C4-C5", "side": "bilateral"}, {"level": "C5-C6", "side": "left"}])
    other = QLineEdit()
    layout.addWidget(panel)
    layout.addWidget(other)
    holder.resize(300, 340)
    holder.show()
    qtbot.waitExposed(holder)
    qtbot.wait(20)  # the panel settles once more after the layout
    assert _in_view(panel, "C4-C5") and _in_view(panel, "C5-C6")
    holder.activateWindow()
    panel.picker.setFocus()
    qtbot.waitUntil(panel.picker.hasFocus)
    qtbot.keyClick(panel.picker, Qt.Key.Key_End)  # browse down to L5-S1 without choosing it
    assert not _in_view(panel, "C4-C5")
    qtbot.keyClick(panel.picker, Qt.Key.Key_Tab)
    assert other.hasFocus()
    assert _in_view(panel, "C4-C5") and _in_view(panel, "C5-C6")
    assert panel.summary.isVisible() and "C4-C5 bilateral; C5-C6 left" in panel.summary.text()
