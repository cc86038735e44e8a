"""Encryption at rest (SQLCipher): what a thief holding the file, the WAL or a backup can read (nothing), and
what the clinic's staff do: init, encrypt, rekey, back up, restore and check, with the right and wrong
passphrase, in a script and with the keyring."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from keyring.backend import KeyringBackend

from caselog.db import cipher
from caselog.db.schema import open_database
from caselog.errors import InvalidInput
from caselog.records import CaseRecord
from caselog.service import CaseService
from caselog.validation import validate_case
from tests.factories import TODAY, case_file, make_case
from tests.test_cli import run, write

KEY = "a passphrase for the clinic's laptop"
SECRET_MRN = "MRN-ZX-73519"
SECRET_NAME = "Quillfeather"
PLAIN_ENV = {cipher.KEY_ENV: "", cipher.BACKUP_KEY_ENV: "", cipher.NEW_KEY_ENV: ""}


@pytest.fixture(autouse=True)
def _no_passphrase_around(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test says where its passphrase comes from (the encrypted run sets CASELOG_DB_KEY for all others)."""
    for name in (cipher.KEY_ENV, cipher.BACKUP_KEY_ENV, cipher.NEW_KEY_ENV):
        monkeypatch.delenv(name, raising=False)
    cipher.forget()
    yield
    cipher.forget()


def _secret_case() -> dict[str, object]:
    case = make_case()
    case["patient"] = {**case["patient"], "mrn": SECRET_MRN, "family_name": SECRET_NAME}  # type: ignore[dict-item]
    return case


def _clinic(tmp_path: Path, key: str | None = KEY) -> str:
    db = str(tmp_path / "clinic.sqlite3")
    env = {**PLAIN_ENV, cipher.KEY_ENV: key or ""}
    assert run("init", db=db, env=env).returncode == 0
    result = run("import", write(tmp_path / "in.json", case_file(_secret_case())), db=db, env=env)
    assert result.returncode == 0, result.stderr
    return db


def _readable_in(path: Path) -> list[bytes]:
    data = path.read_bytes()
    return [marker for marker in (SECRET_MRN.encode(), SECRET_NAME.encode(), cipher.SQLITE_HEADER) if marker in data]


def _digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_nothing_readable_in_the_database_its_wal_or_a_backup(tmp_path: Path) -> None:
    db_path = tmp_path / "clinic.sqlite3"
    cipher.remember(db_path, KEY)
    db = open_database(db_path)
    try:
        assert db.encrypted
        CaseService(db, today=lambda: TODAY).add_records([_secret_case_record()])
        wal = Path(f"{db_path}-wal")
        assert wal.exists() and wal.stat().st_size > 0  # the case is still in the WAL, not yet checkpointed
        assert _readable_in(wal) == []
        assert _readable_in(db_path) == []
    finally:
        db.close()
    backup = tmp_path / "stick" / "backup.sqlite3"
    backup.parent.mkdir()
    result = run("backup", str(backup), db=str(db_path), env={**PLAIN_ENV, cipher.KEY_ENV: KEY})
    assert result.returncode == 0, result.stderr
    assert "(encrypted)" in result.stdout
    assert _readable_in(backup) == [] and _readable_in(db_path) == []
    assert cipher.opens(backup, KEY) and not cipher.opens(backup, KEY + "x")


def _secret_case_record() -> CaseRecord:
    record, problems = validate_case(_secret_case(), today=TODAY)
    assert record is not None, problems
    return record


def test_a_plain_database_holds_what_a_thief_wants(tmp_path: Path) -> None:
    """The other side of the test above: the same check finds the MRN in a plain file (it can fail)."""
    db = _clinic(tmp_path, key=None)
    assert SECRET_MRN.encode() in Path(db).read_bytes() or SECRET_MRN.encode() in Path(f"{db}-wal").read_bytes()


def test_init_in_a_script_without_a_key_is_plain_and_says_so(tmp_path: Path) -> None:
    db = str(tmp_path / "plain.sqlite3")
    result = run("init", db=db, env=PLAIN_ENV)
    assert result.returncode == 0
    assert "is not encrypted" in result.stderr and cipher.KEY_ENV in result.stderr
    assert cipher.file_state(Path(db)) == "plain"
    check = run("check", db=db, env=PLAIN_ENV)
    assert check.returncode == 0 and "is not encrypted" in check.stderr and "caselog encrypt" in check.stderr


def test_init_with_a_key_encrypts_and_every_command_needs_it(tmp_path: Path) -> None:
    db = str(tmp_path / "clinic.sqlite3")
    result = run("init", db=db, env={**PLAIN_ENV, cipher.KEY_ENV: KEY})
    assert result.returncode == 0 and "Created encrypted database" in result.stdout
    assert cipher.file_state(Path(db)) == "encrypted"
    check = run("check", db=db, env={**PLAIN_ENV, cipher.KEY_ENV: KEY})
    assert check.returncode == 0 and ", encrypted," in check.stdout and "not encrypted" not in check.stderr
    without = run("list", db=db, env=PLAIN_ENV)
    assert without.returncode == 4 and cipher.KEY_ENV in without.stderr and "Traceback" not in without.stderr
    wrong = run("list", db=db, env={**PLAIN_ENV, cipher.KEY_ENV: "not the passphrase"})
    assert wrong.returncode == 4, wrong.stderr
    assert wrong.stderr.startswith(f"The passphrase from {cipher.KEY_ENV} does not open")
    assert "damaged" not in wrong.stderr.split(".")[0]  # said first: the passphrase, not damage


def test_a_short_passphrase_is_refused_when_chosen(tmp_path: Path) -> None:
    db = str(tmp_path / "clinic.sqlite3")
    result = run("init", db=db, env={**PLAIN_ENV, cipher.KEY_ENV: "short"})
    assert result.returncode == 2 and f"{cipher.KEY_ENV}: needs at least" in result.stderr
    assert not Path(db).exists() or Path(db).stat().st_size == 0


def test_passphrases_with_quotes_and_accents_work(tmp_path: Path) -> None:
    key = 'l\'été "spine" clinic; DROP TABLE cases; --'
    db = _clinic(tmp_path, key=key)
    listed = run("list", db=db, env={**PLAIN_ENV, cipher.KEY_ENV: key})
    assert listed.returncode == 0 and SECRET_MRN in listed.stdout


def test_encrypt_keeps_every_case_and_the_trail_and_leaves_no_plain_copy(tmp_path: Path) -> None:
    db = _clinic(tmp_path, key=None)
    before = json.loads(run("export", db=db, env=PLAIN_ENV).stdout)
    result = run("encrypt", db=db, env={**PLAIN_ENV, cipher.KEY_ENV: KEY})
    assert result.returncode == 0, result.stderr
    assert cipher.file_state(Path(db)) == "encrypted" and _readable_in(Path(db)) == []
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith((".clinic", "clinic.sqlite3."))]
    assert leftovers == [] or all(p.endswith(("-wal", "-shm")) for p in leftovers), leftovers
    env = {**PLAIN_ENV, cipher.KEY_ENV: KEY}
    assert json.loads(run("export", db=db, env=env).stdout)["cases"] == before["cases"]
    verify = run("audit", "verify", db=db, env=env)
    assert verify.returncode == 0, verify.stderr
    trail = run("audit", db=db, env=env).stdout
    assert "encrypt" in trail
    again = run("encrypt", db=db, env=env)
    assert again.returncode == 2 and "already encrypted" in again.stderr


def test_encrypt_refuses_while_another_program_has_the_database_open(tmp_path: Path) -> None:
    """CaseLog open elsewhere would go on writing into the replaced file: its cases would be lost."""
    db = _clinic(tmp_path, key=None)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys, time\n"
         "c = sqlite3.connect(sys.argv[1]); c.execute('SELECT count(*) FROM cases').fetchone()\n"
         "print('open', flush=True); time.sleep(60)", db],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        before = _digest(db)
        result = run("encrypt", db=db, env={**PLAIN_ENV, cipher.KEY_ENV: KEY})
        assert result.returncode == 1 and "open in CaseLog or another program" in result.stderr, result.stderr
        assert _digest(db) == before and cipher.file_state(Path(db)) == "plain"
    finally:
        holder.kill()
        holder.wait()
    assert [p for p in tmp_path.iterdir() if ".rewrite-" in p.name] == []
    assert run("encrypt", db=db, env={**PLAIN_ENV, cipher.KEY_ENV: KEY}).returncode == 0  # once it is closed


def test_only_an_administrator_encrypts_a_database_with_accounts(tmp_path: Path) -> None:
    db = str(tmp_path / "clinic.sqlite3")
    env = {**PLAIN_ENV, "CASELOG_NEW_PASSWORD": "a long admin password 1"}
    assert run("init", db=db, env=PLAIN_ENV).returncode == 0
    assert run("user", "add", "ada", "--role", "admin", db=db, env=env).returncode == 0
    admin = {**PLAIN_ENV, "CASELOG_USER": "ada", "CASELOG_PASSWORD": "a long admin password 1"}
    added = run("user", "add", "sam", "--role", "surgeon", db=db,
                env={**admin, "CASELOG_NEW_PASSWORD": "a long surgeon password"})  # fmt: skip
    assert added.returncode == 0, added.stderr
    surgeon = {**PLAIN_ENV, "CASELOG_USER": "sam", "CASELOG_PASSWORD": "a long surgeon password"}
    refused = run("encrypt", db=db, env={**surgeon, cipher.KEY_ENV: KEY})
    assert refused.returncode == 4 and cipher.file_state(Path(db)) == "plain"
    done = run("encrypt", db=db, env={**admin, cipher.KEY_ENV: KEY})
    assert done.returncode == 0, done.stderr


def test_rekey_changes_the_passphrase(tmp_path: Path) -> None:
    db = _clinic(tmp_path)
    new = "the new passphrase, longer"
    result = run("rekey", db=db, env={**PLAIN_ENV, cipher.KEY_ENV: KEY, cipher.NEW_KEY_ENV: new})
    assert result.returncode == 0, result.stderr
    assert cipher.opens(Path(db), new) and not cipher.opens(Path(db), KEY)
    assert run("audit", "verify", db=db, env={**PLAIN_ENV, cipher.KEY_ENV: new}).returncode == 0
    same = run("rekey", db=db, env={**PLAIN_ENV, cipher.KEY_ENV: new, cipher.NEW_KEY_ENV: new})
    assert same.returncode == 2 and "same as the current" in same.stderr
    missing = run("rekey", db=db, env={**PLAIN_ENV, cipher.KEY_ENV: new})
    assert missing.returncode == 2 and cipher.NEW_KEY_ENV in missing.stderr


def test_backups_restore_and_check_with_their_own_passphrase(tmp_path: Path) -> None:
    db = _clinic(tmp_path)
    env = {**PLAIN_ENV, cipher.KEY_ENV: KEY}
    own = "the backup stick's passphrase"
    stick = tmp_path / "stick.sqlite3"
    made = run("backup", "--new-passphrase", str(stick), db=db, env={**env, cipher.BACKUP_KEY_ENV: own})
    assert made.returncode == 0, made.stderr
    assert cipher.opens(stick, own) and not cipher.opens(stick, KEY) and _readable_in(stick) == []
    # `check` on the backup, given its passphrase
    checked = run("check", db=str(stick), env={**PLAIN_ENV, cipher.KEY_ENV: own})
    assert checked.returncode == 0 and "1 cases" in checked.stdout, checked.stderr
    # restore asks for the backup's passphrase: in a script it must be given
    refused = run("restore", str(stick), db=db, env=env)
    assert refused.returncode == 4 and cipher.BACKUP_KEY_ENV in refused.stderr, refused.stderr
    restored = run("restore", str(stick), db=db, env={**env, cipher.BACKUP_KEY_ENV: own})
    assert restored.returncode == 0, restored.stderr
    # the database keeps its own passphrase, and the safety copy is encrypted too
    assert cipher.opens(Path(db), KEY)
    safety = [p for p in tmp_path.iterdir() if ".before-restore-" in p.name]
    assert safety and all(_readable_in(p) == [] for p in safety)
    assert run("audit", "verify", db=db, env=env).returncode == 0


def test_a_plain_backup_restores_into_an_encrypted_database_that_stays_encrypted(tmp_path: Path) -> None:
    (tmp_path / "old").mkdir()
    plain = _clinic(tmp_path / "old", key=None)
    backup = tmp_path / "plain-backup.sqlite3"
    assert run("backup", str(backup), db=plain, env=PLAIN_ENV).returncode == 0
    db = str(tmp_path / "clinic.sqlite3")
    env = {**PLAIN_ENV, cipher.KEY_ENV: KEY}
    assert run("init", db=db, env=env).returncode == 0
    restored = run("restore", str(backup), db=db, env=env)
    assert restored.returncode == 0, restored.stderr
    assert cipher.file_state(Path(db)) == "encrypted" and _readable_in(Path(db)) == []
    assert SECRET_MRN in run("list", db=db, env=env).stdout


class MemoryKeyring(KeyringBackend):
    """A keyring back-end for tests: the system's own is not there on a build machine."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.kept: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.kept.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.kept[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.kept.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    import keyring

    before = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(before)


def test_the_keyring_opens_the_database_without_typing(tmp_path: Path, memory_keyring: MemoryKeyring,
                                                       capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    from caselog.cli import main

    db = str(tmp_path / "clinic.sqlite3")
    os.environ[cipher.KEY_ENV] = KEY
    try:
        assert main(["--db", db, "init", "--keyring"]) == 0
    finally:
        del os.environ[cipher.KEY_ENV]
    assert memory_keyring.kept == {(cipher.KEYRING_SERVICE, str(Path(db).resolve())): KEY}
    cipher.forget()
    capsys.readouterr()
    assert main(["--db", db, "check"]) == 0
    assert ", encrypted," in capsys.readouterr().out
    # rekey moves the keyring's entry to the new passphrase, or the next start would fail
    os.environ[cipher.NEW_KEY_ENV] = "the new passphrase, longer"
    try:
        assert main(["--db", db, "rekey"]) == 0
    finally:
        del os.environ[cipher.NEW_KEY_ENV]
    cipher.forget()
    assert memory_keyring.kept[(cipher.KEYRING_SERVICE, str(Path(db).resolve()))] == "the new passphrase, longer"
    assert main(["--db", db, "list"]) == 0


def test_no_passphrase_option_exists_on_the_command_line() -> None:
    """Never from an argument: other users of the computer see arguments in the process list."""
    from caselog.cli import build_parser

    options = {
        option
        for action in build_parser()._subparsers._group_actions  # type: ignore[union-attr]
        for sub in action.choices.values()  # type: ignore[union-attr]
        for item in sub._actions
        for option in item.option_strings
    }
    assert not [o for o in options if ("key" in o and o != "--keyring" and o != "--audit-key") or ("pass" in o
                and o != "--new-passphrase")]  # fmt: skip


def test_a_new_passphrase_below_the_minimum_is_refused_in_code(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput):
        cipher.check_new_passphrase("x" * (cipher.MIN_PASSPHRASE - 1))


def _in_a_terminal(args: list[str], answers: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run `caselog ARGS` with a terminal of its own (a pseudo-terminal) and type each answer at a prompt."""
    import fcntl
    import pty
    import select
    import termios

    master, slave = pty.openpty()

    def controlling_terminal() -> None:
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)

    child = subprocess.Popen([sys.executable, "-m", "caselog", *args], stdin=slave, stdout=slave, stderr=slave,
                             env={**os.environ, **env}, start_new_session=True,
                             preexec_fn=controlling_terminal)  # fmt: skip
    os.close(slave)
    seen = since_answer = b""
    pending = list(answers)
    while True:
        ready, _, _ = select.select([master], [], [], 240)  # a liveness bound on a busy machine, not a timing
        if not ready:
            child.kill()
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
        since_answer += chunk
        # A new prompt: text since the last answer ending in ":" (the newline getpass prints after an answer
        # must not count as the same prompt again, or the next answer goes out before its prompt).
        if pending and since_answer.strip() and since_answer.rstrip().endswith(b":"):
            _until_echo_is_off(master)  # getpass flushes what was typed before it turned echo off
            os.write(master, pending.pop(0).encode() + b"\n")
            seen += b"\n"
            since_answer = b""
    os.close(master)
    return child.wait(timeout=240), seen.decode("utf-8", "replace")


def _until_echo_is_off(master: int) -> None:
    import termios
    import time

    for _ in range(600):
        if not termios.tcgetattr(master)[3] & termios.ECHO:
            return
        time.sleep(0.05)


def test_init_in_a_terminal_warns_asks_twice_and_encrypts(tmp_path: Path) -> None:
    db = str(tmp_path / "clinic.sqlite3")
    status, screen = _in_a_terminal(["--db", db, "init"], ["short", KEY, KEY], PLAIN_ENV)
    assert status == 0, screen
    assert "cannot be recovered by anyone" in screen and "needs at least" in screen
    assert "Created encrypted database" in screen and KEY not in screen  # never echoed
    assert cipher.opens(Path(db), KEY)
    # then a command asks for it, and a wrong answer is said plainly before the right one opens it
    status, screen = _in_a_terminal(["--db", db, "list"], ["not it at all", KEY], PLAIN_ENV)
    assert status == 0 and "does not open" in screen and "Try again" in screen, screen


def test_init_in_a_terminal_may_choose_no_encryption(tmp_path: Path) -> None:
    db = str(tmp_path / "clinic.sqlite3")
    status, screen = _in_a_terminal(["--db", db, "init"], [""], PLAIN_ENV)
    assert status == 0 and "is not encrypted" in screen, screen
    assert cipher.file_state(Path(db)) == "plain"


def test_drafts_follow_encrypt_and_rekey(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A form typed but never saved is sealed when the database is encrypted, and still offered after a
    rekey (its key derives from the database's): neither left readable nor lost."""
    from caselog import drafts
    from caselog.cli import main

    db = _clinic(tmp_path, key=None)
    drafts._protection = None
    typed = {"patient": {"mrn": SECRET_MRN, "family_name": SECRET_NAME}}
    file = drafts.save_draft("typed", typed)
    assert SECRET_MRN.encode() in file.read_bytes()
    monkeypatch.setenv(cipher.KEY_ENV, KEY)
    assert main(["--db", db, "encrypt"]) == 0
    assert SECRET_MRN.encode() not in file.read_bytes() and SECRET_NAME.encode() not in file.read_bytes()
    monkeypatch.setenv(cipher.NEW_KEY_ENV, "the new passphrase, longer")
    assert main(["--db", db, "rekey"]) == 0
    monkeypatch.setenv(cipher.KEY_ENV, "the new passphrase, longer")
    cipher.forget()
    reopened = open_database(db)
    try:
        drafts.protect_with(reopened)
        assert [d.data for d in drafts.pending_drafts()] == [typed]
    finally:
        reopened.close()
        drafts._protection = None


def test_a_passphrase_of_spaces_is_refused(tmp_path: Path) -> None:
    db = str(tmp_path / "clinic.sqlite3")
    result = run("init", db=db, env={**PLAIN_ENV, cipher.KEY_ENV: " " * 12})
    assert result.returncode == 2 and "only spaces" in result.stderr
