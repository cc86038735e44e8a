"""The installed PySide's signals leave Python's True its references.

PySide6 6.12.0's SignalInstance.emit() takes a reference from True at every call, and the interpreter aborts
("bool_dealloc: deallocating True") once True's count runs out: a few hundred emits in a small process, a long
day's work in the app, whatever the user was typing. pyproject.toml keeps that version out; this fails on any
version with the fault, so an upgrade cannot bring it back unnoticed. Run in a process of its own: the fault
aborts the interpreter, which would take the test run with it."""

from __future__ import annotations

import os
import subprocess
import sys

EMITS = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal

class Emitter(QObject):
    bare = Signal()
    carrying = Signal(object)

app = QCoreApplication([])
emitter = Emitter()
emitter.bare.connect(lambda: None)
emitter.carrying.connect(lambda value: None)
before = sys.getrefcount(True)
for n in range(2000):
    emitter.bare.emit()
    emitter.carrying.emit(n)
print(before, sys.getrefcount(True))
"""


def test_signals_leave_true_its_references() -> None:
    done = subprocess.run([sys.executable, "-c", EMITS], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    before, after = map(int, done.stdout.split())
    assert after >= before - 10, (before, after)
