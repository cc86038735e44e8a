"""What anchors the audit trail outside the database: the seal key, and each workstation's checkpoints.

The key. Entries are sealed with HMAC-SHA256 under a 32-byte key that never enters the database (only its
fingerprint, `key_id`, does). It is a 0600 file in CaseLog's data folder, `audit-keys/DATABASE_ID.key`,
made at the first entry a database seals; `CASELOG_AUDIT_KEY_FILE` names one shared key file instead (a
clinic-wide PostgreSQL database: every workstation needs the same key). `caselog audit key export FILE` and
`caselog audit key import FILE` carry it from one workstation to another.

The checkpoints. Each workstation remembers, per location (file path or server URL), which database it saw
there (the random id stored in it), and the last entry and hash it saw (after its own writes and after each
clean `audit verify`), in `audit-checkpoints.json` in its data folder. A copy of an older file put back in
place, a rewritten chain, or another database swapped in at the same location is then found by the next
`audit verify` on any workstation that saw the later state.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import URL

from caselog import paths
from caselog.errors import InvalidInput, StorageError
from caselog.validation import Problem

KEY_FILE_ENV = "CASELOG_AUDIT_KEY_FILE"
KEY_FOLDER = "audit-keys"
CHECKPOINTS_FILE = "audit-checkpoints.json"
_KEY_HEADER = "caselog-audit-key-1"


class AuditKeyMissing(StorageError):
    """This workstation lacks the key the database's trail is sealed with: nothing can be added to the trail."""


# ---- the key --------------------------------------------------------------------------------------------


def key_path(database_id: str) -> Path:
    """Where this workstation keeps the key of that database (or the shared key file, when one is named)."""
    shared = os.environ.get(KEY_FILE_ENV)
    if shared:
        return Path(shared).expanduser()
    return paths.data_dir() / KEY_FOLDER / f"{database_id}.key"


def key_id(key: bytes) -> str:
    """The key's fingerprint, stored in the database so a wrong key is recognised (never reveals the key)."""
    return hmac.new(key, b"caselog audit key id", hashlib.sha256).hexdigest()[:32]


def _parse_key(text: str, where: str) -> bytes:
    parts = text.split()
    if len(parts) != 2 or parts[0] != _KEY_HEADER or len(parts[1]) != 64:
        raise InvalidInput([Problem(where, "is not a CaseLog audit key file")])
    try:
        return bytes.fromhex(parts[1])
    except ValueError:
        raise InvalidInput([Problem(where, "is not a CaseLog audit key file")]) from None


def load_key(database_id: str) -> bytes | None:
    """The key this workstation holds for the database, or None."""
    path = key_path(database_id)
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StorageError(f"The audit key file {path} cannot be read: {exc}") from exc
    return _parse_key(text, str(path))


def _write_private(path: Path, text: str, *, exclusive: bool) -> None:
    """Write a file readable by its owner only (0600), in a folder only the owner may enter when we make it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if exclusive:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        return
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _key_text(key: bytes) -> str:
    return f"{_KEY_HEADER} {key.hex()}\n"


def key_for_new_seal(database_id: str) -> bytes:
    """The key a database's first sealed entry uses: the one already here (shared file), or a new one."""
    found = load_key(database_id)
    if found is not None:
        return found
    key = secrets.token_bytes(32)
    try:
        _write_private(key_path(database_id), _key_text(key), exclusive=True)
    except FileExistsError:
        # Another process made it a moment ago: use theirs.
        again = load_key(database_id)
        assert again is not None
        return again
    except OSError as exc:
        raise StorageError(f"The audit key cannot be saved in {key_path(database_id).parent}: {exc}") from exc
    return key


def missing_key_message(database_id: str, location: str) -> str:
    return (
        f"The audit trail of {location} is sealed with a key this workstation does not have "
        f"(expected in {key_path(database_id)}); nothing was saved. Ask IT to copy it from a workstation "
        "that has it: 'caselog audit key export FILE' there, 'caselog audit key import FILE' here (or set "
        f"{KEY_FILE_ENV} to the clinic's key file)."
    )


def export_key(database_id: str, expected_key_id: str | None, destination: Path, location: str) -> None:
    """Write this workstation's key of the database to `destination` (0600), for `import_key` elsewhere."""
    key = load_key(database_id)
    if key is None or expected_key_id is None:
        raise AuditKeyMissing(missing_key_message(database_id, location))
    if key_id(key) != expected_key_id:
        raise InvalidInput([Problem("key", f"the key in {key_path(database_id)} is not the key of {location}")])
    if destination.exists():
        raise InvalidInput([Problem("FILE", f"{destination} already exists; choose a new file name")])
    if not destination.parent.is_dir():
        raise InvalidInput([Problem("FILE", f"folder {destination.parent} does not exist")])
    _write_private(destination, _key_text(key), exclusive=True)


def import_key(database_id: str, expected_key_id: str | None, source: Path, location: str) -> Path:
    """Install a key file exported elsewhere, after checking it is the key the database was sealed with."""
    try:
        text = source.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput([Problem("FILE", f"{source} cannot be read: {exc}")]) from None
    key = _parse_key(text, "FILE")
    if expected_key_id is None:
        raise InvalidInput([Problem("FILE", f"{location} is not sealed yet; it makes its key at its next entry")])
    if key_id(key) != expected_key_id:
        raise InvalidInput([Problem("FILE", f"{source} is not the key the audit trail of {location} is sealed with")])
    target = key_path(database_id)
    if load_key(database_id) == key:
        return target
    _write_private(target, _key_text(key), exclusive=False)
    return target


def new_key(database_id: str) -> bytes:
    """A fresh key for a trail whose key is lost (`caselog audit key renew`); a key file already here is kept aside."""
    path = key_path(database_id)
    if path.exists():
        aside = path.with_name(f"{path.name}.replaced-{secrets.token_hex(4)}")
        path.rename(aside)
    key = secrets.token_bytes(32)
    try:
        _write_private(path, _key_text(key), exclusive=True)
    except OSError as exc:
        raise StorageError(f"The audit key cannot be saved in {path.parent}: {exc}") from exc
    return key


def seal(key: bytes, entry_hash: str) -> str:
    """An entry's seal: nobody without the key can make one for a changed or recomputed entry."""
    return hmac.digest(key, entry_hash.encode("ascii"), "sha256").hex()  # one C call: an import seals thousands


def head_seal(key: bytes, last_id: int, last_hash: str, sealed_from: int) -> str:
    """The head row's seal: the end of the chain cannot be moved back without the key."""
    message = f"head|{last_id}|{last_hash}|{sealed_from}".encode("ascii")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def workstation() -> str:
    return socket.gethostname() or "unknown"


# ---- checkpoints ----------------------------------------------------------------------------------------


def location_of(url: URL) -> str:
    """The database's place, as `Database.display_name` gives it (never with a password)."""
    if url.get_backend_name() == "sqlite" and url.database:
        return str(Path(url.database))
    return url.render_as_string(hide_password=True)


@dataclass(frozen=True, slots=True)
class Checkpoint:
    database_id: str
    entry: int
    entry_hash: str
    key_id: str | None


def _checkpoints_path() -> Path:
    return paths.data_dir() / CHECKPOINTS_FILE


def _read_all() -> dict[str, Any]:
    try:
        data = json.loads(_checkpoints_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save_all(data: dict[str, Any]) -> None:
    # A checkpoint is a second line of defence; failing to save one must not undo the user's work.
    with contextlib.suppress(OSError):
        _write_private(_checkpoints_path(), json.dumps(data, indent=1, sort_keys=True), exclusive=False)


def checkpoint(location: str) -> Checkpoint | None:
    """The last state this workstation saw of the database at `location`, or None."""
    found = _read_all().get(location)
    if not isinstance(found, dict):
        return None
    try:
        return Checkpoint(str(found["database_id"]), int(found["entry"]), str(found["hash"]), found.get("key_id"))
    except (KeyError, TypeError, ValueError):
        return None


def note_head(location: str, seen: Checkpoint, *, force: bool = False) -> None:
    """Remember a state this workstation saw at `location`.

    Never moves a checkpoint back, nor over to another database at the same place: what was found stays
    found until an administrator accepts it (`caselog audit verify --accept`) or CaseLog's restore forgets it.
    """
    data = _read_all()
    known = checkpoint(location)
    if not force and known is not None and (known.database_id != seen.database_id or known.entry > seen.entry):
        return
    data[location] = {"database_id": seen.database_id, "entry": seen.entry, "hash": seen.entry_hash,
                      "key_id": seen.key_id}  # fmt: skip
    _save_all(data)


def forget_checkpoint(location: str) -> None:
    """Forget what this workstation saw at `location` (a database replaced on purpose, by CaseLog's restore).

    Call it after the copy was put in place; the next entry written there becomes the new checkpoint.
    """
    data = _read_all()
    if data.pop(location, None) is not None:
        _save_all(data)


# ---- PostgreSQL: the app's role may add to the trail, never change it ----------------------------------

#: Tables whose rows are history: the app may add and read them, never change or delete them.
APPEND_ONLY_TABLES = frozenset({"audit_log", "case_amendments"})
#: Rows the app updates but never deletes.
NO_DELETE_TABLES = frozenset({"audit_head", "accounts", "alembic_version"})
READ_ONLY_TABLES = frozenset({"alembic_version"})


def table_privileges(table: str) -> str:
    """What the app's role may do to one table (the owner keeps the rest: ALTER, DROP, triggers, TRUNCATE)."""
    if table in READ_ONLY_TABLES:
        return "SELECT"
    if table == "audit_head":
        return "SELECT, UPDATE"
    if table in APPEND_ONLY_TABLES:
        return "SELECT, INSERT"
    if table in NO_DELETE_TABLES:
        return "SELECT, INSERT, UPDATE"
    return "SELECT, INSERT, UPDATE, DELETE"


def grant_app_role(conn: Any, role: str) -> list[str]:
    """Give an existing login role what CaseLog needs on this database, and nothing that could rewrite the trail.

    Run by the tables' owner (`caselog init --app-role NAME`). Only the owner may disable or drop triggers,
    alter tables or truncate them; the app's role gets INSERT and SELECT on the audit trail. Returns the
    statements run. `conn` is a SQLAlchemy connection inside a transaction.
    """
    from sqlalchemy import text

    found = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if found is None:
        raise InvalidInput([Problem("--app-role", f"role {role} does not exist; create it first (CREATE ROLE "
                                    f"{role} LOGIN PASSWORD '…')")])  # fmt: skip
    if found[0]:
        raise InvalidInput([Problem("--app-role", f"role {role} is a superuser: it could still change the audit "
                                    "trail; give CaseLog an ordinary role")])  # fmt: skip
    if conn.execute(text("SELECT current_user")).scalar_one() == role:
        raise InvalidInput([Problem("--app-role", f"{role} owns the tables; run init as the owner, for another role")])
    quote = conn.dialect.identifier_preparer.quote
    who = quote(role)
    database = quote(conn.execute(text("SELECT current_database()")).scalar_one())
    schema = quote(conn.execute(text("SELECT current_schema()")).scalar_one())
    tables = [
        name for (name,) in conn.execute(
            text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")
        )
    ]  # fmt: skip
    statements = [f"GRANT CONNECT ON DATABASE {database} TO {who}", f"GRANT USAGE ON SCHEMA {schema} TO {who}",
                  f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {who}"]  # fmt: skip
    statements += [f"GRANT {table_privileges(t)} ON {schema}.{quote(t)} TO {who}" for t in tables]
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {who}")
    for statement in statements:
        conn.execute(text(statement))
    return statements
