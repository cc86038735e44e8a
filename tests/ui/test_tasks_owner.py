"""A background result that arrives after its desk was closed and deleted is dropped, not handed to a dead widget."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from ui.tasks import TaskRunner


def _run_held(runner: TaskRunner, owner: QWidget | None, seen: list[object], release: threading.Event) -> None:
    def work(_progress: object) -> str:
        release.wait(10)
        return "counts"

    runner.run(work, on_result=seen.append, on_error=seen.append, owner=owner)


def test_a_result_for_a_deleted_owner_is_dropped(qtbot: QtBot) -> None:
    runner = TaskRunner()
    desk = QWidget()
    seen: list[object] = []
    release = threading.Event()
    _run_held(runner, desk, seen, release)
    desk.deleteLater()
    qtbot.waitUntil(lambda: not _alive(desk))
    release.set()
    assert runner.wait(10000)
    qtbot.waitUntil(lambda: not runner.busy)
    assert seen == []


def test_a_result_for_a_living_owner_arrives(qtbot: QtBot) -> None:
    runner = TaskRunner()
    desk = QWidget()
    seen: list[object] = []
    release = threading.Event()
    _run_held(runner, desk, seen, release)
    release.set()
    qtbot.waitUntil(lambda: seen == ["counts"])


def _alive(widget: QWidget) -> bool:
    import shiboken6

    return bool(shiboken6.isValid(widget))
