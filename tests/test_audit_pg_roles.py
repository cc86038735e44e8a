"""PostgreSQL: the role CaseLog connects as may add to the audit trail and read it, never change, delete or
unprotect it; the tables belong to an owner role (`caselog init --app-role NAME`, run by the owner).

Creating a login role needs a user with CREATEROLE: CASELOG_TEST_PG_ADMIN_URL names one (for `.ci/start-postgres`
that is its `postgres` user), else the test user itself is tried, and the test is skipped when it may not.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from caselog.cli import main
from caselog.db.schema import open_database
from tests.conftest import PG_SKIP, PG_URL, drop_pg_database, new_pg_database
from tests.factories import POLICY_REASON, case_file, make_case, simple_case

ADMIN_URL = os.environ.get("CASELOG_TEST_PG_ADMIN_URL") or PG_URL


@pytest.fixture
def owned_database() -> Iterator[tuple[str, str]]:
    """(owner's URL, app role's URL): a migrated database, and a fresh login role that owns nothing."""
    if not PG_URL or not ADMIN_URL:
        pytest.skip(PG_SKIP)
    role = f"caselog_app_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    except DBAPIError as exc:
        admin.dispose()
        pytest.skip(f"creating a login role needs CREATEROLE (set CASELOG_TEST_PG_ADMIN_URL): {exc.orig}")
    url = new_pg_database()
    try:
        open_database(url).close()
        yield url, make_url(url).set(username=role).render_as_string(hide_password=False)
    finally:
        drop_pg_database(url)
        with admin.connect() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
        admin.dispose()


def _granted(owned: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> str:
    """The owner runs `caselog init --app-role NAME`; returns the app role's URL."""
    owner_url, app_url = owned
    role = make_url(app_url).username
    assert role is not None
    status, _, err = _cli(capsys, "--db", owner_url, "init", "--app-role", role)
    assert status == 0, err
    return app_url


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


@pytest.mark.parametrize(
    "attempt",
    [
        "ALTER TABLE audit_log DISABLE TRIGGER USER",
        "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_delete",
        "DROP TRIGGER audit_log_no_delete ON audit_log",
        "DELETE FROM audit_log",
        "UPDATE audit_log SET username = 'someone'",
        "TRUNCATE audit_log",
        "DROP TABLE audit_log",
        "DELETE FROM case_amendments",
        "ALTER TABLE cases DISABLE TRIGGER ALL",
    ],
)
def test_the_app_role_cannot_unprotect_or_rewrite_the_trail(
    owned_database: tuple[str, str], attempt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app_url = _granted(owned_database, capsys)
    engine = create_engine(make_url(app_url))
    try:
        with pytest.raises(DBAPIError, match=r"permission denied|must be owner|must be the owner"), \
                engine.begin() as conn:  # fmt: skip
            conn.execute(text(attempt))
    finally:
        engine.dispose()


def test_the_app_role_does_all_normal_work(
    owned_database: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app_url = _granted(owned_database, capsys)
    source = tmp_path / "cases.json"
    source.write_text(
        json.dumps(case_file(make_case(outside_policy_reason=POLICY_REASON), simple_case("2025-01-02"))),
        encoding="utf-8",
    )
    status, out, err = _cli(capsys, "--db", app_url, "import", str(source))
    assert status == 0, err
    first, second = out.split()
    changed = tmp_path / "one.json"
    changed.write_text(json.dumps(make_case(notes="Reviewed.", outside_policy_reason=POLICY_REASON)), encoding="utf-8")
    for args in (["update", first, str(changed)], ["sign", first], ["delete", second, "--reason", "duplicate"],
                 ["update", first, str(changed.with_name("one.json")), "--reason", "same"],
                 ["audit", "verify"], ["check"], ["list"]):  # fmt: skip
        status, out, err = _cli(capsys, "--db", app_url, *args)
        assert status == 0, (args, err)


def test_app_role_must_be_an_ordinary_role(owned_database: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    owner_url, _ = owned_database
    status, _, err = _cli(capsys, "--db", owner_url, "init", "--app-role", "no_such_role_here")
    assert status == 2 and "does not exist" in err
