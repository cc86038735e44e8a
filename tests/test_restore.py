"""`caselog restore` refuses anything but a complete CaseLog database, leaving the live one byte for byte as it
was; works on a fresh workstation; and never hands out a case number twice."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from caselog.accounts import AccountService, Actor
from caselog.db.schema import open_database
from caselog.service import CaseService
from tests.factories import TODAY, case_file, make_case, simple_case
from tests.helpers.cli import run_cli
from tests.helpers.raw import raw_connect
from tests.helpers.reliability import caselog, digest, env, exported_cases, sqlite_facts
from tests.test_cli_accounts import PASSWORD


def _cases(db: Path, *mrns: str) -> None:
    database = open_database(db)
    try:
        cases = [simple_case("2025-02-03", patient={**make_case()["patient"], "mrn": mrn}) for mrn in mrns]
        service = CaseService(database, today=lambda: TODAY)
        service.import_cases(case_file(*cases))
    finally:
        database.close()


def _accounts(db: Path) -> None:
    database = open_database(db)
    try:
        AccountService(database).add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
        AccountService(database, Actor("boss", "Clinic Admin", "admin")).add_account(
            "cole", role="coordinator", full_name="Cole Mendez", password=PASSWORD
        )
    finally:
        database.close()


def _as(user: str, *args: str, db: Path) -> subprocess.CompletedProcess[str]:
    """`caselog` signed in as `user` (in this process; the fresh workstations below start real ones)."""
    return run_cli(*args, db=str(db), env={"CASELOG_USER": user, "CASELOG_PASSWORD": PASSWORD})


def _without_triggers(path: Path, *statements: str) -> None:
    """Edit a copy the way an attacker with the file would: drop the audit triggers first."""
    with raw_connect(path) as conn:
        conn.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        conn.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
        for sql in statements:
            conn.execute(sql)
    conn.close()


@pytest.fixture
def clinic(tmp_path: Path, sqlite_template: Path) -> tuple[Path, Path, Path]:
    """(live database with accounts, its backup, a backup made before accounts existed)."""
    live = tmp_path / "clinic" / "caselog.sqlite3"
    live.parent.mkdir()
    shutil.copy(sqlite_template, live)
    _cases(live, "A-1", "A-2")
    before_accounts = tmp_path / "before-accounts.sqlite3"
    assert caselog("backup", str(before_accounts), db=str(live)).returncode == 0
    _accounts(live)
    backup = tmp_path / "backup.sqlite3"
    assert _as("boss", "backup", str(backup), db=live).returncode == 0
    return live, backup, before_accounts


def _not_sqlite(tmp: Path, backup: Path, _: Path) -> Path:
    path = tmp / "notes.sqlite3"
    path.write_text("Patient list, do not share\n", encoding="utf-8")
    return path


def _newer_schema(tmp: Path, backup: Path, _: Path) -> Path:
    path = shutil.copy(backup, tmp / "newer.sqlite3")
    with raw_connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'ffff9999'")
    conn.close()
    return Path(path)


def _no_audit_tables(tmp: Path, backup: Path, _: Path) -> Path:
    path = Path(shutil.copy(backup, tmp / "no-audit.sqlite3"))
    _without_triggers(path, "DROP TABLE audit_log", "DROP TABLE audit_head")
    return path


def _altered_chain(tmp: Path, backup: Path, _: Path) -> Path:
    path = Path(shutil.copy(backup, tmp / "altered.sqlite3"))
    _without_triggers(path, "UPDATE audit_log SET username = 'nobody' WHERE id = 2")
    return path


def _emptied_trail(tmp: Path, backup: Path, _: Path) -> Path:
    path = Path(shutil.copy(backup, tmp / "emptied.sqlite3"))
    _without_triggers(path, "DELETE FROM audit_log", "DELETE FROM audit_head")
    return path


def _no_accounts(tmp: Path, backup: Path, before_accounts: Path) -> Path:
    return before_accounts


CANDIDATES: dict[str, tuple[Callable[[Path, Path, Path], Path], str]] = {
    "not SQLite": (_not_sqlite, "cannot be read as a database"),
    "unknown schema": (_newer_schema, "schema ffff9999 is unknown"),
    "no audit tables": (_no_audit_tables, "missing tables audit_log, audit_head"),
    "altered audit chain": (_altered_chain, "altered audit trail: entry 2 was altered"),
    # The sealed head goes with the entries, so the trail is found altered before it is found empty.
    "emptied audit trail": (_emptied_trail, "altered audit trail: the audit trail's head"),
    "no accounts": (_no_accounts, "has no accounts, but the database it would replace has"),
}


@pytest.mark.parametrize("kind", list(CANDIDATES))
def test_an_incomplete_database_is_refused_and_the_live_one_left_untouched(
    clinic: tuple[Path, Path, Path], tmp_path: Path, kind: str
) -> None:
    """Today such a file replaced the live database, and every command failed afterwards."""
    live, backup, before_accounts = clinic
    make, expected = CANDIDATES[kind]
    candidate = make(tmp_path, backup, before_accounts)
    before = digest(live)
    result = _as("boss", "restore", str(candidate), db=live)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"FILE: {candidate}") and expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert digest(live) == before
    assert {p.name for p in live.parent.iterdir()} <= {live.name, f"{live.name}-wal", f"{live.name}-shm"}
    assert _as("cole", "list", db=live).stdout.rstrip().endswith("2 cases")


def test_only_an_administrator_may_restore(clinic: tuple[Path, Path, Path]) -> None:
    live, backup, _ = clinic
    refused = _as("cole", "restore", str(backup), db=live)
    assert refused.returncode == 4 and "may not" in refused.stderr
    assert not list(live.parent.glob("*.before-restore-*"))


def test_restore_on_a_fresh_workstation(tmp_path: Path, sqlite_template: Path) -> None:
    """Last night's backup onto a new computer: no data folder, no database yet."""
    office = tmp_path / "office.sqlite3"
    shutil.copy(sqlite_template, office)
    _cases(office, "F-1", "F-2", "F-3")
    _accounts(office)
    backup = tmp_path / "nightly.sqlite3"
    assert _as("boss", "backup", str(backup), db=office).returncode == 0
    home = tmp_path / "new-workstation" / "CaseLog"
    cmd = [sys.executable, "-m", "caselog", "restore", str(backup)]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env(CASELOG_HOME=str(home)), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "Restored 3 cases" in result.stdout and "kept as" not in result.stdout
    restored = home / "caselog.sqlite3"
    assert stat.S_IMODE(restored.stat().st_mode) == 0o600
    listing = subprocess.run(
        [sys.executable, "-m", "caselog", "list"], capture_output=True, text=True, timeout=300,
        env=env(CASELOG_HOME=str(home), CASELOG_USER="cole", CASELOG_PASSWORD=PASSWORD),
    )  # fmt: skip
    assert listing.returncode == 0 and listing.stdout.rstrip().endswith("3 cases"), listing.stderr
    verified = subprocess.run(
        [sys.executable, "-m", "caselog", "audit", "verify"], capture_output=True, text=True, timeout=300,
        env=env(CASELOG_HOME=str(home), CASELOG_USER="boss", CASELOG_PASSWORD=PASSWORD),
    )  # fmt: skip
    assert verified.returncode == 0, verified.stderr


def test_case_numbers_used_before_the_restore_are_never_handed_out_again(tmp_path: Path, sqlite_template: Path) -> None:
    """Cases saved after the backup live on in the safety copy (and on printed summaries): their numbers stay theirs."""
    live = tmp_path / "caselog.sqlite3"
    shutil.copy(sqlite_template, live)
    _cases(live, "N-1")
    backup = tmp_path / "backup.sqlite3"
    assert caselog("backup", str(backup), db=str(live)).returncode == 0
    _cases(live, "N-2", "N-3")  # 2025-00002 and 2025-00003, after the backup
    result = caselog("restore", str(backup), db=str(live))
    assert result.returncode == 0, result.stderr
    assert "continue after 2025-00003" in result.stdout
    [safety] = tmp_path.glob("caselog.sqlite3.before-restore-*")
    assert stat.S_IMODE(safety.stat().st_mode) == 0o600
    assert sqlite_facts(safety)["numbers"] == ["2025-00001", "2025-00002", "2025-00003"]
    _cases(live, "N-4")
    assert sqlite_facts(live)["numbers"] == ["2025-00001", "2025-00004"]
    assert [c["patient"]["mrn"] for c in exported_cases(str(live))] == ["N-1", "N-4"]
    trail = caselog("audit", db=str(live)).stdout
    assert "restore" in trail and "numbering_continues_after" in trail
    assert caselog("audit", "verify", db=str(live)).returncode == 0


def test_restore_on_a_fresh_workstation_without_the_audit_key(tmp_path: Path, sqlite_template: Path) -> None:
    """The old computer held the seal key: the new one is told to bring it, then restores with it."""
    office = tmp_path / "office.sqlite3"
    shutil.copy(sqlite_template, office)
    _cases(office, "K-1", "K-2")
    _accounts(office)
    backup, key = tmp_path / "nightly.sqlite3", tmp_path / "clinic.key"
    assert _as("boss", "backup", str(backup), db=office).returncode == 0
    assert _as("boss", "audit", "key", "export", str(key), db=office).returncode == 0
    home = tmp_path / "new-workstation" / "CaseLog"
    fresh: dict[str, str | None] = {"CASELOG_HOME": str(home), "CASELOG_AUDIT_KEY_FILE": None}

    def run(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        """`caselog` on the new workstation (in this process: the one above starts real processes)."""
        return run_cli(*args, env={**fresh, **extra})

    refused = run("restore", str(backup))
    assert refused.returncode == 2, refused.stderr
    assert "sealed with a key this workstation does not have" in refused.stderr and "--audit-key" in refused.stderr
    assert "None" not in refused.stderr and not (home / "caselog.sqlite3").exists()
    wrong = tmp_path / "wrong.key"
    wrong.write_text(f"caselog-audit-key-1 {'ab' * 32}\n", encoding="ascii")
    assert run("restore", str(backup), "--audit-key", str(wrong)).returncode == 2
    restored = run("restore", str(backup), "--audit-key", str(key))
    assert restored.returncode == 0, restored.stderr
    listing = run("list", CASELOG_USER="cole", CASELOG_PASSWORD=PASSWORD)
    assert listing.returncode == 0 and listing.stdout.rstrip().endswith("2 cases"), listing.stderr
    verified = run("audit", "verify", CASELOG_USER="boss", CASELOG_PASSWORD=PASSWORD)
    assert verified.returncode == 0, verified.stderr
