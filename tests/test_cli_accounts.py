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
from tests.factories import POLICY_REASON, TODAY, case_file, make_case
from tests.helpers.raw import raw_connect
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
        case_file(
            make_case(surgeon="Dr. Amara Okafor", outside_policy_reason=POLICY_REASON),
            make_case(surgeon="Dr. Priya Raman"),
        )
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
    assert wrong.returncode == 4 and "Sign-in refused" in wrong.stderr
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
    change = write(
        tmp_path / "c.json",
        case_file(make_case(surgeon="Dr. Amara Okafor", notes="Corrected", outside_policy_reason=POLICY_REASON)),
    )
    assert run("update", "2025-00001", change, db=protected, env=surgeon).returncode == 2
    assert run("update", "2025-00001", change, "--reason", "note", db=protected, env=as_user("cole")).returncode == 4
    assert run("update", "2025-00001", change, "--reason", "Wrong note", db=protected, env=surgeon).returncode == 0
    history = run("audit", "2025-00001", db=protected, env=surgeon).stdout
    assert "amend" in history and "reason: Wrong note" in history and "notes: Tolerated well. -> Corrected" in history


def test_disable_and_lockout_answer_like_a_wrong_password(protected: str) -> None:
    assert run("user", "disable", "cole", db=protected, env=as_user("boss")).returncode == 0
    disabled = run("list", db=protected, env=as_user("cole"))
    for _ in range(5):
        run("list", db=protected, env=as_user("quinn", "guess"))
    locked = run("list", db=protected, env=as_user("quinn"))
    unknown = run("list", db=protected, env=as_user("nobody"))
    wrong = run("list", db=protected, env=as_user("okafor", "not the password"))
    assert {r.returncode for r in (disabled, locked, unknown, wrong)} == {4}
    assert disabled.stderr == locked.stderr == unknown.stderr == wrong.stderr
    assert "Sign-in refused" in wrong.stderr and "cole" not in disabled.stderr
    trail = run("audit", db=protected, env=as_user("boss")).stdout
    for reason in ("account disabled", "account locked", "unknown user", "wrong password"):
        assert f"outcome: {reason}" in trail


def test_audit_verify_finds_tampering(protected: str) -> None:
    ok = run("audit", "verify", db=protected, env=as_user("quinn"))
    assert ok.returncode == 0 and "chain intact" in ok.stdout
    if not protected.endswith(".sqlite3"):
        return

    with raw_connect(protected) as conn:
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


# ---- account management: the last administrator, enable, role, password reset and change ------------------


def test_the_last_administrator_cannot_disable_itself_or_drop_its_role(protected: str) -> None:
    boss = as_user("boss")
    disabled = run("user", "disable", "boss", db=protected, env=boss)
    demoted = run("user", "role", "boss", "--role", "quality", db=protected, env=boss)
    for result in (disabled, demoted):
        assert result.returncode == 4 and "boss is the last active administrator" in result.stderr
    assert "active" in run("user", "list", db=protected, env=boss).stdout.splitlines()[1]
    trail = run("audit", db=protected, env=boss).stdout
    assert trail.count("refused") >= 2 and "attempted: account_role" in trail
    bad_role = run("user", "role", "cole", "--role", "chief", db=protected, env=boss)
    assert bad_role.returncode == 2 and "invalid choice" in bad_role.stderr
    assert run("user", "role", "cole", "--role", "quality", db=protected, env=boss).returncode == 0
    assert "role: coordinator -> quality" in run("audit", db=protected, env=boss).stdout


def test_enable_a_disabled_account(protected: str) -> None:
    boss = as_user("boss")
    assert run("user", "disable", "cole", db=protected, env=boss).returncode == 0
    enabled = run("user", "enable", "cole", db=protected, env=boss)
    assert enabled.returncode == 0 and "Enabled cole" in enabled.stdout
    assert run("list", db=protected, env=as_user("cole")).returncode == 0
    assert run("user", "enable", "nobody", db=protected, env=boss).returncode == 3
    assert run("user", "enable", "cole", db=protected, env=as_user("quinn")).returncode == 4
    assert "disabled: true -> false" in run("audit", db=protected, env=boss).stdout


def test_reset_password_forces_a_change_at_the_next_sign_in(protected: str) -> None:
    temporary, chosen = "temporary pass 4417", "lumbar facet season 7"
    reset = run("user", "reset-password", "okafor", db=protected,
                env={**as_user("boss"), "CASELOG_NEW_PASSWORD": temporary})  # fmt: skip
    assert reset.returncode == 0 and "must choose a new one" in reset.stdout
    assert "new password due" in run("user", "list", db=protected, env=as_user("boss")).stdout
    refused = run("list", db=protected, env=as_user("okafor", temporary))
    assert refused.returncode == 4 and "caselog user passwd" in refused.stderr and refused.stdout == ""
    weak = run("user", "passwd", db=protected, env={**as_user("okafor", temporary), "CASELOG_NEW_PASSWORD": "short"})
    assert weak.returncode == 2 and "password: needs at least 12 characters" in weak.stderr
    changed = run("user", "passwd", db=protected,
                  env={**as_user("okafor", temporary), "CASELOG_NEW_PASSWORD": chosen})  # fmt: skip
    assert changed.returncode == 0 and "Changed the password of okafor" in changed.stdout
    assert run("list", db=protected, env=as_user("okafor", temporary)).returncode == 4
    assert run("list", db=protected, env=as_user("okafor", chosen)).returncode == 0
    trail = run("audit", db=protected, env=as_user("boss")).stdout
    assert "account_password_reset" in trail and "must_change_password: false -> true" in trail
    assert "account_password_change" in trail and "attempted: list" in trail
    assert temporary not in trail and chosen not in trail and "argon2" not in trail


@pytest.mark.parametrize(
    ("password", "message"),
    [("eleven char", "password: needs at least 12 characters"), (" " * 15, "password: is empty or only spaces"),
     ("Password1234", "password: is one of the most common passwords")],
)  # fmt: skip
def test_weak_new_passwords_are_refused(protected: str, password: str, message: str) -> None:
    env = {**as_user("boss"), "CASELOG_NEW_PASSWORD": password}
    for args in (["user", "add", "newbie", "--role", "surgeon"], ["user", "reset-password", "okafor"]):
        result = run(*args, db=protected, env=env)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def test_an_administrator_reads_case_history_without_patient_identity(protected: str) -> None:
    admin = run("audit", "2025-00001", db=protected, env=as_user("boss"))
    assert admin.returncode == 0 and "patient.mrn: null -> (hidden)" in admin.stdout
    assert "case 2025-00001" in admin.stdout and "status: null -> draft" in admin.stdout
    everything = admin.stdout + run("audit", db=protected, env=as_user("boss")).stdout
    for identity in ("MRN-1001", "Nguyễn", "1961-04-12", "Tolerated well"):
        assert identity not in everything
    quality = run("audit", "2025-00001", db=protected, env=as_user("quinn")).stdout
    assert "patient.mrn: null -> MRN-1001" in quality and "Nguyễn" in quality
