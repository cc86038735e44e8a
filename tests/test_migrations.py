"""The schema: migrations build exactly what the models describe, upgrades are safe to repeat and copy first."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from caselog.db.engine import Database, open_engine
from caselog.db.models import Base
from caselog.db.schema import current_revision, head_revision, upgrade
from caselog.db.tables import in_models
from caselog.errors import StorageError
from tests.helpers.raw import raw_connect


def test_upgrade_empty_database_to_head_and_models_agree(db: Database) -> None:
    assert current_revision(db) == head_revision()
    with db.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True, "include_name": in_models}), Base.metadata
        )
    assert diff == []


def test_indexes_behind_every_filter(db: Database) -> None:
    with db.engine.connect() as conn:
        inspector = inspect(conn)
        indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes("cases")}
        indexed |= {tuple(uc["column_names"]) for uc in inspector.get_unique_constraints("cases")}
        level_indexes = {tuple(ix["column_names"]) for ix in inspector.get_indexes("treated_levels")}
    # Each filter column leads an index that continues with the list's order (date, then case number).
    for column in ("surgeon", "procedure", "status"):
        assert any(ix[:3] == (column, "procedure_date", "case_number") for ix in indexed)
    assert ("patient_id",) in indexed
    assert any(ix[:2] == ("procedure_date", "case_number") for ix in indexed)
    assert ("case_number",) in indexed
    assert ("level", "case_id") in level_indexes


def test_sqlite_settings(db: Database) -> None:
    if not db.is_sqlite:
        return
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_upgrade_is_safe_to_repeat(tmp_path: Path) -> None:
    db = open_engine(tmp_path / "c.sqlite3")
    first = upgrade(db)
    assert first.previous is None and first.backup is None
    again = upgrade(db)
    assert again.previous == again.current and again.backup is None
    db.close()


def test_a_schema_from_a_newer_release_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    db = open_engine(path)
    upgrade(db)
    with db.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = 'future'")
    with pytest.raises(StorageError, match="newer CaseLog"):
        upgrade(db)
    db.close()
    with raw_connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "future"


def test_a_foreign_database_is_not_touched(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite3"
    with raw_connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    db = open_engine(path)
    with pytest.raises(StorageError, match="not a CaseLog database"):
        upgrade(db)
    db.close()
    with raw_connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"invoices"}
