"""Encryption at rest under attack: odd passphrases, a second CaseLog during `caselog encrypt`, Ctrl-C at the
worst moment, a damaged encrypted file, a folder given as the database."""

from __future__ import annotations

import os
import sqlite3
import traceback
from pathlib import Path
from typing import Any

import pytest
import sqlcipher3
from sqlalchemy import text

from caselog.db import cipher, convert
from caselog.db.schema import open_database
from caselog.errors import StorageError
from tests.test_cli import run
from tests.test_encryption import (  # the autouse fixture: each test says where its passphrase comes from
    KEY,
    PLAIN_ENV,
    SECRET_MRN,
    _clinic,
    _no_passphrase_around,  # noqa: F401
    _readable_in,
)


def test_a_passphrase_shaped_like_a_raw_key_opens_the_database_it_created(tmp_path: Path) -> None:
    """SQLCipher reads a key `x'<64 hex digits>'` as raw key bytes: given as typed, the new file would never
    open with its own passphrase again."""
    env = {**PLAIN_ENV, cipher.KEY_ENV: "x'" + "ab" * 32 + "'"}
    db = str(tmp_path / "clinic.sqlite3")
    created = run("init", db=db, env=env)
    assert created.returncode == 0, created.stderr
    assert cipher.file_state(Path(db)) == "encrypted"
    listed = run("list", db=db, env=env)
    assert listed.returncode == 0, listed.stderr


def test_a_passphrase_with_a_nul_character_creates_an_encrypted_database(tmp_path: Path) -> None:
    """The app's field or a terminal can hand over a NUL: no crash, and the file opens with it afterwards."""
    path = tmp_path / "clinic.sqlite3"
    passphrase = "before\x00after, still long"
    cipher.remember(path, passphrase)
    db = open_database(path)
    db.close()
    cipher.forget()
    assert cipher.file_state(path) == "encrypted"
    assert cipher.opens(path, passphrase) and not cipher.opens(path, "before")


def test_a_caselog_connecting_during_encrypt_is_not_left_writing_a_plain_wal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CaseLog that connects after the file left WAL mode switches it back: encrypting on would leave that
    CaseLog writing cases into a plain WAL named after the new file (lost, and readable on the disk)."""
    db = Path(_clinic(tmp_path, key=None))
    others: list[sqlite3.Connection] = []
    create = cipher.create_encrypted

    def another_caselog_connects(path: Path, passphrase: str) -> None:
        other = sqlite3.connect(db, isolation_level=None)
        other.execute("PRAGMA journal_mode = WAL").fetchone()  # what the engine does on each new connection
        others.append(other)
        create(path, passphrase)

    monkeypatch.setattr(cipher, "create_encrypted", another_caselog_connects)
    try:
        with pytest.raises(StorageError, match="open in CaseLog or another program"):
            convert.encrypt_database(db, KEY)
    finally:
        for other in others:
            other.close()
    assert cipher.file_state(db) == "plain"
    assert [p.name for p in tmp_path.iterdir() if ".rewrite-" in p.name or ".before-" in p.name] == []


def test_the_replaced_plain_file_is_zeroed_before_its_lock_is_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CaseLog that opened the plain file and waits for its lock must find nothing it could write into."""
    db = Path(_clinic(tmp_path, key=None))
    seen_at_release: list[list[bytes]] = []
    connect = sqlcipher3.connect

    class Watched(sqlcipher3.dbapi2.Connection):  # type: ignore[misc]
        def close(self) -> None:
            for old in tmp_path.glob(f".{db.name}.before-*"):
                seen_at_release.append(_readable_in(old))
            super().close()

    def watched_connect(target: Any, *args: Any, **kwargs: Any) -> Any:
        if str(target) == str(db):
            kwargs["factory"] = Watched
        return connect(target, *args, **kwargs)

    monkeypatch.setattr(sqlcipher3, "connect", watched_connect)
    convert.encrypt_database(db, KEY)
    assert seen_at_release and all(found == [] for found in seen_at_release), seen_at_release
    assert cipher.file_state(db) == "encrypted"


def test_ctrl_c_between_the_two_renames_leaves_the_database_in_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Path(_clinic(tmp_path, key=None))
    replace = convert.os.replace

    def interrupted(source: Any, destination: Any) -> None:
        if ".rewrite-" in str(source):  # the old file is already moved aside; the new one not yet in place
            raise KeyboardInterrupt
        replace(source, destination)

    monkeypatch.setattr(convert.os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        convert.encrypt_database(db, KEY)
    monkeypatch.setattr(convert.os, "replace", replace)
    assert cipher.file_state(db) == "plain"
    assert [p.name for p in tmp_path.iterdir() if ".rewrite-" in p.name or ".before-" in p.name] == []
    listed = run("list", db=str(db), env=PLAIN_ENV)
    assert listed.returncode == 0 and SECRET_MRN in listed.stdout


def test_ctrl_c_while_the_plain_file_is_overwritten_leaves_no_plain_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Overwriting a large plain file takes seconds: an interrupt then must not leave the rest of it behind."""
    db = Path(_clinic(tmp_path, key=None))
    fsync = convert.os.fsync

    def interrupted(fd: int) -> None:
        if ".before-" in os.readlink(f"/proc/self/fd/{fd}"):
            raise KeyboardInterrupt
        fsync(fd)

    monkeypatch.setattr(convert.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        convert.encrypt_database(db, KEY)
    monkeypatch.setattr(convert.os, "fsync", fsync)
    assert cipher.file_state(db) == "encrypted"
    assert [p.name for p in tmp_path.iterdir() if ".before-" in p.name] == []
    listed = run("list", db=str(db), env={**PLAIN_ENV, cipher.KEY_ENV: KEY})
    assert listed.returncode == 0 and SECRET_MRN in listed.stdout


def test_a_damaged_first_page_of_an_encrypted_database_says_a_way_to_restore_that_works(tmp_path: Path) -> None:
    """SQLCipher cannot tell damage from a wrong passphrase; the message's way out must not be a dead end."""
    db = _clinic(tmp_path)
    env = {**PLAIN_ENV, cipher.KEY_ENV: KEY}
    backup = tmp_path / "backup.sqlite3"
    assert run("backup", str(backup), db=db, env=env).returncode == 0
    with open(db, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\xff\xff\xff\xff")
    refused = run("restore", str(backup), db=db, env=env)
    assert refused.returncode == 4 and "Traceback" not in refused.stderr
    assert "move it aside" in refused.stderr, refused.stderr
    Path(db).rename(tmp_path / "damaged.sqlite3")
    restored = run("restore", str(backup), db=db, env=env)
    assert restored.returncode == 0, restored.stderr
    assert SECRET_MRN in run("list", db=db, env=env).stdout


def test_a_folder_given_as_the_database_is_a_usage_error(tmp_path: Path) -> None:
    folder = tmp_path / "cases"
    folder.mkdir()
    for env in (PLAIN_ENV, {**PLAIN_ENV, cipher.KEY_ENV: KEY}):
        result = run("init", db=str(folder), env=env)
        assert result.returncode == 2 and "--db" in result.stderr and "folder" in result.stderr, result.stderr
        assert list(folder.iterdir()) == []


def test_an_encrypted_backup_restored_into_a_plain_database_says_the_cases_are_plain_now(tmp_path: Path) -> None:
    """The restored content takes the live database's (lack of) passphrase: never silently."""
    (tmp_path / "a").mkdir()
    encrypted = _clinic(tmp_path / "a")
    env = {**PLAIN_ENV, cipher.KEY_ENV: KEY}
    backup = tmp_path / "backup.sqlite3"
    assert run("backup", str(backup), db=encrypted, env=env).returncode == 0
    (tmp_path / "b").mkdir()
    plain = _clinic(tmp_path / "b", key=None)
    restored = run("restore", str(backup), db=plain, env={**PLAIN_ENV, cipher.BACKUP_KEY_ENV: KEY})
    assert restored.returncode == 0, restored.stderr
    assert cipher.file_state(Path(plain)) == "plain"
    assert "is not encrypted" in restored.stderr and "caselog encrypt" in restored.stderr, restored.stderr


def test_an_unexpected_database_error_keeps_the_patient_data_out_of_the_crash_log(tmp_path: Path) -> None:
    """The command line writes an unexpected error's traceback to DATA/logs, in plain text beside an encrypted
    database: SQLAlchemy's messages must not carry the statement's values (names, MRNs) there."""
    path = tmp_path / "clinic.sqlite3"
    cipher.remember(path, KEY)
    db = open_database(path)
    try:
        with pytest.raises(Exception) as caught, db.write() as session:
            session.execute(text("INSERT INTO patients (mrn) VALUES (:mrn)"), {"mrn": SECRET_MRN})
    finally:
        db.close()
    logged = "".join(traceback.format_exception(caught.value))
    assert "INSERT INTO patients" in logged and SECRET_MRN not in logged, logged


def test_a_plain_backup_restored_onto_a_new_workstation_with_a_key_is_encrypted(tmp_path: Path) -> None:
    """A new database is encrypted whenever a passphrase is known: a restore that creates it is no exception."""
    (tmp_path / "old").mkdir()
    plain = _clinic(tmp_path / "old", key=None)
    backup = tmp_path / "backup.sqlite3"
    assert run("backup", str(backup), db=plain, env=PLAIN_ENV).returncode == 0
    (tmp_path / "new").mkdir()
    fresh = tmp_path / "new" / "clinic.sqlite3"
    env = {**PLAIN_ENV, cipher.KEY_ENV: KEY}
    restored = run("restore", str(backup), db=str(fresh), env=env)
    assert restored.returncode == 0, restored.stderr
    assert cipher.file_state(fresh) == "encrypted" and _readable_in(fresh) == []
    assert SECRET_MRN in run("list", db=str(fresh), env=env).stdout
