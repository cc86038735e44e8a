"""Accounts, signing and the audit trail from the command line: exit statuses, messages, entries."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from caselog.accounts import AccountService, Actor
from caselog.db.schema import open_database
from caselog.service import CaseService
from tests.factories import TODAY, case_file, make_case
from tests.test_cli import run, write

PASSWORD = "correct horse battery"


def as_user(name: str | None, password: str = PASSWORD, **extra: str) -> dict[str, str]:
    env = {"CASELOG_PASSWORD": password, **extra}
    if name:
        env["CASELOG_USER"] = name
    return env


@pytest.fixture
def protected(db_target: str) -> str:
    """Two surgeons' cases, then accounts: set up in-process (the commands under test run as subprocesses)."""
    db = open_database(db_target)
    CaseService(db, today=lambda: TODAY).import_cases(
        case_file(make_case(surgeon="Dr. Amara Okafor"), make_case(surgeon="Dr. Priya Raman"))
    )
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
    admin = AccountService(db, Actor("boss", "Clinic Admin", "admin"))
    for name, role, full in [("okafor", "surgeon", "Dr. Amara Okafor"), ("cole", "coordinator", "Cole Mendez"),
                             ("quinn", "quality", "Quinn Avery")]:  # fmt: skip
        admin.add_account(name, role=role, full_name=full, password=PASSWORD)
    db.close()
    return db_target


def test_user_add_from_the_command_line(db_target: str) -> None:
    new = {"CASELOG_NEW_PASSWORD": PASSWORD}
    first = run("user", "add", "okafor", "--role", "surgeon", db=db_target, env=new)
    assert first.returncode == 2 and "first account must be an administrator" in first.stderr
    assert run("user", "add", "boss", "--role", "admin", db=db_target, env=new).returncode == 0
    needs_admin = run("user", "add", "eve", "--role", "admin", db=db_target, env={**new, **as_user("nobody")})
    assert needs_admin.returncode == 4
    added = run("user", "add", "okafor", "--role", "surgeon", "--full-name", "Dr. Amara Okafor", db=db_target,
                env={**new, **as_user("boss")})  # fmt: skip
    assert added.returncode == 0 and "Dr. Amara Okafor, Surgeon" in added.stdout
    listing = run("user", "list", db=db_target, env=as_user("boss")).stdout
    assert "okafor" in listing and PASSWORD not in listing and "argon2" not in listing


def test_every_command_needs_a_signed_in_account(protected: str) -> None:
    result = run("list", db=protected)
    assert result.returncode == 4 and "sign in with --user" in result.stderr
    wrong = run("list", db=protected, env=as_user("okafor", "guess"))
    assert wrong.returncode == 4 and "wrong password" in wrong.stderr
    assert run("list", "--user", "okafor", db=protected, env={"CASELOG_PASSWORD": PASSWORD}).returncode == 0


@pytest.mark.parametrize(
    ("user", "args", "allowed"),
    [
        ("okafor", ["sign", "2025-00001"], True),
        ("okafor", ["sign", "2025-00002"], False),  # another surgeon's case
        ("cole", ["sign", "2025-00001"], False),
        ("quinn", ["delete", "2025-00001", "--reason", "x"], False),
        ("cole", ["delete", "2025-00002", "--reason", "entered twice"], True),
        ("boss", ["show", "2025-00001"], False),
        ("quinn", ["show", "2025-00001"], True),
        ("okafor", ["user", "list"], False),
        ("boss", ["user", "list"], True),
        ("cole", ["audit", "2025-00001"], False),
        ("okafor", ["audit", "2025-00001"], True),
        ("okafor", ["audit", "2025-00002"], False),
        ("quinn", ["audit"], True),
        ("cole", ["backup", "BACKUP"], False),
        ("boss", ["backup", "BACKUP"], True),
    ],
)
def test_roles_through_the_cli(protected: str, tmp_path: Path, user: str, args: list[str], allowed: bool) -> None:
    args = [str(tmp_path / "backup.sqlite3") if a == "BACKUP" else a for a in args]
    if "backup" in args and not protected.endswith(".sqlite3"):
        pytest.skip("backup is for SQLite files")
    result = run(*args, db=protected, env=as_user(user))
    assert result.returncode == (0 if allowed else 4), result.stderr
    if not allowed:
        assert "may not" in result.stderr and "Traceback" not in result.stderr
        trail = run("audit", db=protected, env=as_user("quinn")).stdout
        assert f"{user:<16}  refused" in trail


def test_sign_then_amend_with_reason_and_history(protected: str, tmp_path: Path) -> None:
    surgeon = as_user("okafor")
    signed = run("sign", "2025-00001", db=protected, env=surgeon)
    assert signed.returncode == 0 and "Signed 2025-00001 as Dr. Amara Okafor" in signed.stdout
    again = run("sign", "2025-00001", db=protected, env=surgeon)
    assert again.returncode == 5 and "already signed" in again.stderr
    change = write(tmp_path / "c.json", case_file(make_case(surgeon="Dr. Amara Okafor", notes="Corrected")))
    assert run("update", "2025-00001", change, db=protected, env=surgeon).returncode == 2
    assert run("update", "2025-00001", change, "--reason", "note", db=protected, env=as_user("cole")).returncode == 4
    assert run("update", "2025-00001", change, "--reason", "Wrong note", db=protected, env=surgeon).returncode == 0
    history = run("audit", "2025-00001", db=protected, env=surgeon).stdout
    assert "amend" in history and "reason: Wrong note" in history and "notes: Tolerated well. -> Corrected" in history


def test_disable_and_lockout(protected: str) -> None:
    assert run("user", "disable", "cole", db=protected, env=as_user("boss")).returncode == 0
    result = run("list", db=protected, env=as_user("cole"))
    assert result.returncode == 4 and "disabled" in result.stderr
    for _ in range(5):
        run("list", db=protected, env=as_user("quinn", "guess"))
    locked = run("list", db=protected, env=as_user("quinn"))
    assert locked.returncode == 4 and "locked" in locked.stderr


def test_audit_verify_finds_tampering(protected: str) -> None:
    ok = run("audit", "verify", db=protected, env=as_user("quinn"))
    assert ok.returncode == 0 and "chain intact" in ok.stdout
    if not protected.endswith(".sqlite3"):
        return
    import sqlite3

    with sqlite3.connect(protected) as conn:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("UPDATE audit_log SET username = 'nobody' WHERE id = 3")
    altered = run("audit", "verify", db=protected, env=as_user("quinn"))
    assert altered.returncode == 6 and "entry 3 was altered" in altered.stderr


def test_prints_and_exports_are_audited(protected: str, tmp_path: Path) -> None:
    env = as_user("cole")
    assert run("summary", "2025-00001", "--output", str(tmp_path / "s.pdf"), db=protected, env=env).returncode == 0
    assert run("export", "--format", "csv", "--output", str(tmp_path / "x.csv"), db=protected, env=env).returncode == 0
    trail = run("audit", db=protected, env=as_user("quinn")).stdout
    assert re.search(r"cole\s+print\s+case 2025-00001", trail)
    assert re.search(r"cole\s+export\s+export", trail) and "format: csv" in trail


# ---- the contract's roles table, every cell, through the command line --------------------------------------

ROLE_USERS = {"surgeon": "okafor", "coordinator": "cole", "quality": "quinn", "admin": "boss"}


def _signed_case_file(tmp_path: Path, **extra: Any) -> str:
    case = make_case(surgeon="Dr. Amara Okafor", status="final")
    for key, value in extra.items():
        if key == "outcome":
            case["outcomes"] = [*case["outcomes"], value]
        elif key == "review":
            case["complications"][0]["review_status"] = value
        else:
            case[key] = value
    return write(tmp_path / f"signed-{'-'.join(extra)}.json", case_file(case))


CELLS: dict[str, tuple[Callable[[Path], list[str]], set[str]]] = {
    "view": (lambda p: ["show", "2025-00001"], {"surgeon", "coordinator", "quality"}),
    "print": (lambda p: ["summary", "2025-00001", "--output", str(p / "s.pdf")], {"surgeon", "coordinator", "quality"}),
    "export": (lambda p: ["export", "--format", "csv", "--output", str(p / "x.csv")],
               {"surgeon", "coordinator", "quality"}),
    "edit draft": (lambda p: ["update", "2025-00002", write(p / "d.json", case_file(make_case(
        surgeon="Dr. Priya Raman", notes="edited")))], {"surgeon", "coordinator"}),
    "delete draft": (lambda p: ["delete", "2025-00002", "--reason", "entered twice"], {"surgeon", "coordinator"}),
    "sign own": (lambda p: ["sign", "2025-00001"], {"surgeon"}),
    "amend own": (lambda p: ["update", "2025-00003", _signed_case_file(p, notes="corrected"), "--reason", "typo"],
                  {"surgeon"}),
    "addendum": (lambda p: ["update", "2025-00003", _signed_case_file(
        p, outcome={"timepoint": "3m", "date": "2025-06-14", "nrs_back": 1})], {"surgeon", "coordinator", "quality"}),
    "review": (lambda p: ["update", "2025-00003", _signed_case_file(p, review="closed")], {"quality"}),
    "read audit": (lambda p: ["audit", "2025-00003"], {"surgeon", "quality", "admin"}),
    "accounts": (lambda p: ["user", "list"], {"admin"}),
}  # fmt: skip


@pytest.fixture
def clinic_with_signed_case(protected: str) -> str:
    db = open_database(protected)
    AccountService(db).sign_in("okafor", PASSWORD)
    CaseService(db, actor=Actor("okafor", "Dr. Amara Okafor", "surgeon"), today=lambda: TODAY).import_cases(
        case_file(make_case(surgeon="Dr. Amara Okafor", status="final"))
    )
    db.close()
    return protected


@pytest.mark.parametrize("role", list(ROLE_USERS))
@pytest.mark.parametrize("cell", list(CELLS))
def test_every_cell_of_the_roles_table(clinic_with_signed_case: str, tmp_path: Path, cell: str, role: str) -> None:
    args, allowed = CELLS[cell]
    user = ROLE_USERS[role]
    result = run(*args(tmp_path), db=clinic_with_signed_case, env=as_user(user))
    if role in allowed:
        assert result.returncode == 0, result.stderr
        return
    assert result.returncode == 4, result.stderr
    assert "may not" in result.stderr and "Traceback" not in result.stderr
    trail = run("audit", db=clinic_with_signed_case, env=as_user("quinn")).stdout
    assert re.search(rf"{user}\s+refused", trail)
