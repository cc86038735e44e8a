"""The command line's side of encryption at rest: asking for passphrases, and `init`'s, `encrypt`'s and
`rekey`'s part of the job.

A passphrase comes from `CASELOG_DB_KEY` (scripts), the system keyring, or a prompt on a terminal; never
from an argument, which every user of the computer can read in the process list.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from caselog import drafts
from caselog.db import cipher
from caselog.db.engine import Database, database_url
from caselog.errors import InvalidInput
from caselog.validation import Problem

#: Said before a passphrase is chosen, every time: there is no way back from a lost one.
LOSS_WARNING = (
    "The passphrase encrypts every patient in this database. If it is lost, the cases cannot be recovered by "
    "anyone: not by CaseLog, not by IT. Write it down and keep it somewhere safe, apart from this computer."
)
#: The standing warning for a plain database (`caselog check`, `caselog init`, the app).
PLAIN_WARNING = (
    "Warning: {where} is not encrypted: anyone who gets hold of this disk or a copy of the file can read every "
    "patient in it. Encrypt it with 'caselog encrypt' (CaseLog closed elsewhere)."
)
TRIES = 3


def interactive() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def sqlite_file(target: str | None) -> Path | None:
    """The SQLite file a --db target names, or None for PostgreSQL."""
    url = database_url(target)
    return Path(url.database) if url.get_backend_name() == "sqlite" and url.database else None


def unlock(path: Path | None, *, what: str = "the database") -> None:
    """Ask for an encrypted file's passphrase on a terminal when no other place has one (three tries).

    In a script nothing is asked: opening the file then says which variable to set (exit 4).
    """
    if path is None or not cipher.is_encrypted(path) or not interactive():
        return
    found = cipher.known_passphrase(path)
    if found is not None and cipher.opens(path, found[0]):
        return  # (a stale one, e.g. the keyring's after a rekey elsewhere, is asked for again)
    for attempt in range(TRIES):
        answer = getpass.getpass(f"Passphrase for {what} {path}: ")
        if not answer:
            return
        if cipher.opens(path, answer):
            cipher.remember(path, answer)
            return
        left = TRIES - attempt - 1
        print(f"That passphrase does not open {path}." + (" Try again." if left else ""), file=sys.stderr)
    raise cipher.WrongPassphrase(cipher.wrong_passphrase_message(path, "The passphrase typed"))


def unlock_backup(backup: Path, live: Path) -> None:
    """Before a restore: the backup's passphrase, asked only when neither CASELOG_BACKUP_KEY, the usual
    places, nor the database's own passphrase opens it."""
    if not cipher.is_encrypted(backup) or not interactive():
        return
    live_passphrase = cipher.known_passphrase(live) if cipher.is_encrypted(live) else None
    for candidate in (os.environ.get(cipher.BACKUP_KEY_ENV), live_passphrase[0] if live_passphrase else None):
        if candidate and cipher.opens(backup, candidate):
            return
    found = cipher.known_passphrase(backup)
    if found is not None and cipher.opens(backup, found[0]):
        return
    unlock(backup, what="the backup")


def new_passphrase(variable: str, *, what: str = "passphrase", optional: bool = False) -> str | None:
    """A passphrase being chosen: from `variable`, else asked twice on a terminal after the loss warning.

    `optional`: an empty answer means "no encryption" (None), and a script without the variable gets None.
    """
    given = os.environ.get(variable)
    if given:
        cipher.check_new_passphrase(given, what=variable)
        return given
    if not interactive():
        if optional:
            return None
        raise InvalidInput([Problem(what, f"set {variable} or run in a terminal to be asked")])
    print(LOSS_WARNING, file=sys.stderr)
    hint = " (Return alone: no encryption)" if optional else ""
    for _ in range(TRIES):
        first = getpass.getpass(f"New {what}{hint}: ")
        if not first and optional:
            return None
        try:
            cipher.check_new_passphrase(first, what=what)
        except InvalidInput as exc:
            print(exc.message, file=sys.stderr)
            continue
        if getpass.getpass(f"Repeat the new {what}: ") == first:
            return first
        print(f"The two {what}s differ.", file=sys.stderr)
    raise InvalidInput([Problem(what, f"no {what} was chosen")])


def prepare_new_database(path: Path | None) -> None:
    """`caselog init` on a new file: encrypt it whenever a passphrase can be had (see engine.open_engine)."""
    if path is None or cipher.file_state(path) != "new" or cipher.known_passphrase(path) is not None:
        return
    chosen = new_passphrase(cipher.KEY_ENV, optional=True)
    if chosen is not None:
        cipher.remember(path, chosen)


def after_init(db: Database, args: argparse.Namespace) -> None:
    """Keep the passphrase in the keyring when asked (--keyring); say plainly when the database is plain."""
    path = db.sqlite_path
    if path is None:
        return
    if db.encrypted:
        if getattr(args, "keyring", False):
            keep_current(path)
        return
    if getattr(args, "keyring", False):
        raise InvalidInput([Problem("--keyring", f"{path} is not encrypted: there is no passphrase to keep")])
    print(PLAIN_WARNING.format(where=path), file=sys.stderr)
    print(f"(A new database is encrypted when {cipher.KEY_ENV} is set, or when 'caselog init' runs in a "
          "terminal.)", file=sys.stderr)  # fmt: skip


def keep_current(path: Path) -> None:
    found = cipher.known_passphrase(path)
    if found is not None:
        cipher.keep_in_keyring(path, found[0])
        print(f"The passphrase of {path} is kept in the system keyring for this user.")


def plain_warning(db: Database) -> str | None:
    """The standing warning while a local database is not encrypted."""
    if db.sqlite_path is None or db.encrypted:
        return None
    return PLAIN_WARNING.format(where=db.sqlite_path)


def _administrator(target: str | None, args: argparse.Namespace, what: str) -> str | None:
    """Where the database has accounts, only an administrator re-encrypts it; returns who signed in."""
    from caselog.accounts import Action
    from caselog.db.engine import open_engine
    from caselog.signin import require, sign_in

    db = open_engine(target)
    try:
        actor = sign_in(db, args)
        require(db, actor, Action.ADMINISTER, what)
    finally:
        db.close()
    return actor.username if actor else None


def _record(target: str | None, username: str | None, action: str, details: dict[str, object]) -> None:
    from caselog import audit
    from caselog.db.engine import open_engine

    db = open_engine(target)
    try:
        with db.write() as session:
            audit.record(session, username=username, action=action, record_type="database", record_id=None,
                         details=details)  # fmt: skip
    finally:
        db.close()


def encrypt_command(args: argparse.Namespace, target: str | None) -> int:
    """`caselog encrypt`: the plain database becomes an SQLCipher one (see caselog.db.convert for the order)."""
    from caselog.db.convert import encrypt_database

    path = _local_file(target, "encrypt")
    state = cipher.file_state(path)
    if state == "encrypted":
        raise InvalidInput([Problem("--db", f"{path} is already encrypted; 'caselog rekey' changes its passphrase")])
    username = _administrator(target, args, "encrypt")
    passphrase = new_passphrase(cipher.KEY_ENV)
    assert passphrase is not None
    done = encrypt_database(path, passphrase)
    drafts.reseal(None, drafts.protection_for(path, passphrase))  # unsaved forms typed so far are sealed too
    _record(target, username, "encrypt", {"cases": done.cases})
    print(f"Encrypted {path}: {done.cases} cases; the encrypted copy passed the integrity check and the audit "
          "trail's verification before it replaced the plain file, which was overwritten and removed.")  # fmt: skip
    print("Backups made before now are still plain: make a new one ('caselog backup FILE') and destroy the old.")
    if getattr(args, "keyring", False):
        keep_current(path)
    return 0


def rekey_command(args: argparse.Namespace, target: str | None) -> int:
    """`caselog rekey`: a new passphrase for an encrypted database (the current one opens it first)."""
    from caselog.db.convert import rekey_database

    path = _local_file(target, "rekey")
    if cipher.file_state(path) != "encrypted":
        raise InvalidInput([Problem("--db", f"{path} is not encrypted; 'caselog encrypt' encrypts it")])
    unlock(path)
    current = cipher.passphrase_for(path)
    username = _administrator(target, args, "rekey")
    chosen = new_passphrase(cipher.NEW_KEY_ENV, what="new passphrase")
    assert chosen is not None
    kept_in_keyring = cipher.keyring_passphrase(path) == current
    sealed = drafts.protection_for(path, current)
    done = rekey_database(path, current, chosen)
    drafts.reseal(sealed, drafts.protection_for(path, chosen))  # the drafts follow the new key
    _record(target, username, "rekey", {"cases": done.cases})
    print(f"{path} has its new passphrase ({done.cases} cases, checked and verified before the switch).")
    if kept_in_keyring or getattr(args, "keyring", False):
        cipher.keep_in_keyring(path, chosen)
        print("The system keyring now keeps the new passphrase.")
    if os.environ.get(cipher.KEY_ENV):
        print(f"Scripts that set {cipher.KEY_ENV} need the new passphrase now.")
    print("Backups keep the passphrase they were made with.")
    return 0


def _local_file(target: str | None, command: str) -> Path:
    path = sqlite_file(target)
    if path is None:
        raise InvalidInput([Problem(command, "is for a local SQLite database; a clinic's PostgreSQL server is "
                                             "protected by its own disk encryption and TLS (see README)")])  # fmt: skip
    if cipher.file_state(path) == "new":
        raise InvalidInput([Problem("--db", f"there is no database at {path} ('caselog init' creates one)")])
    return path
