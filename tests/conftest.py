"""Shared fixtures: a migrated database per test, on SQLite and (when a server is given) on PostgreSQL.

PostgreSQL tests run when CASELOG_TEST_PG_URL names a server URL whose user may create databases
(`.ci/run` starts one: `export CASELOG_TEST_PG_URL="$(.ci/start-postgres)"`); otherwise they are skipped.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from caselog.db.engine import Database
from caselog.db.schema import open_database
from caselog.service import CaseService
from tests.factories import TODAY

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Fixtures wider than one test (templates) run before each test's own home is set: they get this session's
# home, and every test shares one audit seal key, so a template's sealed trail stays writable in each copy.
_SESSION_FOLDER = Path(tempfile.mkdtemp(prefix="caselog-tests-"))
atexit.register(shutil.rmtree, _SESSION_FOLDER, ignore_errors=True)  # each run left one behind in /tmp
os.environ["CASELOG_HOME"] = str(_SESSION_FOLDER / "home")
os.environ["CASELOG_AUDIT_KEY_FILE"] = str(_SESSION_FOLDER / "audit.key")
PG_URL = os.environ.get("CASELOG_TEST_PG_URL")
#: `make test-encrypted`: every SQLite database the tests make is an SQLCipher one (the product's default),
#: in this process and in the `caselog` processes the tests start.
ENCRYPTED_RUN = bool(os.environ.get("CASELOG_TEST_ENCRYPTED"))
if ENCRYPTED_RUN:
    os.environ["CASELOG_DB_KEY"] = "the encrypted test run's passphrase"
PG_SKIP = 'PostgreSQL tests need CASELOG_TEST_PG_URL (run: export CASELOG_TEST_PG_URL="$(.ci/start-postgres)")'


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test ever touches a real profile or a database named in the caller's environment."""
    monkeypatch.setenv("CASELOG_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CASELOG_DB", raising=False)
    # The app's start seals this process's drafts with its encrypted database's key; a later test's plain
    # window must not inherit it (it would write sealed drafts where it reads plain ones).
    monkeypatch.setattr("caselog.drafts._protection", None)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once, copy per test (faster than running the migrations every time)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    open_database(path).close()
    return path


@functools.cache
def _server(url: str) -> Engine:
    """One connection pool per server role for the whole run (each test used to pay a TLS connection for each)."""
    engine = create_engine(make_url(url), isolation_level="AUTOCOMMIT")
    atexit.register(engine.dispose)
    return engine


def new_pg_database(template: str | None = None) -> str:
    """A fresh PostgreSQL database for one test, empty or a copy of `template` (a database URL); returns its URL."""
    assert PG_URL
    admin = make_url(PG_URL)
    name = f"caselog_test_{uuid.uuid4().hex[:12]}"
    copy_of = f' TEMPLATE "{make_url(template).database}"' if template else ""
    with _server(PG_URL).connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy_of}'))
    return admin.set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    assert PG_URL
    name = make_url(url).database
    # As the server's superuser when the run has one: WITH (FORCE) may have to end another role's session.
    admin = os.environ.get("CASELOG_TEST_PG_ADMIN_URL") or PG_URL
    with _server(admin).connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated PostgreSQL database, migrated once per worker and copied per test (CREATE DATABASE ... TEMPLATE).

    Nothing stays connected to it (a copy needs the template idle), and no test ever opens it.
    """
    if not PG_URL:
        pytest.skip(PG_SKIP)
    url = new_pg_database()
    try:
        open_database(url).close()
        yield url
    finally:
        drop_pg_database(url)


def template_for(backend: str, request: pytest.FixtureRequest) -> str:
    """The migrated template of `backend` ("sqlite" or "postgresql"): a file path or a database URL."""
    if backend == "sqlite":
        return str(request.getfixturevalue("sqlite_template"))
    if not PG_URL:
        pytest.skip(PG_SKIP)
    return str(request.getfixturevalue("pg_template"))


@contextlib.contextmanager
def database_copy(template: str, folder: Path) -> Iterator[str]:
    """A database of one's own copied from `template` (a SQLite file, or a PostgreSQL URL nobody has open): its
    --db target, dropped afterwards. A fixture that prepares data once hands each test a copy of it this way."""
    if "://" not in template:
        path = folder / "caselog.sqlite3"
        shutil.copy(template, path)
        yield str(path)
        return
    url = new_pg_database(template)
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database's --db target, once per backend."""
    with database_copy(template_for(request.param, request), tmp_path) as target:
        yield target


@pytest.fixture
def db(db_target: str) -> Iterator[Database]:
    database = open_database(db_target)
    yield database
    database.close()


@pytest.fixture
def service(db: Database) -> CaseService:
    return CaseService(db, today=lambda: TODAY)
