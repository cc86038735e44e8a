"""Opening the database: SQLite (one workstation) or PostgreSQL (clinic-wide), one engine, short units of work.

SQLite gets foreign keys, WAL, a busy timeout and `BEGIN IMMEDIATE` for writes, so two processes queue for
the write lock instead of failing half-way with "database is locked".
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlcipher3
from sqlalchemy import URL, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from caselog import paths
from caselog.db import cipher
from caselog.db.tls import describe_tls_error
from caselog.errors import AuditAltered, CaselogError, Conflict, InvalidInput, StorageError
from caselog.files import free_space_note, private_folder

BUSY_TIMEOUT_MS = 30_000
#: SQLite's page cache of an encrypted connection, in KiB (negative: SQLite's unit for a size, not pages).
ENCRYPTED_CACHE_KIB = -65_536
#: A database holds every patient and every password hash: its owner alone may read it.
FILE_MODE = 0o600
_WRITE_OPTION = "caselog_write"


def database_url(target: str | Path | None) -> URL:
    """`--db` as given: an SQLAlchemy URL (`postgresql+psycopg://...`) or a file path for SQLite."""
    if target is None or str(target) == "":
        target = paths.default_database()
    text = str(target)
    if "://" in text:
        try:
            url = make_url(text)
        except ArgumentError as exc:
            raise InvalidInput(f"--db: {text!r} is not a database URL or file path") from exc
        if url.drivername == "postgresql":
            url = url.set(drivername="postgresql+psycopg")
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise InvalidInput(f"--db: {url.get_backend_name()} databases are not supported (SQLite or PostgreSQL)")
        return url
    return URL.create("sqlite+pysqlite", database=str(Path(text).expanduser().resolve()))


def _make_owner_only_if_new(path: Path) -> None:
    """A database SQLite has just created (still empty) becomes readable by its owner only, before the WAL and
    shared-memory files exist: SQLite gives those the database file's mode.

    An existing database (made by an older release as 0644) loses what every other account on the computer
    could do with it; a group an administrator granted on purpose keeps its rights.
    """
    if os.name != "posix":
        return
    try:
        if path.stat().st_size == 0:
            os.chmod(path, FILE_MODE)
            return
        for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            with contextlib.suppress(FileNotFoundError):
                mode = stat.S_IMODE(file.stat().st_mode)
                if mode & stat.S_IRWXO:
                    os.chmod(file, mode & ~stat.S_IRWXO)
    except OSError:
        pass  # not ours to change (another account's file): the database opens as it is


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN itself, so writes can take the lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    if not isinstance(dbapi_connection, sqlite3.Connection):
        cursor.execute("PRAGMA cipher_log_level = NONE")  # SQLCipher's own log stays off the user's terminal
        # A page that falls out of SQLite's cache is decrypted and its HMAC checked again on the next read
        # (a plain file comes back from the OS cache for free): 64 MiB keeps a list's working set decrypted.
        cursor.execute(f"PRAGMA cache_size = {ENCRYPTED_CACHE_KIB}")
    for _, name, file in cursor.execute("PRAGMA database_list").fetchall():
        if name == "main" and file:
            _make_owner_only_if_new(Path(file))
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys = ON")
    mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    if str(mode).lower() != "wal":
        cursor.execute("PRAGMA journal_mode = WAL")
    # FULL: a committed case survives a power cut, not only a crash of the program.
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.close()


def _on_sqlite_begin(conn: Any) -> None:
    write = conn.get_execution_options().get(_WRITE_OPTION, False)
    # A write keeps its statement journals in memory: each row written to a table with triggers (the dashboard's
    # stale marks, schema 0017) is a statement SQLite may have to undo alone, and in temporary files that was a
    # file made and removed per row (a 100,000-case demo: 9.5 s of system time, 2.5 s in memory). Reads keep the
    # default, so a sort of a million rows still spills to disk and memory stays bounded. Only outside a
    # transaction may it change: here, before BEGIN.
    conn.exec_driver_sql("PRAGMA temp_store = MEMORY" if write else "PRAGMA temp_store = DEFAULT")
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@dataclass
class Database:
    """One open database: the engine and two session factories (reads, and writes that lock up front)."""

    url: URL
    engine: Engine
    _reads: sessionmaker[Session]
    _writes: sessionmaker[Session]
    #: An SQLite file encrypted with SQLCipher (False for a plain file and for PostgreSQL).
    encrypted: bool = False
    _storage_checked: threading.Event | None = None
    _storage_problem: CaselogError | None = None
    _storage_thread: threading.Thread | None = None
    _checking: list[Any] = field(default_factory=list)
    _starting: threading.Lock = field(default_factory=threading.Lock)

    def check_storage_in_background(self, check: Callable[[], None], *, start: bool = True) -> None:
        """Run the storage check (`check` raises CaselogError on damage) beside the first page, not before it.

        Every write waits for its verdict and is refused when it found damage: nothing is ever written into
        a damaged file, and reading (the first page of the list) starts at once. With `start=False` it waits
        for `start_storage_check()` (the app: once the first page is shown) or for the first write.
        """
        done = threading.Event()
        self._storage_checked = done

        def run() -> None:
            try:
                check()
            except CaselogError as exc:
                self._storage_problem = exc
            except Exception as exc:  # the check itself failed: writing stays refused, with the reason
                self._storage_problem = StorageError(
                    f"The storage check of {self.display_name} could not run ({type(exc).__name__}: {exc}); "
                    "CaseLog will not write to it. Run 'caselog check'."
                )
            finally:
                done.set()

        self._storage_thread = threading.Thread(target=run, name="caselog-storage-check", daemon=True)
        if start:
            self.start_storage_check()

    def start_storage_check(self) -> None:
        """Start the background storage check held back; nothing when it has started already or there is none."""
        with self._starting:
            thread = self._storage_thread
            if thread is not None and thread.ident is None:
                thread.start()

    def interruptible(self, conn: Any) -> None:
        """A connection the background check reads through: `close()` interrupts it and waits for the check.

        (A thread still inside SQLite while the interpreter shuts down can crash the process on exit.)
        """
        self._checking.append(conn)

    def storage_verdict(self) -> tuple[bool, CaselogError | None]:
        """(whether the background storage check is done, the problem it found)."""
        done = self._storage_checked is None or self._storage_checked.is_set()
        return done, self._storage_problem

    def _writable(self) -> None:
        if self._storage_checked is not None:
            self.start_storage_check()  # a write never waits for a check nobody started
            self._storage_checked.wait()
        if self._storage_problem is not None:
            raise self._storage_problem

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @property
    def sqlite_path(self) -> Path | None:
        return Path(self.url.database) if self.is_sqlite and self.url.database else None

    @property
    def display_name(self) -> str:
        """Where the data is, for messages: the file, or the URL without its password."""
        path = self.sqlite_path
        return str(path) if path else self.url.render_as_string(hide_password=True)

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """One read-only unit of work."""
        with translate_errors(self), self._reads.begin() as session:
            yield session

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """One write unit of work: all of it is committed, or none of it."""
        self._writable()
        with translate_errors(self), self._writes.begin() as session:
            yield session

    def refresh_statistics(self) -> None:
        """Let the query planner see the data's shape after a bulk load (SQLite; PostgreSQL's autovacuum does it)."""
        if self.is_sqlite:
            with translate_errors(self), self.engine.execution_options(**{_WRITE_OPTION: True}).begin() as conn:
                conn.exec_driver_sql("ANALYZE")

    def close(self) -> None:
        thread = self._storage_thread
        while thread is not None and thread.is_alive():
            # Again until it stops: an interrupt that comes before the check's statement starts is a no-op.
            for conn in list(self._checking):
                with contextlib.suppress(Exception):
                    conn.interrupt()
            thread.join(0.05)
        self.engine.dispose()


def open_engine(target: str | Path | None) -> Database:
    """Connect without touching the schema (see `caselog.db.schema.open_database` for the usual way in)."""
    url = database_url(target)
    kwargs: dict[str, Any] = {}
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        folder = Path(url.database).parent
        if target is None or str(target) == "":
            private_folder(paths.data_dir())  # CaseLog's own folder: made owner-only where it is created
        if not folder.is_dir():
            raise InvalidInput(f"--db: folder {folder} does not exist")
        if Path(url.database).is_dir():
            raise InvalidInput(f"--db: {url.database} is a folder; give the database file's name")
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        try:
            passphrase = _passphrase_for_sqlite(Path(url.database))
        except (sqlite3.Error, sqlcipher3.dbapi2.Error) as exc:  # a full disk, a file it may not read
            friendly = describe_storage_error(exc, str(url.database))
            if friendly is None:
                raise
            raise friendly from exc
        if passphrase is not None:
            # SQLAlchemy's SQLCipher dialect keys each new connection; the pool keeps them as for plain files.
            key = cipher.key_pragma_value(Path(url.database), passphrase)
            url = url.set(drivername="sqlite+pysqlcipher", password=key)
            kwargs["poolclass"] = QueuePool
    else:
        kwargs["pool_pre_ping"] = True
    # An unexpected error's traceback goes to a plain log file: never with the values (names, MRNs) it carried.
    engine = create_engine(url, hide_parameters=True, **kwargs)
    if url.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _on_sqlite_connect)
        event.listen(engine, "begin", _on_sqlite_begin)
    write_engine = engine.execution_options(**{_WRITE_OPTION: True})
    return Database(
        url=url,
        engine=engine,
        _reads=sessionmaker(engine, expire_on_commit=False),
        _writes=sessionmaker(write_engine, expire_on_commit=False),
        encrypted=url.get_driver_name() == "pysqlcipher",
    )


def _passphrase_for_sqlite(path: Path) -> str | None:
    """The passphrase to open (or create) this SQLite file with; None for a plain one.

    A new file is encrypted whenever a passphrase is available (told, `CASELOG_DB_KEY`, the keyring); an
    encrypted one needs its passphrase (PassphraseNeeded / WrongPassphrase, exit 4, otherwise); a plain one
    opens as it is (the app and `caselog check` warn until it is encrypted with `caselog encrypt`).
    """
    state = cipher.file_state(path)
    if state in ("plain", "other"):  # "other": not a database; SQLite says so on the first read
        return None
    if state == "encrypted":
        return cipher.passphrase_for(path)
    found = cipher.known_passphrase(path)
    if found is None:
        return None
    cipher.check_new_passphrase(found[0], what=found[1])
    cipher.create_encrypted(path, found[0])
    return found[0]


#: The audit trail's tables: one of them missing is an altered trail, whichever command meets it.
AUDIT_TABLES = ("audit_log", "audit_head")


def describe_storage_error(exc: BaseException, where: str) -> CaselogError | None:
    """The sentence a person needs for a database failure they can act on; None when it is a defect.

    On PostgreSQL only the error's primary message is read: its DETAIL and CONTEXT quote the row's values (a
    duplicate MRN, a note), whose words ("carefully", "busy") must not choose the sentence."""
    orig = getattr(exc, "orig", exc)
    primary = getattr(getattr(orig, "diag", None), "message_primary", None)
    text = str(primary or orig).lower()
    for table in AUDIT_TABLES:
        if f"no such table: {table}" in text or f'relation "{table}" does not exist' in text:
            # Someone dropped the trail: every write (a sign-in, too) meets it first, and that is exit 6, not 1.
            place = f" of {where}" if where else ""
            return AuditAltered(
                f"Audit trail altered: the audit trail's table {table}{place} is gone; nothing was saved. Compare "
                "with your latest backup."
            )
    if "locked" in text or "busy" in text:
        return StorageError(f"The database {where} is busy with another program; nothing was saved. Try again.")
    if "full" in text or "no space" in text or ("disk i/o error" in text and _nearly_full(where)):
        # A full disk shows up as SQLITE_FULL, or as an I/O error when the shared-memory file cannot grow.
        holding, room = (f" holding {where}", free_space_note(Path(where))) if where else ("", "")
        return StorageError(f"The disk{holding} is full{room}; nothing was saved. Free some space and try again.")
    if "readonly" in text or "read-only" in text or "permission denied" in text:
        return StorageError(
            f"The database {where} cannot be written (read-only or no permission); nothing was saved. "
            "Check the file's permissions or choose another location."
        )
    if "disk i/o error" in text:
        # Not proof of damage: advising a restore here would throw away the day's work.
        return StorageError(
            f"The database {where} could not be read or written (disk I/O error): the disk may be full, failing "
            "or disconnected; nothing was saved. Check the disk, then run 'caselog check'."
        )
    if is_damage(exc):
        return StorageError(
            f"The database {where} is damaged; nothing was saved. Run 'caselog check', then 'caselog restore' "
            "from your latest backup."
        )
    if "unique" in text or "duplicate key" in text:
        return Conflict(
            f"Someone else saved the same record in {where} at the same moment; nothing was saved. Try again."
        )
    if "unable to open" in text or "could not connect" in text or "connection refused" in text:
        return StorageError(f"Cannot open the database {where}: {getattr(exc, 'orig', exc)}")
    if "password authentication failed" in text or ("does not exist" in text and "database" in text):
        return StorageError(f"Cannot open the database {where}: {getattr(exc, 'orig', exc)}")
    return None


def is_damage(exc: BaseException) -> bool:
    """True when SQLite says the file itself is damaged (not merely unreadable for now: busy, full, I/O)."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "malformed" in text or "not a database" in text or "corrupt" in text


#: Below this much free space an I/O error on the database is taken for a full disk.
NEARLY_FULL_BYTES = 8 * 1024 * 1024


def _nearly_full(where: str) -> bool:
    if not where or "://" in where:
        return False
    for candidate in (Path(where), *Path(where).parents):
        if candidate.exists():
            try:
                return shutil.disk_usage(candidate).free < NEARLY_FULL_BYTES
            except OSError:
                return False
    return False


@contextlib.contextmanager
def translate_errors(db: Database) -> Iterator[None]:
    """Turn the database's own failures into messages that say what to do; the transaction is already undone."""
    try:
        yield
    except (OperationalError, DBAPIError, sqlite3.Error, sqlcipher3.dbapi2.Error) as exc:  # IntegrityError too
        friendly: CaselogError | None = None
        if not db.is_sqlite:
            friendly = describe_tls_error(exc, db.url)
        friendly = friendly or describe_storage_error(exc, db.display_name)
        if friendly is None:
            raise
        raise friendly from exc
