"""The app checks the audit trail when it starts: a warning nobody can miss when it was altered."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot
from sqlalchemy import text

from ui.app import check_audit_trail
from ui.main_window import MainWindow


def test_a_sound_trail_is_confirmed_in_the_status_bar(make_window: Callable[..., MainWindow], qtbot: QtBot) -> None:
    window = make_window(demo=True)
    check_audit_trail(window)
    qtbot.waitUntil(lambda: "Audit trail verified" in window.statusBar().currentMessage(), timeout=30000)
    assert "Audit trail: entry" in window.statusBar().currentMessage()
    assert not hasattr(window, "audit_warning")


def test_a_case_changed_outside_caselog_is_shown_at_start(
    make_window: Callable[..., MainWindow], qtbot: QtBot, tmp_path: Path
) -> None:
    window = make_window(demo=True)
    with window.services.db.engine.begin() as conn:  # someone edits the file with an SQLite tool
        number = conn.execute(text("SELECT case_number FROM cases WHERE status = 'final' LIMIT 1")).scalar_one()
        conn.execute(text("UPDATE cases SET notes = 'nothing to see' WHERE case_number = :n"), {"n": number})
    check_audit_trail(window)
    qtbot.waitUntil(lambda: hasattr(window, "audit_warning"), timeout=30000)
    box: QMessageBox = window.audit_warning  # type: ignore[attr-defined]
    assert box.isVisible() and box.icon() == QMessageBox.Icon.Critical
    assert "audit trail was altered" in box.text() and f"case {number} (notes)" in box.text()
    box.grab().save(str(tmp_path / "audit-warning.png"))
    qtbot.mouseClick(box.button(QMessageBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    assert not box.isVisible()
