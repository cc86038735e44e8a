"""One small helper that runs long work on a QThreadPool and brings its result back to the GUI thread as signals.

Workers never touch a widget: they get plain arguments, return a plain value, and may report
`progress(done, total, message)`; a cancelled task stops at its next progress report.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from caselog.memory import give_back_freed_memory

log = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]


class Cancelled(Exception):
    """Raised inside a worker when the user pressed Cancel; the task ends without a result."""


class _Signals(QObject):
    progress = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()


class Task(QRunnable):
    """A unit of work; connect to `signals` before `TaskRunner.start`. `cancel()` is safe from the GUI thread."""

    def __init__(self, work: Callable[[Progress], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = _Signals()
        self._work = work
        self._cancel = False

    def cancel(self) -> None:
        self._cancel = True

    def _progress(self, done: int, total: int, message: str) -> None:
        if self._cancel:
            raise Cancelled
        self.signals.progress.emit(done, total, message)

    def run(self) -> None:
        began = time.thread_time()
        try:
            result = self._work(self._progress)
        except Cancelled:
            self.signals.cancelled.emit()
        except Exception as exc:  # handed to the GUI thread, which shows it
            if not isinstance(exc, _EXPECTED):
                log.exception("background task failed")
            self.signals.failed.emit(exc)
        else:
            if self._cancel:
                self.signals.cancelled.emit()
            else:
                self.signals.succeeded.emit(result)
        self.signals.finished.emit()
        if time.thread_time() - began >= GIVE_BACK_AFTER_CPU_S:
            give_back_freed_memory()


#: A task whose work took this much CPU (a desk's figures, an export) gives back what it freed (see below).
GIVE_BACK_AFTER_CPU_S = 1.0


def _expected() -> tuple[type[BaseException], ...]:
    from caselog.errors import CaselogError

    return (CaselogError,)


_EXPECTED = _expected()


class TaskRunner(QObject):
    """Reads run side by side; writes (demo data, saves) go through a one-thread pool, one at a time."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reads = QThreadPool(self)
        self._reads.setMaxThreadCount(max(2, min(4, QThreadPool.globalInstance().maxThreadCount())))
        self._writes = QThreadPool(self)
        self._writes.setMaxThreadCount(1)
        self._running: set[Task] = set()

    def run(
        self,
        work: Callable[[Progress], Any],
        *,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        on_progress: Callable[[int, int, str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        write: bool = False,
        owner: QObject | None = None,
    ) -> Task:
        """Start `work`; the callbacks run on the GUI thread. With an `owner` (the desk or widget that shows the
        result), a result that arrives after the owner was closed and deleted is dropped instead of reaching a
        dead widget."""
        task = Task(work)
        for signal, callback in (
            (task.signals.succeeded, on_result),
            (task.signals.failed, on_error),
            (task.signals.progress, on_progress),
            (task.signals.cancelled, on_cancelled),
        ):
            if callback is not None:
                signal.connect(callback if owner is None else _while_alive(owner, callback))
        self._running.add(task)
        task.signals.finished.connect(lambda: self._running.discard(task))
        (self._writes if write else self._reads).start(task)
        return task

    @property
    def busy(self) -> bool:
        return bool(self._running)

    def wait(self, msecs: int = 30000) -> bool:
        """Block until every task ended (closing the window, tests)."""
        return self._reads.waitForDone(msecs) and self._writes.waitForDone(msecs)


def _while_alive(owner: QObject, callback: Callable[..., None]) -> Callable[..., None]:
    def call(*args: Any) -> None:
        if shiboken6.isValid(owner):
            callback(*args)

    return call


class GuiThreadGarbageCollector(QObject):
    """Runs Python's cyclic garbage collector on the GUI thread only.

    A collection starts in whichever thread happens to allocate. When that is a worker and the cycle it frees
    holds a Qt object of the GUI thread, Qt deletes it from the wrong thread and the process crashes (seen in
    the test suite). So automatic collection is switched off while the app runs, and this timer collects on
    the GUI thread with the same generation thresholds instead.
    """

    def __init__(self, parent: QObject | None = None, *, interval_ms: int = 500) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.check)
        self._timer.start(interval_ms)

    def check(self) -> None:
        young, middle, old = gc.get_count()
        if young > self._thresholds[0]:
            gc.collect(0)
            if middle > self._thresholds[1]:
                gc.collect(1)
                if old > self._thresholds[2]:
                    gc.collect(2)

    def stop(self) -> None:
        """Back to automatic collection (tests, and the app's very end)."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
