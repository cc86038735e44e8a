"""The detail pane on a small screen (1366×768 at 150%: 911×512 points): its words wrap between words, never
inside them (nor a date at its hyphens). The splitter once gave it 190 points: "2026-1 1-28", "Radiofr equen cy"."""

from __future__ import annotations

from PySide6.QtWidgets import QTextBrowser
from pytestqt.qtbot import QtBot

from ui.main_window import MainWindow


def inside_a_word(before: str, after: str) -> bool:
    """Letters or digits on both sides, or a number broken at its hyphen (a date, a level such as T11-T12)."""
    if before.isspace() or after.isspace():
        return False
    return (before.isalnum() and after.isalnum()) or before.isdigit() or after.isdigit()


def words_broken(browser: QTextBrowser) -> list[str]:
    """Every line of the laid-out text that ends inside a word."""
    browser.document().setTextWidth(browser.viewport().width())
    browser.document().size()  # lays out every block now (the layout is otherwise done lazily)
    found = []
    block = browser.document().begin()
    while block.isValid():
        layout, text = block.layout(), block.text()
        for i in range(layout.lineCount() - 1):
            line = layout.lineAt(i)
            end = line.textStart() + line.textLength()
            if 0 < end < len(text) and inside_a_word(text[end - 1], text[end]):
                found.append(f"{text[:end]}|{text[end:]}")
        block = block.next()
    return found


def test_on_a_911_point_wide_window_the_details_wrap_between_words(window: MainWindow, qtbot: QtBot) -> None:
    window.resize(911, 512)
    qtbot.wait(20)
    broken = []
    for row in range(10):
        case = window.model.row_at(row)
        assert case is not None and window.select_case(case.case_number)
        qtbot.waitUntil(lambda: window.detail.current is not None)
        assert "Procedure" in window.detail.toPlainText()
        broken += words_broken(window.detail)
    assert broken == []
