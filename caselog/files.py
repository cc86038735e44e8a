"""Files that hold patient data: readable by their owner only, temporary files kept in CaseLog's own folder.

The command line and the desktop app call `private_process()` first: new files are created 0600 and folders
0700 (umask 077), and Python's temporary files (openpyxl's sheets, the print desk's previews) go to a private
folder inside the data folder instead of the system's shared one. Each process works in its own subfolder,
holding a lock on it; the next start removes subfolders whose process died (kill -9, power cut), and the
temporary files such a process had made beside an export or a PDF. Windows has no such modes: there the
data folder's place in the user's profile protects it, and only the temporary-folder part applies.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from caselog import paths
from caselog.errors import StorageError

FILE_MODE = 0o600
FOLDER_MODE = 0o700
PRIVATE_UMASK = 0o077
TEMP_FOLDER = "tmp"
_LOCK_SUFFIX = ".lock"
_BESIDE_PREFIX = "beside-"
#: A full disk, or the account's quota used up.
FULL_DISK_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
#: Owner-only modes exist on POSIX systems only.
POSIX = os.name == "posix"


def private_folder(folder: Path) -> Path:
    """Create `folder` (and its parents) if needed and make it readable by its owner only; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    if POSIX:
        with contextlib.suppress(PermissionError):  # someone else's folder, e.g. a shared CASELOG_HOME
            os.chmod(folder, FOLDER_MODE)
    return folder


def open_private_append(path: Path) -> IO[str]:
    """A log file opened for appending, created owner-only (crash logs hold what was on screen)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE)
    return os.fdopen(fd, "a", encoding="utf-8")


def temp_root() -> Path:
    return paths.data_dir() / TEMP_FOLDER


class _Workspace:
    """This process's own temporary folder `DATA/tmp/NAME`, with `DATA/tmp/NAME.lock` locked while it lives.

    The lock file comes first and the folder after it, so a folder without a lock file is a dead process's.
    A starting process checks that the file it locked is still the one at its name: another process's cleanup
    may have removed it in between, and then it tries another name.
    """

    def __init__(self) -> None:
        root = private_folder(temp_root())
        for _ in range(20):
            name = f"{os.getpid()}-{secrets.token_hex(4)}"
            lock_path = root / f"{name}{_LOCK_SUFFIX}"
            handle = open(lock_path, "w")  # noqa: SIM115 - held open for the process's life
            if _try_lock(handle) and _same_file(handle, lock_path):
                break
            handle.close()
        else:
            raise OSError(f"no private temporary folder could be locked in {root}")
        self._lock, self._lock_path = handle, lock_path
        self.folder = root / name
        self.folder.mkdir(mode=FOLDER_MODE)

    def close(self) -> None:
        _remove_workspace(self.folder)
        self._lock_path.unlink(missing_ok=True)
        self._lock.close()


_workspace: _Workspace | None = None


def _try_lock(handle: IO[str]) -> bool:
    """Take the exclusive lock on an open lock file without waiting; False when a living process holds it."""
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _same_file(handle: IO[str], path: Path) -> bool:
    try:
        return os.fstat(handle.fileno()).st_ino == path.stat().st_ino
    except OSError:
        return False


def _remove_workspace(folder: Path) -> None:
    """Delete a workspace and the temporary files its process had made beside exports and PDFs."""
    for note in folder.glob(f"{_BESIDE_PREFIX}*"):
        with contextlib.suppress(OSError):
            Path(note.read_text(encoding="utf-8")).unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)


def remove_leftovers() -> int:
    """Remove what dead CaseLog processes left in the private temporary folder; returns how many entries."""
    root = temp_root()
    if not root.is_dir():
        return 0
    removed = 0
    for entry in root.iterdir():
        if _workspace is not None and entry in (_workspace.folder, _workspace._lock_path):
            continue
        if entry.name.endswith(_LOCK_SUFFIX) and entry.is_file():
            try:
                handle = open(entry, "a")  # noqa: SIM115
            except OSError:
                continue
            with handle:
                if _try_lock(handle):  # its process is gone: clean up while holding its lock
                    _remove_workspace(root / entry.name.removesuffix(_LOCK_SUFFIX))
                    entry.unlink(missing_ok=True)
                    removed += 1
        elif entry.is_dir() and not entry.is_symlink():
            if not (root / f"{entry.name}{_LOCK_SUFFIX}").exists():
                _remove_workspace(entry)
                removed += 1
        else:
            with contextlib.suppress(OSError):
                entry.unlink()
                removed += 1
    return removed


def workspace() -> Path:
    """This process's private temporary folder (made on first use)."""
    global _workspace
    if _workspace is None:
        _workspace = _Workspace()
    return _workspace.folder


@contextlib.contextmanager
def private_process() -> Iterator[None]:
    """Owner-only files and CaseLog's own temporary folder for the duration of a command or of the app.

    The previous umask and temporary folder come back afterwards, so a program that calls `caselog.cli.main`
    (the tests do) is left as it was.
    """
    global _workspace
    previous_umask = os.umask(PRIVATE_UMASK) if POSIX else None
    previous_tempdir = tempfile.tempdir
    previous_env = {name: os.environ.get(name) for name in ("TMPDIR", "SQLITE_TMPDIR")}
    try:
        private_folder(paths.data_dir())
        remove_leftovers()
        folder = workspace()
    except OSError:
        folder = None  # a data folder that cannot be written is reported by the command that needs it
    try:
        if folder is not None:
            tempfile.tempdir = str(folder)
            # SQLite's own temporary files (sorting a large export) follow TMPDIR; it unlinks them at once.
            os.environ["TMPDIR"] = os.environ["SQLITE_TMPDIR"] = str(folder)
        yield
    finally:
        tempfile.tempdir = previous_tempdir
        for name, value in previous_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if _workspace is not None:
            _workspace.close()
            _workspace = None
        if previous_umask is not None:
            os.umask(previous_umask)


@contextlib.contextmanager
def temporary_beside(target: Path, *, suffix: str = ".part") -> Iterator[tuple[int, Path]]:
    """An owner-only temporary file in `target`'s folder, to be renamed onto it (an atomic write).

    Yields the open descriptor and the path; the caller renames it into place or it is removed on failure.
    While it exists, this process's workspace notes its path, so a crash's leftover is removed at next start.
    """
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    temp = Path(name)
    note: Path | None = None
    try:
        if POSIX:
            os.fchmod(fd, FILE_MODE)
        if _workspace is not None:
            note = _workspace.folder / f"{_BESIDE_PREFIX}{temp.name}"
            try:
                note.write_text(str(temp.resolve()), encoding="utf-8")
            except OSError:  # the data folder's disk is full: the export itself may still fit where it goes
                note = None
        yield fd, temp
    finally:
        with contextlib.suppress(OSError):
            os.close(fd)
        temp.unlink(missing_ok=True)
        if note is not None:
            note.unlink(missing_ok=True)


def write_error(exc: OSError, path: Path | str, what: str = "the file") -> StorageError:
    """The sentence for a file that could not be written: a full disk, no permission, or another reason."""
    target = Path(path)
    if exc.errno in FULL_DISK_ERRNOS:
        return StorageError(
            f"{target}: the disk is full{free_space_note(target)}; {what} was not written. "
            "Free some space and try again."
        )
    reason = exc.strerror or str(exc)
    return StorageError(f"{target}: {what} could not be written ({reason}); nothing was changed.")


def free_space_note(path: Path) -> str:
    """`` (N MB free)`` for the file system holding `path`, or nothing when it cannot be asked cheaply."""
    for candidate in (path, *path.parents):
        if candidate.exists():
            try:
                free = shutil.disk_usage(candidate).free
            except OSError:
                return ""
            return f" ({size_text(free)} free)"
    return ""


def size_text(count: int) -> str:
    """A byte count as a person reads it: `1000 bytes`, `512 KB`, `200 MB`, `12.5 GB`."""
    if count < 1024:
        return f"{count} bytes"
    if count < 1024**2:
        return f"{count // 1024} KB"
    if count < 1024**3:
        return f"{count / 1024**2:.3g} MB"
    return f"{count / 1024**3:.3g} GB"
