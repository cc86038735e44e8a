"""A long background task gives back what it freed (the app's 250 MB at a million cases, issue 18), and the task
runner's signals leave True its references (PySide 6.12.0's emit() takes one at each call: pyproject.toml keeps it
out, and tests/ui/test_pyside_emit.py checks the installed PySide)."""

from __future__ import annotations

import sys
import time

import pytest
from pytestqt.qtbot import QtBot

from ui import tasks
from ui.tasks import Progress, TaskRunner


def test_a_long_task_gives_back_what_it_freed(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's freed objects stay in its own allocator arena: after a long read (a desk's figures) the worker
    hands them back to the system; a quick read (a page of the case list) does not pay for it."""
    gave_back: list[int] = []
    monkeypatch.setattr(tasks, "give_back_freed_memory", lambda: gave_back.append(1))
    monkeypatch.setattr(tasks, "GIVE_BACK_AFTER_CPU_S", 0.05)
    runner, results = TaskRunner(), []

    def long_read(_progress: Progress) -> int:
        began = time.thread_time()
        while time.thread_time() - began < 0.1:
            sum(range(1000))
        return 1

    runner.run(lambda _progress: 0, on_result=results.append)
    qtbot.waitUntil(lambda: results == [0] and not runner.busy, timeout=10000)
    assert runner.wait() and gave_back == []
    runner.run(long_read, on_result=results.append)
    qtbot.waitUntil(lambda: results == [0, 1] and not runner.busy, timeout=10000)
    assert runner.wait() and gave_back == [1]


def test_giving_back_is_harmless(qapp: object) -> None:
    """The real call (glibc's malloc_trim, nothing elsewhere) runs and leaves live objects alone."""
    kept = [bytes(1000) for _ in range(1000)]
    tasks.give_back_freed_memory()
    assert all(len(b) == 1000 for b in kept)


def test_many_tasks_leave_true_its_references(qtbot: QtBot) -> None:
    """PySide 6.12.0's emit() takes a reference from True at each call: with it, after enough tasks the interpreter
    aborts ("bool_dealloc: deallocating True"). The runner's progress, result and end signals leave True as it was."""
    runner = TaskRunner()
    results: list[object] = []
    before = sys.getrefcount(True)
    for n in range(200):
        runner.run(lambda progress, n=n: progress(n, 200, "") or n, on_result=results.append)
    qtbot.waitUntil(lambda: len(results) == 200 and not runner.busy, timeout=20000)
    assert sorted(results) == list(range(200))  # type: ignore[type-var]
    assert sys.getrefcount(True) > before - 50
