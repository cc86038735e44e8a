"""`caselog encrypt` and `caselog rekey`: a database file rewritten under a new passphrase, never half-done.

The order keeps the patients' data safe at every step:
1. The database leaves WAL mode (SQLite allows that only when no other program has it open: a CaseLog still
   running elsewhere would keep writing into the old file) and is locked exclusively.
2. SQLCipher's `sqlcipher_export` writes every table into a new file beside it, under the new passphrase.
3. The new file must pass the integrity check and `audit verify`; otherwise it is deleted and nothing changed.
4. Only then does it take the database's place; the old file, kept until this point, is overwritten and
   removed (a plain copy left on the disk would defeat the encryption).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlcipher3

from caselog.db import cipher
from caselog.db.engine import BUSY_TIMEOUT_MS, open_engine
from caselog.db.schema import check_sqlite_file
from caselog.errors import InvalidInput, StorageError
from caselog.validation import Problem


@dataclass(frozen=True)
class Converted:
    path: Path
    cases: int
    audit_entries: int


def encrypt_database(path: Path, passphrase: str) -> Converted:
    """Turn the plain SQLite database `path` into an SQLCipher one with `passphrase`."""
    state = cipher.file_state(path)
    if state == "encrypted":
        raise InvalidInput([Problem("--db", f"{path} is already encrypted; 'caselog rekey' changes its passphrase")])
    if state != "plain":
        raise InvalidInput([Problem("--db", f"{path} is not an SQLite database")])
    cipher.check_new_passphrase(passphrase)
    return _rewrite(path, None, passphrase)


def rekey_database(path: Path, old: str, new: str) -> Converted:
    """Give the encrypted database `path` a new passphrase (`old` must open it)."""
    if cipher.file_state(path) != "encrypted":
        raise InvalidInput([Problem("--db", f"{path} is not encrypted; 'caselog encrypt' encrypts it")])
    cipher.check_new_passphrase(new, what="new passphrase")
    if not cipher.opens(path, old):
        raise cipher.WrongPassphrase(cipher.wrong_passphrase_message(path, "The current passphrase"))
    if old == new:
        raise InvalidInput([Problem("new passphrase", "is the same as the current one")])
    return _rewrite(path, old, new)


def _rewrite(path: Path, old: str | None, new: str) -> Converted:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    fresh = path.with_name(f".{path.name}.rewrite-{stamp}")
    kept = path.with_name(f".{path.name}.before-{stamp}")
    with _out_of_wal(path, old) as conn:
        try:
            cipher.create_encrypted(fresh, new)
            conn.execute("ATTACH DATABASE ? AS fresh KEY ?", (str(fresh), cipher.key_pragma_value(fresh, new)))
            _lock(conn, path)
            version = conn.execute("PRAGMA main.data_version").fetchone()[0]
            conn.execute("SELECT sqlcipher_export('fresh')").fetchall()
            conn.execute("COMMIT")  # writes the new file; the old one was only read
            conn.execute("DETACH DATABASE fresh")
            _lock(conn, path)
            if conn.execute("PRAGMA main.data_version").fetchone()[0] != version:
                raise _in_use(path)  # another program wrote in between: its change is not in the copy
            converted = _verified(fresh, new)
            os.replace(path, kept)  # the old file stays whole until the new one is in place
            try:
                os.replace(fresh, path)
            except BaseException:  # Ctrl-C too: the database is never left missing from its place
                os.replace(kept, path)
                raise
        except BaseException:
            _remove(fresh)
            raise
        # Still under the exclusive lock: a CaseLog that opened the old file meanwhile and waits for the lock
        # must then find nothing to read, rather than write cases into a file about to be destroyed (and its
        # plain WAL beside the new file's name).
        try:
            with _zeroed(kept):
                conn.close()
        finally:
            _remove(kept)  # also when interrupted while overwriting: no plain copy is left behind
    cipher.forget(fresh)
    cipher.remember(path, new)
    return Converted(path, converted.cases, converted.audit_entries)


def open_elsewhere(path: Path) -> bool:
    """Whether another program has the WAL database open: each connection holds a shared lock on the
    shared-memory file's "dead man switch" byte for as long as it is open (SQLite's own unix locking)."""
    shm = Path(f"{path}-shm")
    if os.name != "posix" or not shm.exists():
        return False
    import fcntl

    try:
        fd = os.open(shm, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_BYTE)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _SHM_DMS_BYTE)
        return False
    finally:
        os.close(fd)


#: SQLite's unix VFS: the byte of the -shm file every open connection holds a shared lock on.
_SHM_DMS_BYTE = 128


@contextlib.contextmanager
def _out_of_wal(path: Path, passphrase: str | None) -> Iterator[Any]:
    """The database out of WAL mode, which SQLite allows only when no other program has it open."""
    if open_elsewhere(path):
        raise _in_use(path)
    conn = sqlcipher3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        if passphrase is not None:
            cipher.apply_key(conn, path, passphrase)
        conn.execute("PRAGMA busy_timeout = 2000")
        try:
            mode = str(conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]).lower()
        except cipher.SQLITE_ERRORS as exc:
            raise _in_use(path) from exc
        if mode != "delete":
            raise _in_use(path)
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            with contextlib.suppress(*cipher.SQLITE_ERRORS):
                conn.execute("PRAGMA journal_mode = WAL")  # a refused rewrite leaves the file as it was
            raise
    finally:
        conn.close()


def _lock(conn: Any, path: Path) -> None:
    """The exclusive lock, with the file still out of WAL mode: a CaseLog that connected since switches it
    back to WAL, and would then go on writing into a WAL named after the new file once it replaced this one."""
    try:
        conn.execute("BEGIN EXCLUSIVE")
        mode = str(conn.execute("PRAGMA main.journal_mode").fetchone()[0]).lower()
    except cipher.SQLITE_ERRORS as exc:
        raise _in_use(path) from exc
    if mode != "delete":
        raise _in_use(path)


def _in_use(path: Path) -> StorageError:
    return StorageError(
        f"{path} is open in CaseLog or another program; nothing was changed. Close every CaseLog window and "
        "command using it, then try again."
    )


def _verified(fresh: Path, passphrase: str) -> Converted:
    """The new file must be whole and its audit trail intact before it replaces anything."""
    from caselog import audit

    report = check_sqlite_file(fresh, passphrase=passphrase)
    if not report.ok:
        raise StorageError(
            "The encrypted copy failed its check (" + "; ".join(report.problems) + "); nothing was changed."
        )
    cipher.remember(fresh, passphrase)
    db = open_engine(fresh)
    try:
        result = audit.verify(db)
    finally:
        db.close()
    if result.problem is not None:
        raise StorageError(
            f"The encrypted copy's audit trail does not verify ({result.problem}); nothing was changed. Run "
            "'caselog audit verify' on the database."
        )
    return Converted(fresh, report.case_count, result.checked)


def _remove(path: Path) -> None:
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def _zeroed(path: Path) -> Iterator[None]:
    """Overwrite the replaced file with zeros (its pages are what the encryption exists to protect), holding
    it open until the block ends: closing a file drops every POSIX lock this process holds on it, SQLite's too.

    (On SSDs and copy-on-write file systems the old blocks may survive an overwrite; README says so.)
    """
    with contextlib.ExitStack() as stack:
        with contextlib.suppress(OSError):
            handle = stack.enter_context(open(path, "r+b"))
            size = os.fstat(handle.fileno()).st_size
            chunk = b"\0" * (1 << 20)
            for _ in range(0, size, len(chunk)):
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        yield
