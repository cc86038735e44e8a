"""`caselog restore`: check a copy whole, then put it in place under SQLite's write lock, keeping a safety copy.

The order matters for a clinic with other workstations writing:
1. The candidate is copied beside the database, upgraded and checked there (storage, schema, tables, audit
   chain, accounts); a bad file is refused before the live database is even opened for writing.
2. The live database's write lock is taken (`BEGIN IMMEDIATE`): writers elsewhere wait for it (busy timeout).
3. Under that lock the safety copy is made, so it holds every case any writer was told was saved.
4. Still under the lock, the live database's content is replaced by the candidate's, table by table, in the
   same transaction: other processes keep their open connections and see the restored data on their next
   read; no file is renamed under them (renaming a WAL database under open connections loses their writes).
5. The yearly case counters never go back: numbers handed out after the backup was made (they are in the
   safety copy, perhaps on printed summaries) are never given to another patient.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from caselog import audit, audit_anchor
from caselog.db import cipher
from caselog.db.engine import BUSY_TIMEOUT_MS, open_engine
from caselog.db.health import quick_check_sqlite
from caselog.db.schema import APP_TABLES, check_sqlite_file, copy_sqlite, upgrade
from caselog.errors import InvalidInput, StorageError
from caselog.validation import Problem

#: What a complete CaseLog database holds once upgraded: the cases, who may sign in, and the audit trail.
REQUIRED_TABLES = (*APP_TABLES, "accounts", "audit_log", "audit_head", "alembic_version")


@dataclass(frozen=True)
class Candidate:
    """A checked copy of the file to restore, upgraded to the current schema, waiting beside the database."""

    path: Path
    cases: int
    accounts: int
    #: The copy's passphrase: the live database's when that is encrypted (None: plain).
    passphrase: str | None = None


@dataclass(frozen=True)
class RestoreResult:
    cases: int
    safety_copy: Path | None
    #: Years whose numbering continues after the replaced database's, not the restored one's: {year: last}.
    numbering_kept: dict[int, int] = field(default_factory=dict)


def _refuse(source: Path, message: str) -> InvalidInput:
    return InvalidInput([Problem("FILE", f"{source} {message}; the database was not changed")])


def live_database_exists(live: Path) -> bool:
    """A fresh workstation has no database yet (or the empty file a connection attempt leaves)."""
    return live.is_file() and live.stat().st_size > 0


def live_has_accounts(live: Path) -> bool:
    """Whether the database about to be replaced has accounts; read only (a refused restore changes nothing)."""
    if not live_database_exists(live):
        return False
    try:
        conn = cipher.connect_file(live, readonly=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            return bool(conn.execute("SELECT count(*) FROM accounts").fetchone()[0])
        finally:
            conn.close()
    except cipher.SQLITE_DATABASE_ERRORS:
        return False  # damaged or from before accounts existed: nobody could sign in to it anyway


@contextlib.contextmanager
def checked_candidate(source: Path, live: Path, *, require_accounts: bool,
                      audit_key: Path | None = None) -> Iterator[Candidate]:  # fmt: skip
    """Check `source` as a whole CaseLog database on a private copy beside `live`; the copy is removed after.

    Refuses (InvalidInput, exit 2) a file that is not SQLite, damaged, of an unknown schema, missing the
    audit tables, with an altered audit chain, or without accounts when `require_accounts`.
    """
    source = source.expanduser()
    if not source.is_file():
        raise InvalidInput([Problem("FILE", f"{source} does not exist or is not a regular file")])
    if live.exists() and source.resolve() == live.resolve():
        raise InvalidInput([Problem("FILE", f"{source} is the database itself")])
    live_passphrase = cipher.passphrase_for(live) if cipher.is_encrypted(live) else None
    source_passphrase = _backup_passphrase(source, live_passphrase)
    report = check_sqlite_file(source, passphrase=source_passphrase)
    if not report.ok:
        raise InvalidInput([Problem("FILE", f"{source} {problem}") for problem in report.problems])
    had_audit = _has_table(source, "audit_log")
    # The copy takes the live database's passphrase; onto a new workstation, the backup's own, else the one
    # a new database gets (a plain backup never makes a plain database where a passphrase is known).
    if live_database_exists(live):
        copy_passphrase = live_passphrase
    else:
        copy_passphrase = source_passphrase or _new_database_passphrase(live)
    fd, name = tempfile.mkstemp(prefix=f".{live.name}.restore-", suffix=".tmp", dir=live.parent)
    os.close(fd)
    copy = Path(name)
    try:
        copy_sqlite(source, copy, passphrase=copy_passphrase)
        if copy_passphrase is not None:
            cipher.remember(copy, copy_passphrase)
        candidate = _check_copy(source, copy, had_audit=had_audit, require_accounts=require_accounts,
                                audit_key=audit_key, passphrase=copy_passphrase)  # fmt: skip
        yield candidate
    finally:
        cipher.forget(copy)
        for leftover in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm"), Path(f"{copy}-journal")):
            leftover.unlink(missing_ok=True)


def _new_database_passphrase(live: Path) -> str | None:
    """The passphrase a new database at `live` is encrypted with (see engine.open_engine); None: plain."""
    found = cipher.known_passphrase(live)
    if found is None:
        return None
    cipher.check_new_passphrase(found[0], what=found[1])
    return found[0]


def _backup_passphrase(source: Path, live_passphrase: str | None) -> str | None:
    """The passphrase that opens an encrypted backup: CASELOG_BACKUP_KEY, what this process was told (the
    command line's prompt), CASELOG_DB_KEY, the keyring, or the database's own (the usual case)."""
    if not cipher.is_encrypted(source):
        return None
    also = ((cipher.BACKUP_KEY_ENV, os.environ.get(cipher.BACKUP_KEY_ENV) or ""),
            ("the database's passphrase", live_passphrase or ""))  # fmt: skip
    try:
        found = cipher.passphrase_for(source, also=also)
    except (cipher.PassphraseNeeded, cipher.WrongPassphrase) as exc:
        raise type(exc)(
            f"{exc.message} A backup made with its own passphrase needs it in {cipher.BACKUP_KEY_ENV} (or run "
            "'caselog restore' in a terminal to be asked)."
        ) from None
    cipher.remember(source, found)  # the copy below reads it again
    return found


def _has_table(path: Path, table: str) -> bool:
    conn = cipher.connect_file(path, readonly=True)
    try:
        return (
            conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
            is not None
        )
    finally:
        conn.close()


def _check_copy(source: Path, copy: Path, *, had_audit: bool, require_accounts: bool,
                audit_key: Path | None, passphrase: str | None) -> Candidate:  # fmt: skip
    db = open_engine(copy)
    try:
        try:
            upgrade(db, copy_first=False)
        except StorageError as exc:
            raise _refuse(source, f"cannot be brought to the current schema: {exc.message}") from exc
        with db.engine.connect() as conn:
            tables = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = [t for t in REQUIRED_TABLES if t not in tables]
            if missing:
                raise _refuse(source, f"is not a complete CaseLog database: missing tables {', '.join(missing)}")
            try:
                _rebuildable(conn.exec_driver_sql(_virtual_tables("main")).fetchall())
            except ValueError as exc:
                raise _refuse(source, str(exc)) from None
            cases = int(conn.exec_driver_sql("SELECT count(*) FROM cases").scalar_one())
            accounts = int(conn.exec_driver_sql("SELECT count(*) FROM accounts").scalar_one())
        result = audit.verify(db)
        if result.problem is None and result.key_problem is not None and audit_key is not None:
            head = audit.current_head(db)
            assert head is not None  # the trail verified, so it has a head
            try:
                audit_anchor.import_key(head.database_id, head.key_id, audit_key, str(source))
            except InvalidInput as exc:
                raise InvalidInput([Problem("--audit-key", found.message) for found in exc.problems]) from None
            result = audit.verify(db)
        if result.problem is not None:
            raise _refuse(source, f"has an altered audit trail: {result.problem}")
        if result.key_problem is not None:
            raise _refuse(
                source,
                "has an audit trail sealed with a key this workstation does not have: give the key exported with "
                "'caselog audit key export' as --audit-key FILE (if the key is lost everywhere, copy the backup "
                "into place by hand and have an administrator run 'caselog audit key renew')",
            )
        if had_audit and cases and not result.checked:
            raise _refuse(source, f"holds {cases} cases but its audit trail is empty")
    finally:
        db.close()
    if require_accounts and not accounts:
        raise _refuse(
            source,
            "has no accounts, but the database it would replace has: restoring it would let anyone in without "
            "signing in",
        )
    conn = cipher.connect_file(copy, passphrase=passphrase)
    try:
        conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, attachable and movable
    finally:
        conn.close()
    return Candidate(copy, cases, accounts, passphrase)


def safety_copy_path(live: Path) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = live.with_name(f"{live.name}.before-restore-{stamp}")
    n = 1
    while path.exists():
        n += 1
        path = live.with_name(f"{live.name}.before-restore-{stamp}-{n}")
    return path


def put_in_place(candidate: Candidate, live: Path) -> RestoreResult:
    """Replace the live database's content with the candidate's (see the module's docstring for the order)."""
    if not live_database_exists(live):
        _install_file(candidate.path, live)
        if candidate.passphrase is not None:
            cipher.remember(live, candidate.passphrase)
        return RestoreResult(candidate.cases, None)
    conn = cipher.connect_file(live, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if candidate.passphrase is None:
            conn.execute("ATTACH DATABASE ? AS restored", (str(candidate.path),))
        else:  # encrypted with the live database's passphrase (see checked_candidate)
            key = cipher.key_pragma_value(candidate.path, candidate.passphrase)
            conn.execute("ATTACH DATABASE ? AS restored KEY ?", (str(candidate.path), key))
        try:
            conn.execute("BEGIN IMMEDIATE")
        except cipher.SQLITE_ERRORS as exc:
            raise StorageError(
                f"The database {live} stayed busy with another program for {BUSY_TIMEOUT_MS // 1000} seconds; "
                "nothing was restored. Try again."
            ) from exc
        try:
            if quick_check_sqlite(live):
                conn.execute("ROLLBACK")
                return _replace_damaged(candidate, live, conn)
            safety = safety_copy_path(live)
            copy_sqlite(live, safety)  # a reader beside our write lock: every committed case, nothing after
            kept = _swap_content(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()
    return RestoreResult(candidate.cases, safety, kept)


def _swap_content(conn: Any) -> dict[int, int]:
    """Inside the caller's transaction: drop every table of `main`, recreate and fill it from `restored`.

    A virtual table (the search's FTS5 index) is made from its CREATE statement, which makes its own shadow
    tables, and rebuilt from its content table once every row is back: its shadow tables are neither dropped nor
    copied one by one (they come and go with it). Any other kind was refused by the candidate's check."""
    try:
        virtual = _rebuildable(conn.execute(_virtual_tables("restored")).fetchall())
    except ValueError as exc:  # the candidate's check refused it already; never drop what cannot be remade
        raise StorageError(f"The backup {exc}; nothing was restored.") from None
    before = _counters(conn, "main")
    shadow = {schema: _tables_of_type(conn, schema, "shadow") for schema in ("main", "restored")}
    for kind in ("trigger", "view", "table"):
        for (name,) in conn.execute(
            "SELECT name FROM main.sqlite_master WHERE type = ? AND name NOT LIKE 'sqlite_%'", (kind,)
        ).fetchall():
            if name not in shadow["main"]:
                conn.execute(f'DROP {kind.upper()} main."{name}"')
    schema = conn.execute(
        "SELECT type, name, sql FROM restored.sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 WHEN 'view' THEN 2 ELSE 3 END"
    ).fetchall()
    for kind, name, sql in schema:
        if name in shadow["restored"]:
            continue
        conn.execute(sql)  # unqualified names: created in main
        if kind == "table" and name not in virtual:
            conn.execute(f'INSERT INTO main."{name}" SELECT * FROM restored."{name}"')
    for name in virtual:  # FTS5's own command: read the content table again
        conn.execute(f'INSERT INTO main."{name}"("{name}") VALUES (\'rebuild\')')
    if conn.execute("SELECT 1 FROM restored.sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
        conn.execute("DELETE FROM main.sqlite_sequence")
        conn.execute("INSERT INTO main.sqlite_sequence SELECT * FROM restored.sqlite_sequence")
    restored = _counters(conn, "main")
    kept = {year: last for year, last in before.items() if last > restored.get(year, 0)}
    for year, last in kept.items():
        conn.execute(
            "INSERT INTO main.case_counters (year, last_number) VALUES (?, ?) "
            "ON CONFLICT (year) DO UPDATE SET last_number = excluded.last_number",
            (year, last),
        )
    return kept


def _virtual_tables(schema: str) -> str:
    """The query for `schema`'s virtual tables with their CREATE statements: (name, sql)."""
    return (
        f"SELECT l.name, m.sql FROM pragma_table_list l JOIN {schema}.sqlite_master m ON m.name = l.name "
        f"WHERE l.schema = '{schema}' AND l.type = 'virtual' ORDER BY l.name"
    )


_MODULE = re.compile(r"\bUSING\s+(\w+)\s*(?:\((.*)\))?\s*$", re.IGNORECASE | re.DOTALL)
_CONTENT = re.compile(r"(?<!\w)content\s*=\s*(?:'((?:[^']|'')*)'|\"((?:[^\"]|\"\")*)\"|(\w+))", re.IGNORECASE)


def _rebuildable(tables: Iterable[Any]) -> set[str]:
    """The names of the virtual tables a restore remakes and rebuilds from their content table once its rows are
    back: FTS5 tables with an external content table (the search index). Raises ValueError naming any other
    (another module, or an FTS5 table keeping its own text, which lives in shadow tables a restore does not copy
    one by one): rebuilding it would lose what it holds, so the restore is refused."""
    names: set[str] = set()
    for name, sql in tables:
        found = _MODULE.search(sql or "")
        module = found.group(1).lower() if found else "unknown"
        if module != "fts5":
            raise ValueError(f"holds the virtual table {name} (module {module}), which a restore cannot rebuild")
        content = _CONTENT.search(found.group(2) or "") if found else None
        if content is None or not any(content.groups()):
            raise ValueError(
                f"holds the full-text table {name}, which keeps its own text instead of reading a content table: "
                "a restore cannot rebuild it"
            )
        names.add(name)
    return names


def _tables_of_type(conn: Any, schema: str, kind: str) -> set[str]:
    """The names of `schema`'s tables of one kind ('virtual', 'shadow', 'table'), as SQLite lists them."""
    rows = conn.execute("SELECT name FROM pragma_table_list WHERE schema = ? AND type = ?", (schema, kind))
    return {name for (name,) in rows.fetchall()}


def _counters(conn: Any, schema: str) -> dict[int, int]:
    try:
        return {int(y): int(n) for y, n in conn.execute(f"SELECT year, last_number FROM {schema}.case_counters")}
    except cipher.SQLITE_DATABASE_ERRORS:
        return {}


def _replace_damaged(candidate: Candidate, live: Path, conn: Any) -> RestoreResult:
    """A damaged database cannot be rewritten table by table: keep its bytes, then put the candidate's file
    in its place. Nobody writes to a damaged file (every writing command refuses it), so no write is lost."""
    safety = safety_copy_path(live)
    try:
        copy_sqlite(live, safety)
    except cipher.SQLITE_DATABASE_ERRORS:
        for suffix in ("", "-wal"):
            if Path(f"{live}{suffix}").exists():
                shutil.copyfile(f"{live}{suffix}", f"{safety}{suffix}")
                os.chmod(f"{safety}{suffix}", 0o600)
    conn.close()
    _install_file(candidate.path, live)
    return RestoreResult(candidate.cases, safety)


def _install_file(prepared: Path, live: Path) -> None:
    """Move the checked copy into place as the database file, readable by its owner only."""
    for stale in (Path(f"{live}-wal"), Path(f"{live}-shm"), Path(f"{live}-journal")):
        stale.unlink(missing_ok=True)  # a log left beside the old file must never be replayed into the new one
    os.chmod(prepared, 0o600)
    os.replace(prepared, live)
