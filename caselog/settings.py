"""Settings shared by the command line and the desktop app, each declared once with its type and default.

Stored as JSON in the data folder (`settings.json`), so the CLI's PDFs and the app's PDFs carry the same
facility header. Window geometry is not here: it belongs to Qt's own QSettings in `ui/`.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from caselog import paths

SETTINGS_FILE = "settings.json"


@dataclass(frozen=True)
class Settings:
    #: Printed in the header of every PDF.
    facility_name: str = ""
    #: PNG or JPEG printed beside the facility name; empty for none.
    logo_path: str = ""
    #: Paper for PDFs: "letter" or "a4".
    paper: str = "letter"
    #: Filled into new cases.
    default_surgeon: str = ""
    default_facility: str = ""
    #: "" for the default SQLite file, a file path, or an SQLAlchemy URL (no password in it).
    database: str = ""
    #: A clinic-wide PostgreSQL server; the password lives in the system keyring, never here.
    pg_host: str = ""
    pg_port: int = 5432
    pg_database: str = "caselog"
    pg_user: str = ""
    #: TLS to the server (libpq's sslmode; "prefer" is libpq's default) and its files: the server's CA
    #: (sslrootcert, needed by verify-ca/verify-full) and optionally a client certificate and key.
    pg_sslmode: str = "prefer"
    pg_sslrootcert: str = ""
    pg_sslcert: str = ""
    pg_sslkey: str = ""
    #: The desktop app locks itself after this many minutes without input (0: never).
    idle_lock_minutes: int = 10
    #: Named case templates: name -> partial CASE object.
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def settings_path() -> Path:
    return paths.data_dir() / SETTINGS_FILE


def load_settings(path: Path | None = None) -> Settings:
    """Read the settings; a missing or unreadable file, or a wrongly typed value, falls back to the default."""
    path = path or settings_path()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Settings()
    if not isinstance(raw, dict):
        return Settings()
    values: dict[str, Any] = {}
    defaults = Settings()
    for f in fields(Settings):
        value = raw.get(f.name)
        default = getattr(defaults, f.name)
        if value is not None and type(value) is type(default):
            values[f.name] = value
    return Settings(**values)


def save_settings(settings: Settings, path: Path | None = None) -> None:
    """Write atomically, readable by the owner only (it names the clinic's database server)."""
    path = path or settings_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".settings.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(dataclasses.asdict(settings), out, ensure_ascii=False, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


KEYRING_SERVICE = "CaseLog PostgreSQL"


def _keyring_user(settings: Settings) -> str:
    return f"{settings.pg_user}@{settings.pg_host}:{settings.pg_port}/{settings.pg_database}"


def stored_password(settings: Settings) -> str | None:
    """The server password from the system keyring, or None when there is no keyring or no entry."""
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            return keyring.get_password(KEYRING_SERVICE, _keyring_user(settings))
        except KeyringError:
            return None
    except Exception:  # a broken keyring backend must never stop the app from starting
        return None


def store_password(settings: Settings, password: str) -> bool:
    """Keep the server password in the system keyring; False when there is none (the app asks at start)."""
    try:
        import keyring
        from keyring.errors import KeyringError

        try:
            keyring.set_password(KEYRING_SERVICE, _keyring_user(settings), password)
            return True
        except KeyringError:
            return False
    except Exception:
        return False


def postgresql_url(settings: Settings, password: str | None) -> str:
    """The SQLAlchemy URL of the configured server (psycopg 3), with the password only in memory and the TLS
    options in its query (libpq's names, as `--db` takes them; libpq's default mode is left out)."""
    from sqlalchemy import URL

    query = {
        name: value
        for name, value in (
            ("sslmode", "" if settings.pg_sslmode == "prefer" else settings.pg_sslmode),
            ("sslrootcert", _file(settings.pg_sslrootcert)),
            ("sslcert", _file(settings.pg_sslcert)),
            ("sslkey", _file(settings.pg_sslkey)),
        )
        if value
    }
    url = URL.create(
        "postgresql+psycopg",
        username=settings.pg_user or None,
        password=password or None,
        host=settings.pg_host or None,
        port=settings.pg_port,
        database=settings.pg_database or None,
        query=query,
    )
    return url.render_as_string(hide_password=False)


def _file(path: str) -> str:
    return str(Path(path).expanduser()) if path.strip() else ""
