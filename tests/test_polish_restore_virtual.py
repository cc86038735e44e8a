"""A restore remakes the search's FTS5 index from its content table; a backup holding a virtual table it cannot
remake that way (another module, or a full-text table keeping its own text) is refused by name, nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.factories import case_file, make_case, simple_case
from tests.helpers.raw import raw_connect
from tests.test_cli import run, write


def _clinic_and_backup(tmp_path: Path) -> tuple[str, Path]:
    db = str(tmp_path / "clinic.sqlite3")
    assert run("import", write(tmp_path / "in.json", case_file(make_case())), db=db).returncode == 0
    backup = tmp_path / "backup.sqlite3"
    assert run("backup", str(backup), db=db).returncode == 0
    return db, backup


def _cases(db: str) -> int:
    with raw_connect(db, readonly=True) as conn:
        return int(conn.execute("SELECT count(*) FROM cases").fetchone()[0])


@pytest.mark.parametrize(
    ("create", "named"),
    [
        # FTS5 keeping its own text: 'rebuild' would read its (uncopied) shadow content and empty it silently.
        ("CREATE VIRTUAL TABLE clinic_notes USING fts5(note)", "full-text table clinic_notes, which keeps its own"),
        ("CREATE VIRTUAL TABLE clinic_notes USING fts5(note, content='')", "full-text table clinic_notes"),
        ("CREATE VIRTUAL TABLE clinic_boxes USING rtree(id, x0, x1)", "virtual table clinic_boxes (module rtree)"),
    ],
)
def test_a_backup_with_a_virtual_table_a_restore_cannot_rebuild_is_refused_by_name(
    tmp_path: Path, create: str, named: str
) -> None:
    db, backup = _clinic_and_backup(tmp_path)
    with raw_connect(backup) as conn:
        conn.execute(create)
        if "note)" in create:
            conn.execute("INSERT INTO clinic_notes(note) VALUES ('kept only here')")
    assert run("import", write(tmp_path / "later.json", case_file(simple_case("2024-05-02"))), db=db).returncode == 0

    result = run("restore", str(backup), db=db)
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert named in result.stderr and "a restore cannot rebuild" in result.stderr
    assert "the database was not changed" in result.stderr and "Traceback" not in result.stderr
    assert _cases(db) == 2  # the case added after the backup is still there
    assert not list(tmp_path.glob("clinic.sqlite3.before-restore-*"))


def test_the_search_index_still_restores_and_is_rebuilt(tmp_path: Path) -> None:
    """The external-content FTS5 index (the only virtual table CaseLog makes) passes the check and is rebuilt."""
    db, backup = _clinic_and_backup(tmp_path)
    result = run("restore", str(backup), db=db)
    assert result.returncode == 0, result.stderr
    with raw_connect(db) as conn:
        conn.execute("INSERT INTO case_search_fts(case_search_fts, rank) VALUES ('integrity-check', 1)")
        found = conn.execute("SELECT count(*) FROM case_search_fts WHERE case_search_fts MATCH 'guy'").fetchone()
    assert _cases(db) == 1 and found[0] == 1  # the patient Nguyễn is found again
