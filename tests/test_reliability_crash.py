"""Crash: a workstation killed (SIGKILL) at random moments while adding cases loses no case it confirmed.

A child adds cases one by one through the service and prints each case number only after its commit returned;
the parent kills it at a random moment, 50 times over, on the same SQLite file. Every printed case must be
there, nothing half-written may be left (children without a case, cases without a patient), and SQLite's
integrity_check must say ok.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pytest

from caselog.db.schema import check_database, open_database
from caselog.service import CaseService
from tests.factories import TODAY
from tests.helpers.case_writer import case_for
from tests.helpers.reliability import caselog, sqlite_facts

RUNS = 50
SEED = 20250630
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL (POSIX)")


def _writer(path: Path, prefix: str, out: int) -> None:
    """The child: open the database as the app does, add cases, confirm each after its commit returned."""
    try:
        db = open_database(path)
        service = CaseService(db, today=lambda: TODAY)
        n = 0
        while True:
            number = service.create_case(case_for(prefix, n)).case_number
            os.write(out, f"{number}\n".encode())
            n += 1
    finally:
        os._exit(1)  # never return into pytest


def _kill_at_random(path: Path, prefix: str, delay: float, *, after_first_case: bool) -> tuple[list[str], int]:
    """Fork a writer (a process with everything already imported, so the kill lands on real work).

    `after_first_case`: the delay counts from the writer's first confirmed case, so the kill lands while cases
    are being added however slow a busy machine makes opening the database; otherwise from the fork.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _writer(path, prefix, write_end)
    os.close(write_end)
    first = b""
    if after_first_case:
        while not first.endswith(b"\n"):
            byte = os.read(read_end, 1)
            if not byte:
                break  # the writer ended on its own: the status check below says so
            first += byte
    time.sleep(delay)
    os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    with os.fdopen(read_end, "rb") as pipe:
        numbers = (first + pipe.read()).decode().split()
    return numbers, status


@pytest.mark.slow
def test_cases_confirmed_before_a_kill_are_all_kept(tmp_path: Path, sqlite_template: Path) -> None:
    path = tmp_path / "clinic.sqlite3"
    path.write_bytes(sqlite_template.read_bytes())
    rng = random.Random(SEED)
    printed: list[str] = []
    per_run: list[int] = []
    killed_while_writing = 0
    for run in range(RUNS):
        # Anywhere from opening the database (and its schema check) to the middle of adding cases: one run in
        # five counts its moment from the start, the others from the first confirmed case (before, a loaded
        # machine could spend the whole 0.4 s opening the file, and no kill landed on a write).
        from_start = run % 5 == 0
        numbers, status = _kill_at_random(path, f"K{run}", rng.uniform(0.0, 0.4), after_first_case=not from_start)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, f"run {run} ended on its own"
        per_run.append(len(numbers))
        killed_while_writing += bool(numbers)
        printed.extend(numbers)

    facts = sqlite_facts(path)
    stored = set(facts["numbers"])
    lost = [n for n in printed if n not in stored]
    unconfirmed = len(stored) - len(printed)
    print(
        f"\ncrash: {RUNS} SIGKILLs (seed {SEED}); {killed_while_writing} runs killed after their first commit; "
        f"{len(printed)} cases confirmed (per run min {min(per_run)}, max {max(per_run)}); "
        f"{len(stored)} cases in the file; {len(lost)} confirmed cases missing; "
        f"{unconfirmed} committed but killed before printing; integrity_check: {facts['integrity']}; "
        f"orphans: {facts['orphans'] or 'none'}"
    )
    assert lost == []
    assert len(set(printed)) == len(printed)
    assert 0 <= unconfirmed <= RUNS  # at most the one case in flight at each kill
    assert facts["integrity"] == ["ok"]
    assert facts["foreign_keys"] == []
    assert facts["orphans"] == {}
    # Numbers are handed out in the committing transaction: no gaps, no repeats, the counter agrees.
    assert facts["numbers"] == [f"2025-{n:05d}" for n in range(1, len(stored) + 1)]
    assert facts["counters"] == {2025: len(stored)}
    assert killed_while_writing >= RUNS // 2, "most kills should land while cases are being added"

    db = open_database(path, verify=True)
    try:
        report = check_database(db)
    finally:
        db.close()
    assert report.ok, report.problems
    assert caselog("check", db=str(path)).returncode == 0
