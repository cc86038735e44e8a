"""The schema's life: open and upgrade (copying an SQLite file first), check integrity, back up and restore."""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import sqlite3
import tempfile
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text

from caselog.db import cipher
from caselog.db.engine import Database, open_engine, translate_errors
from caselog.db.health import verify_storage
from caselog.db.stored_values import unreadable_values
from caselog.errors import CaselogError, InvalidInput, StorageError
from caselog.files import free_space_note

if TYPE_CHECKING:
    from alembic.config import Config

APP_TABLES = ("patients", "cases", "treated_levels", "complications", "outcome_scores", "case_counters")


def _migrations() -> Traversable:
    return resources.files("caselog") / "migrations"


def alembic_config(script_location: str | Path | None = None) -> Config:
    """Alembic's settings; `script_location` replaces the shipped migrations (tests use a copy of them)."""
    from alembic.config import Config  # alembic's machinery is loaded only to upgrade (a quarter second)

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location if script_location is not None else _migrations()))
    return cfg


_REVISION_LINE = re.compile(
    r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(?:\"([^\"]*)\"|'([^']*)'|None)\s*(?:#.*)?$", re.M
)


@functools.cache
def shipped_revisions() -> tuple[str, frozenset[str]]:
    """The shipped migrations' head and all their ids, read from the `revision = "..."` and
    `down_revision = "..."` lines of versions/*.py, without Alembic: the app's start only compares the
    database's stored revision with the head, and only an upgrade needs Alembic itself. A migration file whose
    lines cannot be read this way, or a history that is not one line, is an error (tests/test_startup_scale.py
    holds this reading to Alembic's own)."""
    parents: dict[str, str | None] = {}
    for file in (_migrations() / "versions").iterdir():
        if not file.name.endswith(".py") or file.name.startswith("__"):
            continue
        found = {m[0]: (m[1] or m[2] or None) for m in _REVISION_LINE.findall(file.read_text(encoding="utf-8"))}
        revision = found.get("revision")
        if revision is None or "down_revision" not in found:
            raise StorageError(f"The migration {file.name} does not say its revision and the one it follows.")
        parents[revision] = found["down_revision"]
    heads = set(parents) - {p for p in parents.values() if p is not None}
    if len(heads) != 1:
        raise StorageError(f"The shipped migrations have {len(heads)} heads ({', '.join(sorted(heads))}), not one.")
    return heads.pop(), frozenset(parents)


def head_revision(cfg: Config | None = None) -> str:
    """The schema revision this CaseLog writes: the shipped migrations' head, or `cfg`'s (read by Alembic)."""
    if cfg is None:
        return shipped_revisions()[0]
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def known_revisions(cfg: Config | None = None) -> set[str]:
    if cfg is None:
        return set(shipped_revisions()[1])
    from alembic.script import ScriptDirectory

    return {rev.revision for rev in ScriptDirectory.from_config(cfg).walk_revisions()}


def current_revision(db: Database) -> str | None:
    """The revision stored in the database (Alembic's `alembic_version` table); None for a new database."""
    with db.engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(found) > 1:  # Alembic's own reading refuses several heads too
        raise StorageError(f"The database {db.display_name} names {len(found)} schema revisions; run 'caselog check'.")
    return found[0] if found else None


@dataclass(frozen=True)
class UpgradeResult:
    previous: str | None
    current: str
    backup: Path | None


#: PostgreSQL's SQLSTATE for a role that may not do what it asked (the app's role altering the owner's tables).
INSUFFICIENT_PRIVILEGE = "42501"


def upgrade(db: Database, *, cfg: Config | None = None, copy_first: bool = True) -> UpgradeResult:
    """Bring the schema to the current version; safe to repeat. An SQLite file is copied first.

    A migration that fails leaves the schema and data as they were (one transaction) and raises StorageError
    naming the failure and the copy. `cfg` replaces the shipped migrations (see `alembic_config`);
    `copy_first=False` skips the copy (a restore upgrades its own private copy of a backup).
    """
    previous = current_revision(db)
    head = head_revision(cfg)
    if previous == head:
        return UpgradeResult(previous, head, None)  # the usual start: Alembic is not even loaded
    from alembic import command

    cfg = cfg or alembic_config()
    if previous is not None and previous not in known_revisions(cfg):
        raise StorageError(
            f"The database {db.display_name} was made by a newer CaseLog (schema {previous}); update CaseLog."
        )
    with db.engine.connect() as conn:
        existing = set(inspect(conn).get_table_names())
    if previous is None and existing:
        raise StorageError(f"{db.display_name} holds tables but is not a CaseLog database; nothing was changed.")
    backup = None
    if copy_first and previous is not None and db.sqlite_path is not None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        backup = db.sqlite_path.with_name(f"{db.sqlite_path.name}.before-upgrade-{previous}-{stamp}")
        copy_sqlite(db.sqlite_path, backup)
    # One transaction for the whole upgrade: a migration failing half-way leaves the schema as it was.
    try:
        with translate_errors(db), db.engine.execution_options(caselog_write=True).begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except StorageError:
        raise
    except Exception as exc:
        if getattr(getattr(exc, "orig", None), "sqlstate", None) == INSUFFICIENT_PRIVILEGE:
            raise StorageError(
                f"The database {db.display_name} is at schema {previous or '(empty)'} and this CaseLog needs {head}: "
                "only the role that owns its tables may upgrade it, not the role this workstation connects as. "
                "Ask the clinic's IT to run 'caselog --db URL init --app-role ROLE' as the owner; nothing was "
                "changed."
            ) from exc
        kept = f" The copy made before the upgrade is {backup}." if backup else ""
        raise StorageError(
            f"Upgrading the database {db.display_name} from schema {previous or '(new)'} to {head} failed "
            f"({type(exc).__name__}: {exc}); nothing was changed, it is still at schema {previous or '(empty)'}."
            f"{kept} Keep using the CaseLog version that made it and report this failure."
        ) from exc
    finally:
        cfg.attributes.pop("connection", None)
    return UpgradeResult(previous, head, backup)


def open_database(target: str | Path | None, *, migrate: bool = True, verify: bool = False,
                  verify_in_background: bool = False, check_later: bool = False) -> Database:  # fmt: skip
    """The usual way in: connect, and upgrade the schema (creating the database when new).

    `verify` first runs a quick storage check and refuses a damaged database with a StorageError that points
    to `caselog restore`, before anything is written to it. `verify_in_background` (the desktop app's start)
    runs that check beside the first page instead, every write waiting for its verdict; a database that needs
    an upgrade is still checked first (the upgrade writes). `check_later`: that check waits for
    `db.start_storage_check()` (once the first page is on screen) or the first write, whichever comes first.
    """
    db = open_engine(target)
    try:
        if not db.is_sqlite:
            with translate_errors(db), db.engine.connect():
                pass  # a server that cannot be reached (refused, TLS, password) is named here, not later
        if verify_in_background and _opens_without_writing(db):
            db.check_storage_in_background(lambda: verify_storage(db), start=not check_later)
        elif verify or verify_in_background:
            verify_storage(db)
        if migrate:
            upgrade(db)
        elif current_revision(db) != head_revision():
            raise StorageError(f"The database {db.display_name} is not set up; run 'caselog init' first.")
    except BaseException:
        db.close()
        raise
    return db


#: `copy_sqlite`'s default: the copy keeps the source's passphrase (an encrypted database's copies stay encrypted).
SAME_PASSPHRASE = "\x00same"


def _opens_without_writing(db: Database) -> bool:
    """Whether opening this SQLite file writes nothing (already in WAL mode and at the current schema), read
    without the engine, whose first connection would switch the file to WAL (a write)."""
    path = db.sqlite_path
    if path is None or cipher.file_state(path) in ("new", "other"):
        return False
    try:
        with cipher.opened(path, readonly=True) as conn:
            mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except cipher.SQLITE_ERRORS:  # unreadable: the check that follows says why, first
        return False
    except CaselogError:
        return False
    return mode == "wal" and found is not None and found[0] == head_revision()


def copy_sqlite(source: Path, destination: Path, *, passphrase: str | None = SAME_PASSPHRASE) -> None:
    """A consistent copy of a live SQLite database, written atomically, owner-only.

    `passphrase` is the copy's: by default the source's own (none for a plain file), None for a plain copy,
    or another one (a backup with its own passphrase). Plain to plain uses SQLite's online backup API; any
    encrypted side goes through SQLCipher's `sqlcipher_export` in one read transaction.
    """
    destination = destination.resolve()
    source_passphrase = cipher.passphrase_for(source) if cipher.is_encrypted(source) else None
    copy_passphrase = source_passphrase if passphrase == SAME_PASSPHRASE else passphrase
    fd, tmp_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".tmp", dir=destination.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if source_passphrase is None and copy_passphrase is None:
            src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
            try:
                dst = sqlite3.connect(tmp)
                try:
                    src.backup(dst)
                    dst.execute("PRAGMA journal_mode = DELETE")
                finally:
                    dst.close()
            finally:
                src.close()
        else:
            cipher.export_copy(source, source_passphrase, tmp, copy_passphrase)
        os.chmod(tmp, 0o600)
        os.replace(tmp, destination)
    finally:
        tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class CheckReport:
    problems: list[str]
    revision: str | None
    case_count: int

    @property
    def ok(self) -> bool:
        return not self.problems


def check_sqlite_file(path: Path, *, passphrase: str | None = None) -> CheckReport:
    """Integrity of an SQLite file that may be damaged, read without ever writing to it.

    An encrypted file needs its passphrase (given, or found where `cipher.passphrase_for` looks); without
    the right one this raises PassphraseNeeded / WrongPassphrase rather than calling the file damaged.
    """
    if not path.is_file():
        return CheckReport([f"{path} does not exist"], None, 0)
    problems: list[str] = []
    revision: str | None = None
    count = 0
    try:
        conn = cipher.connect_file(path, readonly=True, passphrase=passphrase)
        try:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
            if rows != ["ok"]:
                problems.extend(f"integrity: {r}" for r in rows[:20])
            for table, rowid, parent, _ in conn.execute("PRAGMA foreign_key_check").fetchall()[:20]:
                problems.append(f"row {rowid} of {table} points to a missing {parent} row")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "alembic_version" in tables:
                found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = found[0] if found else None
            missing = [t for t in APP_TABLES if t not in tables]
            if missing:
                problems.append(f"not a CaseLog database: missing tables {', '.join(missing)}")
            else:
                count = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
        finally:
            conn.close()
    except cipher.SQLITE_DATABASE_ERRORS as exc:
        problems.append(f"cannot be read as a database: {exc}")
    if revision is None and not problems:
        problems.append("has no schema version: not made by CaseLog")
    elif revision is not None and revision not in known_revisions():
        problems.append(f"schema {revision} is unknown to this CaseLog (made by a newer version?)")
    return CheckReport(problems, revision, count)


def check_database(db: Database) -> CheckReport:
    """`caselog check`: storage integrity, schema version, and the rows that should never exist."""
    if db.sqlite_path is not None:
        report = check_sqlite_file(db.sqlite_path)
        if report.problems:
            return report
        problems: list[str] = []
    else:
        problems = []
    revision = current_revision(db)
    if revision != head_revision():
        problems.append(f"schema is {revision}, CaseLog expects {head_revision()}: run 'caselog init'")
    with db.read() as session:
        orphans = {
            "treated levels": "SELECT count(*) FROM treated_levels t LEFT JOIN cases c ON c.id = t.case_id "
            "WHERE c.id IS NULL",
            "complications": "SELECT count(*) FROM complications t LEFT JOIN cases c ON c.id = t.case_id "
            "WHERE c.id IS NULL",
            "outcome scores": "SELECT count(*) FROM outcome_scores t LEFT JOIN cases c ON c.id = t.case_id "
            "WHERE c.id IS NULL",
            "follow-up attempts": "SELECT count(*) FROM follow_up_attempts t LEFT JOIN cases c ON c.id = t.case_id "
            "WHERE c.id IS NULL",
            "cases without levels": "SELECT count(*) FROM cases c WHERE NOT EXISTS "
            "(SELECT 1 FROM treated_levels t WHERE t.case_id = c.id)",
            "cases without a patient": "SELECT count(*) FROM cases c LEFT JOIN patients p ON p.id = c.patient_id "
            "WHERE p.id IS NULL",
        }
        for what, sql in orphans.items():
            found = session.execute(text(sql)).scalar_one()
            if found:
                problems.append(f"{found} {what}")
        if db.is_sqlite:  # SQLite keeps any value in any column; PostgreSQL refuses them at the edit
            problems.extend(unreadable_values(session))
        if not problems:  # the dashboard's stored tallies (derived data) against the cases they count
            from caselog import dashboard_tallies

            problems.extend(dashboard_tallies.problems(session, dt.date.today()))
        count = session.execute(text("SELECT count(*) FROM cases")).scalar_one()
    return CheckReport(problems, revision, int(count))


def backup_database(db: Database, destination: Path, *, passphrase: str | None = SAME_PASSPHRASE) -> int:
    """`caselog backup`: a consistent copy taken while others may be writing; returns the cases it holds.

    An encrypted database's backup is encrypted with the same passphrase, or with `passphrase` when given.
    """
    if db.sqlite_path is None:
        raise InvalidInput(
            "backup: for a PostgreSQL database use the server's own tools (pg_dump); "
            "'caselog export' gives a portable copy of every case"
        )
    destination = destination.expanduser()
    if not destination.parent.is_dir():
        raise InvalidInput(f"FILE: folder {destination.parent} does not exist")
    if destination.resolve() == db.sqlite_path.resolve():
        raise InvalidInput("FILE: the backup cannot be the database itself")
    if destination.exists() and not destination.is_file():  # the copy would take the place of a device or pipe
        raise InvalidInput(f"FILE: {destination} is not a regular file (a device or pipe); give a file name")
    try:
        copy_sqlite(db.sqlite_path, destination, passphrase=passphrase)
    except PermissionError as exc:
        raise InvalidInput(f"FILE: cannot write {destination}: permission denied") from exc
    except cipher.SQLITE_ERRORS as exc:
        destination.unlink(missing_ok=True)  # a half-written copy is no backup
        if "full" in str(exc).lower():
            raise StorageError(f"The disk holding {destination} is full{free_space_note(destination)}: the backup "
                               "was not made (the database itself is unchanged).") from exc  # fmt: skip
        raise StorageError(f"The backup to {destination} could not be made: {exc}") from exc
    copy_passphrase = passphrase if passphrase != SAME_PASSPHRASE else None
    report = check_sqlite_file(destination, passphrase=copy_passphrase)
    if not report.ok:
        destination.unlink(missing_ok=True)
        raise StorageError("The backup copy failed its check: " + "; ".join(report.problems))
    return report.case_count
