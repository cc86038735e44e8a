"""An audit trail that proves something: sealed with a key kept outside the database, anchored by each
workstation's checkpoints, replayed against the cases and accounts, and reported as altered (exit 6)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from caselog import audit, audit_anchor
from caselog.accounts import AccountService, Actor
from caselog.cli import main
from caselog.db.engine import Database
from caselog.db.schema import copy_sqlite, open_database
from caselog.errors import EXIT_AUDIT_ALTERED, EXIT_OK, EXIT_OTHER
from caselog.service import CaseService
from tests.factories import TODAY, make_case, simple_case
from tests.helpers.raw import raw_connect
from tests.test_audit import _some_history, _without_triggers

ADMIN = Actor("boss", "Clinic Admin", "admin")
SURGEON = Actor("okafor", "Dr. Amara Okafor", "surgeon")
QUALITY = Actor("quinn", "Quinn Avery", "quality")
PASSWORD = "a long clinic passphrase"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`caselog ARGS` through the console script's main(), in this process."""
    status = main(list(args))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def _history(db: Database) -> CaseService:
    """Three cases, each created and signed: six entries."""
    return _some_history(db)


def _raw(db: Database, *statements: str) -> None:
    """What someone with write access to the database file or server can do: triggers first."""
    _without_triggers(db, *statements)


def _clinic_file(tmp_path: Path, template: Path) -> Path:
    """An SQLite file with six entries of history, closed."""
    live = tmp_path / "caselog.sqlite3"
    shutil.copy(template, live)
    db = open_database(live)
    _history(db)
    db.close()
    return live


def _another_workstation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str) -> Path:
    """A workstation that never saw the database (no checkpoint); the key stays the clinic's shared one."""
    home = tmp_path / name
    monkeypatch.setenv("CASELOG_HOME", str(home))
    return home


# ---- 1. keyed and anchored ------------------------------------------------------------------------------


def test_cutting_the_end_and_moving_the_head_back_is_found_even_where_nobody_saw_the_end(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Removing the last entries and pointing the head at the new last one needs the key (the head's seal)."""
    _history(db)
    assert audit.verify(db).ok
    with db.read() as session:
        kept = session.execute(text("SELECT entry_hash FROM audit_log WHERE id = 4")).scalar_one()
    _raw(db, "DELETE FROM audit_log WHERE id > 4", f"UPDATE audit_head SET last_id = 4, last_hash = '{kept}'")
    _another_workstation(monkeypatch, tmp_path, "elsewhere")
    result = audit.verify(db)
    assert result.altered and "removed from the end" in (result.problem or ""), result


def test_recomputing_the_whole_chain_without_the_key_is_found(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Dropping the triggers, changing an entry and recomputing every hash (as today's chain allows)."""
    _history(db)
    _raw(db, "UPDATE audit_log SET username = 'someone else' WHERE id = 2")
    with db.engine.begin() as conn:
        rows = conn.execute(text("SELECT * FROM audit_log ORDER BY id")).mappings().all()
        previous = audit.GENESIS
        for row in rows:
            when = row["occurred_at"]
            when = dt.datetime.fromisoformat(when) if isinstance(when, str) else when
            content = audit._canonical(row["id"], when, row["username"], row["action"], row["record_type"],
                                       row["record_id"], row["details"], row["reason"])  # fmt: skip
            digest = audit.entry_hash(previous, content)
            conn.execute(text("UPDATE audit_log SET previous_hash = :p, entry_hash = :h WHERE id = :i"),
                         {"p": previous, "h": digest, "i": row["id"]})  # fmt: skip
            previous = digest
        conn.execute(text("UPDATE audit_head SET last_hash = :h"), {"h": previous})
    _another_workstation(monkeypatch, tmp_path, "elsewhere")
    result = audit.verify(db)
    assert result.altered and result.first_bad_id == 2 and "forged seal" in (result.problem or ""), result


def test_stripping_the_seal_is_found_where_the_sealed_trail_was_seen(db: Database) -> None:
    """Without the key, an attacker could pretend the trail was never sealed: this workstation saw it sealed."""
    _history(db)
    assert audit.verify(db).ok
    _raw(db, "UPDATE audit_log SET seal = NULL", "UPDATE audit_head SET seal = NULL, key_id = NULL")
    result = audit.verify(db)
    assert result.altered and "seal was removed or replaced" in (result.problem or ""), result


def test_an_older_copy_put_back_outside_caselog_is_found(
    tmp_path: Path, sqlite_template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = _clinic_file(tmp_path, sqlite_template)
    copy_sqlite(live, tmp_path / "old.sqlite3")  # a copy taken at entry 6, outside CaseLog
    db = open_database(live)
    CaseService(db, today=lambda: TODAY).create_case(simple_case("2025-01-05"))
    db.close()
    assert cli(capsys, "--db", str(live), "audit", "verify")[0] == EXIT_OK  # this workstation saw entry 7
    for leftover in (tmp_path / "caselog.sqlite3-wal", tmp_path / "caselog.sqlite3-shm"):
        leftover.unlink(missing_ok=True)
    shutil.copy(tmp_path / "old.sqlite3", live)  # `cp old.sqlite3 caselog.sqlite3`
    status, _, err = cli(capsys, "--db", str(live), "audit", "verify")
    assert status == EXIT_AUDIT_ALTERED
    assert "went back from entry 7 to 6" in err
    db = open_database(live)  # work goes on over the old copy, past entry 7: the evidence stays
    for day in ("2025-01-06", "2025-01-07"):
        CaseService(db, today=lambda: TODAY).create_case(simple_case(day))
    db.close()
    status, _, err = cli(capsys, "--db", str(live), "audit", "verify")
    assert status == EXIT_AUDIT_ALTERED
    assert "entry 7 is not the entry this workstation saw" in err


def test_another_database_swapped_in_is_found_and_an_administrator_may_accept_it(
    tmp_path: Path, sqlite_template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = _clinic_file(tmp_path, sqlite_template)
    other = tmp_path / "other.sqlite3"
    other_db = open_database(other)  # a database of its own (its own id)
    CaseService(other_db, today=lambda: TODAY).create_case(simple_case("2025-02-01"))
    other_db.close()
    shutil.copy(other, live)
    status, _, err = cli(capsys, "--db", str(live), "audit", "verify")
    assert status == EXIT_AUDIT_ALTERED and "replaced outside CaseLog" in err
    status, out, _ = cli(capsys, "--db", str(live), "audit", "verify", "--accept")
    assert status == EXIT_OK, out
    status, out, _ = cli(capsys, "--db", str(live), "audit")
    assert "audit_accept" in out


def test_caselogs_own_restore_moves_the_checkpoint_legitimately(
    tmp_path: Path, sqlite_template: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = _clinic_file(tmp_path, sqlite_template)
    status, out, _ = cli(capsys, "--db", str(live), "backup", str(tmp_path / "backup.sqlite3"))
    assert status == EXIT_OK and "Audit trail: entry 6, head " in out, out
    db = open_database(live)
    CaseService(db, today=lambda: TODAY).create_case(simple_case("2025-01-05"))
    db.close()
    assert cli(capsys, "--db", str(live), "restore", str(tmp_path / "backup.sqlite3"))[0] == EXIT_OK
    status, out, err = cli(capsys, "--db", str(live), "audit", "verify")
    assert status == EXIT_OK, err
    assert "ok: 7 audit entries" in out  # the backup's 6 (its own entry came after the copy), and the restore


def test_the_key_is_made_outside_the_database_readable_by_its_owner_only(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(audit_anchor.KEY_FILE_ENV)
    path = tmp_path / "caselog.sqlite3"
    shutil.copy(sqlite_template, path)
    db = open_database(path)
    _history(db)
    head = audit.current_head(db)
    assert head is not None and head.key_id is not None
    key_file = audit_anchor.key_path(head.database_id)
    assert key_file.parent.parent == Path(os.environ["CASELOG_HOME"])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    key = audit_anchor.load_key(head.database_id)
    assert key is not None and audit_anchor.key_id(key) == head.key_id
    db.close()
    assert key.hex().encode() not in path.read_bytes() and key not in path.read_bytes()
    assert audit.verify(open_database(path)).ok


def test_a_workstation_without_the_key_refuses_to_write_and_says_why_until_it_is_imported(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(audit_anchor.KEY_FILE_ENV)
    path = tmp_path / "clinic.sqlite3"
    shutil.copy(sqlite_template, path)
    db = open_database(path)
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
    db.close()
    monkeypatch.setenv("CASELOG_USER", "boss")
    monkeypatch.setenv("CASELOG_PASSWORD", PASSWORD)
    exported = tmp_path / "clinic.key"
    status, out, err = cli(capsys, "--db", str(path), "audit", "key", "export", str(exported))
    assert status == EXIT_OK, err
    assert stat.S_IMODE(exported.stat().st_mode) == 0o600

    _another_workstation(monkeypatch, tmp_path, "front-desk")
    status, _, err = cli(capsys, "--db", str(path), "user", "list")
    assert status == EXIT_OTHER and "sealed with a key this workstation does not have" in err
    assert "caselog audit key import FILE" in err
    wrong = tmp_path / "wrong.key"
    wrong.write_text(f"caselog-audit-key-1 {'ab' * 32}\n", encoding="ascii")
    status, _, err = cli(capsys, "--db", str(path), "audit", "key", "import", str(wrong))
    assert status == 2 and "is not the key" in err
    status, out, err = cli(capsys, "--db", str(path), "audit", "key", "import", str(exported))
    assert status == EXIT_OK, err
    assert cli(capsys, "--db", str(path), "user", "list")[0] == EXIT_OK
    status, out, _ = cli(capsys, "--db", str(path), "audit", "verify")
    assert status == EXIT_OK, out


def test_verify_without_the_key_checks_what_it_can_and_does_not_say_ok(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _history(db)
    monkeypatch.setenv(audit_anchor.KEY_FILE_ENV, str(tmp_path / "nowhere.key"))
    result = audit.verify(db)
    assert not result.ok and not result.altered and "could not be checked" in (result.key_problem or "")


def test_an_unsealed_database_is_sealed_from_its_upgrade_on(tmp_path: Path) -> None:
    """Entries written before schema 0004 stay covered by the chain; new ones are sealed."""
    from alembic import command

    from caselog.db.engine import open_engine
    from caselog.db.schema import alembic_config, upgrade

    path = tmp_path / "old.sqlite3"
    db = open_engine(path)
    cfg = alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0003")
    with db.engine.begin() as conn:  # two entries as CaseLog 0003 wrote them (a sign-in, then a refusal)
        previous = audit.GENESIS
        for entry_id in (1, 2):
            when = dt.datetime(2025, 1, entry_id, 8, 0)
            content = audit._canonical(entry_id, when, None, "sign_in", "account", "x", "{}", None)
            digest = audit.entry_hash(previous, content)
            conn.execute(
                text("INSERT INTO audit_log (id, occurred_at, username, action, record_type, record_id, details, "
                     "reason, previous_hash, entry_hash) VALUES (:i, :w, NULL, 'sign_in', 'account', 'x', '{}', "
                     "NULL, :p, :h)"),
                {"i": entry_id, "w": when, "p": previous, "h": digest},
            )  # fmt: skip
            previous = digest
        conn.execute(text("UPDATE audit_head SET last_id = 2, last_hash = :h"), {"h": previous})
    db.close()
    db = open_engine(path)
    upgrade(db)
    CaseService(db, today=lambda: TODAY).create_case(make_case())
    result = audit.verify(db)
    assert result.ok, result
    with db.read() as session:
        seals = session.execute(text("SELECT id, seal FROM audit_log ORDER BY id")).all()
        assert [s is not None for _, s in seals] == [False, False, True]
        assert session.execute(text("SELECT sealed_from FROM audit_head")).scalar_one() == 3
    _raw(db, "UPDATE audit_log SET record_id = 'y' WHERE id = 1")
    assert audit.verify(db).first_bad_id == 1
    db.close()


# ---- 2. an emptied or missing trail is altered, not an unexpected error ---------------------------------


def test_an_emptied_trail_is_altered(db_target: str, capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:  # fmt: skip
    db = open_database(db_target)
    _history(db)
    _raw(db, "DELETE FROM audit_log",
         f"UPDATE audit_head SET last_id = 0, last_hash = '{audit.GENESIS}', seal = NULL, key_id = NULL")  # fmt: skip
    db.close()
    _another_workstation(monkeypatch, tmp_path, "elsewhere")  # nobody here saw it: the trail alone must tell
    status, _, err = cli(capsys, "--db", db_target, "audit", "verify")
    assert status == EXIT_AUDIT_ALTERED and "the audit trail is empty, but the database holds 3 cases" in err


@pytest.mark.parametrize("table", ["audit_log", "audit_head"])
def test_a_trail_whose_table_is_gone_is_altered(db_target: str, table: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    db = open_database(db_target)
    _history(db)
    _raw(db, f"DROP TABLE {table}")
    db.close()
    status, _, err = cli(capsys, "--db", db_target, "audit", "verify")
    assert status == EXIT_AUDIT_ALTERED and f"table {table} is gone" in err
    status, _, err = cli(capsys, "--db", db_target, "check")
    assert status == EXIT_AUDIT_ALTERED, err


# ---- 3. the trail is replayed against the cases and accounts --------------------------------------------


def test_legitimate_work_of_every_kind_replays_to_the_data(db: Database) -> None:
    """Create, import signed, sign, amend, addendum, review, review notes, delete: the replay agrees."""
    service = _history(db)
    numbers = service.import_cases({"format": "caselog-cases", "version": 1,
                                    "cases": [make_case(status="final"), simple_case("2025-02-02")]})  # fmt: skip
    content = make_case(notes="Amended after review.", case_number=numbers[0], status="final")
    service.update_case(numbers[0], content, reason="wrong note")
    service.set_review(numbers[0], 0, review_status="closed", notes="Discussed at M&M.")
    service.add_addendum(numbers[0], outcomes=[{"timepoint": "3m", "date": "2025-06-14", "nrs_back": 1}])
    service.delete_case(numbers[1], reason="duplicate")
    result = audit.verify(db)
    assert result.ok, result


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        ("UPDATE cases SET notes = 'nothing happened' WHERE case_number = '2025-00002'", "case 2025-00002 (notes)"),
        ("UPDATE cases SET surgeon = 'Dr. Someone Else' WHERE case_number = '2025-00001'", "case 2025-00001 (surgeon)"),
        ("UPDATE complications SET clavien_dindo = 'I'", "case 2025-00004 (complications)"),
        ("UPDATE patients SET family_name = 'Other'", "(patient.family_name)"),
        ("UPDATE cases SET signed_by = 'Dr. Forger' WHERE case_number = '2025-00001'", "(signed_by)"),
        ("UPDATE cases SET status = 'draft' WHERE case_number = '2025-00001'", "(status)"),
        ("DELETE FROM cases WHERE case_number = '2025-00002'", "case 2025-00002 was removed"),
    ],
)
def test_a_case_edited_directly_in_the_database_is_reported(db: Database, edit: str, named: str) -> None:
    service = _history(db)
    hematoma = {"category": "hematoma", "timing": "postoperative", "onset_date": "2025-01-07", "clavien_dindo": "II"}
    service.create_case(simple_case("2025-01-05", complications=[hematoma]))
    assert audit.verify(db).ok
    _raw(db, edit)
    result = audit.verify(db)
    assert result.altered and named in (result.problem or ""), result.problem
    assert "without an audit entry" in (result.problem or "")


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE accounts SET role = 'admin' WHERE username = 'okafor'",
        "UPDATE accounts SET full_name = 'Dr. Priya Raman' WHERE username = 'okafor'",
        "UPDATE accounts SET disabled = true WHERE username = 'boss'",
        "UPDATE accounts SET password_hash = (SELECT password_hash FROM accounts WHERE username = 'boss') "
        "WHERE username = 'okafor'",
    ],
)
def test_an_account_edited_directly_in_the_database_is_reported(db: Database, edit: str) -> None:
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
    AccountService(db, ADMIN).add_account("okafor", role="surgeon", full_name=SURGEON.full_name, password=PASSWORD)
    AccountService(db).sign_in("okafor", PASSWORD)
    assert audit.verify(db).ok
    _raw(db, edit)
    result = audit.verify(db)
    assert result.altered and "account " in (result.problem or ""), result.problem


def test_an_account_or_case_added_directly_has_no_entry(db: Database) -> None:
    _history(db)
    _raw(db, "INSERT INTO accounts (username, full_name, role, password_hash, disabled, must_change_password, "
             "failed_sign_ins, created_at) VALUES ('mallory', 'Mallory', 'admin', 'x', false, false, 0, "
             "'2025-06-01 00:00:00')")  # fmt: skip
    result = audit.verify(db)
    assert result.altered and "account mallory has no audit entry" in (result.problem or "")


# ---- 4. `caselog check` runs it too ---------------------------------------------------------------------


def test_check_reports_an_altered_trail(db_target: str, capsys: pytest.CaptureFixture[str]) -> None:
    db = open_database(db_target)
    _history(db)
    db.close()
    status, out, _ = cli(capsys, "--db", db_target, "check")
    assert status == EXIT_OK and "chain intact" in out
    db = open_database(db_target)
    _raw(db, "UPDATE cases SET notes = 'quietly changed' WHERE case_number = '2025-00001'")
    db.close()
    status, _, err = cli(capsys, "--db", db_target, "check")
    assert status == EXIT_AUDIT_ALTERED and "case 2025-00001 (notes)" in err


# ---- 6. the head on backups and on the complication log -------------------------------------------------


def test_the_complication_log_prints_the_audit_head(db_target: str, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    db = open_database(db_target)
    _history(db)
    head = audit.current_head(db)
    db.close()
    assert head is not None
    output = tmp_path / "log.pdf"
    status, _, err = cli(capsys, "--db", db_target, "report", "complications", "--output", str(output))
    assert status == EXIT_OK, err
    found = _pdf_text(output)
    assert f"Audit trail: entry {head.last_id}, head {head.last_hash[:12]}…" in found


def _pdf_text(path: Path) -> str:
    import subprocess

    done = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True)
    return done.stdout


def test_backup_prints_the_head_it_holds(tmp_path: Path, sqlite_template: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    live = tmp_path / "caselog.sqlite3"
    shutil.copy(sqlite_template, live)
    db = open_database(live)
    _history(db)
    head = audit.current_head(db)
    db.close()
    assert head is not None
    status, out, _ = cli(capsys, "--db", str(live), "backup", str(tmp_path / "b.sqlite3"))
    assert status == EXIT_OK
    assert f"Audit trail: entry 6, head {head.last_hash[:12]}…" in out
    assert "audit key is not in the backup" in out and "caselog audit key export FILE" in out
    with raw_connect(tmp_path / "b.sqlite3") as conn:
        assert conn.execute("SELECT last_id FROM audit_head").fetchone()[0] == 6


def test_only_an_administrator_may_accept_a_replaced_database(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    live = _clinic_file(tmp_path, sqlite_template)
    db = open_database(live)
    AccountService(db).add_account("boss", role="admin", full_name="Clinic Admin", password=PASSWORD)
    AccountService(db, ADMIN).add_account("quinn", role="quality", full_name=QUALITY.full_name, password=PASSWORD)
    db.close()
    monkeypatch.setenv("CASELOG_PASSWORD", PASSWORD)
    status, _, err = cli(capsys, "--db", str(live), "--user", "quinn", "audit", "verify", "--accept")
    assert status == 4, err
    assert cli(capsys, "--db", str(live), "--user", "boss", "audit", "verify", "--accept")[0] == EXIT_OK
