"""Colours on light and dark palettes: every text colour the windows use passes WCAG AA (4.5:1) against the
background it is drawn on, measured from what the widgets actually hold (palettes after the style sheet,
HTML fragments, the models' ForegroundRole)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette, QTextDocument
from PySide6.QtWidgets import QAbstractItemView, QApplication, QGroupBox, QLabel, QStyleFactory, QTextBrowser, QWidget
from pytestqt.qtbot import QtBot

from ui.desks.print_desk import PrintDesk
from ui.desks.quality_desk import QualityDesk
from ui.main_window import MainWindow
from ui.settings_dialog import SettingsDialog
from ui.style import contrast, dark_palette

AA = 4.5


@pytest.fixture(params=["light", "dark"])
def palette(request: pytest.FixtureRequest, qapp: QApplication) -> Iterator[str]:
    # A new style re-polishes every widget earlier tests left alive in this process: only when it differs
    # (offscreen Qt starts with Fusion), or a worker spends minutes in Qt's polish.
    style, old = qapp.style().name(), qapp.palette()
    if style.lower() != "fusion":
        qapp.setStyle(QStyleFactory.create("Fusion"))
    qapp.setPalette(dark_palette() if request.param == "dark" else qapp.style().standardPalette())
    yield request.param
    qapp.setPalette(old)
    if style.lower() != "fusion":
        qapp.setStyle(QStyleFactory.create(style))


def fragments(html: str, default: QColor) -> list[tuple[str, QColor]]:
    """Each run of text in an HTML snippet with the colour it is drawn in."""
    doc = QTextDocument()
    doc.setHtml(html)
    found = []
    block = doc.begin()
    while block.isValid():
        it = block.begin()
        while not it.atEnd():
            fragment = it.fragment()
            brush = fragment.charFormat().foreground()
            colour = brush.color() if brush.style() != Qt.BrushStyle.NoBrush else default
            if fragment.text().strip():
                found.append((fragment.text().strip()[:30], colour))
            it += 1
        block = block.next()
    return found


def text_colours(window: QWidget) -> list[tuple[str, QColor, QColor]]:
    """(what, text colour, background colour) for every label, group title, rich text and list cell."""
    seen: list[tuple[str, QColor, QColor]] = []
    for widget in [window, *window.findChildren(QWidget)]:
        widget.ensurePolished()
        pal = widget.palette()
        if isinstance(widget, QLabel) and widget.text().strip():
            fg, bg = pal.color(widget.foregroundRole()), pal.color(QPalette.ColorRole.Window)
            if widget.textFormat() == Qt.TextFormat.RichText or "<" in widget.text():
                seen += [(f"label {t!r}", c, bg) for t, c in fragments(widget.text(), fg)]
            else:
                seen.append((f"label {widget.text()[:30]!r}", fg, bg))
        elif isinstance(widget, QGroupBox) and widget.title():
            seen.append(
                (
                    f"group {widget.title()!r}",
                    pal.color(QPalette.ColorRole.WindowText),
                    pal.color(QPalette.ColorRole.Window),
                )
            )
        elif isinstance(widget, QTextBrowser):
            text, base = pal.color(QPalette.ColorRole.Text), pal.color(QPalette.ColorRole.Base)
            seen += [(f"pane {t!r}", c, base) for t, c in fragments(widget.toHtml(), text)]
        elif isinstance(widget, QAbstractItemView) and widget.model() is not None:
            model = widget.model()
            for role in (QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase):
                for row in range(min(model.rowCount(), 60)):
                    for column in range(model.columnCount()):
                        brush: Any = model.index(row, column).data(Qt.ItemDataRole.ForegroundRole)
                        if brush is not None:
                            seen.append((f"cell {row},{column}", QColor(brush.color()), pal.color(role)))
    return seen


def assert_readable(window: QWidget) -> int:
    measured = text_colours(window)
    poor = [(what, fg.name(), bg.name(), round(contrast(fg, bg), 2)) for what, fg, bg in measured
            if contrast(fg, bg) < AA]  # fmt: skip
    assert poor == []
    return len(measured)


def test_the_main_window_and_desks_are_readable(
    palette: str, make_window: Callable[..., MainWindow], qtbot: QtBot
) -> None:
    window = make_window()
    for row in range(window.model.rowCount()):
        case = window.model.row_at(row)
        if case is not None and case.complication_count:
            window.select_case(case.case_number)
            break
    assert "Complications" in window.detail.toPlainText()
    assert assert_readable(window) > 50
    for action in window.desk_actions[:2]:
        action.trigger()
    quality = window.findChildren(QualityDesk)[0]
    qtbot.waitUntil(lambda: quality.model.rowCount() > 0 and bool(quality.counts), timeout=10000)
    statuses = {quality.model.row_at(i).review_status for i in range(quality.model.rowCount())}  # type: ignore[union-attr]
    assert {"open", "closed"} <= statuses
    quality.table.selectRow(0)
    assert assert_readable(quality) > 50
    printer = window.findChildren(PrintDesk)[0]
    qtbot.waitUntil(lambda: not window.services.tasks.busy, timeout=20000)
    assert_readable(printer)
    settings = SettingsDialog(window.settings, surgeons=[], parent=window)
    settings._problem("The logo must be an existing PNG or JPEG file.")
    assert_readable(settings)
    settings.deleteLater()
