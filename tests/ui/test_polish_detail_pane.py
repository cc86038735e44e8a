"""The detail pane reads the clinic's policy, a block's series and an ablation's indication check off the GUI
thread: a slow database never freezes the window, and what the pane shows in the end is what it showed before."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot

from caselog.records import CaseView
from caselog.service import CaseService
from tests.ui.test_block_form import block_case
from ui.detail_pane import CHECKING, CaseDetailPane, case_html, policy_reading
from ui.main_window import MainWindow
from ui.style import colours


def _ablation(cases: CaseService) -> CaseView:
    return cases.create_case(block_case(1, procedure="radiofrequency_ablation", block=None, cpt_codes=[],
                                        levels=[{"level": "L4-L5", "side": "bilateral"}]))  # fmt: skip


def _on_gui_thread(monkeypatch: pytest.MonkeyPatch, cases: CaseService) -> list[str]:
    """The names of the policy reads that ran on the GUI thread."""
    found: list[str] = []
    for name in ("indication_policy", "indication_check", "patient_pathway"):
        real = getattr(cases, name)

        def noted(*args: Any, _real: Any = real, _name: str = name) -> Any:
            if threading.current_thread() is threading.main_thread():
                found.append(_name)
            return _real(*args)

        monkeypatch.setattr(cases, name, noted)
    return found


def test_the_pane_reads_the_policy_off_the_gui_thread_and_shows_what_it_did(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    cases = window.services.cases
    cases.create_case(block_case(40))
    block = cases.create_case(block_case(20))
    ablation = _ablation(cases)
    expected = {view.case_number: _as_shown(window, view) for view in (block, ablation)}  # read here, at once
    on_gui_thread = _on_gui_thread(monkeypatch, cases)
    for view in (block, ablation):
        with qtbot.waitSignal(window.detail.read):
            window.detail.show_case(view)
        assert on_gui_thread == []
        assert window.detail.toHtml() == expected[view.case_number]
    assert "Second block at L4-L5 bilateral" in _plain(expected[block.case_number])
    assert "Meets the clinic's policy (2 positive blocks" in _plain(expected[ablation.case_number])


def _as_shown(window: MainWindow, view: CaseView) -> str:
    """The case as the pane showed it when it read the policy on the GUI thread."""
    pane = window.detail
    other = CaseDetailPane(None)
    other.setHtml(case_html(view, colours(pane.palette()), **policy_reading(window.services.cases, view)))
    try:
        return other.toHtml()
    finally:
        other.deleteLater()


def _plain(html: str) -> str:
    document = QTextDocument()
    document.setHtml(html)
    return document.toPlainText()


def test_a_slow_database_shows_the_case_at_once_and_its_check_when_read(
    window: MainWindow, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case shows while its check is read (saying so), a later selection wins over a slower earlier read."""
    cases = window.services.cases
    cases.create_case(block_case(40))
    cases.create_case(block_case(20))
    ablation = _ablation(cases)
    plain = cases.create_case(block_case(3, mrn="PW-2", procedure="laminotomy", block=None, cpt_codes=[],
                                         levels=[{"level": "L4-L5", "side": "bilateral"}]))  # fmt: skip
    release = threading.Event()
    real = cases.indication_check

    def slow(*args: Any) -> Any:
        assert release.wait(10)
        return real(*args)

    monkeypatch.setattr(cases, "indication_check", slow)
    window.detail.show_case(ablation)  # returns while the database is slow
    shown = window.detail.toPlainText()
    assert "Radiofrequency ablation" in shown and f"Indication check\n{CHECKING}" in shown
    window.detail.show_case(plain)  # the user moves on before the check is read
    release.set()
    window.detail.tasks.wait()
    qtbot.wait(50)  # the stale answer's signal is delivered, and dropped
    assert window.detail.current is plain
    assert "Indication check" not in window.detail.toPlainText() and "Laminotomy" in window.detail.toPlainText()
    with qtbot.waitSignal(window.detail.read):
        window.detail.show_case(ablation)
    assert "Meets the clinic's policy (2 positive blocks" in window.detail.toPlainText()
