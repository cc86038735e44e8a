"""`caselog check` reads the clinic's settings and the research key as CaseLog uses them, and names a damaged one."""

from __future__ import annotations

from pathlib import Path

import pytest

from caselog.research import KEY_NAME
from tests.factories import case_file, make_case
from tests.helpers.raw import raw_connect
from tests.test_cli import run, write


def _clinic(tmp_path: Path) -> str:
    db = str(tmp_path / "clinic.sqlite3")
    assert run("import", write(tmp_path / "in.json", case_file(make_case())), db=db).returncode == 0
    return db


def _store(db: str, sql: str, *values: str) -> None:
    with raw_connect(db) as con:
        con.execute(sql, values)


SETTING = "INSERT OR REPLACE INTO clinic_settings (name, value, updated_at) VALUES (?, ?, '2025-01-01 00:00:00')"


@pytest.mark.parametrize(
    ("name", "stored", "said"),
    [
        ("indication_policy", "{not json", "setting indication_policy stored in the database is not valid (not JSON)"),
        ("indication_policy", '{"blocks_required": 7}', "indication policy stored in the database is not valid"),
        (
            "follow_up_schedule",
            '{"laminectomy": ["baseline"]}',
            "follow-up schedule stored in the database is not valid",
        ),
        ("fhir_mrn_system", "42", "setting fhir_mrn_system stored in the database is not valid"),
        ("favourite_colour", '"blue"', "setting favourite_colour is not one CaseLog knows"),
    ],
)
def test_a_damaged_setting_is_named_by_check(tmp_path: Path, name: str, stored: str, said: str) -> None:
    db = _clinic(tmp_path)
    assert run("check", db=db).returncode == 0
    _store(db, SETTING, name, stored)
    checked = run("check", db=db)
    assert checked.returncode == 1 and "Traceback" not in checked.stderr
    assert "the clinic's settings were changed outside CaseLog" in checked.stderr
    assert said in checked.stderr


def test_a_damaged_or_removed_research_key_is_named_by_check(tmp_path: Path) -> None:
    db = _clinic(tmp_path)
    assert run("export", "--format", "research", "--output", str(tmp_path / "r.zip"), db=db).returncode == 0
    assert run("check", db=db).returncode == 0  # the key made by the export reads as made
    _store(db, "UPDATE clinic_secrets SET value = ? WHERE name = ?", "00", KEY_NAME)
    damaged = run("check", db=db)
    assert damaged.returncode == 1 and "pseudonym key was edited outside CaseLog" in damaged.stderr
    _store(db, "DELETE FROM clinic_secrets WHERE name = ?", KEY_NAME)
    removed = run("check", db=db)
    assert removed.returncode == 1 and "pseudonym key was removed from the database" in removed.stderr
