"""Several workstations at once: case numbers stay unique, no "database is locked" reaches a user, and a stale
edit is refused instead of overwriting someone else's change. On SQLite (one file, several processes) and on
PostgreSQL (the clinic-wide server).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from caselog.db.schema import check_database, open_database
from caselog.service import CaseService
from tests.factories import TODAY, case_file, make_case
from tests.helpers.reliability import ROOT, env, helper, sqlite_facts
from tests.helpers.stale_editor import notes_for

WRITERS = 4
CASES_EACH = 250
EDITORS = 4


def _start_together(procs: list[subprocess.Popen[str]], go: Path) -> float:
    """Wait until every process has the database open, then let them all go at once."""
    for proc in procs:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if line != "ready":
            _, err = proc.communicate(timeout=60)
            pytest.fail(f"a writer did not start: {line!r} {err}")
    go.touch()
    return time.perf_counter()


def _wait_for(path_glob: str, folder: Path, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while len(list(folder.glob(path_glob))) < count:
        assert time.monotonic() < deadline, f"timed out waiting for {count} x {path_glob}"
        time.sleep(0.005)


@pytest.mark.slow
def test_four_writers_add_a_thousand_cases_at_once(db_target: str, tmp_path: Path) -> None:
    backend = "postgresql" if "://" in db_target else "sqlite"
    go = tmp_path / "go"
    writers = [
        helper("case_writer", "--db", db_target, "--prefix", f"W{w}", "--count", str(CASES_EACH), "--go", str(go))
        for w in range(WRITERS)
    ]
    started = _start_together(writers, go)
    outputs = [w.communicate(timeout=300) for w in writers]
    elapsed = time.perf_counter() - started
    errors = [err for _, err in outputs if err.strip()]
    numbers = [n for out, _ in outputs for n in out.split()]

    db = open_database(db_target)
    try:
        stored = [row.case_number for row in CaseService(db, today=lambda: TODAY).query(limit=None)]
        report = check_database(db)
    finally:
        db.close()
    print(
        f"\nconcurrency [{backend}]: {WRITERS} processes x {CASES_EACH} cases, one transaction each: "
        f"{len(numbers)} confirmed, {len(set(numbers))} distinct numbers, {len(stored)} stored, "
        f"{len(errors)} errors reaching a user, {elapsed:.1f} s ({len(numbers) / elapsed:.0f} cases/s)"
    )
    assert errors == [], errors[:3]
    assert [w.returncode for w in writers] == [0] * WRITERS
    total = WRITERS * CASES_EACH
    assert len(numbers) == total and len(set(numbers)) == total
    assert sorted(stored) == sorted(numbers)
    # One counter row per year, bumped inside each committing transaction: 1..1000 without gaps or repeats.
    assert sorted(numbers) == [f"2025-{n:05d}" for n in range(1, total + 1)]
    assert report.ok, report.problems
    if backend == "sqlite":
        facts = sqlite_facts(Path(db_target))
        assert facts["integrity"] == ["ok"] and facts["orphans"] == {}


@pytest.mark.slow
def test_writers_sharing_new_patients_at_once(db_target: str, tmp_path: Path) -> None:
    """Two workstations registering the same new patient's cases at the same moment: one patient, no error."""
    backend = "postgresql" if "://" in db_target else "sqlite"
    go = tmp_path / "go"
    count = 20
    writers = [
        helper("case_writer", "--db", db_target, "--prefix", f"S{w}", "--count", str(count), "--go", str(go),
               "--mrns", "5")
        for w in range(WRITERS)
    ]  # fmt: skip
    _start_together(writers, go)
    outputs = [w.communicate(timeout=300) for w in writers]
    errors = [err.strip() for _, err in outputs if err.strip()]
    numbers = [n for out, _ in outputs for n in out.split()]
    print(
        f"\nshared patients [{backend}]: {WRITERS} processes x {count} cases for 5 shared new MRNs: "
        f"{len(numbers)} stored, {len(errors)} errors reaching a user {errors[:1]}"
    )
    assert errors == []
    assert len(set(numbers)) == WRITERS * count
    db = open_database(db_target)
    try:
        service = CaseService(db, today=lambda: TODAY)
        assert service.find_patient("SHARED-0") is not None
        assert service.count() == WRITERS * count
    finally:
        db.close()


@pytest.mark.slow
def test_same_stale_copy_saved_by_several_clients_exactly_one_wins(db_target: str, tmp_path: Path) -> None:
    backend = "postgresql" if "://" in db_target else "sqlite"
    db = open_database(db_target)
    service = CaseService(db, today=lambda: TODAY)
    number = service.create_case(make_case(notes="original")).case_number
    rounds = 10
    sync = tmp_path / "sync"
    sync.mkdir()
    editors = [
        helper("stale_editor", "--db", db_target, "--case", number, "--worker", str(w), "--rounds", str(rounds),
               "--sync", str(sync))
        for w in range(EDITORS)
    ]  # fmt: skip
    winners: list[int] = []
    try:
        for r in range(rounds):
            (sync / f"go-{r}").touch()
            _wait_for(f"done-{r}-*", sync, EDITORS)
            view = service.get_case(number)
            # The case holds exactly one client's content of this round, and one more version.
            assert view.version == r + 2
            winner = next(w for w in range(EDITORS) if view.record.notes == notes_for(r, w))
            winners.append(winner)
    finally:
        outputs = [e.communicate(timeout=120) for e in editors]
        db.close()
    lines = [line.split() for out, _ in outputs for line in out.splitlines()]
    errors = [err for _, err in outputs if err.strip()]
    saved = {r: [int(w) for rr, w, what in lines if int(rr) == r and what == "saved"] for r in range(rounds)}
    conflicts = sum(1 for *_, what in lines if what == "conflict")
    print(
        f"\nstale edits [{backend}]: {rounds} rounds x {EDITORS} clients saving version r+1 at once: "
        f"{sum(len(s) for s in saved.values())} saved, {conflicts} refused with Conflict, winners {winners}"
    )
    assert errors == [], errors
    assert [e.returncode for e in editors] == [0] * EDITORS
    assert len(lines) == rounds * EDITORS
    # Exactly one save per round, and it is the content the case now holds: nothing silently overwritten.
    assert all(saved[r] == [winners[r]] for r in range(rounds)), saved
    assert conflicts == rounds * (EDITORS - 1)


@pytest.mark.slow
def test_stale_update_from_the_command_line_exits_5(db_target: str, tmp_path: Path) -> None:
    backend = "postgresql" if "://" in db_target else "sqlite"
    db = open_database(db_target)
    try:
        number = CaseService(db, today=lambda: TODAY).create_case(make_case(notes="original")).case_number
    finally:
        db.close()
    files = []
    for w in range(EDITORS):
        path = tmp_path / f"edit{w}.json"
        path.write_text(json.dumps(case_file(make_case(notes=f"edited by client {w}")), ensure_ascii=False))
        files.append(path)
    cmd = [sys.executable, "-m", "caselog", "--db", db_target, "update", number]
    procs = [
        subprocess.Popen([*cmd, str(f), "--expect-version", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env(), cwd=ROOT)
        for f in files
    ]  # fmt: skip
    results = [(p.returncode, *p.communicate(timeout=120)) for p in procs]
    statuses = sorted(p.returncode for p in procs)
    print(f"\nstale edits via CLI [{backend}]: {EDITORS} x 'caselog update --expect-version 1': exit {statuses}")
    assert statuses == [0] + [5] * (EDITORS - 1), results
    winner = next(w for w, p in enumerate(procs) if p.returncode == 0)
    refusals = [err for w, (_, _, err) in enumerate(results) if procs[w].returncode == 5]
    assert all("changed by someone else" in err and "Traceback" not in err for err in refusals), refusals
    db = open_database(db_target)
    try:
        view = CaseService(db, today=lambda: TODAY).get_case(number)
    finally:
        db.close()
    assert view.version == 2 and view.record.notes == f"edited by client {winner}"
