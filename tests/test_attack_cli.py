"""What an attacker or a careless user tried through the real command line, after the issue-10 fixes were merged.

Each test is one attempt that once got through; it runs `caselog` as a subprocess, as a person would.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest

from caselog import audit
from caselog.db.schema import copy_sqlite
from tests.factories import case_file, make_case
from tests.helpers.raw import raw_connect
from tests.test_cli import run, write

PASSWORD = "correct horse battery"


def _as(user: str) -> dict[str, str]:
    return {"CASELOG_USER": user, "CASELOG_PASSWORD": PASSWORD}


def _clinic(tmp_path: Path) -> str:
    """A database with an administrator and a surgeon who imported one case."""
    db = str(tmp_path / "clinic.sqlite3")
    assert run("init", db=db).returncode == 0
    new = {"CASELOG_NEW_PASSWORD": PASSWORD}
    assert run("user", "add", "admin", "--role", "admin", "--full-name", "Ada Admin", db=db, env=new).returncode == 0
    added = run("user", "add", "sue", "--role", "surgeon", "--full-name", "Sue Surgeon", db=db,
                env={**new, **_as("admin")})  # fmt: skip
    assert added.returncode == 0, added.stderr
    source = write(tmp_path / "in.json", case_file(make_case(surgeon="Sue Surgeon")))
    assert run("import", source, db=db, env=_as("sue")).returncode == 0
    return db


def test_a_dropped_audit_table_is_an_altered_trail_for_a_signed_in_user_too(tmp_path: Path) -> None:
    """Signing in writes to the trail first; a dropped audit table must still read as altered (6), not as 1."""
    db = _clinic(tmp_path)
    for table in ("audit_log", "audit_head"):
        copy = str(tmp_path / f"without-{table}.sqlite3")
        copy_sqlite(Path(db), Path(copy))
        with raw_connect(copy) as con:
            con.execute(f"DROP TABLE {table}")
        for command in (["audit", "verify"], ["list"]):
            result = run(*command, db=copy, env=_as("admin" if command[0] == "audit" else "sue"))
            assert result.returncode == 6, (table, command, result.stderr)
            assert f"table {table}" in result.stderr and "unexpected error" not in result.stderr


@pytest.mark.parametrize(
    "hidden",
    ["\u200e", "\u200f", "\u061c", "\u00ad", "\u3164", "\U000e0041", "\uffff", "\u2028", "\u2062", "\u034f"],
)
def test_names_with_an_invisible_mark_are_refused(tmp_path: Path, hidden: str) -> None:
    """A direction mark, soft hyphen, filler or tag makes 'Smith' another patient who looks the same."""
    db = str(tmp_path / "log.sqlite3")
    case = make_case()
    case["patient"]["family_name"] = f"Sm{hidden}ith"
    result = run("import", write(tmp_path / "in.json", case_file(case)), db=db)
    assert result.returncode == 2, result.stdout
    assert f"cases[0].patient.family_name: contains an invisible character (U+{ord(hidden):04X})" in result.stderr


def test_a_number_too_long_for_python_is_told_in_plain_words(tmp_path: Path) -> None:
    """Python's own limit message ('use sys.set_int_max_str_digits()') is not for a clinic's eyes."""
    text = json.dumps(case_file(make_case())).replace('"nrs_back": 8', '"nrs_back": 1' + "0" * 5000)
    source = tmp_path / "in.json"
    source.write_text(text, encoding="utf-8")
    result = run("import", str(source), db=str(tmp_path / "log.sqlite3"))
    assert result.returncode == 2
    assert result.stderr.strip() == f"{source}: holds a number thousands of digits long; no field takes one"


def test_an_export_or_pdf_the_trail_cannot_record_is_not_left_behind(tmp_path: Path) -> None:
    """Without the seal key no audit entry can be written: the file of patient data must not stay either."""
    db = str(tmp_path / "log.sqlite3")
    source = write(tmp_path / "in.json", case_file(make_case()))
    sealed = run("import", source, db=db, env={"CASELOG_AUDIT_KEY_FILE": str(tmp_path / "clinic.key")})
    assert sealed.returncode == 0, sealed.stderr
    no_key = {"CASELOG_AUDIT_KEY_FILE": str(tmp_path / "not-here.key")}  # a workstation without the key
    attempts = {
        "x.csv": ["export", "--format", "csv"],
        "x.xlsx": ["export", "--format", "xlsx"],
        "x.json": ["export"],
        "s.pdf": ["summary", "2025-00001"],
        "c.pdf": ["report", "complications"],
        "l.pdf": ["report", "surgeon-log", "--surgeon", "Dr. Amara Okafor"],
    }
    for name, command in attempts.items():
        result = run(*command, "--output", str(tmp_path / name), db=db, env=no_key)
        assert result.returncode == 1 and "key this workstation does not have" in result.stderr, result.stderr
        assert not (tmp_path / name).exists(), name
    to_terminal = run("export", db=db, env=no_key)  # JSON to standard output: nothing printed, then refused
    assert to_terminal.returncode == 1 and to_terminal.stdout == "", to_terminal.stdout[:200]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("log.sqlite3")) == [
        "clinic.key",
        "home",
        "in.json",
    ]


def test_an_output_that_is_a_pipe_is_refused_not_replaced(tmp_path: Path) -> None:
    """The rename would put patient data in place of a pipe or device (run as root: /dev/full became a file)."""
    db = str(tmp_path / "log.sqlite3")
    assert run("import", write(tmp_path / "in.json", case_file(make_case())), db=db).returncode == 0
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    for command in (
        ["export", "--output", str(pipe)],
        ["export", "--format", "xlsx", "--output", str(pipe)],
        ["summary", "2025-00001", "--output", str(pipe)],
        ["report", "complications", "--output", str(pipe)],
        ["backup", str(pipe)],
    ):
        result = run(*command, db=db)
        assert result.returncode == 2 and "is not a regular file" in result.stderr, (command, result.stderr)
        assert stat.S_ISFIFO(pipe.lstat().st_mode), command


def test_a_trail_whose_seals_were_stripped_is_not_called_sealed(tmp_path: Path) -> None:
    """Without the key, an attacker can strip every seal, rewrite an entry and recompute the plain chain; the
    next write reseals from there on. A workstation with the key but no checkpoint cannot tell this from an
    old database, but it must not say 'sealed' of entries no seal covers."""
    db = _clinic(tmp_path)
    with raw_connect(db) as con:
        con.execute("DROP TRIGGER audit_log_no_update")
        con.execute("UPDATE audit_log SET reason = 'forged' WHERE action = 'import'")
        previous = audit.GENESIS
        rows = con.execute("SELECT id, occurred_at, username, action, record_type, record_id, details, reason "
                           "FROM audit_log ORDER BY id").fetchall()  # fmt: skip
        for entry_id, occurred_at, *rest in rows:
            canonical = audit._canonical(entry_id, dt.datetime.fromisoformat(occurred_at), *rest)
            digest = audit.entry_hash(previous, canonical)
            con.execute("UPDATE audit_log SET previous_hash = ?, entry_hash = ?, seal = NULL WHERE id = ?",
                        (previous, digest, entry_id))  # fmt: skip
            previous = digest
        con.execute("UPDATE audit_head SET last_id = ?, last_hash = ?, key_id = NULL, seal = NULL, sealed_from = ?",
                    (len(rows), previous, len(rows) + 1))  # fmt: skip
    other_workstation = {**_as("admin"), "CASELOG_HOME": str(tmp_path / "other-workstation")}
    result = run("audit", "verify", db=db, env=other_workstation)
    assert result.returncode == 0, result.stderr
    assert f"entries 1-{len(rows)} were written before CaseLog sealed its trail" in result.stdout
    assert ", sealed, and" not in result.stdout
    # The workstation that saw the sealed trail finds the rewrite.
    assert run("audit", "verify", db=db, env=_as("admin")).returncode == 6


def test_an_account_deleted_directly_in_the_database_is_found(tmp_path: Path) -> None:
    """Accounts are disabled, never deleted; a row removed behind CaseLog's back must show in the replay."""
    db = _clinic(tmp_path)
    with raw_connect(db) as con:
        con.execute("DELETE FROM accounts WHERE username = 'sue'")
    result = run("audit", "verify", db=db, env=_as("admin"))
    assert result.returncode == 6 and "account sue was removed" in result.stderr, result.stdout + result.stderr


def test_a_password_built_from_the_user_name_is_refused(tmp_path: Path) -> None:
    """'adminadminadmin' is twelve characters and in no list, but it is what an attacker tries first."""
    db = str(tmp_path / "log.sqlite3")
    refused = run("user", "add", "admin", "--role", "admin", db=db, env={"CASELOG_NEW_PASSWORD": "adminadminadmin"})
    assert refused.returncode == 2 and refused.stderr.startswith("password: holds the user name"), refused.stderr
    db = _clinic(tmp_path)
    reset = run("user", "reset-password", "sue", db=db, env={**_as("admin"), "CASELOG_NEW_PASSWORD": "Sue-2025-sue!"})
    assert reset.returncode == 2 and "holds the user name" in reset.stderr
    changed = run("user", "passwd", db=db, env={**_as("sue"), "CASELOG_NEW_PASSWORD": "my name is SUE ok"})
    assert changed.returncode == 2 and "holds the user name" in changed.stderr
