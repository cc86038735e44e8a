"""What an attacker or a careless user tried against the clinic's indication policy, through the real command line.

Each test is one attempt that once got through: a clinic setting edited in the database file outside CaseLog
must be refused in words (never a crash, never read as "not set" and replaced by the default).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.factories import case_file, make_case
from tests.helpers.raw import raw_connect
from tests.test_cli import run, write


def _clinic_with_setting(tmp_path: Path, name: str, stored: str) -> str:
    """A single-user database with one rhizotomy, whose clinic setting `name` holds the text `stored`."""
    db = str(tmp_path / "clinic.sqlite3")
    assert run("import", write(tmp_path / "in.json", case_file(make_case())), db=db).returncode == 0
    with raw_connect(db) as con:
        con.execute(
            "INSERT OR REPLACE INTO clinic_settings (name, value, updated_at) VALUES (?, ?, '2025-01-01 00:00:00')",
            (name, stored),
        )
    return db


@pytest.mark.parametrize("stored", ["{not json", "", "1" + "0" * 5000, "[" * 100_000 + "]" * 100_000])
def test_a_policy_that_is_not_json_is_refused_in_words(tmp_path: Path, stored: str) -> None:
    """Text that is no JSON (or a number or nesting Python cannot read) crashed every command reading the policy."""
    db = _clinic_with_setting(tmp_path, "indication_policy", stored)
    for command in (["policy", "show"], ["sign", "2025-00001"], ["patient", "MRN-1001"],
                    ["report", "outside-policy"]):  # fmt: skip
        result = run(*command, db=db)
        assert result.returncode == 1, (command, result.stderr)
        assert "unexpected error" not in result.stderr and "Traceback" not in result.stderr
        assert "setting indication_policy stored in the database is not valid (not JSON)" in result.stderr
        assert "caselog policy set --preset KEY" in result.stderr
    assert "Signed" not in run("show", "2025-00001", db=db).stdout


def test_a_policy_stored_as_null_is_refused_not_read_as_the_default(tmp_path: Path) -> None:
    """A row holding JSON null read as "never set": the default policy applied in silence."""
    db = _clinic_with_setting(tmp_path, "indication_policy", "null")
    result = run("policy", "show", "--json", db=db)
    assert result.returncode == 1 and result.stdout == ""
    assert "indication_policy stored in the database is not valid (null instead of a value)" in result.stderr


def test_an_administrator_repairs_a_damaged_policy_with_a_preset(tmp_path: Path) -> None:
    """The way out the message names works: the damaged text is replaced, and audited as it was."""
    db = _clinic_with_setting(tmp_path, "indication_policy", "{not json")
    assert run("policy", "set", "--blocks", "1", db=db).returncode == 1  # on top of the damaged one: no
    repaired = run("policy", "set", "--preset", "one_block_50", db=db)
    assert repaired.returncode == 0, repaired.stderr
    assert json.loads(run("policy", "show", "--json", db=db).stdout)["blocks_required"] == 1
    trail = run("audit", db=db).stdout
    assert "{not json" in trail
