"""A test's direct look into a database file, as someone holding the file (and its passphrase, for an
encrypted one) would have it: plain files through sqlite3, SQLCipher ones through caselog.db.cipher."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from caselog.db import cipher


def raw_connect(path: str | Path, *, readonly: bool = False) -> Any:
    """Like `sqlite3.connect(path)` (a `with` block commits), for a plain or an encrypted file."""
    return cipher.connect_file(Path(path), readonly=readonly)
