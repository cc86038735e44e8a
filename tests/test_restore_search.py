"""A restore puts the search's trigram index (an FTS5 virtual table with its shadow tables) back with the rows:
the restored cases are found by `--search`, the ones added after the backup are not, and the index agrees with
its table (FTS5's own integrity check)."""

from __future__ import annotations

from pathlib import Path

from tests.factories import case_file, make_case
from tests.helpers.raw import raw_connect
from tests.test_cli import run, write


def _patient(mrn: str, family: str) -> dict[str, object]:
    case = make_case()
    case["patient"] = {**case["patient"], "mrn": mrn, "family_name": family}
    return case


def test_a_restored_database_is_searchable_and_its_index_agrees(tmp_path: Path) -> None:
    db = str(tmp_path / "clinic.sqlite3")
    first = write(tmp_path / "first.json", case_file(_patient("MRN-7001", "Quennell")))
    assert run("import", first, db=db).returncode == 0
    backup = tmp_path / "backup.sqlite3"
    assert run("backup", str(backup), db=db).returncode == 0
    later = write(tmp_path / "later.json", case_file(_patient("MRN-7002", "Zabriskie")))
    assert run("import", later, db=db).returncode == 0
    assert "Zabriskie" in run("list", "--search", "abrisk", db=db).stdout

    restored = run("restore", str(backup), db=db)
    assert restored.returncode == 0, restored.stderr
    assert "Quennell" in run("list", "--search", "uennel", db=db).stdout
    assert "Zabriskie" not in run("list", "--search", "abrisk", db=db).stdout
    with raw_connect(db) as conn:
        conn.execute("INSERT INTO case_search_fts(case_search_fts, rank) VALUES ('integrity-check', 1)")
        shadows = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'case_search_fts%'")}
    assert {"case_search_fts", "case_search_fts_data", "case_search_fts_idx"} <= shadows
