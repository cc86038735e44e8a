"""A test's direct look into a database file, as someone holding the file (and its passphrase, for an
encrypted one) would have it: plain files through sqlite3, SQLCipher ones through caselog.db.cipher."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from caselog.db import cipher


def raw_connect(path: str | Path, *, readonly: bool = False) -> Any:
    """Like `sqlite3.connect(path)` (a `with` block commits), for a plain or an encrypted file."""
    return cipher.connect_file(Path(path), readonly=readonly)


def dump(conn: Any) -> list[str]:
    """Every table's schema and rows as SQL text (sqlite3's iterdump; SQLCipher's connection has none, so the
    same is read table by table)."""
    if hasattr(conn, "iterdump"):
        return list(conn.iterdump())
    lines: list[str] = []
    for name, sql in conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type = 'table' DESC, name"
    ).fetchall():
        lines.append(sql)
        if sql.upper().startswith("CREATE TABLE"):
            # A WITHOUT ROWID table (the search index's FTS5 shadow tables) is ordered by its key instead.
            without_rowid = "WITHOUT ROWID" in sql.upper()
            order = "1" if without_rowid else "rowid"
            lines.extend(repr(row) for row in conn.execute(f'SELECT * FROM "{name}" ORDER BY {order}').fetchall())
    return lines
