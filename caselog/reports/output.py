"""Safe PDF output for the reports: checked before any work, written atomically, readable by the owner only."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from caselog.errors import InvalidInput
from caselog.files import temporary_beside, write_error

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
    if target.exists() and not target.is_file():  # the rename would put the PDF in place of a device or pipe
        raise InvalidInput(
            f"{output}: is not a regular file (a device or pipe); give a file name such as {folder / 'report.pdf'}"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidInput(f"{output}: the output folder {folder} is not writable")
    return target


def write_atomically(output: Path, build: Callable[[BinaryIO], None]) -> None:
    """Run `build(stream)` into a temporary file beside `output`, fsync it, then rename it into place.

    On any failure (including Ctrl-C) the temporary file is removed and an existing `output` is untouched; after
    a crash, the next start of CaseLog removes it (`caselog.files.temporary_beside`).
    """
    target = check_output(output)
    try:
        with contextlib.ExitStack() as stack:
            try:
                fd, temp = stack.enter_context(temporary_beside(target, suffix=".tmp"))
            except OSError as exc:
                # os.access can say yes where the file system says no (read-only mounts, ACLs): say so the same way.
                raise InvalidInput(f"{output}: cannot write in {target.parent} ({exc.strerror})") from exc
            with os.fdopen(os.dup(fd), "wb") as stream:
                build(stream)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, target)
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
