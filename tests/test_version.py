"""`caselog --version` and Help → About: the version IT asks about, the schema, and the database in use.

Both read caselog.version, so they cannot disagree; the database's revision is read without writing, without
asking for a passphrase, and a database that cannot be opened is described instead of failing.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from caselog.cli import main
from caselog.db.schema import head_revision
from caselog.version import database_state, version_lines

PASSPHRASE = "a passphrase for the version test"


def version(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    status = main([*args, "--version"])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def init(db: Path, monkeypatch: pytest.MonkeyPatch, passphrase: str | None) -> Path:
    """`caselog init` on `db`, encrypted with `passphrase` (None: plain); its output is not the test's."""
    if passphrase is None:
        monkeypatch.delenv("CASELOG_DB_KEY", raising=False)
    else:
        monkeypatch.setenv("CASELOG_DB_KEY", passphrase)
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["--db", str(db), "init"]) == 0
    return db


def schema_line(db: Path) -> str:
    return f"Database: {db} (schema {head_revision()})"


def test_version_names_the_package_version_the_schema_and_a_database_not_created_yet(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """On a fresh computer: the version from the package metadata, the migrations' head, and the default file,
    which --version must not create."""
    status, lines, err = version(capsys)
    default = Path(os.environ["CASELOG_HOME"]) / "caselog.sqlite3"
    assert status == 0 and err == ""
    assert lines == [
        f"CaseLog {importlib.metadata.version('caselog')}",
        f"Schema version: {head_revision()}",
        f"Database: {default} (not created yet: 'caselog init' creates it)",
    ]
    assert not default.exists()


def test_version_reads_the_schema_of_the_database_in_use(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = init(tmp_path / "clinic.sqlite3", monkeypatch, None)
    before = db.stat().st_mtime_ns
    status, lines, _ = version(capsys, "--db", str(db))
    assert status == 0 and lines[2] == schema_line(db)
    assert db.stat().st_mtime_ns == before  # read only
    monkeypatch.setenv("CASELOG_DB", str(db))  # as every other command, CASELOG_DB picks the database
    assert version(capsys)[1][2] == schema_line(db)


def test_version_of_an_encrypted_database_needs_no_prompt_and_does_not_fail(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = init(tmp_path / "clinic.sqlite3", monkeypatch, PASSPHRASE)
    assert version(capsys, "--db", str(db))[1][2] == schema_line(db)
    monkeypatch.delenv("CASELOG_DB_KEY")
    status, lines, err = version(capsys, "--db", str(db))
    assert status == 0 and err == ""
    assert lines[2] == f"Database: {db} (encrypted: its passphrase is needed to read its schema)"
    monkeypatch.setenv("CASELOG_DB_KEY", "not the passphrase at all")
    assert version(capsys, "--db", str(db))[1][2].endswith("(encrypted: the passphrase known here does not open it)")


def test_version_describes_databases_it_cannot_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder, a file that is no database, a database of a newer CaseLog, a server that is down."""
    monkeypatch.delenv("CASELOG_DB_KEY", raising=False)
    assert database_state(tmp_path).note == "a folder, not a database file"
    junk = tmp_path / "notes.sqlite3"
    junk.write_text("shopping list\n" * 100)
    state = database_state(junk)
    assert state.revision is None and state.note is not None and state.note.startswith("cannot be read")
    newer = init(tmp_path / "newer.sqlite3", monkeypatch, None)
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    assert version_lines(str(newer))[2] == f"Database: {newer} (schema 9999: made by a newer CaseLog; update CaseLog)"
    down = database_state("postgresql+psycopg://nobody@127.0.0.1:1/caselog")
    assert down.revision is None and down.note is not None and "\n" not in down.note
    assert "password" not in down.name


def test_version_goes_alone(capsys: pytest.CaptureFixture[str]) -> None:
    """`caselog --version list` would do two things at once: a usage error, nothing run."""
    assert main(["--version", "list"]) == 2
    assert "--version: goes alone" in capsys.readouterr().err


def test_version_from_a_real_process_and_help_stays_free_of_qt() -> None:
    """As IT types it; the command line never loads Qt for it (the bundle's `caselog` starts fast)."""
    code = (
        "import sys; from caselog.cli import main; status = main(['--version']); "
        "assert not any(m.startswith('PySide6') for m in sys.modules), 'Qt imported'; sys.exit(status)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"CaseLog {importlib.metadata.version('caselog')}\n")


def test_about_shows_what_caselog_version_prints(
    qtbot: QtBot, capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ui.help_dialogs import AboutDialog

    db = init(tmp_path / "clinic.sqlite3", monkeypatch, None)
    _, lines, _ = version(capsys, "--db", str(db))
    dialog = AboutDialog(str(db), head_revision())
    qtbot.addWidget(dialog)
    text = dialog.text.toPlainText()
    assert lines[0] in text  # CaseLog 0.1.0
    assert f"Schema version of this CaseLog: {head_revision()}" in text
    assert f"Database in use: {db}" in text and f"Schema revision: {head_revision()}" in text
