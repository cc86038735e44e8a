"""PostgreSQL: a database behind this CaseLog's schema, opened by the role the workstations connect as (which
owns no table), is not upgraded and says whose upgrade it is: the owner's, with the command to run. It used to
say "keep using the CaseLog version that made it and report this failure", a dead end for the clinic."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, make_url, text

from caselog.db.schema import alembic_config
from tests.test_audit_pg_roles import _cli, _granted, owned_database

__all__ = ["owned_database"]  # the fixture, shared with the roles' tests


def test_the_app_role_meeting_an_older_schema_is_told_the_owner_upgrades(
    owned_database: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    app_url = _granted(owned_database, capsys)
    owner = create_engine(make_url(owned_database[0]))
    try:
        with owner.begin() as conn:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0015_search_statistics")
        status, _, err = _cli(capsys, "--db", app_url, "list")
        assert status != 0
        assert "only the role that owns its tables may upgrade it" in err and "init --app-role" in err, err
        with owner.connect() as conn:  # nothing changed: still at the older schema
            assert (
                conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0015_search_statistics"
            )
    finally:
        owner.dispose()
