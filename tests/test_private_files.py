"""Files that hold patient data are readable by their owner only, and no temporary copy outlives CaseLog.

The command runs as a user starts it, with the permissive umask (022) most systems give: anything CaseLog
creates must still be 0600 in folders CaseLog makes 0700. Temporary files go to CaseLog's own folder, never
the system's shared one, and a crash's leftovers are removed at the next start.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from caselog import drafts, files, paths
from caselog.cli import main
from caselog.db.schema import open_database
from caselog.service import CaseService
from tests.factories import TODAY, case_file, make_case
from tests.helpers.cli import run_cli
from tests.helpers.reliability import ROOT, env

pytestmark = pytest.mark.skipif(os.name != "posix", reason="owner-only modes exist on POSIX systems only")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """The umask most desktop accounts run with: new files 0644 unless CaseLog says otherwise."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def caselog(*args: str, home: Path, tmpdir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`caselog ARGS` started with the permissive umask, in this process (tests.helpers.cli.run_cli)."""
    extra = {"CASELOG_HOME": str(home)}
    if tmpdir is not None:
        extra["TMPDIR"] = str(tmpdir)
    previous = os.umask(0o022)
    try:
        return run_cli(*args, env=extra)
    finally:
        os.umask(previous)


def test_every_file_the_command_line_makes_is_owner_only(tmp_path: Path, permissive_umask: None) -> None:
    home = tmp_path / "home"
    source = tmp_path / "cases.json"
    source.write_text(json.dumps(case_file(make_case())), encoding="utf-8")
    assert caselog("import", str(source), home=home).returncode == 0  # the default database, created here
    out = tmp_path / "out"
    out.mkdir()
    made = [
        caselog("backup", str(out / "backup.sqlite3"), home=home),
        caselog("export", "--format", "csv", "--output", str(out / "cases.csv"), home=home),
        caselog("export", "--format", "xlsx", "--output", str(out / "cases.xlsx"), home=home),
        caselog("export", "--output", str(out / "cases.json"), home=home),
        caselog("summary", "2025-00001", "--output", str(out / "summary.pdf"), home=home),
    ]
    assert [r.returncode for r in made] == [0] * len(made), [r.stderr for r in made]
    database = home / paths.DATABASE_FILE
    assert mode(home) == 0o700
    assert mode(database) == 0o600
    for name in ("backup.sqlite3", "cases.csv", "cases.xlsx", "cases.json", "summary.pdf"):
        assert mode(out / name) == 0o600, name
    assert sorted(p.name for p in out.iterdir()) == [
        "backup.sqlite3", "cases.csv", "cases.json", "cases.xlsx", "summary.pdf",
    ]  # fmt: skip


def test_a_database_opened_by_a_library_caller_is_owner_only_with_its_wal_files(
    tmp_path: Path, permissive_umask: None
) -> None:
    path = tmp_path / "clinic.sqlite3"
    db = open_database(path)
    try:
        CaseService(db, today=lambda: TODAY).create_case(make_case())
        wal, shm = path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")
        assert wal.exists() and shm.exists()  # the pool keeps the connection, so SQLite keeps them
        assert (mode(path), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    finally:
        db.close()


def test_drafts_and_crash_logs_are_owner_only(permissive_umask: None) -> None:
    drafts.save_draft("typed", {"patient": {"mrn": "MRN-1"}})
    assert mode(drafts.drafts_dir()) == 0o700
    assert mode(drafts.draft_path("typed")) == 0o600
    from caselog.cli import _log_crash

    written = Path(_log_crash(RuntimeError("MRN-1 in a message")))
    assert mode(written) == 0o600 and mode(written.parent) == 0o700


def test_the_command_gives_back_the_callers_umask_and_temporary_folder(tmp_path: Path, permissive_umask: None) -> None:
    import tempfile

    before = tempfile.gettempdir()
    assert main(["--db", str(tmp_path / "x.sqlite3"), "list"]) == 0
    assert tempfile.gettempdir() == before
    current = os.umask(0o022)
    assert current == 0o022


def test_a_crashed_process_leftovers_are_removed_at_the_next_start(tmp_path: Path) -> None:
    home = tmp_path / "home"
    dead = home / files.TEMP_FOLDER / "999999-crashed"
    dead.mkdir(parents=True)
    (home / files.TEMP_FOLDER / "999999-crashed.lock").write_text("")  # nobody holds it any more
    lockless = home / files.TEMP_FOLDER / "999998-crashed"  # its lock file is gone: a cleanup was cut short
    lockless.mkdir()
    (lockless / "openpyxl.sheet2.xml").write_text("<c>MRN-1002</c>", encoding="utf-8")
    (dead / "openpyxl.sheet1.xml").write_text("<c>MRN-1001 Nguyễn</c>", encoding="utf-8")
    beside = tmp_path / "exports" / ".cases.csv.x1y2.part"
    beside.parent.mkdir()
    beside.write_text("MRN-1001,Nguyễn", encoding="utf-8")
    (dead / f"beside-{beside.name}").write_text(str(beside), encoding="utf-8")
    stray = home / files.TEMP_FOLDER / "tmpabc.xml"
    stray.write_text("MRN-1001", encoding="utf-8")

    result = caselog("--db", str(tmp_path / "x.sqlite3"), "list", home=home)
    assert result.returncode == 0, result.stderr
    assert not dead.exists() and not stray.exists() and not beside.exists() and not lockless.exists()
    assert list((home / files.TEMP_FOLDER).iterdir()) == []  # and this run cleaned up after itself


def test_a_living_process_temporary_folder_is_left_alone(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / files.TEMP_FOLDER).mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from caselog import files; print(files.workspace(), flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env(CASELOG_HOME=str(home)), cwd=ROOT,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        living = Path(holder.stdout.readline().strip())
        (living / "working.xml").write_text("in use", encoding="utf-8")
        assert caselog("--db", str(tmp_path / "x.sqlite3"), "list", home=home).returncode == 0
        assert (living / "working.xml").exists()
    finally:
        holder.communicate("", timeout=60)


def test_an_export_killed_half_way_leaves_nothing_in_the_system_temporary_folder(tmp_path: Path) -> None:
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    home = tmp_path / "home"
    database = tmp_path / "clinic.sqlite3"
    db = open_database(database)
    try:
        CaseService(db, today=lambda: TODAY).import_cases(case_file(make_case()))
    finally:
        db.close()
    output = tmp_path / "cases.xlsx"
    export = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.stalled_export", "--db", str(database), "export", "--format", "xlsx",
         "--output", str(output)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        env=env(CASELOG_HOME=str(home), TMPDIR=str(system_temp)),
    )  # fmt: skip
    assert export.stdout is not None
    assert export.stdout.readline().strip() == "saving"  # every sheet's rows are in temporary files now
    os.kill(export.pid, signal.SIGKILL)
    export.wait(timeout=60)
    assert list(system_temp.iterdir()) == []
    left = [p for p in (home / files.TEMP_FOLDER).rglob("*") if p.is_file() and p.suffix != ".lock"]
    assert left and not output.exists()  # the crash left its files in CaseLog's folder, 0600 there
    assert all(mode(p) == 0o600 for p in left)
    assert caselog("--db", str(database), "list", home=home, tmpdir=system_temp).returncode == 0
    assert list((home / files.TEMP_FOLDER).iterdir()) == []
    assert list(tmp_path.glob(".cases.xlsx.*")) == []  # nor a half-written file beside the export


def test_files_written_beside_a_pdf_or_an_export_are_noted_for_the_next_start(tmp_path: Path) -> None:
    """What a kill -9 would leave beside the target is listed in the process's folder, so the next start finds it."""
    from caselog.exchange import atomic_output
    from caselog.reports.output import write_atomically

    noted: list[str] = []

    def look() -> None:
        notes = list(files.workspace().glob("beside-*"))
        assert len(notes) == 1
        temp = Path(notes[0].read_text(encoding="utf-8"))
        assert temp.parent == tmp_path and temp.exists() and mode(temp) == 0o600
        noted.append(temp.name)

    with files.private_process():
        write_atomically(tmp_path / "summary.pdf", lambda stream: look())
        with atomic_output(tmp_path / "cases.csv") as out:
            out.write("x")
            look()
        assert list(files.workspace().glob("beside-*")) == []
    assert len(noted) == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["cases.csv", "home", "summary.pdf"]


def test_a_database_an_older_release_left_readable_to_all_is_closed_to_others(
    tmp_path: Path, sqlite_template: Path, permissive_umask: None
) -> None:
    """Releases before this one made databases 0644: any account on the computer could copy every patient."""
    path = tmp_path / "old.sqlite3"
    shutil.copy(sqlite_template, path)
    os.chmod(path, 0o664)  # as created under a common umask, with a clinic group
    db = open_database(path)
    try:
        db.refresh_statistics()
    finally:
        db.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o660  # the group an administrator chose keeps its rights
    for suffix in ("-wal", "-shm"):
        extra = Path(f"{path}{suffix}")
        if extra.exists():
            assert stat.S_IMODE(extra.stat().st_mode) & 0o007 == 0
