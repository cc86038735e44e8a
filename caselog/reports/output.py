"""Safe PDF output for the reports: checked before any work, written atomically, readable by the owner only."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from caselog.errors import InvalidInput
from caselog.files import write_error

FILE_MODE = 0o600


def check_output(output: Path) -> Path:
    """The absolute target path, or InvalidInput (exit 2) naming it when its folder cannot take the file.

    Called before any layout work, so a typo in the folder costs nothing and leaves nothing behind.
    """
    target = Path(output).expanduser().absolute()
    folder = target.parent
    if target.is_dir():
        raise InvalidInput(f"{output}: is a folder; give a file name such as {target / 'report.pdf'}")
    if not folder.is_dir():
        raise InvalidInput(f"{output}: the output folder {folder} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidInput(f"{output}: the output folder {folder} is not writable")
    return target


@contextlib.contextmanager
def _temporary_beside(target: Path, original: Path) -> Iterator[tuple[BinaryIO, Path]]:
    try:
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        # os.access can say yes where the file system says no (read-only mounts, ACLs): report it the same way.
        raise InvalidInput(f"{original}: cannot write in {target.parent} ({exc.strerror})") from exc
    temp = Path(name)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as stream:
            yield stream, temp
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_atomically(output: Path, build: Callable[[BinaryIO], None]) -> None:
    """Run `build(stream)` into a temporary file beside `output`, fsync it, then rename it into place.

    On any failure (including Ctrl-C) the temporary file is removed and an existing `output` is untouched.
    """
    target = check_output(output)
    try:
        with _temporary_beside(target, output) as (stream, temp):
            build(stream)
            stream.flush()
            os.fsync(stream.fileno())
        try:
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    except OSError as exc:  # a full disk: name the file, no traceback
        raise write_error(exc, output, "the PDF") from exc
    _fsync_folder(target.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable where the platform allows it (not on Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
