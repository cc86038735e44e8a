"""PostgreSQL: the dashboard's stored tallies under the role CaseLog connects as (issue 18, schema 0017).

Granted (`caselog init --app-role NAME` after the upgrade), the role reads and stores them. Not yet granted the
new tables, it still writes cases (the triggers that mark them run as the tables' owner), its dashboard and
`caselog check` are counted from the cases, and nothing fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from caselog.dashboard import DashboardService
from caselog.db.schema import open_database
from caselog.records import CaseFilter
from caselog.service import CaseService
from tests.factories import POLICY_REASON, case_file, make_case, simple_case
from tests.test_audit_pg_roles import _cli, _granted, owned_database
from tests.test_dashboard_aggregation import same
from tests.test_dashboard_tallies import _counted

__all__ = ["owned_database"]  # the fixture, used by name
TABLES = ("dashboard_stale", "dashboard_stale_slices", "dashboard_slices", "dashboard_sides", "dashboard_tally_state")


def _import(app_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "cases.json"
    cases = (make_case(outside_policy_reason=POLICY_REASON),
             simple_case("2025-01-02", procedure="endoscopic_rhizotomy"))  # fmt: skip
    source.write_text(json.dumps(case_file(*cases)), encoding="utf-8")
    status, _, err = _cli(capsys, "--db", app_url, "import", str(source))
    assert status == 0, err


def _stored(owner_url: str) -> int:
    engine = create_engine(make_url(owner_url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM dashboard_slices")).scalar_one())
    finally:
        engine.dispose()


def _assert_dashboard_right(app_url: str, where: str) -> None:
    """The dashboard built as the role equals the one counted from the cases."""
    db = open_database(app_url)
    try:
        service = CaseService(db)
        same(DashboardService(service).build(), _counted(service, CaseFilter()), where)
    finally:
        db.close()


def test_the_granted_role_reads_and_stores_the_tallies(
    owned_database: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app_url = _granted(owned_database, capsys)
    _import(app_url, tmp_path, capsys)
    _assert_dashboard_right(app_url, "the app role")
    assert _stored(owned_database[0]) > 0
    status, _, err = _cli(capsys, "--db", app_url, "check")
    assert status == 0, err


def test_a_role_not_granted_the_new_tables_writes_cases_and_sees_live_figures(
    owned_database: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app_url = _granted(owned_database, capsys)
    owner_url, role = owned_database[0], make_url(app_url).username
    engine = create_engine(make_url(owner_url))
    with engine.begin() as conn:  # as after an upgrade to schema 0017, before init --app-role again
        conn.execute(text(f'REVOKE ALL ON {", ".join(TABLES)} FROM "{role}"'))
    engine.dispose()
    _import(app_url, tmp_path, capsys)
    _assert_dashboard_right(app_url, "the role without the tables")
    assert _stored(owner_url) == 0
    for args in (["check"], ["report", "outcomes"]):
        status, _, err = _cli(capsys, "--db", app_url, *args)
        assert status == 0, (args, err)
