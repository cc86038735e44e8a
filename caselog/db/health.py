"""Is the database fit to write to? The quick storage check the app runs at start, before anything is written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import text

from caselog.db import cipher
from caselog.db.engine import Database, describe_storage_error, is_damage, translate_errors
from caselog.errors import StorageError

#: quick_check stops after this many problems: enough to name the damage, bounded on a badly broken file.
MAX_PROBLEMS = 20


def quick_check_sqlite(path: Path, *, max_problems: int = MAX_PROBLEMS,
                       on_open: Callable[[Any], None] | None = None) -> list[str]:  # fmt: skip
    """Problems `PRAGMA quick_check` finds in an SQLite file (none: an empty list), read without writing.

    quick_check walks every page of every table and index (page structure, cell sizes, free list, NOT NULL and
    CHECK constraints) but, unlike integrity_check, does not match index entries with their rows: it stays
    linear in the file's size, which is what an app's start can afford. A missing or empty file is new, not
    damaged.
    """
    if not path.exists() or path.stat().st_size == 0:
        return []
    try:
        conn = cipher.connect_file(path, readonly=True)
        if on_open is not None:
            on_open(conn)  # the caller may interrupt the check (the app closing while it runs)
        try:
            rows = [str(r[0]) for r in conn.execute(f"PRAGMA quick_check({int(max_problems)})").fetchall()]
        finally:
            conn.close()
    except cipher.SQLITE_DATABASE_ERRORS as exc:
        busy_or_full = None if is_damage(exc) else describe_storage_error(exc, str(path))
        if busy_or_full is not None:  # busy, full disk, I/O error: the file is not known to be damaged
            raise busy_or_full from exc
        return [f"cannot be read as a database: {exc}"]
    return [] if rows == ["ok"] else rows


def damaged_message(where: str, problems: list[str]) -> str:
    more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
    return (
        f"The database {where} is damaged: {problems[0]}{more}. CaseLog will not write to it. "
        "Run 'caselog check' for the details, then 'caselog restore FILE' with your latest backup."
    )


def verify_storage(db: Database) -> None:
    """Raise StorageError when the database is damaged (SQLite) or cannot be reached (PostgreSQL).

    PostgreSQL keeps its own storage consistent (write-ahead log, optional page checksums checked as pages
    are read); here it only has to answer.
    """
    path = db.sqlite_path
    if path is None:
        with translate_errors(db), db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        return
    problems = quick_check_sqlite(path, on_open=db.interruptible)
    if problems:
        raise StorageError(damaged_message(str(path), problems))


def connection_encrypted(db: Database) -> bool | None:
    """Whether this session's connection to the PostgreSQL server uses TLS; None for an SQLite file.

    The server says so itself (`pg_stat_ssl`), so a mode that may fall back to clear text (`prefer`, `allow`)
    is judged by what it got, not by what was asked for.
    """
    if db.is_sqlite:
        return None
    with db.read() as session:
        row = session.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).first()
    return bool(row is not None and row[0])
