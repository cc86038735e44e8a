"""`caselog check` names values a direct edit left in an SQLite file that CaseLog cannot read (a date that is
not a date, text in a number), instead of failing with an unexpected error deep inside a read."""

from __future__ import annotations

from pathlib import Path

import pytest

from caselog.db.schema import check_database, open_database
from caselog.db.stored_values import unreadable_values
from caselog.service import CaseService
from tests.factories import make_case
from tests.helpers.raw import raw_connect
from tests.test_cli import run


def _clinic(tmp_path: Path) -> Path:
    path = tmp_path / "clinic.sqlite3"
    db = open_database(path)
    CaseService(db).create_case(make_case())
    db.close()
    return path


def _edit(path: Path, sql: str) -> None:
    with raw_connect(path) as conn:
        conn.execute(sql)


def _problems(path: Path) -> list[str]:
    db = open_database(path, migrate=False)
    try:
        return check_database(db).problems
    finally:
        db.close()


def test_a_clean_database_holds_nothing_unreadable(tmp_path: Path) -> None:
    path = _clinic(tmp_path)
    db = open_database(path)
    with db.read() as session:
        assert unreadable_values(session) == []
    db.close()


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE cases SET procedure_date = 'garbage'", "cases.procedure_date: 1 value is not a date (case "),
        ("UPDATE cases SET procedure_date = '2024-02-30'", "cases.procedure_date: 1 value is not a date"),
        ("UPDATE cases SET procedure_date = '2024-13-01'", "cases.procedure_date: 1 value is not a date"),
        ("UPDATE cases SET created_at = 'yesterday'", "cases.created_at: 1 value is not a date and time"),
        ("UPDATE cases SET created_at = '2024-01-01 25:00:00'", "cases.created_at: 1 value is not a date and time"),
        ("UPDATE cases SET duration_minutes = 4.5", "cases.duration_minutes: 1 value is not a whole number"),
        ("UPDATE cases SET cpt_codes = '[64633'", "cases.cpt_codes: 1 value is not readable JSON"),
        ("UPDATE cases SET injury_related = 7", "cases.injury_related: 1 value is not yes or no"),
        ("UPDATE patients SET birth_date = 19800101", "patients.birth_date: 1 value is not a date (row "),
        (
            "UPDATE treated_levels SET level = x'00' WHERE rowid = (SELECT min(rowid) FROM treated_levels)",
            "treated_levels.level: 1 value is not text (case ",
        ),
    ],
)
def test_each_kind_of_unreadable_value_is_named_with_its_case(tmp_path: Path, sql: str, expected: str) -> None:
    path = _clinic(tmp_path)
    _edit(path, sql)
    problems = _problems(path)
    assert any(p.startswith(expected) for p in problems), problems


def test_check_exits_1_naming_the_column_and_the_list_points_to_check(tmp_path: Path) -> None:
    path = _clinic(tmp_path)
    _edit(path, "UPDATE cases SET procedure_date = 'garbage'")
    result = run("check", db=str(path))
    assert result.returncode == 1
    assert "cases.procedure_date: 1 value is not a date (case " in result.stderr
    assert "Traceback" not in result.stderr
    listed = run("list", db=str(path))
    assert listed.returncode == 1 and "Traceback" not in listed.stderr
    assert "'caselog check' says whether the database itself is damaged" in listed.stderr
