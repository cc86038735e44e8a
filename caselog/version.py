"""Which CaseLog this is, which schema it writes, and which database it would open (and at which schema).

`caselog --version` and Help → About read the same facts from here: the version from the package's metadata
(pyproject.toml, copied into the bundle by `make dist`), the schema version as the newest Alembic migration
shipped, and the database's own revision read without writing, prompting or failing: a database that cannot
be read is described, never an error.
"""

from __future__ import annotations

import importlib.metadata
from dataclasses import dataclass
from pathlib import Path

from caselog.errors import CaselogError

UNKNOWN_VERSION = "unknown (not installed as a package)"


def app_version() -> str:
    """CaseLog's version as its package metadata declares it."""
    try:
        return importlib.metadata.version("caselog")
    except importlib.metadata.PackageNotFoundError:
        return UNKNOWN_VERSION


def schema_version() -> str:
    """The schema this CaseLog creates and upgrades to: the head of its migrations."""
    from caselog.db.schema import head_revision

    return head_revision()


@dataclass(frozen=True, slots=True)
class DatabaseState:
    #: The file, or the server's URL without its password.
    name: str
    #: The schema revision the database is at; None when it could not be read (see `note`).
    revision: str | None
    #: Why the revision is unknown, in a person's words.
    note: str | None = None


def database_state(target: str | Path | None) -> DatabaseState:
    """The database `target` names (None: the default file) and its schema revision, read only."""
    from caselog.db.engine import database_url

    try:
        url = database_url(target)
    except CaselogError as exc:
        return DatabaseState(str(target), None, "; ".join(exc.lines()))
    if url.get_backend_name() == "sqlite" and url.database:
        return _sqlite_state(Path(url.database))
    return _server_state(target, url.render_as_string(hide_password=True))


def _sqlite_state(path: Path) -> DatabaseState:
    from caselog.db import cipher

    name = str(path)
    if path.is_dir():
        return DatabaseState(name, None, "a folder, not a database file")
    state = cipher.file_state(path)
    if state == "new":
        return DatabaseState(name, None, "not created yet: 'caselog init' creates it")
    try:
        with cipher.opened(path, readonly=True) as conn:
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "alembic_version" not in tables:
                return DatabaseState(name, None, "holds no schema version: not a CaseLog database")
            found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except cipher.PassphraseNeeded:
        return DatabaseState(name, None, "encrypted: its passphrase is needed to read its schema")
    except cipher.WrongPassphrase:
        return DatabaseState(name, None, "encrypted: the passphrase known here does not open it")
    except cipher.SQLITE_ERRORS as exc:
        return DatabaseState(name, None, f"cannot be read ({exc})")
    except OSError as exc:
        return DatabaseState(name, None, f"cannot be read ({exc.strerror})")
    return DatabaseState(name, found[0] if found else None, None if found else "holds no schema version")


def _server_state(target: str | Path | None, name: str) -> DatabaseState:
    from caselog.db.engine import describe_storage_error, open_engine
    from caselog.db.schema import current_revision

    try:
        db = open_engine(target)
    except Exception as exc:
        return DatabaseState(name, None, _why(exc, name))
    try:
        revision = current_revision(db)
    except Exception as exc:
        friendly = describe_storage_error(exc, name)
        return DatabaseState(name, None, _one_line(friendly.message) if friendly is not None else _why(exc, name))
    finally:
        db.close()
    return DatabaseState(name, revision, None if revision else "not set up: 'caselog init' sets it up")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _why(exc: BaseException, name: str) -> str:
    if isinstance(exc, CaselogError):
        return _one_line("; ".join(exc.lines()))
    return f"cannot be reached ({type(exc).__name__})"


def version_lines(target: str | Path | None) -> list[str]:
    """What `caselog --version` prints: the version, the schema, the database and its schema."""
    from caselog.db.schema import known_revisions

    head = schema_version()
    db = database_state(target)
    if db.revision is None:
        where = f"{db.name} ({db.note})"
    elif db.revision == head:
        where = f"{db.name} (schema {db.revision})"
    elif db.revision in known_revisions():
        where = f"{db.name} (schema {db.revision}; 'caselog init' upgrades it to {head})"
    else:
        where = f"{db.name} (schema {db.revision}: made by a newer CaseLog; update CaseLog)"
    return [f"CaseLog {app_version()}", f"Schema version: {head}", f"Database: {where}"]
