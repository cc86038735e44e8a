"""Corruption: a damaged page anywhere in the file is noticed by `caselog check` and by the app's start, which
refuses to write and points to `caselog restore`.

Each of 20 copies of one database gets 32 seeded random bytes over the start of a different page (the b-tree
page header, or for page 1 the schema table's header after the 100-byte file header). SQLite keeps no checksum
of a page's payload, so damage confined to a stored text's bytes is beyond any SQLite check; damage to the
structure that locates rows, as here, is what quick_check and integrity_check catch.
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import shutil
import threading
import time
from pathlib import Path

import pytest

from caselog.cli import main
from caselog.db import cipher
from caselog.db.cipher import WrongPassphrase
from caselog.db.health import quick_check_sqlite
from caselog.db.schema import copy_sqlite, open_database
from caselog.demo import generate_cases
from caselog.errors import StorageError
from caselog.service import CaseService
from tests.conftest import ENCRYPTED_RUN
from tests.helpers.raw import raw_connect
from tests.helpers.reliability import caselog, digest

DAMAGED_COPIES = 20
SEED = 7


def _cli(*args: str) -> tuple[int, str]:
    """`caselog ARGS` through the console script's own main(), in this process (20 processes would be slow)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(list(args))
    return status, err.getvalue()


@pytest.fixture(scope="module")
def sound_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2,000 demo cases in one checkpointed file (the way `caselog backup` leaves it)."""
    folder = tmp_path_factory.mktemp("corruption")
    db = open_database(folder / "live.sqlite3")
    try:
        CaseService(db).add_records(generate_cases(2000, seed=3))
    finally:
        db.close()
    copy_sqlite(folder / "live.sqlite3", folder / "sound.sqlite3")
    return folder / "sound.sqlite3"


def _damaged_copies(sound: Path, folder: Path) -> list[tuple[int, Path]]:
    with raw_connect(sound) as conn:
        page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])  # SQLCipher answers text
        page_count = conn.execute("PRAGMA page_count").fetchone()[0]
    rng = random.Random(SEED)
    pages = [1, *sorted(rng.sample(range(2, page_count + 1), DAMAGED_COPIES - 1))]
    copies = []
    for page in pages:
        copy = folder / f"damaged-page-{page}.sqlite3"
        shutil.copy(sound, copy)
        with copy.open("r+b") as handle:
            handle.seek((page - 1) * page_size + (100 if page == 1 else 0))
            handle.write(rng.randbytes(32))
        copies.append((page, copy))
    return copies


def test_check_and_the_app_start_notice_every_damaged_page(sound_file: Path, tmp_path: Path) -> None:
    assert quick_check_sqlite(sound_file) == []
    assert _cli("--db", str(sound_file), "check")[0] == 0
    copies = _damaged_copies(sound_file, tmp_path)
    noticed_by_check, noticed_at_start = [], []
    for page, copy in copies:
        before = digest(copy)
        status, err = _cli("--db", str(copy), "check")
        assert status != 0 and "caselog restore" in err and "Traceback" not in err, (page, err)
        noticed_by_check.append(page)
        with pytest.raises((StorageError, WrongPassphrase)) as refused:
            open_database(copy, verify=True)
        message = refused.value.message
        if isinstance(refused.value, WrongPassphrase):
            # SQLCipher cannot tell a damaged first page from a wrong passphrase: both are said, wrong first.
            assert ENCRYPTED_RUN and page == 1, message
            assert "first page is damaged" in message and "caselog restore" in message, message
        else:
            assert "is damaged" in message and "caselog restore" in message and "will not write" in message, message
        noticed_at_start.append(page)
        assert digest(copy) == before, f"checking page {page}'s copy changed it"
    # And the real console script, for one of them.
    result = caselog("check", db=str(copies[len(copies) // 2][1]))
    assert result.returncode == 1 and "caselog restore" in result.stderr and "Traceback" not in result.stderr
    print(
        f"\ncorruption: {len(copies)} copies damaged at pages {[p for p, _ in copies]} of "
        f"{sound_file.stat().st_size // 4096}; 'caselog check' noticed {len(noticed_by_check)}, "
        f"open_database(verify=True) refused {len(noticed_at_start)}"
    )
    assert len(noticed_by_check) == len(noticed_at_start) == DAMAGED_COPIES


def test_the_command_line_refuses_to_write_into_a_damaged_database(sound_file: Path, tmp_path: Path) -> None:
    written = []
    for page, copy in _damaged_copies(sound_file, tmp_path):
        status, err = _cli("--db", str(copy), "demo", "--cases", "2")
        if status == 0:
            written.append(page)
        else:
            assert "caselog restore" in err and "Traceback" not in err, err
    print(f"\ncorruption: 'caselog demo' wrote into {len(written)} of {DAMAGED_COPIES} damaged copies")
    assert written == []


def test_quick_check_time(sound_file: Path) -> None:
    """The figure the app's start pays, measured here on 2,000 cases; set CASELOG_TEST_BIG_DB for a large file."""
    files = [sound_file]
    big = os.environ.get("CASELOG_TEST_BIG_DB")
    if big:
        files.append(Path(big))
    for path in files:
        with raw_connect(path, readonly=True) as conn:
            cases = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            assert quick_check_sqlite(path) == []
            timings.append(time.perf_counter() - started)
        print(
            f"\nquick_check: {cases} cases, {path.stat().st_size / 1e6:.1f} MB: "
            f"{min(timings):.3f} s best of 3 (first {timings[0]:.3f} s)"
        )


def test_the_app_start_checks_storage_beside_the_first_page_and_never_writes_into_damage(
    sound_file: Path, tmp_path: Path
) -> None:
    """The check runs in the background; reads start at once, every write waits for its verdict."""
    from caselog.records import CaseFilter

    page, damaged = _damaged_copies(sound_file, tmp_path)[-1]
    assert page != 1
    with raw_connect(damaged) as conn:  # as the live database is: in WAL mode, so opening writes nothing
        assert str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower() == "wal"
    before = digest(damaged)
    db = open_database(damaged, verify_in_background=True)
    try:
        with pytest.raises(StorageError, match="is damaged"):
            CaseService(db).add_records(generate_cases(1, seed=9))
        done, problem = db.storage_verdict()
        assert done and problem is not None and "caselog restore" in problem.message
    finally:
        db.close()
    assert digest(damaged) == before
    sound = tmp_path / "sound-copy.sqlite3"
    shutil.copy(sound_file, sound)
    with raw_connect(sound) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
    db = open_database(sound, verify_in_background=True)
    try:
        count = CaseService(db).count(CaseFilter())
        CaseService(db).add_records(generate_cases(1, seed=9))
        assert CaseService(db).count(CaseFilter()) == count + 1 and db.storage_verdict() == (True, None)
    finally:
        db.close()


def test_closing_while_the_background_check_runs_interrupts_it(tmp_path: Path) -> None:
    """Quitting the app in its first seconds: the check is interrupted and waited for, never left inside SQLite
    while the interpreter shuts down (that crashed the process on exit now and then)."""
    db = open_database(tmp_path / "clinic.sqlite3")
    started = threading.Event()

    def endless_check() -> None:
        conn = cipher.connect_file(tmp_path / "clinic.sqlite3", readonly=True)
        db.interruptible(conn)
        started.set()
        try:
            conn.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n")
        finally:
            conn.close()

    db.check_storage_in_background(endless_check)
    assert started.wait(30)
    db.close()
    assert db._storage_thread is not None and not db._storage_thread.is_alive()
    done, problem = db.storage_verdict()
    assert done and problem is not None  # interrupted: writing stays refused for this (closed) database
