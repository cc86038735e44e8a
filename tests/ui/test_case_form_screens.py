"""The case form as a person sees it once it has something to say: its messages in the error colour and its hints
in the hint colour on light and dark palettes (the form's own style sheet once turned them into plain text), and
at 1280×720 no field squeezed below its minimum height when every message shows (the form scrolls instead)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QHeaderView, QLabel, QWidget
from pytestqt.qtbot import QtBot

from tests.ui.test_case_form import open_new
from tests.ui.test_case_form_keyboard import active_form
from tests.ui.test_colours import palette  # noqa: F401  (fixture: light and dark Fusion)
from ui.main_window import MainWindow
from ui.style import app_style_sheet, colours, contrast


@pytest.fixture
def app_style(palette: str, qapp: QApplication) -> Iterator[str]:  # noqa: F811
    """The style sheet the app sets on start (ui.app), over the chosen palette."""
    qapp.setStyleSheet(app_style_sheet(qapp.palette()))
    yield palette
    qapp.setStyleSheet("")


def text_colour(label: QLabel) -> QColor:
    """The colour the label's letters are drawn in: the pixel furthest from its background."""
    image = label.grab().toImage()
    counts = Counter(image.pixel(x, y) for x in range(image.width()) for y in range(image.height()))
    background = QColor.fromRgb(counts.most_common(1)[0][0])
    return max((QColor.fromRgb(rgb) for rgb in counts), key=lambda c: contrast(background, c))


def close_to(found: QColor, wanted: str) -> bool:
    want = QColor(wanted)
    return max(abs(found.red() - want.red()), abs(found.green() - want.green()), abs(found.blue() - want.blue())) < 48


@pytest.mark.usefixtures("app_style")
def test_messages_and_hints_keep_their_colours_inside_the_form(window: MainWindow, qtbot: QtBot) -> None:
    open_new(window)
    form = active_form(qtbot, window)
    qtbot.keyClick(form.fields.mrn, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)  # every required field speaks
    wanted = colours(form.palette())
    error = form.fields.slots["patient.mrn"].error
    assert error.isVisible() and error.text()
    assert close_to(text_colour(error), wanted.error), (text_colour(error).name(), wanted.error)
    hint = form.fields.cpt_hint
    assert hint.isVisible() and close_to(text_colour(hint), wanted.hint), (text_colour(hint).name(), wanted.hint)


def squeezed(root: QWidget) -> list[str]:
    """Visible widgets lower than their minimum size hint, and wrapped labels lower than their text."""
    found = []
    for widget in root.findChildren(QWidget):
        if not widget.isVisibleTo(root) or widget.objectName().startswith("qt_"):
            continue
        name = f"{type(widget).__name__} {widget.accessibleName() or widget.objectName()}".rstrip()
        hint = widget.minimumSizeHint()
        if hint.isValid() and widget.height() < hint.height() and not isinstance(widget, QHeaderView):
            found.append(f"{name} is {widget.height()} high, needs {hint.height()}")
        if isinstance(widget, QLabel) and widget.text():
            needed = widget.heightForWidth(widget.width()) if widget.wordWrap() else widget.sizeHint().height()
            if widget.height() < needed:
                found.append(f"{name} '{widget.text()[:30]}' is {widget.height()} high, needs {needed}")
    return found


def test_at_1280_by_720_every_message_shows_and_no_field_is_squeezed(window: MainWindow, qtbot: QtBot) -> None:
    """With every required field's message showing, fields were pressed to 8 px and messages cut in half."""
    open_new(window)
    form = active_form(qtbot, window)
    form.resize(1240, 680)  # what the form takes on a 1280×720 screen
    qtbot.keyClick(form.fields.mrn, Qt.Key.Key_A, Qt.KeyboardModifier.AltModifier)  # a complication, all blank
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    qtbot.keyClick(form.fields.mrn, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.wait(20)
    assert form.fields.slots["patient.mrn"].error.isVisible()
    problems = squeezed(form.fields)
    assert problems == [], "\n".join(problems)
