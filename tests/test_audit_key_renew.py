"""A lost audit key is not the end of the log: an administrator renews it, visibly, over a verified trail.

A clinic's laptop dies; last night's backup goes onto a new one, whose data folder never held the key the
trail is sealed with, and nobody exported a copy. Without a way back, nothing could ever be written again.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from caselog import audit, audit_anchor
from caselog.accounts import AccountService
from caselog.db.schema import open_database
from caselog.errors import EXIT_AUDIT_ALTERED, EXIT_OK, EXIT_OTHER
from caselog.service import CaseService
from tests.factories import TODAY, case_file, make_case
from tests.test_audit import _without_triggers
from tests.test_audit_anchor import PASSWORD, cli

EXIT_INVALID, EXIT_NOT_PERMITTED = 2, 4


@pytest.fixture
def restored_elsewhere(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clinic database with accounts and a signed case, opened on a workstation that never held its key."""
    monkeypatch.delenv(audit_anchor.KEY_FILE_ENV)
    monkeypatch.setenv("CASELOG_HOME", str(tmp_path / "old-laptop"))
    path = tmp_path / "clinic.sqlite3"
    shutil.copy(sqlite_template, path)
    db = open_database(path)
    accounts = AccountService(db)
    accounts.add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
    admin = accounts.sign_in("boss", PASSWORD)
    AccountService(db, admin).add_account("cole", role="coordinator", full_name="Cole Mendez", password=PASSWORD)
    CaseService(db, actor=AccountService(db).sign_in("cole", PASSWORD), today=lambda: TODAY).import_cases(
        case_file(make_case())
    )
    db.close()
    monkeypatch.setenv("CASELOG_HOME", str(tmp_path / "new-laptop"))  # the old laptop and its key are gone
    return path


def _as(monkeypatch: pytest.MonkeyPatch, user: str, password: str = PASSWORD) -> None:
    monkeypatch.setenv("CASELOG_USER", user)
    monkeypatch.setenv("CASELOG_PASSWORD", password)


def test_an_administrator_renews_a_lost_key_and_the_log_works_again(
    restored_elsewhere: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db_arg = ("--db", str(restored_elsewhere))
    _as(monkeypatch, "cole")
    status, _, err = cli(capsys, *db_arg, "list")
    assert status == EXIT_OTHER and "sealed with a key this workstation does not have" in err

    status, _, err = cli(capsys, *db_arg, "audit", "key", "renew")
    assert status == EXIT_NOT_PERMITTED and "administrators only" in err
    _as(monkeypatch, "boss", "not the password at all")
    status, _, err = cli(capsys, *db_arg, "audit", "key", "renew")
    assert status == EXIT_NOT_PERMITTED

    _as(monkeypatch, "boss")
    status, out, err = cli(capsys, *db_arg, "audit", "key", "renew")
    assert status == EXIT_OK, err
    assert "with a new key from entry" in out and "audit key export" in out

    _as(monkeypatch, "cole")
    assert cli(capsys, *db_arg, "list")[0] == EXIT_OK
    _as(monkeypatch, "boss")
    status, out, err = cli(capsys, *db_arg, "audit", "verify")
    assert status == EXIT_OK, err
    db = open_database(restored_elsewhere)
    try:
        [renewal] = [e for e in audit.entries(db) if e.action == "audit_key_renewed"]
        assert renewal.username == "boss" and renewal.details["previous_key_id"] != renewal.details["key_id"]
        assert renewal.reason and "lost" in renewal.reason
    finally:
        db.close()

    status, _, err = cli(capsys, *db_arg, "audit", "key", "renew")
    assert status == EXIT_INVALID and "holds the audit key" in err


def test_no_renewal_over_an_altered_trail(
    restored_elsewhere: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new key must never launder a trail someone edited: the chain and the records are checked first."""
    db = open_database(restored_elsewhere)
    _without_triggers(db, "UPDATE cases SET notes = 'rewritten'")
    db.close()
    before = restored_elsewhere.read_bytes()
    _as(monkeypatch, "boss")
    status, _, err = cli(capsys, "--db", str(restored_elsewhere), "audit", "key", "renew")
    assert status == EXIT_AUDIT_ALTERED and "nothing was changed" in err
    assert restored_elsewhere.read_bytes() == before


def test_a_workstation_that_saw_the_old_key_reports_the_renewal(
    restored_elsewhere: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The old laptop comes back from repair: its checkpoint names the old key, so it reports the change."""
    _as(monkeypatch, "boss")
    assert cli(capsys, "--db", str(restored_elsewhere), "audit", "key", "renew")[0] == EXIT_OK
    monkeypatch.setenv("CASELOG_HOME", str(tmp_path / "old-laptop"))
    status, _, err = cli(capsys, "--db", str(restored_elsewhere), "audit", "verify")
    assert status in (EXIT_AUDIT_ALTERED, EXIT_OTHER) and "key" in err
