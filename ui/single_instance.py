"""One copy of the app per database: a lock file says who owns it, a local socket asks the owner to come forward."""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from caselog import paths

RAISE_MESSAGE = b"raise\n"


def instance_key(database_name: str) -> str:
    """A short name for this database, the same for every start by this user."""
    digest = hashlib.sha256(database_name.encode("utf-8")).hexdigest()[:16]
    return f"caselog-{digest}"


class SingleInstance(QObject):
    """`acquire()` is True for the first copy; a later copy calls `ask_first_to_show()` and quits."""

    activated = Signal()

    def __init__(self, database_name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.key = instance_key(database_name)
        folder = paths.data_dir() / "locks"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            folder = Path(tempfile.gettempdir())
        self.lock = QLockFile(str(folder / f"{self.key}.lock"))
        self.lock.setStaleLockTime(0)  # never stale by age (the app runs all day); a dead owner still frees it
        self.server: QLocalServer | None = None

    def acquire(self) -> bool:
        """Take the lock (needs no QApplication, so it can come before the database is opened)."""
        return self.lock.tryLock(100)

    def listen(self) -> None:
        """Answer later copies (after the QApplication exists)."""
        QLocalServer.removeServer(self.key)  # left behind by a crash
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._incoming)
        self.server.listen(self.key)

    def _incoming(self) -> None:
        assert self.server is not None
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(socket.deleteLater)

    def _read(self, socket: QLocalSocket) -> None:
        if bytes(socket.readAll().data()).startswith(RAISE_MESSAGE.strip()):
            self.activated.emit()

    def ask_first_to_show(self, timeout_ms: int = 1000) -> bool:
        """Tell the running copy to bring its window forward; False when it did not answer."""
        socket = QLocalSocket()
        socket.connectToServer(self.key)
        if not socket.waitForConnected(timeout_ms):
            return False
        socket.write(RAISE_MESSAGE)
        done = socket.waitForBytesWritten(timeout_ms)
        socket.disconnectFromServer()
        return done

    def release(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server.setParent(None)  # Python owns it now and deletes it (with its sockets) right here
            self.server = None
        if self.lock.isLocked():
            self.lock.unlock()
