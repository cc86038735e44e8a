"""A background task lets go of its work and of whom it told once it ended: the runner kept every task's work and
callbacks (with the desks and widgets they reach) for the app's life, a little more at each page read and desk
opened, against the app's 250 MB at a million cases (issue 18)."""

from __future__ import annotations

import gc
import time
import weakref

import pytest
from pytestqt.qtbot import QtBot

from ui import tasks
from ui.tasks import Progress, TaskRunner


class Held:
    """Something a task's work or callback holds (a desk, a filter, a page of rows)."""


def test_a_finished_task_lets_go_of_its_work_and_its_callbacks(qtbot: QtBot) -> None:
    runner = TaskRunner()
    read, shown, results = Held(), Held(), []

    def work(_progress: Progress, read: Held = read) -> int:
        return 42

    def on_result(value: int, shown: Held = shown) -> None:
        results.append(value)

    task = runner.run(work, on_result=on_result)
    gone = weakref.ref(read), weakref.ref(shown)
    del read, shown, work, on_result
    qtbot.waitUntil(lambda: results == [42] and not runner.busy, timeout=10000)
    gc.collect()
    assert [ref() for ref in gone] == [None, None]
    assert task.signals is not None  # the finished signal still reaches whoever waits on it


def test_a_failed_task_lets_go_too(qtbot: QtBot) -> None:
    runner = TaskRunner()
    shown, errors = Held(), []

    def work(_progress: Progress) -> None:
        raise ValueError("no such page")

    def on_error(exc: BaseException, shown: Held = shown) -> None:
        errors.append(exc)

    runner.run(work, on_error=on_error)
    gone = weakref.ref(shown)
    del shown, on_error
    qtbot.waitUntil(lambda: len(errors) == 1 and not runner.busy, timeout=10000)
    gc.collect()
    assert gone() is None


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
