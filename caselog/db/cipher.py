"""Encryption at rest for the local database: SQLCipher 4 (through `sqlcipher3`), never home-made cryptography.

A stolen laptop or a lost backup stick must not be a breach: a new SQLite database is encrypted whenever a
passphrase is available, and every file CaseLog opens by path (the database, its backups, restore candidates)
goes through `connect_file` here, so an encrypted file is read the same way everywhere.

Where a passphrase comes from, in order: what this process was told (`remember`: the app's dialog, the
command line's prompt), `CASELOG_DB_KEY`, then the system keyring (`keyring`, one entry per database file).
Never from a command-line argument (other users see those in the process list).

SQLCipher turns a passphrase into the encryption key with its own KDF (PBKDF2-HMAC-SHA512, 256,000 rounds
over the file's 16-byte salt). That costs ~0.1 s per connection, so after the first derivation the same
standard derivation (hashlib's PBKDF2) is kept for this process and later connections give SQLCipher the
derived key directly (its documented raw-key form); files stay readable by any SQLCipher 4 tool with the
passphrase.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import sqlcipher3

from caselog.errors import NotPermitted, StorageError

#: The first 16 bytes of every plain SQLite file; an SQLCipher file starts with its random salt instead.
SQLITE_HEADER = b"SQLite format 3\x00"
KEY_ENV = "CASELOG_DB_KEY"
#: The passphrase of a backup (restore, check) when it differs from the database's.
BACKUP_KEY_ENV = "CASELOG_BACKUP_KEY"
#: `caselog rekey` in a script: the new passphrase (the current one comes from the usual places).
NEW_KEY_ENV = "CASELOG_NEW_DB_KEY"
KEYRING_SERVICE = "CaseLog database"
#: SQLCipher 4's defaults, which its raw-key form skips: the same derivation, done once per process.
KDF_ROUNDS = 256_000
KEY_BYTES = 32
SALT_BYTES = 16
#: A passphrase shorter than this is refused when one is chosen (a lost laptop is attacked offline).
MIN_PASSPHRASE = 10

#: Errors of either driver: a plain file is read with sqlite3, an encrypted one with sqlcipher3.
SQLITE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, sqlcipher3.dbapi2.Error)
SQLITE_DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.DatabaseError, sqlcipher3.dbapi2.DatabaseError)

FileState = Literal["new", "plain", "encrypted", "other"]
#: SQLCipher writes whole pages (512 bytes at the least): a file of another size is not one of its databases.
_SMALLEST_PAGE = 512


class PassphraseNeeded(NotPermitted):
    """The file is encrypted and no passphrase for it is known here (exit 4: not permitted)."""


class WrongPassphrase(NotPermitted):
    """The passphrase given does not open the file: said plainly, never as "the database is damaged"."""


def file_state(path: Path) -> FileState:
    """`new` (missing or empty), `plain` (an SQLite header), `encrypted` (whole pages starting with a salt
    instead: SQLCipher's shape) or `other` (not a database at all; SQLite then says so)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_HEADER))
            size = os.fstat(handle.fileno()).st_size
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return "new"
    if not head:
        return "new"
    if head == SQLITE_HEADER:
        return "plain"
    return "encrypted" if size % _SMALLEST_PAGE == 0 else "other"


def is_encrypted(path: Path) -> bool:
    return file_state(path) == "encrypted"


# -- where passphrases come from -------------------------------------------------------------------------------

_lock = threading.Lock()
_told: dict[str, str] = {}
_derived: dict[tuple[str, bytes], str] = {}


def _name(path: Path | str) -> str:
    return str(Path(path).expanduser().resolve())


def remember(path: Path | str, passphrase: str) -> None:
    """Keep the passphrase of `path` for this process (what the user typed in the app or at the prompt)."""
    with _lock:
        _told[_name(path)] = passphrase


def forget(path: Path | str | None = None) -> None:
    """Drop what this process was told (one file, or all): the app's lock screen, a test's clean slate."""
    with _lock:
        if path is None:
            _told.clear()
            _derived.clear()
        else:
            _told.pop(_name(path), None)


def told(path: Path | str) -> str | None:
    with _lock:
        return _told.get(_name(path))


def environment_passphrase() -> str | None:
    return os.environ.get(KEY_ENV) or None


def keyring_passphrase(path: Path | str) -> str | None:
    """The passphrase the system keyring keeps for this file; None when it keeps none or cannot be reached."""
    try:
        import keyring

        found = keyring.get_password(KEYRING_SERVICE, _name(path))
    except Exception:  # no back-end, a locked or broken one: the user is asked instead
        return None
    return found or None


def keyring_usable() -> bool:
    """Whether a real keyring back-end is there (not keyring's "fail" or plain-text fallbacks)."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception:
        return False
    return not isinstance(backend, fail.Keyring) and getattr(backend, "priority", 0) > 0


def keep_in_keyring(path: Path | str, passphrase: str) -> None:
    """Store the passphrase so this user account opens the file without typing it."""
    try:
        import keyring

        keyring.set_password(KEYRING_SERVICE, _name(path), passphrase)
    except Exception as exc:
        raise StorageError(
            f"The system keyring could not keep the passphrase ({type(exc).__name__}: {exc}); the database is "
            "fine, but the passphrase will be asked for each time."
        ) from exc


def drop_from_keyring(path: Path | str) -> None:
    with contextlib.suppress(Exception):
        import keyring

        keyring.delete_password(KEYRING_SERVICE, _name(path))


def _kept(path: Path | str) -> tuple[tuple[str, str | None], ...]:
    """Where a passphrase for `path` may be kept, in order: (source, passphrase or None)."""
    return (
        ("this session", told(path)),
        (KEY_ENV, environment_passphrase()),
        ("the system keyring", keyring_passphrase(path)),
    )


def known_passphrase(path: Path | str) -> tuple[str, str] | None:
    """The first passphrase available for `path` and where it came from, without trying it."""
    for source, found in _kept(path):
        if found:
            return found, source
    return None


def check_new_passphrase(passphrase: str, *, what: str = "passphrase") -> None:
    """Refuse a passphrase too short to hold against an offline attack on a stolen file."""
    from caselog.errors import InvalidInput
    from caselog.validation import Problem

    if len(passphrase) < MIN_PASSPHRASE:
        raise InvalidInput([Problem(what, f"needs at least {MIN_PASSPHRASE} characters")])
    if not passphrase.strip():
        raise InvalidInput([Problem(what, "is only spaces")])


# -- keys -----------------------------------------------------------------------------------------------------


def _salt(path: Path) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            salt = handle.read(SALT_BYTES)
    except OSError:
        return None
    return salt if len(salt) == SALT_BYTES and salt != SQLITE_HEADER else None


def key_pragma_value(path: Path, passphrase: str) -> str:
    """What to give SQLCipher as the key of `path`: the derived raw key when the file has its salt already
    (derived once per process), else the passphrase itself (a new file: SQLCipher makes the salt)."""
    salt = _salt(path)
    if salt is None:
        return passphrase
    with _lock:
        found = _derived.get((passphrase, salt))
    if found is None:
        raw = hashlib.pbkdf2_hmac("sha512", passphrase.encode("utf-8"), salt, KDF_ROUNDS, KEY_BYTES)
        found = f"x'{raw.hex()}'"
        with _lock:
            _derived[(passphrase, salt)] = found
    return found


def file_key(path: Path, passphrase: str) -> bytes:
    """The 32-byte key SQLCipher derives from the passphrase for this file (other CaseLog files that belong
    with the database, its drafts, derive their own key from it)."""
    value = key_pragma_value(path, passphrase)
    if not value.startswith("x'"):
        raise ValueError(f"{path} has no salt yet")
    return bytes.fromhex(value[2:-1])


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def apply_key(conn: Any, path: Path, passphrase: str) -> None:
    """Key a fresh sqlcipher3 connection (before its first read) and keep SQLCipher's log off the terminal."""
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(f"PRAGMA key = {_quote(key_pragma_value(path, passphrase))}")


# -- opening files --------------------------------------------------------------------------------------------


def connect_with(path: Path, passphrase: str | None, *, readonly: bool = False, timeout: float = 30.0,
                 isolation_level: str | None = "") -> Any:  # fmt: skip
    """A DB-API connection to `path` with this passphrase (None: plain SQLite), not yet checked."""
    target: str | Path = f"{path.resolve().as_uri()}?mode=ro" if readonly else path
    module: Any = sqlite3 if passphrase is None else sqlcipher3
    conn = module.connect(target, uri=readonly, timeout=timeout, isolation_level=isolation_level)
    if passphrase is not None:
        try:
            apply_key(conn, path, passphrase)
        except BaseException:
            conn.close()
            raise
    return conn


def opens(path: Path, passphrase: str) -> bool:
    """Whether the passphrase opens the encrypted file `path` (one read of its first page)."""
    try:
        conn = connect_with(path, passphrase, readonly=True)
    except SQLITE_ERRORS:
        return False
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return True
    except SQLITE_DATABASE_ERRORS as exc:
        if "not a database" in str(exc).lower():
            return False
        raise
    finally:
        conn.close()


def passphrase_for(path: Path, *, also: tuple[tuple[str, str], ...] = ()) -> str:
    """The passphrase that opens the encrypted file `path`, from where it may be kept (see the module's doc).

    `also` adds (source, passphrase) candidates tried after the usual ones (a backup may have its database's
    passphrase). Raises PassphraseNeeded when none is known, WrongPassphrase when none known opens it.
    """
    candidates: list[tuple[str, str]] = []
    for source, found in (*_kept(path), *also):
        if found and all(found != seen for _, seen in candidates):
            candidates.append((source, found))
    if not candidates:
        raise PassphraseNeeded(
            f"{path} is encrypted: CaseLog needs its passphrase. Set {KEY_ENV}, keep it in the system keyring, "
            "or run the command in a terminal to be asked for it."
        )
    for _source, passphrase in candidates:
        if opens(path, passphrase):
            return passphrase
    sources = ", ".join(source for source, _ in candidates)
    raise WrongPassphrase(wrong_passphrase_message(path, f"The passphrase from {sources}"))


def wrong_passphrase_message(path: Path, what: str) -> str:
    """A wrong passphrase is said first; a damaged first page looks the same to SQLCipher, so it comes second."""
    return (
        f"{what} does not open {path}: check the passphrase and try again. Only if you are sure it is right: "
        "the file's first page is damaged; then move it aside (keep it) and run 'caselog restore FILE' with your "
        "latest backup (a restore cannot open the damaged file either)."
    )


def connect_file(path: Path, *, readonly: bool = False, timeout: float = 30.0, isolation_level: str | None = "",
                 passphrase: str | None = None) -> Any:  # fmt: skip
    """The one way to open a database file by path: plain files with sqlite3, encrypted ones with SQLCipher
    and their passphrase (given, or looked up by `passphrase_for`)."""
    if file_state(path) == "encrypted":
        if passphrase is None:
            passphrase = passphrase_for(path)  # tried already
        elif not opens(path, passphrase):
            raise WrongPassphrase(wrong_passphrase_message(path, "The passphrase given"))
        return connect_with(path, passphrase, readonly=readonly, timeout=timeout, isolation_level=isolation_level)
    return connect_with(path, None, readonly=readonly, timeout=timeout, isolation_level=isolation_level)


@contextlib.contextmanager
def opened(path: Path, **kwargs: Any) -> Iterator[Any]:
    """`connect_file` that closes the connection after the block."""
    conn = connect_file(path, **kwargs)
    try:
        yield conn
    finally:
        conn.close()


def _new_file_key(passphrase: str) -> str:
    """The key of a new file: a fresh salt and the key derived from it, in SQLCipher's raw-key-and-salt form.

    Giving SQLCipher the passphrase itself would let it read one shaped like `x'<64 hex digits>'` as a raw
    key (a file its own passphrase never opens again), and a NUL in it cannot pass through a PRAGMA at all.
    """
    salt = os.urandom(SALT_BYTES)
    raw = hashlib.pbkdf2_hmac("sha512", passphrase.encode("utf-8"), salt, KDF_ROUNDS, KEY_BYTES)
    with _lock:
        _derived[(passphrase, salt)] = f"x'{raw.hex()}'"
    return f"x'{raw.hex()}{salt.hex()}'"


def create_encrypted(path: Path, passphrase: str) -> None:
    """Make `path` a new, empty SQLCipher database in WAL mode (its salt written), owner-only."""
    old_umask = os.umask(0o077)
    try:
        conn = sqlcipher3.connect(str(path), isolation_level=None)
    finally:
        os.umask(old_umask)
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = {_quote(_new_file_key(passphrase))}")
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
    finally:
        conn.close()
    if os.name == "posix":
        os.chmod(path, 0o600)


def export_copy(source: Path, source_passphrase: str | None, destination: Path, passphrase: str | None) -> None:
    """Write every table, index and trigger of `source` into the new file `destination`, encrypted with
    `passphrase` (None: plain), in one read transaction (a consistent copy while others write).

    SQLCipher's `sqlcipher_export` does it; `destination` must not exist yet (or be empty).
    """
    if passphrase is None:
        conn = sqlcipher3.connect(str(destination), isolation_level=None)  # no key: a plain SQLite file
        conn.execute("PRAGMA cipher_log_level = NONE")
    else:
        create_encrypted(destination, passphrase)
        conn = connect_with(destination, passphrase, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = DELETE").fetchone()
        source_key = "" if source_passphrase is None else key_pragma_value(source, source_passphrase)
        conn.execute("ATTACH DATABASE ? AS source KEY ?", (str(source), source_key))
        try:
            conn.execute("BEGIN")
            conn.execute("SELECT sqlcipher_export('main', 'source')").fetchall()
            conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.execute("DETACH DATABASE source")
    finally:
        conn.close()
    if os.name == "posix":
        os.chmod(destination, 0o600)
