"""Encryption at rest under attack: odd passphrases, a second CaseLog during `caselog encrypt`, Ctrl-C at the
worst moment, a damaged encrypted file, a folder given as the database."""

from __future__ import annotations

from pathlib import Path

from caselog.db import cipher
from caselog.db.schema import open_database
from tests.test_cli import run
from tests.test_encryption import (  # the autouse fixture: each test says where its passphrase comes from
    PLAIN_ENV,
    _no_passphrase_around,  # noqa: F401
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
