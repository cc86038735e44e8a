"""Disk full and read-only: a write that fails for lack of space or permission leaves the database as it was
and the user's input file untouched, and says what to do; the command line exits 1 without a traceback.

Full disk: `PRAGMA max_page_count` pinned at the file's size makes SQLite fail with SQLITE_FULL, as a full disk
does. Read-only: the file is made immutable (`chattr +i`), which even root cannot write through.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from caselog.db.engine import describe_storage_error, open_engine
from caselog.db.schema import open_database
from caselog.errors import StorageError
from caselog.service import CaseService
from tests.factories import TODAY, case_file, make_case
from tests.helpers.case_writer import case_for
from tests.helpers.raw import dump, raw_connect
from tests.helpers.reliability import caselog, digest, exported_cases, small_file_system, sqlite_facts


@pytest.fixture
def clinic(tmp_path: Path, sqlite_template: Path) -> Path:
    path = tmp_path / "clinic.sqlite3"
    shutil.copy(sqlite_template, path)
    db = open_database(path)
    try:
        service = CaseService(db, today=lambda: TODAY)
        for n in range(8):
            service.create_case(case_for("D", n))
    finally:
        db.close()
    return path


@pytest.fixture
def big_input(tmp_path: Path) -> Path:
    """A user's import file: 40 cases with long notes, more than the full database has room for."""
    cases = [make_case(notes=f"case {n} " + "ð" * 9000, patient={**make_case()["patient"], "mrn": f"IN-{n}"})
             for n in range(40)]  # fmt: skip
    path = tmp_path / "to-import.json"
    path.write_text(json.dumps(case_file(*cases), ensure_ascii=False), encoding="utf-8")
    return path


def _rows(path: Path) -> list[str]:
    """Every table's rows as SQL text, read without writing (exporting itself is audited, so it writes)."""
    with raw_connect(path, readonly=True) as conn:
        return dump(conn)


def _full(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute("PRAGMA max_page_count = 1")  # never below the current size: pins it there


def test_disk_full_through_the_service_changes_nothing(clinic: Path) -> None:
    before = exported_cases(str(clinic))
    db = open_engine(clinic)
    event.listen(db.engine, "connect", _full)
    service = CaseService(db, today=lambda: TODAY)
    try:
        with pytest.raises(StorageError) as full:
            service.create_case(make_case(notes="x" * 10000, patient={**make_case()["patient"], "mrn": "NEW-1"}))
        with pytest.raises(StorageError):
            service.import_cases(case_file(*[case_for("F", n) for n in range(200)]))
    finally:
        db.close()
    print(f"\ndisk full (service): {full.value.message}")
    assert "is full" in full.value.message and "nothing was saved" in full.value.message
    assert "Free some space" in full.value.message
    assert exported_cases(str(clinic)) == before
    assert sqlite_facts(clinic)["integrity"] == ["ok"]


def test_disk_full_on_the_command_line(clinic: Path, big_input: Path) -> None:
    before, kept = exported_cases(str(clinic)), digest(big_input)
    result = caselog("import", str(big_input), db=str(clinic), module="tests.helpers.cli_full_disk")
    print(f"\ndisk full (caselog import): exit {result.returncode}: {result.stderr.strip()}")
    assert result.returncode == 1
    assert "is full" in result.stderr and "Free some space" in result.stderr
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr
    assert result.stdout == ""  # no case number was announced
    assert digest(big_input) == kept
    assert exported_cases(str(clinic)) == before
    assert sqlite_facts(clinic)["integrity"] == ["ok"]


@pytest.fixture
def immutable(clinic: Path) -> Iterator[Path]:
    """The database file made read-only for everyone, root included; undone afterwards."""
    made = subprocess.run(["chattr", "+i", str(clinic)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"chattr +i is not available here: {made.stderr.strip()}")
    try:
        try:
            clinic.open("r+b").close()
        except PermissionError:
            pass
        else:
            pytest.skip("chattr +i did not stop writes on this file system")
        yield clinic
    finally:
        subprocess.run(["chattr", "-i", str(clinic)], check=True)


def test_read_only_database_through_the_service(immutable: Path) -> None:
    before = _rows(immutable)
    db = open_database(immutable)
    try:
        service = CaseService(db, today=lambda: TODAY)
        assert service.count() == 8  # reading still works
        with pytest.raises(StorageError) as refused:
            service.create_case(case_for("RO", 1))
    finally:
        db.close()
    print(f"\nread-only (service): {refused.value.message}")
    assert "cannot be written (read-only" in refused.value.message and "nothing was saved" in refused.value.message
    assert _rows(immutable) == before


def test_read_only_database_on_the_command_line(immutable: Path, big_input: Path) -> None:
    before, kept, file_before = _rows(immutable), digest(big_input), digest(immutable)
    result = caselog("import", str(big_input), db=str(immutable))
    print(f"\nread-only (caselog import): exit {result.returncode}: {result.stderr.strip()}")
    assert result.returncode == 1
    assert "cannot be written (read-only or no permission)" in result.stderr
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr
    assert result.stdout == ""
    assert digest(big_input) == kept
    assert digest(immutable) == file_before
    assert _rows(immutable) == before
    with raw_connect(immutable, readonly=True) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MB file system (tmpfs), as full disks happen: needs the right to mount, else skipped."""
    with small_file_system(tmp_path / "disk", "2m") as disk:
        yield disk


def fill(disk: Path) -> None:
    """Take every free byte, as another program filling the disk does. Unbuffered: a buffered file keeps the bytes
    a partial last write left over and raises again when closed (free space not a multiple of the block written)."""
    with (disk / "filler").open("ab", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError:
            pass


def test_a_really_full_disk_says_full_not_damaged_and_keeps_the_input(
    small_disk: Path, sqlite_template: Path, big_input: Path
) -> None:
    database = small_disk / "clinic.sqlite3"
    shutil.copy(sqlite_template, database)
    kept = digest(big_input)
    fill(small_disk)
    before = digest(database)
    result = caselog("import", str(big_input), db=str(database))
    print(f"\nreally full disk (caselog import): exit {result.returncode}: {result.stderr.strip()}")
    assert result.returncode == 1
    assert f"The disk holding {database} is full" in result.stderr and "Free some space" in result.stderr
    assert "damaged" not in result.stderr and "restore" not in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert digest(big_input) == kept and digest(database) == before


def test_an_io_error_with_room_on_the_disk_is_not_called_damage(tmp_path: Path) -> None:
    exc = sqlite3.OperationalError("disk I/O error")
    message = describe_storage_error(exc, str(tmp_path / "clinic.sqlite3"))
    assert message is not None
    assert "disk I/O error" in message.message and "nothing was saved" in message.message
    assert "damaged" not in message.message and "restore" not in message.message
    damaged = describe_storage_error(sqlite3.DatabaseError("database disk image is malformed"), "x.sqlite3")
    assert damaged is not None and "is damaged" in damaged.message


@pytest.mark.parametrize(
    ("name", "args"),
    [("cases.csv", ["export", "--format", "csv"]), ("cases.xlsx", ["export", "--format", "xlsx"]),
     ("cases.json", ["export"]), ("summary.pdf", ["summary", "2025-00001"])],
)  # fmt: skip
def test_exports_and_pdfs_on_a_full_disk_name_the_file(
    small_disk: Path, clinic: Path, name: str, args: list[str]
) -> None:
    fill(small_disk)
    target = small_disk / name
    result = caselog(*args, "--output", str(target), db=str(clinic))
    print(f"\nfull disk ({name}): exit {result.returncode}: {result.stderr.strip()}")
    assert result.returncode == 1
    assert f"{target}: the disk is full (0 bytes free)" in result.stderr and "Free some space" in result.stderr
    assert "Traceback" not in result.stderr and "Exception ignored" not in result.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]  # no half file, no temporary file


def test_any_other_write_on_a_full_disk_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import errno

    from caselog import commands
    from caselog.cli import main

    def full(*_args: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "somewhere.bin"))

    monkeypatch.setattr(commands, "run", full)
    assert main(["--db", str(tmp_path / "c.sqlite3"), "list"]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'somewhere.bin'}: the disk is full (" in err and "unexpected error" not in err


def test_a_backup_on_a_full_disk_names_the_file_and_leaves_no_half_copy(small_disk: Path, clinic: Path) -> None:
    fill(small_disk)
    target = small_disk / "nightly.sqlite3"
    result = caselog("backup", str(target), db=str(clinic))
    print(f"\nfull disk (backup): exit {result.returncode}: {result.stderr.strip()}")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"The disk holding {target} is full" in result.stderr and "the database itself is unchanged" in result.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
